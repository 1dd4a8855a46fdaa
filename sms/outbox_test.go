package sms

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"countycare/audit"
	"countycare/internal/testdb"
	"countycare/notify"
	"countycare/store"
)

// These tests run the outbox end to end: messages queued in a real
// database (SQLite and PostgreSQL), the dispatcher with this package's
// client, and each provider's fake on loopback.

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// liveRecorder stands in for web.Broker: it records banners.
type liveRecorder struct {
	online map[int64]bool
	got    []string
}

func (l *liveRecorder) Publish(ps []int64, kind string, id int64, text string) {
	for _, p := range ps {
		l.got = append(l.got, kind+" "+text)
		_ = p
	}
}
func (l *liveRecorder) Online(p int64) bool { return l.online[p] }

type rig struct {
	st   *store.Store
	clk  *clock
	c    *Client
	f    *fake
	d    *notify.Dispatcher
	live *liveRecorder
	logs *bytes.Buffer
	rc   *notify.Receipts
}

func newRig(t *testing.T, d store.Dialect, provider string) *rig {
	clk := &clock{t: time.Now().UTC().Truncate(time.Hour).Add(5 * time.Minute)}
	st := testdb.Open(t, d, clk.Now)
	c, f := testClient(t, provider)
	logs := &bytes.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	live := &liveRecorder{online: map[int64]bool{}}
	esc := &notify.Escalation{Repo: st, Live: live, Duty: c.cfg.Duty(), Labels: c.cfg.Labels(), Now: clk.Now, Log: log}
	r := &rig{st: st, clk: clk, c: c, f: f, live: live, logs: logs,
		d:  &notify.Dispatcher{Repo: st, Sender: c, Log: log, Now: clk.Now, Retry: c.cfg.RetrySchedule(), Limiter: st, Limits: c.cfg.Limits(), Escalator: esc},
		rc: &notify.Receipts{Repo: st, Source: c, Provider: provider, Escalator: esc, Log: log, Now: clk.Now}}
	return r
}

func (r *rig) queue(t *testing.T, ms ...notify.Message) []notify.Message {
	t.Helper()
	for i := range ms {
		if ms[i].Body == "" {
			ms[i].Body = "【危急值】血钾 6.8 mmol/L，请立即登录平台处理。"
		}
		ms[i].County, ms[i].Channel = "411723", notify.ChannelSMS
	}
	if _, err := r.st.QueueMessages(context.Background(), ms, 0, time.Time{}, audit.Event{Action: "test.queue", Outcome: audit.OutcomeOK, CountyCode: "411723"}); err != nil {
		t.Fatal(err)
	}
	return ms
}

func (r *rig) run(t *testing.T) int {
	t.Helper()
	n, err := r.d.RunOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (r *rig) message(t *testing.T, ref string) notify.Message {
	t.Helper()
	ms, err := r.st.MessagesAbout(context.Background(), "411723", ref)
	if err != nil || len(ms) == 0 {
		t.Fatalf("messages about %s: %v %v", ref, ms, err)
	}
	return ms[0]
}

func alert(ref, phone string) notify.Message {
	return notify.Message{Recipient: phone, Purpose: "critical.alert", Ref: ref, Practitioner: 42, Institution: 7,
		Params: map[string]string{"finding": "血钾", "value": "6.8 mmol/L"}}
}

// TestOutboxRetriesThenDelivers: a 500 and a timeout are retried after an
// exponential backoff (never before it), the message goes out once, and
// its receipt marks it delivered — for both providers on both databases.
func TestOutboxRetriesThenDelivers(t *testing.T) {
	for _, prov := range []string{Aliyun, Tencent} {
		t.Run(prov, func(t *testing.T) {
			testdb.Each(t, func(t *testing.T, d store.Dialect) {
				r := newRig(t, d, prov)
				r.queue(t, alert("critical:1", "13812345678"))
				r.f.then("500", "timeout")
				if n := r.run(t); n != 0 {
					t.Fatalf("sent on a 500: %d", n)
				}
				m := r.message(t, "critical:1")
				if m.Status != notify.StatusQueued || m.Attempts != 1 || !m.NextAttempt.Equal(r.clk.Now().Add(30*time.Second)) {
					t.Fatalf("after a 500: %+v", m)
				}
				if n := r.run(t); n != 0 || r.f.requests != 1 {
					t.Fatalf("retried before the backoff: %d requests", r.f.requests)
				}
				r.clk.Add(31 * time.Second)
				r.run(t) // times out
				if m = r.message(t, "critical:1"); m.Attempts != 2 || !m.NextAttempt.Equal(r.clk.Now().Add(60*time.Second)) || !strings.Contains(m.LastError, "timed out") {
					t.Fatalf("after a timeout: %+v", m)
				}
				r.clk.Add(61 * time.Second)
				if n := r.run(t); n != 1 {
					t.Fatalf("third attempt sent %d", n)
				}
				sent := r.f.sentCopy()
				if len(sent) != 1 {
					t.Fatalf("the provider got %d messages", len(sent))
				}
				m = r.message(t, "critical:1")
				if m.Status != notify.StatusSent || m.Attempts != 3 || m.ProviderID != sent[0].ID || m.Delivery != notify.DeliveryPending {
					t.Fatalf("sent: %+v", m)
				}
				r.clk.Add(time.Hour)
				if n := r.run(t); n != 0 || len(r.f.sentCopy()) != 1 {
					t.Fatalf("sent twice")
				}
				if n, err := r.rc.RunOnce(context.Background()); err != nil || n != 1 {
					t.Fatalf("receipts: %d %v", n, err)
				}
				if m = r.message(t, "critical:1"); m.Delivery != notify.DeliveryDelivered || m.DeliveredAt.IsZero() {
					t.Fatalf("after the receipt: %+v", m)
				}
			})
		})
	}
}

// TestOutboxThrottlingAndLimits: a throttled provider pauses the whole
// dispatcher (no retry storm); the per-number limit (2 an hour) holds the
// third message to one number until the next hour, across two
// dispatchers sharing the database, while other numbers go out.
func TestOutboxThrottlingAndLimits(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		r := newRig(t, d, Aliyun)
		r.queue(t, alert("critical:1", "13812345678"), alert("critical:2", "13812345679"), alert("critical:3", "13812345670"))
		r.f.then("throttle")
		if n := r.run(t); n != 0 || r.f.requests != 1 {
			t.Fatalf("throttled: %d sent, %d requests", n, r.f.requests)
		}
		r.clk.Add(30 * time.Second)
		if n := r.run(t); n != 0 || r.f.requests != 1 {
			t.Fatalf("sent while paused: %d requests", r.f.requests)
		}
		r.clk.Add(31 * time.Second)
		if n := r.run(t); n != 3 {
			t.Fatalf("after the pause: %d sent", n)
		}
		// Per-number limit: two dispatchers (replicas) on one database.
		other := *r.d
		r.queue(t, alert("critical:4", "13812340000"), alert("critical:5", "13812340000"), alert("critical:6", "13900000001"))
		r.queue(t, alert("critical:7", "13812340000"))
		n1 := r.run(t)
		n2, err := other.RunOnce(context.Background())
		if err != nil || n1+n2 != 3 {
			t.Fatalf("sent %d+%d %v", n1, n2, err)
		}
		held := r.message(t, "critical:7")
		if held.Status != notify.StatusQueued || held.Attempts != 0 || held.NextAttempt.Before(r.clk.Now().Truncate(time.Hour).Add(time.Hour)) {
			t.Fatalf("the third message to one number in an hour: %+v", held)
		}
		r.clk.Add(time.Hour)
		if n := r.run(t); n != 1 || r.message(t, "critical:7").Status != notify.StatusSent {
			t.Fatalf("next hour: %d", n)
		}
	})
}

// TestOutboxEscalates: a message that cannot be delivered goes by another
// route — a refused template at once, retries spent, or a carrier's
// "undelivered" receipt: the responsible doctor's live banner when
// connected, else the institution's duty phones; and the logs of the
// failures hold neither the secret nor a full number.
func TestOutboxEscalates(t *testing.T) {
	for _, prov := range []string{Aliyun, Tencent} {
		t.Run(prov, func(t *testing.T) {
			testdb.Each(t, func(t *testing.T, d store.Dialect) {
				r := newRig(t, d, prov)
				ctx := context.Background()
				// Retries spent (3 attempts, 500 each), doctor offline: duty phones.
				r.queue(t, alert("critical:1", "13812345678"))
				r.f.then("500", "500", "500")
				for i := 0; i < 3; i++ {
					r.run(t)
					r.clk.Add(time.Hour)
				}
				m := r.message(t, "critical:1")
				if m.Status != notify.StatusFailed || m.Attempts != 3 || m.Escalation != notify.RouteDuty {
					t.Fatalf("after 3 failures: %+v", m)
				}
				if len(r.live.got) != 1 || r.live.got[0] != "critical.undelivered 138******78" {
					t.Errorf("banners %v", r.live.got)
				}
				// The duty message goes out as its own template.
				if n := r.run(t); n != 1 {
					t.Fatalf("duty message sent %d", n)
				}
				sent := r.f.sentCopy()
				duty := sent[len(sent)-1]
				if !strings.HasSuffix(duty.Phone, "13900000007") || (duty.Params["phone"]+duty.Params["2"]) != "138******78" || (duty.Params["topic"]+duty.Params["1"]) != "危急值通知" {
					t.Errorf("duty message %+v", duty)
				}
				// A refused number: the doctor is connected, so the banner is the route.
				r.live.online[42] = true
				bad := alert("critical:2", "13812345678")
				bad.Params = map[string]string{"finding": "血钾"} // the template needs value too
				r.queue(t, bad)
				r.run(t)
				if m = r.message(t, "critical:2"); m.Status != notify.StatusFailed || m.Attempts != 1 || m.Escalation != notify.RouteBanner {
					t.Fatalf("refused for good: %+v", m)
				}
				// The carrier reports one undelivered.
				r.queue(t, alert("critical:3", "13812345677"))
				if n := r.run(t); n != 1 {
					t.Fatalf("sent %d", n)
				}
				m = r.message(t, "critical:3")
				r.f.mu.Lock()
				r.f.failed[m.ProviderID] = true
				r.f.mu.Unlock()
				r.rc.RunOnce(ctx)
				if m = r.message(t, "critical:3"); m.Delivery != notify.DeliveryUndelivered || m.Escalation != notify.RouteBanner || m.LastError == "" {
					t.Fatalf("undelivered: %+v", m)
				}
				// A bad signature (wrong secret): refused, logged without secrets.
				r.c.cfg.Secret = "wrong-secret-987654"
				r.queue(t, alert("critical:4", "13812345676"))
				r.run(t)
				if m = r.message(t, "critical:4"); m.Status != notify.StatusFailed || strings.Contains(m.LastError, "13812345676") {
					t.Fatalf("bad signature: %+v", m)
				}
				logs := r.logs.String()
				for _, secret := range []string{testSecret, "wrong-secret-987654", "13812345678", "13812345677", "13812345676", "13900000007"} {
					if strings.Contains(logs, secret) {
						t.Errorf("the log holds %s:\n%s", secret, logs)
					}
				}
				if !strings.Contains(logs, "138******76") {
					t.Errorf("the log does not name the masked number:\n%s", logs)
				}
			})
		})
	}
}

// slowSender takes a minute and a second per message (on the test clock).
type slowSender struct {
	inner notify.Sender
	clk   *clock
}

func (s slowSender) Send(ctx context.Context, m *notify.Message) error {
	s.clk.Add(61 * time.Second)
	return s.inner.Send(ctx, m)
}

// TestOutboxSlowProviderGivesClaimsBack: when sending a batch takes more
// than half the claim's lease, the dispatcher gives the rest back untried
// (before another replica could take them as lapsed), and sends them next.
func TestOutboxSlowProviderGivesClaimsBack(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		r := newRig(t, d, Tencent)
		r.d.Sender = slowSender{r.c, r.clk}
		r.d.Limits = nil
		r.queue(t, alert("critical:1", "13812345671"), alert("critical:2", "13812345672"), alert("critical:3", "13812345673"))
		if n := r.run(t); n != 1 {
			t.Fatalf("first batch sent %d, want 1 before giving the rest back", n)
		}
		if m := r.message(t, "critical:3"); m.Status != notify.StatusQueued || m.Attempts != 0 || m.NextAttempt.After(r.clk.Now()) {
			t.Fatalf("given back: %+v", m)
		}
		r.run(t)
		r.run(t)
		if got := len(r.f.sentCopy()); got != 3 {
			t.Errorf("sent %d", got)
		}
	})
}

// TestOutboxCarrierNumberLimit: the carrier's flow control of one number
// (Alibaba isv.BUSINESS_LIMIT_CONTROL, Tencent LimitExceeded.PhoneNumber…)
// puts that message off for the provider's window, and only it: the
// dispatcher goes on with other numbers.
func TestOutboxCarrierNumberLimit(t *testing.T) {
	for _, tc := range []struct {
		prov string
		wait time.Duration
	}{{Aliyun, time.Hour}, {Tencent, 12 * time.Hour}} {
		t.Run(tc.prov, func(t *testing.T) {
			r := newRig(t, store.SQLite, tc.prov)
			r.queue(t, alert("critical:1", "13812345671"), alert("critical:2", "13812345672"))
			r.f.then("number_limit")
			if n := r.run(t); n != 1 {
				t.Fatalf("sent %d, want the other number's", n)
			}
			if m := r.message(t, "critical:1"); m.Status != notify.StatusQueued || m.Attempts != 1 || !m.NextAttempt.Equal(r.clk.Now().Add(tc.wait)) ||
				strings.Contains(m.LastError, "13812345671") {
				t.Errorf("held by the carrier: %+v", m)
			}
		})
	}
}
