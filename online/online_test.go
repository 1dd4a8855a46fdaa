package online

import (
	"testing"
	"time"

	"countycare/care"
	"countycare/chronic"
	"countycare/idcard"
)

func day(s string) care.Date {
	d, err := care.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// TestFindPriorDiagnosis: a follow-up matches an offline document of the
// same ICD-10 category (互联网诊疗管理办法 2018 第十六条: 针对相同诊断进行复诊),
// the most recent one wins, and a new category is a first visit.
func TestFindPriorDiagnosis(t *testing.T) {
	docs := []PriorDocument{
		{Kind: DocChronic, ID: 1, Codes: DiseaseICD10(chronic.Hypertension), On: day("2024-03-01")},
		{Kind: DocPrescription, ID: 2, Codes: []string{"I10.x00", "E11.9"}, On: day("2026-01-10")},
		{Kind: DocDischarge, ID: 3, Codes: []string{"J18.9"}, On: day("2025-05-05")},
	}
	for _, c := range []struct {
		code     string
		wantKind string
		wantID   int64
	}{
		{"I10", DocPrescription, 2},
		{"i11.9", DocChronic, 1},
		{"E11.901", DocPrescription, 2},
		{"J18", DocDischarge, 3},
		{"K29.5", "", 0},
		{"I2", "", 0},
	} {
		got := FindPriorDiagnosis(c.code, docs)
		switch {
		case c.wantID == 0 && got != nil:
			t.Errorf("%s: got %+v, want none (first visit)", c.code, got)
		case c.wantID != 0 && (got == nil || got.Kind != c.wantKind || got.ID != c.wantID):
			t.Errorf("%s: got %+v, want %s %d", c.code, got, c.wantKind, c.wantID)
		}
	}
	for _, d := range chronic.Diseases {
		if len(DiseaseICD10(d)) == 0 {
			t.Errorf("registry %s has no ICD-10 categories", d)
		}
	}
}

// TestPurgeAllowed: chat is kept at least 3 years (互联网诊疗监管细则 2022:
// 图文对话、音视频资料 ≥ 3 年), to the day.
func TestPurgeAllowed(t *testing.T) {
	written := time.Date(2023, 6, 1, 8, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		now  time.Time
		want bool
	}{
		{written.AddDate(1, 0, 0), false},
		{written.AddDate(3, 0, 0).Add(-time.Second), false},
		{written.AddDate(3, 0, 0), true},
		{written.AddDate(15, 0, 0), true},
	} {
		if got := PurgeAllowed(written, c.now); got != c.want {
			t.Errorf("written %s, now %s: got %v, want %v", written, c.now, got, c.want)
		}
	}
	if ChatRetention < 3*365*24*time.Hour {
		t.Errorf("ChatRetention %s under 3 years", ChatRetention)
	}
}

// TestGuardian: a child under 6 needs a guardian at an online visit
// (2018 第十九条); the guardian's name and ID number are checked, and the
// guardian must be an adult.
func TestGuardian(t *testing.T) {
	today := day("2026-11-30")
	if !NeedsGuardian(day("2021-12-01"), today) || NeedsGuardian(day("2020-11-30"), today) || NeedsGuardian(care.Date{}, today) {
		t.Error("NeedsGuardian: under 6 only")
	}
	adult := string(idcard.Make("510722", time.Date(1990, 4, 5, 0, 0, 0, 0, time.UTC), 12))
	minor := string(idcard.Make("510722", time.Date(2012, 4, 5, 0, 0, 0, 0, time.UTC), 12))
	bad := adult[:17] + map[bool]string{true: "0", false: "1"}[adult[17] != '0']
	for _, c := range []struct {
		g     Guardian
		field string
		key   string
	}{
		{Guardian{Name: "王秀英", IDNumber: adult}, "", ""},
		{Guardian{Name: "王", IDNumber: adult}, "guardian_name", "online.guardian_name"},
		{Guardian{Name: "王秀英", IDNumber: minor}, "guardian_id_number", "online.guardian_adult"},
		{Guardian{Name: "王秀英", IDNumber: bad}, "guardian_id_number", ""},
		{Guardian{Name: "王秀英", IDNumber: "123"}, "guardian_id_number", ""},
	} {
		fs := ValidateGuardian(&c.g, today)
		if c.field == "" {
			if len(fs) != 0 {
				t.Errorf("%+v: %v", c.g, fs)
			}
			continue
		}
		if len(fs) != 1 || fs[0].Field != c.field || (c.key != "" && fs[0].Key != c.key) {
			t.Errorf("%+v: got %v, want %s %s", c.g, fs, c.field, c.key)
		}
	}
}

// TestStepUpValid: the doctor's rights on a visit belong to the sign-in
// session that re-authenticated (监管细则 2022: real-name before each
// consultation, no proxy).
func TestStepUpValid(t *testing.T) {
	v := &Visit{Status: StatusInSession, DoctorAccount: 7, DoctorSession: 70}
	if !StepUpValid(v, 7, 70) {
		t.Error("same doctor, same session")
	}
	if StepUpValid(v, 7, 71) || StepUpValid(v, 8, 70) {
		t.Error("another session or another doctor")
	}
	v.Status = StatusEnded
	if StepUpValid(v, 7, 70) {
		t.Error("an ended visit")
	}
	if StepUpValid(&Visit{Status: StatusInSession}, 0, 0) {
		t.Error("no step-up at all")
	}
}
