package fhir

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"countycare/access"
	"countycare/care"
	"countycare/resident"
	"countycare/settle"
	"countycare/web"
)

// Code systems the platform publishes (CodeSystem and ValueSet).
const (
	// SystemSex: GB/T 2261.1-2003 人的性别代码 (0 unknown, 1 male, 2
	// female, 9 not stated). The platform records male or female, from
	// the GB 11643 number (Patient.gender carries FHIR's code).
	SystemSex = "http://countycare.cn/fhir/CodeSystem/gbt2261.1-sex"
	// SystemHouseholdRelation: a member's relation to the household head
	// (与户主关系, resident.Relation), the categories the register keeps.
	SystemHouseholdRelation = "http://countycare.cn/fhir/CodeSystem/household-relation"
	// valueSetBase prefixes the ValueSets' canonical URLs.
	valueSetBase = "http://countycare.cn/fhir/ValueSet/"
)

// CodeSystem is one published code system.
type CodeSystem struct {
	ResourceType  string      `json:"resourceType"`
	ID            string      `json:"id"`
	URL           string      `json:"url"`
	Name          string      `json:"name"`
	Title         string      `json:"title,omitempty"`
	Status        string      `json:"status"`
	Publisher     string      `json:"publisher,omitempty"`
	Description   string      `json:"description,omitempty"`
	CaseSensitive bool        `json:"caseSensitive"`
	ValueSet      string      `json:"valueSet,omitempty"`
	Content       string      `json:"content"`
	Count         int         `json:"count"`
	Concept       []CSConcept `json:"concept"`
	Language      string      `json:"language,omitempty"`
}

// CSConcept is one code of a CodeSystem.
type CSConcept struct {
	Code    string `json:"code"`
	Display string `json:"display"`
}

// ValueSet is every code of one published code system, with its expansion
// after $expand.
type ValueSet struct {
	ResourceType string       `json:"resourceType"`
	ID           string       `json:"id"`
	URL          string       `json:"url"`
	Name         string       `json:"name"`
	Title        string       `json:"title,omitempty"`
	Status       string       `json:"status"`
	Compose      *VSCompose   `json:"compose,omitempty"`
	Expansion    *VSExpansion `json:"expansion,omitempty"`
	Language     string       `json:"language,omitempty"`
}

// VSCompose includes a whole code system.
type VSCompose struct {
	Include []VSInclude `json:"include"`
}

// VSInclude names the code system included.
type VSInclude struct {
	System string `json:"system"`
}

// VSExpansion lists the codes of an expanded ValueSet.
type VSExpansion struct {
	Timestamp string        `json:"timestamp"`
	Total     int           `json:"total"`
	Parameter []VSParameter `json:"parameter,omitempty"`
	Contains  []VSContains  `json:"contains,omitempty"`
}

// VSParameter is a parameter the expansion was made with (filter).
type VSParameter struct {
	Name        string `json:"name"`
	ValueString string `json:"valueString"`
}

// VSContains is one code of an expansion.
type VSContains struct {
	System  string `json:"system"`
	Code    string `json:"code"`
	Display string `json:"display"`
}

// terminology is one published code system: its id, canonical URL, name,
// title key, and codes with their catalogue keys.
type terminology struct {
	id, url, name, title string
	codes                []string
	key                  func(code string) string
}

// terminologies are the code systems of national and platform codes the
// resources use: sex (GB/T 2261.1), relation to the household head,
// poverty categories (Patient's extension) and payer layers (the
// ExplanationOfBenefit's totals, Coverage's subplans).
func terminologies() []terminology {
	var rels, povs []string
	for _, r := range resident.Relations {
		rels = append(rels, string(r))
	}
	for _, p := range resident.PovertyCategories {
		if p != resident.PovertyNone {
			povs = append(povs, string(p))
		}
	}
	return []terminology{
		{"gbt2261.1-sex", SystemSex, "GBT2261_1Sex", "fhir.cs.sex", []string{"0", "1", "2", "9"}, func(c string) string { return "fhir.cs.sex." + c }},
		{"household-relation", SystemHouseholdRelation, "HouseholdRelation", "fhir.cs.relation", rels, func(c string) string { return "relation." + c }},
		{"poverty-category", SystemPoverty, "PovertyCategory", "fhir.cs.poverty", povs, func(c string) string { return "poverty." + c }},
		{"payer-layer", SystemPayerLayer, "PayerLayer", "fhir.cs.payer_layer", append(slices.Clone(settle.LayerOrder), "patient"), func(c string) string {
			if c == "patient" {
				return "fhir.total.patient"
			}
			return "settle.layer." + c
		}},
	}
}

// terminologyOf finds a code system by id or canonical URL (of the code
// system or its ValueSet).
func terminologyOf(id string) (terminology, bool) {
	for _, x := range terminologies() {
		if x.id == id || x.url == id || valueSetBase+x.id == id {
			return x, true
		}
	}
	return terminology{}, false
}

func (x terminology) codeSystem(t func(string, ...any) string, lang string) CodeSystem {
	cs := CodeSystem{ResourceType: "CodeSystem", ID: x.id, URL: x.url, Name: x.name, Title: t(x.title), Status: "active", Publisher: "countycare",
		CaseSensitive: true, ValueSet: valueSetBase + x.id, Content: "complete", Count: len(x.codes), Language: langTag(lang)}
	for _, c := range x.codes {
		cs.Concept = append(cs.Concept, CSConcept{Code: c, Display: t(x.key(c))})
	}
	return cs
}

func (x terminology) valueSet(t func(string, ...any) string, lang string) ValueSet {
	return ValueSet{ResourceType: "ValueSet", ID: x.id, URL: valueSetBase + x.id, Name: x.name, Title: t(x.title), Status: "active",
		Compose: &VSCompose{Include: []VSInclude{{System: x.url}}}, Language: langTag(lang)}
}

// langTag is the BCP 47 tag of the reader's language.
func langTag(lang string) string {
	if lang == "en" {
		return "en"
	}
	return "zh-CN"
}

// terminologyRead: GET /fhir/CodeSystem/{id} and /fhir/ValueSet/{id}.
func (s *Server) terminologyRead(m *web.Mount, typ string) web.FaceHandler {
	return func(w http.ResponseWriter, r *http.Request, rq web.Request) error {
		x, ok := terminologyOf(r.PathValue("id"))
		if !ok || strings.Contains(r.PathValue("id"), "/") {
			return care.Errorf(care.ENOTFOUND, "error.not_found")
		}
		t := s.translator(m, rq)
		if typ == "CodeSystem" {
			writeJSON(w, http.StatusOK, x.codeSystem(t, rq.Lang))
		} else {
			writeJSON(w, http.StatusOK, x.valueSet(t, rq.Lang))
		}
		return nil
	}
}

// terminologySearch: GET /fhir/CodeSystem and /fhir/ValueSet with url
// (the canonical URL), name, _summary=count; every published one without.
func (s *Server) terminologySearch(m *web.Mount, typ string) web.FaceHandler {
	return func(w http.ResponseWriter, r *http.Request, rq web.Request) error {
		q := r.URL.Query()
		used := url.Values{}
		var fs []care.FieldError
		for _, p := range []string{"url", "name", "_summary"} {
			if v := q.Get(p); v != "" {
				used.Set(p, v)
			}
		}
		if v := q.Get("_summary"); v != "" && v != "count" {
			fs = append(fs, care.FieldError{Field: "_summary", Key: "fhir.summary"})
		}
		fs = append(fs, s.unsupported(r, q, "url", "name", "_summary")...)
		if err := care.Invalid(fs); err != nil {
			return err
		}
		t := s.translator(m, rq)
		base := s.base(r)
		b := Bundle{ResourceType: "Bundle", Type: "searchset", Meta: &Meta{LastUpdated: instant(s.Now())},
			Link: []BundleLink{{Relation: "self", URL: base + "/" + typ + "?" + used.Encode()}}}
		n := 0
		for _, x := range terminologies() {
			u := x.url
			if typ == "ValueSet" {
				u = valueSetBase + x.id
			}
			if v := q.Get("url"); v != "" && v != u || q.Get("name") != "" && !strings.EqualFold(q.Get("name"), x.name) {
				continue
			}
			n++
			if q.Get("_summary") == "count" {
				continue
			}
			var res any = x.valueSet(t, rq.Lang)
			if typ == "CodeSystem" {
				res = x.codeSystem(t, rq.Lang)
			}
			b.Entry = append(b.Entry, BundleEntry{FullURL: base + "/" + typ + "/" + x.id, Resource: res, Search: &EntrySearch{Mode: "match"}})
		}
		b.Total = &n
		writeJSON(w, http.StatusOK, b)
		return nil
	}
}

// expand: GET /fhir/ValueSet/{id}/$expand and GET /fhir/ValueSet/$expand?url=…
// with filter (a substring of the code or its display, case-insensitive):
// the ValueSet with its codes in the reader's language.
func (s *Server) expand(m *web.Mount) web.FaceHandler {
	return func(w http.ResponseWriter, r *http.Request, rq web.Request) error {
		q := r.URL.Query()
		id := r.PathValue("id")
		if id == "" {
			if id = q.Get("url"); id == "" {
				return care.Invalid([]care.FieldError{{Field: "url", Key: "fhir.reference"}})
			}
		}
		if err := care.Invalid(s.unsupported(r, q, "url", "filter")); err != nil {
			return err
		}
		x, ok := terminologyOf(id)
		if !ok {
			return care.Errorf(care.ENOTFOUND, "error.not_found")
		}
		t := s.translator(m, rq)
		vs := x.valueSet(t, rq.Lang)
		vs.Expansion = &VSExpansion{Timestamp: instant(s.Now())}
		f := strings.ToLower(strings.TrimSpace(q.Get("filter")))
		if f != "" {
			vs.Expansion.Parameter = []VSParameter{{Name: "filter", ValueString: f}}
		}
		for _, c := range x.codeSystem(t, rq.Lang).Concept {
			if f == "" || strings.Contains(strings.ToLower(c.Code), f) || strings.Contains(strings.ToLower(c.Display), f) {
				vs.Expansion.Contains = append(vs.Expansion.Contains, VSContains{System: x.url, Code: c.Code, Display: c.Display})
			}
		}
		vs.Expansion.Total = len(vs.Expansion.Contains)
		writeJSON(w, http.StatusOK, vs)
		return nil
	}
}

// terminologyRoutes registers CodeSystem and ValueSet: reference data,
// for any signed-in user.
func (s *Server) terminologyRoutes(m *web.Mount) {
	users := access.AnyUser()
	for _, typ := range []string{"CodeSystem", "ValueSet"} {
		m.Handle("GET /fhir/"+typ+"/{id}", users, 0, s.terminologyRead(m, typ))
		m.Handle("GET /fhir/"+typ, users, 0, s.terminologySearch(m, typ))
	}
	m.Handle("GET /fhir/ValueSet/{id}/$expand", users, 0, s.expand(m))
	m.Handle("GET /fhir/ValueSet/$expand", users, 0, s.expand(m))
}
