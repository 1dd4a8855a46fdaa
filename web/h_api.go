package web

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"sync/atomic"
	"time"

	"countycare/account"
	"countycare/audit"
	"countycare/care"
	"countycare/org"
	"countycare/resident"
)

// decodeJSON reads a JSON body strictly: unknown fields and trailing data
// are errors, as is a body over the size limit. The body is read into a
// buffer of its announced length (the route refused one over its limit
// before), once; decodeJSONBytes decodes it in place.
func decodeJSON(r *http.Request, v any) error {
	var body []byte
	var err error
	if r.ContentLength >= 0 {
		body = make([]byte, r.ContentLength)
		var n int
		n, err = io.ReadFull(r.Body, body)
		body = body[:n]
		if err == io.ErrUnexpectedEOF || err == io.EOF {
			err = nil // shorter than announced: the decoder says what is missing
		}
	} else {
		body, err = io.ReadAll(r.Body) // chunked: bounded by the route's MaxBytesReader
	}
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return care.Errorf(care.ETOOLARGE, "error.too_large", mb.Limit>>10)
		}
		return &care.Error{Code: care.EINVALID, Key: "error.bad_json", Err: err}
	}
	// A NUL character (\u0000) decodes into a string PostgreSQL refuses and
	// no clinical text needs; invalid UTF-8 the decoder already replaces.
	if hasNULEscape(body) || bytes.IndexByte(body, 0) >= 0 {
		return care.Errorf(care.EINVALID, "error.encoding")
	}
	return decodeJSONBytes(r, body, v)
}

// decodeJSONBytes decodes a body already read, strictly, into v; its
// errors name each faulty field and its rule (jsonBodyError).
//
// It works in bounded memory (issue 18 §2): scanJSON first checks the
// body against v's type without allocating — nesting deeper than
// MaxJSONDepth or more than MaxJSONValues values are refused before
// anything is decoded, and unknown fields and trailing data are found
// there — and json.Unmarshal then decodes from the body itself (a
// json.Decoder copied the body into a buffer grown by doubling, up to 3
// times its size). What is decoded is bounded by the body (strings, bytes)
// and the value count.
func decodeJSONBytes(r *http.Request, body []byte, v any) error {
	if h := decodeHook.Load(); h != nil {
		(*h)(r, v)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return jsonBodyError(body, v, io.EOF)
	}
	sc, end := scanJSON(body, reflect.TypeOf(v))
	if sc.limit != nil {
		return sc.limit
	}
	if !sc.syntax && sc.i < len(body) {
		// Data after the first value: the value itself must be right first.
		if err := json.Unmarshal(body[:end], v); err != nil {
			return jsonBodyError(body[:end], v, err)
		}
		if sc.hasUnk {
			return jsonBodyError(body[:end], v, fmt.Errorf("json: unknown field %q", sc.unknown))
		}
		return &care.Error{Code: care.EINVALID, Key: "error.bad_json",
			Fields: []care.FieldError{{Field: "body", Key: "error.json_trailing", Args: []any{int64(sc.i)}}}}
	}
	if sc.hasUnk && !sc.syntax {
		return jsonBodyError(body, v, fmt.Errorf("json: unknown field %q", sc.unknown))
	}
	if err := json.Unmarshal(body, v); err != nil {
		return jsonBodyError(body, v, err)
	}
	return nil
}

// decodeHook, when set (tests only), sees every value a handler decodes a
// JSON body into, so the tests can enumerate each endpoint's fields.
var decodeHook atomic.Pointer[func(r *http.Request, v any)]

// hasNULEscape reports whether body holds a JSON \u0000 escape that is
// not itself escaped: its backslash preceded by an even number of
// backslashes. It replaced the regular expression (^|[^\\])(\\\\)*\\u0000,
// whose unanchored search stepped through every byte of the body: 11 % of
// the server's CPU in the county-year replay, two thirds of an ECG
// upload's (docs/benchmarks.md, "county-year replay"); bytes.Index finds
// the literal at memory speed.
func hasNULEscape(body []byte) bool {
	for i := 0; ; {
		j := bytes.Index(body[i:], nulLiteral)
		if j < 0 {
			return false
		}
		k := i + j // the escape's backslash
		n := 0
		for p := k - 1; p >= 0 && body[p] == '\\'; p-- {
			n++
		}
		if n%2 == 0 {
			return true
		}
		i = k + 1
	}
}

var nulLiteral = []byte(`\u0000`)

// Wire types: the API's shape, kept apart from the domain types.
type apiResidentOut struct {
	ID              int64    `json:"id"`
	RecordNumber    string   `json:"record_number"`
	Name            string   `json:"name"`
	Sex             string   `json:"sex"`
	BirthDate       string   `json:"birth_date"`
	Age             int      `json:"age"`
	IDNumber        string   `json:"id_number"`
	IDNumberMasked  bool     `json:"id_number_masked"`
	Phone           string   `json:"phone"`
	Address         string   `json:"address"`
	VillageID       int64    `json:"village_id"`
	Village         string   `json:"village"`
	HouseholdID     int64    `json:"household_id"`
	Relation        string   `json:"relation"`
	Poverty         string   `json:"poverty"`
	DisabilityGrade int      `json:"disability_grade"`
	PregnancyEDD    string   `json:"pregnancy_edd,omitempty"`
	KeyGroups       []string `json:"key_groups"`
	Status          string   `json:"status"`
	MergedInto      int64    `json:"merged_into,omitempty"`
	Version         int      `json:"version"`
}

func apiResident(v residentView) apiResidentOut {
	r := v.R
	out := apiResidentOut{ID: r.ID, RecordNumber: r.RecordNumber, Name: r.Name, Sex: string(r.Sex), BirthDate: r.BirthDate.String(), Age: v.Age,
		IDNumber: v.IDNumber, IDNumberMasked: !v.Unmasked, Phone: v.Phone, Address: r.Address, VillageID: r.VillageID, Village: v.Village,
		HouseholdID: r.HouseholdID, Relation: string(r.Relation), Poverty: string(r.Poverty), DisabilityGrade: r.DisabilityGrade,
		PregnancyEDD: r.PregnancyEDD.String(), Status: string(r.Status), MergedInto: r.MergedInto, Version: r.Version, KeyGroups: []string{}}
	for _, g := range v.Groups {
		out.KeyGroups = append(out.KeyGroups, string(g))
	}
	return out
}

func (s *Server) apiLogin(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	old := ""
	if c, err := r.Cookie(sessionCookie); err == nil {
		old = c.Value
	}
	tok, sess, err := s.Accounts.Login(r.Context(), account.Credentials{Username: in.Username, Password: in.Password, OldToken: old, IP: s.clientIP(r), UserAgent: r.UserAgent(),
		Devices: deviceCookies(r)})
	if err != nil {
		return err
	}
	s.setCookie(w, sessionCookie, tok, s.Accounts.Config.AbsoluteTimeout)
	s.setDeviceCookie(w, sess)
	writeJSON(w, http.StatusOK, map[string]any{"csrf_token": sess.CSRFToken, "expires_at": sess.ExpiresAt})
	return nil
}

func (s *Server) apiLogout(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	if err := s.Accounts.Logout(r.Context(), rc.Actor, rc.Session); err != nil {
		return err
	}
	s.clearCookie(w, sessionCookie)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) apiMe(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	a := rc.Actor
	writeJSON(w, http.StatusOK, map[string]any{"account_id": a.AccountID, "username": a.Username, "name": a.Name, "role": a.Role,
		"institution_id": a.InstitutionID, "county_code": a.CountyCode, "csrf_token": rc.Session.CSRFToken})
	return nil
}

type apiInstitutionOut struct {
	ID       int64  `json:"id"`
	ParentID int64  `json:"parent_id,omitempty"`
	Kind     string `json:"kind"`
	Level    string `json:"level,omitempty"`
	Code     string `json:"code"`
	Name     string `json:"name"`
	AreaCode string `json:"area_code,omitempty"`
	LeadID   int64  `json:"lead_id,omitempty"`
	Active   bool   `json:"active"`
}

func apiInstitution(in *org.Institution) apiInstitutionOut {
	return apiInstitutionOut{ID: in.ID, ParentID: in.ParentID, Kind: string(in.Kind), Level: string(in.Level), Code: in.Code, Name: in.Name, AreaCode: in.AreaCode, LeadID: in.LeadID, Active: in.Active}
}

func (s *Server) apiInstitutions(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	t, err := s.Orgs.Tree(r.Context())
	if err != nil {
		return err
	}
	var out []apiInstitutionOut
	var walk func(id int64)
	walk = func(id int64) {
		for _, c := range t.Children(id) {
			out = append(out, apiInstitution(c))
			walk(c.ID)
		}
	}
	walk(0)
	writeJSON(w, http.StatusOK, map[string]any{"institutions": out})
	return nil
}

func (s *Server) apiInstitution(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	v, err := s.institutionView(r, id)
	if err != nil {
		return err
	}
	children := []apiInstitutionOut{}
	for _, c := range v.Children {
		children = append(children, apiInstitution(c))
	}
	writeJSON(w, http.StatusOK, map[string]any{"institution": apiInstitution(v.In), "children": children, "departments": v.Departments})
	return nil
}

func (s *Server) apiInstitutionCreate(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in struct {
		ParentID int64  `json:"parent_id"`
		Kind     string `json:"kind"`
		Level    string `json:"level"`
		Code     string `json:"code"`
		Name     string `json:"name"`
		AreaCode string `json:"area_code"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	inst := &org.Institution{ParentID: in.ParentID, Kind: org.Kind(in.Kind), Level: org.Level(in.Level), Code: in.Code, Name: in.Name, AreaCode: in.AreaCode}
	if err := s.Orgs.CreateInstitution(r.Context(), rc.Actor, inst); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, apiInstitution(inst))
	return nil
}

type apiPractitionerOut struct {
	ID            int64  `json:"id"`
	InstitutionID int64  `json:"institution_id"`
	DepartmentID  int64  `json:"department_id,omitempty"`
	Name          string `json:"name"`
	Sex           string `json:"sex"`
	Title         string `json:"title"`
	Specialty     string `json:"specialty,omitempty"`
	PracticeSince string `json:"practice_since,omitempty"`
	YearsPractice int    `json:"years_of_practice"`
	Active        bool   `json:"active"`
}

func (s *Server) apiPractitioners(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	f := org.PractitionerFilter{NamePrefix: r.URL.Query().Get("name"), Specialty: r.URL.Query().Get("specialty"), Limit: 500}
	if v := r.URL.Query().Get("institution"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return care.Invalid([]care.FieldError{{Field: "institution", Key: "field.number"}})
		}
		f.Institutions = []int64{id}
	}
	ps, err := s.Store.Practitioners(r.Context(), f)
	if err != nil {
		return err
	}
	day := care.Today(s.Now())
	out := []apiPractitionerOut{}
	for i := range ps {
		p := &ps[i]
		out = append(out, apiPractitionerOut{ID: p.ID, InstitutionID: p.InstitutionID, DepartmentID: p.DepartmentID, Name: p.Name, Sex: p.Sex, Title: string(p.Title),
			Specialty: p.Specialty, PracticeSince: p.PracticeSince.String(), YearsPractice: p.YearsOfPractice(day), Active: p.Active})
	}
	writeJSON(w, http.StatusOK, map[string]any{"practitioners": out})
	return nil
}

func (s *Server) apiPractitionerCreate(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in struct {
		InstitutionID int64     `json:"institution_id"`
		DepartmentID  int64     `json:"department_id"`
		Name          string    `json:"name"`
		Sex           string    `json:"sex"`
		Title         string    `json:"title"`
		Specialty     string    `json:"specialty"`
		LicenseNumber string    `json:"license_number"`
		PracticeSince care.Date `json:"practice_since"`
		Phone         string    `json:"phone"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	p := &org.Practitioner{InstitutionID: in.InstitutionID, DepartmentID: in.DepartmentID, Name: in.Name, Sex: in.Sex, Title: org.Title(in.Title),
		Specialty: in.Specialty, LicenseNumber: in.LicenseNumber, PracticeSince: in.PracticeSince, Phone: in.Phone}
	if err := s.Orgs.SavePractitioner(r.Context(), rc.Actor, p); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": p.ID})
	return nil
}

func (s *Server) apiResidentSearch(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	f, err := s.filterFrom(r.URL.Query())
	if err != nil {
		return err
	}
	res, more, err := s.Residents.Search(r.Context(), rc.Actor, r.URL.Query().Get("q"), f)
	if err != nil {
		return err
	}
	vs, err := s.views(r, rc.Actor, res)
	if err != nil {
		return err
	}
	out := make([]apiResidentOut, len(vs))
	for i := range vs {
		out[i] = apiResident(vs[i])
	}
	writeJSON(w, http.StatusOK, map[string]any{"residents": out, "more": more})
	return nil
}

// apiResidentIn is the JSON body to register or update a resident.
type apiResidentIn struct {
	Name            string `json:"name"`
	IDNumber        string `json:"id_number"`
	Sex             string `json:"sex"`
	BirthDate       string `json:"birth_date"`
	Phone           string `json:"phone"`
	Address         string `json:"address"`
	VillageID       int64  `json:"village_id"`
	HouseholdID     int64  `json:"household_id"`
	Relation        string `json:"relation"`
	Poverty         string `json:"poverty"`
	DisabilityGrade int    `json:"disability_grade"`
	PregnancyEDD    string `json:"pregnancy_edd"`
	Status          string `json:"status"`
	Version         int    `json:"version"`
}

func (in apiResidentIn) input() resident.Input {
	return resident.Input{Name: in.Name, IDNumber: in.IDNumber, Sex: in.Sex, BirthDate: in.BirthDate, Phone: in.Phone, Address: in.Address,
		VillageID: in.VillageID, HouseholdID: in.HouseholdID, Relation: in.Relation, Poverty: in.Poverty, DisabilityGrade: in.DisabilityGrade, PregnancyEDD: in.PregnancyEDD}
}

func (s *Server) writeResident(w http.ResponseWriter, r *http.Request, rc *reqCtx, status int, res *resident.Resident) error {
	t, err := s.Orgs.Tree(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, status, apiResident(s.viewOf(t, rc.Actor, res)))
	return nil
}

func (s *Server) apiResidentCreate(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in apiResidentIn
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	res, err := s.Residents.Register(r.Context(), rc.Actor, in.input())
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/residents/"+strconv.FormatInt(res.ID, 10))
	return s.writeResident(w, r, rc, http.StatusCreated, res)
}

func (s *Server) apiResident(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	res, err := s.Residents.Get(r.Context(), rc.Actor, id)
	if err != nil {
		return err
	}
	return s.writeResident(w, r, rc, http.StatusOK, res)
}

func (s *Server) apiResidentUpdate(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in apiResidentIn
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if in.Version <= 0 {
		return care.Invalid([]care.FieldError{{Field: "version", Key: "field.required"}})
	}
	res, err := s.Residents.Update(r.Context(), rc.Actor, id, in.Version, resident.Status(in.Status), in.input())
	if err != nil {
		return err
	}
	return s.writeResident(w, r, rc, http.StatusOK, res)
}

func (s *Server) apiRevealID(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	n, err := s.Residents.RevealIDNumber(r.Context(), rc.Actor, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"id_number": n})
	return nil
}

func (s *Server) apiHousehold(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	hv, err := s.householdData(r, rc)
	if err != nil {
		return err
	}
	members := make([]apiResidentOut, len(hv.Members))
	for i := range hv.Members {
		members[i] = apiResident(hv.Members[i])
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": hv.H.ID, "number": hv.H.Number, "address": hv.H.Address, "village_id": hv.H.VillageID,
		"head_id": hv.H.HeadID, "members": members})
	return nil
}

func (s *Server) apiDuplicates(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	groups, err := s.Residents.Duplicates(r.Context(), rc.Actor)
	if err != nil {
		return err
	}
	out := [][]apiResidentOut{}
	for _, g := range groups {
		vs, err := s.views(r, rc.Actor, g)
		if err != nil {
			return err
		}
		row := make([]apiResidentOut, len(vs))
		for i := range vs {
			row[i] = apiResident(vs[i])
		}
		out = append(out, row)
	}
	writeJSON(w, http.StatusOK, map[string]any{"groups": out})
	return nil
}

func (s *Server) apiMerge(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in struct {
		SurvivorID      int64 `json:"survivor_id"`
		SurvivorVersion int   `json:"survivor_version"`
		MergedID        int64 `json:"merged_id"`
		MergedVersion   int   `json:"merged_version"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := s.Residents.Merge(r.Context(), rc.Actor, in.SurvivorID, in.SurvivorVersion, in.MergedID, in.MergedVersion); err != nil {
		return err
	}
	res, err := s.Residents.Get(r.Context(), rc.Actor, in.SurvivorID)
	if err != nil {
		return err
	}
	return s.writeResident(w, r, rc, http.StatusOK, res)
}

// apiExport writes the actor's residents (within the list filter) as
// CSV, masked as on screen; the export is audited with its row count.
func (s *Server) apiExport(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	f, err := s.filterFrom(r.URL.Query())
	if err != nil {
		return err
	}
	f.Limit = 100
	res, more, err := s.Residents.Search(r.Context(), rc.Actor, r.URL.Query().Get("q"), f)
	if err != nil {
		return err
	}
	vs, err := s.views(r, rc.Actor, res)
	if err != nil {
		return err
	}
	ev := audit.New(r.Context(), rc.Actor, audit.ActResidentExport, 0)
	ev.Detail = fmt.Sprintf("csv rows=%d more=%v", len(vs), more)
	s.Audit.Record(r.Context(), ev)
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="residents-`+time.Now().Format("20060102")+`.csv"`)
	cw := csv.NewWriter(w)
	cw.Write([]string{"record_number", "name", "sex", "birth_date", "id_number", "phone", "village", "poverty", "key_groups"})
	for _, v := range vs {
		groups := ""
		for i, g := range v.Groups {
			if i > 0 {
				groups += ";"
			}
			groups += string(g)
		}
		cw.Write([]string{v.R.RecordNumber, csvSafe(v.R.Name), string(v.R.Sex), v.R.BirthDate.String(), v.IDNumber, v.Phone, csvSafe(v.Village), string(v.R.Poverty), groups})
	}
	cw.Flush()
	return cw.Error()
}

// csvSafe defuses spreadsheet formula injection in exported text.
func csvSafe(s string) string {
	if s != "" && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@') {
		return "'" + s
	}
	return s
}

func (s *Server) apiEmergency(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in struct {
		IDNumber string `json:"id_number"`
		Reason   string `json:"reason"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	res, err := s.Residents.EmergencyAccess(r.Context(), rc.Actor, in.IDNumber, in.Reason)
	if err != nil {
		return err
	}
	return s.writeResident(w, r, rc, http.StatusOK, res)
}

type apiAuditOut struct {
	Seq           int64     `json:"seq"`
	Time          time.Time `json:"time"`
	AccountID     int64     `json:"account_id"`
	Username      string    `json:"username"`
	Role          string    `json:"role"`
	InstitutionID int64     `json:"institution_id"`
	Action        string    `json:"action"`
	ResidentID    int64     `json:"resident_id,omitempty"`
	Purpose       string    `json:"purpose"`
	Outcome       string    `json:"outcome"`
	RequestID     string    `json:"request_id"`
	Detail        string    `json:"detail"`
	Hash          string    `json:"hash"`
}

func (s *Server) apiAudit(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	f, err := auditFilterFrom(r.URL.Query())
	if err != nil {
		return err
	}
	evs, err := s.Store.SearchAudit(r.Context(), f)
	if err != nil {
		return err
	}
	ev := audit.New(r.Context(), rc.Actor, audit.ActAuditSearch, 0)
	ev.Detail = "audit search " + r.URL.RawQuery
	s.Audit.Record(r.Context(), ev)
	out := make([]apiAuditOut, len(evs))
	for i, e := range evs {
		out[i] = apiAuditOut{Seq: e.Seq, Time: e.Time, AccountID: e.AccountID, Username: e.Username, Role: string(e.Role), InstitutionID: e.InstitutionID,
			Action: e.Action, ResidentID: e.ResidentID, Purpose: e.Purpose, Outcome: e.Outcome, RequestID: e.RequestID, Detail: e.Detail, Hash: e.Hash}
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": out})
	return nil
}

func (s *Server) apiStats(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	rows, total, err := s.aggregateRows(r, rc.Actor)
	if err != nil {
		return err
	}
	type row struct {
		Name     string `json:"name"`
		Total    string `json:"total"`
		Elderly  string `json:"elderly65"`
		Children string `json:"child0to6"`
		Pregnant string `json:"pregnant"`
		Disabled string `json:"disabled"`
		Poor     string `json:"poor"`
	}
	conv := func(name string, c resident.VillageCounts) row {
		return row{name, cell(c.Total), cell(c.Elderly), cell(c.Children), cell(c.Pregnant), cell(c.Disabled), cell(c.Poor)}
	}
	out := []row{}
	for _, x := range rows {
		out = append(out, conv(x.Name, x.Counts))
	}
	writeJSON(w, http.StatusOK, map[string]any{"rows": out, "total": conv("total", total), "small_cell": resident.SmallCell})
	return nil
}
