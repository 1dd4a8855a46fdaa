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
	StatusFailed = "failed" // gave up after MaxAttempts
)

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
	// MarkMessage records an attempt: sent, or still queued / failed with the error.
	MarkMessage(ctx context.Context, id int64, status string, attempts int, lastError string, at time.Time) error
}

// Dispatcher hands queued messages to the Sender.
type Dispatcher struct {
	Repo   Repository
	Sender Sender
	Log    *slog.Logger
	Now    func() time.Time
	Every  time.Duration // poll interval (default 2 s)
}

// RunOnce sends what is queued now and returns how many were sent.
func (d *Dispatcher) RunOnce(ctx context.Context) (int, error) {
	ms, err := d.Repo.PendingMessages(ctx, 200)
	if err != nil {
		return 0, err
	}
	sent := 0
	for i := range ms {
		m := &ms[i]
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
