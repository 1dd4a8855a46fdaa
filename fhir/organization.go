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

// Location is an institution's site (机构地址): where its care happens.
type Location struct {
	ResourceType         string            `json:"resourceType"`
	ID                   string            `json:"id"`
	Meta                 *Meta             `json:"meta,omitempty"`
	Identifier           []Identifier      `json:"identifier,omitempty"`
	Status               string            `json:"status"`
	Name                 string            `json:"name"`
	Mode                 string            `json:"mode"`
	Type                 []CodeableConcept `json:"type,omitempty"`
	PhysicalType         *CodeableConcept  `json:"physicalType,omitempty"`
	ManagingOrganization *Reference        `json:"managingOrganization,omitempty"`
	PartOf               *Reference        `json:"partOf,omitempty"`
}

// SystemAreaCode: the statistical area codes (统计用区划代码) of the
// National Bureau of Statistics: 6 digits a county, 9 a township, 12 a
// village; the area an institution's site is in.
const SystemAreaCode = "http://countycare.cn/fhir/sid/area-code"

// LocationOf maps an institution to its site, id as the institution's: the
// site (physical type si) of the institution (managingOrganization), in
// the site of its parent (partOf), with the institution's kind as type and
// its area code as identifier. The platform records one site per
// institution; it holds no street address or coordinates.
func LocationOf(in *org.Institution, kindName func(org.Kind) string) Location {
	o := OrganizationOf(in, kindName)
	l := Location{ResourceType: "Location", ID: o.ID, Meta: o.Meta, Status: "inactive", Name: in.Name, Mode: "instance", Type: o.Type,
		PhysicalType:         &CodeableConcept{Coding: []Coding{{System: "http://terminology.hl7.org/CodeSystem/location-physical-type", Code: "si", Display: "Site"}}},
		ManagingOrganization: &Reference{Reference: "Organization/" + o.ID}}
	if in.Active {
		l.Status = "active"
	}
	if in.AreaCode != "" {
		l.Identifier = []Identifier{{System: SystemAreaCode, Value: in.AreaCode}}
	}
	if in.ParentID != 0 {
		l.PartOf = &Reference{Reference: "Location/" + strconv.FormatInt(in.ParentID, 10)}
	}
	return l
}

// treeResource maps an institution to typ (Organization or Location).
func treeResource(typ string, in *org.Institution, kn func(org.Kind) string) (string, any) {
	if typ == "Location" {
		l := LocationOf(in, kn)
		return l.ID, l
	}
	o := OrganizationOf(in, kn)
	return o.ID, o
}

func (s *Server) kindName(m *web.Mount, lang string) func(org.Kind) string {
	return func(k org.Kind) string { return m.T(lang, "kind."+string(k)) }
}

// organizationRead: GET /fhir/Organization/{id} and /fhir/Location/{id}
// (typ). The organisation tree is what the /org pages show the same roles.
func (s *Server) organizationRead(m *web.Mount, typ string) web.FaceHandler {
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
		_, res := treeResource(typ, in, s.kindName(m, rq.Lang))
		writeJSON(w, http.StatusOK, res)
		return nil
	}
}

// organizationSearch: GET /fhir/Organization?… and /fhir/Location?… (typ) with
//
//	_id           one institution
//	partof        Organization/{id} (Location/{id}) or {id}: its children
//	organization  Location only: Organization/{id} or {id}, its site
//	type          an org.Kind code ([system|]code)
//	name          a substring of the name
//	_count        page size, 1–MaxCount (default MaxCount)
//	_summary      count: the total alone
//	_revinclude   Organization: Location:organization, each one's site
//	_include      Location: Location:organization, each site's institution
//
// The whole tree of a county is a few hundred institutions: the search
// walks it in memory, in tree order.
func (s *Server) organizationSearch(m *web.Mount, typ string) web.FaceHandler {
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
		kind, name, summary := "", "", false
		site := false // Organization?_revinclude=Location:organization, Location?_include=Location:organization
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
			case "_summary":
				if v != "count" {
					fs = append(fs, care.FieldError{Field: p, Key: "fhir.summary"})
					continue
				}
				summary = true
			case "organization":
				if typ != "Location" {
					if strict {
						fs = append(fs, care.FieldError{Field: p, Key: "fhir.unsupported_param", Args: []any{p}})
					}
					continue
				}
				n, err := strconv.ParseInt(strings.TrimPrefix(v, "Organization/"), 10, 64)
				if err != nil {
					fs = append(fs, care.FieldError{Field: p, Key: "fhir.reference"})
					continue
				}
				only = n
			case "partof":
				n, err := strconv.ParseInt(strings.TrimPrefix(v, typ+"/"), 10, 64)
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
			case "_revinclude", "_include":
				want := map[string]string{"Organization": "_revinclude", "Location": "_include"}[typ]
				if p != want || len(vals) != 1 || v != "Location:organization" {
					fs = append(fs, care.FieldError{Field: p, Key: "fhir.include", Args: []any{want + "=Location:organization"}})
					continue
				}
				site = true
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
			Link: []BundleLink{{Relation: "self", URL: base + "/" + typ + "?" + used.Encode()}}}
		n := 0
		for _, in := range all {
			if only >= 0 && in.ID != only || partOf >= 0 && in.ParentID != partOf || kind != "" && string(in.Kind) != kind ||
				name != "" && !strings.Contains(in.Name, name) {
				continue
			}
			n++
			if len(b.Entry) < limit && !summary {
				id, res := treeResource(typ, in, kn)
				b.Entry = append(b.Entry, BundleEntry{FullURL: base + "/" + typ + "/" + id, Resource: res, Search: &EntrySearch{Mode: "match"}})
				if site { // the institution's site, or the site's institution (the same id)
					other := map[string]string{"Organization": "Location", "Location": "Organization"}[typ]
					_, inc := treeResource(other, in, kn)
					b.Entry = append(b.Entry, BundleEntry{FullURL: base + "/" + other + "/" + id, Resource: inc, Search: &EntrySearch{Mode: "include"}})
				}
			}
		}
		b.Total = &n
		writeJSON(w, http.StatusOK, b)
		return nil
	}
}
