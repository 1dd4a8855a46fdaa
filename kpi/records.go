package kpi

import (
	"context"
	"fmt"
	"strings"
	"time"

	"countycare/care"
	"countycare/chronic"
	"countycare/consult"
	"countycare/critical"
	"countycare/family"
	"countycare/org"
	"countycare/referral"
	"countycare/rx"
)

// ActRecords is the audit action of a drill-down to the records behind a
// figure: a read of patient data (the residents listed are in the detail).
const ActRecords = "kpi.records"

// RecordsPerPage is the length of a page of records.
const RecordsPerPage = 50

// RecordSource is what Records needs of the store (store.Store): the
// registrations of a village clinic under management in a period with
// their visits folded in — the same rows and rules the chronic figures
// count (chronic_years for a year, the visits otherwise) — and who they are.
type RecordSource interface {
	ChronicPeriod(ctx context.Context, county string, clinics []int64, from, to care.Date, fn func(*chronic.PatientPeriod) error) error
	// Registrants returns the resident of each registration asked for
	// (a registration of another county is absent).
	Registrants(ctx context.Context, county string, registrationIDs []int64) (map[int64]Registrant, error)
	// ConsultationsFrom returns the consultations the institutions sent
	// in [from, to).
	ConsultationsFrom(ctx context.Context, county string, institutions []int64, from, to time.Time) ([]consult.Consultation, error)
	// ResidentsByID returns the residents asked for, keyed by their id.
	ResidentsByID(ctx context.Context, county string, ids []int64) (map[int64]Registrant, error)
	// PrescriptionsFrom returns the prescriptions the institutions
	// signed in [from, to), as the prescribing group counts them.
	PrescriptionsFrom(ctx context.Context, county string, institutions []int64, from, to time.Time) ([]RxRow, error)
	// BillTotals counts and sums the bills of q (q.WithPart ignored: the
	// figure's), as SettlementSums counts them; BillsByShare passes fn a
	// page of them (all: q.Limit 0) in the list's order, those with a
	// part first, the highest share of its bill first, then by id.
	BillTotals(ctx context.Context, q BillQuery) (BillTotals, error)
	BillsByShare(ctx context.Context, q BillQuery, fn func(Bill) error) error
	// CriticalAlerts lists the critical values of the filter (the
	// figure's reader, critical.Service.UnitAcks, reads the same).
	CriticalAlerts(ctx context.Context, f critical.Filter) ([]critical.Alert, error)
	// ReferralFactsAt passes fn the referrals first sent in [from, to]
	// that count at the institutions at (referral.Fact.At), by id: the
	// figure's rows (referral.Service.Indicators) of those institutions.
	ReferralFactsAt(ctx context.Context, county string, at []int64, from, to care.Date, fn func(referral.Fact) error) error
	// Population and ContractFacts are the village clinics' residents and
	// contracts on a day, as the family figures count them (family.Repository).
	Population(ctx context.Context, county string, clinics []int64, day care.Date) ([]family.Population, error)
	ContractFacts(ctx context.Context, county string, clinics []int64, from, to care.Date) ([]family.ContractFact, error)
}

// RxRow is what the prescribing group's records need of a prescription.
type RxRow struct {
	ID, ResidentID, Institution int64
	SignedAt                    time.Time
	Status                      rx.Status
	Classes                     rx.Classes
	Classified                  bool // its classes are kept (false: signed before migration 0051 and not classified yet)
}

// Registrant is the resident a chronic registration belongs to.
type Registrant struct {
	ResidentID int64
	Name       string
	IDNumber   string // as stored: Records masks it
}

// Record is one record behind a figure — a registered patient counted in
// the denominator of a chronic-care indicator, or a consultation judged by
// the 10-minute promise — whether it counts in the numerator and, when
// not, why (a message key and its arguments).
type Record struct {
	RegistrationID int64     // a chronic registration (0 for a consultation)
	ConsultationID int64     // a consultation (0 for a registration)
	PrescriptionID int64     // a prescription (the prescribing group)
	StudyID        int64     // a reading study or a lab result (the turnaround)
	Modality       string    // turnaround: ECG, DR, CT …, or the lab analyte
	Ended          time.Time // turnaround: when the report was signed (the result out)
	Sent           time.Time // consultation: when it was sent; prescription: when it was signed
	RxStatus       rx.Status // prescription: where its review stands
	RxClasses      rx.Classes
	// FromInstitution is the institution that sent the consultation: its
	// staff may open it (consult's parties), others see the line only.
	FromInstitution int64
	WaitMinutes     int // consultation: minutes until a specialist accepted it (0: not accepted)
	ResidentID      int64
	Name            string
	IDMasked        string // idcard.Mask: first six and last four characters
	Counted         bool
	// Flagged: the record works against the target — not counted in a
	// share where higher is better, counted in one where lower is (a
	// prescription returned, one with an antibiotic). Flagged ones are
	// listed first.
	Flagged    bool
	Why        string // message key; "" when counted
	WhyArgs    []any
	LastVisit  care.Date // last follow-up of the period (zero: none)
	Visits     int       // follow-ups of the period
	FaceToFace int
	SBP, DBP   int // last measured blood pressure of the period (0: none)
	FPG        int // last fasting glucose of the period, 0.1 mmol/L (0: none)

	// A settled bill (the settlement group): its visit, its fees, and the
	// indicator's part of it over the whole (fen).
	BillID           int64
	VisitDate        care.Date
	Level, VisitType string
	Fees             Fees
	Part, Whole      int64
	// A critical value (critical_ack_in_time): raised at Sent,
	// acknowledged after WaitMinutes (0: open), LateMinutes past its
	// first deadline (0: in time).
	AlertID     int64
	Finding     string
	LateMinutes int
	// A referral (the referral group): sent (first) at Sent from
	// FromInstitution to ToInstitution.
	ReferralID    int64
	ToInstitution int64
	ToName        string
	Direction     referral.Direction
	RefStatus     referral.Status
	OutOfCounty   bool
	Poor          bool // the resident was in a poverty category when referred
	// A family doctor contract in force (the family group): its term, and
	// whether the resident is in the key population; for 履约率 one of its
	// service lines (Service: Part delivered of Whole due).
	ContractID                 int64
	ContractStart, ContractEnd care.Date
	Key                        bool
	Service                    family.Kind
}

// RecordPage is one page of the records behind an indicator at a unit
// for a period.
type RecordPage struct {
	Unit      *org.Institution
	Path      []*org.Institution // from the viewer's root down to Unit's parent
	Indicator Indicator
	Period    Period
	From, To  care.Date
	Missing   bool // only the flagged records are listed (Record.Flagged)
	Filter    RecordFilter
	Records   []Record
	// Total is the denominator: every record of the unit and period (the
	// settlement group: the sum of their bills, fen); Counted is the
	// numerator (the settlement group: the sum of their parts, fen).
	Total   int
	Counted int
	Listed  int // the records of the list (Total, or Total − Counted when Missing)
	Page    int // from 1
	Pages   int
	// Figure is the indicator's value at the unit when it is not
	// Counted over Total (a turnaround quantile); nil otherwise.
	Figure *Value
}

// HasRecords reports whether an indicator's figure can be drilled down to
// its records, and at which units: the chronic-care indicators at a
// village clinic (the lowest level; their patients are registered there);
// the 10-minute promise and the prescribing group at a village clinic or
// a township center (the institutions that send the requests or sign the
// prescriptions, with the township's villages), and so the critical values
// (by the institution that ordered the test) and the settled bills (by the
// institution that settled the visit); the referral figures at a township
// center (they are counted per township: a village has none); the
// family-doctor figures at a village clinic (kept per village).
func HasRecords(id string, k org.Kind) bool {
	if _, ok := chronicIndicator(id); ok {
		return k == org.KindVillageClinic
	}
	if in, _ := Lookup(id); in.InMinutes() {
		return true // the reports of the unit's institutions (turnaround.go), at every level
	}
	if referralIndicator(id) {
		return township(k)
	}
	if familyIndicator(id) {
		return k == org.KindVillageClinic
	}
	return (id == "consult_sla" || rxIndicator(id) || settleIndicator(id) || id == "critical_ack_in_time") && (k == org.KindVillageClinic || township(k))
}

// rxIndicator reports whether id is of the prescribing group.
func rxIndicator(id string) bool { return strings.HasPrefix(id, "rx_") }

// chronicIndicator returns the disease of a chronic-care indicator.
func chronicIndicator(id string) (chronic.Disease, bool) {
	if strings.HasPrefix(id, "htn_") {
		return chronic.Hypertension, true
	}
	if strings.HasPrefix(id, "dm_") {
		return chronic.Diabetes, true
	}
	return "", false
}

// JudgePrescription says whether a prescription is in the denominator of
// prescribing indicator id and whether it counts in its numerator, as
// store.PrescriptionSums counts them for the figure:
//   - the review outcomes (rx_passed, rx_returned, rx_rejected): judged
//     once the review is over (any status but pending); passed when it
//     took effect (an automatic pass, a pharmacist's approval, dispensed),
//     returned or rejected by its status (the page shows the status and
//     the classes: no reason of its own);
//   - the antibiotic and injection rates: judged when its classes are
//     kept (RxRow.Classified); counted with an antimicrobial line
//     (rx.WithAntimicrobial), an injection line (rx.WithInjection).
//
// An id outside the group judges nothing.
func JudgePrescription(id string, r RxRow) (Record, bool) {
	rec := Record{PrescriptionID: r.ID, ResidentID: r.ResidentID, Sent: r.SignedAt, FromInstitution: r.Institution, RxStatus: r.Status, RxClasses: r.Classes}
	var judged bool
	switch id {
	case "rx_passed", "rx_returned", "rx_rejected":
		judged = r.Status != rx.StatusPending
		passed := r.Status == rx.StatusPassed || r.Status == rx.StatusApproved || r.Status == rx.StatusDispensed
		rec.Counted = id == "rx_passed" && passed || id == "rx_returned" && r.Status == rx.StatusReturned || id == "rx_rejected" && r.Status == rx.StatusRejected
	case "rx_antibiotic":
		judged, rec.Counted = r.Classified, r.Classes&rx.WithAntimicrobial != 0
	case "rx_injection":
		judged, rec.Counted = r.Classified, r.Classes&rx.WithInjection != 0
	}
	return rec, judged
}

// JudgeConsultation says whether a consultation counts in the 10-minute
// promise (consult_sla) as consult.Compute counts it, and why not: judged
// when accepted, or when past its first deadline (Config.Deadline: 10
// minutes routine, 5 emergency) without anyone accepting and not
// cancelled; in time when accepted by that deadline. Not in time:
// kpi.why.consult_late (minutes waited, minutes allowed) or
// kpi.why.consult_unanswered (minutes allowed).
func JudgeConsultation(c *consult.Consultation, cfg consult.Config, now time.Time) (Record, bool) {
	first := cfg.Deadline(c.Urgency, c.CreatedAt)
	allowed := int(first.Sub(c.CreatedAt) / time.Minute)
	rec := Record{ConsultationID: c.ID, ResidentID: c.ResidentID, Sent: c.CreatedAt, FromInstitution: c.FromInstitution, Counted: true}
	if !c.AcceptedAt.IsZero() {
		rec.WaitMinutes = int(c.AcceptedAt.Sub(c.CreatedAt) / time.Minute)
		if c.AcceptedAt.After(first) {
			rec.Counted, rec.Why, rec.WhyArgs = false, "kpi.why.consult_late", []any{rec.WaitMinutes, allowed}
		}
		return rec, true
	}
	if now.After(first) && c.Status != consult.StatusCancelled {
		rec.Counted, rec.Why, rec.WhyArgs = false, "kpi.why.consult_unanswered", []any{allowed}
		return rec, true
	}
	return rec, false
}

// path is the breadcrumbs from the viewer's root r down to u's parent.
func path(t *org.Tree, r, u *org.Institution) []*org.Institution {
	var out []*org.Institution
	anc := t.Ancestors(u.ID) // from the tree's root down: walk it nearest first
	for i := len(anc) - 1; i >= 0; i-- {
		if !t.IsWithin(anc[i].ID, r.ID) {
			break
		}
		if dashboardKind(anc[i].Kind) {
			out = append([]*org.Institution{anc[i]}, out...)
		}
	}
	return out
}

// JudgePatient says whether a patient under management in [from, to] counts in
// the numerator of chronic indicator id, and why not — by the rules the
// figure is counted with (chronic/indicators.go, policy-rules.md §1.1,
// §1.2):
//   - 规范管理率 (_standardised): face-to-face follow-ups ≥ floor(days/90)
//     (chronic.StandardisedManaged); else kpi.why.visits (done, due);
//   - 控制率 (_controlled): the last measurement of the period at target
//     (PatientPeriod.AtTarget); else no follow-up in the period
//     (kpi.why.no_visit), follow-ups without the measurement
//     (kpi.why.no_bp, kpi.why.no_fpg), or the last value off target
//     (kpi.why.bp_high with SBP/DBP and the targets; kpi.why.fpg_off with
//     the glucose in mmol/L);
//   - 健康管理率 (_health_managed): every patient under management counts.
func JudgePatient(id string, p *chronic.PatientPeriod, from, to care.Date, c chronic.Config) Record {
	rec := Record{RegistrationID: p.RegistrationID, LastVisit: p.LastVisitDate, Visits: p.Visits, FaceToFace: p.FaceToFace,
		SBP: p.LastSBP, DBP: p.LastDBP, FPG: p.LastFPG, Counted: true}
	// If-chains, not tagless switches: gremlins never runs a case
	// condition's mutants (docs/mutation.md).
	if strings.HasSuffix(id, "_standardised") {
		if !chronic.StandardisedManaged(p.FaceToFace, from, to) {
			rec.Counted, rec.Why, rec.WhyArgs = false, "kpi.why.visits", []any{p.FaceToFace, chronic.VisitsDue(from, to)}
		}
		return rec
	}
	if !strings.HasSuffix(id, "_controlled") || p.AtTarget(c) {
		return rec
	}
	rec.Counted = false
	if p.Visits == 0 {
		rec.Why = "kpi.why.no_visit"
	} else if p.Disease == chronic.Hypertension && p.LastSBP == 0 {
		rec.Why = "kpi.why.no_bp"
	} else if p.Disease == chronic.Hypertension {
		rec.Why, rec.WhyArgs = "kpi.why.bp_high", []any{p.LastSBP, p.LastDBP, c.BPTargetSBP, c.BPTargetDBP}
	} else if p.LastFPG == 0 {
		rec.Why = "kpi.why.no_fpg"
	} else {
		rec.Why, rec.WhyArgs = "kpi.why.fpg_off", []any{mmol(p.LastFPG), mmol(c.UrgentFPGLow), mmol(c.FPGTarget)}
	}
	return rec
}

// mmol writes a glucose kept in 0.1 mmol/L: 72 → "7.2".
func mmol(v int) string { return fmt.Sprintf("%d.%d", v/10, v%10) }
