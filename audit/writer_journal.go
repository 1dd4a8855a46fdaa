package audit

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// OpenJournal puts the journal at path in front of the database: it must
// be called once, before Start and before the server serves. It opens (or
// creates) the journal, replays the events after the database's watermark
// into the chain — each exactly once, the watermark moving in the same
// transaction — and, if the journal held events, replaces it by a new,
// empty one. A journal whose id is not the one the watermark names (nor
// its successor) belongs to another database and is refused.
//
// The Writer's Appender must be a JournaledAppender.
func (w *Writer) OpenJournal(ctx context.Context, path string, mode SyncMode) error {
	app, ok := w.app.(JournaledAppender)
	if !ok {
		return errors.New("audit: the store cannot record a journal watermark")
	}
	lock, err := lockFile(path + ".lock")
	if err != nil {
		return fmt.Errorf("audit journal %s is in use by another countycare process (serve or bench on the same database?): %w", path, err)
	}
	ok = false
	defer func() {
		if !ok {
			lock.Close()
		}
	}()
	mark, has, err := app.AuditWatermark(ctx)
	if err != nil {
		return fmt.Errorf("audit journal: read watermark: %w", err)
	}
	j, recs, err := openJournal(path, w.log)
	if err != nil {
		return err
	}
	if j == nil {
		prev := ""
		if has {
			// The journal is gone (a new disk, a deleted file): whatever it
			// held beyond the watermark is lost; start its successor.
			prev = mark.JournalID
			w.log.Warn("audit journal: none found; starting a new one (events journaled but not yet in the database, if any, are lost)", "journal", path, "watermark", mark.JournalID, "offset", mark.Offset)
		}
		if j, err = createJournal(path, prev); err != nil {
			return err
		}
		j.lock, ok = lock, true
		w.useJournal(j, mode, app)
		return nil
	}
	start := int64(headerLen)
	switch {
	case has && mark.JournalID == j.id:
		start = mark.Offset
		if start > j.size {
			w.log.Warn("audit journal: shorter than its watermark (its unsynced tail was lost in a power cut after the database committed it); nothing to replay",
				"journal", path, "size", j.size, "watermark", mark.Offset)
		}
	case has && mark.JournalID == j.prev:
		// Rotated: everything in the previous journal was committed.
	case !has && j.prev == "":
		// The database's first journal; nothing of it committed yet.
	default:
		j.f.Close()
		want := "none"
		if has {
			want = mark.JournalID
		}
		return fmt.Errorf("audit journal %s (id %s) does not belong to this database (its watermark names journal %s): refusing to replay another database's events; move the file aside and check it", path, j.id, want)
	}
	var todo []journalRecord
	for _, r := range recs {
		if r.end > start {
			todo = append(todo, r)
		}
	}
	for len(todo) > 0 {
		n := min(len(todo), max(w.MaxBatch, 1))
		evs := make([]Event, n)
		for i := range evs {
			evs[i] = todo[i].ev
		}
		if err := app.AppendAuditJournaled(ctx, evs, Watermark{JournalID: j.id, Offset: todo[n-1].end}); err != nil {
			j.f.Close()
			return fmt.Errorf("audit journal: replay: %w", err)
		}
		todo = todo[n:]
	}
	if replayed := countAfter(recs, start); replayed > 0 {
		w.log.Info("audit journal replayed", "journal", path, "id", j.id, "events", replayed, "from", start, "to", j.size)
	}
	if j.size > headerLen {
		nj, err := createJournal(path, j.id)
		if err != nil {
			j.f.Close()
			return err
		}
		j.f.Close()
		j = nj
	}
	j.lock, ok = lock, true
	w.useJournal(j, mode, app)
	return nil
}

func (w *Writer) useJournal(j *journal, mode SyncMode, app JournaledAppender) {
	w.log.Info("audit journal", "journal", j.path, "id", j.id, "sync", mode.String())
	w.j, w.jsync, w.japp = j, mode, app
	w.dbwake = make(chan struct{}, 1)
	w.jdone = make(chan struct{})
	w.stopSync = make(chan struct{})
}

// jqAdd queues p for the journal's next group (or fails it if closed),
// encoding its record onto the group's buffer, so that the request that
// writes the group has only the write(2) left to do.
func (w *Writer) jqAdd(p *pending) *pending {
	w.jmu.Lock()
	if w.jclosed {
		p.done <- errClosed
	} else {
		w.jq = append(w.jq, p)
		if !p.flush {
			w.jbuf = appendRecord(w.jbuf, &p.ev)
		}
	}
	w.jmu.Unlock()
	return p
}

// lead returns p's outcome, writing the journal's next group itself if no
// other request has written p yet (group commit without a hand-off: the
// first waiting request writes everything queued, with one write(2), and
// requests that queue meanwhile go into the following group).
func (w *Writer) lead(p *pending) error {
	select {
	case err := <-p.done:
		p.done <- err
		return err
	default:
	}
	w.wmu.Lock()
	select {
	case err := <-p.done:
		p.done <- err
		w.wmu.Unlock()
		return err
	default:
	}
	w.writeQueued()
	w.wmu.Unlock()
	err := <-p.done
	p.done <- err
	return err
}

// writeQueued journals everything queued (wmu held). The group's buffer
// is swapped for the previous group's, which nothing refers to any more.
func (w *Writer) writeQueued() {
	w.jmu.Lock()
	batch, buf := w.jq, w.jbuf
	w.jq, w.jbuf = nil, w.jspare[:0]
	w.jmu.Unlock()
	if len(batch) > 0 {
		w.journalBatch(batch, buf)
	}
	if cap(buf) <= 1<<20 { // keep a buffer of a usual group, not a burst's
		w.jspare = buf
	} else {
		w.jspare = nil
	}
}

// flushJournaled returns when every event recorded before the call is
// in the database.
func (w *Writer) flushJournaled(ctx context.Context) error {
	p := w.jqAdd(&pending{flush: true, done: make(chan error, 1)})
	w.wmu.Lock()
	w.writeQueued()
	w.wmu.Unlock()
	select {
	case <-p.done:
		return nil
	case <-w.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// closeJournal refuses new events, journals the queued ones and lets the
// database loop finish.
func (w *Writer) closeJournal() {
	w.jmu.Lock()
	w.jclosed = true
	w.jmu.Unlock()
	w.wmu.Lock()
	w.writeQueued()
	w.wmu.Unlock()
	close(w.jdone)
}

func countAfter(recs []journalRecord, start int64) int {
	n := 0
	for _, r := range recs {
		if r.end > start {
			n++
		}
	}
	return n
}

// journalBatch appends the batch's events, encoded in buf, to the journal
// with one write, releases their requests (with ErrNotRecorded if the
// write failed) and hands the journaled events to the database loop.
func (w *Writer) journalBatch(batch []*pending, buf []byte) {
	var evs []Event
	var flushes []*pending
	for _, p := range batch {
		if p.flush {
			flushes = append(flushes, p)
			continue
		}
		evs = append(evs, p.ev)
	}
	var err error
	var id string
	var end int64
	if len(evs) > 0 {
		id, end, err = w.j.write(buf, w.jsync == SyncAlways)
		if err != nil {
			w.log.Error("audit: unable to journal events; their requests fail", "events", len(evs), "err", err)
			if id == "" { // not written: nothing for the database
				evs = nil
			}
			err = errors.Join(ErrNotRecorded, err)
		}
	}
	for _, p := range batch {
		if !p.flush {
			p.done <- err
		}
	}
	w.dbmu.Lock()
	w.dbq = append(w.dbq, jgroup{evs: evs, id: id, end: end, flushes: flushes})
	w.dbmu.Unlock()
	select {
	case w.dbwake <- struct{}{}:
	default:
	}
}

// dbLoop inserts journaled events into the chain, in journal order, a
// batch per transaction with its watermark. A refused batch is retried
// (its requests were already answered: the journal holds their events);
// if the writer closes meanwhile they wait in the journal for the replay.
func (w *Writer) dbLoop() {
	defer close(w.done)
	jdone := w.jdone
	backoff := 50 * time.Millisecond
	var carry []jgroup
	var lastCommit time.Time
	for {
		if len(carry) == 0 && jdone != nil {
			select {
			case <-w.dbwake:
			case <-jdone:
				jdone = nil
			}
		} else if jdone != nil {
			select {
			case <-jdone:
				jdone = nil
			default:
			}
		}
		if jdone != nil && len(carry) == 0 && w.CommitEvery > 0 {
			// Requests do not wait for this commit: gather more events per
			// transaction (less CPU per event), unless closing.
			if d := w.CommitEvery - time.Since(lastCommit); d > 0 {
				t := time.NewTimer(d)
				select {
				case <-t.C:
				case <-w.quit:
				}
				t.Stop()
			}
		}
		w.dbmu.Lock()
		groups := append(carry, w.dbq...)
		w.dbq = nil
		w.dbmu.Unlock()
		carry = nil
		if len(groups) == 0 && jdone == nil {
			select {
			case <-w.dbwake:
				continue
			default:
			}
			close(w.stopSync)
			if err := w.j.close(); err != nil {
				w.log.Error("audit journal: close", "err", err)
			}
			return
		}
		for i := 0; i < len(groups); {
			// A batch: groups of one journal, up to MaxBatch events (a
			// group is never split: its end is the watermark).
			k, n := i, 0
			var evs []Event
			for k < len(groups) && (k == i || (groups[k].id == groups[i].id || groups[k].id == "" || groups[i].id == "") && n+len(groups[k].evs) <= w.MaxBatch) {
				evs = append(evs, groups[k].evs...)
				n += len(groups[k].evs)
				k++
			}
			var mark Watermark
			for x := i; x < k; x++ {
				if groups[x].id != "" {
					mark = Watermark{JournalID: groups[x].id, Offset: groups[x].end}
				}
			}
			if len(evs) > 0 {
				if err := w.japp.AppendAuditJournaled(context.Background(), evs, mark); err != nil {
					if jdone == nil { // closing, and every group is in hand
						w.log.Error("audit: unable to write journaled events at close; the journal keeps them for the replay at the next start", "events", len(evs), "err", err)
						for x := i; x < len(groups); x++ {
							for _, p := range groups[x].flushes {
								p.done <- nil
							}
						}
						carry = nil
						break
					}
					w.log.Error("audit: unable to write journaled events; retrying (the journal keeps them)", "events", len(evs), "err", err, "retry_in", backoff)
					select {
					case <-time.After(backoff):
					case <-w.quit: // closing: one more try, then the journal keeps them
					}
					backoff = min(backoff*2, 5*time.Second)
					carry = groups[i:]
					break
				}
				backoff = 50 * time.Millisecond
				lastCommit = time.Now()
				w.j.markCommitted(mark.JournalID, mark.Offset)
				if _, err := w.j.rotateIfDone(mark.JournalID, mark.Offset, w.RotateBytes); err != nil {
					w.log.Error("audit journal: rotate", "err", err)
				}
			}
			for x := i; x < k; x++ {
				for _, p := range groups[x].flushes {
					p.done <- nil
				}
			}
			i = k
		}
	}
}

// syncLoop makes the journal durable (SyncBatch): every SyncEvery/2 it
// calls syncBehind, so every record is durable — committed by the
// database or fdatasync'ed — within SyncEvery of its write.
func (w *Writer) syncLoop() {
	t := time.NewTicker(max(w.SyncEvery/2, time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if err := w.j.syncBehind(); err != nil {
				w.log.Error("audit journal: fdatasync", "err", err)
			}
		case <-w.stopSync:
			return
		}
	}
}
