package appraisal

import (
	"countycare/kpi"
)

// catalogue is every indicator the appraisal can score, in page order.
func catalogue() []kpi.Indicator {
	return append(append([]kpi.Indicator(nil), kpi.Catalogue...), Satisfaction)
}

// Line is one scored indicator of a unit: its value, weight, target and
// the points it earned, in hundredths of a point (Points 1250 = 12.5).
type Line struct {
	Indicator kpi.Indicator
	Value     kpi.Value
	Weight    int
	TargetBP  int
	Points    int // hundredths of a point; 0 when the value is not OK
}

// Scored reports whether the line counts in the score: it has a value.
// A line without data (an empty denominator) or with a data error is
// shown as such and left out of the score — never scored as 0 %.
func (l Line) Scored() bool { return l.Value.OK() }

// Score is one unit's appraisal for a year: every line, the points earned
// over the weights of the lines with data (Available), and the score
// scaled to the scheme's total. HasData is false when no line has data:
// the page then shows "no data", never 0 and never a division by zero.
type Score struct {
	Lines     []Line
	Total     int // the scheme's total (e.g. 100)
	Available int // the weights of the lines with data
	Points    int // hundredths of a point earned
	Scaled    int // hundredths of a point, scaled to Total; valid when HasData
	HasData   bool
}

// Points is the scoring rule of one indicator (按完成比例计分), in
// hundredths of a point. The 2023 monitoring indicator system names the
// indicators but no points formula, so the rule is the platform's
// (docs/appraisal.md, [U]): the full weight when the value meets the
// target; below it, the weight in proportion — value/target when higher
// is better, target/value when lower is better (a ceiling, e.g. the
// out-of-county referral rate); nothing for a value that is not OK.
// Rounded half up. A target of 0 % is met by any value when higher is
// better, and only by 0 % when lower is better.
func Points(in kpi.Indicator, v kpi.Value, weight, targetBP int) int {
	if !v.OK() {
		return 0
	}
	full := weight * 100
	if in.HigherIsBetter {
		if v.BP >= targetBP {
			return full
		}
		return (full*v.BP + targetBP/2) / targetBP
	}
	if v.BP <= targetBP {
		return full
	}
	return (full*targetBP + v.BP/2) / v.BP
}

// Evaluate scores a unit's values against a scheme. values holds the
// unit's rate per indicator id; a missing one has no data. The score over
// the lines with data is scaled to the scheme's total, so that a unit is
// not marked down for an indicator it has no data for (a village has no
// referral figures; a clinic no survey answers yet): Scaled = Points ×
// Total / Available, rounded half up.
func Evaluate(sc Scheme, values map[string]kpi.Rate) Score {
	s := Score{Total: sc.Total}
	for _, it := range sc.Items {
		in, _ := Lookup(it.ID)
		l := Line{Indicator: in, Value: kpi.Of(in, values[it.ID]), Weight: it.Weight, TargetBP: it.TargetBP}
		if l.Scored() {
			l.Points = Points(in, l.Value, it.Weight, it.TargetBP)
			s.Available += it.Weight
			s.Points += l.Points
		}
		s.Lines = append(s.Lines, l)
	}
	if s.Available > 0 {
		s.HasData = true
		s.Scaled = (s.Points*s.Total + s.Available/2) / s.Available
	}
	return s
}
