package kpi

// The records lists' service: the records behind a figure read from the
// store (RecordSource) and judged by the rules of records.go and
// records_groups.go. Tested through web on both databases
// (TestDashboardRecords…); left out of `make mutate` (MUTATE_EXCLUDE_kpi,
// docs/mutation.md), as are records_page.go and records_turnaround.go.

import (
	"context"
	"fmt"
	"sort"

	"countycare/audit"
	"countycare/care"
	"countycare/chronic"
	"countycare/consult"
	"countycare/referral"
)

// id is the record's own id, whatever it is a record of.
func (r *Record) id() int64 {
	return r.RegistrationID + r.ConsultationID + r.PrescriptionID + r.BillID + r.AlertID + r.ReferralID + r.ContractID
}

// Records lists the records behind indicator id at unit for period p,
// those not counted in the numerator first (or only them, when missing),
// one page (from 1; past the last: the last). Within the viewer's scope
// only: a unit outside it is ENOTFOUND and audited, as for Board. Errors:
// EINVALID (an unknown indicator, one without records at the unit:
// HasRecords), EFORBIDDEN (a role without a dashboard), ENOTFOUND.
// Reading the list is an audited read of patient data.
func (s *Service) Records(ctx context.Context, a care.Actor, unitID int64, id string, p Period, missing bool, page int) (*RecordPage, error) {
	return s.RecordsWhere(ctx, a, unitID, id, p, RecordFilter{Missing: missing}, page)
}

// RecordsWhere is Records narrowed by f (RecordFilter): a direction or the
// poor only, for the referral figures (EINVALID for another indicator).
func (s *Service) RecordsWhere(ctx context.Context, a care.Actor, unitID int64, id string, p Period, f RecordFilter, page int) (*RecordPage, error) {
	return s.records(ctx, a, unitID, id, p, f, &listing{page: page})
}

// ActRecordsExport is the audit action of an export of the records behind
// a figure (RecordsExport): a read of patient data, with the row count.
const ActRecordsExport = "kpi.records_export"

// exportBatch is how many records RecordsExport names and passes on at a
// time: the memory an export holds, whatever the list's length.
const exportBatch = 500

// listing is what a list of records is read for: one page of it (page,
// each nil), or the whole of it, passed to each a batch at a time, named
// and masked (the export; rows counts what was passed).
type listing struct {
	page int
	each func(rp *RecordPage, recs []Record) error
	rows int
}

// RecordsExport passes each the whole list behind indicator id at unit
// for period p narrowed by f — every record a viewer may see for that
// figure, in the page's order, not only a page — exportBatch records at a
// time, named, identity numbers masked as on the page; rp carries the
// counts and the unit (its Records are the batch; an empty list: each is
// called once with no records). The bills are streamed
// from the store; the other lists are the unit's rows, as for a page.
// Scope, errors and roles as RecordsWhere; one audit row
// (ActRecordsExport) with the rows passed. It returns that count.
func (s *Service) RecordsExport(ctx context.Context, a care.Actor, unitID int64, id string, p Period, f RecordFilter, each func(rp *RecordPage, recs []Record) error) (int, error) {
	l := &listing{each: each}
	rp, err := s.records(ctx, a, unitID, id, p, f, l)
	if err == nil && l.rows == 0 {
		rp.Records = nil
		err = each(rp, nil) // an empty list: each still learns what it is of
	}
	if rp != nil {
		ev := audit.New(ctx, a, ActRecordsExport, 0)
		ev.Detail = fmt.Sprintf("records export %s unit %d period %s rows %d", rp.Indicator.ID, rp.Unit.ID, rp.Period, l.rows)
		if f.Missing || f.Direction != "" || f.Poor {
			ev.Detail += fmt.Sprintf(" missing %t direction %q poor %t", f.Missing, f.Direction, f.Poor)
		}
		if err != nil {
			ev.Outcome = audit.OutcomeFailed
		}
		s.Audit.Record(ctx, ev)
	}
	return l.rows, err
}

// records reads the list behind indicator id at a unit for l (RecordsWhere,
// RecordsExport); rp is nil until the unit is known to be in scope.
func (s *Service) records(ctx context.Context, a care.Actor, unitID int64, id string, p Period, f RecordFilter, l *listing) (*RecordPage, error) {
	missing := f.Missing
	if f.Direction != "" && (id != "referral_completion" || f.Direction != referral.Up && f.Direction != referral.Down) {
		return nil, care.Invalid([]care.FieldError{{Field: "direction", Key: "kpi.records.direction"}})
	}
	if f.Poor && !referralIndicator(id) {
		return nil, care.Invalid([]care.FieldError{{Field: "poor", Key: "kpi.records.poor_only"}})
	}
	in, err := lookupField(id)
	if err != nil {
		return nil, err
	}
	t, r, u, err := s.scope(ctx, a, unitID)
	if err != nil {
		return nil, err
	}
	if !HasRecords(id, u.Kind) {
		return nil, care.Invalid([]care.FieldError{{Field: "indicator", Key: "kpi.records.none"}})
	}
	if s.RecordStore == nil {
		return nil, care.Errorf(care.EINTERNAL, "kpi: no store for records")
	}
	if in.InMinutes() {
		return s.turnaroundRecords(ctx, a, t, r, u, in, p, missing, l)
	}
	today := care.Today(s.Now())
	from, to := p.From(), p.To(today)
	if from.After(today) {
		return nil, care.Invalid([]care.FieldError{{Field: "period", Key: "kpi.period.future"}})
	}
	rp := &RecordPage{Unit: u, Indicator: in, Period: p, From: from, To: to, Missing: missing, Filter: f}
	rp.Path = path(t, r, u)
	if settleIndicator(id) {
		return rp, s.billPage(ctx, a, rp, t.Subtree(u.ID), l)
	}
	var all []Record
	weighed := id == "family_fulfilment" // counts of services due
	keep := func(rec Record) {
		switch {
		case weighed:
			rp.Total += int(rec.Whole)
			rp.Counted += int(rec.Part)
		case rec.Counted:
			rp.Total++
			rp.Counted++
		default:
			rp.Total++
		}
		rec.Flagged = rec.Counted != in.HigherIsBetter
		if rec.Flagged || !missing {
			all = append(all, rec)
		}
	}
	switch {
	case id == "consult_sla":
		err = s.consultRecords(ctx, a, t.Subtree(u.ID), from, to, keep)
	case rxIndicator(id):
		err = s.rxRecords(ctx, a, id, t.Subtree(u.ID), from, to, keep)
	case id == "critical_ack_in_time":
		err = s.alertRecords(ctx, a, t.Subtree(u.ID), from, to, keep)
	case referralIndicator(id):
		err = s.referralRecords(ctx, a, t, u, id, f, from, to, keep)
	case familyIndicator(id):
		var den int
		den, err = s.familyRecords(ctx, a, u.ID, id, to, keep)
		if id != "family_fulfilment" {
			rp.Total = den // the residents, contracted or not; the contracted are listed
		}
	default:
		err = s.chronicRecords(ctx, a, u.ID, id, from, to, keep)
	}
	if err != nil {
		return nil, err
	}
	sort.SliceStable(all, func(i, j int) bool {
		x, y := &all[i], &all[j]
		if x.Flagged != y.Flagged {
			return x.Flagged
		}
		return x.id() < y.id()
	})
	who := s.RecordStore.Registrants
	if byResident(id) {
		who = s.RecordStore.ResidentsByID
	}
	return rp, s.listPage(ctx, a, rp, all, l, who, byResident(id))
}

// chronicRecords passes keep each patient under management at the village
// clinic in [from, to] with the disease of indicator id, judged.
func (s *Service) chronicRecords(ctx context.Context, a care.Actor, clinic int64, id string, from, to care.Date, keep func(Record)) error {
	d, _ := chronicIndicator(id)
	rules := s.ChronicRules
	if rules.BPTargetSBP == 0 {
		rules = chronic.DefaultConfig()
	}
	return s.RecordStore.ChronicPeriod(ctx, a.CountyCode, []int64{clinic}, from, to, func(pp *chronic.PatientPeriod) error {
		if pp.Disease == d {
			keep(JudgePatient(id, pp, from, to, rules))
		}
		return nil
	})
}

// consultRecords passes keep each consultation the institutions sent in
// the days [from, to] that the 10-minute promise judges.
func (s *Service) consultRecords(ctx context.Context, a care.Actor, institutions []int64, from, to care.Date, keep func(Record)) error {
	rules := s.ConsultRules
	if rules.ResponseMinutes == nil {
		rules = consult.DefaultConfig()
	}
	start, end := dayBounds(from, to)
	cs, err := s.RecordStore.ConsultationsFrom(ctx, a.CountyCode, institutions, start, end)
	if err != nil {
		return err
	}
	now := s.Now()
	for i := range cs {
		if rec, judged := JudgeConsultation(&cs[i], rules, now); judged {
			keep(rec)
		}
	}
	return nil
}

// rxRecords passes keep each prescription the institutions signed in the
// days [from, to] that indicator id judges (JudgePrescription).
func (s *Service) rxRecords(ctx context.Context, a care.Actor, id string, institutions []int64, from, to care.Date, keep func(Record)) error {
	start, end := dayBounds(from, to)
	rows, err := s.RecordStore.PrescriptionsFrom(ctx, a.CountyCode, institutions, start, end)
	if err != nil {
		return err
	}
	for _, r := range rows {
		if rec, judged := JudgePrescription(id, r); judged {
			keep(rec)
		}
	}
	return nil
}
