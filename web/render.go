package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"countycare/account"
	"countycare/care"
	"countycare/reading"
	"countycare/resident"
	"countycare/settle"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// staticFiles are served at content-hashed URLs (/static/<hash>/<name>) so
// they can be cached forever and still change on upgrade.
type staticFiles struct {
	hash  map[string]string // name → hash
	files map[string][]byte
	gz    map[string][]byte // name → gzip of the file, compressed once at start (compressible types only)
	br    map[string][]byte // name → brotli of the file, built with it and committed beside it as <name>.br
}

func loadStatic() (*staticFiles, error) {
	sf := &staticFiles{hash: map[string]string{}, files: map[string][]byte{}, gz: map[string][]byte{}, br: map[string][]byte{}}
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "static/")
		if base, ok := strings.CutSuffix(name, ".br"); ok {
			// A precompressed form (tools/echarts writes echarts.min.js.br):
			// Go has no brotli encoder, so it is made where the file is built.
			sf.br[base] = b
			return nil
		}
		sum := sha256.Sum256(b)
		sf.hash[name] = hex.EncodeToString(sum[:6])
		sf.files[name] = b
		if compressible(mime.TypeByExtension(path.Ext(name))) {
			if z := gzipOnce(b); z != nil {
				sf.gz[name] = z
			}
		}
		return nil
	})
	return sf, err
}

// URL returns the hashed URL of a static file; it panics on an unknown
// name so a template typo fails at start-up, not in a browser.
func (sf *staticFiles) URL(name string) string {
	h, ok := sf.hash[name]
	if !ok {
		panic("web: no static file " + name)
	}
	return "/static/" + h + "/" + name
}

func (s *Server) serveStatic(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	name := r.PathValue("file")
	b, ok := s.static.files[name]
	if !ok || s.static.hash[name] != r.PathValue("hash") {
		http.NotFound(w, r)
		return nil
	}
	w.Header().Set("Content-Type", mime.TypeByExtension(path.Ext(name)))
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	if z, ok := s.static.br[name]; ok && acceptsCoding(r, "br") {
		w.Header().Set("Content-Encoding", "br")
		b = z
	} else if z, ok := s.static.gz[name]; ok && acceptsGzip(r) {
		// Precompressed at start; compress (the wrapper) passes an encoded body through.
		w.Header().Set("Content-Encoding", "gzip")
		b = z
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Write(b)
	return nil
}

// centiPoints formats hundredths of a point with one decimal, rounded
// half up (1355 → 13.6).
func centiPoints(c int) string { t := (c + 5) / 10; return fmt.Sprintf("%d.%d", t/10, t%10) }

// pctBP formats basis points as a percentage with one decimal (1234 → 12.3%).
// indexBP shows an index kept × 10000 (the CMI) to two decimals: 10523 → "1.05".
func indexBP(bp int) string { t := (bp + 50) / 100; return fmt.Sprintf("%d.%02d", t/100, t%100) }

func pctBP(bp int) string { t := (bp + 5) / 10; return fmt.Sprintf("%d.%d%%", t/10, t%10) }

// queryOf encodes key, value pairs as a query string, leaving out the
// pairs whose value is empty.
func queryOf(kv ...string) template.URL {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			v.Set(kv[i], kv[i+1])
		}
	}
	return template.URL(v.Encode())
}

// templates are parsed once: each page is the layout plus its own file.
type templates struct {
	pages map[string]*template.Template
}

func loadTemplates(s *Server) (*templates, error) {
	funcs := template.FuncMap{
		"static":     s.static.URL,
		"privileged": account.Privileged,
		"ts":         tsOf,
		"tss":        func(t time.Time) string { return t.In(care.Shanghai).Format("2006-01-02 15:04:05") },
		// fpg prints a glucose kept in tenths of mmol/L (70 → 7.0).
		"fpg": func(v int) string { return axisValue(v, 10) },
		// day is the date of an instant in China.
		"day": func(t time.Time) string { return care.Today(t).String() },
		"add": func(a, b int) int { return a + b },
		// pct formats basis points as a percentage with one decimal (1234 → 12.3%).
		"pct":  pctBP,
		"cmi":  indexBP,
		"cell": cell,
		// yuanOf formats fen as yuan with two decimals (12345 → 123.45).
		"yuanOf": func(fen int) string { return yuan(int64(fen)) },
		// points formats hundredths of a point with one decimal (1350 → 13.5).
		"points":    centiPoints,
		"maskphone": resident.MaskPhone,
		"dicomday":  reading.DicomDay,
		"list":      func(xs ...string) []string { return xs },
		"args":      func(xs ...any) []any { return xs }, // several values for a {{template}} (index . 0 …)
		"query":     queryOf,
	}
	// viewerArgs passes a partial (templates/_*.html) the page and its own data.
	funcs["viewerArgs"] = func(p pageData, v any) viewerArgs { return viewerArgs{P: p, V: v} }
	// Every page is the layout plus the shared partials (_*.html, define blocks only) plus its own file.
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/_*.html")
	if err != nil {
		return nil, fmt.Errorf("web: layout: %w", err)
	}
	entries, err := fs.ReadDir(templateFS, "templates")
	if err != nil {
		return nil, err
	}
	t := &templates{pages: map[string]*template.Template{}}
	for _, e := range entries {
		name := strings.TrimSuffix(e.Name(), ".html")
		if name == "layout" || strings.HasPrefix(name, "_") {
			continue
		}
		c, err := layout.Clone()
		if err != nil {
			return nil, err
		}
		if _, err := c.ParseFS(templateFS, "templates/"+e.Name()); err != nil {
			return nil, fmt.Errorf("web: template %s: %w", name, err)
		}
		t.pages[name] = c
	}
	return t, nil
}

// viewerArgs is the data of a shared partial: the page and what it shows.
type viewerArgs struct {
	P pageData
	V any
}

// pageData is what every page template receives.
type pageData struct {
	Title     string
	Lang      string
	Actor     care.Actor
	CSRF      string
	Flash     string // message key of a success notice
	Error     *care.Error
	Fields    map[string]string // field → translated message
	Form      url.Values
	Data      any
	RequestID string
	Demo      bool
	Path      string
	msgs      *catalogue
	srv       *Server
}

// T translates key into the page's language.
func (p pageData) T(key string, args ...any) string { return p.msgs.T(p.Lang, key, args...) }

// TD is T for a message whose arguments are data (a person's or an
// institution's name): the message is escaped and each argument is shown
// inside <span translate="no">, which keeps a browser's page translation
// off the name and tells the English page crawler (e2e/pages_test.go,
// checkHan) the name from the page's own words. Arguments are strings (%s).
func (p pageData) TD(key string, args ...any) template.HTML {
	data := make([]any, len(args))
	for i, a := range args {
		data[i] = `<span translate="no">` + template.HTMLEscapeString(fmt.Sprint(a)) + `</span>`
	}
	return template.HTML(fmt.Sprintf(template.HTMLEscapeString(p.msgs.T(p.Lang, key)), data...))
}

// ErrMsg translates an error's message with its arguments.
func (p pageData) ErrMsg(e *care.Error) string { return p.msgs.T(p.Lang, e.Key, e.Args...) }

// FieldMsg translates a field error, prefixed with the field's label.
func (p pageData) FieldMsg(f care.FieldError) string {
	prefix := ""
	if i := strings.IndexByte(f.Field, ':'); i > 0 { // "12:id_number": a row of an import file
		if n, err := strconv.Atoi(f.Field[:i]); err == nil {
			prefix = p.msgs.T(p.Lang, "import.row", n) + " "
			f.Field = f.Field[i+1:]
		}
	}
	label := "field." + f.Field
	if p.msgs.Has(p.Lang, label) {
		return prefix + p.msgs.T(p.Lang, label) + ": " + p.msgs.T(p.Lang, f.Key, f.Args...)
	}
	return prefix + p.msgs.T(p.Lang, f.Key, f.Args...)
}

// fieldErr is what the "field-error" partial shows: a field's message and
// the id that its input points to with aria-describedby.
type fieldErr struct{ ID, Msg string }

// fieldErrID is the id of a field's error message: "id_number-error".
func fieldErrID(field string) string {
	b := []byte(field)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			b[i] = '_'
		}
	}
	return string(b) + "-error"
}

// FieldErr is the field's error for the "field-error" partial, nil when
// the field has none: {{template "field-error" ($.FieldErr "name")}}.
func (p pageData) FieldErr(field string) *fieldErr {
	if m := p.Fields[field]; m != "" {
		return &fieldErr{ID: fieldErrID(field), Msg: m}
	}
	return nil
}

// Invalid marks a field that failed validation (WCAG 2.1 SC 3.3.1, 4.1.2):
// aria-invalid and aria-describedby pointing to its message, written
// inside the field's tag: <input name="name"{{$.Invalid "name"}}>.
func (p pageData) Invalid(field string) template.HTMLAttr {
	if p.Fields[field] == "" {
		return ""
	}
	return template.HTMLAttr(` aria-invalid="true" aria-describedby="` + fieldErrID(field) + `"`)
}

// Step translates one settlement explanation step.
func (p pageData) Step(st settle.Step) string { return p.srv.stepText(p.Lang, st) }

// liveKinds are the live events the page's banner announces (app.js).
var liveKinds = []string{"consult.new", "consult.escalated", "consult.message", "consult.accepted", "consult.answered", "consult.declined",
	"consult.closed", "consult.cancelled", "consult.video", "critical.raised", "critical.escalated",
	"critical.undelivered", "consult.undelivered", "notify.undelivered"} // the last three: notify.LiveKind

// LiveLabels is the banner's text per live event kind, as JSON for a data
// attribute (messages live.<kind>).
func (p pageData) LiveLabels() string {
	m := make(map[string]string, len(liveKinds))
	for _, k := range liveKinds {
		m[k] = p.msgs.T(p.Lang, "live."+k)
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// Role returns the translated name of a role.
func (p pageData) Role(r care.Role) string { return p.msgs.T(p.Lang, "role."+string(r)) }

// Is reports whether the actor has one of the roles (for navigation only;
// access is decided by route policies).
func (p pageData) Is(roles ...string) bool {
	for _, r := range roles {
		if string(p.Actor.Role) == r {
			return true
		}
	}
	return false
}

// FormValue returns a submitted value to re-display after an error.
func (p pageData) FormValue(k string) string { return p.Form.Get(k) }

// render executes page with data and writes it with status.
func (s *Server) render(w http.ResponseWriter, r *http.Request, rc *reqCtx, status int, page string, d pageData) {
	t, ok := s.tmpl.pages[page]
	if !ok {
		s.Log.Error("web: no template", "page", page)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	d.Lang, d.Actor, d.RequestID, d.Demo, d.Path, d.msgs, d.srv = rc.Lang, rc.Actor, rc.RequestID, s.cfg.DemoBanner, r.URL.Path, s.msgs, s
	if rc.Session != nil {
		d.CSRF = rc.Session.CSRFToken
	}
	if d.Flash == "" {
		if f := r.URL.Query().Get("ok"); f != "" && s.msgs.Has(rc.Lang, "flash."+f) {
			d.Flash = "flash." + f
		}
	}
	if d.Error != nil && d.Fields == nil {
		d.Fields = map[string]string{}
		for _, f := range d.Error.Fields {
			if _, dup := d.Fields[f.Field]; !dup {
				d.Fields[f.Field] = s.msgs.T(rc.Lang, f.Key, f.Args...)
			}
		}
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", d); err != nil {
		s.Log.Error("web: render", "page", page, "request_id", rc.RequestID, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// renderBlock renders one named block of a page's template without the
// layout: a fragment that a page fetches and inserts (the dashboard's
// collapsed groups). Status 200, HTML.
func (s *Server) renderBlock(w http.ResponseWriter, r *http.Request, rc *reqCtx, page, block string, d pageData) {
	t, ok := s.tmpl.pages[page]
	if !ok {
		s.Log.Error("web: no template", "page", page)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	d.Lang, d.Actor, d.RequestID, d.Path, d.msgs, d.srv = rc.Lang, rc.Actor, rc.RequestID, r.URL.Path, s.msgs, s
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, block, d); err != nil {
		s.Log.Error("web: render", "page", page, "block", block, "request_id", rc.RequestID, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
}

// formError re-renders a form page with the error's field messages and
// the values the user typed, so nothing they entered is lost.
func (s *Server) formError(w http.ResponseWriter, r *http.Request, rc *reqCtx, page string, d pageData, err error) error {
	ce, ok := err.(*care.Error)
	if !ok || ce.Code == care.EINTERNAL || ce.Code == care.ENOTFOUND || ce.Code == care.EFORBIDDEN {
		return err
	}
	d.Error = ce
	d.Form = r.PostForm
	if r.Method == http.MethodGet {
		d.Form = r.URL.Query()
	}
	s.render(w, r, rc, statusOf[ce.Code], page, d)
	return nil
}
