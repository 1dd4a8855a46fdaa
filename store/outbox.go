package store

import (
	"context"
	"time"

	"countycare/audit"
	"countycare/notify"
)

// QueueMessages stores messages in the outbox with ev, in one transaction,
// skipping a message whose resident already has perWeek messages of the
// same purpose since since (perWeek ≤ 0: no limit). It returns how many
// were queued. On PostgreSQL a county-wide advisory lock makes the check
// and the insert one step for concurrent senders.
func (s *Store) QueueMessages(ctx context.Context, msgs []notify.Message, perWeek int, since time.Time, ev audit.Event) (int, error) {
	const op = "store.QueueMessages"
	queued := 0
	err := s.Transact(ctx, func(tx db) error {
		queued = 0
		if s.dialect == Postgres && len(msgs) > 0 {
			if _, err := tx.exec(ctx, `SELECT pg_advisory_xact_lock(hashtext(?))`, "outbox:"+msgs[0].County); err != nil {
				return wrap(op, err)
			}
		}
		now := s.now()
		for i := range msgs {
			m := &msgs[i]
			if err := m.Valid(); err != nil {
				return wrap(op, err)
			}
			if perWeek > 0 && m.ResidentID != 0 {
				var n int
				if err := tx.row(ctx, `SELECT COUNT(*) FROM outbox WHERE resident_id = ? AND purpose = ? AND created_at >= ?`, m.ResidentID, m.Purpose, s.ts(since)).Scan(&n); err != nil {
					return wrap(op, err)
				}
				if n >= perWeek {
					continue
				}
			}
			m.Status, m.CreatedAt = notify.StatusQueued, now
			id, err := tx.insert(ctx, `INSERT INTO outbox (county_code, resident_id, channel, recipient, purpose, body, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
				m.County, m.ResidentID, m.Channel, m.Recipient, m.Purpose, m.Body, m.Status, s.ts(now))
			if err != nil {
				return wrap(op, err)
			}
			m.ID = id
			queued++
		}
		return s.appendAudit(ctx, tx, ev)
	})
	return queued, err
}

const messageCols = `id, county_code, resident_id, channel, recipient, purpose, body, status, attempts, last_error, created_at, sent_at`

func (s *Store) messages(ctx context.Context, op, where string, args ...any) ([]notify.Message, error) {
	rows, err := s.read().query(ctx, `SELECT `+messageCols+` FROM outbox WHERE `+where, args...)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []notify.Message
	for rows.Next() {
		var m notify.Message
		if err := rows.Scan(&m.ID, &m.County, &m.ResidentID, &m.Channel, &m.Recipient, &m.Purpose, &m.Body, &m.Status, &m.Attempts, &m.LastError,
			tsOf(&m.CreatedAt), tsOf(&m.SentAt)); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, m)
	}
	return out, wrap(op, rows.Err())
}

// PendingMessages returns up to n queued messages, oldest first.
func (s *Store) PendingMessages(ctx context.Context, n int) ([]notify.Message, error) {
	return s.messages(ctx, "store.PendingMessages", `status = 'queued' ORDER BY id LIMIT ?`, n)
}

// MessagesTo lists a resident's messages of a purpose, newest first.
func (s *Store) MessagesTo(ctx context.Context, county string, residentID int64, purpose string, limit int) ([]notify.Message, error) {
	return s.messages(ctx, "store.MessagesTo", `county_code = ? AND resident_id = ? AND purpose = ? ORDER BY id DESC LIMIT ?`, county, residentID, purpose, limit)
}

// ClaimMessage moves a queued message to sending; false if it was not
// queued any more (another dispatcher has it).
func (s *Store) ClaimMessage(ctx context.Context, id int64) (bool, error) {
	res, err := s.w.ExecContext(ctx, s.rebind(`UPDATE outbox SET status = ? WHERE id = ? AND status = ?`), notify.StatusSending, id, notify.StatusQueued)
	if err != nil {
		return false, wrap("store.ClaimMessage", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// AbandonSending marks the messages left mid-send (by a dispatcher that
// stopped) failed with notify.Interrupted.
func (s *Store) AbandonSending(ctx context.Context) (int, error) {
	res, err := s.w.ExecContext(ctx, s.rebind(`UPDATE outbox SET status = ?, last_error = ? WHERE status = ?`), notify.StatusFailed, clipRunes(notify.Interrupted, 300), notify.StatusSending)
	if err != nil {
		return 0, wrap("store.AbandonSending", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// MarkMessage records a delivery attempt on a claimed message.
func (s *Store) MarkMessage(ctx context.Context, id int64, status string, attempts int, lastError string, at time.Time) error {
	var sent any
	if status == notify.StatusSent {
		sent = s.ts(at)
	}
	_, err := s.w.ExecContext(ctx, s.rebind(`UPDATE outbox SET status = ?, attempts = ?, last_error = ?, sent_at = ? WHERE id = ? AND status = ?`), status, attempts, clipRunes(lastError, 300), sent, id, notify.StatusSending)
	return wrap("store.MarkMessage", err)
}

func clipRunes(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n])
	}
	return s
}
