package web

import (
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"countycare/care"
	"countycare/kpi"
	"countycare/referral"
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
	// Bills, Alerts, Referrals: settled bills (the settlement group),
	// critical values, referrals.
	Bills, Alerts, Referrals bool
	// Contracts: family doctor contracts (coverage) or their service
	// lines (Services: fulfilment).
	Contracts, Services bool
	// OnlyKey is the message key of the link to the flagged records only:
	// those not counted, or, where lower is better, those counted.
	OnlyKey string
	Counts  string       // the denominator and numerator in words
	Prev    template.URL // query of the previous page ("" on the first)
	Next    template.URL
	All     template.URL // query of the whole list
	Export  template.URL // query of the list's export (the filter, no page; format added)
	Only    template.URL // query of the records not counted
	// Parts are the referral lists' links to a part of the figure (a
	// direction, the poor), Part the one shown ("" the whole).
	Parts []recordPart
}

// recordPart is a link to a part of a referral figure's records.
type recordPart struct {
	Key   string // message key of its name
	Query template.URL
	On    bool
}

// recordRow is one record with its reason in the reader's language (a
// prescription: its review status and its monitoring classes).
type recordRow struct {
	kpi.Record
	Why     string
	Status  string
	Classes string
	ShareBP int // a bill: the indicator's part of it, basis points
	// BillYuan and PartYuan are a bill and the indicator's part of it in yuan.
	BillYuan, PartYuan string
	Where              string // a bill: level and visit type; a referral: its direction (Status: its status)
}

// recordsQuery reads a records page's (or export's) unit, period, page
// and filter from the request; EINVALID for a malformed period or page.
func (s *Server) recordsQuery(r *http.Request) (unit int64, p kpi.Period, page int, f kpi.RecordFilter, err error) {
	if unit, err = pathID(r); err != nil {
		return
	}
	q := r.URL.Query()
	today := care.Today(s.Now())
	p, page = kpi.YearOf(today), 1
	if v := q.Get("period"); v != "" {
		p, err = kpi.ParsePeriod(v, today)
	}
	if v := q.Get("page"); v != "" && err == nil {
		if page, err = strconv.Atoi(v); err != nil || page < 1 {
			err = care.Invalid([]care.FieldError{{Field: "page", Key: "kpi.records.page"}})
		}
	}
	f = kpi.RecordFilter{Missing: q.Get("missing") == "1", Direction: referral.Direction(q.Get("direction")), Poor: q.Get("poor") == "1"}
	return
}

// recordsViewOf is the kind of list rp is (recordsView's flags).
func recordsViewOf(rp *kpi.RecordPage) *recordsView {
	id := rp.Indicator.ID
	return &recordsView{P: rp, Value: kpi.Of(rp.Indicator, kpi.Rate{Num: rp.Counted, Den: rp.Total}), Consult: id == "consult_sla",
		Rx: rp.Indicator.Group == "rx", Bills: rp.Indicator.Group == "settle", Alerts: id == "critical_ack_in_time",
		Referrals: rp.Indicator.Group == "referral", Contracts: rp.Indicator.Group == "family" && id != "family_fulfilment",
		Services: id == "family_fulfilment", TAT: rp.Figure != nil, OnlyKey: "kpi.records.show_missing"}
}

// recordRowOf is a record with its words in the reader's language.
func (s *Server) recordRowOf(lang string, v *recordsView, rec kpi.Record) recordRow {
	row := recordRow{Record: rec}
	if rec.Why != "" {
		row.Why = s.msgs.T(lang, rec.Why, rec.WhyArgs...)
	}
	sep := s.msgs.T(lang, "list.sep")
	switch {
	case v.Rx:
		row.Status = s.msgs.T(lang, "rx.status."+string(rec.RxStatus))
		var cls []string
		if rec.RxClasses&rx.WithAntimicrobial != 0 {
			cls = append(cls, s.msgs.T(lang, "kpi.records.rx_antimicrobial"))
		}
		if rec.RxClasses&rx.WithInjection != 0 {
			cls = append(cls, s.msgs.T(lang, "kpi.records.rx_injection"))
		}
		row.Classes = strings.Join(cls, sep)
	case v.Bills:
		if rec.Whole > 0 {
			row.ShareBP = int((rec.Part*10000 + rec.Whole/2) / rec.Whole)
		}
		row.BillYuan, row.PartYuan = yuan(rec.Whole), yuan(rec.Part)
		row.Where = s.msgs.T(lang, "settle.code.level."+rec.Level) + sep + s.msgs.T(lang, "settle.code.visit."+rec.VisitType)
	case v.Services:
		row.Where = s.msgs.T(lang, "family.kind."+string(rec.Service))
	case v.Referrals:
		// the receiver's name is data, shown as written (translate="no")
		row.Where, row.Status = s.msgs.T(lang, "referral.direction."+string(rec.Direction)), s.msgs.T(lang, "referral.status."+string(rec.RefStatus))
	}
	return row
}

func (s *Server) dashboardRecords(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	q := r.URL.Query()
	pd := pageData{Title: s.msgs.T(rc.Lang, "kpi.records.title"), Form: q}
	unit, p, page, f, err := s.recordsQuery(r)
	if err == nil && q.Get("indicator") == "points" {
		return s.dashboardPointsRecords(w, r, rc, unit, p, page)
	}
	var rp *kpi.RecordPage
	if err == nil {
		rp, err = s.Dashboard.RecordsWhere(r.Context(), rc.Actor, unit, q.Get("indicator"), p, f, page)
	}
	if err != nil {
		pd.Data = &recordsView{}
		return s.formError(w, r, rc, "dashboard_records", pd, err)
	}
	id := rp.Indicator.ID
	v := recordsViewOf(rp)
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
	case v.Bills:
		v.Counts = s.msgs.T(rc.Lang, "kpi.records.counts_bills", rp.Listed, yuan(int64(rp.Total)), s.msgs.T(rc.Lang, rp.Indicator.Numerator), yuan(int64(rp.Counted)))
	case v.Alerts:
		v.Counts = s.msgs.T(rc.Lang, "kpi.records.counts_alerts", rp.Total, rp.Counted)
	case v.Referrals:
		v.Counts = s.msgs.T(rc.Lang, "kpi.records.counts_referrals", rp.Total, rp.Counted)
	case v.Contracts && id == "family_key_coverage":
		v.Counts = s.msgs.T(rc.Lang, "kpi.records.counts_family_key_coverage", rp.Total, rp.Counted)
	case v.Contracts:
		v.Counts = s.msgs.T(rc.Lang, "kpi.records.counts_family_coverage", rp.Total, rp.Counted)
	case v.Services:
		v.Counts = s.msgs.T(rc.Lang, "kpi.records.counts_services", rp.Total, rp.Counted)
	default:
		v.Counts = s.msgs.T(rc.Lang, "kpi.records.counts", rp.Total, rp.Counted)
	}
	for _, rec := range rp.Records {
		v.Rows = append(v.Rows, s.recordRowOf(rc.Lang, v, rec))
	}
	link := func(f kpi.RecordFilter, page int) template.URL {
		flag := func(b bool) string {
			if b {
				return "1"
			}
			return ""
		}
		pg := ""
		if page > 1 {
			pg = strconv.Itoa(page)
		}
		return queryOf("indicator", id, "period", rp.Period.String(), "direction", string(f.Direction), "poor", flag(f.Poor), "missing", flag(f.Missing), "page", pg)
	}
	v.Export = link(f, 1)
	if rp.Page > 1 {
		v.Prev = link(f, rp.Page-1)
	}
	if rp.Page < rp.Pages {
		v.Next = link(f, rp.Page+1)
	}
	whole, only := f, f
	whole.Missing, only.Missing = false, true
	v.All, v.Only = link(whole, 1), link(only, 1)
	if v.Referrals {
		type part struct {
			key string
			f   kpi.RecordFilter
		}
		parts := []part{{"kpi.records.part_all", kpi.RecordFilter{}}}
		if id == "referral_completion" {
			parts = append(parts, part{"kpi.records.part_up", kpi.RecordFilter{Direction: referral.Up}}, part{"kpi.records.part_down", kpi.RecordFilter{Direction: referral.Down}})
		}
		parts = append(parts, part{"kpi.records.part_poor", kpi.RecordFilter{Poor: true}})
		for _, pt := range parts {
			v.Parts = append(v.Parts, recordPart{Key: pt.key, Query: link(pt.f, 1), On: pt.f.Direction == f.Direction && pt.f.Poor == f.Poor})
		}
	}
	pd.Title = rp.Unit.Name + " · " + s.msgs.T(rc.Lang, rp.Indicator.NameKey())
	pd.Data = v
	s.render(w, r, rc, http.StatusOK, "dashboard_records", pd)
	return nil
}
