package consult

// Boundary tests added for mutation testing (issue 18 §6). They pin the
// routing rules of docs/consult.md and route.go (policy-rules.md §4: the
// invited doctor is a physician with ≥ 3 years of independent practice; a
// duty shift lasts at most 24 h, roster positions 1–20; a shift covers
// [Start, End)) and the rehabilitation plan (RehabIntervalDays: weekly).

import (
	"testing"
	"time"

	"countycare/care"
	"countycare/org"
)

// TestSlotLimits pins CheckSlot: a shift ends after it starts and lasts at
// most 24 hours; its position is 1–20.
func TestSlotLimits(t *testing.T) {
	start := time.Date(2026, 11, 30, 8, 0, 0, 0, care.Shanghai)
	for _, tt := range []struct {
		name  string
		end   time.Duration
		pos   int
		field string
	}{
		{"24 hours", 24 * time.Hour, 1, ""},
		{"24 hours and a second", 24*time.Hour + time.Second, 1, "end"},
		{"ends when it starts", 0, 1, "end"},
		{"position 20", time.Hour, 20, ""},
		{"position 21", time.Hour, 21, "position"},
		{"position 0", time.Hour, 0, "position"},
	} {
		fs := CheckSlot(&Slot{PractitionerID: 1, Start: start, End: start.Add(tt.end), Position: tt.pos})
		got := ""
		if len(fs) > 0 {
			got = fs[0].Field
		}
		if got != tt.field || len(fs) > 1 {
			t.Errorf("%s: %v, want %q", tt.name, fs, tt.field)
		}
	}
	if fs := CheckSlot(&Slot{Start: start, End: start.Add(time.Hour), Position: 1}); len(fs) != 1 || fs[0].Field != "practitioner_id" {
		t.Errorf("no practitioner: %v", fs)
	}
}

// TestEligibilityBoundaries pins Eligible (policy-rules.md §4): an active
// physician (TitleRank ≥ 3: 住院医师 and above, not 执业助理医师) of at
// least the requested title with at least minYears of independent practice.
func TestEligibilityBoundaries(t *testing.T) {
	day := care.Today(now)
	p := func(title org.Title, since care.Date, active bool) *org.Practitioner {
		return &org.Practitioner{ID: 1, Title: title, PracticeSince: since, Active: active}
	}
	threeYears := care.Date{Year: day.Year - 3, Month: day.Month, Day: day.Day}
	for _, tt := range []struct {
		name     string
		p        *org.Practitioner
		minTitle org.Title
		want     bool
	}{
		{"physician, exactly 3 years", p(org.TitlePhysician, threeYears, true), "", true},
		{"physician, a day short of 3 years", p(org.TitlePhysician, threeYears.AddDays(1), true), "", false},
		{"assistant physician", p(org.TitleAssistant, threeYears.AddDays(-400), true), "", false},
		{"inactive", p(org.TitleChief, threeYears, false), "", false},
		{"attending asked for attending", p(org.TitleAttending, threeYears, true), org.TitleAttending, true},
		{"physician asked for attending", p(org.TitlePhysician, threeYears, true), org.TitleAttending, false},
		{"nobody", nil, "", false},
	} {
		if got := Eligible(tt.p, tt.minTitle, 3, day); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestChainShiftEdges pins Chain: a doctor is on duty from the shift's
// start up to (not including) its end, in the case's department only, and
// appears once however many shifts list them.
func TestChainShiftEdges(t *testing.T) {
	day := care.Today(now)
	doc := func(id int64) *org.Practitioner {
		return &org.Practitioner{ID: id, Active: true, Title: org.TitleAttending, PracticeSince: day.AddDays(-3650)}
	}
	practs := map[int64]*org.Practitioner{1: doc(1), 2: doc(2), 3: doc(3), 4: doc(4)}
	slots := []Slot{
		{DepartmentID: 7, PractitionerID: 1, Position: 1, Start: now, End: now.Add(time.Hour)},                 // starts now: on duty
		{DepartmentID: 7, PractitionerID: 2, Position: 1, Start: now.Add(-time.Hour), End: now},                // ended now: off
		{DepartmentID: 8, PractitionerID: 3, Position: 1, Start: now.Add(-time.Hour), End: now.Add(time.Hour)}, // other department
		{DepartmentID: 7, PractitionerID: 4, Position: 2, Start: now.Add(-time.Hour), End: now.Add(time.Hour)},
		{DepartmentID: 7, PractitionerID: 1, Position: 3, Start: now.Add(-time.Hour), End: now.Add(time.Hour)}, // doctor 1 again
	}
	got := Chain(slots, practs, 7, "", 3, now)
	if len(got) != 2 || got[0] != 1 || got[1] != 4 {
		t.Errorf("chain %v, want [1 4]", got)
	}
	// Same position: by practitioner id.
	same := []Slot{
		{DepartmentID: 7, PractitionerID: 4, Position: 1, Start: now, End: now.Add(time.Hour)},
		{DepartmentID: 7, PractitionerID: 1, Position: 1, Start: now, End: now.Add(time.Hour)},
	}
	if got := Chain(same, practs, 7, "", 3, now); len(got) != 2 || got[0] != 1 {
		t.Errorf("tie on position: %v, want [1 4]", got)
	}
	// Without a department head the last doctor of the chain keeps the case;
	// with neither, nobody (and the head flag says escalation has ended).
	if id, head := Assignee([]int64{1, 4}, 0, 5); id != 4 || head {
		t.Errorf("no head: %d %v", id, head)
	}
	if id, head := Assignee(nil, 0, 0); id != 0 || !head {
		t.Errorf("no chain, no head: %d %v", id, head)
	}
}

// TestRehabPlanEdges pins RehabPlan: sessions weekly from the day the
// guidance was signed; a session event marks its session once (the first
// event wins); session numbers outside 1–RehabSessions are ignored; no
// plan before the guidance or without sessions.
func TestRehabPlanEdges(t *testing.T) {
	c := &Consultation{Kind: Rehab, RehabSessions: 2, AnsweredAt: now}
	later := now.Add(48 * time.Hour)
	plan := RehabPlan(c, []Event{
		{Kind: EvSession, Detail: "2 first", At: now.Add(time.Hour)},
		{Kind: EvSession, Detail: "2 second", At: later},
		{Kind: EvSession, Detail: "0 zero", At: now},
		{Kind: EvSession, Detail: "3 three", At: now},
		{Kind: "message", Detail: "1 not a session", At: now},
	})
	if len(plan) != 2 || plan[1].Note != "first" || !plan[1].Done.Equal(now.Add(time.Hour)) || !plan[0].Done.IsZero() {
		t.Errorf("plan %+v", plan)
	}
	if plan[0].N != 1 || plan[1].Due != care.Today(now).AddDays(14) {
		t.Errorf("numbering and dates %+v", plan)
	}
	if RehabPlan(&Consultation{Kind: Rehab, RehabSessions: 2}, nil) != nil {
		t.Error("a plan before the guidance was signed")
	}
	if RehabPlan(&Consultation{Kind: Rehab, AnsweredAt: now}, nil) != nil {
		t.Error("a plan without sessions")
	}
}

// TestFileSignatureEdge pins SniffType's DICOM rule (Part 10: a 128-byte
// preamble, then "DICM"): a file of exactly 132 bytes with the prefix is
// DICOM; one byte shorter cannot be.
func TestFileSignatureEdge(t *testing.T) {
	d := make([]byte, 132)
	copy(d[128:], "DICM")
	if got := SniffType("x.dcm", d); got != "application/dicom" {
		t.Errorf("132-byte DICOM: %q", got)
	}
	if got := SniffType("x.dcm", d[:131]); got == "application/dicom" {
		t.Error("131 bytes taken for DICOM")
	}
	d[130] = 'X'
	if got := SniffType("x.dcm", d); got == "application/dicom" {
		t.Error("a wrong prefix taken for DICOM")
	}
}

// TestConsentWindow pins Draft.Check's consent rules (policy-rules.md §4,
// no consent, no request): consent recorded at most 5 minutes ahead of the
// server's clock and at most 30 days back; a guardian must be named;
// remote rehabilitation has 1–60 sessions.
func TestConsentWindow(t *testing.T) {
	ok := Draft{Kind: OneToOne, Urgency: Routine, Reason: "r", Purpose: "p", Summary: "s", Specialty: "cardiology",
		Consent: Consent{By: ConsentPatient, Method: ConsentWritten, At: now}}
	for _, tt := range []struct {
		name string
		edit func(*Draft)
		want string
	}{
		{"5 minutes ahead", func(d *Draft) { d.Consent.At = now.Add(5 * time.Minute) }, ""},
		{"5 minutes and a second ahead", func(d *Draft) { d.Consent.At = now.Add(5*time.Minute + time.Second) }, "consent_at"},
		{"30 days back", func(d *Draft) { d.Consent.At = now.Add(-30 * 24 * time.Hour) }, ""},
		{"30 days and a second back", func(d *Draft) { d.Consent.At = now.Add(-30*24*time.Hour - time.Second) }, "consent_at"},
		{"guardian named", func(d *Draft) { d.Consent.By, d.Consent.Name = ConsentGuardian, "王芳" }, ""},
		{"electronic", func(d *Draft) { d.Consent.Method = ConsentElectronic }, ""},
		{"rehab, 1 session", func(d *Draft) { d.Kind, d.RehabSessions = Rehab, 1 }, ""},
		{"rehab, 60 sessions", func(d *Draft) { d.Kind, d.RehabSessions = Rehab, 60 }, ""},
		{"rehab, 61 sessions", func(d *Draft) { d.Kind, d.RehabSessions = Rehab, 61 }, "rehab_sessions"},
	} {
		d := ok
		tt.edit(&d)
		fs := d.Check(now)
		got := ""
		if len(fs) > 0 {
			got = fs[0].Field
		}
		if got != tt.want {
			t.Errorf("%s: %v, want %q", tt.name, fs, tt.want)
		}
	}
}
