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

// rooms is the registry of calls in progress, keyed by case.
type rooms struct {
	mu sync.Mutex
	m  map[int64][]Participant
}

var callsInit sync.Mutex

// rooms returns the registry, made on first use (a copy of the Service shares it).
func (s *Service) rooms() *rooms {
	callsInit.Lock()
	defer callsInit.Unlock()
	if s.calls == nil {
		s.calls = &rooms{m: map[int64][]Participant{}}
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
	switch sig.Type {
	case SigJoin, SigOffer, SigAnswer, SigCandidate, SigLeave:
	default:
		return nil, nil, care.Invalid([]care.FieldError{{Field: "type", Key: "consult.video.type"}})
	}
	if len(sig.Payload) > MaxSignalPayload {
		return nil, nil, care.Errorf(care.ETOOLARGE, "error.too_large", MaxSignalPayload>>10)
	}
	if len(sig.Payload) > 0 && !json.Valid(sig.Payload) {
		return nil, nil, care.Invalid([]care.FieldError{{Field: "payload", Key: "consult.video.payload"}})
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
	rs := s.rooms()
	rs.mu.Lock()
	room := rs.m[id]
	in := slices.IndexFunc(room, func(p Participant) bool { return p.ID == me })
	others := func() []int64 {
		var ids []int64
		for _, p := range rs.m[id] {
			if p.ID != me {
				ids = append(ids, p.ID)
			}
		}
		return ids
	}
	var record string
	switch sig.Type {
	case SigJoin:
		// Browsers that went away without leaving (closed, crashed) have
		// no event stream: they cannot receive signals and give up their place.
		if s.Live != nil {
			room = slices.DeleteFunc(room, func(p Participant) bool { return p.ID != me && !s.Live.Online(p.ID) })
			rs.m[id] = room
			in = slices.IndexFunc(room, func(p Participant) bool { return p.ID == me })
		}
		if in < 0 {
			if len(room) >= s.roomSize() {
				rs.mu.Unlock()
				return nil, nil, care.Errorf(care.ECONFLICT, "consult.video.full", s.roomSize())
			}
			rs.m[id] = append(room, Participant{ID: me, Name: a.Name})
			record = EvVideoIn
		}
		for _, p := range rs.m[id] {
			if p.ID != me {
				peers = append(peers, p)
			}
		}
		to = others()
	case SigLeave:
		if in >= 0 {
			to = others()
			rs.m[id] = slices.Delete(room, in, in+1)
			if len(rs.m[id]) == 0 {
				delete(rs.m, id)
			}
			record = EvVideoOut
		}
	default:
		if in < 0 {
			rs.mu.Unlock()
			return nil, nil, care.Errorf(care.ECONFLICT, "consult.video.not_joined")
		}
		if sig.To == 0 {
			to = others()
		} else if sig.To != me && slices.ContainsFunc(room, func(p Participant) bool { return p.ID == sig.To }) {
			to = []int64{sig.To}
		} else {
			rs.mu.Unlock()
			return nil, nil, care.Errorf(care.ECONFLICT, "consult.video.not_joined")
		}
	}
	rs.mu.Unlock()
	if record != "" {
		ev := audit.New(ctx, a, ActVideo, c.ResidentID)
		ev.CountyCode, ev.Detail = c.County, fmt.Sprintf("consultation %d: video %s", id, sig.Type)
		if err := s.Repo.AddConsultationEvent(ctx, Event{ConsultationID: id, Kind: record, Practitioner: me, Account: a.AccountID, At: s.Now()}, ev); err != nil {
			if record == EvVideoIn { // not recorded, not joined
				rs.mu.Lock()
				rs.m[id] = slices.DeleteFunc(rs.m[id], func(p Participant) bool { return p.ID == me })
				rs.mu.Unlock()
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
func (s *Service) InCall(id int64) []Participant {
	rs := s.rooms()
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return slices.Clone(rs.m[id])
}
