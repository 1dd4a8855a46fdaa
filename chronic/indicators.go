package chronic

import "countycare/care"

// This file holds every management indicator of chronic disease care, with
// its formula and source, in one place (policy-rules.md §1):
//
//   规范管理率 Standardised   = patients managed per spec in the period / patients under management
//                              (per spec: face-to-face visits ≥ floor(days/90), §1.1 [V-2nd]; same rule
//                              for diabetes §1.2, severe mental disorders §1.3 and TB/hepatitis registries)
//   血压控制率 / 血糖控制率 Controlled = patients whose last measured visit in the period was at target
//                              (SBP < 140 and DBP < 90; 3.9 < FPG < 7.0 mmol/L: a value that triggers urgent
//                              transfer is never at target, FPGAtTarget) / patients under management (§1.1, §1.2)
//   健康管理率 HealthManaged   = patients under management / patients in the area, where patients in the
//                              area = max(estimated, patients under management) and estimated = residents
//                              aged ≥ Config.PrevalenceMinAge (18) × Config.PrevalenceBP[disease] (§1.1;
//                              prevalence and its age [U]: the national figures are for adults).
//                              The spec's denominator is the area's patients (辖区内高血压患者总人数), which it
//                              estimates from population × prevalence; the patients a clinic manages are
//                              patients of the area, so they bound it from below. In a small village the
//                              estimate (20 residents × 27.9 % = 6) can fall below the known patients (8),
//                              which gave 133 % and more (issue 18); the rate is now never above 100 %.
//   规则服药率 RegularDoses    = TB patients whose treatment ended in the period having taken ≥ 90 % of
//                              doses / TB patients whose treatment ended in the period (§1.4 [U])
//
// "Under management" in a period: registered on or before its last day and
// not closed (transferred, moved, died, closed) before its first day.
//
// A calendar year or a year to date (IsYearPeriod) is computed from per-unit
// counters (UnitYear, Tally.AddUnitYear) with the same formulas; any other
// period patient by patient (PatientPeriod, Tally.Add).

// StandardisedManaged reports whether a patient was managed per spec over
// a period (规范管理): at least one face-to-face visit per 90 days of the
// period, i.e. visits ≥ floor(days / 90) — how one production system
// operationalises "per spec" (policy-rules.md §1.1 [V-2nd]). A period
// shorter than 90 days needs no visit.
func StandardisedManaged(faceToFaceVisits int, from, to care.Date) bool {
	return faceToFaceVisits >= VisitsDue(from, to)
}

// VisitsDue is floor(days in [from, to] / 90).
func VisitsDue(from, to care.Date) int {
	days := int(to.Time().Sub(from.Time()).Hours()/24) + 1
	return days / 90
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

// Indicators are the management indicators of policy-rules.md §1 over a
// set of registered patients and a period.
type Indicators struct {
	Managed       int  // patients under management (the denominator)
	Standardised  Rate // 规范管理率 = managed per spec / under management
	Controlled    Rate // 血压(血糖)控制率 = last visit at target / under management
	HealthManaged Rate // 健康管理率 = under management / max(Estimated, under management)
	Estimated     int  // residents aged ≥ PrevalenceMinAge × PrevalenceBP (0 without a prevalence)
	PrevalenceBP  int  // the prevalence the estimate used (basis points), for showing the formula
	RegularDoses  Rate // 规则服药率 (TB) = ≥ 90 % of doses taken / treatment ended in the period
}

// EstimatedPatients is resident adults × prevalence (basis points) — the
// denominator of 健康管理率 (policy-rules.md §1.1; prevalence is [U]).
func EstimatedPatients(adults int, prevalenceBP int) int {
	return (adults*prevalenceBP + 5000) / 10000
}

// PatientPeriod is one registration over a period, as the store streams
// it: the visits of the period are folded in with Add, oldest first.
type PatientPeriod struct {
	RegistrationID int64
	Disease        Disease
	ClinicID       int64
	Visits         int // visits in the period, by phone or face to face
	FaceToFace     int // face-to-face visits in the period
	LastSBP        int // blood pressure of the last visit in the period that measured it, 0 if none
	LastDBP        int
	LastFPG        int       // glucose of the last visit in the period that measured it, 0 if none
	Ended          bool      // TB: registration closed (treatment ended) within the period
	DosesDue       int       // TB: doses due over the visits of the period
	DosesMissed    int       // TB: doses missed
	LastVisitDate  care.Date // the last visit in the period, measured or not
}

// AddVisit folds one visit of the period into p (visits oldest first).
func (p *PatientPeriod) AddVisit(v *Visit) {
	p.Visits++
	if v.FaceToFace {
		p.FaceToFace++
	}
	if v.SBP > 0 {
		p.LastSBP, p.LastDBP = v.SBP, v.DBP
	}
	if v.FPG > 0 {
		p.LastFPG = v.FPG
	}
	p.DosesDue += v.DosesDue
	p.DosesMissed += v.DosesMissed
	p.LastVisitDate = v.Date
}

// AtTarget reports whether the last measurement of the period was at the control
// target of the indicator: SBP < 140 and DBP < 90 for hypertension (the
// indicator uses the general target, not the ≥ 65 one: policy-rules.md
// §1.1), 3.9 < FPG < 7.0 for diabetes (§1.2; FPGAtTarget: a glucose at or
// below the urgent-transfer low is not control). Other diseases have no
// control rate. (The BP targets are below the urgent 180/110: Config.Check.)
func (p *PatientPeriod) AtTarget(c Config) bool {
	switch p.Disease {
	case Hypertension:
		return p.LastSBP > 0 && p.LastSBP < c.BPTargetSBP && p.LastDBP < c.BPTargetDBP
	case Diabetes:
		return p.LastFPG > 0 && FPGAtTarget(p.LastFPG, c)
	}
	return false
}

// HasControlRate reports whether a disease has a control-rate indicator.
func (d Disease) HasControlRate() bool { return d == Hypertension || d == Diabetes }

// Tally accumulates the indicators of many units (village clinics and the
// township, community and county above them) in one pass over the patients.
type Tally struct {
	From, To care.Date
	Config   Config
	// UnitsOf returns the units a clinic's patients count towards (the clinic
	// itself and its ancestors); it is called once per clinic.
	UnitsOf func(clinicID int64) []int64
	units   map[int64][]int64
	cells   map[UnitDisease]*Indicators
}

// UnitDisease keys one cell of a Tally.
type UnitDisease struct {
	Unit    int64
	Disease Disease
}

// Add counts one patient under management in the period.
func (t *Tally) Add(p *PatientPeriod) {
	if t.cells == nil {
		t.cells, t.units = map[UnitDisease]*Indicators{}, map[int64][]int64{}
	}
	us, ok := t.units[p.ClinicID]
	if !ok {
		us = t.UnitsOf(p.ClinicID)
		t.units[p.ClinicID] = us
	}
	std := StandardisedManaged(p.FaceToFace, t.From, t.To)
	ctl := p.AtTarget(t.Config)
	for _, u := range us {
		k := UnitDisease{u, p.Disease}
		c := t.cells[k]
		if c == nil {
			c = &Indicators{}
			t.cells[k] = c
		}
		c.Managed++
		c.Standardised.Den++
		if std {
			c.Standardised.Num++
		}
		if p.Disease.HasControlRate() {
			c.Controlled.Den++
			if ctl {
				c.Controlled.Num++
			}
		}
		if p.Disease == Tuberculosis && p.Ended {
			c.RegularDoses.Den++
			if TBRegular(p.DosesDue-p.DosesMissed, p.DosesDue, t.Config) {
				c.RegularDoses.Num++
			}
		}
	}
}

// Estimate sets the health-management rate's denominator of a unit from its
// residents aged ≥ Config.PrevalenceMinAge and the configured prevalence.
func (t *Tally) Estimate(unit int64, adults int) {
	for _, d := range []Disease{Hypertension, Diabetes} {
		bp := t.Config.PrevalenceBP[d]
		if bp <= 0 {
			continue
		}
		k := UnitDisease{unit, d}
		c := t.cells[k]
		if c == nil {
			if t.cells == nil {
				t.cells, t.units = map[UnitDisease]*Indicators{}, map[int64][]int64{}
			}
			c = &Indicators{}
			t.cells[k] = c
		}
		c.Estimated += EstimatedPatients(adults, bp)
		c.PrevalenceBP = bp
	}
}

// Result returns the indicators per unit and disease. The health-management
// rate is the managed count over the area's patients: the estimate, or the
// patients under management where the estimate is smaller (they are
// patients of the area), so it is never above 100 %. A unit whose
// population was not counted (no Estimate) or a disease without a
// configured prevalence has no rate.
func (t *Tally) Result() map[UnitDisease]Indicators {
	out := make(map[UnitDisease]Indicators, len(t.cells))
	for k, c := range t.cells {
		x := *c
		x.HealthManaged = Rate{}
		if x.PrevalenceBP > 0 {
			x.HealthManaged = Rate{Num: x.Managed, Den: max(x.Estimated, x.Managed)}
		}
		out[k] = x
	}
	return out
}

// EstimateRaised reports whether the health-management denominator is the
// patients under management because the population estimate was smaller.
func (x Indicators) EstimateRaised() bool {
	return x.HealthManaged.Den > 0 && x.Estimated < x.Managed
}

// OverdueRisk orders overdue patients (high risk first): 3 for a last BP
// ≥ 180/110; 2 for a prior stroke or MI with uncontrolled BP, or a
// glucose not at target (high, or at or below the urgent low); 1 for any other uncontrolled last visit; 0 otherwise.
func OverdueRisk(last *Visit, lastClass Class, c Config) int {
	// Plain ifs rather than a tagless switch, so that mutation testing
	// reaches the thresholds (docs/mutation.md).
	if last == nil {
		return 0
	}
	if last.SBP >= c.UrgentSBP || last.DBP >= c.UrgentDBP {
		return 3
	}
	if last.PriorStrokeMI && lastClass == Uncontrolled && last.Disease == Hypertension {
		return 2
	}
	if last.Disease == Diabetes && last.FPG > 0 && !FPGAtTarget(last.FPG, c) {
		return 2
	}
	if lastClass == Uncontrolled {
		return 1
	}
	return 0
}

// IsYearPeriod reports whether [from, to] is a calendar year, or a year to
// date that ends today or later: the periods whose indicators are read from
// the per-unit counters (UnitYear) instead of from every patient.
func IsYearPeriod(from, to, today care.Date) bool {
	return from.Month == 1 && from.Day == 1 && to.Year == from.Year && (to.Month == 12 && to.Day == 31 || !to.Before(today))
}

// UnderManagement reports whether a registration counts in [from, to]:
// registered on or before its last day and not closed before its first.
func UnderManagement(enrolled, closed, from, to care.Date) bool {
	return !enrolled.After(to) && (closed.IsZero() || !closed.Before(from))
}

// FaceToFaceBuckets is the size of UnitYear's histogram: 0 … 7 face-to-face
// visits, then 8 or more (a year needs at most floor(366/90) = 4).
const FaceToFaceBuckets = 9

// UnitYear is the counters of one village clinic, disease and calendar year
// that every year-to-date or calendar-year indicator is computed from (the
// store keeps them in chronic_unit_years, moved by each follow-up,
// enrolment and status change in the same transaction):
//
//	Managed          patients under management in the year
//	FaceToFace[k]    of which with k face-to-face visits in the year (k = 8: 8 or more);
//	                 规范管理 over [1 Jan, to] = Σ FaceToFace[k ≥ VisitsDue(1 Jan, to)]
//	Controlled       of which whose last measurement of the year is at target (PatientPeriod.AtTarget)
//	Measured         of which with a measurement in the year (hypertension and diabetes)
//	Ended            TB: closed (treatment ended) within the year
//	EndedRegular     of which with ≥ the regular share of the year's doses taken (TBRegular, Config.TBRegularDosesRatio)
type UnitYear struct {
	ClinicID     int64
	Disease      Disease
	Year         int
	Managed      int
	FaceToFace   [FaceToFaceBuckets]int
	Controlled   int
	Measured     int
	Ended        int
	EndedRegular int
}

// Count adds (sign 1) or removes (sign -1) one patient's year — p holds the
// year's visits folded in and Ended for a closure within the year; the
// caller checks UnderManagement.
func (u *UnitYear) Count(p *PatientPeriod, c Config, sign int) {
	u.Managed += sign
	u.FaceToFace[min(max(p.FaceToFace, 0), FaceToFaceBuckets-1)] += sign
	if p.AtTarget(c) {
		u.Controlled += sign
	}
	if p.Disease.HasControlRate() && (p.LastSBP > 0 && p.Disease == Hypertension || p.LastFPG > 0 && p.Disease == Diabetes) {
		u.Measured += sign
	}
	if p.Disease == Tuberculosis && p.Ended {
		u.Ended += sign
		if TBRegular(p.DosesDue-p.DosesMissed, p.DosesDue, c) {
			u.EndedRegular += sign
		}
	}
}

// Sub returns the counters u − o (same unit), for moving a patient.
func (u UnitYear) Sub(o UnitYear) UnitYear {
	u.Managed -= o.Managed
	for i := range u.FaceToFace {
		u.FaceToFace[i] -= o.FaceToFace[i]
	}
	u.Controlled -= o.Controlled
	u.Measured -= o.Measured
	u.Ended -= o.Ended
	u.EndedRegular -= o.EndedRegular
	return u
}

// IsZero reports whether every counter is 0.
func (u *UnitYear) IsZero() bool {
	z := UnitYear{ClinicID: u.ClinicID, Disease: u.Disease, Year: u.Year}
	return *u == z
}

// PerSpec is the number of patients with at least due face-to-face visits.
func (u *UnitYear) PerSpec(due int) int {
	n := 0
	for k := min(max(due, 0), FaceToFaceBuckets-1); k < FaceToFaceBuckets; k++ {
		n += u.FaceToFace[k]
	}
	return n
}

// AddUnitYear counts a clinic's counters for a calendar year or year to
// date (t.From is 1 January of u.Year): the same sums Add makes patient by
// patient.
func (t *Tally) AddUnitYear(u *UnitYear) {
	if u.Managed == 0 {
		return
	}
	if t.cells == nil {
		t.cells, t.units = map[UnitDisease]*Indicators{}, map[int64][]int64{}
	}
	us, ok := t.units[u.ClinicID]
	if !ok {
		us = t.UnitsOf(u.ClinicID)
		t.units[u.ClinicID] = us
	}
	std := u.PerSpec(VisitsDue(t.From, t.To))
	for _, x := range us {
		k := UnitDisease{x, u.Disease}
		c := t.cells[k]
		if c == nil {
			c = &Indicators{}
			t.cells[k] = c
		}
		c.Managed += u.Managed
		c.Standardised.Den += u.Managed
		c.Standardised.Num += std
		if u.Disease.HasControlRate() {
			c.Controlled.Den += u.Managed
			c.Controlled.Num += u.Controlled
		}
		if u.Disease == Tuberculosis {
			c.RegularDoses.Den += u.Ended
			c.RegularDoses.Num += u.EndedRegular
		}
	}
}
