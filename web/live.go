package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"countycare/care"
)

// Broker fans live events out to connected browsers over Server-Sent
// Events, keyed by practitioner: a new consultation, an escalation, a
// message. Delivery is best effort — a slow browser's full buffer drops the
// event (the page's state is always in the database; the next event or a
// reload shows it) — and Online tells the sender whether a text message is
// needed instead.
type Broker struct {
	mu   sync.Mutex
	subs map[int64]map[chan liveEvent]struct{}
	// MaxPerPractitioner caps one practitioner's open streams (tabs,
	// devices); a stream beyond it is refused (default DefaultMaxStreams).
	MaxPerPractitioner int
}

// DefaultMaxStreams is the default cap of streams per practitioner.
const DefaultMaxStreams = 8

// liveMaxAge ends a stream after this long; the browser reconnects at once
// (EventSource), which signs the session in again: a session that was
// ended or an account that was disabled stops receiving within this time.
const liveMaxAge = 10 * time.Minute

type liveEvent struct {
	Kind string `json:"kind"`
	ID   int64  `json:"id"`
	Text string `json:"text"`
	At   int64  `json:"at"` // Unix milliseconds when published

	raw []byte // PublishJSON: sent as the data instead of the fields above
}

// NewBroker returns an empty broker.
func NewBroker() *Broker { return &Broker{subs: map[int64]map[chan liveEvent]struct{}{}} }

// Publish sends an event to every connection of the practitioners.
func (b *Broker) Publish(practitioners []int64, kind string, id int64, text string) {
	e := liveEvent{Kind: kind, ID: id, Text: text, At: time.Now().UnixMilli()}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range practitioners {
		for ch := range b.subs[p] {
			select {
			case ch <- e:
			default:
			}
		}
	}
}

// PublishJSON sends an event whose data is v as JSON (a video call's
// signalling message) to every connection of the practitioners.
func (b *Broker) PublishJSON(practitioners []int64, kind string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	e := liveEvent{Kind: kind, At: time.Now().UnixMilli(), raw: raw}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range practitioners {
		for ch := range b.subs[p] {
			select {
			case ch <- e:
			default:
			}
		}
	}
	return nil
}

// Online reports whether a practitioner has a browser connected.
func (b *Broker) Online(practitioner int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs[practitioner]) > 0
}

// Connections is the number of open event streams.
func (b *Broker) Connections() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, m := range b.subs {
		n += len(m)
	}
	return n
}

func (b *Broker) subscribe(p int64) (chan liveEvent, func(), bool) {
	ch := make(chan liveEvent, 64) // room for a call's burst of ICE candidates
	b.mu.Lock()
	max := b.MaxPerPractitioner
	if max <= 0 {
		max = DefaultMaxStreams
	}
	if len(b.subs[p]) >= max {
		b.mu.Unlock()
		return nil, nil, false
	}
	if b.subs[p] == nil {
		b.subs[p] = map[chan liveEvent]struct{}{}
	}
	b.subs[p][ch] = struct{}{}
	b.mu.Unlock()
	return ch, func() {
		b.mu.Lock()
		delete(b.subs[p], ch)
		if len(b.subs[p]) == 0 {
			delete(b.subs, p)
		}
		b.mu.Unlock()
	}, true
}

// liveHeartbeat keeps idle streams open through proxies.
const liveHeartbeat = 25 * time.Second

// events is GET /events: the signed-in practitioner's live stream.
func (s *Server) events(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	if s.Live == nil || rc.Actor.PractitionerID == 0 {
		return care.Errorf(care.ENOTFOUND, "error.not_found")
	}
	return s.stream(w, r, rc.Actor.PractitionerID)
}

// stream serves the live events published under key until the client
// goes, the server stops or liveMaxAge passes.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, key int64) error {
	ch, done, ok := s.Live.subscribe(key)
	if !ok {
		return care.Errorf(care.ETOOMANY, "error.too_many_streams")
	}
	defer done()
	rcw := http.NewResponseController(w)
	rcw.SetWriteDeadline(time.Time{}) // a stream outlives the server's write timeout
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 3000\n: connected\n\n")
	if err := rcw.Flush(); err != nil {
		return nil
	}
	tick := time.NewTicker(liveHeartbeat)
	defer tick.Stop()
	end := time.NewTimer(liveMaxAge)
	defer end.Stop()
	for {
		select {
		case <-r.Context().Done():
			return nil
		case <-end.C:
			return nil
		case <-tick.C:
			fmt.Fprint(w, ": ping\n\n")
		case e := <-ch:
			b := e.raw
			if b == nil {
				b, _ = json.Marshal(e)
			}
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", e.Kind, b)
		}
		if err := rcw.Flush(); err != nil {
			return nil
		}
	}
}
