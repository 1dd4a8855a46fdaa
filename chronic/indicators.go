package chronic

import "countycare/care"

// StandardisedManaged reports whether a patient was managed per spec over
// a period (规范管理): at least one face-to-face visit per 90 days of the
// period, i.e. visits ≥ floor(days / 90) — how one production system
// operationalises "per spec" (policy-rules.md §1.1 [V-2nd]). A period
// shorter than 90 days needs no visit.
func StandardisedManaged(faceToFaceVisits int, from, to care.Date) bool {
	days := int(to.Time().Sub(from.Time()).Hours()/24) + 1
	return faceToFaceVisits >= days/90
}

// Rate is a numerator over a denominator, with the ratio in basis points.
type Rate struct {
	Num, Den int
}

// BP returns the rate in basis points (10000 = 100 %), 0 for an empty denominator.
func (r Rate) BP() int {
	if r.Den == 0 {
		return 0
	}
	return (r.Num*10000 + r.Den/2) / r.Den
}

// PatientYear is one registered patient's year, as the indicators need it.
type PatientYear struct {
	FaceToFace   int  // face-to-face visits in the period
	LastMeasured bool // the last visit of the period had a reading
	LastAtTarget bool // and it was at target (BP < 140/90, FPG < 7.0)
}

// Indicators are the management indicators of policy-rules.md §1 over a
// set of registered patients and a period.
type Indicators struct {
	Managed       int  // patients under management (the denominator)
	Standardised  Rate // 规范管理率 = managed per spec / under management
	Controlled    Rate // 血压(血糖)控制率 = last visit at target / under management
	HealthManaged Rate // 健康管理率 = under management / estimated patients
}

// ComputeIndicators computes the rates for a period. estimated is the
// estimated number of patients in the population (resident adults ×
// prevalence, [U]): 0 leaves the health-management rate empty.
func ComputeIndicators(ps []PatientYear, from, to care.Date, estimated int) Indicators {
	ind := Indicators{Managed: len(ps)}
	ind.Standardised.Den, ind.Controlled.Den = len(ps), len(ps)
	for _, p := range ps {
		if StandardisedManaged(p.FaceToFace, from, to) {
			ind.Standardised.Num++
		}
		if p.LastMeasured && p.LastAtTarget {
			ind.Controlled.Num++
		}
	}
	ind.HealthManaged = Rate{Num: len(ps), Den: estimated}
	return ind
}

// EstimatedPatients is resident adults × prevalence (basis points) — the
// denominator of 健康管理率 (policy-rules.md §1.1; prevalence is [U]).
func EstimatedPatients(adults int, prevalenceBP int) int {
	return (adults*prevalenceBP + 5000) / 10000
}

// OverdueRisk orders overdue patients (high risk first): 3 for a last BP
// ≥ 180/110; 2 for a prior stroke or MI with uncontrolled BP, or an
// uncontrolled glucose; 1 for any other uncontrolled last visit; 0 otherwise.
func OverdueRisk(last *Visit, lastClass Class, c Config) int {
	switch {
	case last == nil:
		return 0
	case last.SBP >= c.UrgentSBP || last.DBP >= c.UrgentDBP:
		return 3
	case last.PriorStrokeMI && lastClass == Uncontrolled && last.Disease == Hypertension:
		return 2
	case last.Disease == Diabetes && last.FPG >= c.FPGTarget:
		return 2
	case lastClass == Uncontrolled:
		return 1
	}
	return 0
}
