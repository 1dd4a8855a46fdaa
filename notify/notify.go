// Package notify sends short messages to people — reminders to residents,
// alerts to doctors — through a transactional outbox: a message is first
// stored (in the same transaction as whatever caused it, with any rate
// limit checked there), then a Dispatcher hands it to the configured
// Sender and records the outcome: retried with exponential backoff,
// paused while the provider throttles, held back by per-number limits,
// followed by its delivery receipt, and — when it cannot be delivered —
// escalated by another route (Escalation: the responsible doctor's live
// banner, then the institution's duty phones). An SMS gateway (package
// sms) or a WeChat adapter is one small Sender; the default, LogSender,
// records each message in the log so a county without a gateway still
// sees what would have been sent.
package notify

import (
	"context"
	"errors"
	"log/slog"
	"time"
	"unicode/utf8"
)

// Channels.
const (
	ChannelSMS    = "sms"
	ChannelWeChat = "wechat"
)

// Statuses of an outbox message.
const (
	StatusQueued = "queued"
	StatusSent   = "sent"
	StatusFailed = "failed" // gave up: retries spent, or refused for good
)

// Delivery states of a sent message, from the provider's receipt.
const (
	DeliveryPending     = "pending"     // accepted by the provider, no receipt yet
	DeliveryDelivered   = "delivered"   // the handset received it
	DeliveryUndelivered = "undelivered" // the carrier reported a failure
)

// MaxAttempts is how many times a message is tried before it is marked
// failed, unless Retry says otherwise.
const MaxAttempts = 5

// MaxBody is the longest message body in characters (a long SMS is 5 parts of 67).
const MaxBody = 335

// Message is one message to one person.
type Message struct {
	ID         int64
	County     string
	ResidentID int64 // 0 for staff
	Channel    string
	Recipient  string // phone number or WeChat open ID
	Purpose    string // e.g. chronic.reminder
	Body       string // the text as written (LogSender, the outbox row)
	// Params are the named values a pre-approved SMS template is filled
	// with (模板参数); each purpose documents the ones it provides
	// (docs/sms.md).
	Params map[string]string
	// Ref names what the message is about, "critical:12": the alert page
	// counts the deliveries of its alert's messages by it.
	Ref string
	// Practitioner is the doctor responsible for the message reaching its
	// recipient (the recipient for staff alerts), shown a live banner when
	// it cannot be delivered; Institution's duty phones are next. 0: none.
	Practitioner int64
	Institution  int64
	Status       string
	Attempts     int
	LastError    string
	CreatedAt    time.Time
	SentAt       time.Time
	NextAttempt  time.Time // queued: not before this (zero: at once)
	Provider     string    // who accepted it: aliyun, tencent
	ProviderID   string    // the provider's ID (BizId, SerialNo) receipts name
	Delivery     string    // Delivery* ("" before sending or without receipts)
	DeliveredAt  time.Time // when the receipt said it arrived (or failed)
	Escalation   string    // the route taken when it could not be delivered: banner, duty, none
}

// Valid reports whether m can be queued.
func (m *Message) Valid() error {
	switch {
	case m.Channel != ChannelSMS && m.Channel != ChannelWeChat:
		return errors.New("notify: unknown channel " + m.Channel)
	case m.Recipient == "":
		return errors.New("notify: no recipient")
	case m.Body == "" || utf8.RuneCountInString(m.Body) > MaxBody:
		return errors.New("notify: empty or over-long body")
	}
	return nil
}

// Sender delivers one message. On success it sets m.Provider and, when
// the provider gives one, m.ProviderID (receipts are matched by it). An
// error leaves the message queued for another try, unless it is a
// *SendError of kind Permanent; Throttled pauses the dispatcher.
type Sender interface {
	Send(ctx context.Context, m *Message) error
}

// Failure kinds of a SendError.
const (
	Temporary = iota // 5xx, timeout, network: try again after a backoff
	Throttled        // the provider asks us to slow down: pause, then try again
	Permanent        // refused for good (unknown template, bad number, bad signature)
)

// SendError is a classified failure of a Sender. Its text never holds a
// secret or a full phone number: it is logged and stored.
type SendError struct {
	Kind       int
	Code       string        // the provider's code, e.g. isv.BUSINESS_LIMIT_CONTROL
	RetryAfter time.Duration // wait at least this long before the next try (0: the backoff)
	Msg        string
}

// Error is the code and the message.
func (e *SendError) Error() string {
	if e.Code == "" {
		return e.Msg
	}
	return e.Code + ": " + e.Msg
}

// Receipt is a provider's report on a sent message (回执).
type Receipt struct {
	ProviderID string
	Delivered  bool
	At         time.Time
	Code       string // the carrier's code on failure
}

// ReceiptSource fetches delivery receipts of sent messages: by polling
// each (Alibaba QuerySendDetails) or by pulling what the provider holds
// (Tencent PullSmsSendStatus, which may return receipts of messages not
// in awaiting).
type ReceiptSource interface {
	Receipts(ctx context.Context, awaiting []Message) ([]Receipt, error)
}

// LogSender is the default Sender: it writes each message to the log with
// the recipient masked (the outbox row keeps the full message).
type LogSender struct{ Log *slog.Logger }

// Send logs m.
func (s LogSender) Send(_ context.Context, m *Message) error {
	s.Log.Info("message", "id", m.ID, "channel", m.Channel, "to", MaskRecipient(m.Recipient), "purpose", m.Purpose, "chars", utf8.RuneCountInString(m.Body))
	return nil
}

// MaskRecipient keeps the first 3 and last 2 characters of a phone number or ID.
func MaskRecipient(s string) string {
	r := []rune(s)
	if len(r) <= 5 {
		return "***"
	}
	out := make([]rune, len(r))
	for i := range r {
		out[i] = '*'
		if i < 3 || i >= len(r)-2 {
			out[i] = r[i]
		}
	}
	return string(out)
}

// Attempt is the outcome of one try at sending a message.
type Attempt struct {
	Status     string // StatusSent, StatusQueued (retry at NextAt) or StatusFailed
	Attempts   int
	LastError  string
	At         time.Time
	NextAt     time.Time // StatusQueued: when to try again
	Provider   string
	ProviderID string
	Delivery   string // StatusSent: DeliveryPending when a receipt will follow
}

// Repository is the outbox's storage.
type Repository interface {
	// ClaimMessages returns up to n queued messages due at now, oldest
	// first, and holds them for lease (their next attempt moves to
	// now+lease) so another replica does not send them meanwhile.
	ClaimMessages(ctx context.Context, now time.Time, lease time.Duration, n int) ([]Message, error)
	// MarkMessage records an attempt.
	MarkMessage(ctx context.Context, id int64, a Attempt) error
	// DeferMessage puts a claimed message back, untried, until at.
	DeferMessage(ctx context.Context, id int64, at time.Time, reason string) error
}

// Limit is a per-number rate limit: at most Max messages to one number in
// each window of Per (calendar-aligned: the hour, the day).
type Limit struct {
	Per time.Duration
	Max int
}

// Limiter takes one message from a number's quota. It is shared by the
// replicas (the store keeps it in the database). ok is false when a limit
// is spent; retryAt is when its window ends. A refused take takes nothing.
// ReturnQuota gives back what TakeQuota took at now (the send failed: only
// messages the provider accepted count).
type Limiter interface {
	TakeQuota(ctx context.Context, recipient string, now time.Time, limits []Limit) (ok bool, retryAt time.Time, err error)
	ReturnQuota(ctx context.Context, recipient string, now time.Time, limits []Limit) error
}

// Retry is the retry schedule: attempt k (1-based) that fails waits
// First·2^(k-1), at most Max, before the next; after Attempts the message
// has failed.
type Retry struct {
	Attempts int
	First    time.Duration
	Max      time.Duration
}

// DefaultRetry is 5 attempts, 30 s, 1 min, 2 min, 4 min apart.
func DefaultRetry() Retry {
	return Retry{Attempts: MaxAttempts, First: 30 * time.Second, Max: time.Hour}
}

// Backoff is the wait after the attempts-th failed attempt.
func (r Retry) Backoff(attempts int) time.Duration {
	d := r.First
	for i := 1; i < attempts && d < r.Max; i++ {
		d *= 2
	}
	return min(d, r.Max)
}

// Escalator takes over a message that cannot be delivered.
type Escalator interface {
	Escalate(ctx context.Context, m *Message, reason string) error
}

// Dispatcher hands queued messages to the Sender.
type Dispatcher struct {
	Repo      Repository
	Sender    Sender
	Log       *slog.Logger
	Now       func() time.Time
	Every     time.Duration // poll interval (default 2 s)
	Retry     Retry         // zero: DefaultRetry
	Limiter   Limiter       // nil: no per-number limits
	Limits    []Limit
	Escalator Escalator // nil: a failed message only stays failed

	pausedUntil time.Time // the provider throttled us
}

// claimLease is how long a claimed message is held from other replicas.
const claimLease = 2 * time.Minute

func (d *Dispatcher) retry() Retry {
	if d.Retry.Attempts <= 0 {
		return DefaultRetry()
	}
	return d.Retry
}

// RunOnce sends what is due now and returns how many were sent. While the
// provider throttles, it sends nothing.
func (d *Dispatcher) RunOnce(ctx context.Context) (int, error) {
	now := d.Now()
	if now.Before(d.pausedUntil) {
		return 0, nil
	}
	ms, err := d.Repo.ClaimMessages(ctx, now, claimLease, 200)
	if err != nil {
		return 0, err
	}
	sent := 0
	for i := range ms {
		m := &ms[i]
		if now.Before(d.pausedUntil) { // throttled by an earlier message of this batch
			if err := d.Repo.DeferMessage(ctx, m.ID, d.pausedUntil, "provider throttling"); err != nil {
				return sent, err
			}
			continue
		}
		if d.Now().Sub(now) > claimLease/2 { // a slow provider: give the rest back before the claim lapses
			if err := d.Repo.DeferMessage(ctx, m.ID, d.Now(), m.LastError); err != nil {
				return sent, err
			}
			continue
		}
		if d.Limiter != nil && len(d.Limits) > 0 {
			ok, at, err := d.Limiter.TakeQuota(ctx, m.Recipient, now, d.Limits)
			if err != nil {
				return sent, err
			}
			if !ok {
				d.Log.Info("message held by the per-number limit", "id", m.ID, "to", MaskRecipient(m.Recipient), "until", at)
				if err := d.Repo.DeferMessage(ctx, m.ID, at, "per-number limit"); err != nil {
					return sent, err
				}
				continue
			}
		}
		ok, err := d.attempt(ctx, m, now)
		if err != nil {
			return sent, err
		}
		if ok {
			sent++
		} else if d.Limiter != nil && len(d.Limits) > 0 {
			if err := d.Limiter.ReturnQuota(ctx, m.Recipient, now, d.Limits); err != nil {
				return sent, err
			}
		}
	}
	return sent, nil
}

// attempt sends m once and records the outcome.
func (d *Dispatcher) attempt(ctx context.Context, m *Message, now time.Time) (bool, error) {
	serr := d.Sender.Send(ctx, m)
	a := Attempt{Status: StatusSent, Attempts: m.Attempts + 1, At: d.Now(), Provider: m.Provider, ProviderID: m.ProviderID}
	if serr == nil {
		if m.ProviderID != "" {
			a.Delivery = DeliveryPending
		}
		return true, d.Repo.MarkMessage(ctx, m.ID, a)
	}
	r := d.retry()
	a.Status, a.LastError = StatusQueued, serr.Error()
	a.NextAt = now.Add(r.Backoff(a.Attempts))
	var se *SendError
	if errors.As(serr, &se) {
		if se.RetryAfter > 0 && now.Add(se.RetryAfter).After(a.NextAt) {
			a.NextAt = now.Add(se.RetryAfter) // e.g. the carrier's flow control of this number
		}
		switch se.Kind {
		case Permanent:
			a.Status = StatusFailed
		case Throttled:
			d.pausedUntil = a.NextAt
		}
	}
	if a.Attempts >= r.Attempts {
		a.Status = StatusFailed
	}
	if a.Status == StatusFailed {
		a.NextAt = time.Time{}
	}
	d.Log.Warn("message not sent", "id", m.ID, "to", MaskRecipient(m.Recipient), "purpose", m.Purpose, "attempt", a.Attempts, "status", a.Status, "err", serr)
	if err := d.Repo.MarkMessage(ctx, m.ID, a); err != nil {
		return false, err
	}
	if a.Status == StatusFailed && d.Escalator != nil {
		m.Status, m.Attempts, m.LastError = a.Status, a.Attempts, a.LastError
		if err := d.Escalator.Escalate(ctx, m, a.LastError); err != nil {
			d.Log.Error("escalating an undelivered message", "id", m.ID, "err", err)
		}
	}
	return false, nil
}

// Run dispatches until ctx ends.
func (d *Dispatcher) Run(ctx context.Context) {
	every := d.Every
	if every <= 0 {
		every = 2 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := d.RunOnce(ctx); err != nil && ctx.Err() == nil {
			d.Log.Error("outbox dispatch", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
