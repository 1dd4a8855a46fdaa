package web_test

import (
	"encoding"
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"countycare/care"
	"countycare/store"
	"countycare/web"
)

// Endpoints under /api that take a body other than a JSON object, with the
// reason; every other POST/PUT/PATCH API route must decode JSON.
var notJSONBody = map[string]string{
	"POST /api/v1/residents/import":                 "a CSV file (text/csv); faults are listed by line",
	"POST /api/v1/residents/{id}/labs/import":       "an analyser's CSV export (text/csv); faults are listed by line",
	"POST /api/v1/residents/{id}/reveal-id":         "no body: the action is the request",
	"POST /api/v1/chronic/reminders":                "no body: the action is the request",
	"POST /api/v1/pharmacy/alerts":                  "no body: the action is the request",
	"POST /api/v1/dicomweb/clients/{id}/{action}":   "no body: enable or disable is the path",
	"POST /api/v1/fhir-clients/{id}/deactivate":     "no body: the action is the request",
	"POST /api/v1/devices/{id}/revoke":              "no body: the action is the request",
	"POST /api/v1/outreach/bookings/{id}/cancel":    "no body: the action is the request",
	"POST /api/v1/me/outreach/bookings/{id}/cancel": "no body: the action is the request",
	"POST /api/v1/practice-sites/{id}/revoke":       "no body: the action is the request",
	"POST /api/v1/residents/{id}/imaging":           "multipart DICOM upload",
	"POST /api/v1/uploads":                          "tus creation: headers, and the file's first bytes if any",
	"PATCH /api/v1/uploads/{uid}":                   "tus: the file's bytes (application/offset+octet-stream)",
}

// pathActions fills the {action} wildcard of route patterns for the probe.
var pathActions = map[string]string{
	"POST /api/v1/reading/studies/{id}/{action}": "claim",
	"POST /api/v1/supply-orders/{id}/{action}":   "approve",
	"POST /api/v1/referrals/{id}/{action}":       "accept",
	"POST /api/v1/consultations/{id}/{action}":   "accept",
}

// TestEveryJSONEndpointNamesAWrongTypedField enumerates the route registry:
// for every JSON POST/PUT/PATCH endpoint it learns, through the decode
// hook, the type the handler decodes into, sends the first field of that
// type with a value of the wrong JSON type, and requires 422 with the field
// named in the error's field list (issue 18: the API answered "not valid
// JSON, or unknown fields" without saying which field or rule).
func TestEveryJSONEndpointNamesAWrongTypedField(t *testing.T) {
	e := newEnv(t, store.SQLite)
	var mu sync.Mutex
	seen := map[string]reflect.Type{}
	restore := web.SetDecodeHook(func(r *http.Request, v any) {
		if id := r.Header.Get("X-Probe"); id != "" {
			mu.Lock()
			seen[id] = reflect.TypeOf(v)
			mu.Unlock()
		}
	})
	defer restore()
	clients := map[care.Role]*client{}
	clientFor := func(rt web.Route) *client {
		if rt.Policy.IsPublic() {
			return e.anon()
		}
		role := care.RoleVillageDoctor
		if rs := rt.Policy.Roles(); len(rs) > 0 {
			role = rs[0]
		}
		if clients[role] == nil {
			clients[role] = e.as(role)
		}
		return clients[role]
	}
	vd := e.as(care.RoleVillageDoctor)
	m := regexp.MustCompile(`"id":(\d+)`).FindStringSubmatch(vd.get("/api/v1/residents?group=elderly65").body)
	if m == nil {
		t.Fatal("no resident in the village doctor's scope")
	}
	resident := m[1]
	n, checked := 0, 0
	for _, rt := range e.srv.Routes() {
		method, path, _ := strings.Cut(rt.Pattern, " ")
		if !rt.API || rt.Policy.IsDevice() || rt.Policy.IsOps() || method != "POST" && method != "PUT" && method != "PATCH" {
			continue
		}
		if why, ok := notJSONBody[rt.Pattern]; ok {
			if why == "" {
				t.Errorf("%s: listed as taking no JSON body without a reason", rt.Pattern)
			}
			continue
		}
		n++
		p := strings.ReplaceAll(path, "/residents/{id}/", "/residents/"+resident+"/")
		if strings.Contains(p, "{action}") && pathActions[rt.Pattern] == "" {
			t.Errorf("%s: no action in pathActions", rt.Pattern)
			continue
		}
		p = strings.ReplaceAll(p, "{action}", pathActions[rt.Pattern])
		p = strings.ReplaceAll(p, "{id}", "1")
		c := clientFor(rt)
		hdr := func() map[string]string {
			return map[string]string{"X-CSRF-Token": c.csrf, "X-Probe": rt.Pattern, "Idempotency-Key": "probe-" + strconv.Itoa(n)}
		}
		r := c.do(method, p, "application/json", []byte(`{}`), hdr())
		mu.Lock()
		typ := seen[rt.Pattern]
		mu.Unlock()
		if typ == nil {
			t.Errorf("%s: decoded no JSON for {} (%d %.200s): list it in notJSONBody with the reason, or fill its path in pathActions", rt.Pattern, r.code, r.body)
			continue
		}
		field, wrong := wrongTypedField(typ)
		if field == "" {
			t.Errorf("%s: %v has no field to send wrong", rt.Pattern, typ)
			continue
		}
		hdr2 := hdr()
		hdr2["Idempotency-Key"] += "-wrong"
		body := `{"` + field + `":` + wrong + `}`
		r = c.do(method, p, "application/json", []byte(body), hdr2)
		var out struct {
			Error struct {
				Fields []struct{ Field, Code, Message string }
			}
		}
		json.Unmarshal([]byte(r.body), &out)
		named := false
		for _, f := range out.Error.Fields {
			named = named || f.Field == field && f.Code != "" && f.Message != "" && f.Message != f.Code
		}
		if r.code != 422 || !named {
			t.Errorf("%s %s: %d %.300s; want 422 naming %q", rt.Pattern, body, r.code, r.body, field)
			continue
		}
		checked++
	}
	registered := map[string]bool{}
	for _, rt := range e.srv.Routes() {
		registered[rt.Pattern] = true
	}
	for p := range notJSONBody {
		if !registered[p] {
			t.Errorf("notJSONBody lists %s, which is not a route", p)
		}
	}
	t.Logf("%d JSON endpoints named their wrong-typed field", checked)
	if checked < 40 {
		t.Errorf("%d of %d JSON endpoints checked, want every one and at least 40", checked, n)
	}
}

var (
	jsonUnmarshalerT = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerT = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// wrongTypedField picks the first field of t (a pointer to the decoded
// struct) and a JSON value of the wrong type for it.
func wrongTypedField(t reflect.Type) (string, string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return "", ""
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			if sub, wrong := wrongTypedField(f.Type); sub != "" {
				return sub, wrong
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		pt := reflect.PointerTo(ft)
		switch {
		case pt.Implements(jsonUnmarshalerT) || pt.Implements(textUnmarshalerT):
			return name, `true`
		case ft.Kind() == reflect.String:
			return name, `12345`
		case ft.Kind() == reflect.Interface:
			continue
		default:
			return name, `"not-this-type"`
		}
	}
	return "", ""
}
