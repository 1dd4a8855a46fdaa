package consult

import (
	"context"
	"testing"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/org"
)

type videoRepo struct {
	Repository // only the methods below are called
	c          Consultation
	events     []Event
}

func (r *videoRepo) Consultation(context.Context, int64) (*Consultation, []int64, int64, error) {
	c := r.c
	return &c, nil, 0, nil
}

func (r *videoRepo) Practitioner(_ context.Context, id int64) (*org.Practitioner, error) {
	return &org.Practitioner{ID: id, InstitutionID: 2, DepartmentID: 7}, nil
}

func (r *videoRepo) AddConsultationEvent(_ context.Context, e Event, _ audit.Event) error {
	r.events = append(r.events, e)
	return nil
}

type recorder struct{ denied int }

func (r *recorder) Record(_ context.Context, e audit.Event) {
	if e.Outcome == audit.OutcomeDenied {
		r.denied++
	}
}

type presence map[int64]bool

func (p presence) Publish([]int64, string, int64, string) {}
func (p presence) Online(id int64) bool                   { return p[id] }

// TestVideoRoom: at most four in a call; a fifth waits for someone to
// leave; a participant whose browser is gone gives up their place; a
// rejoin is not a second join; signals go to the others or the one named;
// strangers and closed cases are refused.
func TestVideoRoom(t *testing.T) {
	repo := &videoRepo{c: Consultation{ID: 1, County: "411723", FromInstitution: 1, ToInstitution: 2, AssignedTo: 10, Departments: []int64{7}, Status: StatusAccepted}}
	rec, online := &recorder{}, presence{}
	s := &Service{Repo: repo, Audit: rec, Live: online, Config: DefaultConfig(), Now: func() time.Time { return now }}
	doc := func(p int64) care.Actor {
		online[p] = true
		return care.Actor{AccountID: p + 100, PractitionerID: p, Role: care.RoleCountySpecialist, InstitutionID: 2, CountyCode: "411723"}
	}
	ctx := context.Background()
	for p := int64(10); p < 14; p++ {
		to, peers, err := s.Signal(ctx, doc(p), 1, Signal{Type: SigJoin})
		if err != nil || len(peers) != int(p-10) || len(to) != int(p-10) {
			t.Fatalf("join %d: %v %v %v", p, to, peers, err)
		}
	}
	if _, _, err := s.Signal(ctx, doc(14), 1, Signal{Type: SigJoin}); !care.IsCode(err, care.ECONFLICT) {
		t.Fatalf("fifth join: %v", err)
	}
	if _, _, err := s.Signal(ctx, doc(10), 1, Signal{Type: SigJoin}); err != nil || len(repo.events) != 4 {
		t.Fatalf("rejoin: %v, %d events", err, len(repo.events))
	}
	if to, _, err := s.Signal(ctx, doc(11), 1, Signal{Type: SigOffer, To: 12, Payload: []byte(`{"type":"offer","sdp":"v=0"}`)}); err != nil || len(to) != 1 || to[0] != 12 {
		t.Fatalf("offer to 12: %v %v", to, err)
	}
	if to, _, err := s.Signal(ctx, doc(11), 1, Signal{Type: SigCandidate, Payload: []byte(`{}`)}); err != nil || len(to) != 3 {
		t.Fatalf("candidate to all: %v %v", to, err)
	}
	if _, _, err := s.Signal(ctx, doc(11), 1, Signal{Type: SigOffer, To: 14}); !care.IsCode(err, care.ECONFLICT) {
		t.Fatalf("offer to someone not in the call: %v", err)
	}
	online[13] = false // 13's browser went away
	if _, peers, err := s.Signal(ctx, doc(14), 1, Signal{Type: SigJoin}); err != nil || len(peers) != 3 {
		t.Fatalf("join after a browser went: %v %v", peers, err)
	}
	if to, _, err := s.Signal(ctx, doc(12), 1, Signal{Type: SigLeave}); err != nil || len(to) != 3 {
		t.Fatalf("leave: %v %v", to, err)
	}
	if got := len(s.InCall(1)); got != 3 {
		t.Errorf("%d in the call, want 3", got)
	}
	if n := len(repo.events); n != 6 || repo.events[5].Kind != EvVideoOut || repo.events[4].Kind != EvVideoIn {
		t.Errorf("timeline: %+v", repo.events)
	}
	stranger := care.Actor{AccountID: 9, PractitionerID: 99, Role: care.RoleCountySpecialist, InstitutionID: 3, CountyCode: "411723"}
	if _, _, err := s.Signal(ctx, stranger, 1, Signal{Type: SigJoin}); !care.IsCode(err, care.ENOTFOUND) || rec.denied != 1 {
		t.Errorf("stranger: %v, %d denied", err, rec.denied)
	}
	if _, _, err := s.Signal(ctx, doc(10), 1, Signal{Type: SigOffer, Payload: make([]byte, MaxSignalPayload+1)}); !care.IsCode(err, care.ETOOLARGE) {
		t.Errorf("large payload: %v", err)
	}
	repo.c.Status, repo.c.ClosedAt = StatusClosed, s.Now() // decided just now: within the hub's grace period
	if _, _, err := s.Signal(ctx, doc(12), 1, Signal{Type: SigJoin}); !care.IsCode(err, care.ECONFLICT) {
		t.Errorf("join a closed case: %v", err)
	}
	if _, _, err := s.Signal(ctx, doc(10), 1, Signal{Type: SigLeave}); err != nil {
		t.Errorf("leave a closed case: %v", err)
	}
}
