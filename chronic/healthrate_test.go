package chronic

import (
	"testing"

	"pgregory.net/rapid"
)

// A small village whose estimate (residents ≥ 35 × prevalence) is below the
// patients it manages showed 健康管理率 160 % (issue 18). The spec's
// denominator is the area's patients (高血压患者健康管理服务规范 四、工作指标:
// 健康管理率 = 年内已管理的高血压患者人数 / 年内辖区内高血压患者总人数;
// the total estimated as population × prevalence); the managed patients are
// patients of the area, so they bound it from below.
func TestHealthManagedRateSmallVillage(t *testing.T) {
	c := DefaultConfig() // hypertension 27.9 %
	tl := Tally{From: day("2026-01-01"), To: day("2026-12-31"), Config: c, UnitsOf: func(int64) []int64 { return []int64{7} }}
	for range 8 {
		tl.Add(&PatientPeriod{Disease: Hypertension, ClinicID: 7})
	}
	tl.Estimate(7, 18) // 18 × 27.9 % = 5 estimated, 8 managed: was 8/5 = 160 %
	x := tl.Result()[UnitDisease{7, Hypertension}]
	if x.Estimated != 5 || x.HealthManaged != (Rate{8, 8}) || x.HealthManaged.BP() != 10000 || !x.EstimateRaised() {
		t.Errorf("%+v (%d bp), want 8/8 with the estimate 5 raised to the managed 8", x, x.HealthManaged.BP())
	}
}

// Property: for any village and the township above it, from either path
// (patient by patient or the per-unit year counters), 0 ≤ 健康管理率 ≤ 100 %,
// its numerator is the patients under management, and its denominator is
// the estimate unless the estimate is below them.
func TestHealthManagedRateInRange(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		c := DefaultConfig()
		c.PrevalenceBP = map[Disease]int{
			Hypertension: rapid.IntRange(0, 10000).Draw(rt, "prevHT"),
			Diabetes:     rapid.IntRange(0, 10000).Draw(rt, "prevDM"),
		}
		const town = 1
		tl := Tally{From: day("2026-01-01"), To: day("2026-12-31"), Config: c, UnitsOf: func(v int64) []int64 { return []int64{v, town} }}
		villages := rapid.IntRange(1, 6).Draw(rt, "villages")
		townAdults := 0
		for v := int64(10); v < int64(10+villages); v++ {
			for _, d := range []Disease{Hypertension, Diabetes} {
				n := rapid.IntRange(0, 300).Draw(rt, "managed")
				if rapid.Bool().Draw(rt, "counters") {
					tl.AddUnitYear(&UnitYear{ClinicID: v, Disease: d, Year: 2026, Managed: n, Controlled: rapid.IntRange(0, n).Draw(rt, "ctl")})
				} else {
					for range n {
						tl.Add(&PatientPeriod{Disease: d, ClinicID: v, LastFPG: 60, LastSBP: 130, LastDBP: 80})
					}
				}
			}
			adults := rapid.IntRange(0, 2000).Draw(rt, "adults")
			townAdults += adults
			tl.Estimate(v, adults)
		}
		tl.Estimate(town, townAdults)
		for k, x := range tl.Result() {
			if !k.Disease.HasControlRate() || c.PrevalenceBP[k.Disease] == 0 {
				if x.HealthManaged != (Rate{}) {
					rt.Fatalf("%v: rate %+v without a prevalence", k, x.HealthManaged)
				}
				continue
			}
			r := x.HealthManaged
			if bp := r.BP(); bp < 0 || bp > 10000 || r.Num > r.Den || r.Num != x.Managed {
				rt.Fatalf("%v: 健康管理率 %+v = %d bp (estimated %d, managed %d)", k, r, bp, x.Estimated, x.Managed)
			}
			if x.Estimated >= x.Managed && r.Den != x.Estimated || x.Estimated < x.Managed && r.Den != x.Managed {
				rt.Fatalf("%v: denominator %d, estimated %d, managed %d", k, r.Den, x.Estimated, x.Managed)
			}
		}
	})
}

// Property (issue 18): for every disease and any visit, an urgent-transfer
// outcome is never "controlled" (2 型糖尿病/高血压患者健康管理服务规范
// 二、服务内容(二)1; 严重精神障碍患者管理服务规范 二(三)).
func TestUrgentNeverControlledProperty(t *testing.T) {
	syms := []Symptom{SymConsciousness, SymSevereHeadache, SymNauseaVomiting, SymBlurredVision, SymEyePain, SymPalpitations,
		SymChestTightness, SymOrthopnoea, SymFruityBreath, SymSweating, SymDeepBreathing, SymFlushedSkin, SymSuddenVisionLoss, SymPolyuria}
	rapid.Check(t, func(rt *rapid.T) {
		d := rapid.SampledFrom([]Disease{Hypertension, Diabetes, Mental, Tuberculosis, Hepatitis}).Draw(rt, "disease")
		v := Visit{Disease: d, Date: day("2026-05-01"),
			SBP: rapid.IntRange(0, 260).Draw(rt, "sbp"), DBP: rapid.IntRange(0, 160).Draw(rt, "dbp"),
			HeartRate: rapid.IntRange(0, 180).Draw(rt, "hr"), FPG: rapid.IntRange(0, 300).Draw(rt, "fpg"),
			Temperature: rapid.IntRange(0, 420).Draw(rt, "temp"), Pregnant: rapid.Bool().Draw(rt, "pregnant"),
			Adverse: rapid.Bool().Draw(rt, "adverse"), Complication: rapid.Bool().Draw(rt, "complication"),
			RiskLevel: rapid.IntRange(0, 5).Draw(rt, "risk"), Insight: rapid.Bool().Draw(rt, "insight"),
			Symptomatic: rapid.Bool().Draw(rt, "symptomatic"), DosesDue: rapid.IntRange(0, 30).Draw(rt, "due")}
		v.DosesMissed = rapid.IntRange(0, v.DosesDue).Draw(rt, "missed")
		if rapid.Bool().Draw(rt, "symptom") {
			v.Symptoms = []Symptom{rapid.SampledFrom(syms).Draw(rt, "which")}
		}
		prev := rapid.SampledFrom([]Class{"", Controlled, Uncontrolled, Adverse, Stable, BasicallyStable}).Draw(rt, "prev")
		o := Assess(&v, &Registration{Disease: d, LastClass: prev}, rapid.IntRange(18, 95).Draw(rt, "age"), cfg)
		if len(o.Urgent) > 0 && (o.Class == Controlled || o.Class == Stable) {
			rt.Fatalf("%s visit %+v: urgent %v but class %s", d, v, o.Urgent, o.Class)
		}
	})
}
