package web

import (
	"context"
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
//
// Replicas sharing a database pass events to each other through a Relay
// (StartRelay; PostgreSQL LISTEN/NOTIFY): every event then goes out
// through the relay, and every replica — the publishing one too —
// delivers what comes back (Deliver) to its own streams. An event is a
// hint that carries IDs and a short preview: the page re-reads the
// database, so an event delivered twice or out of order does no harm, and
// after the relay's connection was lost each stream gets a "resync" event
// (Resync) to re-read what it may have missed. Online knows only this
// replica's streams: a clinician connected to another one may also get
// the text message.
type Broker struct {
	mu    sync.Mutex
	subs  map[int64]map[chan liveEvent]struct{}
	relay chan relayed // events to the relay (StartRelay); nil: local only
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
	b.send(practitioners, liveEvent{Kind: kind, ID: id, Text: text, At: time.Now().UnixMilli()})
}

// PublishJSON sends an event whose data is v as JSON (a video call's
// signalling message) to every connection of the practitioners.
func (b *Broker) PublishJSON(practitioners []int64, kind string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	b.send(practitioners, liveEvent{Kind: kind, At: time.Now().UnixMilli(), raw: raw})
	return nil
}

// send hands an event to the relay, or delivers it here if there is none,
// its queue is full or the event is too large for one relay message.
func (b *Broker) send(practitioners []int64, e liveEvent) {
	if b.relay != nil && len(e.raw)+len(e.Text) < MaxRelayPayload/2 {
		select {
		case b.relay <- relayed{To: practitioners, Kind: e.Kind, ID: e.ID, Text: e.Text, At: e.At, Raw: e.raw}:
			return
		default:
		}
	}
	b.local(practitioners, e)
}

// local delivers an event to this replica's streams of the practitioners.
func (b *Broker) local(practitioners []int64, e liveEvent) {
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

// Relay carries live events between the replicas sharing a database:
// Notify sends one payload to every replica's listener, which hands it to
// its Broker's Deliver (store.Store.Notify and Listen: PostgreSQL
// NOTIFY, at most MaxRelayPayload bytes).
type Relay interface {
	Notify(ctx context.Context, payload string) error
}

// MaxRelayPayload is the largest payload sent through a Relay (PostgreSQL
// refuses a NOTIFY payload of 8,000 bytes or more). An event larger than
// half of it — a video call's long session description — is delivered to
// this replica's streams only.
const MaxRelayPayload = 7900

// relayed is an event as the relay carries it: a payload is a JSON list.
type relayed struct {
	To   []int64         `json:"to"`
	Kind string          `json:"k"`
	ID   int64           `json:"id,omitempty"`
	Text string          `json:"t,omitempty"`
	At   int64           `json:"at"`
	Raw  json.RawMessage `json:"raw,omitempty"`
}

// event is the event a stream is sent.
func (e relayed) event() liveEvent {
	return liveEvent{Kind: e.Kind, ID: e.ID, Text: e.Text, At: e.At, raw: e.Raw}
}

// StartRelay sends every event published from now on through r until ctx
// ends. Events waiting together go as one payload (a list): 2,000
// escalations are some thirty NOTIFYs, not 2,000. An event the relay
// fails to take is delivered here, and onErr is told.
func (b *Broker) StartRelay(ctx context.Context, r Relay, onErr func(error)) {
	q := make(chan relayed, 4096)
	b.relay = q
	go func() {
		for {
			var batch []relayed
			select {
			case <-ctx.Done():
				return
			case e := <-q:
				batch = append(batch, e)
			}
		more:
			for len(batch) < 500 {
				select {
				case e := <-q:
					batch = append(batch, e)
				default:
					break more
				}
			}
			for len(batch) > 0 {
				n, payload := packRelayed(batch)
				nctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				err := r.Notify(nctx, payload)
				cancel()
				if err != nil {
					for _, e := range batch[:n] {
						b.local(e.To, e.event())
					}
					if onErr != nil && ctx.Err() == nil {
						onErr(err)
					}
				}
				batch = batch[n:]
			}
		}
	}()
}

// packRelayed puts as many of the events as fit into one payload (at
// least one: send keeps larger events local) and says how many.
func packRelayed(es []relayed) (int, string) {
	out := []byte{'['}
	n := 0
	for _, e := range es {
		j, _ := json.Marshal(e)
		if n > 0 && len(out)+len(j)+2 > MaxRelayPayload {
			break
		}
		if n > 0 {
			out = append(out, ',')
		}
		out = append(out, j...)
		n++
	}
	return n, string(append(out, ']'))
}

// Deliver hands a payload from the relay to this replica's streams. A
// payload that does not parse is dropped: events are hints.
func (b *Broker) Deliver(payload string) {
	var es []relayed
	if json.Unmarshal([]byte(payload), &es) != nil {
		return
	}
	for _, e := range es {
		b.local(e.To, e.event())
	}
}

// Resync tells every stream of this replica to re-read its page's state
// (event "resync"): the relay's connection was lost and events published
// meanwhile did not reach this replica.
func (b *Broker) Resync() {
	e := liveEvent{Kind: "resync", At: time.Now().UnixMilli()}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range b.subs {
		for ch := range m {
			select {
			case ch <- e:
			default:
			}
		}
	}
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
