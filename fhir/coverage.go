package fhir

import (
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"countycare/care"
	"countycare/org"
	"countycare/settle"
	"countycare/web"
)

// coverageOf is a resident's basic medical insurance (基本医疗保险) of one
// year: public healthcare (v3-ActCode PUBLICPOL), the insurance office as
// payor, the calendar year as period, the county's plan of the year as
// class plan, and each payer layer that paid for the resident that year
// (SystemPayerLayer, settle.LayerOrder) as a class subplan.
func coverageOf(id string, residentID int64, county string, year int, payor Reference, layers []string, t func(string, ...any) string) Coverage {
	cov := Coverage{ResourceType: "Coverage", ID: id, Status: "active", Beneficiary: patientRef(residentID), Payor: []Reference{payor},
		Type: &CodeableConcept{Coding: []Coding{{System: systemV3ActCode, Code: "PUBLICPOL", Display: "public healthcare"}}, Text: t("settle.layer.basic")}}
	if year == 0 {
		return cov
	}
	y := strconv.Itoa(year)
	cov.Period = &Period{Start: y + "-01-01", End: y + "-12-31"}
	cov.Class = []CoverageClass{{Type: CodeableConcept{Coding: []Coding{{System: systemCoverageClass, Code: "plan"}}}, Value: county + "-" + y}}
	for _, l := range layers {
		cov.Class = append(cov.Class, CoverageClass{Type: CodeableConcept{Coding: []Coding{{System: systemCoverageClass, Code: "subplan"}},
			Text: t("settle.layer." + l)}, Value: l, Name: t("settle.layer." + l)})
	}
	return cov
}

// coverageMatches maps a resident's settlements to one Coverage per year
// settled (CoveragesOf), keyed by the year's first day.
func (s *Server) coverageMatches(r *http.Request, m *web.Mount, rq web.Request, sts []settle.Settlement) ([]match, error) {
	tree, err := s.Orgs.Tree(r.Context())
	if err != nil {
		return nil, err
	}
	t := func(k string, a ...any) string { return m.T(rq.Lang, k, a...) }
	covs := CoveragesOf(sts, tree, t)
	out := make([]match, 0, len(covs))
	for _, cov := range covs {
		yr, _ := strconv.Atoi(cov.Period.Start[:4])
		first := care.Date{Year: yr, Month: time.January, Day: 1}
		out = append(out, match{id: cov.ID, key: key(first.Time(), int64(yr)), day: first, status: cov.Status, res: cov})
	}
	return out, nil
}

// CoveragesOf maps one resident's settlements to one Coverage per year
// settled, id "<resident>-<year>", oldest year first, last updated by the
// year's latest settlement or reversal, with the layers that paid that
// year (a reversed settlement's do not count).
func CoveragesOf(sts []settle.Settlement, tree *org.Tree, t func(string, ...any) string) []Coverage {
	type year struct {
		county  string
		updated time.Time
		paid    map[string]bool
	}
	years := map[int]*year{}
	resident := int64(0)
	for i := range sts {
		st := &sts[i]
		if st.Year == 0 {
			continue
		}
		resident = st.ResidentID
		y := years[st.Year]
		if y == nil {
			y = &year{county: st.County, paid: map[string]bool{}}
			years[st.Year] = y
		}
		y.updated = lastOf(y.updated, lastOf(st.CreatedAt, st.ReversedAt))
		if st.Status == settle.StatusReversed {
			continue
		}
		for _, l := range st.Result.Layers {
			if l.Paid > 0 {
				y.paid[l.Layer] = true
			}
		}
	}
	out := make([]Coverage, 0, len(years))
	for _, yr := range slices.Sorted(maps.Keys(years)) {
		y := years[yr]
		payor := Reference{Display: t("fhir.insurer")}
		if ins := insurerOf(tree, y.county); ins != 0 {
			payor.Reference = "Organization/" + strconv.FormatInt(ins, 10)
		}
		layers := slices.DeleteFunc(slices.Clone(settle.LayerOrder), func(l string) bool { return !y.paid[l] })
		cov := coverageOf(strconv.FormatInt(resident, 10)+"-"+strconv.Itoa(yr), resident, y.county, yr, payor, layers, t)
		cov.Meta = &Meta{LastUpdated: instant(y.updated)}
		out = append(out, cov)
	}
	return out
}

// coverageResident reads the resident of a Coverage id "<resident>-<year>"
// (0: not such an id).
func coverageResident(id string) int64 {
	rid, y, ok := strings.Cut(id, "-")
	n, err := strconv.ParseInt(rid, 10, 64)
	if _, yerr := strconv.Atoi(y); !ok || err != nil || yerr != nil || n <= 0 {
		return 0
	}
	return n
}

// coverageRead: GET /fhir/Coverage/{resident}-{year}, through
// settle.Service.ForResident (the resident in scope, audited), as the
// settlement page's readers.
func (s *Server) coverageRead(m *web.Mount) web.FaceHandler {
	return func(w http.ResponseWriter, r *http.Request, rq web.Request) error {
		id := r.PathValue("id")
		rid := coverageResident(id)
		if rid == 0 {
			return care.Errorf(care.ENOTFOUND, "error.not_found")
		}
		sts, err := s.Settle.ForResident(r.Context(), rq.Actor, rid)
		if err != nil {
			return err
		}
		ms, err := s.coverageMatches(r, m, rq, sts)
		if err != nil {
			return err
		}
		return writeMatch(w, ms, id)
	}
}

// coverageSearch: GET /fhir/Coverage?patient=… (or _id) with
// _lastUpdated, _count with next links, _summary=count and
// _include=Coverage:patient|beneficiary: the years the patient's
// settlements were made in, newest first.
func (s *Server) coverageSearch(m *web.Mount) web.FaceHandler {
	return func(w http.ResponseWriter, r *http.Request, rq web.Request) error {
		p, byID, statuses, err := s.pagedSearch(r, "Coverage", []string{"active"}, "Coverage:patient", "Coverage:beneficiary")
		if err != nil {
			return err
		}
		if p.resident == 0 {
			p.resident = coverageResident(byID)
		}
		var sts []settle.Settlement
		if p.resident != 0 {
			sts, err = s.Settle.ForResident(r.Context(), rq.Actor, p.resident)
			if care.IsCode(err, care.ENOTFOUND) && byID != "" && r.URL.Query().Get("patient") == "" {
				err = nil // _id alone: an unknown one matches nothing
			}
			if err != nil {
				return err
			}
		}
		found, err := s.coverageMatches(r, m, rq, sts)
		if err != nil {
			return err
		}
		subject, err := s.includedSubject(r, m, rq, &p, len(found) > 0)
		if err != nil {
			return err
		}
		ids, keys, out := p.page(found, statuses, byID)
		writeJSON(w, http.StatusOK, s.searchset(r, &p, "Coverage", ids, keys, out, subject))
		return nil
	}
}
