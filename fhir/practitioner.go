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

// Naming systems of the staff directory.
const (
	// SystemLicense: the practitioner's practising certificate number (执业证书编码).
	SystemLicense = "http://countycare.cn/fhir/sid/practitioner-license"
	// SystemTitle: professional titles (org.Title: village_doctor, physician, attending, chief …).
	SystemTitle = "http://countycare.cn/fhir/CodeSystem/practitioner-title"
	// SystemSpecialty: clinical specialties (cardiology, endocrinology …).
	SystemSpecialty = "http://countycare.cn/fhir/CodeSystem/specialty"
)

// Practitioner is a doctor, pharmacist or other member of staff.
type Practitioner struct {
	ResourceType  string          `json:"resourceType"`
	ID            string          `json:"id"`
	Meta          *Meta           `json:"meta,omitempty"`
	Identifier    []Identifier    `json:"identifier,omitempty"`
	Active        *bool           `json:"active,omitempty"`
	Name          []HumanName     `json:"name,omitempty"`
	Telecom       []ContactPoint  `json:"telecom,omitempty"`
	Gender        string          `json:"gender,omitempty"`
	Qualification []Qualification `json:"qualification,omitempty"`
}

// Qualification is a practitioner's title.
type Qualification struct {
	Code CodeableConcept `json:"code"`
}

// PractitionerRole is where a practitioner works and as what.
type PractitionerRole struct {
	ResourceType string            `json:"resourceType"`
	ID           string            `json:"id"`
	Active       *bool             `json:"active,omitempty"`
	Practitioner *Reference        `json:"practitioner,omitempty"`
	Organization *Reference        `json:"organization,omitempty"`
	Code         []CodeableConcept `json:"code,omitempty"`
	Specialty    []CodeableConcept `json:"specialty,omitempty"`
}

// PractitionerOf maps a member of staff; the phone is the work number the
// staff directory shows.
func PractitionerOf(p *org.Practitioner, name func(string) string) Practitioner {
	out := Practitioner{ResourceType: "Practitioner", ID: strconv.FormatInt(p.ID, 10), Active: boolp(p.Active)}
	if !p.CreatedAt.IsZero() {
		out.Meta = &Meta{LastUpdated: instant(p.CreatedAt)}
	}
	if p.LicenseNumber != "" {
		out.Identifier = []Identifier{{Use: "official", System: SystemLicense, Value: p.LicenseNumber}}
	}
	if p.Name != "" {
		out.Name = []HumanName{{Use: "official", Text: p.Name}}
	}
	if p.Phone != "" {
		out.Telecom = []ContactPoint{{System: "phone", Value: p.Phone, Use: "work"}}
	}
	switch p.Sex {
	case "M":
		out.Gender = "male"
	case "F":
		out.Gender = "female"
	}
	if p.Title != "" {
		out.Qualification = []Qualification{{Code: CodeableConcept{Coding: []Coding{{System: SystemTitle, Code: string(p.Title), Display: name("title." + string(p.Title))}}}}}
	}
	return out
}

// PractitionerRoleOf is the practitioner's role at their institution (one
// per practitioner: the same ID).
func PractitionerRoleOf(p *org.Practitioner, name func(string) string) PractitionerRole {
	id := strconv.FormatInt(p.ID, 10)
	r := PractitionerRole{ResourceType: "PractitionerRole", ID: id, Active: boolp(p.Active),
		Practitioner: &Reference{Reference: "Practitioner/" + id, Display: p.Name},
		Organization: &Reference{Reference: "Organization/" + strconv.FormatInt(p.InstitutionID, 10)}}
	if p.Title != "" {
		r.Code = []CodeableConcept{{Coding: []Coding{{System: SystemTitle, Code: string(p.Title), Display: name("title." + string(p.Title))}}}}
	}
	if p.Specialty != "" {
		r.Specialty = []CodeableConcept{{Coding: []Coding{{System: SystemSpecialty, Code: p.Specialty, Display: name("specialty." + p.Specialty)}}}}
	}
	return r
}

// practitionerRead: GET /fhir/Practitioner/{id} and /fhir/PractitionerRole/{id}
// (role true): the staff directory, as the /org pages show it.
func (s *Server) practitionerRead(m *web.Mount, role bool) web.FaceHandler {
	return func(w http.ResponseWriter, r *http.Request, rq web.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		p, err := s.Orgs.Repo.Practitioner(r.Context(), id)
		if err != nil {
			return err
		}
		name := func(k string) string { return m.T(rq.Lang, k) }
		if role {
			writeJSON(w, http.StatusOK, PractitionerRoleOf(p, name))
		} else {
			writeJSON(w, http.StatusOK, PractitionerOf(p, name))
		}
		return nil
	}
}

// practitionerSearch: GET /fhir/Practitioner?name=… (prefix) and
// /fhir/PractitionerRole?organization=…&specialty=…&practitioner=… (role
// true), with _count (1–MaxCount, default MaxCount), and the role with
// each practitioner (_revinclude=PractitionerRole:practitioner) or the
// practitioner with each role (_include=PractitionerRole:practitioner).
func (s *Server) practitionerSearch(m *web.Mount, role bool) web.FaceHandler {
	return func(w http.ResponseWriter, r *http.Request, rq web.Request) error {
		q := r.URL.Query()
		used, fs := url.Values{}, []care.FieldError(nil)
		f := org.PractitionerFilter{Limit: MaxCount}
		only := int64(0)
		known := []string{"_count", "_id", "name", "_revinclude"}
		if role {
			known = []string{"_count", "practitioner", "organization", "specialty", "_include"}
		}
		// Practitioner?_revinclude=PractitionerRole:practitioner and
		// PractitionerRole?_include=PractitionerRole:practitioner: the
		// practitioner's role, or the role's practitioner (the same id).
		other := false
		for p, vals := range q {
			v := strings.TrimSpace(vals[0])
			switch {
			case p == "_count":
				n, fe := pageSize(v)
				if fe != nil {
					fs = append(fs, *fe)
					continue
				}
				f.Limit = n
			case p == "_id" && !role, p == "practitioner" && role:
				n, err := strconv.ParseInt(strings.TrimPrefix(v, "Practitioner/"), 10, 64)
				if err != nil || n <= 0 {
					fs = append(fs, care.FieldError{Field: p, Key: "fhir.reference"})
					continue
				}
				only = n
			case p == "name" && !role:
				f.NamePrefix = v
			case p == "organization" && role:
				n, err := strconv.ParseInt(strings.TrimPrefix(v, "Organization/"), 10, 64)
				if err != nil || n <= 0 {
					fs = append(fs, care.FieldError{Field: p, Key: "fhir.reference"})
					continue
				}
				f.Institutions = []int64{n}
			case p == "specialty" && role:
				if i := strings.LastIndexByte(v, '|'); i >= 0 {
					if v[:i] != SystemSpecialty && v[:i] != "" {
						fs = append(fs, care.FieldError{Field: p, Key: "fhir.code_system", Args: []any{v[:i]}})
						continue
					}
					v = v[i+1:]
				}
				f.Specialty = v
			case p == "_revinclude" && !role, p == "_include" && role:
				if len(vals) != 1 || v != "PractitionerRole:practitioner" {
					fs = append(fs, care.FieldError{Field: p, Key: "fhir.include", Args: []any{p + "=PractitionerRole:practitioner"}})
					continue
				}
				other = true
			default:
				continue
			}
			used[p] = vals
		}
		fs = append(fs, s.unsupported(r, q, known...)...)
		if err := care.Invalid(fs); err != nil {
			return err
		}
		var list []org.Practitioner
		if only != 0 {
			p, err := s.Orgs.Repo.Practitioner(r.Context(), only)
			switch {
			case err == nil:
				list = []org.Practitioner{*p}
			case !care.IsCode(err, care.ENOTFOUND):
				return err
			}
		} else {
			var err error
			if list, err = s.Orgs.Repo.Practitioners(r.Context(), f); err != nil {
				return err
			}
		}
		typ := "Practitioner"
		if role {
			typ = "PractitionerRole"
		}
		base := s.base(r)
		b := Bundle{ResourceType: "Bundle", Type: "searchset", Meta: &Meta{LastUpdated: instant(s.Now())},
			Link: []BundleLink{{Relation: "self", URL: base + "/" + typ + "?" + used.Encode()}}}
		if len(list) < f.Limit || only != 0 {
			n := len(list)
			b.Total = &n
		}
		name := func(k string) string { return m.T(rq.Lang, k) }
		for i := range list {
			var res any
			if role {
				res = PractitionerRoleOf(&list[i], name)
			} else {
				res = PractitionerOf(&list[i], name)
			}
			id := strconv.FormatInt(list[i].ID, 10)
			b.Entry = append(b.Entry, BundleEntry{FullURL: base + "/" + typ + "/" + id, Resource: res, Search: &EntrySearch{Mode: "match"}})
			if other && role {
				b.Entry = append(b.Entry, BundleEntry{FullURL: base + "/Practitioner/" + id, Resource: PractitionerOf(&list[i], name), Search: &EntrySearch{Mode: "include"}})
			} else if other {
				b.Entry = append(b.Entry, BundleEntry{FullURL: base + "/PractitionerRole/" + id, Resource: PractitionerRoleOf(&list[i], name), Search: &EntrySearch{Mode: "include"}})
			}
		}
		writeJSON(w, http.StatusOK, b)
		return nil
	}
}
