package povertywatch

import (
	"context"
	"strings"
	"testing"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/org"
	"countycare/resident"
)

// The built-in list follows 国卫医发〔2018〕10号: children's congenital heart
// disease and leukaemia at partner (provincial) hospitals, the common
// cancers and end-stage renal disease at the county hospital too.
func TestDefaultSpecialList(t *testing.T) {
	l := DefaultSpecialList()
	if len(l.Diseases) < 9 || !strings.Contains(l.Source, "国卫医发〔2018〕10号") {
		t.Fatalf("list: %d diseases, source %q", len(l.Diseases), l.Source)
	}
	asd := l.Disease("chd_asd")
	if asd == nil || asd.ICD10[0] != "Q21.1" || len(asd.Hospitals) != 1 || asd.Hospitals[0] != "partner_hospital" || asd.Price != 3_000_000 {
		t.Errorf("ASD: %+v", asd)
	}
	if l.Disease("nope") != nil {
		t.Error("an unknown code found a disease")
	}
}

func TestCovers(t *testing.T) {
	l := DefaultSpecialList()
	for _, tt := range []struct {
		disease, dx string
		want        bool
	}{
		{"chd_asd", "Q21.1", true},
		{"chd_asd", "q21.1", true}, // normalised
		{"chd_asd", "Q21.2", false},
		{"chd_asd", "Q21", false}, // the category is wider than the disease
		{"oesophageal_cancer", "C15.9", true},
		{"oesophageal_cancer", "C15", true},
		{"oesophageal_cancer", "C150", true}, // normalised to C15.0
		{"oesophageal_cancer", "C16.0", false},
		{"gastric_cancer", "C16.0", true},
		{"esrd", "N18.5", true},
		{"esrd", "N18.4", false},
		{"colon_cancer", "", false},
	} {
		if got := l.Disease(tt.disease).Covers(tt.dx); got != tt.want {
			t.Errorf("%s covers %q: %t, want %t", tt.disease, tt.dx, got, tt.want)
		}
	}
	// A code prefix followed by a digit: C1 covers C15.9 (a list may name a block).
	d := &SpecialDisease{ICD10: []string{"C1"}}
	if !d.Covers("C15.9") || !d.Covers("C10.0") || !d.Covers("C19.9") || d.Covers("C2") || d.Covers("C1A") {
		t.Error("prefix followed by a digit")
	}
}

func TestParseSpecialList(t *testing.T) {
	ok := `{"diseases":[{"code":"x","name":"甲","name_en":"X","icd10":["c15"],"price":"100","hospitals":["county_hospital"]}]}`
	l, err := ParseSpecialList([]byte(ok))
	if err != nil || l.Diseases[0].ICD10[0] != "C15" || l.Diseases[0].Price != 10000 {
		t.Fatalf("%+v %v", l, err)
	}
	for _, tt := range []struct{ name, json, want string }{
		{"unknown field", `{"diseases":[],"extra":1}`, "unknown field"},
		{"empty", `{"diseases":[]}`, "no diseases"},
		{"no code", `{"diseases":[{"name":"甲","name_en":"X","icd10":["C15"],"hospitals":["county_hospital"]}]}`, "disease 1: code \"\" missing or repeated"},
		{"code twice", `{"diseases":[{"code":"x","name":"甲","name_en":"X","icd10":["C15"],"hospitals":["county_hospital"]},{"code":"x","name":"乙","name_en":"Y","icd10":["C16"],"hospitals":["county_hospital"]}]}`, "missing or repeated"},
		{"no name", `{"diseases":[{"code":"x","name_en":"X","icd10":["C15"],"hospitals":["county_hospital"]}]}`, "name and name_en"},
		{"no English name", `{"diseases":[{"code":"x","name":"甲","icd10":["C15"],"hospitals":["county_hospital"]}]}`, "name and name_en"},
		{"no codes", `{"diseases":[{"code":"x","name":"甲","name_en":"X","hospitals":["county_hospital"]}]}`, "no ICD-10"},
		{"bad code", `{"diseases":[{"code":"x","name":"甲","name_en":"X","icd10":["CANCER"],"hospitals":["county_hospital"]}]}`, "not an ICD-10 code"},
		{"no hospitals", `{"diseases":[{"code":"x","name":"甲","name_en":"X","icd10":["C15"]}]}`, "no designated"},
		{"village clinic", `{"diseases":[{"code":"x","name":"甲","name_en":"X","icd10":["C15"],"hospitals":["village_clinic"]}]}`, "cannot be a designated"},
		{"negative price", `{"diseases":[{"code":"x","name":"甲","name_en":"X","icd10":["C15"],"price":"-1","hospitals":["county_hospital"]}]}`, "negative"},
	} {
		if _, err := ParseSpecialList([]byte(tt.json)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
	// Both designated kinds pass; a price of 0 is "priced per bill".
	if _, err := ParseSpecialList([]byte(`{"diseases":[{"code":"x","name":"甲","name_en":"X","icd10":["C15"],"price":"0","hospitals":["county_hospital","partner_hospital"]}]}`)); err != nil {
		t.Errorf("both kinds: %v", err)
	}
}

func TestNextSpecialStatus(t *testing.T) {
	want := map[[2]string]string{
		{SpecialEnrolled, SpecialStart}:    SpecialTreating,
		{SpecialEnrolled, SpecialEnd}:      SpecialEnded,
		{SpecialTreating, SpecialComplete}: SpecialCompleted,
		{SpecialTreating, SpecialEnd}:      SpecialEnded,
	}
	for _, st := range SpecialStatuses {
		for _, step := range []string{SpecialStart, SpecialComplete, SpecialEnd, "reopen"} {
			if got := NextSpecialStatus(st, step); got != want[[2]string{st, step}] {
				t.Errorf("%s + %s = %q, want %q", st, step, got, want[[2]string{st, step}])
			}
		}
	}
}

func TestCountSpecial(t *testing.T) {
	l := SpecialList{Diseases: []SpecialDisease{{Code: "a"}, {Code: "b"}}}
	cases := []SpecialCase{{Disease: "a", Status: SpecialEnrolled}, {Disease: "a", Status: SpecialTreating}, {Disease: "a", Status: SpecialCompleted},
		{Disease: "a", Status: SpecialCompleted}, {Disease: "a", Status: SpecialEnded}, {Disease: "gone", Status: SpecialEnded}}
	got := CountSpecial(l, cases)
	if len(got) != 2 || got[0] != (SpecialCount{"a", 1, 1, 2, 1}) || got[1] != (SpecialCount{Disease: "b"}) {
		t.Fatalf("%+v", got)
	}
	if p, ok := got[0].Completion(); !ok || p != 6666 {
		t.Errorf("completion %d %t, want 66.66 %%", p, ok)
	}
	if _, ok := got[1].Completion(); ok {
		t.Error("no closed case gave a completion")
	}
	if p, ok := (SpecialCount{Completed: 1}).Completion(); !ok || p != 10000 {
		t.Errorf("all completed: %d", p)
	}
	if p, ok := (SpecialCount{Ended: 1}).Completion(); !ok || p != 0 {
		t.Errorf("all ended: %d", p)
	}
}

type fakeSpecial struct {
	c      SpecialCase
	audits []audit.Event
	stale  bool
	listed int
}

func (f *fakeSpecial) CreateSpecialCase(_ context.Context, c *SpecialCase, ev audit.Event) error {
	f.c, f.audits = *c, append(f.audits, ev)
	return nil
}
func (f *fakeSpecial) SpecialCase(_ context.Context, county string, id int64) (*SpecialCase, error) {
	if id != f.c.ID || county != f.c.County {
		return nil, &care.Error{Code: care.ENOTFOUND}
	}
	c := f.c
	return &c, nil
}
func (f *fakeSpecial) UpdateSpecialCase(_ context.Context, c *SpecialCase, ev audit.Event) error {
	if f.stale || c.Version != f.c.Version {
		return &care.Error{Code: care.ECONFLICT}
	}
	f.c, f.audits = *c, append(f.audits, ev)
	f.c.Version++
	return nil
}
func (f *fakeSpecial) SpecialCases(context.Context, string, int) ([]SpecialCase, error) {
	f.listed++
	return []SpecialCase{f.c}, nil
}

func TestSpecialStep(t *testing.T) {
	at := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	f := &fakeSpecial{c: SpecialCase{ID: 5, County: "411723", ResidentID: 9, Disease: "esrd", Status: SpecialEnrolled, Version: 1}}
	s := &Special{Repo: f, List: DefaultSpecialList(), Audit: &recorder{}, Now: func() time.Time { return at }}
	ctx := context.Background()
	if _, err := s.Step(ctx, care.Actor{Role: care.RoleCountySpecialist, CountyCode: "411723"}, 5, SpecialStart, "", 1); !care.IsCode(err, care.EFORBIDDEN) {
		t.Errorf("specialist: %v", err)
	}
	if _, err := s.Step(ctx, officer, 6, SpecialStart, "", 1); !care.IsCode(err, care.ENOTFOUND) {
		t.Errorf("unknown case: %v", err)
	}
	if _, err := s.Step(ctx, officer, 5, SpecialComplete, "", 1); !care.IsCode(err, care.EINVALID) {
		t.Errorf("complete before start: %v", err)
	}
	c, err := s.Step(ctx, officer, 5, SpecialStart, "", 1)
	if err != nil || c.Status != SpecialTreating || !c.StartedAt.Equal(at) || c.Version != 2 || !c.ClosedAt.IsZero() {
		t.Fatalf("start: %+v %v", c, err)
	}
	if _, err := s.Step(ctx, officer, 5, SpecialEnd, "  ", 2); !care.IsCode(err, care.EINVALID) {
		t.Errorf("end without a reason: %v", err)
	}
	if _, err := s.Step(ctx, officer, 5, SpecialEnd, strings.Repeat("因", MaxSpecialNote+1), 2); !care.IsCode(err, care.EINVALID) {
		t.Errorf("long note: %v", err)
	}
	if _, err := s.Step(ctx, officer, 5, SpecialComplete, "", 1); !care.IsCode(err, care.ECONFLICT) {
		t.Errorf("a stale version: %v", err)
	}
	c, err = s.Step(ctx, officer, 5, SpecialEnd, " 转外省治疗 ", 2)
	if err != nil || c.Status != SpecialEnded || c.Note != "转外省治疗" || !c.ClosedAt.Equal(at) {
		t.Fatalf("end: %+v %v", c, err)
	}
	if len(f.audits) != 2 || f.audits[1].Action != ActSpecialUpdate || f.audits[1].ResidentID != 9 || !strings.Contains(f.audits[1].Detail, "end → ended") {
		t.Errorf("audits %+v", f.audits)
	}
	// A note at the limit is accepted.
	f.c.Status, f.c.Version = SpecialTreating, 7
	if _, err := s.Step(ctx, officer, 5, SpecialEnd, strings.Repeat("因", MaxSpecialNote), 7); err != nil {
		t.Errorf("note at the limit: %v", err)
	}
	// The register is the insurance office's, and reading it is audited.
	rec := &recorder{}
	s.Audit = rec
	if _, _, err := s.Register(ctx, care.Actor{Role: care.RoleAnalyst, CountyCode: "411723"}); !care.IsCode(err, care.EFORBIDDEN) {
		t.Errorf("analyst: %v", err)
	}
	cases, counts, err := s.Register(ctx, officer)
	if err != nil || len(cases) != 1 || len(counts) != len(s.List.Diseases) || len(rec.events) != 1 || rec.events[0].Action != ActSpecialList {
		t.Errorf("register: %d %d %v %+v", len(cases), len(counts), err, rec.events)
	}
	if _, err := s.Enrol(ctx, care.Actor{Role: care.RoleVillageDoctor, CountyCode: "411723"}, 1, "esrd", "N18.5", 1); !care.IsCode(err, care.EFORBIDDEN) {
		t.Errorf("village doctor enrols: %v", err)
	}
}

type fakeResidents map[int64]*resident.Resident

func (f fakeResidents) Get(_ context.Context, _ care.Actor, id int64) (*resident.Resident, error) {
	if r, ok := f[id]; ok {
		return r, nil
	}
	return nil, &care.Error{Code: care.ENOTFOUND}
}

type fakeTree struct{ t *org.Tree }

func (f fakeTree) Tree(context.Context) (*org.Tree, error) { return f.t, nil }

// TestSpecialEnrol: only a poor resident, a listed disease, a diagnosis
// the disease covers and a hospital of a designated kind.
func TestSpecialEnrol(t *testing.T) {
	at := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	f := &fakeSpecial{}
	tree := org.NewTree([]org.Institution{{ID: 1, Kind: org.KindCountyHospital}, {ID: 2, Kind: org.KindPartner}, {ID: 3, Kind: org.KindTownshipHC}})
	s := &Special{Repo: f, List: DefaultSpecialList(), Audit: &recorder{}, Now: func() time.Time { return at }, Orgs: fakeTree{tree},
		Residents: fakeResidents{10: {ID: 10, CountyCode: "411723", Name: "甲", Poverty: resident.PovertySubsistence}, 11: {ID: 11, CountyCode: "411723", Name: "乙"}}}
	ctx := context.Background()
	bad := func(resident int64, disease, dx string, hospital int64, fields ...string) {
		t.Helper()
		_, err := s.Enrol(ctx, officer, resident, disease, dx, hospital)
		ce, _ := err.(*care.Error)
		if ce == nil || ce.Code != care.EINVALID || len(ce.Fields) != len(fields) {
			t.Fatalf("%s %s %d: %v, want %v", disease, dx, hospital, err, fields)
		}
		for i, fe := range ce.Fields {
			if fe.Field != fields[i] {
				t.Errorf("%s %s %d: field %s, want %s", disease, dx, hospital, fe.Field, fields[i])
			}
		}
	}
	bad(10, "flu", "J11", 1, "disease")
	bad(10, "flu", "J11", 0, "disease", "hospital_id")
	bad(10, "gastric_cancer", "C15.9", 1, "diagnosis")
	bad(10, "gastric_cancer", "C16.0", 3, "hospital_id")  // a township centre
	bad(10, "gastric_cancer", "C16.0", 99, "hospital_id") // no such institution
	bad(10, "gastric_cancer", "C16.0", -1, "hospital_id")
	bad(10, "chd_asd", "Q21.1", 1, "hospital_id")        // children's heart surgery: partner hospitals only
	bad(11, "gastric_cancer", "C16.0", 1, "resident_id") // not poor
	if _, err := s.Enrol(ctx, officer, 12, "gastric_cancer", "C16.0", 1); !care.IsCode(err, care.ENOTFOUND) {
		t.Errorf("unknown resident: %v", err)
	}
	if f.c.ID != 0 || len(f.audits) != 0 {
		t.Fatal("a refused enrolment was stored")
	}
	c, err := s.Enrol(ctx, officer, 10, "chd_asd", "q21.1", 2)
	if err != nil {
		t.Fatal(err)
	}
	want := SpecialCase{County: "411723", ResidentID: 10, ResidentName: "甲", Disease: "chd_asd", Diagnosis: "Q21.1", HospitalID: 2, Status: SpecialEnrolled, EnrolledAt: at, By: 7, Version: 1}
	if *c != want || f.c != want {
		t.Errorf("case %+v, want %+v", *c, want)
	}
	if len(f.audits) != 1 || f.audits[0].Action != ActSpecialEnrol || f.audits[0].ResidentID != 10 || f.audits[0].Detail != "chd_asd Q21.1 at institution 2" {
		t.Errorf("audit %+v", f.audits)
	}
}
