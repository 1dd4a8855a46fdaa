package notify

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// PurposeDuty is the outbox purpose of the message to an institution's
// duty phones about another message that could not be delivered. It is
// never escalated itself.
const PurposeDuty = "notify.duty"

// Escalation routes.
const (
	RouteBanner = "banner" // the responsible doctor is connected and was shown a banner
	RouteDuty   = "duty"   // the institution's duty phones were texted
	RouteNone   = "none"   // nobody else to tell (logged)
)

// Live shows a banner to connected doctors (web.Broker).
type Live interface {
	Publish(practitioners []int64, kind string, id int64, text string)
	Online(practitioner int64) bool
}

// EscalationRepository records an escalation with the messages it queues,
// in one transaction.
type EscalationRepository interface {
	EscalateMessage(ctx context.Context, id int64, route string, duty []Message, at time.Time) error
}

// Escalation is the Escalator of messages that cannot be delivered (retries
// spent, refused for good, or reported undelivered by the carrier): first
// the responsible doctor's live banner, and when that doctor has no
// browser connected, a text to each duty phone of the message's
// institution (configuration: Duty, institution ID → phones).
type Escalation struct {
	Repo   EscalationRepository
	Live   Live // nil: no banners
	Duty   map[int64][]string
	Labels map[string]string // purpose → its name in a duty message ("危急值通知")
	Now    func() time.Time
	Log    *slog.Logger
}

// LiveKind is the live event kind and ID of the banner about an
// undelivered message: its Ref's kind ("critical:12" → critical.undelivered,
// 12), or notify.undelivered with the message's own ID.
func LiveKind(m *Message) (string, int64) {
	if k, id, ok := strings.Cut(m.Ref, ":"); ok {
		if n, err := strconv.ParseInt(id, 10, 64); err == nil && k != "" {
			return k + ".undelivered", n
		}
	}
	return "notify.undelivered", m.ID
}

// Escalate tells the next person about m.
func (e *Escalation) Escalate(ctx context.Context, m *Message, reason string) error {
	route := RouteNone
	var duty []Message
	if m.Purpose != PurposeDuty {
		if e.Live != nil && m.Practitioner != 0 {
			kind, id := LiveKind(m)
			e.Live.Publish([]int64{m.Practitioner}, kind, id, MaskRecipient(m.Recipient))
			if e.Live.Online(m.Practitioner) {
				route = RouteBanner
			}
		}
		if route == RouteNone {
			duty = e.dutyMessages(m)
			if len(duty) > 0 {
				route = RouteDuty
			}
		}
	}
	e.Log.Warn("message not delivered: escalated", "id", m.ID, "to", MaskRecipient(m.Recipient), "purpose", m.Purpose, "route", route, "duty_phones", len(duty), "reason", reason)
	return e.Repo.EscalateMessage(ctx, m.ID, route, duty, e.Now())
}

func (e *Escalation) dutyMessages(m *Message) []Message {
	label := e.Labels[m.Purpose]
	if label == "" {
		label = "通知"
	}
	masked := MaskRecipient(m.Recipient)
	var out []Message
	for _, p := range e.Duty[m.Institution] {
		if p == m.Recipient {
			continue
		}
		out = append(out, Message{County: m.County, Channel: ChannelSMS, Recipient: p, Purpose: PurposeDuty, Ref: m.Ref, Institution: m.Institution,
			Params: map[string]string{"phone": masked, "topic": label},
			Body:   fmt.Sprintf("【短信未达】发往%s的%s未能送达，请值班人员电话联系并登录平台处理。", masked, label)})
	}
	return out
}

// ReceiptRepository keeps delivery states.
type ReceiptRepository interface {
	// AwaitingReceipt returns up to n messages sent by provider after
	// since whose delivery is still pending.
	AwaitingReceipt(ctx context.Context, provider string, since time.Time, n int) ([]Message, error)
	// RecordReceipts stores receipts of provider's messages and returns
	// the messages they newly report undelivered.
	RecordReceipts(ctx context.Context, provider string, rs []Receipt) ([]Message, error)
}

// Receipts fetches delivery receipts and escalates what the carrier could
// not deliver.
type Receipts struct {
	Repo      ReceiptRepository
	Source    ReceiptSource
	Provider  string
	Escalator Escalator
	Log       *slog.Logger
	Now       func() time.Time
	Every     time.Duration // default 1 min
	Window    time.Duration // how long after sending a receipt is awaited (default 72 h)
}

// RunOnce fetches the receipts due and returns how many it recorded.
func (r *Receipts) RunOnce(ctx context.Context) (int, error) {
	window := r.Window
	if window <= 0 {
		window = 72 * time.Hour
	}
	ms, err := r.Repo.AwaitingReceipt(ctx, r.Provider, r.Now().Add(-window), 200)
	if err != nil || len(ms) == 0 {
		return 0, err
	}
	rs, err := r.Source.Receipts(ctx, ms)
	if err != nil {
		return 0, err
	}
	bad, err := r.Repo.RecordReceipts(ctx, r.Provider, rs)
	if err != nil {
		return 0, err
	}
	for i := range bad {
		if r.Escalator != nil {
			if err := r.Escalator.Escalate(ctx, &bad[i], "carrier: "+bad[i].LastError); err != nil {
				r.Log.Error("escalating an undelivered message", "id", bad[i].ID, "err", err)
			}
		}
	}
	return len(rs), nil
}

// Run fetches receipts until ctx ends.
func (r *Receipts) Run(ctx context.Context) {
	every := r.Every
	if every <= 0 {
		every = time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := r.RunOnce(ctx); err != nil && ctx.Err() == nil {
			r.Log.Warn("delivery receipts", "provider", r.Provider, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
