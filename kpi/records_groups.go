package kpi

import (
	"context"
	"time"

	"countycare/care"
	"countycare/critical"
	"countycare/family"
	"countycare/org"
	"countycare/referral"
)

// The records behind the referral, critical-value and settlement figures
// (issue 14 §1, drill-down): each list is read by the rows and rules its
// figure is counted with, so that its count is the board's number.

// Bill is what the settlement group's records need of a settled visit
// (store.SettledBills): its fees in fen.
type Bill struct {
	ID, ResidentID, Institution int64
	VisitDate                   care.Date
	Level, VisitType            string // settle.Village … settle.OutOfCounty; outpatient or inpatient
	Fees                        Fees
}

// RecordFilter narrows the records of a figure: Missing lists the flagged
// ones only (Record.Flagged); Direction (referral_completion: up or down)
// and Poor (the referrals of residents in a poverty category) list a part
// of the figure, and the counts are that part's — the referral page's
// 上转/下转 completion and 贫困人口县外转诊率 (referral.Indicators).
type RecordFilter struct {
	Missing   bool
	Direction referral.Direction
	Poor      bool
}

// settleIndicator reports whether id is of the settlement group with
// records (the fund use is the community's, against its budget: no list).
func settleIndicator(id string) bool {
	return id == "settle_oop_share" || id == "settle_drug_share" || id == "settle_material_share"
}

// referralIndicator reports whether id is a referral figure with records.
func referralIndicator(id string) bool { return id == "referral_completion" || id == "out_of_county" }

// byResident reports whether indicator id's records are listed by their
// resident (all but the chronic-care ones, listed by registration).
func byResident(id string) bool {
	_, chronic := chronicIndicator(id)
	return !chronic
}

// BillQuery selects the bills behind a settlement figure: those the
// institutions settled for the visits of the days [From, To] (as
// SettlementSums counts them), the part the figure weighs ("patient",
// "drugs" or "materials"), WithPart only those with that part, and a page
// of them (Offset, Limit; Limit 0: all).
type BillQuery struct {
	County        string
	Institutions  []int64
	From, To      care.Date
	Part          string
	WithPart      bool
	Offset, Limit int
}

// BillTotals are the bills of a BillQuery counted and summed: the bills,
// those with a part, and the sums of the bills and of their parts (fen).
type BillTotals struct {
	Bills, WithPart int
	Total, Part     int64
}

// billParts is the part of a bill each settlement indicator weighs
// (JudgeBill).
var billParts = map[string]string{"settle_oop_share": "patient", "settle_drug_share": "drugs", "settle_material_share": "materials"}

// billQuery is the query of the bills behind rp's figure at the
// institutions, flagged ones only when rp.Missing.
func billQuery(a care.Actor, rp *RecordPage, institutions []int64) BillQuery {
	return BillQuery{County: a.CountyCode, Institutions: institutions, From: rp.From, To: rp.To, Part: billParts[rp.Indicator.ID], WithPart: rp.Missing}
}

// billPage sets rp to a page of the bills behind a settlement figure at
// the institutions (l.page), counted, summed, ordered and paged by the
// store (a year of a busy township is tens of thousands of bills: only the
// page is read), named and audited as the other lists; or, for an export,
// streams them all to l.each, exportBatch at a time. Every bill is in the
// denominator (fen), its part in the numerator; a bill with a part works
// against the target (lower is better) and is flagged.
func (s *Service) billPage(ctx context.Context, a care.Actor, rp *RecordPage, institutions []int64, l *listing) error {
	q := billQuery(a, rp, institutions)
	all := q
	all.WithPart = false
	tot, err := s.RecordStore.BillTotals(ctx, all)
	if err != nil {
		return err
	}
	rp.Total, rp.Counted, rp.Listed = int(tot.Total), int(tot.Part), tot.Bills
	if rp.Missing {
		rp.Listed = tot.WithPart
	}
	judge := func(b Bill) Record {
		rec := JudgeBill(rp.Indicator.ID, b)
		rec.Flagged = rec.Counted != rp.Indicator.HigherIsBetter
		return rec
	}
	if l.each != nil {
		batch := make([]Record, 0, exportBatch)
		err := s.RecordStore.BillsByShare(ctx, q, func(b Bill) error {
			if batch = append(batch, judge(b)); len(batch) < exportBatch {
				return nil
			}
			err := s.pass(ctx, a, rp, batch, l, s.RecordStore.ResidentsByID, true)
			batch = batch[:0]
			return err
		})
		if err != nil || len(batch) == 0 {
			return err
		}
		return s.pass(ctx, a, rp, batch, l, s.RecordStore.ResidentsByID, true)
	}
	rp.Page, rp.Pages, q.Offset, _ = pageOf(rp.Listed, l.page)
	q.Limit = RecordsPerPage
	rp.Records = make([]Record, 0, RecordsPerPage)
	err = s.RecordStore.BillsByShare(ctx, q, func(b Bill) error {
		rp.Records = append(rp.Records, judge(b))
		return nil
	})
	if err != nil {
		return err
	}
	return s.nameAndAudit(ctx, a, rp, s.RecordStore.ResidentsByID, true)
}

// JudgeBill is a settled bill as a record of settlement indicator id: the
// bill (Fees.Total) in the denominator, its patients' share after every
// layer (settle_oop_share), drug fees (settle_drug_share) or material fees
// (settle_material_share) in the numerator (policy-rules.md §5, §6) —
// money, so the figure is the sum of the parts over the sum of the bills.
// A bill with a part counts; the highest share is listed first.
func JudgeBill(id string, b Bill) Record {
	rec := Record{BillID: b.ID, ResidentID: b.ResidentID, FromInstitution: b.Institution, VisitDate: b.VisitDate,
		Level: b.Level, VisitType: b.VisitType, Whole: b.Fees.Total, Fees: b.Fees}
	switch id {
	case "settle_oop_share":
		rec.Part = b.Fees.Patient
	case "settle_drug_share":
		rec.Part = b.Fees.Drugs
	case "settle_material_share":
		rec.Part = b.Fees.Materials
	}
	rec.Counted = rec.Part > 0
	return rec
}

// alertRecords passes keep each critical value the institutions ordered,
// raised in the days [from, to], that 危急值及时确认率 judges now
// (critical.Alert.AckJudged, as critical.Service.UnitAcks counts them).
func (s *Service) alertRecords(ctx context.Context, a care.Actor, institutions []int64, from, to care.Date, keep func(Record)) error {
	cfg := s.CriticalRules
	if cfg.EscalateAfter[0] <= 0 {
		cfg = critical.DefaultConfig()
	}
	start, end := dayBounds(from, to)
	als, err := s.RecordStore.CriticalAlerts(ctx, critical.Filter{County: a.CountyCode, From: start, To: end, Limit: maxAlerts})
	if err != nil {
		return err
	}
	mine := make(map[int64]bool, len(institutions))
	for _, id := range institutions {
		mine[id] = true
	}
	now := s.Now()
	// Oldest first, as the other lists (the store lists newest first).
	for i := len(als) - 1; i >= 0; i-- {
		if !mine[als[i].ClinicID] {
			continue
		}
		if rec, judged := JudgeAlert(&als[i], cfg, now); judged {
			keep(rec)
		}
	}
	return nil
}

// maxAlerts bounds the critical values read for one list: the bound the
// figure reads with (critical.Service.UnitAcks).
const maxAlerts = 100000

// JudgeAlert says whether a critical value is judged by 危急值及时确认率
// and whether it was acknowledged in time (critical.Alert.AckJudged: by
// the ordering clinic before the first escalation deadline, 15 minutes by
// default, critical.Config; 危急值报告制度, 2018), and how late it was:
// kpi.why.ack_late (minutes to the acknowledgement, minutes allowed),
// kpi.why.ack_escalated (it went up to the township or county: level),
// kpi.why.ack_open (still not acknowledged: minutes allowed).
func JudgeAlert(al *critical.Alert, cfg critical.Config, now time.Time) (Record, bool) {
	judged, inTime := al.AckJudged(cfg, now)
	allowed := int(cfg.EscalateAfter[0] / time.Minute)
	rec := Record{AlertID: al.ID, ResidentID: al.ResidentID, Sent: al.RaisedAt, FromInstitution: al.ClinicID, Finding: al.Finding, Counted: inTime}
	end := now
	if !al.Open() {
		end = al.AckAt
		rec.WaitMinutes = int(al.AckAt.Sub(al.RaisedAt) / time.Minute)
	}
	rec.LateMinutes = max(0, int(end.Sub(al.RaisedAt.Add(cfg.EscalateAfter[0]))/time.Minute))
	switch {
	case inTime || !judged:
	case al.Level > critical.LevelClinic:
		rec.Why, rec.WhyArgs = "kpi.why.ack_escalated", []any{rec.LateMinutes, allowed}
	case al.Open():
		rec.Why, rec.WhyArgs = "kpi.why.ack_open", []any{allowed}
	default:
		rec.Why, rec.WhyArgs = "kpi.why.ack_late", []any{rec.WaitMinutes, allowed}
	}
	return rec, judged
}

// referralRecords passes keep each chain-end referral first sent in [from,
// to] that counts at unit u (referral.Compute: an up-referral where it was
// sent from, a down-referral where it went to, by its township center,
// referral.UnitsOf; the board sums the township centers within u, a
// sub-center's townships with it) and that indicator id counts: every one
// for the completion, the up-referrals for the out-of-county rate.
func (s *Service) referralRecords(ctx context.Context, a care.Actor, t *org.Tree, u *org.Institution, id string, f RecordFilter, from, to care.Date, keep func(Record)) error {
	// Every institution whose township center (referral.UnitsOf) is within
	// u is in u's subtree (u is a township center or a sub-center): the
	// store reads theirs alone.
	return s.RecordStore.ReferralFactsAt(ctx, a.CountyCode, t.Subtree(u.ID), from, to, func(fa referral.Fact) error {
		if fa.Status == referral.StatusRedirected || id == "out_of_county" && fa.Direction != referral.Up ||
			f.Direction != "" && fa.Direction != f.Direction || f.Poor && !fa.Poverty {
			return nil
		}
		for _, at := range referral.UnitsOf(t, fa.At()) {
			if township(t.Get(at).Kind) && t.IsWithin(at, u.ID) {
				rec := JudgeReferral(id, &fa)
				if to := t.Get(fa.ToInst); to != nil {
					rec.ToName = to.Name
				}
				keep(rec)
				return nil
			}
		}
		return nil
	})
}

// JudgeReferral is a chain-end referral as a record of referral indicator
// id (referral/indicators.go): counted in 转诊完成率 when done
// (referral.Fact.Done: an up-referral arrived or completed, a
// down-referral acknowledged), in 县外转诊率 when it went outside the county.
func JudgeReferral(id string, f *referral.Fact) Record {
	rec := Record{ReferralID: f.ID, ResidentID: f.ResidentID, Sent: f.FirstSentAt, FromInstitution: f.FromInst, ToInstitution: f.ToInst,
		Direction: f.Direction, RefStatus: f.Status, OutOfCounty: f.OutOfCounty, Poor: f.Poverty}
	if id == "out_of_county" {
		rec.Counted = f.OutOfCounty
	} else {
		rec.Counted = f.Done()
	}
	return rec
}

// dayBounds are the instants of the days [from, to] in the county's time.
func dayBounds(from, to care.Date) (time.Time, time.Time) {
	return time.Date(from.Year, from.Month, from.Day, 0, 0, 0, 0, care.Shanghai),
		time.Date(to.Year, to.Month, to.Day, 0, 0, 0, 0, care.Shanghai).AddDate(0, 0, 1)
}

// familyIndicator reports whether id is a family-doctor figure with
// records (a village clinic's: the figures are kept per village).
func familyIndicator(id string) bool {
	return id == "family_coverage" || id == "family_key_coverage" || id == "family_fulfilment"
}

// familyRecords passes keep the records behind a village clinic's
// family-doctor figure on day `to` (family.Service.PointIndicators: the
// figures of a period are those of its last day), read by the rules the
// figure is computed with (family.DayFigures): for 签约覆盖率 each
// resident with a contract in force (once, however many contracts), for
// 重点人群签约覆盖率 each such key-population member, for 履约率 each
// service line due in the contract year of each contract in force
// (family.Fulfilment: delivered capped at due). It returns the
// denominator of the coverage figures, which counts residents not listed
// (the village's active residents, or its key population).
func (s *Service) familyRecords(ctx context.Context, a care.Actor, clinic int64, id string, to care.Date, keep func(Record)) (int, error) {
	pops, err := s.RecordStore.Population(ctx, a.CountyCode, []int64{clinic}, to)
	if err != nil {
		return 0, err
	}
	den := 0
	for _, p := range pops {
		if p.VillageID == clinic {
			den = p.Residents
			if id == "family_key_coverage" {
				den = p.Key
			}
		}
	}
	facts, err := s.RecordStore.ContractFacts(ctx, a.CountyCode, []int64{clinic}, to, to)
	if err != nil {
		return 0, err
	}
	seen := map[int64]bool{}
	for i := range facts {
		c := &facts[i]
		if c.VillageID != clinic || !c.Covers(to) {
			continue
		}
		rec := Record{ContractID: c.ID, ResidentID: c.ResidentID, ContractStart: c.Start, ContractEnd: c.End, Key: c.Key}
		if id != "family_fulfilment" {
			if seen[c.ResidentID] || id == "family_key_coverage" && !c.Key {
				continue
			}
			seen[c.ResidentID] = true
			rec.Counted = true
			keep(rec)
			continue
		}
		for _, l := range family.Fulfilment(&c.Contract, c.Done, to) {
			if l.Due == 0 {
				continue // delivered but not promised: not in the figure
			}
			line := rec
			line.Service, line.Part, line.Whole = l.Kind, int64(l.Counted()), int64(l.Due)
			line.Counted = l.Counted() == l.Due
			if !line.Counted {
				line.Why, line.WhyArgs = "kpi.why.services_short", []any{l.Due - l.Counted(), l.Due}
			}
			keep(line)
		}
	}
	return den, nil
}
