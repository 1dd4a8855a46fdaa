package pharmacy

// Low-stock rule: an institution's stock of a drug is low when it covers
// fewer days than its threshold at the rate it was dispensed over the last
// CoverWindowDays. Counties set thresholds per institution and drug; the
// default is DefaultMinCoverDays.

// CoverWindowDays is the look-back for the dispensing rate.
const CoverWindowDays = 30

// DefaultMinCoverDays is the threshold where none is set: two weeks, the
// time a supply order to the county takes with a weekly delivery round
// and a margin. [U] local practice, configurable per drug.
const DefaultMinCoverDays = 14

// Threshold is a low-stock threshold of one drug at one institution:
// MinUnits (an absolute floor) and MinCoverDays (days of cover). Either
// being crossed raises an alert; 0 turns that test off.
type Threshold struct {
	InstitutionID int64
	DrugCode      string
	MinUnits      int64
	MinCoverDays  int
}

// Level is the stock of one drug at one institution, for the low-stock check.
type Level struct {
	DrugCode   string
	OnHand     int64 // usable units
	Dispensed  int64 // units dispensed in the last CoverWindowDays
	Threshold  Threshold
	CoverDays  float64 // OnHand / daily rate; -1 when nothing was dispensed
	Low        bool
	SuggestQty int64 // to reach twice the cover threshold (or the floor) again
}

// CheckLevel fills CoverDays, Low and SuggestQty of l.
func CheckLevel(l *Level) {
	l.CoverDays = -1
	rate := float64(l.Dispensed) / CoverWindowDays
	if rate > 0 {
		l.CoverDays = float64(l.OnHand) / rate
	}
	t := l.Threshold
	l.Low = (t.MinUnits > 0 && l.OnHand < t.MinUnits) || (t.MinCoverDays > 0 && rate > 0 && l.CoverDays < float64(t.MinCoverDays))
	l.SuggestQty = 0
	if l.Low {
		target := max(t.MinUnits*2, int64(rate*float64(2*t.MinCoverDays)+0.999))
		l.SuggestQty = max(target-l.OnHand, 1)
	}
}
