// Package appraisal is the performance appraisal (绩效考核) of the county
// medical community (issue 14 §2): the national monitoring indicators for
// close-knit county medical communities (紧密型县域医共体建设评判标准和
// 监测指标体系, 2023) that the platform's data supports, and the family-
// doctor and village-doctor appraisal, each scored against the weights and
// targets the county configures per year (a versioned file, Rules). The
// values are the dashboard's (kpi): the same rates, units and scopes, so an
// appraisal score and the dashboard never disagree. docs/appraisal.md.
package appraisal

import (
	"countycare/kpi"
)

// Set is one of the two appraisals a year's rules hold.
type Set string

// The appraisals: institutions (the community, its township centers and
// the county) and doctors (a village clinic's village doctor and the
// family-doctor team that serves the village).
const (
	Institutions Set = "institution" // 医共体及成员单位考核
	Doctors      Set = "doctor"      // 家庭医生、乡村医生考核
)

// Sets are the appraisals in page order.
var Sets = []Set{Institutions, Doctors}

// Satisfaction is the resident-satisfaction indicator (群众满意度), fed
// by the resident surveys (issue 14 §4); until a unit has answers it has
// no data and is left out of the score, like any indicator without data.
var Satisfaction = kpi.Indicator{ID: "satisfaction", Group: "survey", Unit: kpi.Percent, Numerator: "appraisal.num.satisfied", Denominator: "appraisal.den.answers", Source: "紧密型县域医共体监测指标（2023）· 群众满意度", HigherIsBetter: true, Bounded: true}

// Lookup returns an indicator the appraisal can score: one of the
// dashboard's catalogue, or Satisfaction. ok is false for any other.
func Lookup(id string) (kpi.Indicator, bool) {
	if id == Satisfaction.ID {
		return Satisfaction, true
	}
	return kpi.Lookup(id)
}

// Allowed reports whether indicator in may be scored in set: the doctor
// appraisal scores what a village's doctor answers for — contracts,
// follow-ups, control, satisfaction — never the township's referral and
// visit shares, which no village has.
func Allowed(set Set, in kpi.Indicator) bool {
	return set == Institutions || in.Group != "referral"
}
