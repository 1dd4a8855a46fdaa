package fhir

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"countycare/access"
	"countycare/care"
	"countycare/resident"
	"countycare/smart"
	"countycare/web"
)

// Households (户, resident.Household) as FHIR: each household is a Group
// (type person, actual) whose members are its residents, with the id
// "household-<id>" — distinct from the bulk-export Groups' "township-…"
// and "registry-…" (bulk.go) — and each member's relation to the head is
// a RelatedPerson whose patient is the member and who is the head. Both
// are read through resident.Service (the household page's scope and
// audit: household.read, and resident.read for a member named by a
// search).
const (
	// SystemHouseholdNumber: the household number (户编号: the village's
	// area code and a 4-digit sequence), unique in a county.
	SystemHouseholdNumber = "http://countycare.cn/fhir/sid/household-number"
	// ExtHouseholdHead marks the head's Group.member (valueBoolean true).
	ExtHouseholdHead = "http://countycare.cn/fhir/StructureDefinition/household-head"
	// householdPrefix begins a household Group's id.
	householdPrefix = "household-"
	// systemV3RoleCode: HL7 v3 RoleCode, the related person's role to the patient.
	systemV3RoleCode = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
)

// HouseholdGroup is a household as a FHIR Group.
type HouseholdGroup struct {
	ResourceType   string        `json:"resourceType"`
	ID             string        `json:"id"`
	Meta           *Meta         `json:"meta,omitempty"`
	Extension      []Extension   `json:"extension,omitempty"`
	Identifier     []Identifier  `json:"identifier,omitempty"`
	Active         *bool         `json:"active,omitempty"`
	Type           string        `json:"type"`
	Actual         bool          `json:"actual"`
	Name           string        `json:"name,omitempty"`
	ManagingEntity *Reference    `json:"managingEntity,omitempty"`
	Quantity       int           `json:"quantity"`
	Member         []GroupMember `json:"member,omitempty"`
}

// GroupMember is one member of a household Group.
type GroupMember struct {
	Extension []Extension `json:"extension,omitempty"`
	Entity    Reference   `json:"entity"`
	Period    *Period     `json:"period,omitempty"`
	Inactive  *bool       `json:"inactive,omitempty"`
}

// RelatedPerson is the household head as related to a member.
type RelatedPerson struct {
	ResourceType string            `json:"resourceType"`
	ID           string            `json:"id"`
	Meta         *Meta             `json:"meta,omitempty"`
	Active       *bool             `json:"active,omitempty"`
	Patient      Reference         `json:"patient"`
	Relationship []CodeableConcept `json:"relationship,omitempty"`
	Name         []HumanName       `json:"name,omitempty"`
	Gender       string            `json:"gender,omitempty"`
	BirthDate    string            `json:"birthDate,omitempty"`
}

// headRole is the HL7 v3 role of the head to a member of each relation
// to the head (the inverse: the head of a member's child is a parent);
// "other" has none.
var headRole = map[resident.Relation]string{resident.RelHead: "ONESELF", resident.RelSpouse: "SPS", resident.RelChild: "PRN",
	resident.RelParent: "CHILD", resident.RelGrandchild: "GRPRN"}

// householdID is a household Group's id.
func householdID(id int64) string { return householdPrefix + strconv.FormatInt(id, 10) }

// HouseholdGroupOf maps a household and the members the reader sees. Each
// member's period starts on the day the member was registered (China
// time); a member who died or moved out is inactive. The poverty category
// is the head's (the household's, as the register keeps it on each member).
func HouseholdGroupOf(h *resident.Household, members []resident.Resident, name string, povertyName func(resident.Poverty) string) HouseholdGroup {
	g := HouseholdGroup{ResourceType: "Group", ID: householdID(h.ID), Type: "person", Actual: true, Active: boolp(true), Name: name,
		Identifier:     []Identifier{{Use: "official", System: SystemHouseholdNumber, Value: h.Number}},
		ManagingEntity: orgRef(h.VillageID), Quantity: len(members)}
	updated := h.CreatedAt
	for i := range members {
		r := &members[i]
		gm := GroupMember{Entity: patientRef(r.ID)}
		if !r.CreatedAt.IsZero() {
			gm.Period = &Period{Start: care.DateOf(r.CreatedAt.In(care.Shanghai)).String()}
		}
		if r.Status != resident.StatusActive {
			gm.Inactive = boolp(true)
		}
		if r.ID == h.HeadID {
			gm.Extension = []Extension{{URL: ExtHouseholdHead, ValueBoolean: boolp(true)}}
			if r.Poverty != resident.PovertyNone {
				g.Extension = []Extension{povertyExtension(r.Poverty, povertyName)}
			}
		}
		if r.UpdatedAt.After(updated) {
			updated = r.UpdatedAt
		}
		g.Member = append(g.Member, gm)
	}
	g.Meta = &Meta{LastUpdated: instant(updated)}
	return g
}

// RelatedPersonOf maps a member's relation to the head: the RelatedPerson
// is the head (head: nil when the reader does not see the head), its
// patient the member. Its id is the member's, one per member. The
// relationship carries the register's code (SystemHouseholdRelation: the
// patient's relation to the head, 与户主关系) and the HL7 v3 role of the
// head to the patient where one fits.
func RelatedPersonOf(member, head *resident.Resident, relName func(resident.Relation) string) RelatedPerson {
	rp := RelatedPerson{ResourceType: "RelatedPerson", ID: strconv.FormatInt(member.ID, 10), Patient: patientRef(member.ID),
		Meta: &Meta{LastUpdated: instant(member.UpdatedAt)}, Active: boolp(member.Status == resident.StatusActive)}
	rel := member.Relation
	if rel == "" {
		rel = resident.RelOther
	}
	cc := CodeableConcept{Coding: []Coding{{System: SystemHouseholdRelation, Code: string(rel), Display: relName(rel)}}}
	if v3, ok := headRole[rel]; ok {
		cc.Coding = append(cc.Coding, Coding{System: systemV3RoleCode, Code: v3})
	}
	rp.Relationship = []CodeableConcept{cc}
	if head != nil {
		if head.Name != "" {
			rp.Name = []HumanName{{Use: "official", Text: head.Name}}
		}
		rp.Gender = PatientOf(head, nil).Gender
		if !head.BirthDate.IsZero() {
			rp.BirthDate = head.BirthDate.String()
		}
		if head.UpdatedAt.After(member.UpdatedAt) {
			rp.Meta.LastUpdated = instant(head.UpdatedAt)
		}
	}
	return rp
}

// povertyExtension is the poverty category extension (Patient, Group).
func povertyExtension(p resident.Poverty, povertyName func(resident.Poverty) string) Extension {
	c := Coding{System: SystemPoverty, Code: string(p)}
	if povertyName != nil {
		c.Display = povertyName(p)
	}
	return Extension{URL: ExtPoverty, ValueCodeableConcept: &CodeableConcept{Coding: []Coding{c}}}
}

// householdRoutes registers Group (households; and, for system clients,
// the bulk-export Groups of bulk.go) and RelatedPerson.
func (s *Server) householdRoutes(m *web.Mount) {
	readers := access.PatientReaders
	groupReaders := slices.Clone(readers)
	if s.Systems != nil && s.Exports != nil {
		groupReaders = append(groupReaders, smart.RoleSystem)
	}
	m.Handle("GET /fhir/Group/{id}", access.Allow(groupReaders...), 0, s.groupReadAny(m))
	m.Handle("GET /fhir/Group", access.Allow(groupReaders...), 0, s.groupSearchAny(m))
	m.Handle("GET /fhir/RelatedPerson/{id}", access.Allow(readers...), 0, s.relatedPersonRead(m))
	m.Handle("GET /fhir/RelatedPerson", access.Allow(readers...), 0, s.relatedPersonSearch(m))
}

// household reads a household for a user (resident.Service.Household:
// the members in the reader's scope, audited) and maps its Group and
// members' RelatedPersons.
func (s *Server) household(r *http.Request, m *web.Mount, rq web.Request, h *resident.Household, members []resident.Resident) (HouseholdGroup, []RelatedPerson) {
	g := HouseholdGroupOf(h, members, m.T(rq.Lang, "fhir.group_household", h.Number), s.povertyName(m, rq.Lang))
	var head *resident.Resident
	for i := range members {
		if members[i].ID == h.HeadID {
			head = &members[i]
		}
	}
	rel := func(x resident.Relation) string { return m.T(rq.Lang, "relation."+string(x)) }
	rps := make([]RelatedPerson, len(members))
	for i := range members {
		rps[i] = RelatedPersonOf(&members[i], head, rel)
	}
	return g, rps
}

// groupReadAny: GET /fhir/Group/{id} — a household ("household-<id>") for
// a user; a system client's read is the bulk-export Group's (groupRead).
func (s *Server) groupReadAny(m *web.Mount) web.FaceHandler {
	return func(w http.ResponseWriter, r *http.Request, rq web.Request) error {
		if rq.Actor.Role == smart.RoleSystem {
			return s.groupRead(w, r, rq)
		}
		id, err := strconv.ParseInt(strings.TrimPrefix(r.PathValue("id"), householdPrefix), 10, 64)
		if err != nil || id <= 0 || !strings.HasPrefix(r.PathValue("id"), householdPrefix) {
			return care.Errorf(care.ENOTFOUND, "error.not_found")
		}
		h, members, err := s.Residents.Household(r.Context(), rq.Actor, id)
		if err != nil {
			return err
		}
		g, _ := s.household(r, m, rq, h, members)
		writeJSON(w, http.StatusOK, g)
		return nil
	}
}

// groupSearchAny: GET /fhir/Group — for a user, households by
//
//	identifier   [system|]household number (system SystemHouseholdNumber)
//	member       Patient/id: the household of that resident
//	_id          household-<id>
//	_include     Group:member — the members as Patients (each read as
//	             Patient's, resident.read)
//
// one of identifier, member and _id required; a system client's search is
// the bulk-export Groups' (groupSearch).
func (s *Server) groupSearchAny(m *web.Mount) web.FaceHandler {
	return func(w http.ResponseWriter, r *http.Request, rq web.Request) error {
		if rq.Actor.Role == smart.RoleSystem {
			return s.groupSearch(w, r, rq)
		}
		q := r.URL.Query()
		fs := s.unsupported(r, q, "identifier", "member", "_id", "_include", "_count")
		used := url.Values{}
		var by string
		for _, p := range []string{"identifier", "member", "_id"} {
			switch vs := q[p]; {
			case len(vs) == 0:
			case len(vs) > 1 || by != "":
				fs = append(fs, care.FieldError{Field: p, Key: "fhir.group_one"})
			default:
				by = p
				used.Set(p, vs[0])
			}
		}
		if by == "" && len(fs) == 0 {
			fs = append(fs, care.FieldError{Field: "identifier", Key: "fhir.group_one"})
		}
		include := false
		for _, v := range q["_include"] {
			if v != "Group:member" {
				fs = append(fs, care.FieldError{Field: "_include", Key: "fhir.include", Args: []any{"Group:member"}})
				continue
			}
			include = true
			used.Add("_include", v)
		}
		var h *resident.Household
		var members []resident.Resident
		var err error
		switch v := used.Get(by); by {
		case "identifier":
			sys, num, has := strings.Cut(v, "|")
			if !has {
				sys, num = SystemHouseholdNumber, sys
			}
			if sys != SystemHouseholdNumber || num == "" {
				fs = append(fs, care.FieldError{Field: "identifier", Key: "fhir.household_identifier", Args: []any{SystemHouseholdNumber}})
			} else if len(fs) == 0 {
				h, members, err = s.Residents.HouseholdByNumber(r.Context(), rq.Actor, num)
			}
		case "member":
			rid, ok := patientParam(v)
			if !ok {
				fs = append(fs, care.FieldError{Field: "member", Key: "fhir.reference"})
			} else if len(fs) == 0 {
				var res *resident.Resident
				if res, err = s.Residents.Get(r.Context(), rq.Actor, rid); err == nil {
					if res.HouseholdID == 0 {
						err = care.Errorf(care.ENOTFOUND, "household.not_found")
					} else {
						h, members, err = s.Residents.Household(r.Context(), rq.Actor, res.HouseholdID)
					}
				}
			}
		case "_id":
			id, perr := strconv.ParseInt(strings.TrimPrefix(v, householdPrefix), 10, 64)
			if perr != nil || id <= 0 || !strings.HasPrefix(v, householdPrefix) {
				err = care.Errorf(care.ENOTFOUND, "household.not_found") // matches nothing
			} else if len(fs) == 0 {
				h, members, err = s.Residents.Household(r.Context(), rq.Actor, id)
			}
		}
		if e := care.Invalid(fs); e != nil {
			return e
		}
		if err != nil && !care.IsCode(err, care.ENOTFOUND) {
			return err
		}
		base := s.base(r)
		b := Bundle{ResourceType: "Bundle", Type: "searchset", Meta: &Meta{LastUpdated: instant(s.Now())}, Total: intp(0),
			Link: []BundleLink{{Relation: "self", URL: base + "/Group?" + used.Encode()}}}
		if h != nil {
			g, _ := s.household(r, m, rq, h, members)
			b.Total = intp(1)
			b.Entry = append(b.Entry, BundleEntry{FullURL: base + "/Group/" + g.ID, Resource: g, Search: &EntrySearch{Mode: "match"}})
			for i := 0; include && i < len(members); i++ {
				pt, err := s.subject(r, m, rq, members[i].ID)
				if err != nil {
					return err
				}
				b.Entry = append(b.Entry, BundleEntry{FullURL: base + "/Patient/" + pt.ID, Resource: *pt, Search: &EntrySearch{Mode: "include"}})
			}
		}
		writeJSON(w, http.StatusOK, b)
		return nil
	}
}

// memberRelation reads resident id (scope and audit as Patient's read)
// and the household it belongs to (household.read), and maps the
// member's RelatedPerson; ENOTFOUND for a resident without a household.
func (s *Server) memberRelation(r *http.Request, m *web.Mount, rq web.Request, id int64) (*resident.Resident, *RelatedPerson, error) {
	res, err := s.Residents.Get(r.Context(), rq.Actor, id)
	if err != nil {
		return nil, nil, err
	}
	if res.HouseholdID == 0 {
		return res, nil, care.Errorf(care.ENOTFOUND, "household.not_found")
	}
	h, members, err := s.Residents.Household(r.Context(), rq.Actor, res.HouseholdID)
	if err != nil {
		return res, nil, err
	}
	_, rps := s.household(r, m, rq, h, members)
	for i := range rps {
		if rps[i].ID == strconv.FormatInt(id, 10) {
			return res, &rps[i], nil
		}
	}
	return res, nil, care.Errorf(care.ENOTFOUND, "error.not_found")
}

// relatedPersonRead: GET /fhir/RelatedPerson/{id} — the id is the member's
// (their relation to the household head).
func (s *Server) relatedPersonRead(m *web.Mount) web.FaceHandler {
	return func(w http.ResponseWriter, r *http.Request, rq web.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		_, rp, err := s.memberRelation(r, m, rq, id)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, rp)
		return nil
	}
}

// relatedPersonSearch: GET /fhir/RelatedPerson?patient=Patient/id (or
// _id), with _include=RelatedPerson:patient.
func (s *Server) relatedPersonSearch(m *web.Mount) web.FaceHandler {
	return func(w http.ResponseWriter, r *http.Request, rq web.Request) error {
		q := r.URL.Query()
		p := parsePatientSearch(q, searchOpts{def: 20, byID: true, includes: []string{"RelatedPerson:patient"}})
		p.fs = append(p.fs, s.unsupported(r, q, "patient", "_id", "_count", "_summary", "_include")...)
		rid := p.resident
		if v := q.Get("_id"); v != "" {
			if len(q["_id"]) != 1 {
				p.fs = append(p.fs, care.FieldError{Field: "_id", Key: "fhir.one_value"})
			}
			p.used.Set("_id", v)
			if n := numericID(v); p.resident != 0 && n != p.resident {
				rid = 0 // patient and _id name different members: no match
			} else {
				rid = n
			}
		}
		if err := care.Invalid(p.fs); err != nil {
			return err
		}
		var ids []string
		var out []any
		var subject *Patient
		if rid != 0 {
			res, rp, err := s.memberRelation(r, m, rq, rid)
			switch {
			case err == nil:
				ids, out = []string{rp.ID}, []any{*rp}
				if p.include {
					subject = s.patientOf(r.Context(), m, rq, res)
				}
			case !care.IsCode(err, care.ENOTFOUND):
				return err
			}
		}
		writeJSON(w, http.StatusOK, s.searchset(r, &p, "RelatedPerson", ids, nil, out, subject))
		return nil
	}
}

// householdMatches are the household Group and the RelatedPerson of a
// resident (read under scope) for $everything and Patient?_revinclude:
// none when the resident has no household or the reader may not read
// records.
func (s *Server) householdMatches(r *http.Request, m *web.Mount, rq web.Request, res *resident.Resident) (groups, related []match, err error) {
	if res.HouseholdID == 0 || !slices.Contains(access.PatientReaders, rq.Actor.Role) {
		return nil, nil, nil
	}
	h, members, err := s.Residents.Household(r.Context(), rq.Actor, res.HouseholdID)
	if care.IsCode(err, care.ENOTFOUND) {
		return nil, nil, nil
	} else if err != nil {
		return nil, nil, err
	}
	g, rps := s.household(r, m, rq, h, members)
	groups = []match{{id: g.ID, key: key(h.CreatedAt, h.ID), res: g}}
	for i := range rps {
		if rps[i].ID == strconv.FormatInt(res.ID, 10) {
			related = []match{{id: rps[i].ID, key: key(res.UpdatedAt, res.ID), res: rps[i]}}
		}
	}
	return groups, related, nil
}
