package consult

// Tests for the survivors of the first gremlins run of consult (issue 18 §6,
// docs/mutation.md). Each names the docs/consult.md rule it pins.

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"countycare/care"
	"countycare/org"
)

// TestResponseDeadlineFallback pins the 10-minute response deadline
// (docs/consult.md §4): an urgency with no positive configured minutes gets 10.
func TestResponseDeadlineFallback(t *testing.T) {
	c := Config{ResponseMinutes: map[Urgency]int{Routine: 0, Urgent: -3, Emergency: 1}}
	if got := c.Deadline(Routine, now); !got.Equal(now.Add(10 * time.Minute)) {
		t.Errorf("0 minutes configured: %v, want now + 10 min", got)
	}
	if got := c.Deadline(Urgent, now); !got.Equal(now.Add(10 * time.Minute)) {
		t.Errorf("negative minutes configured: %v", got)
	}
	if got := c.Deadline(Emergency, now); !got.Equal(now.Add(time.Minute)) {
		t.Errorf("1 minute configured: %v", got)
	}
	d := DefaultConfig()
	if !d.Deadline(Routine, now).Equal(now.Add(10*time.Minute)) || !d.Deadline(Emergency, now).Equal(now.Add(5*time.Minute)) {
		t.Error("defaults: routine 10 min, emergency 5")
	}
}

// TestDraftUrgencyAndLengths pins Draft.Check (docs/consult.md §1–2): every
// urgency (routine, urgent, emergency) is accepted; reason and purpose up to 200
// characters, summary up to 4000, the idempotency key up to 100 bytes.
func TestDraftUrgencyAndLengths(t *testing.T) {
	base := func() Draft {
		return Draft{Kind: OneToOne, Urgency: Routine, Reason: "r", Purpose: "p", Summary: "s", Specialty: "cardiology",
			Consent: Consent{By: ConsentPatient, Method: ConsentWritten, At: now}}
	}
	keys := func(fs []care.FieldError) string {
		var s []string
		for _, f := range fs {
			s = append(s, f.Field+"/"+f.Key)
		}
		return strings.Join(s, " ")
	}
	for _, u := range []Urgency{Routine, Urgent, Emergency} {
		d := base()
		d.Urgency = u
		if fs := d.Check(now); len(fs) != 0 {
			t.Errorf("urgency %q: %s", u, keys(fs))
		}
	}
	d := base()
	d.Urgency = "soon"
	if got := keys(d.Check(now)); got != "urgency/consult.urgency.invalid" {
		t.Errorf("unknown urgency: %s", got)
	}
	for _, tt := range []struct {
		set  func(*Draft)
		want string
	}{
		{func(d *Draft) { d.Reason = strings.Repeat("因", 200) }, ""},
		{func(d *Draft) { d.Reason = strings.Repeat("因", 201) }, "reason/field.too_long"},
		{func(d *Draft) { d.Purpose = strings.Repeat("的", 200) }, ""},
		{func(d *Draft) { d.Purpose = strings.Repeat("的", 201) }, "purpose/field.too_long"},
		{func(d *Draft) { d.Summary = strings.Repeat("s", 4000) }, ""},
		{func(d *Draft) { d.Summary = strings.Repeat("s", 4001) }, "summary/field.too_long"},
		{func(d *Draft) { d.Key = strings.Repeat("k", 100) }, ""},
		{func(d *Draft) { d.Key = strings.Repeat("k", 101) }, "key/field.too_long"},
	} {
		d := base()
		tt.set(&d)
		if got := keys(d.Check(now)); got != tt.want {
			t.Errorf("%q, want %q", got, tt.want)
		}
	}
}

// TestRehabFirstSession pins the rehabilitation plan (docs/consult.md "Remote
// rehabilitation guidance"): sessions are numbered from 1, and session 1's event
// marks the first session done.
func TestRehabFirstSession(t *testing.T) {
	c := &Consultation{Kind: Rehab, RehabSessions: 3, AnsweredAt: now}
	plan := RehabPlan(c, []Event{{Kind: EvSession, Detail: "1 first", At: now.Add(time.Hour)}, {Kind: EvSession, Detail: "3 last", At: now.Add(2 * time.Hour)}})
	if len(plan) != 3 || plan[0].Note != "first" || !plan[0].Done.Equal(now.Add(time.Hour)) || plan[2].Note != "last" || !plan[1].Done.IsZero() {
		t.Errorf("plan %+v", plan)
	}
}

// TestSLAExcludesWithdrawnCases pins the SLA indicator (docs/consult.md "Views
// and indicators"): a case past its first deadline that nobody accepted counts
// against the SLA, unless the inviter withdrew it.
func TestSLAExcludesWithdrawnCases(t *testing.T) {
	created := now.Add(-time.Hour)
	cs := []Consultation{
		{Kind: OneToOne, Urgency: Routine, Status: StatusRequested, CreatedAt: created},
		{Kind: OneToOne, Urgency: Routine, Status: StatusCancelled, CreatedAt: created},
	}
	ind := Compute(cs, DefaultConfig(), nil, now)
	if ind.SLA.Den != 1 || ind.SLA.Num != 0 {
		t.Errorf("SLA %+v, want 0 of 1", ind.SLA)
	}
}

// TestInviterRoles pins "the inviting institution's doctors" (docs/consult.md
// "Who sees a case"): village and township doctors invite; others do not.
func TestInviterRoles(t *testing.T) {
	if !inviter(care.RoleVillageDoctor) || !inviter(care.RoleTownshipDoctor) || inviter(care.RoleCountySpecialist) || inviter(care.RoleReader) {
		t.Error("inviters are village and township doctors")
	}
}

// TestWhoSeesACase pins docs/consult.md "Who sees a case": the inviting
// institution's doctors; at the hub the assigned doctor, the head and the
// invited departments' doctors; another institution only when invited to an
// MDT; the hub's access ends at once when the case is withdrawn and 72 h
// (Config.GraceHours) after it is declined or decided.
func TestWhoSeesACase(t *testing.T) {
	s := &Service{Config: DefaultConfig(), Now: func() time.Time { return now }}
	base := func() *Consultation {
		return &Consultation{County: "c", FromInstitution: 1, ToInstitution: 2, Status: StatusRequested, AssignedTo: 20, Departments: []int64{7}}
	}
	pr := func(inst, dept int64) func() (*org.Practitioner, error) {
		return func() (*org.Practitioner, error) {
			return &org.Practitioner{InstitutionID: inst, DepartmentID: dept}, nil
		}
	}
	doc := func(inst, pid int64) care.Actor {
		return care.Actor{CountyCode: "c", Role: care.RoleCountySpecialist, InstitutionID: inst, PractitionerID: pid}
	}
	closed := func(st Status, ago time.Duration) *Consultation {
		c := base()
		c.Status, c.ClosedAt = st, now.Add(-ago)
		return c
	}
	mdt := base()
	mdt.ExtraLinks = []int64{99}
	noClose := base()
	noClose.Status = StatusClosed
	for _, tt := range []struct {
		name string
		a    care.Actor
		c    *Consultation
		p    func() (*org.Practitioner, error)
		want bool
	}{
		{"inviting village doctor", care.Actor{CountyCode: "c", Role: care.RoleVillageDoctor, InstitutionID: 1}, base(), pr(1, 0), true},
		{"village doctor elsewhere", care.Actor{CountyCode: "c", Role: care.RoleVillageDoctor, InstitutionID: 3}, base(), pr(3, 0), false},
		{"other county", care.Actor{CountyCode: "d", Role: care.RoleVillageDoctor, InstitutionID: 1}, base(), pr(1, 0), false},
		{"assigned doctor", doc(2, 20), base(), pr(2, 1), true},
		{"invited department at the hub", doc(2, 21), base(), pr(2, 7), true},
		{"other department at the hub", doc(2, 21), base(), pr(2, 8), false},
		{"same department elsewhere, no MDT", doc(3, 30), base(), pr(3, 7), false},
		{"partner hospital of an MDT", doc(3, 30), mdt, pr(3, 7), true},
		{"decided 71 h ago", doc(2, 20), closed(StatusClosed, 71*time.Hour), pr(2, 1), true},
		{"declined 71 h 59 m ago", doc(2, 20), closed(StatusDeclined, 71*time.Hour+59*time.Minute), pr(2, 1), true},
		{"decided exactly 72 h ago", doc(2, 20), closed(StatusClosed, 72*time.Hour), pr(2, 1), false},
		{"withdrawn a minute ago", doc(2, 20), closed(StatusCancelled, time.Minute), pr(2, 1), false},
		{"closed without a closing time", doc(2, 20), noClose, pr(2, 1), false},
	} {
		got, err := s.mayReadWith(tt.a, tt.c, 0, tt.p)
		if err != nil || got != tt.want {
			t.Errorf("%s: %v %v, want %v", tt.name, got, err, tt.want)
		}
	}
}

// TestVideoRoomSize pins docs/consult.md "Video calls": a mesh of at most 4
// participants; Config.VideoRoom may only make it smaller.
func TestVideoRoomSize(t *testing.T) {
	for n, want := range map[int]int{0: 4, -1: 4, 1: 1, 2: 2, 3: 3, 4: 4, 5: 4} {
		if got := (&Service{Config: Config{VideoRoom: n}}).roomSize(); got != want {
			t.Errorf("VideoRoom %d: %d, want %d", n, got, want)
		}
	}
}

// TestSignalPayloadLimit pins the signalling limit (docs/consult.md "Video
// calls"): a payload of exactly MaxSignalPayload bytes passes, one byte more is
// ETOOLARGE.
func TestSignalPayloadLimit(t *testing.T) {
	p := []byte(`"` + strings.Repeat("a", MaxSignalPayload-2) + `"`)
	if err := CheckSignal(Signal{Type: SigOffer, Payload: p}); err != nil {
		t.Errorf("%d bytes: %v", len(p), err)
	}
	p = []byte(`"` + strings.Repeat("a", MaxSignalPayload-1) + `"`)
	if err := CheckSignal(Signal{Type: SigOffer, Payload: p}); !care.IsCode(err, care.ETOOLARGE) {
		t.Errorf("%d bytes: %v", len(p), err)
	}
}

// TestRelayFirstParticipant pins the relay of docs/consult.md "Video calls" for
// the participant who joined first (index 0 of the room): a join without an
// alive check adds the newcomer, the first may offer and leave.
func TestRelayFirstParticipant(t *testing.T) {
	c := NewCalls()
	a, b := Participant{ID: 1}, Participant{ID: 2}
	if _, _, joined, _, err := c.Relay(9, a, Signal{Type: SigJoin}, 4, nil); err != nil || !joined {
		t.Fatalf("a joins: %v %v", joined, err)
	}
	_, peers, joined, _, err := c.Relay(9, b, Signal{Type: SigJoin}, 4, nil)
	if err != nil || !joined || len(peers) != 1 || peers[0].ID != 1 {
		t.Fatalf("b joins: %v %v %v", peers, joined, err)
	}
	if to, _, _, _, err := c.Relay(9, a, Signal{Type: SigOffer, To: 2, Payload: []byte(`{}`)}, 4, nil); err != nil || len(to) != 1 || to[0] != 2 {
		t.Errorf("a offers to b: %v %v", to, err)
	}
	if _, _, _, _, err := c.Relay(9, Participant{ID: 3}, Signal{Type: SigOffer, To: 2}, 4, nil); !care.IsCode(err, care.ECONFLICT) {
		t.Errorf("an outsider offers: %v", err)
	}
	to, _, _, left, err := c.Relay(9, a, Signal{Type: SigLeave}, 4, nil)
	if err != nil || !left || len(to) != 1 || to[0] != 2 {
		t.Errorf("a leaves: %v %v %v", to, left, err)
	}
	if room := c.m[9]; len(room) != 1 || room[0].ID != 2 {
		t.Errorf("room after a left: %v", room)
	}
}

type callLog struct {
	presence
	calls [][]int64
}

func (l *callLog) Publish(to []int64, kind string, _ int64, _ string) {
	if kind == "consult.video" {
		l.calls = append(l.calls, to)
	}
}

// TestFirstInCallCallsTheOtherSide pins docs/consult.md "Video calls"
// ("Calling the other side"): the first to join a call has the case's assigned
// doctor and inviting doctor called (a consult.video event), never themselves
// and each once; later joins call nobody.
func TestFirstInCallCallsTheOtherSide(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name           string
		assigned, from int64
		joiner         int64
		want           []int64
	}{
		{"the assigned doctor joins first", 10, 20, 10, []int64{20}},
		{"the inviting doctor joins first", 10, 20, 20, []int64{10}},
		{"a department doctor joins first", 10, 20, 11, []int64{10, 20}},
		{"one doctor on both sides", 10, 10, 11, []int64{10}},
		{"no inviting doctor recorded", 10, 0, 11, []int64{10}},
	} {
		repo := &videoRepo{c: Consultation{ID: 1, County: "411723", FromInstitution: 1, ToInstitution: 2, AssignedTo: tt.assigned, FromDoctor: tt.from, Departments: []int64{7}, Status: StatusAccepted}}
		live := &callLog{presence: presence{}}
		s := &Service{Repo: repo, Audit: &recorder{}, Live: live, Config: DefaultConfig(), Now: func() time.Time { return now }}
		doc := func(p int64) care.Actor {
			live.presence[p] = true
			return care.Actor{AccountID: p + 100, PractitionerID: p, Role: care.RoleCountySpecialist, InstitutionID: 2, CountyCode: "411723"}
		}
		if _, _, err := s.Signal(ctx, doc(tt.joiner), 1, Signal{Type: SigJoin}); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if len(live.calls) != 1 || !slices.Equal(live.calls[0], tt.want) {
			t.Errorf("%s: called %v, want %v", tt.name, live.calls, tt.want)
		}
		if _, _, err := s.Signal(ctx, doc(12), 1, Signal{Type: SigJoin}); err != nil || len(live.calls) != 1 {
			t.Errorf("%s: a second join called again: %v %v", tt.name, live.calls, err)
		}
	}
}

// TestEscalationIndicator pins the escalation indicators (docs/consult.md
// "Views and indicators": escalations; indicators.go: missed deadlines, and
// cases with at least one): a case escalated twice counts 2 missed deadlines
// and 1 escalated case, one never escalated counts neither; a case still inside
// its first deadline is not yet judged for the SLA.
func TestEscalationIndicator(t *testing.T) {
	cs := []Consultation{
		{Kind: OneToOne, Urgency: Routine, Status: StatusRequested, CreatedAt: now.Add(-time.Hour), Escalations: 2},
		{Kind: OneToOne, Urgency: Routine, Status: StatusAccepted, CreatedAt: now.Add(-time.Hour), AcceptedAt: now.Add(-55 * time.Minute)},
		{Kind: OneToOne, Urgency: Routine, Status: StatusRequested, CreatedAt: now.Add(-9 * time.Minute)},
	}
	ind := Compute(cs, DefaultConfig(), nil, now)
	if ind.Escalations != 2 || ind.Escalated != 1 {
		t.Errorf("escalations %d, escalated cases %d; want 2, 1", ind.Escalations, ind.Escalated)
	}
	if ind.SLA.Num != 1 || ind.SLA.Den != 2 {
		t.Errorf("SLA %+v, want 1 of 2", ind.SLA)
	}
}
