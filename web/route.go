package web

import (
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"countycare/access"
	"countycare/account"
	"countycare/audit"
	"countycare/care"
)

// Route is one registered pattern with its access policy.
type Route struct {
	Pattern string
	Policy  access.Policy
	API     bool
}

// reqCtx is what a handler knows about its request.
type reqCtx struct {
	Actor     care.Actor
	Session   *account.Session
	Lang      string
	API       bool
	RequestID string
	Pattern   string
	face      Face // the face whose route this is (its errors are its own); nil for the server's routes
	bearer    bool // authenticated by a system client's bearer token (no cookie: no CSRF)
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error

const (
	sessionCookie = "cc_session"
	langCookie    = "cc_lang"
	loginCSRF     = "cc_login_csrf"
)

// handle registers pattern with policy p. The wrapper, in order: assigns
// a request ID; reads the session; applies the policy (denied requests
// stop here and are audited); checks CSRF, content type and body size on
// writes; then calls h and renders its error, if any.
func (s *Server) handle(pattern string, p access.Policy, h handlerFunc) {
	s.handleLimit(pattern, p, s.cfg.MaxBodyBytes, h)
}

// handleLimit registers a route whose request bodies may be up to limit bytes.
func (s *Server) handleLimit(pattern string, p access.Policy, limit int64, h handlerFunc) {
	api := strings.Contains(pattern, "/api/")
	s.routes = append(s.routes, Route{Pattern: pattern, Policy: p, API: api})
	if standbyRoutes[pattern] {
		h = standbyReads(h)
	}
	s.mux.Handle(pattern, s.wrap(pattern, p, api, limit, h, nil))
}

// statusWriter records the status for logs and metrics, and holds the
// response back until the request's audit rows are committed: before the
// first byte (status line included) leaves, it waits for the audit
// Barrier. When a row could not be committed the handler's response is
// replaced by 503 and its bytes are discarded, so no record leaves the
// server unless its read is recorded durably. Rows recorded after the
// response started are waited for at each later write and at the end; a
// failure then cuts the connection (the client sees a truncated response,
// never a complete one).
type statusWriter struct {
	http.ResponseWriter
	status int

	barrier *audit.Barrier
	failed  func(error) // renders the 503 through this writer
	state   int         // writeOpen, writeReplacing, writeDiscard
	abort   bool        // rows failed after bytes went out: cut the connection
}

const (
	writeOpen = iota
	writeReplacing
	writeDiscard
)

var errAuditNotRecorded = errors.New("web: response withheld: audit row not recorded")

// gate waits for the pending audit rows; false means the caller's bytes
// must not be sent.
func (w *statusWriter) gate() bool {
	if w.state != writeOpen || w.barrier == nil {
		return w.state != writeDiscard
	}
	err := w.barrier.Wait()
	if err == nil {
		return true
	}
	if w.status != 0 {
		w.abort, w.state = true, writeDiscard
		return false
	}
	h := w.ResponseWriter.Header()
	for k := range h {
		if k != "X-Request-Id" {
			delete(h, k)
		}
	}
	setSecurityHeaders(h)
	w.state = writeReplacing
	w.failed(err)
	w.state = writeDiscard
	return false
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.gate() {
		return
	}
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.gate() {
		return 0, errAuditNotRecorded
	}
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// FlushError lets http.ResponseController flush (event streams) without
// sending headers before the audit rows are committed.
func (w *statusWriter) FlushError() error {
	if !w.gate() {
		return errAuditNotRecorded
	}
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// finish waits for rows recorded but not yet waited for when the handler
// returns; it reports whether the connection must be cut.
func (w *statusWriter) finish() (abort bool) {
	if w.state == writeOpen && w.barrier != nil {
		if w.status == 0 {
			// Nothing written: net/http would send an empty 200.
			w.gate()
		} else if err := w.barrier.Wait(); err != nil {
			w.abort = true
		}
	}
	return w.abort
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (s *Server) wrap(pattern string, p access.Policy, api bool, limit int64, h handlerFunc, face Face) http.Handler {
	return http.HandlerFunc(func(w0 http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rc := &reqCtx{API: api, RequestID: newRequestID(), Lang: langOf(r), Pattern: pattern, face: face}
		ctx, barrier := audit.WithBarrier(care.WithRequestID(r.Context(), rc.RequestID))
		r = r.WithContext(ctx)
		w := &statusWriter{ResponseWriter: w0, barrier: barrier}
		w.failed = func(err error) {
			s.Log.Error("web: response withheld, audit row not recorded", "request_id", rc.RequestID, "route", pattern, "err", err)
			s.renderError(w, r, rc, care.Errorf(care.EUNAVAILABLE, "error.audit_unavailable"))
		}
		w.Header().Set("X-Request-Id", rc.RequestID)
		setSecurityHeaders(w.Header())
		defer func() {
			if v := recover(); v != nil {
				s.Log.Error("web: panic", "request_id", rc.RequestID, "route", pattern, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				if w.status == 0 {
					s.renderError(w, r, rc, care.Internal("web.panic", fmt.Errorf("%v", v)))
				}
			}
			abort := w.finish()
			if abort {
				s.Log.Error("web: connection cut, audit row not recorded after the response started", "request_id", rc.RequestID, "route", pattern)
			}
			defer func() {
				if abort {
					panic(http.ErrAbortHandler)
				}
			}()
			d := time.Since(start)
			s.metrics.observe(pattern, r.Method, w.status, d)
			s.Log.LogAttrs(ctx, slog.LevelInfo, "http",
				slog.String("request_id", rc.RequestID), slog.String("method", r.Method), slog.String("route", pattern),
				slog.String("path", r.URL.Path), slog.Int("status", w.status), slog.Duration("duration", d),
				slog.Int64("account", rc.Actor.AccountID), slog.String("role", string(rc.Actor.Role)))
		}()

		if p.IsOps() {
			if !s.opsAllowed(r) {
				http.NotFound(w, r)
				return
			}
			if err := h(w, r, rc); err != nil {
				s.renderError(w, r, rc, err)
			}
			return
		}
		if p.IsDevice() {
			s.serveDevice(w, r, rc, limit, h)
			return
		}
		if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
			sess, a, err := s.Accounts.Authenticate(ctx, c.Value)
			switch {
			case err == nil:
				rc.Actor, rc.Session = a, sess
			case care.IsCode(err, care.EUNAUTHORIZED):
				s.clearCookie(w, sessionCookie)
			default:
				s.renderError(w, r, rc, err)
				return
			}
		}
		if rc.Actor.IsZero() && api {
			var ok bool
			if r, ok = s.systemBearer(w, r, rc); !ok {
				return
			}
			ctx = r.Context()
		}
		if !p.Admits(rc.Actor) {
			if rc.Actor.IsZero() {
				if api {
					s.renderError(w, r, rc, care.Errorf(care.EUNAUTHORIZED, "auth.required"))
				} else {
					http.Redirect(w, r, "/login?next="+url.QueryEscape(safeNext(r.URL.RequestURI())), http.StatusSeeOther)
				}
				return
			}
			ev := audit.New(ctx, rc.Actor, audit.ActAccessDenied, 0)
			ev.Outcome = audit.OutcomeDenied
			ev.Detail = r.Method + " " + pattern
			s.Audit.Record(ctx, ev)
			s.renderError(w, r, rc, care.Errorf(care.EFORBIDDEN, "error.forbidden"))
			return
		}
		if isWrite(r.Method) {
			r.Body = http.MaxBytesReader(w, r.Body, limit)
			if err := s.checkWrite(r, rc, api, limit); err != nil {
				s.renderError(w, r, rc, err)
				return
			}
		}
		if err := h(w, r, rc); err != nil {
			s.renderError(w, r, rc, err)
		}
	})
}

func isWrite(m string) bool {
	return m == http.MethodPost || m == http.MethodPut || m == http.MethodPatch || m == http.MethodDelete
}

// checkWrite enforces on a state-changing request: the content type the
// route expects, a body within the limit, valid UTF-8 form fields, and
// the session's CSRF token (form field "csrf" or header X-CSRF-Token).
func (s *Server) checkWrite(r *http.Request, rc *reqCtx, api bool, limit int64) error {
	if r.ContentLength > limit {
		return care.Errorf(care.ETOOLARGE, "error.too_large", limit>>10)
	}
	if rc.bearer {
		return nil // a bearer token is no ambient credential: no CSRF to check
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if s.assertionRoutes[rc.Pattern] {
		return checkAssertionForm(r, ct)
	}
	hasBody := r.ContentLength != 0 && r.Method != http.MethodDelete
	token := r.Header.Get("X-CSRF-Token")
	if api {
		if hasBody && ct != "application/json" && ct != "text/csv" && !(ct == tusOctetStream && takesOctets(rc.Pattern)) &&
			!(ct == "application/fhir+json" && strings.Contains(rc.Pattern, " /fhir")) {
			return care.Errorf(care.EUNSUPPORTED, "error.content_type", "application/json")
		}
	} else {
		if ct != "application/x-www-form-urlencoded" && ct != "multipart/form-data" {
			return care.Errorf(care.EUNSUPPORTED, "error.content_type", "application/x-www-form-urlencoded")
		}
		var err error
		if ct == "multipart/form-data" {
			// Files past 1 MiB in all spill to temporary files as they arrive
			// (the handler then reads each once, readUpload); in memory, the
			// form's buffer would grow by doubling to hold them.
			err = r.ParseMultipartForm(min(limit, 1<<20))
		} else {
			err = r.ParseForm()
		}
		if err != nil {
			var mb *http.MaxBytesError
			if errors.As(err, &mb) {
				return care.Errorf(care.ETOOLARGE, "error.too_large", limit>>10)
			}
			return care.Errorf(care.EINVALID, "error.bad_form")
		}
		for _, vs := range r.PostForm {
			for _, v := range vs {
				if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
					return care.Errorf(care.EINVALID, "error.encoding")
				}
			}
		}
		if token == "" {
			token = r.PostFormValue("csrf")
		}
	}
	if rc.Session == nil {
		// Public writes (sign-in) carry the double-submit login token.
		if rc.Pattern == "POST /login" || rc.Pattern == "POST /login/code" || rc.Pattern == "POST /login/code/verify" || rc.Pattern == "POST /reset" || rc.Pattern == "POST /s" || rc.Pattern == "POST /api/v1/session" {
			if rc.Pattern != "POST /api/v1/session" {
				c, err := r.Cookie(loginCSRF)
				if err != nil || c.Value == "" || token != c.Value {
					return care.Errorf(care.EFORBIDDEN, "error.csrf")
				}
			}
			return nil
		}
		return care.Errorf(care.EFORBIDDEN, "error.csrf")
	}
	if token == "" || !constantEqual(token, rc.Session.CSRFToken) {
		return care.Errorf(care.EFORBIDDEN, "error.csrf")
	}
	return nil
}

func constantEqual(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	var v byte
	for i := 0; i < len(a); i++ {
		v |= a[i] ^ b[i]
	}
	return v == 0
}

// opsAllowed admits /metrics on the main listener only with the metrics
// token (Authorization: Bearer). Loopback is no credential: a proxy on the
// same host makes every client a loopback one. Without a token configured
// the main listener does not serve /metrics at all (MetricsHandler serves
// it on its own address).
func (s *Server) opsAllowed(r *http.Request) bool {
	return s.cfg.MetricsToken != "" && constantEqual(r.Header.Get("Authorization"), "Bearer "+s.cfg.MetricsToken)
}

func setSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(self), microphone=(self), geolocation=()")
	h.Set("Cache-Control", "no-store")
}

func (s *Server) setCookie(w http.ResponseWriter, name, value string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, Secure: s.cfg.SecureCookies,
		SameSite: http.SameSiteLaxMode, MaxAge: int(maxAge.Seconds())})
}

func (s *Server) clearCookie(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", HttpOnly: true, Secure: s.cfg.SecureCookies, SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

// safeNext keeps a redirect on this site: a path starting with one "/",
// with no scheme or host, and no whitespace, control character or
// backslash anywhere (browsers drop tabs and newlines and read "\" as "/",
// so "/\t/evil.example" would leave the site).
func safeNext(u string) string {
	if !strings.HasPrefix(u, "/") || strings.HasPrefix(u, "//") || len(u) > 2000 {
		return "/"
	}
	for _, c := range u {
		if c <= ' ' || c == '\\' || c == 0x7f || unicode.IsSpace(c) || unicode.IsControl(c) {
			return "/"
		}
	}
	p, err := url.Parse(u)
	if err != nil || p.Scheme != "" || p.Host != "" || p.User != nil || strings.HasPrefix(p.Path, "//") {
		return "/"
	}
	return u
}
