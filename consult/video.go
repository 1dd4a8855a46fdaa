package consult

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"

	"countycare/audit"
	"countycare/care"
)

// Video calls between the parties' browsers (WebRTC). countycare only
// relays the signalling — who is in the call, the session descriptions and
// the ICE candidates; media flows browser to browser (a mesh: each
// participant holds one peer connection per other participant, so a call
// is limited to Config.VideoRoom, at most 4).
//
// Who is in which call is kept in memory: a restart empties the rooms and
// the browsers join again. A join and a leave are timeline events, audited
// once each; the offers, answers and candidates between them are not.

// Signal types.
const (
	SigJoin      = "join"
	SigOffer     = "offer"
	SigAnswer    = "answer"
	SigCandidate = "candidate"
	SigLeave     = "leave"
)

// MaxSignalPayload bounds a session description or an ICE candidate.
const MaxSignalPayload = 16 << 10

// Signal is one signalling message from a participant: To is a
// practitioner in the call, or 0 for every other participant.
type Signal struct {
	To      int64           `json:"to"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// Participant is one practitioner in a call.
type Participant struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// Calls is a registry of video calls in progress, keyed by a call ID (a
// consultation's, or another capability's — an online visit reuses it):
// who is in each call. It relays nothing itself: Relay says whom a signal
// goes to. The zero value is not ready: use NewCalls.
type Calls struct {
	mu sync.Mutex
	m  map[int64][]Participant
}

// NewCalls returns an empty registry.
func NewCalls() *Calls { return &Calls{m: map[int64][]Participant{}} }

// CheckSignal validates a signal: a known type (EINVALID
// consult.video.type), a payload of valid JSON (consult.video.payload)
// within MaxSignalPayload (ETOOLARGE).
func CheckSignal(sig Signal) error {
	switch sig.Type {
	case SigJoin, SigOffer, SigAnswer, SigCandidate, SigLeave:
	default:
		return care.Invalid([]care.FieldError{{Field: "type", Key: "consult.video.type"}})
	}
	if len(sig.Payload) > MaxSignalPayload {
		return care.Errorf(care.ETOOLARGE, "error.too_large", MaxSignalPayload>>10)
	}
	if len(sig.Payload) > 0 && !json.Valid(sig.Payload) {
		return care.Invalid([]care.FieldError{{Field: "payload", Key: "consult.video.payload"}})
	}
	return nil
}

// Relay applies one signal from participant me to call id and returns the
// participants to deliver it to (the others, or the one addressed) and, on
// a join, those already in the call (the newcomer offers to each). joined
// and left report a change of membership, which the caller records. A join
// drops participants alive reports gone (no event stream: they cannot
// receive signals) and is ECONFLICT consult.video.full at size; an offer,
// answer or candidate from or to someone not in the call is ECONFLICT.
func (c *Calls) Relay(id int64, me Participant, sig Signal, size int, alive func(int64) bool) (to []int64, peers []Participant, joined, left bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	room := c.m[id]
	in := slices.IndexFunc(room, func(p Participant) bool { return p.ID == me.ID })
	others := func() []int64 {
		var ids []int64
		for _, p := range c.m[id] {
			if p.ID != me.ID {
				ids = append(ids, p.ID)
			}
		}
		return ids
	}
	switch sig.Type {
	case SigJoin:
		if alive != nil {
			room = slices.DeleteFunc(room, func(p Participant) bool { return p.ID != me.ID && !alive(p.ID) })
			c.m[id] = room
			in = slices.IndexFunc(room, func(p Participant) bool { return p.ID == me.ID })
		}
		if in < 0 {
			if len(room) >= size {
				return nil, nil, false, false, care.Errorf(care.ECONFLICT, "consult.video.full", size)
			}
			c.m[id] = append(room, me)
			joined = true
		}
		for _, p := range c.m[id] {
			if p.ID != me.ID {
				peers = append(peers, p)
			}
		}
		to = others()
	case SigLeave:
		if in >= 0 {
			to = others()
			c.m[id] = slices.Delete(room, in, in+1)
			if len(c.m[id]) == 0 {
				delete(c.m, id)
			}
			left = true
		}
	default:
		if in < 0 {
			return nil, nil, false, false, care.Errorf(care.ECONFLICT, "consult.video.not_joined")
		}
		if sig.To == 0 {
			to = others()
		} else if sig.To != me.ID && slices.ContainsFunc(room, func(p Participant) bool { return p.ID == sig.To }) {
			to = []int64{sig.To}
		} else {
			return nil, nil, false, false, care.Errorf(care.ECONFLICT, "consult.video.not_joined")
		}
	}
	return to, peers, joined, left, nil
}

// Remove takes participant me out of call id (a join that could not be
// recorded).
func (c *Calls) Remove(id, me int64) {
	c.mu.Lock()
	c.m[id] = slices.DeleteFunc(c.m[id], func(p Participant) bool { return p.ID == me })
	if len(c.m[id]) == 0 {
		delete(c.m, id)
	}
	c.mu.Unlock()
}

// In lists the participants of call id.
func (c *Calls) In(id int64) []Participant {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.m[id])
}

var callsInit sync.Mutex

// rooms returns the registry, made on first use (a copy of the Service shares it).
func (s *Service) rooms() *Calls {
	callsInit.Lock()
	defer callsInit.Unlock()
	if s.calls == nil {
		s.calls = NewCalls()
	}
	return s.calls
}

func (s *Service) roomSize() int {
	if n := s.Config.VideoRoom; n > 0 && n < 4 {
		return n
	}
	return 4
}

// Signal checks that the actor is a party to the open case and relays one
// signalling message: it returns the practitioners to deliver it to (the
// other participants, or the one addressed) and, on a join, those already
// in the call (the newcomer offers to each). A join when the call is full
// is ECONFLICT; a payload over MaxSignalPayload is ETOOLARGE; an offer,
// answer or candidate from or to someone not in the call is ECONFLICT.
// Leaving is allowed after the case has closed; nothing else is.
func (s *Service) Signal(ctx context.Context, a care.Actor, id int64, sig Signal) (to []int64, peers []Participant, err error) {
	if err := CheckSignal(sig); err != nil {
		return nil, nil, err
	}
	c, _, _, err := s.load(ctx, a, id, ActVideo)
	if err != nil {
		return nil, nil, err
	}
	if a.PractitionerID == 0 {
		return nil, nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	if !c.Status.Open() && sig.Type != SigLeave {
		return nil, nil, care.Errorf(care.ECONFLICT, "consult.video.closed")
	}
	me := a.PractitionerID
	var alive func(int64) bool
	if s.Live != nil {
		alive = s.Live.Online
	}
	to, peers, joined, left, err := s.rooms().Relay(id, Participant{ID: me, Name: a.Name}, sig, s.roomSize(), alive)
	if err != nil {
		return nil, nil, err
	}
	var record string
	switch {
	case joined:
		record = EvVideoIn
	case left:
		record = EvVideoOut
	}
	if record != "" {
		ev := audit.New(ctx, a, ActVideo, c.ResidentID)
		ev.CountyCode, ev.Detail = c.County, fmt.Sprintf("consultation %d: video %s", id, sig.Type)
		if err := s.Repo.AddConsultationEvent(ctx, Event{ConsultationID: id, Kind: record, Practitioner: me, Account: a.AccountID, At: s.Now()}, ev); err != nil {
			if record == EvVideoIn { // not recorded, not joined
				s.rooms().Remove(id, me)
			}
			return nil, nil, err
		}
	}
	if record == EvVideoIn && len(peers) == 0 && s.Live != nil {
		// The first in the call: the case's doctors hear of it wherever they are.
		var call []int64
		for _, p := range []int64{c.AssignedTo, c.FromDoctor} {
			if p != 0 && p != me && !slices.Contains(call, p) {
				call = append(call, p)
			}
		}
		s.Live.Publish(call, "consult.video", id, a.Name)
	}
	return to, peers, nil
}

// InCall lists the participants of a case's call (for the page).
func (s *Service) InCall(id int64) []Participant { return s.rooms().In(id) }
