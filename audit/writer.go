package audit

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// Appender writes a batch of events to the chain in one transaction,
// sealing each (see Seal). The store implements it.
type Appender interface {
	AppendAudit(ctx context.Context, events []Event) error
}

// ErrNotRecorded is the error a read gets when its audit row could not be
// committed: the record must then not leave the server.
var ErrNotRecorded = errors.New("audit: row not recorded")

// Writer is the Recorder used for reads, searches and denials. It is
// durable: an event counts as recorded only once the transaction holding
// it has committed. One goroutine writes whatever events are pending in
// one transaction (group commit): while one batch commits, the next
// requests' events gather, and each waiting request is released after the
// commit of the batch that holds its event. Writes of patient data do not
// use Writer: they append their audit row in their own transaction.
//
// Record waits for the commit, unless ctx carries a Barrier (WithBarrier):
// then Record only queues the event and the Barrier's owner (the HTTP
// wrapper) waits for every event of the request before the first byte of
// the response leaves, so the commit overlaps the rest of the handler's
// work. Either way a row is committed before the data it records is sent,
// and a kill -9 cannot lose the row of an acknowledged read.
//
// A batch the database refuses is not retried: its events' waiters get
// ErrNotRecorded (the request then fails), and the failure is logged.
type Writer struct {
	app  Appender
	log  *slog.Logger
	now  func() time.Time
	ch   chan *pending
	quit chan struct{}
	done chan struct{}
	once sync.Once

	// MaxBatch is the most events written in one transaction.
	MaxBatch int

	// With a journal (OpenJournal), the loop appends groups to it and the
	// database loop inserts them; done closes when both are finished.
	j        *journal
	jsync    SyncMode
	japp     JournaledAppender
	dbmu     sync.Mutex
	dbq      []jgroup
	dbwake   chan struct{}
	jdone    chan struct{} // closed by Close once the last events are journaled
	stopSync chan struct{}
	jmu      sync.Mutex // guards jq and jclosed
	jq       []*pending // events (and Flush markers) not yet written to the journal
	jbuf     []byte     // jq's events, encoded as journal records, in order
	jspare   []byte     // the buffer of the last group written, reused (wmu)
	jclosed  bool
	wmu      sync.Mutex // held by the request writing the journal's next group

	// RotateBytes: a journal larger than this is replaced by a new one once
	// everything in it is committed (default 64 MiB).
	RotateBytes int64
	// SyncEvery (SyncBatch, default 100 ms): every journaled record is
	// durable — committed to the database or fdatasync'ed — within it.
	SyncEvery time.Duration
	// CommitEvery: with a journal, the database loop commits at most this
	// often (default 25 ms), so that one transaction carries the events of
	// many requests; no request waits for it.
	CommitEvery time.Duration
}

// jgroup is one journal write handed to the database loop: its events,
// the journal's end after them, and the Flush markers that came after.
type jgroup struct {
	evs     []Event
	id      string
	end     int64
	flushes []*pending
}

// pending is one queued event (or, with flush set, a Flush marker) and
// the channel its outcome is sent on.
type pending struct {
	w     *Writer // nil for an outcome known in advance
	ev    Event
	flush bool
	done  chan error // buffered, receives exactly one value

	journaled bool // queued for the journal (jqAdd), not on ch
}

// NewWriter returns a Writer with a queue of size queue. Call Start once.
func NewWriter(app Appender, log *slog.Logger, now func() time.Time, queue int) *Writer {
	return &Writer{
		app: app, log: log, now: now,
		ch:       make(chan *pending, queue),
		quit:     make(chan struct{}),
		done:     make(chan struct{}),
		MaxBatch: 512,

		RotateBytes: 64 << 20,
		SyncEvery:   100 * time.Millisecond,
		CommitEvery: 25 * time.Millisecond, // ~100 events a transaction at 4,000 reads/s: 27 instead of 35–42 CPU-µs an event (BenchmarkAuditJournaledBatch)
	}
}

var errClosed = errors.New("audit: writer closed")

// Record writes e, stamping the time if unset, and returns once its
// transaction has committed (or failed) — or, when ctx carries a
// Barrier, once it is queued, leaving the wait to the Barrier. It blocks
// while the queue is full.
func (w *Writer) Record(ctx context.Context, e Event) {
	if y := e.Time.Year(); e.Time.IsZero() || y < 0 || y > 9999 {
		// Unset; or a year JSON's RFC 3339 (the journal's encoding) cannot
		// carry, which no real access has: the time of recording instead.
		e.Time = w.now()
	}
	var p *pending
	if w.j != nil {
		p = w.jqAdd(&pending{w: w, ev: e, done: make(chan error, 1), journaled: true})
	} else {
		p = w.enqueue(&pending{w: w, ev: e, done: make(chan error, 1)})
	}
	if b := barrierOf(ctx); b != nil {
		b.add(p)
		return
	}
	if err := p.wait(); err != nil {
		w.log.Error("audit: event not recorded", "action", e.Action, "request_id", e.RequestID, "err", err)
	}
}

func (w *Writer) enqueue(p *pending) *pending {
	select {
	case w.ch <- p:
	case <-w.done:
		p.done <- errClosed
	}
	return p
}

// wait returns the outcome of p; an event queued after the last batch of
// a closed writer reports errClosed.
func (p *pending) wait() error {
	if p.journaled {
		return p.w.lead(p)
	}
	var closed chan struct{}
	if p.w != nil {
		closed = p.w.done
	}
	select {
	case err := <-p.done:
		p.done <- err // keep it readable for a second waiter
		return err
	case <-closed:
		select {
		case err := <-p.done:
			p.done <- err
			return err
		default:
			return errClosed
		}
	}
}

// Start runs the writing goroutine until Close.
func (w *Writer) Start() {
	if w.j != nil {
		go w.dbLoop()
		if w.jsync == SyncBatch {
			go w.syncLoop()
		}
		return
	}
	go w.loop()
}

func (w *Writer) loop() {
	defer close(w.done)
	var batch []*pending
	take := func() { // everything queued now, up to MaxBatch events
		for len(batch) < w.MaxBatch {
			select {
			case p := <-w.ch:
				batch = append(batch, p)
			default:
				return
			}
		}
	}
	for {
		select {
		case p := <-w.ch:
			batch = append(batch[:0], p)
			take()
			w.commit(batch)
		case <-w.quit:
			for {
				batch = batch[:0]
				take()
				if len(batch) == 0 {
					return
				}
				w.commit(batch)
			}
		}
	}
}

// commit writes the batch's events in one transaction and releases their
// waiters with its outcome; with a journal it appends them to it instead.
func (w *Writer) commit(batch []*pending) {
	evs := make([]Event, 0, len(batch))
	for _, p := range batch {
		if !p.flush {
			evs = append(evs, p.ev)
		}
	}
	var err error
	if len(evs) > 0 {
		if err = w.app.AppendAudit(context.Background(), evs); err != nil {
			w.log.Error("audit: unable to write batch; its requests fail", "events", len(evs), "err", err)
			err = errors.Join(ErrNotRecorded, err)
		}
	}
	for _, p := range batch {
		if p.flush {
			p.done <- nil
		} else {
			p.done <- err
		}
	}
}

// Flush returns when every event recorded before the call is written.
func (w *Writer) Flush(ctx context.Context) error {
	if w.j != nil {
		return w.flushJournaled(ctx)
	}
	p := &pending{flush: true, done: make(chan error, 1)}
	select {
	case w.ch <- p:
	case <-w.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-p.done:
		return nil
	case <-w.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close writes what is queued and stops the goroutine. Events recorded
// after Close are refused (their requests fail), so stop the HTTP server
// first.
func (w *Writer) Close(ctx context.Context) error {
	w.once.Do(func() {
		close(w.quit)
		if w.j != nil {
			w.closeJournal()
		}
	})
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Barrier collects the events a request records through a Writer so that
// they can be waited for together before the response is sent.
type Barrier struct {
	mu sync.Mutex
	ps []*pending
}

type barrierKey struct{}

// WithBarrier returns a context whose Writer.Record calls queue without
// waiting, and the Barrier whose Wait waits for them.
func WithBarrier(ctx context.Context) (context.Context, *Barrier) {
	b := &Barrier{}
	return context.WithValue(ctx, barrierKey{}, b), b
}

func barrierOf(ctx context.Context) *Barrier {
	b, _ := ctx.Value(barrierKey{}).(*Barrier)
	return b
}

func (b *Barrier) add(p *pending) {
	b.mu.Lock()
	b.ps = append(b.ps, p)
	b.mu.Unlock()
}

// Wait returns once every event recorded under the barrier so far is
// committed: nil, or ErrNotRecorded (wrapped) if any was not.
func (b *Barrier) Wait() error {
	b.mu.Lock()
	ps := b.ps
	b.ps = nil
	b.mu.Unlock()
	var first error
	for _, p := range ps {
		if err := p.wait(); err != nil && first == nil {
			first = err
		}
	}
	if first != nil && !errors.Is(first, ErrNotRecorded) {
		first = errors.Join(ErrNotRecorded, first)
	}
	if first != nil {
		// Later calls must fail too: the request's rows are incomplete.
		b.mu.Lock()
		b.ps = append(b.ps, &pending{done: failed(first)})
		b.mu.Unlock()
	}
	return first
}

func failed(err error) chan error {
	c := make(chan error, 1)
	c <- err
	return c
}
