package fhir

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"countycare/care"
	"countycare/resident"
	"countycare/web"
)

// patientSearchParams are the parameters the searches of a patient's
// records share: patient (required unless _id is given), date ranges,
// _count, _cursor, _summary=count and _include of the subject.
type patientSearchParams struct {
	resident int64
	from, to care.Date // inclusive, zero: open
	limit    int
	cursor   string // the page after this key (keyset paging), "": the first page
	count    bool   // _summary=count: the total only
	include  bool   // _include=<Type>:subject or :patient
	// updFrom, updTo: the _lastUpdated range [updFrom, updTo), zero: open;
	// updated says whether _lastUpdated was given.
	updFrom, updTo time.Time
	updated        bool
	revs           []string // _revinclude values (revIncludable)
	used           url.Values
	fs             []care.FieldError
}

// searchOpts says what a patient search takes.
type searchOpts struct {
	def      int      // the page size without _count
	byID     bool     // _id may stand instead of patient
	paged    bool     // _cursor and next links (keyset paging)
	includes []string // the _include values, e.g. "DiagnosticReport:subject"
	updated  bool     // _lastUpdated: the type's resources carry meta.lastUpdated
}

// lastUpdatedTypes are the paged searches' types whose resources carry
// meta.lastUpdated (all of them, or, for ServiceRequest and Encounter,
// the referrals'): they take _lastUpdated; the others ignore it (or
// refuse it under strict handling), as any unsupported parameter.
var lastUpdatedTypes = []string{"DiagnosticReport", "ServiceRequest", "Encounter", "CarePlan", "Coverage", "Claim", "ExplanationOfBenefit"}

// params lists the parameters a search with these options reads, for
// Server.unsupported, with the search's own (extra).
func (o searchOpts) params(extra ...string) []string {
	ps := append([]string{"patient", "date", "_count", "_summary", "_include"}, extra...)
	if o.updated {
		ps = append(ps, "_lastUpdated")
	}
	if o.byID {
		ps = append(ps, "_id")
	}
	if o.paged {
		ps = append(ps, "_cursor")
	}
	return ps
}

// parsePatientSearch reads patient, date, _count (1–MaxCount, default
// o.def), _cursor (when paged), _summary and _include from q; faults go
// to p.fs.
func parsePatientSearch(q url.Values, o searchOpts) patientSearchParams {
	p := patientSearchParams{limit: o.def, used: url.Values{}}
	if v := q.Get("patient"); v != "" || !o.byID || q.Get("_id") == "" {
		if rid, ok := patientParam(v); ok {
			p.resident = rid
			p.used.Set("patient", "Patient/"+strconv.FormatInt(rid, 10))
		} else {
			p.fs = append(p.fs, care.FieldError{Field: "patient", Key: "fhir.patient_required"})
		}
	}
	for _, v := range q["date"] {
		var d rangeDates
		if err := d.apply(v); err != nil {
			p.fs = append(p.fs, care.FieldError{Field: "date", Key: "fhir.date", Args: []any{v}})
			continue
		}
		if !d.from.IsZero() {
			p.from = d.from
		}
		if !d.to.IsZero() {
			p.to = d.to
		}
		p.used.Add("date", v)
	}
	for _, v := range q["_lastUpdated"] {
		if !o.updated {
			break
		}
		from, to, err := instantRange(v)
		if err != nil {
			p.fs = append(p.fs, care.FieldError{Field: "_lastUpdated", Key: "fhir.date", Args: []any{v}})
			continue
		}
		if !from.IsZero() && from.After(p.updFrom) {
			p.updFrom = from
		}
		if !to.IsZero() && (p.updTo.IsZero() || to.Before(p.updTo)) {
			p.updTo = to
		}
		p.updated = true
		p.used.Add("_lastUpdated", v)
	}
	if v := q.Get("_count"); v != "" {
		if n, fe := pageSize(v); fe != nil {
			p.fs = append(p.fs, *fe)
		} else {
			p.limit = n
			p.used.Set("_count", v)
		}
	}
	if v := q.Get("_cursor"); v != "" && o.paged {
		if !cursorRE.MatchString(v) {
			p.fs = append(p.fs, care.FieldError{Field: "_cursor", Key: "fhir.cursor"})
		} else {
			p.cursor = v
		}
	}
	switch v := q.Get("_summary"); v {
	case "":
	case "count":
		p.count = true
		p.used.Set("_summary", v)
	default:
		p.fs = append(p.fs, care.FieldError{Field: "_summary", Key: "fhir.summary"})
	}
	for _, v := range q["_include"] {
		if !slices.Contains(o.includes, v) {
			p.fs = append(p.fs, care.FieldError{Field: "_include", Key: "fhir.include", Args: []any{strings.Join(o.includes, ", ")}})
			continue
		}
		p.include = true
		p.used.Add("_include", v)
	}
	return p
}

// instantRange reads one _lastUpdated value: a prefix (eq, the default,
// ge, gt, le, lt) and a day (YYYY-MM-DD, China time) or an instant (RFC
// 3339 with its zone, to the second); it returns the instants [from, to)
// it matches, zero for an open end.
func instantRange(v string) (from, to time.Time, err error) {
	prefix := "eq"
	if len(v) > 2 && v[0] >= 'a' && v[0] <= 'z' {
		prefix, v = v[:2], v[2:]
	}
	var lo, hi time.Time // the instants the value itself spans
	if day, derr := care.ParseDate(v); derr == nil {
		lo = time.Date(day.Year, day.Month, day.Day, 0, 0, 0, 0, care.Shanghai)
		hi = lo.AddDate(0, 0, 1)
	} else if t, terr := time.Parse(time.RFC3339, v); terr == nil {
		lo = t.Truncate(time.Second)
		hi = lo.Add(time.Second)
	} else {
		return from, to, fmt.Errorf("fhir: _lastUpdated %q: %w", v, terr)
	}
	switch prefix {
	case "eq":
		return lo, hi, nil
	case "ge":
		return lo, to, nil
	case "gt":
		return hi, to, nil
	case "le":
		return from, hi, nil
	case "lt":
		return from, lo, nil
	}
	return from, to, fmt.Errorf("fhir: _lastUpdated prefix %q", prefix)
}

// updatedIn reports whether a resource's meta.lastUpdated is within the
// _lastUpdated range; a resource without one matches no range.
func (p *patientSearchParams) updatedIn(res any) bool {
	if !p.updated {
		return true
	}
	v := reflect.ValueOf(res)
	if v.Kind() != reflect.Struct {
		return false
	}
	f := v.FieldByName("Meta")
	if !f.IsValid() || f.Kind() != reflect.Pointer || f.IsNil() {
		return false
	}
	t, err := time.Parse(time.RFC3339, f.Interface().(*Meta).LastUpdated)
	return err == nil && (p.updFrom.IsZero() || !t.Before(p.updFrom)) && (p.updTo.IsZero() || t.Before(p.updTo))
}

// in reports whether day is within the date range.
func (p *patientSearchParams) in(day care.Date) bool {
	return (p.from.IsZero() || !day.Before(p.from)) && (p.to.IsZero() || !p.to.Before(day))
}

// cursorRE is what a keyset cursor (a key) looks like.
var cursorRE = regexp.MustCompile(`^[0-9]{16}-[0-9]{19}$`)

// key is the keyset key of a match: its time (UTC microseconds) and id,
// fixed width, so that keys sort as newest first when compared in
// descending order.
func key(t time.Time, id int64) string {
	return fmt.Sprintf("%016d-%019d", max(t.UnixMicro(), 0), id)
}

// searchset builds the searchset Bundle of a patient search: matches
// (already filtered, with their ids) in descending key order, cut to the
// page after p.cursor, a next link when more remain (keys: the matches'
// keyset keys, see key; nil for a search without paging, which returns
// its first page), the total when the first page holds every match, or
// under _summary=count the total alone; the subject as an include when
// asked for.
func (s *Server) searchset(r *http.Request, p *patientSearchParams, typ string, ids []string, keys []string, resources []any, subject *Patient) Bundle {
	base := s.base(r)
	b := Bundle{ResourceType: "Bundle", Type: "searchset", Meta: &Meta{LastUpdated: instant(s.Now())},
		Link: []BundleLink{{Relation: "self", URL: base + "/" + typ + "?" + p.used.Encode()}}}
	start := 0
	if p.cursor != "" && keys != nil {
		for start < len(keys) && keys[start] >= p.cursor {
			start++
		}
	}
	if p.count {
		n := len(ids)
		b.Total = &n
		return b
	}
	end := min(start+p.limit, len(ids))
	if start == 0 && end == len(ids) {
		n := len(ids)
		b.Total = &n
	}
	if end < len(ids) && keys != nil {
		next := url.Values{}
		for k, v := range p.used {
			next[k] = v
		}
		next.Set("_cursor", keys[end-1])
		b.Link = append(b.Link, BundleLink{Relation: "next", URL: base + "/" + typ + "?" + next.Encode()})
	}
	for i := start; i < end; i++ {
		b.Entry = append(b.Entry, BundleEntry{FullURL: base + "/" + typ + "/" + ids[i], Resource: resources[i], Search: &EntrySearch{Mode: "match"}})
	}
	if p.include && subject != nil && end > start {
		b.Entry = append(b.Entry, BundleEntry{FullURL: base + "/Patient/" + subject.ID, Resource: *subject, Search: &EntrySearch{Mode: "include"}})
	}
	return b
}

// includedSubject reads the patient for _include when asked for and
// there are matches (found), else nil.
func (s *Server) includedSubject(r *http.Request, m *web.Mount, rq web.Request, p *patientSearchParams, found bool) (*Patient, error) {
	if !p.include || p.resident == 0 || !found {
		return nil, nil
	}
	return s.subject(r, m, rq, p.resident)
}

// statuses reads the status parameter: comma-separated values among
// allowed; a fault goes to p.fs.
func (p *patientSearchParams) statuses(q url.Values, allowed []string) []string {
	v := q.Get("status")
	if v == "" {
		return nil
	}
	p.used.Set("status", v)
	var out []string
	for _, x := range strings.Split(v, ",") {
		if !slices.Contains(allowed, x) {
			p.fs = append(p.fs, care.FieldError{Field: "status", Key: "fhir.status", Args: []any{strings.Join(allowed, ", ")}})
			return nil
		}
		out = append(out, x)
	}
	return out
}

// patientOf maps a resident read in this request for an include.
func (s *Server) patientOf(ctx context.Context, m *web.Mount, rq web.Request, res *resident.Resident) *Patient {
	if err := s.Residents.ForeignIDs(ctx, []*resident.Resident{res}); err != nil {
		res.ForeignIDs = nil // the identifiers of other systems only; the record is whole
	}
	pt := PatientOf(res, s.povertyName(m, rq.Lang))
	return &pt
}

// subject reads a patient for an _include (resident.Service.Get: scope,
// audited as resident.read).
func (s *Server) subject(r *http.Request, m *web.Mount, rq web.Request, residentID int64) (*Patient, error) {
	res, err := s.Residents.Get(r.Context(), rq.Actor, residentID)
	if err != nil {
		return nil, err
	}
	return s.patientOf(r.Context(), m, rq, res), nil
}

// match is one mapped resource of a patient search, with its id, keyset
// key (see key; observations: their effective time), day (China time) and
// status for the filters.
type match struct {
	id, key string
	day     care.Date
	status  string
	res     any
}

// page filters matches by the date range, statuses (none: any) and id
// ("" any), sorted newest (highest key) first, and splits them for searchset.
func (p *patientSearchParams) page(ms []match, statuses []string, id string) (ids, keys []string, out []any) {
	slices.SortStableFunc(ms, func(a, b match) int { return strings.Compare(b.key, a.key) })
	for _, x := range ms {
		if !p.in(x.day) || !p.updatedIn(x.res) || len(statuses) > 0 && !slices.Contains(statuses, x.status) || id != "" && x.id != id {
			continue
		}
		ids, keys, out = append(ids, x.id), append(keys, x.key), append(out, x.res)
	}
	return ids, keys, out
}

// pagedSearch reads the request of a paged patient search of typ
// (DiagnosticReport, ServiceRequest, Encounter, MedicationRequest,
// MedicationDispense, ExplanationOfBenefit): the shared parameters
// (parsePatientSearch; _include of typ's subject or patient unless
// includes names others), _id (one value, as given) and status among
// allowed (and, for DiagnosticReport, code is known: it reads it).
// Faults are one EINVALID naming each parameter.
func (s *Server) pagedSearch(r *http.Request, typ string, allowed []string, includes ...string) (p patientSearchParams, byID string, statuses []string, err error) {
	p, byID, statuses = s.pagedParams(r, typ, allowed, includes...)
	return p, byID, statuses, care.Invalid(p.fs)
}

// pagedParams is pagedSearch with the faults left in p.fs, for a search
// with parameters of its own (DiagnosticReport's code).
func (s *Server) pagedParams(r *http.Request, typ string, allowed []string, includes ...string) (p patientSearchParams, byID string, statuses []string) {
	q := r.URL.Query()
	if len(includes) == 0 {
		includes = []string{typ + ":subject", typ + ":patient"}
	}
	opts := searchOpts{def: 20, byID: true, paged: true, includes: includes, updated: slices.Contains(lastUpdatedTypes, typ)}
	p = parsePatientSearch(q, opts)
	if byID = q.Get("_id"); byID != "" {
		if len(q["_id"]) != 1 {
			p.fs = append(p.fs, care.FieldError{Field: "_id", Key: "fhir.one_value"})
		}
		p.used.Set("_id", byID)
	}
	statuses = p.statuses(q, allowed)
	extra := []string{"status"}
	if revs := revIncludes(typ); len(revs) > 0 {
		extra = append(extra, "_revinclude")
		for _, v := range q["_revinclude"] {
			if !slices.Contains(revs, v) {
				p.fs = append(p.fs, care.FieldError{Field: "_revinclude", Key: "fhir.include", Args: []any{strings.Join(revs, ", ")}})
				continue
			}
			p.revs = append(p.revs, v)
			p.used.Add("_revinclude", v)
		}
	}
	switch typ {
	case "DiagnosticReport":
		extra = append(extra, "code")
	case "Provenance":
		extra = append(extra, "target")
	}
	p.fs = append(p.fs, s.unsupported(r, q, opts.params(extra...)...)...)
	return p, byID, statuses
}

// numericID is a search's _id as a number (0: none, or not a number,
// which matches nothing).
func numericID(v string) int64 {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return 0
	}
	return n
}

// codes reads a code parameter: comma-separated [system|]code tokens, a
// token without a system in systems[0], each system one of systems (else
// a fault naming code). It returns the tokens as Codings.
func (p *patientSearchParams) codes(q url.Values, systems ...string) []Coding {
	v := q.Get("code")
	if v == "" {
		return nil
	}
	p.used.Set("code", v)
	var out []Coding
	for _, c := range strings.Split(v, ",") {
		sys, code, has := strings.Cut(c, "|")
		if !has {
			sys, code = systems[0], sys
		}
		if !slices.Contains(systems, sys) || code == "" {
			p.fs = append(p.fs, care.FieldError{Field: "code", Key: "fhir.code_system", Args: []any{sys}})
			continue
		}
		out = append(out, Coding{System: sys, Code: code})
	}
	return out
}

// coded reports whether a concept carries one of the tokens (any when none).
func coded(c CodeableConcept, tokens []Coding) bool {
	if len(tokens) == 0 {
		return true
	}
	return slices.ContainsFunc(c.Coding, func(x Coding) bool {
		return slices.ContainsFunc(tokens, func(t Coding) bool { return t.System == x.System && t.Code == x.Code })
	})
}

// writeMatch answers a read with the match of id among ms (ENOTFOUND if
// none: a record of another kind, or not mapped to this type).
func writeMatch(w http.ResponseWriter, ms []match, id string) error {
	for _, x := range ms {
		if x.id == id {
			writeJSON(w, http.StatusOK, x.res)
			return nil
		}
	}
	return care.Errorf(care.ENOTFOUND, "error.not_found")
}

// patientOrID runs the two ways of a patient search: with patient, the
// patient read under scope (audited) and list's matches of them; with _id
// alone, one's match (nothing for ENOTFOUND). The patient is returned for
// _include only (read for it, audited, in the _id way).
func (s *Server) patientOrID(r *http.Request, m *web.Mount, rq web.Request, p *patientSearchParams, byID string,
	list func(*resident.Resident) ([]match, error), one func(string) (match, int64, error)) ([]match, *Patient, error) {
	if p.resident == 0 {
		x, rid, err := one(byID)
		return s.byIDSearch(r, m, rq, p, x, rid, err)
	}
	res, err := s.Residents.Get(r.Context(), rq.Actor, p.resident)
	if err != nil {
		return nil, nil, err
	}
	found, err := list(res)
	if err != nil || !p.include {
		return found, nil, err
	}
	return found, s.patientOf(r.Context(), m, rq, res), nil
}

// byIDSearch is the _id way of a patient search: the one match read
// (x of resident rid, or nothing when err is ENOTFOUND) and, for
// _include, its patient (read under scope, audited).
func (s *Server) byIDSearch(r *http.Request, m *web.Mount, rq web.Request, p *patientSearchParams, x match, rid int64, err error) ([]match, *Patient, error) {
	switch {
	case care.IsCode(err, care.ENOTFOUND):
		return nil, nil, nil
	case err != nil:
		return nil, nil, err
	case !p.include:
		return []match{x}, nil, nil
	}
	sub, err := s.subject(r, m, rq, rid)
	return []match{x}, sub, err
}

// revIncludable are the _revinclude values of the paged searches, by the
// type searched: each names the element of the included type that
// references a match.
var revIncludable = map[string]map[string]string{
	"MedicationRequest": {"MedicationDispense:prescription": "authorizingPrescription"},
	"ServiceRequest":    {"Encounter:based-on": "basedOn"},
	"Encounter":         {"Observation:encounter": "encounter"},
}

// revIncludes lists the _revinclude values of a paged search of typ, sorted.
func revIncludes(typ string) []string {
	var out []string
	for v := range revIncludable[typ] {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

// revincludedPage adds to a paged search's page the resources p.revs asks
// for: of each match's patient (read under scope, audited), the records
// of the included type read as its own search reads them (recordsOf:
// scope, rules, audit), those whose element references a match, as
// entries of search mode include.
func (s *Server) revincludedPage(r *http.Request, m *web.Mount, rq web.Request, p *patientSearchParams, typ string, b *Bundle) error {
	if len(p.revs) == 0 {
		return nil
	}
	targets := map[string]bool{}
	var residents []int64
	for _, en := range b.Entry {
		if en.Search == nil || en.Search.Mode != "match" {
			continue
		}
		targets[typ+"/"+en.FullURL[strings.LastIndexByte(en.FullURL, '/')+1:]] = true
		for _, ref := range refsOf(en.Resource, "subject", "patient") {
			if rid, ok := patientParam(ref); ok && strings.HasPrefix(ref, "Patient/") && !slices.Contains(residents, rid) {
				residents = append(residents, rid)
			}
		}
	}
	want := map[string]bool{}
	for _, v := range p.revs {
		inc, _, _ := strings.Cut(v, ":")
		want[inc] = true
	}
	base := s.base(r)
	seen := map[string]bool{}
	for _, rid := range residents {
		res, err := s.Residents.Get(r.Context(), rq.Actor, rid)
		if err != nil {
			return err
		}
		typed, err := s.recordsOf(r, m, rq, res, want)
		if err != nil {
			return err
		}
		for _, v := range p.revs {
			inc, _, _ := strings.Cut(v, ":")
			ids, _, out := (&patientSearchParams{}).page(typed[inc], nil, "")
			for i := range ids {
				if seen[inc+"/"+ids[i]] || !slices.ContainsFunc(refsOf(out[i], revIncludable[typ][v]), func(ref string) bool { return targets[ref] }) {
					continue
				}
				seen[inc+"/"+ids[i]] = true
				b.Entry = append(b.Entry, BundleEntry{FullURL: base + "/" + inc + "/" + ids[i], Resource: out[i], Search: &EntrySearch{Mode: "include"}})
			}
		}
	}
	return nil
}

// refsOf reads the references a resource's elements hold (a Reference or
// a list of them), through its JSON form.
func refsOf(res any, elements ...string) []string {
	b, err := json.Marshal(res)
	if err != nil {
		return nil
	}
	var obj map[string]json.RawMessage
	json.Unmarshal(b, &obj)
	var out []string
	for _, el := range elements {
		var one Reference
		var many []Reference
		if json.Unmarshal(obj[el], &one) == nil && one.Reference != "" {
			out = append(out, one.Reference)
		} else if json.Unmarshal(obj[el], &many) == nil {
			for _, x := range many {
				out = append(out, x.Reference)
			}
		}
	}
	return out
}
