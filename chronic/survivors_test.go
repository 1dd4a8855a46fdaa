package chronic

// Tests written against the mutants gremlins left alive (issue 18 §6,
// docs/mutation.md), each pinning the rule the mutant broke.

import (
	"strings"
	"testing"

	"countycare/care"
)

// TestUnknownDiseaseRefused pins Disease.Valid (the five registries of
// docs/chronic.md): a follow-up or a prevalence estimate for any other
// disease is refused.
func TestUnknownDiseaseRefused(t *testing.T) {
	for _, d := range Diseases {
		if !d.Valid() {
			t.Errorf("%s not valid", d)
		}
	}
	if Disease("cancer").Valid() || Disease("").Valid() {
		t.Error("an unknown disease is valid")
	}
	errs, _ := CheckVisit(&Visit{Disease: "cancer", Date: day("2026-05-01")}, day("1960-01-01"), day("2026-05-01"))
	if len(errs) != 1 || errs[0].Key != "chronic.disease.invalid" {
		t.Errorf("visit of an unknown disease: %v", errs)
	}
}

// TestBMIRounding pins Visit.BMI: weight / height² in tenths, rounded half
// up (70.5 kg, 1.70 m → 24.39 → 24.4), 0 when weight or height is missing.
func TestBMIRounding(t *testing.T) {
	for _, tt := range []struct {
		dg, cm, want int
	}{{705, 170, 244}, {700, 170, 242}, {700, 0, 0}, {0, 170, 0}, {650, 160, 254}} {
		v := Visit{WeightDg: tt.dg, HeightCm: tt.cm}
		if got := v.BMI(); got != tt.want {
			t.Errorf("BMI(%d dg, %d cm) = %d, want %d", tt.dg, tt.cm, got, tt.want)
		}
	}
}

// TestConfigPercentAndDayBounds pins Config.Check: prevalence in basis
// points 0–10000, call-outcome hide days 0–365 (policy-rules.md §1, [U]).
func TestConfigPercentAndDayBounds(t *testing.T) {
	for _, tt := range []struct {
		json string
		ok   bool
	}{
		{`{"PrevalenceBP": {"hypertension": 0}}`, true},
		{`{"PrevalenceBP": {"hypertension": 10000}}`, true},
		{`{"PrevalenceBP": {"hypertension": -1}}`, false},
		{`{"PrevalenceBP": {"cancer": 100}}`, false},
		{`{"CallHideDays": {"agreed": 0}}`, true},
		{`{"CallHideDays": {"agreed": 365}}`, true},
		{`{"CallHideDays": {"agreed": 366}}`, false},
		{`{"CallHideDays": {"agreed": -1}}`, false},
	} {
		if _, err := LoadConfig(strings.NewReader(tt.json)); (err == nil) != tt.ok {
			t.Errorf("%s: %v, want ok=%v", tt.json, err, tt.ok)
		}
	}
}

// TestPatientPeriodFolding pins PatientPeriod.AddVisit (the indicators of
// policy-rules.md §1 count a patient's visits, face-to-face visits, the
// last readings and the TB doses of the period).
func TestPatientPeriodFolding(t *testing.T) {
	var p PatientPeriod
	for _, v := range []Visit{
		{Date: day("2026-02-01"), FaceToFace: true, SBP: 150, DBP: 95, DosesDue: 10, DosesMissed: 1},
		{Date: day("2026-03-01"), FPG: 72, DosesDue: 10},
		{Date: day("2026-04-01"), FaceToFace: true, DosesDue: 10, DosesMissed: 2},
	} {
		p.AddVisit(&v)
	}
	if p.Visits != 3 || p.FaceToFace != 2 || p.LastSBP != 150 || p.LastDBP != 95 || p.LastFPG != 72 ||
		p.DosesDue != 30 || p.DosesMissed != 3 || p.LastVisitDate != day("2026-04-01") {
		t.Errorf("folded period %+v", p)
	}
}

// TestControlRateTargets pins PatientPeriod.AtTarget (控制率, policy-rules.md
// §1.1 SBP < 140 and DBP < 90 whatever the age; §1.2 FPG < 7.0), one step
// either side, and no control for a patient never measured.
func TestControlRateTargets(t *testing.T) {
	for _, tt := range []struct {
		p    PatientPeriod
		want bool
	}{
		{PatientPeriod{Disease: Hypertension, LastSBP: 139, LastDBP: 89}, true},
		{PatientPeriod{Disease: Hypertension, LastSBP: 140, LastDBP: 89}, false},
		{PatientPeriod{Disease: Hypertension, LastSBP: 139, LastDBP: 90}, false},
		{PatientPeriod{Disease: Hypertension}, false},
		{PatientPeriod{Disease: Diabetes, LastFPG: 69}, true},
		{PatientPeriod{Disease: Diabetes, LastFPG: 70}, false},
		{PatientPeriod{Disease: Diabetes}, false},
		{PatientPeriod{Disease: Tuberculosis, LastSBP: 120, LastDBP: 70}, false},
	} {
		if got := tt.p.AtTarget(cfg); got != tt.want {
			t.Errorf("%s %d/%d FPG %d: at target %v, want %v", tt.p.Disease, tt.p.LastSBP, tt.p.LastDBP, tt.p.LastFPG, got, tt.want)
		}
	}
}

// TestUnitYearCounting pins UnitYear.Count and PerSpec (docs/chronic.md: the
// per-year counters behind 规范管理率 and 控制率): a patient counts as
// measured only with a reading of their disease; face-to-face visits from
// FaceToFaceBuckets−1 (8) up share the last bucket, so a due count beyond it
// still finds them.
func TestUnitYearCounting(t *testing.T) {
	var u UnitYear
	for _, p := range []PatientPeriod{
		{Disease: Hypertension, FaceToFace: 12, LastSBP: 130, LastDBP: 80}, // measured, controlled
		{Disease: Hypertension, FaceToFace: 2},                             // never measured
		{Disease: Hypertension, FaceToFace: 4, LastFPG: 80},                // a glucose reading does not measure hypertension
		{Disease: Diabetes, FaceToFace: 8, LastFPG: 65},                    // measured, controlled
		{Disease: Diabetes, LastSBP: 130, LastDBP: 80},                     // a BP reading does not measure diabetes
	} {
		u.Count(&p, cfg, 1)
	}
	if u.Managed != 5 || u.Measured != 2 || u.Controlled != 2 {
		t.Errorf("managed %d measured %d controlled %d, want 5, 2, 2", u.Managed, u.Measured, u.Controlled)
	}
	// One patient at a time, so that two wrong counts cannot cancel out.
	for _, tt := range []struct {
		p        PatientPeriod
		measured int
	}{
		{PatientPeriod{Disease: Hypertension, LastSBP: 130, LastDBP: 80}, 1},
		{PatientPeriod{Disease: Hypertension, LastFPG: 80}, 0},
		{PatientPeriod{Disease: Diabetes, LastFPG: 65}, 1},
		{PatientPeriod{Disease: Diabetes, LastSBP: 130, LastDBP: 80}, 0},
		{PatientPeriod{Disease: Tuberculosis, LastSBP: 130, LastDBP: 80, LastFPG: 65}, 0},
	} {
		var one UnitYear
		one.Count(&tt.p, cfg, 1)
		if one.Measured != tt.measured || one.Managed != 1 {
			t.Errorf("%s SBP %d FPG %d: measured %d, want %d", tt.p.Disease, tt.p.LastSBP, tt.p.LastFPG, one.Measured, tt.measured)
		}
	}
	if u.FaceToFace[FaceToFaceBuckets-1] != 2 || u.PerSpec(100) != 2 || u.PerSpec(8) != 2 || u.PerSpec(4) != 3 || u.PerSpec(0) != 5 {
		t.Errorf("buckets %v: PerSpec(100) %d, (8) %d, (4) %d, (0) %d; want 2, 2, 3, 5", u.FaceToFace, u.PerSpec(100), u.PerSpec(8), u.PerSpec(4), u.PerSpec(0))
	}
	if u.IsZero() || !(&UnitYear{ClinicID: 3, Year: 2026}).IsZero() {
		t.Error("IsZero")
	}
}

// TestPlausibleRangeEdges pins CheckVisit's plausible ranges (validate.go:
// a value outside is impossible, the limits themselves are possible): SBP
// 50–300, DBP 20–200, FPG 1.0–40.0 mmol/L, heart rate 20–250.
func TestPlausibleRangeEdges(t *testing.T) {
	birth, today := day("1960-01-01"), day("2026-05-01")
	for _, tt := range []struct {
		v  Visit
		ok bool
	}{
		{Visit{Disease: Hypertension, Date: today, SBP: MinSBP + 1, DBP: MinDBP}, true},
		{Visit{Disease: Hypertension, Date: today, SBP: MaxSBP, DBP: MaxDBP}, true},
		{Visit{Disease: Hypertension, Date: today, SBP: MinSBP - 1, DBP: MinDBP}, false},
		{Visit{Disease: Hypertension, Date: today, SBP: 120, DBP: MinDBP - 1}, false},
		{Visit{Disease: Diabetes, Date: today, FPG: MinFPG}, true},
		{Visit{Disease: Diabetes, Date: today, FPG: MaxFPG}, true},
		{Visit{Disease: Diabetes, Date: today, FPG: MaxFPG + 1}, false},
		{Visit{Disease: Diabetes, Date: today, FPG: 60, HeartRate: MinHR}, true},
		{Visit{Disease: Diabetes, Date: today, FPG: 60, HeartRate: MinHR - 1}, false},
	} {
		errs, _ := CheckVisit(&tt.v, birth, today)
		if (len(errs) == 0) != tt.ok {
			t.Errorf("%+v: errors %v, want ok=%v", tt.v, errs, tt.ok)
		}
	}
}

// TestVisitCheckEdges pins the rest of CheckVisit: SBP must be above DBP
// (equal is refused), risk level 0–5 (严重精神障碍 危险性评估 0–5 级), the
// three adherence answers of the national forms (规律/间断/不服药), and the
// warnings for extreme values to confirm: BP ≥ 250 or DBP ≥ 150, glucose
// ≥ 33.3 or ≤ 2.2 mmol/L, heart rate ≥ 180 or ≤ 35.
func TestVisitCheckEdges(t *testing.T) {
	birth, today := day("1960-01-01"), day("2026-05-01")
	keys := func(fs []care.FieldError) string {
		var ks []string
		for _, f := range fs {
			ks = append(ks, f.Key)
		}
		return strings.Join(ks, ",")
	}
	for _, tt := range []struct {
		v          Visit
		err, warns string
	}{
		{Visit{Disease: Hypertension, Date: today, SBP: 90, DBP: 90, FaceToFace: true}, "chronic.bp.order", ""},
		{Visit{Disease: Mental, Date: today, RiskLevel: 5}, "", ""},
		{Visit{Disease: Mental, Date: today, RiskLevel: -1}, "chronic.risk.range", ""},
		{Visit{Disease: Hypertension, Date: today, SBP: 130, DBP: 80, Adherence: AdherenceRegular}, "", ""},
		{Visit{Disease: Hypertension, Date: today, SBP: 130, DBP: 80, Adherence: AdherenceIntermittent}, "", ""},
		{Visit{Disease: Hypertension, Date: today, SBP: 130, DBP: 80, Adherence: AdherenceNone}, "", ""},
		{Visit{Disease: Hypertension, Date: today, SBP: 130, DBP: 80, Adherence: "sometimes"}, "chronic.adherence.invalid", ""},
		{Visit{Disease: Tuberculosis, Date: today, DosesDue: 10, DosesMissed: 10}, "", ""},
		{Visit{Disease: Tuberculosis, Date: today, DosesDue: 10, DosesMissed: 11}, "chronic.doses.range", ""},
		{Visit{Disease: Hypertension, Date: today, SBP: 249, DBP: 149}, "", ""},
		{Visit{Disease: Hypertension, Date: today, SBP: 250, DBP: 120}, "", "chronic.warn.bp_extreme"},
		{Visit{Disease: Hypertension, Date: today, SBP: 200, DBP: 150}, "", "chronic.warn.bp_extreme"},
		{Visit{Disease: Diabetes, Date: today, FPG: 332}, "", ""},
		{Visit{Disease: Diabetes, Date: today, FPG: 333}, "", "chronic.warn.glucose_extreme"},
		{Visit{Disease: Diabetes, Date: today, FPG: 23}, "", ""},
		{Visit{Disease: Diabetes, Date: today, FPG: 22}, "", "chronic.warn.glucose_extreme"},
		{Visit{Disease: Diabetes, Date: today, FPG: 60, HeartRate: 179}, "", ""},
		{Visit{Disease: Diabetes, Date: today, FPG: 60, HeartRate: 180}, "", "chronic.warn.heart_rate_extreme"},
		{Visit{Disease: Diabetes, Date: today, FPG: 60, HeartRate: 36}, "", ""},
		{Visit{Disease: Diabetes, Date: today, FPG: 60, HeartRate: 35}, "", "chronic.warn.heart_rate_extreme"},
		{Visit{Disease: Diabetes, Date: today, FPG: 60, FaceToFace: true}, "", "chronic.warn.no_bp_face_to_face"},
		{Visit{Disease: Mental, Date: today, FaceToFace: true}, "", ""},
	} {
		errs, warns := CheckVisit(&tt.v, birth, today)
		if keys(errs) != tt.err || keys(warns) != tt.warns {
			t.Errorf("%+v: errors %q warnings %q, want %q %q", tt.v, keys(errs), keys(warns), tt.err, tt.warns)
		}
	}
}

// TestUnmeasuredIsNeverControlled pins AtTarget's "last measurement" (控制率,
// policy-rules.md §1.2; docs/chronic.md "Indicators": the last measurement
// in the period at target): a diabetic without a glucose reading is not
// controlled whatever the county's glucose thresholds, even a low bound
// below zero, which Config.Check does not forbid.
func TestUnmeasuredIsNeverControlled(t *testing.T) {
	c := DefaultConfig()
	c.UrgentFPGLow = -1
	if (&PatientPeriod{Disease: Diabetes}).AtTarget(c) {
		t.Error("a diabetic never measured counted as controlled")
	}
	if !(&PatientPeriod{Disease: Diabetes, LastFPG: 10}).AtTarget(c) {
		t.Error("FPG 1.0 under a low bound of -0.1 is at target")
	}
}

// TestEstimateWithoutPrevalence pins Tally.Estimate and Result (docs/chronic.md
// "Indicators", 健康管理率 = patients under management / patients in the
// area): a disease without a configured prevalence gets no estimate, so no
// cell appears for a unit without patients of it, and no rate.
func TestEstimateWithoutPrevalence(t *testing.T) {
	c := DefaultConfig()
	c.PrevalenceBP = map[Disease]int{Hypertension: 0, Diabetes: 1120}
	tl := &Tally{Config: c, UnitsOf: func(id int64) []int64 { return []int64{id} }}
	tl.Estimate(11, 100)
	res := tl.Result()
	if _, ok := res[UnitDisease{11, Hypertension}]; ok || len(res) != 1 {
		t.Errorf("cells %v: hypertension has no prevalence and no patients", res)
	}
	if x := res[UnitDisease{11, Diabetes}]; x.Estimated != 11 || x.PrevalenceBP != 1120 {
		t.Errorf("diabetes estimate %+v", x)
	}
}

// TestEstimateRaisedOnlyWhenSmaller pins EstimateRaised (docs/chronic.md
// "Indicators": the page says when the managed count replaced the
// estimate): only with a rate, and only when the estimate was strictly
// smaller than the patients under management.
func TestEstimateRaisedOnlyWhenSmaller(t *testing.T) {
	for _, tt := range []struct {
		x    Indicators
		want bool
	}{
		{Indicators{Managed: 8, Estimated: 5, HealthManaged: Rate{8, 8}}, true},
		{Indicators{Managed: 8, Estimated: 8, HealthManaged: Rate{8, 8}}, false},
		{Indicators{Managed: 8, Estimated: 9, HealthManaged: Rate{8, 9}}, false},
		{Indicators{Managed: 3}, false}, // no prevalence: no rate, nothing raised
	} {
		if got := tt.x.EstimateRaised(); got != tt.want {
			t.Errorf("%+v: raised %v, want %v", tt.x, got, tt.want)
		}
	}
}
