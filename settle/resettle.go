package settle

import "time"

// Recompute settles a stored visit again on the accumulators just before
// it (the service runs the engine under the visit's own policy version).
type Recompute func(st *Settlement, acc Accumulators) (*Result, error)

// Causes of an Adjustment.
const (
	CauseCorrection   = "correction"    // an earlier visit's bill was corrected
	CauseReversal     = "reversal"      // an earlier visit was reversed
	CauseEarlierVisit = "earlier_visit" // a visit dated earlier was settled after this one
)

// Adjustment records that a live settlement was settled again because an
// earlier visit of the same person-year changed (issue 18): a correction
// or a reversal of an earlier bill, or a bill dated earlier settled later.
// Before and After hold what each layer paid, and "patient".
type Adjustment struct {
	ID           int64
	SettlementID int64
	Cause        string
	CauseID      int64 // the settlement corrected, reversed or newly settled
	Before       map[string]Fen
	After        map[string]Fen
	CreatedBy    int64
	CreatedAt    time.Time
}

// InsurersBefore is what every layer together paid before the adjustment.
func (a Adjustment) InsurersBefore() Fen { return a.insurers(a.Before) }

// InsurersAfter is what every layer together pays after it.
func (a Adjustment) InsurersAfter() Fen { return a.insurers(a.After) }

// PatientBefore and PatientAfter are the patient's share before and after.
func (a Adjustment) PatientBefore() Fen { return a.Before["patient"] }
func (a Adjustment) PatientAfter() Fen  { return a.After["patient"] }

func (a Adjustment) insurers(m map[string]Fen) Fen {
	var sum Fen
	for _, l := range LayerOrder {
		sum += m[l]
	}
	return sum
}

// Amounts returns what each layer of r paid, and "patient".
func Amounts(r *Result) map[string]Fen {
	m := map[string]Fen{"patient": r.Patient}
	for _, l := range LayerOrder {
		m[l] = r.Paid(l)
	}
	return m
}

// SameSplit reports whether a and b pay every layer and the patient the same.
func SameSplit(a, b *Result) bool {
	if a.Patient != b.Patient {
		return false
	}
	for _, l := range LayerOrder {
		if a.Paid(l) != b.Paid(l) {
			return false
		}
	}
	return true
}

// ResettleSummary compares a year's settlements before and after settling
// them again under one policy version.
type ResettleSummary struct {
	Year      int            `json:"year"`
	PolicyID  int64          `json:"policy_id"`
	Version   int            `json:"policy_version"`
	Visits    int            `json:"visits"`
	Residents int            `json:"residents"`
	Changed   int            `json:"changed"` // visits whose split changed
	Before    map[string]Fen `json:"before"`  // per layer and "patient"
	After     map[string]Fen `json:"after"`
}

// Resettler settles a year's stored bills again under one policy
// version (a retroactive policy change, or a check that the books are
// reproducible). Feed it every live settlement of the year ordered by
// resident, visit date and id; each resident's accumulators start from
// zero and follow their visits in order, exactly as the window did.
type Resettler struct {
	Policy *StoredPolicy
	// OnVisit receives each visit's new result and the accumulators before it.
	OnVisit func(st *Settlement, r *Result, before Accumulators) error
	// OnResident receives a resident's year-end accumulators.
	OnResident func(residentID int64, acc Accumulators) error

	Summary ResettleSummary
	cur     int64
	acc     Accumulators
	started bool
}

// NewResettler starts a resettlement under policy sp.
func NewResettler(sp *StoredPolicy) *Resettler {
	return &Resettler{Policy: sp, Summary: ResettleSummary{Year: sp.Year, PolicyID: sp.ID, Version: sp.Version, Before: map[string]Fen{}, After: map[string]Fen{}}}
}

// Add settles the next stored visit again.
func (rs *Resettler) Add(st *Settlement) error {
	if !rs.started || st.ResidentID != rs.cur {
		if err := rs.flush(); err != nil {
			return err
		}
		rs.cur, rs.acc, rs.started = st.ResidentID, Accumulators{}, true
		rs.Summary.Residents++
	}
	before := rs.acc
	r, err := Settle(rs.Policy.Policy, &st.Claim, &rs.acc)
	if err != nil {
		return err
	}
	rs.acc = rs.acc.Add(r.Delta, 1)
	rs.Summary.Visits++
	changed := r.Patient != st.Result.Patient
	for _, l := range LayerOrder {
		old, now := st.Result.Paid(l), r.Paid(l)
		rs.Summary.Before[l] += old
		rs.Summary.After[l] += now
		changed = changed || old != now
	}
	rs.Summary.Before["patient"] += st.Result.Patient
	rs.Summary.After["patient"] += r.Patient
	if changed {
		rs.Summary.Changed++
	}
	if rs.OnVisit != nil {
		return rs.OnVisit(st, r, before)
	}
	return nil
}

func (rs *Resettler) flush() error {
	if rs.started && rs.OnResident != nil {
		return rs.OnResident(rs.cur, rs.acc)
	}
	return nil
}

// Finish hands over the last resident's accumulators.
func (rs *Resettler) Finish() error { return rs.flush() }
