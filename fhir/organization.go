package fhir

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"countycare/care"
	"countycare/org"
	"countycare/web"
)

// OrganizationOf maps an institution of the organisation tree to an
// Organization: the tree's parent is partOf (county → medical community →
// hospital or township health center → village clinic), the kind is the
// type (SystemOrgKind, with its name in the reader's language).
func OrganizationOf(in *org.Institution, kindName func(org.Kind) string) Organization {
	o := Organization{ResourceType: "Organization", ID: strconv.FormatInt(in.ID, 10), Name: in.Name, Active: boolp(in.Active)}
	if !in.CreatedAt.IsZero() {
		o.Meta = &Meta{LastUpdated: instant(in.CreatedAt)}
	}
	if in.Code != "" {
		o.Identifier = []Identifier{{Use: "official", System: SystemOrgCode, Value: in.Code}}
	}
	if in.Kind != "" {
		c := Coding{System: SystemOrgKind, Code: string(in.Kind)}
		if kindName != nil {
			c.Display = kindName(in.Kind)
		}
		o.Type = []CodeableConcept{{Coding: []Coding{c}}}
	}
	if in.ParentID != 0 {
		o.PartOf = &Reference{Reference: "Organization/" + strconv.FormatInt(in.ParentID, 10)}
	}
	return o
}

func (s *Server) kindName(m *web.Mount, lang string) func(org.Kind) string {
	return func(k org.Kind) string { return m.T(lang, "kind."+string(k)) }
}

// organizationRead: GET /fhir/Organization/{id}. The organisation tree is
// what the /org pages show the same roles.
func (s *Server) organizationRead(m *web.Mount) web.FaceHandler {
	return func(w http.ResponseWriter, r *http.Request, rq web.Request) error {
		t, err := s.Orgs.Tree(r.Context())
		if err != nil {
			return err
		}
		id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
		in := t.Get(id)
		if in == nil {
			return care.Errorf(care.ENOTFOUND, "error.not_found")
		}
		writeJSON(w, http.StatusOK, OrganizationOf(in, s.kindName(m, rq.Lang)))
		return nil
	}
}

// organizationSearch: GET /fhir/Organization?… with
//
//	_id       one institution
//	partof    Organization/{id} or {id}: its children
//	type      an org.Kind code ([system|]code)
//	name      a substring of the name
//	_count    page size, 1–MaxCount (default MaxCount)
//
// The whole tree of a county is a few hundred institutions: the search
// walks it in memory, in tree order.
func (s *Server) organizationSearch(m *web.Mount) web.FaceHandler {
	return func(w http.ResponseWriter, r *http.Request, rq web.Request) error {
		t, err := s.Orgs.Tree(r.Context())
		if err != nil {
			return err
		}
		q := r.URL.Query()
		strict := strings.Contains(r.Header.Get("Prefer"), "handling=strict")
		used := url.Values{}
		var fs []care.FieldError
		limit := MaxCount
		var partOf, only int64 = -1, -1
		kind, name := "", ""
		for p, vals := range q {
			v := strings.TrimSpace(vals[0])
			switch p {
			case "_count":
				n, fe := pageSize(v)
				if fe != nil {
					fs = append(fs, *fe)
					continue
				}
				limit = n
			case "_id":
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					fs = append(fs, care.FieldError{Field: p, Key: "fhir.reference"})
					continue
				}
				only = n
			case "partof":
				n, err := strconv.ParseInt(strings.TrimPrefix(v, "Organization/"), 10, 64)
				if err != nil {
					fs = append(fs, care.FieldError{Field: p, Key: "fhir.reference"})
					continue
				}
				partOf = n
			case "type":
				if i := strings.LastIndexByte(v, '|'); i >= 0 {
					if v[:i] != SystemOrgKind && v[:i] != "" {
						fs = append(fs, care.FieldError{Field: p, Key: "fhir.code_system", Args: []any{v[:i]}})
						continue
					}
					v = v[i+1:]
				}
				kind = v
			case "name":
				name = v
			default:
				if strict {
					fs = append(fs, care.FieldError{Field: p, Key: "fhir.unsupported_param", Args: []any{p}})
				}
				continue
			}
			used[p] = vals
		}
		if err := care.Invalid(fs); err != nil {
			return err
		}
		var all []*org.Institution
		var walk func(id int64)
		walk = func(id int64) {
			for _, c := range t.Children(id) {
				all = append(all, c)
				walk(c.ID)
			}
		}
		walk(0)
		base := s.base(r)
		kn := s.kindName(m, rq.Lang)
		b := Bundle{ResourceType: "Bundle", Type: "searchset", Meta: &Meta{LastUpdated: instant(s.Now())},
			Link: []BundleLink{{Relation: "self", URL: base + "/Organization?" + used.Encode()}}}
		n := 0
		for _, in := range all {
			if only >= 0 && in.ID != only || partOf >= 0 && in.ParentID != partOf || kind != "" && string(in.Kind) != kind ||
				name != "" && !strings.Contains(in.Name, name) {
				continue
			}
			n++
			if len(b.Entry) < limit {
				o := OrganizationOf(in, kn)
				b.Entry = append(b.Entry, BundleEntry{FullURL: base + "/Organization/" + o.ID, Resource: o, Search: &EntrySearch{Mode: "match"}})
			}
		}
		b.Total = &n
		writeJSON(w, http.StatusOK, b)
		return nil
	}
}
