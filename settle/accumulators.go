package settle

import "sort"

// Accumulators are a patient's year-to-date totals under one policy year:
// what each layer has paid against its annual cap, how much of each annual
// deductible is used, and the out-of-pocket spending the bottom line caps.
// A settlement adds its Delta; a reversal subtracts it.
type Accumulators struct {
	BasicPaid                 Fen            `json:"basic_paid,omitempty"`
	BasicOutpatientDeductible Fen            `json:"basic_outpatient_deductible,omitempty"`
	ChronicPaid               map[string]Fen `json:"chronic_paid,omitempty"`
	ChronicDeductible         map[string]Fen `json:"chronic_deductible,omitempty"`
	CriticalBase              Fen            `json:"critical_base,omitempty"`
	CriticalPaid              Fen            `json:"critical_paid,omitempty"`
	AssistanceDeductible      Fen            `json:"assistance_deductible,omitempty"`
	AssistancePaid            Fen            `json:"assistance_paid,omitempty"`
	SupplementaryDeductible   Fen            `json:"supplementary_deductible,omitempty"`
	SupplementaryPaid         Fen            `json:"supplementary_paid,omitempty"`
	BottomLinePaid            Fen            `json:"bottom_line_paid,omitempty"`
	OutOfPocket               Fen            `json:"out_of_pocket,omitempty"`
}

func (a *Accumulators) chronicPaid(cat string) Fen       { return a.ChronicPaid[cat] }
func (a *Accumulators) chronicDeductible(cat string) Fen { return a.ChronicDeductible[cat] }

func (a *Accumulators) addChronic(cat string, ded, paid Fen) {
	if a.ChronicPaid == nil {
		a.ChronicPaid = map[string]Fen{}
		a.ChronicDeductible = map[string]Fen{}
	}
	a.ChronicPaid[cat] += paid
	a.ChronicDeductible[cat] += ded
}

// clearLayer zeroes what a layer added (an uninsured patient's layers pay nothing).
func (a *Accumulators) clearLayer(layer string) {
	switch layer {
	case LayerBasic:
		a.BasicPaid, a.BasicOutpatientDeductible, a.ChronicPaid, a.ChronicDeductible = 0, 0, nil, nil
	case LayerCritical:
		a.CriticalBase, a.CriticalPaid = 0, 0
	case LayerAssistance:
		a.AssistanceDeductible, a.AssistancePaid = 0, 0
	case LayerSupplementary:
		a.SupplementaryDeductible, a.SupplementaryPaid = 0, 0
	}
}

// Add returns a + sign×d (sign is 1 to apply a settlement, −1 to reverse it).
func (a Accumulators) Add(d Accumulators, sign Fen) Accumulators {
	out := Accumulators{
		BasicPaid:                 a.BasicPaid + sign*d.BasicPaid,
		BasicOutpatientDeductible: a.BasicOutpatientDeductible + sign*d.BasicOutpatientDeductible,
		CriticalBase:              a.CriticalBase + sign*d.CriticalBase,
		CriticalPaid:              a.CriticalPaid + sign*d.CriticalPaid,
		AssistanceDeductible:      a.AssistanceDeductible + sign*d.AssistanceDeductible,
		AssistancePaid:            a.AssistancePaid + sign*d.AssistancePaid,
		SupplementaryDeductible:   a.SupplementaryDeductible + sign*d.SupplementaryDeductible,
		SupplementaryPaid:         a.SupplementaryPaid + sign*d.SupplementaryPaid,
		BottomLinePaid:            a.BottomLinePaid + sign*d.BottomLinePaid,
		OutOfPocket:               a.OutOfPocket + sign*d.OutOfPocket,
	}
	merge := func(x, y map[string]Fen) map[string]Fen {
		if len(x) == 0 && len(y) == 0 {
			return nil
		}
		m := map[string]Fen{}
		for k, v := range x {
			m[k] = v
		}
		for k, v := range y {
			m[k] += sign * v
			if m[k] == 0 {
				delete(m, k)
			}
		}
		if len(m) == 0 {
			return nil
		}
		return m
	}
	out.ChronicPaid = merge(a.ChronicPaid, d.ChronicPaid)
	out.ChronicDeductible = merge(a.ChronicDeductible, d.ChronicDeductible)
	return out
}

// Negative reports a field below zero (a reversal that does not fit).
func (a Accumulators) Negative() bool {
	for _, v := range []Fen{a.BasicPaid, a.BasicOutpatientDeductible, a.CriticalBase, a.CriticalPaid, a.AssistanceDeductible, a.AssistancePaid,
		a.SupplementaryDeductible, a.SupplementaryPaid, a.BottomLinePaid, a.OutOfPocket} {
		if v < 0 {
			return true
		}
	}
	for _, m := range []map[string]Fen{a.ChronicPaid, a.ChronicDeductible} {
		for _, v := range m {
			if v < 0 {
				return true
			}
		}
	}
	return false
}

// Equal reports whether a and b hold the same totals.
func (a Accumulators) Equal(b Accumulators) bool {
	d := a.Add(b, -1)
	return d.zero()
}

func (a Accumulators) zero() bool {
	return a.BasicPaid == 0 && a.BasicOutpatientDeductible == 0 && a.CriticalBase == 0 && a.CriticalPaid == 0 &&
		a.AssistanceDeductible == 0 && a.AssistancePaid == 0 && a.SupplementaryDeductible == 0 && a.SupplementaryPaid == 0 &&
		a.BottomLinePaid == 0 && a.OutOfPocket == 0 && len(a.ChronicPaid) == 0 && len(a.ChronicDeductible) == 0
}

// ChronicCategories lists the chronic categories with totals, sorted.
func (a Accumulators) ChronicCategories() []string {
	var ks []string
	for k := range a.ChronicPaid {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
