package consult

import (
	"testing"
	"time"

	"countycare/care"
	"countycare/org"
)

var now = time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)

// TestDraftCheck: policy-rules.md §4 — written informed consent (a guardian
// when the patient cannot), and the invitation states reason, purpose,
// case summary and the required specialty.
func TestDraftCheck(t *testing.T) {
	ok := Draft{Kind: OneToOne, Urgency: Routine, Reason: "r", Purpose: "p", Summary: "s", Specialty: "cardiology",
		Consent: Consent{By: ConsentPatient, Method: ConsentWritten, At: now.Add(-time.Minute)}}
	if fs := ok.Check(now); len(fs) != 0 {
		t.Fatalf("valid draft: %v", fs)
	}
	cases := map[string]func(d *Draft){
		"consent_by":     func(d *Draft) { d.Consent.By = "" },
		"consent_name":   func(d *Draft) { d.Consent.By = ConsentGuardian },
		"consent_method": func(d *Draft) { d.Consent.Method = "verbal" },
		"consent_at":     func(d *Draft) { d.Consent.At = now.Add(time.Hour) },
		"reason":         func(d *Draft) { d.Reason = "  " },
		"summary":        func(d *Draft) { d.Summary = "" },
		"kind":           func(d *Draft) { d.Kind = "group" },
		"min_title":      func(d *Draft) { d.MinTitle = org.TitleNurse },
		"rehab_sessions": func(d *Draft) { d.Kind = Rehab },
	}
	for field, mut := range cases {
		d := ok
		mut(&d)
		fs := d.Check(now)
		if len(fs) == 0 || fs[0].Field != field {
			t.Errorf("%s: %v", field, fs)
		}
	}
}

// TestChainAndEscalation: the invited doctor has ≥ 3 years of independent
// practice (§4) and the requested title; the chain follows roster
// position; after the chain comes the department head, who keeps the case.
func TestChainAndEscalation(t *testing.T) {
	day := care.Today(now)
	p := func(id int64, title org.Title, years int) *org.Practitioner {
		return &org.Practitioner{ID: id, Active: true, Title: title, PracticeSince: day.AddDays(-365*years - 1)}
	}
	practs := map[int64]*org.Practitioner{1: p(1, org.TitleAttending, 6), 2: p(2, org.TitleChief, 20), 3: p(3, org.TitlePhysician, 2), 4: p(4, org.TitleAssociateChief, 9)}
	shift := func(id int64, pract int64, pos int, from, to time.Time) Slot {
		return Slot{ID: id, DepartmentID: 7, PractitionerID: pract, Position: pos, Start: from, End: to}
	}
	slots := []Slot{shift(1, 4, 2, now.Add(-time.Hour), now.Add(time.Hour)), shift(2, 1, 1, now.Add(-time.Hour), now.Add(time.Hour)),
		shift(3, 3, 3, now.Add(-time.Hour), now.Add(time.Hour)), shift(4, 2, 1, now.Add(time.Hour), now.Add(9*time.Hour))}
	if got := Chain(slots, practs, 7, "", 3, now); len(got) != 2 || got[0] != 1 || got[1] != 4 {
		t.Errorf("chain %v, want [1 4] (3 has 2 years; 2 is not on duty)", got)
	}
	if got := Chain(slots, practs, 7, org.TitleAssociateChief, 3, now); len(got) != 1 || got[0] != 4 {
		t.Errorf("chain with minimum title: %v", got)
	}
	chain := []int64{1, 4}
	for step, want := range []int64{1, 4, 99, 99} {
		if id, head := Assignee(chain, 99, step); id != want || head != (step >= 2) {
			t.Errorf("step %d: %d head=%t", step, id, head)
		}
	}
	if c := DefaultConfig(); !c.Deadline(Routine, now).Equal(now.Add(10*time.Minute)) || !c.Deadline(Emergency, now).Equal(now.Add(5*time.Minute)) {
		t.Error("response deadlines: 10 minutes (seeds), emergency 5")
	}
}

func TestTransitionsAndICD10(t *testing.T) {
	legal := [][3]string{{"requested", "accept", "accepted"}, {"accepted", "opinion", "answered"}, {"answered", "decide", "closed"},
		{"requested", "cancel", "cancelled"}, {"requested", "decline", "declined"}}
	for _, l := range legal {
		if to, err := Transition(Status(l[0]), l[1]); err != nil || string(to) != l[2] {
			t.Errorf("%v: %s %v", l, to, err)
		}
	}
	for _, bad := range [][2]string{{"accepted", "accept"}, {"closed", "decide"}, {"answered", "cancel"}, {"declined", "accept"}, {"requested", "opinion"}} {
		if _, err := Transition(Status(bad[0]), bad[1]); care.ErrorCode(err) != care.ECONFLICT {
			t.Errorf("%v allowed", bad)
		}
	}
}

func TestSniffType(t *testing.T) {
	dicom := append(make([]byte, 128), []byte("DICM\x02\x00")...)
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"a.jpg", []byte("\xff\xd8\xff\xe0\x00\x10JFIF"), "image/jpeg"},
		{"a.png", []byte("\x89PNG\r\n\x1a\n\x00"), "image/png"},
		{"a.pdf", []byte("%PDF-1.7\n"), "application/pdf"},
		{"a.dcm", dicom, "application/dicom"},
		{"100.hea", []byte("100 2 360 650000\n100.dat 212 200 11 1024 995 -22131 0 MLII\n"), "text/plain"},
		{"100.dat", []byte{0xe3, 0x33, 0xf3}, "application/octet-stream+wfdb"},
		{"a.jpg", []byte("MZ\x90\x00"), ""},     // an executable named as a photo
		{"x.dat", []byte("MZ\x90\x00"), ""},     // or as a signal file
		{"a.txt", []byte("ok\x00\x01"), ""},     // binary posing as text
		{"a.csv", []byte{0xff, 0xfe, 0x41}, ""}, // not UTF-8
	} {
		if got := SniffType(c.name, c.data); got != c.want {
			t.Errorf("%s %q: %q, want %q", c.name, c.data[:min(8, len(c.data))], got, c.want)
		}
	}
}

// TestIndicators checks the consultation indicators on a hand-computed
// fixture: response time over accepted cases (nearest-rank median and p90),
// SLA = accepted within the first deadline / cases judged.
func TestIndicators(t *testing.T) {
	cfg := DefaultConfig()
	at := func(min int) time.Time { return now.Add(time.Duration(min) * time.Minute) }
	cs := []Consultation{
		{Kind: OneToOne, Urgency: Routine, Specialty: "cardiology", CreatedAt: at(0), AcceptedAt: at(2), Decision: DecisionAdvice},
		{Kind: OneToOne, Urgency: Routine, Specialty: "cardiology", CreatedAt: at(0), AcceptedAt: at(9), Decision: DecisionReferral},
		{Kind: MDT, Urgency: Routine, Specialty: "neurology", CreatedAt: at(0), AcceptedAt: at(14), Escalations: 1, Decision: DecisionLocal}, // late
		{Kind: OneToOne, Urgency: Emergency, Specialty: "cardiology", CreatedAt: at(0), AcceptedAt: at(6), Escalations: 1},                   // late (5 min)
		{Kind: OneToOne, Urgency: Routine, Specialty: "cardiology", CreatedAt: at(0), Status: StatusRequested, Escalations: 2},               // waiting past its deadline
		{Kind: OneToOne, Urgency: Routine, Specialty: "cardiology", CreatedAt: at(25), Status: StatusRequested},                              // still inside it
	}
	ind := Compute(cs, cfg, nil, at(30))
	if ind.Total != 6 || ind.Accepted != 4 || ind.SLA != (Rate{2, 5}) || ind.Escalations != 4 || ind.Escalated != 3 {
		t.Errorf("%+v", ind)
	}
	// Waits 2, 6, 9, 14 minutes: median (rank 2) 6, p90 (rank 4) 14.
	if ind.MedianAccept != 6*time.Minute || ind.P90Accept != 14*time.Minute {
		t.Errorf("median %s p90 %s", ind.MedianAccept, ind.P90Accept)
	}
	if ind.ByKind[MDT] != 1 || ind.BySpecialty["cardiology"] != 5 || ind.Outcomes[DecisionReferral] != 1 || ind.SLA.Percent() != 40 {
		t.Errorf("breakdowns %+v", ind)
	}
}

// TestComputeByUnit: the same fixture split by the institution that asked
// (the dashboard's consultation group): each institution's SLA and share
// of cases escalated at least once are Compute's over its own cases.
func TestComputeByUnit(t *testing.T) {
	cfg := DefaultConfig()
	at := func(min int) time.Time { return now.Add(time.Duration(min) * time.Minute) }
	cs := []Consultation{
		{FromInstitution: 5, Urgency: Routine, CreatedAt: at(0), AcceptedAt: at(2)},
		{FromInstitution: 5, Urgency: Routine, CreatedAt: at(0), AcceptedAt: at(14), Escalations: 1},  // late
		{FromInstitution: 5, Urgency: Routine, CreatedAt: at(25), Status: StatusRequested},            // still inside its deadline
		{FromInstitution: 9, Urgency: Emergency, CreatedAt: at(0), AcceptedAt: at(6), Escalations: 2}, // late (5 min)
		{FromInstitution: 9, Urgency: Routine, CreatedAt: at(0), Status: StatusCancelled},             // withdrawn: never judged
	}
	got := ComputeByUnit(cs, cfg, at(30))
	want := map[int64]UnitFigures{
		5: {SLA: Rate{1, 2}, Escalated: Rate{1, 3}},
		9: {SLA: Rate{0, 1}, Escalated: Rate{1, 2}},
	}
	if len(got) != len(want) || got[5] != want[5] || got[9] != want[9] {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if len(ComputeByUnit(nil, cfg, at(30))) != 0 {
		t.Error("no cases, no units")
	}
}

func TestRehabPlan(t *testing.T) {
	c := &Consultation{Kind: Rehab, RehabSessions: 3, AnsweredAt: now}
	plan := RehabPlan(c, []Event{{Kind: EvSession, Detail: "2 步态训练", At: now.Add(8 * 24 * time.Hour)}, {Kind: EvSession, Detail: "9", At: now}})
	if len(plan) != 3 || plan[0].Due != care.Today(now).AddDays(7) || plan[2].Due != care.Today(now).AddDays(21) {
		t.Fatalf("plan %+v", plan)
	}
	if !plan[0].Done.IsZero() || plan[1].Done.IsZero() || plan[1].Note != "步态训练" {
		t.Errorf("done marks %+v", plan)
	}
	if RehabPlan(&Consultation{Kind: OneToOne, RehabSessions: 3, AnsweredAt: now}, nil) != nil {
		t.Error("a one-to-one case has no plan")
	}
}

// TestOpinionDiagnosisCode: an opinion's diagnosis is checked by the one
// ICD-10 rule (package icd10): a national clinical edition 2.0 code of 7
// characters after the dot is accepted and stored upper-case, 8 are not.
func TestOpinionDiagnosisCode(t *testing.T) {
	o := Opinion{Assessment: "a", Plan: "p", DiagnosisCode: " i10.x00x002 "}
	if fs := CheckOpinion(&o); len(fs) != 0 || o.DiagnosisCode != "I10.X00X002" {
		t.Errorf("national code: %v %q", fs, o.DiagnosisCode)
	}
	o = Opinion{Assessment: "a", Plan: "p", DiagnosisCode: "I10.X00X0021"}
	if fs := CheckOpinion(&o); len(fs) != 1 || fs[0].Field != "diagnosis_code" {
		t.Errorf("8 after the dot: %v", fs)
	}
}
