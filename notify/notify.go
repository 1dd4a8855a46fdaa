// Package notify sends short messages to people — reminders to residents,
// alerts to doctors — through a transactional outbox: a message is first
// stored (in the same transaction as whatever caused it, with any rate
// limit checked there), then a Dispatcher hands it to the configured
// Sender and records the outcome. An SMS gateway or a WeChat adapter is one
// small Sender; the default, LogSender, records each message in the log so
// a county without a gateway still sees what would have been sent.
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
	StatusFailed = "failed" // gave up after MaxAttempts, or interrupted mid-send
	// StatusSending is a message a dispatcher claimed and is handing to
	// the Sender. One left in it was interrupted (its replica died): it
	// may or may not have reached the gateway.
	StatusSending = "sending"
)

// Interrupted is the last error of a message whose dispatcher stopped
// between claiming it and recording the gateway's answer; it is not sent
// again, so that no one gets a text twice.
const Interrupted = "interrupted mid-send (the sending replica stopped); not resent, so that no one gets it twice"

// MaxAttempts is how many times a message is tried before it is marked failed.
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
	Body       string
	Status     string
	Attempts   int
	LastError  string
	CreatedAt  time.Time
	SentAt     time.Time
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

// Sender delivers one message; an error leaves it queued for another try.
type Sender interface {
	Send(ctx context.Context, m *Message) error
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

// Repository is the outbox's storage.
type Repository interface {
	// PendingMessages returns up to n queued messages, oldest first.
	PendingMessages(ctx context.Context, n int) ([]Message, error)
	// ClaimMessage moves a queued message to StatusSending; false if it
	// was no longer queued (another dispatcher claimed it).
	ClaimMessage(ctx context.Context, id int64) (bool, error)
	// MarkMessage records an attempt on a claimed message: sent, or still
	// queued / failed with the error.
	MarkMessage(ctx context.Context, id int64, status string, attempts int, lastError string, at time.Time) error
	// AbandonSending marks every message left in StatusSending failed with
	// Interrupted and returns how many there were.
	AbandonSending(ctx context.Context) (int, error)
}

// Dispatcher hands queued messages to the Sender. Each message is claimed
// (queued → sending) before it is sent, so two dispatchers never send the
// same message; exactly one dispatcher runs across the replicas (it holds
// the scheduler's lease). A dispatcher that dies after claiming a message
// leaves it in StatusSending; the next one to Run marks it failed with
// Interrupted instead of sending it again (at most once: the gateway may
// have sent it). Message.ID is stable, so a gateway adapter can pass it as
// the gateway's own deduplication key.
type Dispatcher struct {
	Repo   Repository
	Sender Sender
	Log    *slog.Logger
	Now    func() time.Time
	Every  time.Duration // poll interval (default 2 s)
}

// RunOnce sends what is queued now and returns how many were sent.
func (d *Dispatcher) RunOnce(ctx context.Context) (int, error) {
	ms, err := d.Repo.PendingMessages(ctx, dispatchBatch)
	if err != nil {
		return 0, err
	}
	sent := 0
	for i := range ms {
		m := &ms[i]
		ok, err := d.Repo.ClaimMessage(ctx, m.ID)
		if err != nil {
			return sent, err
		}
		if !ok {
			continue
		}
		serr := d.Sender.Send(ctx, m)
		status, attempts, msg := StatusSent, m.Attempts+1, ""
		if serr != nil {
			status, msg = StatusQueued, serr.Error()
			if attempts >= MaxAttempts {
				status = StatusFailed
			}
			d.Log.Warn("message not sent", "id", m.ID, "attempt", attempts, "err", serr)
		} else {
			sent++
		}
		if err := d.Repo.MarkMessage(ctx, m.ID, status, attempts, msg, d.Now()); err != nil {
			return sent, err
		}
	}
	return sent, nil
}

// dispatchBatch is how many queued messages RunOnce reads at a time.
const dispatchBatch = 200

// Run first marks the messages an earlier dispatcher left mid-send as
// interrupted, then dispatches until ctx ends.
func (d *Dispatcher) Run(ctx context.Context) {
	every := d.Every
	if every <= 0 {
		every = 2 * time.Second
	}
	if n, err := d.Repo.AbandonSending(ctx); err != nil && ctx.Err() == nil {
		d.Log.Error("outbox dispatch", "err", err)
	} else if n > 0 {
		d.Log.Warn("outbox: messages interrupted mid-send by a stopped dispatcher, not resent", "messages", n)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		for {
			n, err := d.RunOnce(ctx)
			if err != nil && ctx.Err() == nil {
				d.Log.Error("outbox dispatch", "err", err)
			}
			if err != nil || n < dispatchBatch {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
