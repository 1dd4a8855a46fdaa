package web

import (
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"countycare/care"
	"countycare/kpi"
	"countycare/rx"
)

// GET /dashboard/units/{id}/records?indicator=&period=&missing=1&page=:
// the records behind a figure of a village clinic's board (issue 14 §1,
// drill-down): the patients counted in the denominator, whether each
// counts in the numerator and why not. An audited read of patient data;
// a unit outside the viewer's scope is 404 and audited. docs/dashboard.md.

// recordsView is the records page's data.
type recordsView struct {
	P     *kpi.RecordPage
	Rows  []recordRow
	Value kpi.Value // the figure the records are behind
	// Consult: the records are consultations (consult_sla), not patients.
	Consult bool
	// Rx: the records are prescriptions (the prescribing group).
	Rx bool
	// TAT: the records are reports behind a turnaround, slowest first.
	TAT bool
	// OnlyKey is the message key of the link to the flagged records only:
	// those not counted, or, where lower is better, those counted.
	OnlyKey string
	Counts  string       // the denominator and numerator in words
	Prev    template.URL // query of the previous page ("" on the first)
	Next    template.URL
	All     template.URL // query of the whole list
	Only    template.URL // query of the records not counted
}

// recordRow is one record with its reason in the reader's language (a
// prescription: its review status and its monitoring classes).
type recordRow struct {
	kpi.Record
	Why     string
	Status  string
	Classes string
}

func (s *Server) dashboardRecords(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	unit, err := pathID(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	pd := pageData{Title: s.msgs.T(rc.Lang, "kpi.records.title"), Form: q}
	today := care.Today(s.Now())
	p, err := kpi.YearOf(today), error(nil)
	if v := q.Get("period"); v != "" {
		p, err = kpi.ParsePeriod(v, today)
	}
	page := 1
	if v := q.Get("page"); v != "" && err == nil {
		if page, err = strconv.Atoi(v); err != nil || page < 1 {
			err = care.Invalid([]care.FieldError{{Field: "page", Key: "kpi.records.page"}})
		}
	}
	if err == nil && q.Get("indicator") == "points" {
		return s.dashboardPointsRecords(w, r, rc, unit, p, page)
	}
	missing := q.Get("missing") == "1"
	var rp *kpi.RecordPage
	if err == nil {
		rp, err = s.Dashboard.Records(r.Context(), rc.Actor, unit, q.Get("indicator"), p, missing, page)
	}
	if err != nil {
		pd.Data = &recordsView{}
		return s.formError(w, r, rc, "dashboard_records", pd, err)
	}
	v := &recordsView{P: rp, Value: kpi.Of(rp.Indicator, kpi.Rate{Num: rp.Counted, Den: rp.Total}), Consult: rp.Indicator.ID == "consult_sla",
		Rx: rp.Indicator.Group == "rx", TAT: rp.Figure != nil, OnlyKey: "kpi.records.show_missing"}
	if rp.Figure != nil {
		v.Value = *rp.Figure
	}
	if !rp.Indicator.HigherIsBetter && !v.TAT {
		v.OnlyKey = "kpi.records.show_counted"
	}
	switch {
	case v.Consult:
		v.Counts = s.msgs.T(rc.Lang, "kpi.records.counts_consult", rp.Total, rp.Counted)
	case v.Rx:
		v.Counts = s.msgs.T(rc.Lang, "kpi.records.counts_rx", rp.Total, rp.Counted)
	case v.TAT:
		v.Counts, v.OnlyKey = s.msgs.T(rc.Lang, "kpi.records.counts_tat", rp.Total, rp.Counted), "kpi.records.show_over"
	default:
		v.Counts = s.msgs.T(rc.Lang, "kpi.records.counts", rp.Total, rp.Counted)
	}
	for _, rec := range rp.Records {
		row := recordRow{Record: rec}
		if rec.Why != "" {
			row.Why = s.msgs.T(rc.Lang, rec.Why, rec.WhyArgs...)
		}
		if v.Rx {
			row.Status = s.msgs.T(rc.Lang, "rx.status."+string(rec.RxStatus))
			var cls []string
			if rec.RxClasses&rx.WithAntimicrobial != 0 {
				cls = append(cls, s.msgs.T(rc.Lang, "kpi.records.rx_antimicrobial"))
			}
			if rec.RxClasses&rx.WithInjection != 0 {
				cls = append(cls, s.msgs.T(rc.Lang, "kpi.records.rx_injection"))
			}
			row.Classes = strings.Join(cls, s.msgs.T(rc.Lang, "list.sep"))
		}
		v.Rows = append(v.Rows, row)
	}
	link := func(missing bool, page int) template.URL {
		m := ""
		if missing {
			m = "1"
		}
		pg := ""
		if page > 1 {
			pg = strconv.Itoa(page)
		}
		return queryOf("indicator", rp.Indicator.ID, "period", rp.Period.String(), "missing", m, "page", pg)
	}
	if rp.Page > 1 {
		v.Prev = link(missing, rp.Page-1)
	}
	if rp.Page < rp.Pages {
		v.Next = link(missing, rp.Page+1)
	}
	v.All, v.Only = link(false, 1), link(true, 1)
	pd.Title = rp.Unit.Name + " · " + s.msgs.T(rc.Lang, rp.Indicator.NameKey())
	pd.Data = v
	s.render(w, r, rc, http.StatusOK, "dashboard_records", pd)
	return nil
}
