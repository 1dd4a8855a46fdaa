package referral

// Boundary tests added for mutation testing (issue 18 §6): the ICD-10
// chapter ranges (ICD-10 2019, now package icd10), the indicator arithmetic of
// docs/referral.md (rates in basis points, nearest-rank percentiles) and
// the down-referral task checks (CheckTasks: 1–MaxTasks tasks, due from
// today to a year ahead, notes of at most 200 characters).

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"countycare/care"
	"countycare/org"
)

// TestRateAndPercentileArithmetic pins Rate.BP (basis points, rounded half
// up; 0 for an empty denominator) and Percentile (nearest rank ⌈p/100·n⌉).
func TestRateAndPercentileArithmetic(t *testing.T) {
	for _, tt := range []struct {
		r    Rate
		want int
	}{{Rate{1, 3}, 3333}, {Rate{2, 3}, 6667}, {Rate{1, 8}, 1250}, {Rate{1, 20000}, 1}, {Rate{1, 20001}, 0}, {Rate{5, 0}, 0}, {Rate{4, 4}, 10000}} {
		if got := tt.r.BP(); got != tt.want {
			t.Errorf("%d/%d = %d bp, want %d", tt.r.Num, tt.r.Den, got, tt.want)
		}
	}
	h := time.Hour
	ds := []time.Duration{10 * h, 2 * h, 4 * h, 7 * h, 1 * h}
	for p, want := range map[int]time.Duration{1: 1 * h, 20: 1 * h, 21: 2 * h, 60: 4 * h, 61: 7 * h, 100: 10 * h} {
		if got := Percentile(ds, p); got != want {
			t.Errorf("p%d of 5 = %v, want %v", p, got, want)
		}
	}
	if Percentile([]time.Duration{3 * h}, 90) != 3*h {
		t.Error("p90 of one value")
	}
	if ds[0] != 10*h {
		t.Error("Percentile sorted its input in place")
	}
}

// TestCheckTaskLimits pins CheckTasks (docs/referral.md, down-referral
// tasks): at least one and at most MaxTasks (10) tasks of a known kind,
// due from today to 366 days ahead, notes of at most 200 characters.
func TestCheckTaskLimits(t *testing.T) {
	today, _ := care.ParseDate("2026-06-01")
	task := func(due care.Date, note string) TaskInput { return TaskInput{Kind: TaskBP, Due: due, Note: note} }
	keys := func(fs []care.FieldError) string {
		var ks []string
		for _, f := range fs {
			ks = append(ks, f.Field+":"+f.Key)
		}
		return strings.Join(ks, ",")
	}
	n := func(k int) []TaskInput {
		ts := make([]TaskInput, k)
		for i := range ts {
			ts[i] = task(today, "")
		}
		return ts
	}
	for _, tt := range []struct {
		name string
		ts   []TaskInput
		want string
	}{
		{"due today", []TaskInput{task(today, "")}, ""},
		{"due yesterday", []TaskInput{task(today.AddDays(-1), "")}, "tasks.0:referral.task.due"},
		{"due in 366 days", []TaskInput{task(today.AddDays(366), "")}, ""},
		{"due in 367 days", []TaskInput{task(today.AddDays(367), "")}, "tasks.0:referral.task.due"},
		{"no due date", []TaskInput{task(care.Date{}, "")}, "tasks.0:referral.task.due"},
		{"200-character note", []TaskInput{task(today, strings.Repeat("测", 200))}, ""},
		{"201-character note", []TaskInput{task(today, strings.Repeat("测", 201))}, "tasks.0:field.too_long"},
		{"unknown kind", []TaskInput{{Kind: "dance", Due: today}}, "tasks.0:referral.task.kind"},
		{"no task", nil, "tasks:referral.tasks.required"},
		{"10 tasks", n(MaxTasks), ""},
		{"11 tasks", n(MaxTasks + 1), "tasks:referral.tasks.too_many"},
	} {
		if got := keys(CheckTasks(tt.ts, today)); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
	for _, k := range TaskKinds {
		if fs := CheckTasks([]TaskInput{{Kind: k, Due: today}}, today); len(fs) != 0 {
			t.Errorf("task kind %s refused: %v", k, fs)
		}
	}
}

// TestEmergencyCriteria pins policy-rules.md §3 (紧急转诊指征): every
// emergency criterion makes the referral an emergency; no other reason does.
func TestEmergencyCriteria(t *testing.T) {
	em := map[Reason]bool{EmConsciousness: true, EmSevereBP: true, EmChestBackPain: true, EmPulmonaryOedema: true, EmSuspectedACS: true}
	for _, r := range Reasons {
		if r.IsEmergency() != em[r] {
			t.Errorf("%s: IsEmergency %v", r, r.IsEmergency())
		}
		if got := UrgencyFor(Routine, []Reason{r}); (got == Emergency) != em[r] {
			t.Errorf("%s alone gives urgency %s", r, got)
		}
	}
	if UrgencyFor(Emergency, nil) != Emergency {
		t.Error("a chosen emergency is kept")
	}
	if FromChronic("4") != ChronicWorseComplication || FromChronic("3") != ChronicNewComplication ||
		FromChronic("2") != ChronicAdverseUncontrollable || FromChronic("1") != ChronicTwoUncontrolled {
		t.Error("chronic referral codes 1–4 (policy-rules.md §1.1) map to the wrong reasons")
	}
}

// TestUnitsOfAnInstitution pins unitsOf (docs/referral.md: indicators per
// township and for the county): a village clinic counts towards the
// nearest township-level center above it (only the nearest) and the
// county; a county hospital towards the county only.
func TestUnitsOfAnInstitution(t *testing.T) {
	tr := org.NewTree([]org.Institution{
		{ID: 1, Kind: org.KindCounty, CountyCode: "411723"},
		{ID: 2, ParentID: 1, Kind: org.KindCommunity, CountyCode: "411723"},
		{ID: 3, ParentID: 2, Kind: org.KindCountyHospital, CountyCode: "411723"},
		{ID: 10, ParentID: 2, Kind: org.KindCentralHC, CountyCode: "411723"},
		{ID: 15, ParentID: 10, Kind: org.KindSubCenter, CountyCode: "411723"},
		{ID: 16, ParentID: 15, Kind: org.KindVillageClinic, CountyCode: "411723"},
	})
	for inst, want := range map[int64]string{16: "[15 1]", 15: "[15 1]", 10: "[10 1]", 3: "[1]", 99: "[]"} {
		if got := fmt.Sprint(UnitsOf(tr, inst)); got != want {
			t.Errorf("UnitsOf(%d) = %s, want %s", inst, got, want)
		}
	}
}
