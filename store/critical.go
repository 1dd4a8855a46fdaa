package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/critical"
	"countycare/notify"
)

const alertCols = `a.id, a.county_code, a.source_kind, a.source_id, a.resident_id, a.clinic_id, a.ordered_by, a.township_id, a.county_id,
	a.finding, a.value, a.raised_by, a.raised_at, a.ack_at, a.ack_by, a.ack_note, a.level, a.escalated_at, a.next_due_at`

// alertSMS counts an alert's text messages (outbox.ref, not the duty
// phones' messages about them) by their outcome, for listings.
const alertSMS = `, (SELECT COUNT(*) FROM outbox o WHERE o.ref = 'critical:' || a.id AND o.purpose <> 'notify.duty'),
	(SELECT COUNT(*) FROM outbox o WHERE o.ref = 'critical:' || a.id AND o.purpose <> 'notify.duty' AND o.delivery = 'delivered'),
	(SELECT COUNT(*) FROM outbox o WHERE o.ref = 'critical:' || a.id AND o.purpose <> 'notify.duty' AND (o.status = 'failed' OR o.delivery = 'undelivered'))`

func scanAlert(sc interface{ Scan(...any) error }, al *critical.Alert, extra ...any) error {
	return sc.Scan(append([]any{&al.ID, &al.CountyCode, &al.SourceKind, &al.SourceID, &al.ResidentID, &al.ClinicID, &al.OrderedBy,
		&al.TownshipID, &al.CountyID, &al.Finding, &al.Value, &al.RaisedBy, tsOf(&al.RaisedAt), tsOf(&al.AckAt), idOf(&al.AckBy),
		&al.AckNote, &al.Level, tsOf(&al.EscalatedAt), tsOf(&al.NextDueAt)}, extra...)...)
}

// raiseInTx inserts al unless its source already has an alert, then
// queues msgs; created is false (and al the stored alert) for a repeat.
func (s *Store) raiseInTx(ctx context.Context, tx db, al *critical.Alert, msgs []notify.Message) (bool, error) {
	const op = "store.RaiseAlert"
	id, err := tx.insert(ctx, `INSERT INTO critical_alerts (county_code, source_kind, source_id, finding_key, resident_id, clinic_id, ordered_by, township_id,
		county_id, finding, value, raised_by, raised_at, level, next_due_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (county_code, source_kind, source_id, finding_key) DO NOTHING`,
		al.CountyCode, al.SourceKind, al.SourceID, al.FindingKey, al.ResidentID, al.ClinicID, al.OrderedBy, al.TownshipID, al.CountyID,
		al.Finding, al.Value, al.RaisedBy, s.ts(al.RaisedAt), al.Level, s.ts(al.NextDueAt))
	if errors.Is(err, sql.ErrNoRows) {
		err = scanAlert(tx.row(ctx, `SELECT `+alertCols+` FROM critical_alerts a WHERE a.county_code = ? AND a.source_kind = ? AND a.source_id = ? AND a.finding_key = ?`,
			al.CountyCode, al.SourceKind, al.SourceID, al.FindingKey), al)
		return false, wrap(op, err)
	}
	if err != nil {
		return false, wrap(op, err)
	}
	al.ID = id
	for i := range msgs {
		msgs[i].Ref = critical.MessageRef(id)
	}
	return true, s.queueInTx(ctx, tx, msgs)
}

// RaiseAlert stores an alert unless its source already has one for the
// same finding (Alert.FindingKey), with its
// messages and audit row, in one transaction.
func (s *Store) RaiseAlert(ctx context.Context, al *critical.Alert, msgs []notify.Message, ev audit.Event) (bool, error) {
	created := false
	err := s.Transact(ctx, func(tx db) error {
		var err error
		if created, err = s.raiseInTx(ctx, tx, al, msgs); err != nil || !created {
			return err
		}
		return s.appendAudit(ctx, tx, ev)
	})
	return created, err
}

// CriticalAlert returns one alert of a county (ENOTFOUND).
func (s *Store) CriticalAlert(ctx context.Context, county string, id int64) (*critical.Alert, error) {
	var al critical.Alert
	err := scanAlert(s.read().row(ctx, `SELECT `+alertCols+`, r.name, i.name`+alertSMS+` FROM critical_alerts a
		JOIN residents r ON r.id = a.resident_id JOIN institutions i ON i.id = a.clinic_id
		WHERE a.county_code = ? AND a.id = ?`, county, id), &al, &al.ResidentName, &al.ClinicName, &al.SMS.Messages, &al.SMS.Delivered, &al.SMS.Failed)
	if err != nil {
		return nil, wrap("store.CriticalAlert", err)
	}
	return &al, nil
}

// CriticalAlerts lists alerts by f, newest first.
func (s *Store) CriticalAlerts(ctx context.Context, f critical.Filter) ([]critical.Alert, error) {
	const op = "store.CriticalAlerts"
	where := []string{"a.county_code = ?"}
	args := []any{f.County}
	if f.Institution != 0 {
		where = append(where, "(a.clinic_id = ? OR (a.level >= 1 AND a.township_id = ?) OR (a.level >= 2 AND a.county_id = ?))")
		args = append(args, f.Institution, f.Institution, f.Institution)
	}
	if f.ResidentID != 0 {
		where = append(where, "a.resident_id = ?")
		args = append(args, f.ResidentID)
	}
	if f.Open {
		where = append(where, "a.ack_at IS NULL")
	}
	if !f.From.IsZero() {
		where = append(where, "a.raised_at >= ?")
		args = append(args, s.ts(f.From))
	}
	if !f.To.IsZero() {
		where = append(where, "a.raised_at < ?")
		args = append(args, s.ts(f.To))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 300
	}
	args = append(args, limit)
	rows, err := s.read().query(ctx, `SELECT `+alertCols+`, r.name, i.name`+alertSMS+` FROM critical_alerts a
		JOIN residents r ON r.id = a.resident_id JOIN institutions i ON i.id = a.clinic_id
		WHERE `+strings.Join(where, " AND ")+` ORDER BY a.raised_at DESC, a.id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []critical.Alert
	for rows.Next() {
		var al critical.Alert
		if err := scanAlert(rows, &al, &al.ResidentName, &al.ClinicName, &al.SMS.Messages, &al.SMS.Delivered, &al.SMS.Failed); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, al)
	}
	return out, wrap(op, rows.Err())
}

// AckAlert records an acknowledgement and its audit row; an alert
// acknowledged meanwhile is ECONFLICT and nothing is written.
func (s *Store) AckAlert(ctx context.Context, al *critical.Alert, ev audit.Event) error {
	const op = "store.AckAlert"
	return s.Transact(ctx, func(tx db) error {
		res, err := tx.exec(ctx, `UPDATE critical_alerts SET ack_at = ?, ack_by = ?, ack_note = ?, next_due_at = NULL
			WHERE county_code = ? AND id = ? AND ack_at IS NULL`, s.ts(al.AckAt), al.AckBy, al.AckNote, al.CountyCode, al.ID)
		if err != nil {
			return wrap(op, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return &care.Error{Code: care.ECONFLICT, Key: "critical.already_acked", Op: op}
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

// DueAlerts returns open alerts whose next escalation is due at now, the
// longest overdue first.
func (s *Store) DueAlerts(ctx context.Context, now time.Time, limit int) ([]critical.Alert, error) {
	const op = "store.DueAlerts"
	rows, err := s.read().query(ctx, `SELECT `+alertCols+` FROM critical_alerts a
		WHERE a.ack_at IS NULL AND a.next_due_at IS NOT NULL AND a.next_due_at <= ? ORDER BY a.next_due_at, a.id LIMIT ?`, s.ts(now), limit)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []critical.Alert
	for rows.Next() {
		var al critical.Alert
		if err := scanAlert(rows, &al); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, al)
	}
	return out, wrap(op, rows.Err())
}

// EscalateAlerts saves escalations in one transaction. An alert moves only
// from the level it was read at and only while open, so a repeated or
// concurrent run moves nothing twice.
func (s *Store) EscalateAlerts(ctx context.Context, es []critical.Escalation) (int, error) {
	const op = "store.EscalateAlerts"
	n := 0
	err := s.Transact(ctx, func(tx db) error {
		n = 0
		for _, e := range es {
			al := e.Alert
			res, err := tx.exec(ctx, `UPDATE critical_alerts SET level = ?, escalated_at = ?, next_due_at = ?
				WHERE county_code = ? AND id = ? AND level = ? AND ack_at IS NULL`,
				al.Level, s.ts(al.EscalatedAt), s.ts(al.NextDueAt), al.CountyCode, al.ID, e.FromLevel)
			if err != nil {
				return wrap(op, err)
			}
			if k, _ := res.RowsAffected(); k != 1 {
				al.Level = e.FromLevel // not moved: acknowledged or moved meanwhile
				continue
			}
			if err := s.queueInTx(ctx, tx, e.Msgs); err != nil {
				return err
			}
			if l := e.Link; l != nil {
				if _, err := tx.exec(ctx, `INSERT INTO care_links (county_code, resident_id, institution_id, kind, reason, created_by, created_at, expires_at)
					VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, l.CountyCode, l.ResidentID, l.InstitutionID, l.Kind, l.Reason, l.CreatedBy, s.ts(l.CreatedAt), s.ts(l.ExpiresAt)); err != nil {
					return wrap(op, err)
				}
			}
			if err := s.appendAudit(ctx, tx, e.Audit); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}
