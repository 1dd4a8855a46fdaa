package web

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"countycare/account"
	"countycare/care"
)

func notFound() error { return care.Errorf(care.ENOTFOUND, "error.not_found") }

func (s *Server) healthz(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	if err := s.Store.Ping(r.Context()); err != nil {
		s.Log.Error("healthz: database unreachable", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
		return nil
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

func (s *Server) metricsHandler(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}).ServeHTTP(w, r)
	return nil
}

func (s *Server) setLang(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	l := r.PathValue("lang")
	ok := false
	for _, x := range Languages {
		ok = ok || x == l
	}
	if !ok {
		return notFound()
	}
	http.SetCookie(w, &http.Cookie{Name: langCookie, Value: l, Path: "/", MaxAge: 365 * 24 * 3600, SameSite: http.SameSiteLaxMode, Secure: s.cfg.SecureCookies})
	http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
	return nil
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	if !rc.Actor.IsZero() {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return nil
	}
	tok := account.NewToken()
	s.setCookie(w, loginCSRF, tok, time.Hour)
	s.render(w, r, rc, http.StatusOK, "login", pageData{Title: s.msgs.T(rc.Lang, "login.title"), CSRF: tok,
		Form: url.Values{"next": {safeNext(r.URL.Query().Get("next"))}}})
	return nil
}

func (s *Server) loginSubmit(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	old := ""
	if c, err := r.Cookie(sessionCookie); err == nil {
		old = c.Value
	}
	tok, sess, err := s.Accounts.Login(r.Context(), account.Credentials{
		Username: r.PostFormValue("username"), Password: r.PostFormValue("password"), OldToken: old,
		IP: s.clientIP(r), UserAgent: r.UserAgent(), Devices: deviceCookies(r),
	})
	if err != nil {
		ce, ok := err.(*care.Error)
		if !ok {
			return err
		}
		csrf := account.NewToken()
		s.setCookie(w, loginCSRF, csrf, time.Hour)
		form := url.Values{"username": {r.PostFormValue("username")}, "next": {safeNext(r.PostFormValue("next"))}}
		s.render(w, r, rc, statusOf[ce.Code], "login", pageData{Title: s.msgs.T(rc.Lang, "login.title"), CSRF: csrf, Error: ce, Form: form})
		return nil
	}
	s.clearCookie(w, loginCSRF)
	s.setCookie(w, sessionCookie, tok, s.Accounts.Config.AbsoluteTimeout)
	s.setDeviceCookie(w, sess)
	http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
	return nil
}

// clientIP is the address a request came from: the TCP peer, or, when
// the peer is one of Config.TrustedProxies, the rightmost address in
// X-Forwarded-For that is not a trusted proxy (each proxy appends the
// address it received the request from; everything left of the last
// untrusted hop could have been written by the client). A peer that is
// not a trusted proxy is taken as it is: its X-Forwarded-For is ignored.
func (s *Server) clientIP(r *http.Request) string {
	peer := r.RemoteAddr
	if h, _, err := net.SplitHostPort(peer); err == nil {
		peer = h
	}
	ip, err := netip.ParseAddr(peer)
	if err != nil || !s.trustedProxy(ip) {
		return peer
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		for _, h := range strings.Split(v, ",") {
			hops = append(hops, strings.TrimSpace(h))
		}
	}
	client := ip
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(hops[i])
		if err != nil {
			break // garbage left of a trusted hop: keep the last good address
		}
		client = a.Unmap()
		if !s.trustedProxy(client) {
			break
		}
	}
	return client.String()
}

func (s *Server) trustedProxy(ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// deviceCookie holds the browser's device cookies (account.SplitDeviceCookie).
const deviceCookie = "cc_device"

func deviceCookies(r *http.Request) []string {
	if c, err := r.Cookie(deviceCookie); err == nil {
		return account.SplitDeviceCookie(c.Value)
	}
	return nil
}

func (s *Server) setDeviceCookie(w http.ResponseWriter, sess *account.Session) {
	if sess != nil && sess.DeviceCookie != "" {
		s.setCookie(w, deviceCookie, sess.DeviceCookie, account.DeviceCookieLifetime)
	}
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	if err := s.Accounts.Logout(r.Context(), rc.Actor, rc.Session); err != nil {
		return err
	}
	s.clearCookie(w, sessionCookie)
	http.Redirect(w, r, "/login?ok=logged_out", http.StatusSeeOther)
	return nil
}

func (s *Server) passwordPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	s.render(w, r, rc, http.StatusOK, "password", pageData{Title: s.msgs.T(rc.Lang, "password.title")})
	return nil
}

func (s *Server) passwordSubmit(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	d := pageData{Title: s.msgs.T(rc.Lang, "password.title")}
	if r.PostFormValue("next") != r.PostFormValue("confirm") {
		return s.formError(w, r, rc, "password", d, care.Invalid([]care.FieldError{{Field: "confirm", Key: "password.mismatch"}}))
	}
	if err := s.Accounts.ChangePassword(r.Context(), rc.Actor, r.PostFormValue("current"), r.PostFormValue("next")); err != nil {
		return s.formError(w, r, rc, "password", d, err)
	}
	s.clearCookie(w, sessionCookie)
	http.Redirect(w, r, "/login?ok=password_changed", http.StatusSeeOther)
	return nil
}

func (s *Server) home(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	if rc.Actor.Role == care.RoleResident {
		http.Redirect(w, r, "/me", http.StatusSeeOther)
		return nil
	}
	t, err := s.Orgs.Tree(r.Context())
	if err != nil {
		return err
	}
	inst := ""
	if in := t.Get(rc.Actor.InstitutionID); in != nil {
		inst = in.Name
	}
	v, err := s.homeView(r, rc)
	if err != nil {
		return err
	}
	v.Inst = inst
	s.render(w, r, rc, http.StatusOK, "home", pageData{Title: s.msgs.T(rc.Lang, "home.title"), Data: v})
	return nil
}

// ParseTrustedProxies reads serve --trusted-proxies: a comma-separated
// list of CIDR prefixes or single addresses ("10.0.0.5,192.168.1.0/24").
func ParseTrustedProxies(v string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("--trusted-proxies: %q is neither an address nor a CIDR prefix", f)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// resetPage shows the form of a one-time reset link (/reset?t=TOKEN; the
// token travels in the query, which the request log leaves out).
func (s *Server) resetPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	tok := r.URL.Query().Get("t")
	username, err := s.Accounts.ResetLink(r.Context(), tok, s.clientIP(r))
	if err != nil {
		return err
	}
	csrf := account.NewToken()
	s.setCookie(w, loginCSRF, csrf, time.Hour)
	s.render(w, r, rc, http.StatusOK, "reset", pageData{Title: s.msgs.T(rc.Lang, "reset.title"), CSRF: csrf, Data: username,
		Form: url.Values{"t": {tok}}})
	return nil
}

func (s *Server) resetSubmit(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	tok := r.PostFormValue("t")
	var err error
	if r.PostFormValue("next") != r.PostFormValue("confirm") {
		err = care.Invalid([]care.FieldError{{Field: "confirm", Key: "password.mismatch"}})
	} else {
		err = s.Accounts.CompleteReset(r.Context(), tok, r.PostFormValue("next"), s.clientIP(r))
	}
	if err != nil {
		ce, ok := err.(*care.Error)
		if !ok || ce.Code != care.EINVALID {
			return err
		}
		username, lerr := s.Accounts.ResetLink(r.Context(), tok, s.clientIP(r))
		if lerr != nil {
			return lerr
		}
		csrf := account.NewToken()
		s.setCookie(w, loginCSRF, csrf, time.Hour)
		return s.formError(w, r, rc, "reset", pageData{Title: s.msgs.T(rc.Lang, "reset.title"), CSRF: csrf, Data: username,
			Form: url.Values{"t": {tok}}}, err)
	}
	s.clearCookie(w, loginCSRF)
	http.Redirect(w, r, "/login?ok=password_reset_done", http.StatusSeeOther)
	return nil
}
