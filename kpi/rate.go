package kpi

// Rate is a count over a count, kept as both so that the page can show
// them and units add up exactly (villages → township → county).
type Rate struct{ Num, Den int }

// State says whether a Value can be shown.
type State int

// States of a Value.
const (
	NoData    State = iota // empty denominator: "no data", never 0 %
	OK                     // a value
	DataError              // a bounded share whose numerator exceeds its denominator (or a negative count): not shown
)

// Value is an indicator's figure: its rate and the rate in basis points
// (10000 = 100 %) when State is OK.
type Value struct {
	Rate  Rate
	BP    int
	State State
	Money bool // the rate's counts are fen (a MoneyShare indicator)
	// Minutes: the value is a duration, Rate.Num minutes over Rate.Den
	// reports, and BP is the minutes × 100 (a Minutes indicator).
	Minutes bool
	// Index: the value is the case mix index, Rate.Num the relative
	// weights × 10000 summed over Rate.Den weighted cases, and BP the
	// index × 10000 (an Index indicator). Unweighted is the in-patient
	// cases left out for want of a weight (casemix.go), shown beside it.
	Index      bool
	Unweighted int
}

// Of evaluates r for indicator in: NoData for an empty denominator (no
// division by zero, and no 0 % for "nothing to count"); DataError when a
// count is negative or, for a bounded indicator, the numerator exceeds the
// denominator — an impossible figure (issue 14: a 250 % rate) is a fault
// to fix at its source, not a value to colour green.
func Of(in Indicator, r Rate) Value {
	money := in.Unit == MoneyShare
	if in.Unit == Minutes {
		return minutesOf(r)
	}
	if in.Unit == Index {
		return indexOf(r)
	}
	if r.Num < 0 || r.Den < 0 {
		return Value{Rate: r, State: DataError, Money: money}
	}
	if r.Den == 0 {
		return Value{Rate: r, State: NoData, Money: money}
	}
	if in.Bounded && r.Num > r.Den {
		return Value{Rate: r, State: DataError, Money: money}
	}
	// Fees in fen times 10000 stay below 2^63 up to 9.2e12 yuan.
	return Value{Rate: r, BP: (r.Num*10000 + r.Den/2) / r.Den, State: OK, Money: money}
}

// OK reports whether v has a value to show.
func (v Value) OK() bool { return v.State == OK }

// Faulty reports whether v is a data error.
func (v Value) Faulty() bool { return v.State == DataError }

// minutesOf is Of for a duration: {minutes, reports}; no reports is no
// data, a negative count a data error.
func minutesOf(r Rate) Value {
	if r.Num < 0 || r.Den < 0 {
		return Value{Rate: r, State: DataError, Minutes: true}
	}
	if r.Den == 0 {
		return Value{Rate: r, State: NoData, Minutes: true}
	}
	return Value{Rate: r, BP: r.Num * 100, State: OK, Minutes: true}
}

// indexOf is Of for an index: {Σ weight × 10000, weighted cases}; no
// weighted case is no data (never an index of 0), a negative count a data
// error; BP is the mean rounded half up.
func indexOf(r Rate) Value {
	if r.Num < 0 || r.Den < 0 {
		return Value{Rate: r, State: DataError, Index: true}
	}
	if r.Den == 0 {
		return Value{Rate: r, State: NoData, Index: true}
	}
	return Value{Rate: r, BP: (r.Num + r.Den/2) / r.Den, State: OK, Index: true}
}
