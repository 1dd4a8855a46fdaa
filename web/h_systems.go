package web

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"countycare/access"
	"countycare/care"
	"countycare/org"
	"countycare/smart"
)

// System clients (SMART Backend Services, package smart): the
// administrator's registration page and JSON API, the bearer tokens they
// read with, and the token endpoint's form (its route is the FHIR face's).

// systemBearer authenticates an API request's "Authorization: Bearer"
// token as a system client: the actor is the client (smart.Client.Actor),
// the request's context carries its granted scopes (smart.SessionOf). No
// header: r as it was. A bad or expired token is answered 401 here, with
// the WWW-Authenticate RFC 6750 asks for; ok is false then.
func (s *Server) systemBearer(w http.ResponseWriter, r *http.Request, rc *reqCtx) (*http.Request, bool) {
	h := r.Header.Get("Authorization")
	if s.Systems == nil || !strings.HasPrefix(h, "Bearer ") {
		return r, true
	}
	sess, err := s.Systems.Authenticate(r.Context(), strings.TrimSpace(strings.TrimPrefix(h, "Bearer ")))
	if err != nil {
		if care.IsCode(err, care.EUNAUTHORIZED) {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		}
		s.renderError(w, r, rc, err)
		return r, false
	}
	rc.Actor, rc.bearer = sess.Client.Actor(), true
	return r.WithContext(smart.WithSession(r.Context(), sess)), true
}

// HandleAssertion registers a public POST route whose request carries its
// own signed credential — the SMART token endpoint's client assertion: its
// body is an application/x-www-form-urlencoded form (RFC 6749), no session
// cookie is read, so there is no CSRF token to check.
func (m *Mount) HandleAssertion(pattern string, limit int64, h FaceHandler) {
	if m.s.assertionRoutes == nil {
		m.s.assertionRoutes = map[string]bool{}
	}
	m.s.assertionRoutes[pattern] = true
	m.Handle(pattern, access.Public(), limit, h)
}

// checkAssertionForm reads the form of an assertion route.
func checkAssertionForm(r *http.Request, ct string) error {
	if ct != "application/x-www-form-urlencoded" {
		return care.Errorf(care.EUNSUPPORTED, "error.content_type", "application/x-www-form-urlencoded")
	}
	if err := r.ParseForm(); err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return care.Errorf(care.ETOOLARGE, "error.too_large", mb.Limit>>10)
		}
		return care.Errorf(care.EINVALID, "error.bad_form")
	}
	return nil
}

type systemsView struct {
	Clients      []systemClientRow
	Institutions []*org.Institution
	Created      *smart.Client
}

type systemClientRow struct {
	smart.Client
	Institution string // "" : county-wide
}

func (s *Server) systemsData(r *http.Request, rc *reqCtx) (*systemsView, error) {
	cs, err := s.Systems.List(r.Context(), rc.Actor)
	if err != nil {
		return nil, err
	}
	t, err := s.Orgs.Tree(r.Context())
	if err != nil {
		return nil, err
	}
	v := &systemsView{}
	for _, c := range cs {
		row := systemClientRow{Client: c}
		if in := t.Get(c.InstitutionID); in != nil {
			row.Institution = in.Name
		}
		v.Clients = append(v.Clients, row)
	}
	for _, k := range []org.Kind{org.KindCountyHospital, org.KindCentralHC, org.KindTownshipHC, org.KindSubCenter, org.KindDiagnosis, org.KindVillageClinic} {
		for _, in := range t.OfKind(0, k) {
			if in.CountyCode == rc.Actor.CountyCode {
				v.Institutions = append(v.Institutions, in)
			}
		}
	}
	return v, nil
}

// inCounty reports whether id is an institution of county.
func (s *Server) inCounty(ctx context.Context, county string, id int64) bool {
	t, err := s.Orgs.Tree(ctx)
	if err != nil {
		return false
	}
	in := t.Get(id)
	return in != nil && in.CountyCode == county
}

// systemsPage: GET /admin/fhir-clients.
func (s *Server) systemsPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	v, err := s.systemsData(r, rc)
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "fhir_clients", pageData{Title: s.msgs.T(rc.Lang, "smart.clients_title"), Data: v})
	return nil
}

// systemCreate: POST /admin/fhir-clients (the form).
func (s *Server) systemCreate(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var fs []care.FieldError
	inst := int64(0)
	if v := r.PostFormValue("institution"); v != "" && v != "0" {
		inst = formInt(v, "institution", &fs)
	}
	err := care.Invalid(fs)
	var c *smart.Client
	if err == nil {
		c, err = s.Systems.Register(r.Context(), rc.Actor, smart.Registration{ClientID: r.PostFormValue("client_id"), Name: r.PostFormValue("name"),
			InstitutionID: inst, Scopes: strings.Join(r.PostForm["scope"], " ") + " " + r.PostFormValue("scopes"), Keys: r.PostFormValue("keys")}, s.inCounty)
	}
	v, verr := s.systemsData(r, rc)
	if verr != nil {
		return verr
	}
	d := pageData{Title: s.msgs.T(rc.Lang, "smart.clients_title"), Data: v}
	if err != nil {
		return s.formError(w, r, rc, "fhir_clients", d, err)
	}
	v.Created = c
	d.Flash = "smart.client_created"
	s.render(w, r, rc, http.StatusCreated, "fhir_clients", d)
	return nil
}

// systemDeactivate: POST /admin/fhir-clients/{id}/deactivate.
func (s *Server) systemDeactivate(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := s.Systems.Deactivate(r.Context(), rc.Actor, id); err != nil {
		return err
	}
	http.Redirect(w, r, "/admin/fhir-clients", http.StatusSeeOther)
	return nil
}

func apiSystemClient(c *smart.Client) map[string]any {
	return map[string]any{"id": c.ID, "client_id": c.ClientID, "name": c.Name, "county_code": c.CountyCode, "institution_id": c.InstitutionID,
		"scopes": c.Scopes, "active": c.Active, "created_at": c.CreatedAt}
}

// apiSystemClients: GET /api/v1/fhir-clients.
func (s *Server) apiSystemClients(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	cs, err := s.Systems.List(r.Context(), rc.Actor)
	if err != nil {
		return err
	}
	out := make([]map[string]any, len(cs))
	for i := range cs {
		out[i] = apiSystemClient(&cs[i])
	}
	writeJSON(w, http.StatusOK, map[string]any{"clients": out})
	return nil
}

// apiSystemClientCreate: POST /api/v1/fhir-clients with {"client_id",
// "name", "institution_id" (0: county-wide read), "scopes" (space
// separated), "keys" (a JWK Set, a JWK or PEM public keys)}.
func (s *Server) apiSystemClientCreate(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in struct {
		ClientID      string `json:"client_id"`
		Name          string `json:"name"`
		InstitutionID int64  `json:"institution_id"`
		Scopes        string `json:"scopes"`
		Keys          string `json:"keys"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	c, err := s.Systems.Register(r.Context(), rc.Actor, smart.Registration{ClientID: in.ClientID, Name: in.Name, InstitutionID: in.InstitutionID,
		Scopes: in.Scopes, Keys: in.Keys}, s.inCounty)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, apiSystemClient(c))
	return nil
}

// apiSystemClientDeactivate: POST /api/v1/fhir-clients/{id}/deactivate.
func (s *Server) apiSystemClientDeactivate(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := s.Systems.Deactivate(r.Context(), rc.Actor, id); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "active": false})
	return nil
}

// systemRoutes registers the administrator's pages and API for system
// clients; without a smart.Service they answer 404.
func (s *Server) systemRoutes(admin access.Policy) {
	s.handle("GET /admin/fhir-clients", admin, s.withSystems(s.systemsPage))
	s.handle("POST /admin/fhir-clients", admin, s.withSystems(s.systemCreate))
	s.handle("POST /admin/fhir-clients/{id}/deactivate", admin, s.withSystems(s.systemDeactivate))
	s.handle("GET /api/v1/fhir-clients", admin, s.withSystems(s.apiSystemClients))
	s.handle("POST /api/v1/fhir-clients", admin, s.withSystems(s.apiSystemClientCreate))
	s.handle("POST /api/v1/fhir-clients/{id}/deactivate", admin, s.withSystems(s.apiSystemClientDeactivate))
}

func (s *Server) withSystems(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		if s.Systems == nil {
			return notFound()
		}
		return h(w, r, rc)
	}
}

// HasSystems reports whether the server registers system clients (the
// administrator's navigation shows their page).
func (p pageData) HasSystems() bool { return p.srv != nil && p.srv.Systems != nil }
