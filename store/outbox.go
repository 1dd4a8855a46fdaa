package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
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
			if perWeek > 0 && m.ResidentID != 0 {
				var n int
				if err := tx.row(ctx, `SELECT COUNT(*) FROM outbox WHERE resident_id = ? AND purpose = ? AND created_at >= ?`, m.ResidentID, m.Purpose, s.ts(since)).Scan(&n); err != nil {
					return wrap(op, err)
				}
				if n >= perWeek {
					continue
				}
			}
			if err := s.insertMessage(ctx, tx, m, now); err != nil {
				return wrap(op, err)
			}
			queued++
		}
		return s.appendAudit(ctx, tx, ev)
	})
	return queued, err
}

// insertMessage queues m (checked first) at now; it sets m's ID, status
// and creation time. Every outbox row is written here.
func (s *Store) insertMessage(ctx context.Context, tx db, m *notify.Message, now time.Time) error {
	if err := m.Valid(); err != nil {
		return err
	}
	params := ""
	if len(m.Params) > 0 {
		b, err := json.Marshal(m.Params)
		if err != nil {
			return err
		}
		params = string(b)
	}
	m.Status, m.CreatedAt = notify.StatusQueued, now
	id, err := tx.insert(ctx, `INSERT INTO outbox (county_code, resident_id, channel, recipient, purpose, body, status, created_at, params, ref, practitioner_id, institution_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.County, m.ResidentID, m.Channel, m.Recipient, m.Purpose, m.Body, m.Status, s.ts(now), params, m.Ref, m.Practitioner, m.Institution)
	m.ID = id
	return err
}

const messageCols = `id, county_code, resident_id, channel, recipient, purpose, body, status, attempts, last_error, created_at, sent_at,
	params, ref, practitioner_id, institution_id, next_attempt_at, provider, provider_id, delivery, delivered_at, escalation`

func scanMessage(sc interface{ Scan(...any) error }, m *notify.Message) error {
	var params string
	if err := sc.Scan(&m.ID, &m.County, &m.ResidentID, &m.Channel, &m.Recipient, &m.Purpose, &m.Body, &m.Status, &m.Attempts, &m.LastError,
		tsOf(&m.CreatedAt), tsOf(&m.SentAt), &params, &m.Ref, &m.Practitioner, &m.Institution, tsOf(&m.NextAttempt), &m.Provider, &m.ProviderID,
		&m.Delivery, tsOf(&m.DeliveredAt), &m.Escalation); err != nil {
		return err
	}
	if params != "" {
		return json.Unmarshal([]byte(params), &m.Params)
	}
	return nil
}

func (s *Store) messages(ctx context.Context, q db, op, where string, args ...any) ([]notify.Message, error) {
	rows, err := q.query(ctx, `SELECT `+messageCols+` FROM outbox WHERE `+where, args...)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []notify.Message
	for rows.Next() {
		var m notify.Message
		if err := scanMessage(rows, &m); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, m)
	}
	return out, wrap(op, rows.Err())
}

// PendingMessages returns up to n queued messages, oldest first, due or
// not.
func (s *Store) PendingMessages(ctx context.Context, n int) ([]notify.Message, error) {
	return s.messages(ctx, s.read(), "store.PendingMessages", `status = 'queued' ORDER BY id LIMIT ?`, n)
}

// MessagesTo lists a resident's messages of a purpose, newest first.
func (s *Store) MessagesTo(ctx context.Context, county string, residentID int64, purpose string, limit int) ([]notify.Message, error) {
	return s.messages(ctx, s.read(), "store.MessagesTo", `county_code = ? AND resident_id = ? AND purpose = ? ORDER BY id DESC LIMIT ?`, county, residentID, purpose, limit)
}

// MessagesAbout lists the messages about ref ("critical:12"), oldest first.
func (s *Store) MessagesAbout(ctx context.Context, county, ref string) ([]notify.Message, error) {
	return s.messages(ctx, s.read(), "store.MessagesAbout", `county_code = ? AND ref = ? ORDER BY id LIMIT 200`, county, ref)
}

// ClaimMessages returns up to n queued messages due at now, oldest first,
// and moves their next attempt to now+lease in the same transaction, so
// another replica's dispatcher skips them (PostgreSQL: FOR UPDATE SKIP
// LOCKED; SQLite has one writer).
func (s *Store) ClaimMessages(ctx context.Context, now time.Time, lease time.Duration, n int) ([]notify.Message, error) {
	const op = "store.ClaimMessages"
	var out []notify.Message
	err := s.Transact(ctx, func(tx db) error {
		lock := ""
		if s.dialect == Postgres {
			lock = " FOR UPDATE SKIP LOCKED"
		}
		var err error
		out, err = s.messages(ctx, tx, op, `status = 'queued' AND (next_attempt_at IS NULL OR next_attempt_at <= ?) ORDER BY id LIMIT ?`+lock, s.ts(now), n)
		if err != nil || len(out) == 0 {
			return err
		}
		ids := make([]any, 0, len(out)+1)
		ids = append(ids, s.ts(now.Add(lease)))
		for _, m := range out {
			ids = append(ids, m.ID)
		}
		_, err = tx.exec(ctx, `UPDATE outbox SET next_attempt_at = ? WHERE id IN (?`+strings.Repeat(", ?", len(out)-1)+`)`, ids...)
		return wrap(op, err)
	})
	return out, err
}

// MarkMessage records a delivery attempt. It sets absolute values, so
// after a failover it is simply run again on the new primary (a message
// already sent is then not sent twice).
func (s *Store) MarkMessage(ctx context.Context, id int64, a notify.Attempt) error {
	var sent any
	if a.Status == notify.StatusSent {
		sent = s.ts(a.At)
	}
	err := s.transactIdempotent(ctx, func(tx db) error {
		_, err := tx.exec(ctx, `UPDATE outbox SET status = ?, attempts = ?, last_error = ?, sent_at = ?, next_attempt_at = ?,
			provider = ?, provider_id = ?, delivery = ? WHERE id = ?`,
			a.Status, a.Attempts, clipRunes(a.LastError, 300), sent, s.ts(a.NextAt), a.Provider, a.ProviderID, a.Delivery, id)
		return err
	})
	return wrap("store.MarkMessage", err)
}

// DeferMessage puts a claimed message back, untried, until at.
func (s *Store) DeferMessage(ctx context.Context, id int64, at time.Time, reason string) error {
	_, err := s.w.ExecContext(ctx, s.rebind(`UPDATE outbox SET next_attempt_at = ?, last_error = ? WHERE id = ? AND status = 'queued'`), s.ts(at), reason, id)
	return wrap("store.DeferMessage", err)
}

// TakeQuota takes one message from the number's quota in every limit's
// current window (windows aligned to the Unix epoch: hours on the hour,
// days at 00:00 UTC), or nothing when one is spent. The number is kept
// only as its SHA-256. Windows that ended are deleted as it goes.
func (s *Store) TakeQuota(ctx context.Context, recipient string, now time.Time, limits []notify.Limit) (bool, time.Time, error) {
	const op = "store.TakeQuota"
	h := quotaKey(recipient)
	ok, retry := true, time.Time{}
	err := s.Transact(ctx, func(tx db) error {
		ok, retry = true, time.Time{}
		if _, err := tx.exec(ctx, `DELETE FROM sms_quota WHERE expires_at < ?`, s.ts(now)); err != nil {
			return wrap(op, err)
		}
		for _, l := range limits {
			start := now.UTC().Truncate(l.Per)
			end := start.Add(l.Per)
			var n int
			err := tx.row(ctx, `INSERT INTO sms_quota (recipient_hash, window_start, minutes, n, expires_at) VALUES (?, ?, ?, 1, ?)
				ON CONFLICT (recipient_hash, minutes, window_start) DO UPDATE SET n = sms_quota.n + 1 WHERE sms_quota.n < ?
				RETURNING n`, h, s.ts(start), int(l.Per/time.Minute), s.ts(end), l.Max).Scan(&n)
			if errors.Is(err, sql.ErrNoRows) {
				ok = false
				if end.After(retry) {
					retry = end
				}
				continue
			}
			if err != nil {
				return wrap(op, err)
			}
		}
		if !ok {
			return errQuotaSpent // roll back what the other limits took
		}
		return nil
	})
	if errors.Is(err, errQuotaSpent) {
		return false, retry, nil
	}
	return ok, retry, err
}

var errQuotaSpent = errors.New("store: quota spent")

// ReturnQuota gives back one message of the number's quota in the windows
// of now (a send that failed).
func (s *Store) ReturnQuota(ctx context.Context, recipient string, now time.Time, limits []notify.Limit) error {
	h := quotaKey(recipient)
	return s.Transact(ctx, func(tx db) error {
		for _, l := range limits {
			if _, err := tx.exec(ctx, `UPDATE sms_quota SET n = n - 1 WHERE recipient_hash = ? AND minutes = ? AND window_start = ? AND n > 0`,
				h, int(l.Per/time.Minute), s.ts(now.UTC().Truncate(l.Per))); err != nil {
				return wrap("store.ReturnQuota", err)
			}
		}
		return nil
	})
}

// quotaKey is how a number is kept in sms_quota: its SHA-256.
func quotaKey(recipient string) string {
	sum := sha256.Sum256([]byte(recipient))
	return hex.EncodeToString(sum[:])
}

// AwaitingReceipt returns up to n messages sent by provider after since
// whose delivery is pending, the oldest first.
func (s *Store) AwaitingReceipt(ctx context.Context, provider string, since time.Time, n int) ([]notify.Message, error) {
	return s.messages(ctx, s.read(), "store.AwaitingReceipt", `provider = ? AND delivery = 'pending' AND sent_at >= ? ORDER BY sent_at, id LIMIT ?`, provider, s.ts(since), n)
}

// RecordReceipts stores receipts and returns the messages they newly
// report undelivered (with the carrier's code as their last error).
func (s *Store) RecordReceipts(ctx context.Context, provider string, rs []notify.Receipt) ([]notify.Message, error) {
	const op = "store.RecordReceipts"
	var bad []notify.Message
	err := s.Transact(ctx, func(tx db) error {
		bad = bad[:0]
		for _, r := range rs {
			state := notify.DeliveryDelivered
			if !r.Delivered {
				state = notify.DeliveryUndelivered
			}
			at := r.At
			if at.IsZero() {
				at = s.now()
			}
			res, err := tx.exec(ctx, `UPDATE outbox SET delivery = ?, delivered_at = ?, last_error = CASE WHEN ? = 'undelivered' THEN ? ELSE last_error END
				WHERE provider = ? AND provider_id = ? AND delivery = 'pending'`, state, s.ts(at), state, clipRunes(r.Code, 300), provider, r.ProviderID)
			if err != nil {
				return wrap(op, err)
			}
			if n, _ := res.RowsAffected(); n > 0 && !r.Delivered {
				ms, err := s.messages(ctx, tx, op, `provider = ? AND provider_id = ?`, provider, r.ProviderID)
				if err != nil {
					return err
				}
				bad = append(bad, ms...)
			}
		}
		return nil
	})
	return bad, err
}

// EscalateMessage records the route an undelivered message took, with the
// duty messages it queues, in one transaction.
func (s *Store) EscalateMessage(ctx context.Context, id int64, route string, duty []notify.Message, at time.Time) error {
	const op = "store.EscalateMessage"
	return s.Transact(ctx, func(tx db) error {
		if _, err := tx.exec(ctx, `UPDATE outbox SET escalation = ? WHERE id = ?`, route, id); err != nil {
			return wrap(op, err)
		}
		for i := range duty {
			if err := s.insertMessage(ctx, tx, &duty[i], at); err != nil {
				return wrap(op, err)
			}
		}
		return nil
	})
}

func clipRunes(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n])
	}
	return s
}
