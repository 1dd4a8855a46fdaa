package web

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"
)

// chanRelay is a relay between brokers in one process: what one notifies
// every broker delivers, as PostgreSQL's NOTIFY does between replicas.
type chanRelay struct {
	mu       sync.Mutex
	brokers  []*Broker
	payloads []string
}

func (r *chanRelay) Notify(_ context.Context, payload string) error {
	r.mu.Lock()
	r.payloads = append(r.payloads, payload)
	bs := r.brokers
	r.mu.Unlock()
	for _, b := range bs {
		b.Deliver(payload)
	}
	return nil
}

// Events published on one replica reach streams on another through the
// relay; many waiting events share a payload under the NOTIFY limit; an
// event too large for it stays on its replica; duplicated or reordered
// payloads are delivered as they come (the page re-reads); Resync tells
// every stream to re-read.
func TestBrokerRelay(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	one, three := NewBroker(), NewBroker()
	r := &chanRelay{brokers: []*Broker{one, three}}
	one.StartRelay(ctx, r, func(err error) { t.Error(err) })
	three.StartRelay(ctx, r, func(err error) { t.Error(err) })
	ch, done, _ := three.subscribe(7)
	defer done()
	recv := func() liveEvent {
		t.Helper()
		select {
		case e := <-ch:
			return e
		case <-time.After(2 * time.Second):
			t.Fatal("no event")
		}
		return liveEvent{}
	}

	one.Publish([]int64{7}, "consult.new", 42, "胸痛待查")
	if e := recv(); e.Kind != "consult.new" || e.ID != 42 || e.Text != "胸痛待查" {
		t.Fatalf("across replicas: %+v", e)
	}

	// A burst: packed into few payloads, each under the limit, none lost.
	for i := range 60 {
		one.Publish([]int64{7, 8}, "consult.escalated", int64(1000+i), strings.Repeat("长", 40))
	}
	for i := range 60 {
		if e := recv(); e.ID != int64(1000+i) {
			t.Fatalf("burst event %d: %+v", i, e)
		}
	}
	r.mu.Lock()
	for _, p := range r.payloads {
		if len(p) > MaxRelayPayload {
			t.Errorf("payload of %d bytes, over %d", len(p), MaxRelayPayload)
		}
	}
	if len(r.payloads) > 40 {
		t.Errorf("%d payloads for 61 events: not packed", len(r.payloads))
	}
	r.mu.Unlock()

	// Too large for a NOTIFY: delivered on its own replica only.
	big := map[string]string{"sdp": strings.Repeat("a", MaxRelayPayload)}
	local, ldone, _ := one.subscribe(7)
	defer ldone()
	if err := one.PublishJSON([]int64{7}, "video.signal", big); err != nil {
		t.Fatal(err)
	}
	if e := <-local; e.Kind != "video.signal" || len(e.raw) < MaxRelayPayload {
		t.Fatalf("large event on its own replica: %+v", e.Kind)
	}
	select {
	case e := <-ch:
		t.Fatalf("a large event crossed replicas: %s", e.Kind)
	case <-time.After(100 * time.Millisecond):
	}

	// A payload twice and out of order, and one that does not parse.
	p2, _ := json.Marshal([]relayed{{To: []int64{7}, Kind: "consult.message", ID: 2}})
	p1, _ := json.Marshal([]relayed{{To: []int64{7}, Kind: "consult.new", ID: 1}})
	for _, p := range []string{string(p2), "not json", string(p1), string(p2)} {
		three.Deliver(p)
	}
	for _, want := range []int64{2, 1, 2} {
		if e := recv(); e.ID != want {
			t.Fatalf("replayed payloads: got %d, want %d", e.ID, want)
		}
	}

	three.Resync()
	if e := recv(); e.Kind != "resync" {
		t.Fatalf("after a lost listener: %+v", e)
	}
}
