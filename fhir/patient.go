package fhir

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"countycare/care"
	"countycare/idcard"
	"countycare/resident"
	"countycare/web"
)

// Naming systems of the identifiers and codes the platform issues. They are
// this platform's URIs until a province registers its own (then they are
// configuration); docs/fhir.md lists them.
const (
	// SystemIDNumber: the resident identity card number, GB 11643-1999.
	SystemIDNumber = "http://countycare.cn/fhir/sid/gb11643"
	// SystemRecordNumber: the 17-digit resident health record number
	// (county 6 + township 3 + village 3 + personal 5).
	SystemRecordNumber = "http://countycare.cn/fhir/sid/health-record"
	// SystemOrgCode: an institution's code (unified social credit code).
	SystemOrgCode = "http://countycare.cn/fhir/sid/org-code"
	// SystemPoverty: the poverty categories of resident.Poverty.
	SystemPoverty = "http://countycare.cn/fhir/CodeSystem/poverty-category"
	// ExtPoverty: the Patient extension carrying the poverty category.
	ExtPoverty = "http://countycare.cn/fhir/StructureDefinition/poverty-category"
	// SystemOrgKind: the institution kinds of org.Kind.
	SystemOrgKind = "http://countycare.cn/fhir/CodeSystem/organization-kind"
	// v2-0203 identifier types.
	systemV2IdentifierType = "http://terminology.hl7.org/CodeSystem/v2-0203"
)

// PatientOf maps a resident record to a Patient. The identity card number
// is given in full: it is what other systems match patients by, and the
// read that returns it is audited (the pages mask it on screen instead).
func PatientOf(r *resident.Resident, povertyName func(resident.Poverty) string) Patient {
	p := Patient{ResourceType: "Patient", ID: strconv.FormatInt(r.ID, 10),
		Meta: &Meta{VersionID: strconv.Itoa(r.Version), LastUpdated: instant(r.UpdatedAt)}}
	if r.IDNumber != "" {
		p.Identifier = append(p.Identifier, Identifier{Use: "official", System: SystemIDNumber, Value: string(r.IDNumber),
			Type: &CodeableConcept{Coding: []Coding{{System: systemV2IdentifierType, Code: "NI", Display: "National unique individual identifier"}}, Text: "居民身份证号码"}})
	}
	if r.RecordNumber != "" {
		p.Identifier = append(p.Identifier, Identifier{Use: "usual", System: SystemRecordNumber, Value: r.RecordNumber,
			Type: &CodeableConcept{Coding: []Coding{{System: systemV2IdentifierType, Code: "MR", Display: "Medical record number"}}, Text: "居民健康档案编号"}})
	}
	for _, id := range r.ForeignIDs {
		p.Identifier = append(p.Identifier, Identifier{Use: "secondary", System: id.System, Value: id.Value})
	}
	p.Active = boolp(r.Status == resident.StatusActive)
	if r.Name != "" {
		p.Name = []HumanName{{Use: "official", Text: r.Name}}
	}
	if r.Phone != "" {
		p.Telecom = []ContactPoint{{System: "phone", Value: r.Phone, Use: "mobile"}}
	}
	switch r.Sex {
	case idcard.Male:
		p.Gender = "male"
	case idcard.Female:
		p.Gender = "female"
	}
	if !r.BirthDate.IsZero() {
		p.BirthDate = r.BirthDate.String()
	}
	if r.Status == resident.StatusDied {
		p.DeceasedBoolean = boolp(true)
	}
	if r.Address != "" {
		p.Address = []Address{{Text: r.Address}}
		if len(r.ForeignIDs) == 0 {
			p.Address[0].Country = "CN" // a foreign patient's address is as their system gave it
		}
	}
	if r.VillageID != 0 {
		p.ManagingOrganization = &Reference{Reference: "Organization/" + strconv.FormatInt(r.VillageID, 10)}
	}
	if r.Status == resident.StatusMerged && r.MergedInto != 0 {
		p.Link = []PatientLink{{Other: Reference{Reference: "Patient/" + strconv.FormatInt(r.MergedInto, 10)}, Type: "replaced-by"}}
	}
	if r.Poverty != resident.PovertyNone {
		p.Extension = append(p.Extension, povertyExtension(r.Poverty, povertyName))
	}
	return p
}

// patientRead: GET /fhir/Patient/{id}, through resident.Service.Get (scope
// and audit as the record page). A resident outside the reader's scope is
// "not found", as on the pages.
func (s *Server) patientRead(m *web.Mount) web.FaceHandler {
	return func(w http.ResponseWriter, r *http.Request, rq web.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		res, err := s.Residents.Get(r.Context(), rq.Actor, id)
		if err != nil {
			return err
		}
		p := s.patientOf(r.Context(), m, rq, res)
		w.Header().Set("ETag", `W/"`+p.Meta.VersionID+`"`)
		w.Header().Set("Last-Modified", res.UpdatedAt.UTC().Format(http.TimeFormat))
		writeJSON(w, http.StatusOK, p)
		return nil
	}
}

func (s *Server) povertyName(m *web.Mount, lang string) func(resident.Poverty) string {
	return func(p resident.Poverty) string { return m.T(lang, "poverty."+string(p)) }
}

// patientSearch: GET /fhir/Patient?… — the parameters below, through
// resident.Service.Search (scope and audit as the search page):
//
//	_id          one resident (a read)
//	identifier   [system|]value: an ID number (system SystemIDNumber) or a
//	             health record number (SystemRecordNumber); without a
//	             system, either
//	name         a name, its pinyin or pinyin initials (prefix)
//	birthdate    YYYY-MM-DD with the prefixes eq (default), ge, le, gt, lt; repeatable
//	_count       page size, 1–MaxCount (default 20)
//	_cursor      the page after this health record number (from a next link)
//
// A search without _id, identifier or name lists the scope in record-number
// order, a page at a time, with a next link while more remain; a name
// search returns its first page only.
//
// Unsupported parameters are ignored and left out of the self link (the
// FHIR default, "lenient"), or refused with Prefer: handling=strict.
func (s *Server) patientSearch(m *web.Mount) web.FaceHandler {
	return func(w http.ResponseWriter, r *http.Request, rq web.Request) error {
		q := r.URL.Query()
		strict := strings.Contains(r.Header.Get("Prefer"), "handling=strict")
		used := url.Values{}
		var fs []care.FieldError
		bad := func(param, key string, args ...any) {
			fs = append(fs, care.FieldError{Field: param, Key: key, Args: args})
		}
		f := resident.Filter{Limit: 20}
		text := ""
		revs := map[string]bool{}
		summary := false
		for name, vals := range q {
			switch name {
			case "_count":
				n, fe := pageSize(vals[0])
				if fe != nil {
					fs = append(fs, *fe)
					continue
				}
				f.Limit = n
			case "_id":
				if len(vals) != 1 {
					bad("_id", "fhir.one_value")
					continue
				}
				text = "_id:" + vals[0]
			case "identifier", "name":
				if len(vals) != 1 || text != "" {
					bad(name, "fhir.one_query")
					continue
				}
				v := strings.TrimSpace(vals[0])
				if name == "identifier" {
					sys, val, hasSys := strings.Cut(v, "|")
					if !hasSys {
						val, sys = sys, ""
					}
					kind := resident.ParseQuery(val).Kind
					if u, err := url.Parse(sys); err == nil && u.IsAbs() && sys != SystemIDNumber && sys != SystemRecordNumber && val != "" {
						// Another system's identifier of an imported patient.
						text = "_foreign:" + sys + "|" + val
						used[name] = vals
						continue
					}
					switch {
					case val == "":
						bad(name, "fhir.identifier")
					case sys == SystemIDNumber && kind != resident.QueryIDNumber,
						sys == SystemRecordNumber && kind != resident.QueryRecord,
						sys == "" && kind != resident.QueryIDNumber && kind != resident.QueryRecord,
						sys != "" && sys != SystemIDNumber && sys != SystemRecordNumber:
						bad(name, "fhir.identifier")
					}
					v = val
				} else if kind := resident.ParseQuery(v).Kind; kind != resident.QueryName || v == "" {
					bad(name, "fhir.name")
				}
				text = v
			case "birthdate":
				for _, v := range vals {
					if err := birthdate(v, &f); err != nil {
						bad("birthdate", "fhir.date", v)
					}
				}
			case "_summary":
				if vals[0] != "count" {
					bad(name, "fhir.summary")
					continue
				}
				summary = true
			case "_revinclude":
				ok := true
				for _, v := range vals {
					if !slices.Contains(revincludes(), v) {
						bad(name, "fhir.include", strings.Join(revincludes(), ", "))
						ok = false
						continue
					}
					typ, _, _ := strings.Cut(v, ":")
					revs[typ] = true
				}
				if !ok {
					continue
				}
			case "_cursor":
				// The next page of a search without _id, identifier or name
				// (the next link carries it): after this health record number.
				if len(vals) != 1 || resident.ParseQuery(vals[0]).Kind != resident.QueryRecord {
					bad("_cursor", "fhir.cursor")
					continue
				}
				f.AfterRecord = vals[0]
			default:
				if strict {
					bad(name, "fhir.unsupported_param", name)
				}
				continue
			}
			used[name] = vals
		}
		if summary && (text == "" || !strings.HasPrefix(text, "_") && resident.ParseQuery(text).Kind == resident.QueryName) {
			// A count of a browse or a name search would need a count the
			// resident index does not keep: identifier or _id only.
			bad("_summary", "fhir.summary_patient")
		}
		if err := care.Invalid(fs); err != nil {
			return err
		}
		var found []resident.Resident
		more := false
		if id, ok := strings.CutPrefix(text, "_id:"); ok {
			n, err := strconv.ParseInt(id, 10, 64)
			if err == nil && n > 0 {
				res, err := s.Residents.Get(r.Context(), rq.Actor, n)
				switch {
				case err == nil:
					found = []resident.Resident{*res}
				case !care.IsCode(err, care.ENOTFOUND):
					return err
				}
			}
		} else if fid, ok := strings.CutPrefix(text, "_foreign:"); ok {
			sys, val, _ := strings.Cut(fid, "|")
			res, err := s.Residents.ByForeignID(r.Context(), rq.Actor, resident.ForeignID{System: sys, Value: val})
			switch {
			case err == nil:
				found = []resident.Resident{*res}
			case !care.IsCode(err, care.ENOTFOUND):
				return err
			}
		} else {
			var err error
			if found, more, err = s.Residents.Search(r.Context(), rq.Actor, text, f); err != nil {
				return err
			}
		}
		base := s.base(r)
		b := Bundle{ResourceType: "Bundle", Type: "searchset", Meta: &Meta{LastUpdated: instant(s.Now())}}
		b.Link = []BundleLink{{Relation: "self", URL: base + "/Patient?" + used.Encode()}}
		switch {
		case !more && f.AfterRecord == "":
			n := len(found)
			b.Total = &n
		case more && text == "" && len(found) > 0:
			// A browse continues after the last record number of this page
			// (keyset paging: stable while records are added).
			next := url.Values{}
			for k, v := range used {
				next[k] = v
			}
			next.Set("_cursor", found[len(found)-1].RecordNumber)
			b.Link = append(b.Link, BundleLink{Relation: "next", URL: base + "/Patient?" + next.Encode()})
		}
		ptrs := make([]*resident.Resident, len(found))
		for i := range found {
			ptrs[i] = &found[i]
		}
		if err := s.Residents.ForeignIDs(r.Context(), ptrs); err != nil {
			return err
		}
		pn := s.povertyName(m, rq.Lang)
		for i := range found {
			p := PatientOf(&found[i], pn)
			b.Entry = append(b.Entry, BundleEntry{FullURL: base + "/Patient/" + p.ID, Resource: p, Search: &EntrySearch{Mode: "match"}})
		}
		if summary {
			b.Entry = nil
		} else if len(revs) > 0 {
			if err := s.revincluded(r, m, rq, &b, found, revs); err != nil {
				return err
			}
		}
		writeJSON(w, http.StatusOK, b)
		return nil
	}
}

// birthdate applies one birthdate parameter (a day with a FHIR prefix) to f.
func birthdate(v string, f *resident.Filter) error {
	var d rangeDates
	if err := d.apply(v); err != nil {
		return err
	}
	if !d.from.IsZero() {
		f.BornOnOrAfter = d.from
	}
	if !d.to.IsZero() {
		f.BornOnOrBefore = d.to
	}
	return nil
}
