package audit

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Appender writes a batch of events to the chain in one transaction,
// sealing each (see Seal). The store implements it.
type Appender interface {
	AppendAudit(ctx context.Context, events []Event) error
}

// Writer is the Recorder used for reads, searches and denials: Record
// queues the event and returns at once, and one goroutine writes queued
// events in batches (group commit), so auditing a read costs a channel
// send instead of a synchronous disk write. Writes of patient data do not
// use Writer: they append their audit row in their own transaction.
//
// Nothing is dropped: when the queue is full Record blocks, and when the
// database refuses a batch it is retried until it succeeds or Close's
// context ends. Events still queued when the process is killed are lost;
// docs/architecture.md states this window (at most FlushInterval).
type Writer struct {
	app      Appender
	log      *slog.Logger
	now      func() time.Time
	ch       chan Event
	flushReq chan chan struct{}
	quit     chan struct{}
	done     chan struct{}
	once     sync.Once

	// FlushInterval is the longest an event waits in memory.
	FlushInterval time.Duration
	// MaxBatch is the most events written in one transaction.
	MaxBatch int
}

// NewWriter returns a Writer with a queue of size queue. Call Start once.
func NewWriter(app Appender, log *slog.Logger, now func() time.Time, queue int) *Writer {
	return &Writer{
		app: app, log: log, now: now,
		ch:            make(chan Event, queue),
		flushReq:      make(chan chan struct{}),
		quit:          make(chan struct{}),
		done:          make(chan struct{}),
		FlushInterval: 50 * time.Millisecond,
		MaxBatch:      512,
	}
}

// Record queues e, stamping the time if unset. It blocks while the queue
// is full.
func (w *Writer) Record(ctx context.Context, e Event) {
	if e.Time.IsZero() {
		e.Time = w.now()
	}
	w.ch <- e
}

// Start runs the writing goroutine until Close.
func (w *Writer) Start() { go w.loop() }

func (w *Writer) loop() {
	defer close(w.done)
	t := time.NewTicker(w.FlushInterval)
	defer t.Stop()
	var batch []Event
	write := func() {
		for len(batch) > 0 {
			n := min(len(batch), w.MaxBatch)
			if err := w.app.AppendAudit(context.Background(), batch[:n]); err != nil {
				w.log.Error("audit: unable to write batch; retrying", "events", n, "err", err)
				select {
				case <-time.After(200 * time.Millisecond):
					continue
				case <-w.quit:
					// Last attempt at shutdown, then report what is lost.
					if err := w.app.AppendAudit(context.Background(), batch); err != nil {
						w.log.Error("audit: events lost at shutdown", "events", len(batch), "err", err)
					}
					batch = batch[:0]
					return
				}
			}
			batch = batch[n:]
		}
		batch = batch[:0]
	}
	drain := func() {
		for {
			select {
			case e := <-w.ch:
				batch = append(batch, e)
			default:
				return
			}
		}
	}
	for {
		select {
		case e := <-w.ch:
			batch = append(batch, e)
			if len(batch) >= w.MaxBatch {
				write()
			}
		case <-t.C:
			write()
		case ack := <-w.flushReq:
			drain()
			write()
			close(ack)
		case <-w.quit:
			drain()
			write()
			return
		}
	}
}

// Flush returns when every event recorded before the call is written.
func (w *Writer) Flush(ctx context.Context) error {
	ack := make(chan struct{})
	select {
	case w.flushReq <- ack:
	case <-ctx.Done():
		return ctx.Err()
	case <-w.done:
		return nil
	}
	select {
	case <-ack:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close writes what is queued and stops the goroutine. Events recorded
// after Close block forever, so stop the HTTP server first.
func (w *Writer) Close(ctx context.Context) error {
	w.once.Do(func() { close(w.quit) })
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
