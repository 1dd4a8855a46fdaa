package store

import (
	"context"
	"database/sql"
	"errors"
	"runtime"
	"strings"

	"countycare/audit"
	"countycare/care"
)

// appendAudit seals events onto the chain inside tx. The chain head row
// is locked (FOR UPDATE on PostgreSQL; SQLite has one writer), so
// concurrent transactions append one after another and the chain has no
// forks.
func (s *Store) appendAudit(ctx context.Context, tx db, events ...audit.Event) error {
	if len(events) == 0 {
		return nil
	}
	if len(s.auditKey) == 0 {
		return care.Internal("store.appendAudit", errors.New("no audit key configured"))
	}
	lock := ""
	if s.dialect == Postgres {
		lock = " FOR UPDATE"
	}
	var seq int64
	var hash string
	if err := tx.row(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`+lock).Scan(&seq, &hash); err != nil {
		return wrap("store.appendAudit", err)
	}
	for i := range events {
		e := &events[i]
		if e.Time.IsZero() {
			e.Time = s.now()
		}
		audit.Seal(s.auditKey, seq, hash, e)
		seq, hash = e.Seq, e.Hash
	}
	// One multi-row INSERT per chunk: a batch from the audit writer is
	// hundreds of rows, and statements, not rows, are what cost. The full
	// chunk's statement is prepared once (parsing 1,500 placeholders was a
	// tenth of the audit writer's database time; BenchmarkAuditJournaledBatch).
	args := make([]any, 0, 15*min(auditChunk, len(events)))
	for i := 0; i < len(events); i += auditChunk {
		part := events[i:min(i+auditChunk, len(events))]
		args = args[:0]
		for j := range part {
			e := &part[j]
			args = append(args, e.Seq, s.ts(e.Time), e.AccountID, e.Username, string(e.Role), e.InstitutionID, e.Action, e.ResidentID,
				e.CountyCode, e.Purpose, e.Outcome, e.RequestID, e.Detail, e.PrevHash, e.Hash)
		}
		var err error
		if st := s.auditInsert(ctx, tx, len(part)); st != nil {
			_, err = st.ExecContext(ctx, args...)
		} else {
			_, err = tx.exec(ctx, auditInsertSQL(len(part)), args...)
		}
		if err != nil {
			return wrap("store.appendAudit", err)
		}
		// A large batch is background work: let request goroutines run
		// between chunks rather than wait behind the whole batch.
		runtime.Gosched()
	}
	_, err := tx.exec(ctx, `UPDATE audit_head SET seq = ?, hash = ?, mac = ? WHERE id = 1`, seq, hash, audit.HeadMAC(s.auditKey, seq, hash))
	return wrap("store.appendAudit", err)
}

// auditChunk is the most rows appendAudit inserts with one statement.
const auditChunk = 100

func auditInsertSQL(rows int) string {
	one := "(" + placeholders(15) + ")"
	return `INSERT INTO audit_events (` + auditCols + `) VALUES ` + strings.TrimSuffix(strings.Repeat(one+", ", rows), ", ")
}

// prepareAuditInsert prepares the full chunk's INSERT on the writer (at
// Open: inside a transaction, SQLite's one writer connection is taken).
func (s *Store) prepareAuditInsert(ctx context.Context) {
	if st, err := s.w.PrepareContext(ctx, s.rebind(auditInsertSQL(auditChunk))); err == nil {
		s.auditIns = st
	}
}

// auditInsert returns the prepared INSERT of a full chunk bound to tx, or
// nil for a shorter chunk (the caller then runs the text).
func (s *Store) auditInsert(ctx context.Context, d db, rows int) *sql.Stmt {
	tx, ok := d.q.(*sql.Tx)
	if rows != auditChunk || !ok || s.auditIns == nil {
		return nil
	}
	return tx.StmtContext(ctx, s.auditIns)
}

// AppendAudit writes events in one transaction (audit.Appender). After a
// failover it runs again on the new primary: sealing reads the chain head
// inside the transaction, so a second run seals the events afresh.
func (s *Store) AppendAudit(ctx context.Context, events []audit.Event) error {
	return s.transactIdempotent(ctx, func(tx db) error { return s.appendAudit(ctx, tx, events...) })
}

// AppendAuditJournaled writes events journaled by the audit writer and
// records how far their journal is committed (mark), in one transaction
// (audit.JournaledAppender): a replay after a crash starts after mark, so
// each journaled event is inserted exactly once (and, being one
// transaction with the mark, it is run again after a failover).
func (s *Store) AppendAuditJournaled(ctx context.Context, events []audit.Event, mark audit.Watermark) error {
	return s.transactIdempotent(ctx, func(tx db) error {
		if err := s.appendAudit(ctx, tx, events...); err != nil {
			return err
		}
		_, err := tx.exec(ctx, `INSERT INTO audit_journal_mark (id, journal_id, journal_offset, updated_at) VALUES (1, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET journal_id = excluded.journal_id, journal_offset = excluded.journal_offset, updated_at = excluded.updated_at`,
			mark.JournalID, mark.Offset, s.ts(s.now()))
		return wrap("store.AppendAuditJournaled", err)
	})
}

// AuditWatermark returns the audit journal's recorded watermark; ok is
// false if no journaled event was ever committed.
func (s *Store) AuditWatermark(ctx context.Context) (audit.Watermark, bool, error) {
	var m audit.Watermark
	err := s.read().row(ctx, `SELECT journal_id, journal_offset FROM audit_journal_mark WHERE id = 1`).Scan(&m.JournalID, &m.Offset)
	if errors.Is(err, sql.ErrNoRows) {
		return audit.Watermark{}, false, nil
	}
	if err != nil {
		return audit.Watermark{}, false, wrap("store.AuditWatermark", err)
	}
	return m, true, nil
}

const auditCols = `seq, at, account_id, username, role, institution_id, action, resident_id, county_code, purpose, outcome, request_id, detail, prev_hash, hash`

func scanAudit(sc interface{ Scan(...any) error }, e *audit.Event) error {
	return sc.Scan(&e.Seq, tsOf(&e.Time), &e.AccountID, &e.Username, &e.Role, &e.InstitutionID, &e.Action, &e.ResidentID, &e.CountyCode, &e.Purpose, &e.Outcome, &e.RequestID, &e.Detail, &e.PrevHash, &e.Hash)
}

// SearchAudit returns audit rows matching f, newest first.
func (s *Store) SearchAudit(ctx context.Context, f audit.Filter) ([]audit.Event, error) {
	q := `SELECT ` + auditCols + ` FROM audit_events WHERE 1 = 1`
	var args []any
	if f.ResidentIDs != nil {
		if len(f.ResidentIDs) == 0 {
			return nil, nil
		}
		q += ` AND resident_id IN (` + placeholders(len(f.ResidentIDs)) + `)`
		args = append(args, int64Args(f.ResidentIDs)...)
	}
	if f.AccountID != 0 {
		q += ` AND account_id = ?`
		args = append(args, f.AccountID)
	}
	if f.Username != "" {
		q += ` AND username = ?`
		args = append(args, f.Username)
	}
	if f.Action != "" {
		q += ` AND action = ?`
		args = append(args, f.Action)
	}
	if len(f.Actions) > 0 {
		q += ` AND action IN (` + placeholders(len(f.Actions)) + `)`
		for _, a := range f.Actions {
			args = append(args, a)
		}
	}
	if len(f.Verbs) > 0 {
		q += ` AND (` + strings.TrimSuffix(strings.Repeat(`action LIKE ? OR `, len(f.Verbs)), ` OR `) + `)`
		for _, v := range f.Verbs {
			args = append(args, "%."+v)
		}
	}
	for _, v := range f.NotVerbs {
		q += ` AND action NOT LIKE ?`
		args = append(args, "%."+v)
	}
	if f.CountyCode != "" {
		q += ` AND county_code = ?`
		args = append(args, f.CountyCode)
	}
	if f.Outcome != "" {
		q += ` AND outcome = ?`
		args = append(args, f.Outcome)
	}
	if f.RequestID != "" {
		q += ` AND request_id = ?`
		args = append(args, f.RequestID)
	}
	if !f.From.IsZero() {
		q += ` AND at >= ?`
		args = append(args, s.ts(f.From))
	}
	if !f.To.IsZero() {
		q += ` AND at < ?`
		args = append(args, s.ts(f.To))
	}
	if f.BeforeSeq > 0 {
		q += ` AND seq < ?`
		args = append(args, f.BeforeSeq)
	}
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	q += ` ORDER BY seq DESC LIMIT ?`
	args = append(args, limit)
	rows, err := s.read().query(ctx, q, args...)
	if err != nil {
		return nil, wrap("store.SearchAudit", err)
	}
	defer rows.Close()
	var out []audit.Event
	for rows.Next() {
		var e audit.Event
		if err := scanAudit(rows, &e); err != nil {
			return nil, wrap("store.SearchAudit", err)
		}
		out = append(out, e)
	}
	return out, wrap("store.SearchAudit", rows.Err())
}

// VerifyAudit walks the whole chain in sequence order and checks every
// row and the head against key. It reads in pages so memory stays flat.
func (s *Store) VerifyAudit(ctx context.Context, key []byte) (*audit.Verifier, error) {
	v := audit.NewVerifier(key)
	var headSeq int64
	var headHash, headMAC string
	if err := s.read().row(ctx, `SELECT seq, hash, mac FROM audit_head WHERE id = 1`).Scan(&headSeq, &headHash, &headMAC); err != nil {
		return nil, wrap("store.VerifyAudit", err)
	}
	if !audit.CheckHeadMAC(key, headSeq, headHash, headMAC) {
		v.Problems = append(v.Problems, audit.Problem{Seq: headSeq, Reason: "head signature mismatch: the head was rewritten (rows may have been cut off the end)"})
	}
	after := int64(0)
	for {
		// Rows written after the head was read belong to a later check.
		rows, err := s.read().query(ctx, `SELECT `+auditCols+` FROM audit_events WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT 5000`, after, headSeq)
		if err != nil {
			return nil, wrap("store.VerifyAudit", err)
		}
		n := 0
		for rows.Next() {
			var e audit.Event
			if err := scanAudit(rows, &e); err != nil {
				rows.Close()
				return nil, wrap("store.VerifyAudit", err)
			}
			v.Add(&e)
			after = e.Seq
			n++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, wrap("store.VerifyAudit", err)
		}
		if n == 0 {
			break
		}
	}
	v.Finish(headSeq, headHash)
	return v, nil
}

// AuditHead returns the chain's last sequence number and hash: recorded
// outside the database (serve logs them as an "audit anchor" at startup
// and hourly), they let verify-audit --expect detect later truncation.
func (s *Store) AuditHead(ctx context.Context) (int64, string, error) {
	var seq int64
	var hash string
	err := s.read().row(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&seq, &hash)
	return seq, hash, wrap("store.AuditHead", err)
}

// AuditRowHash returns the hash of row seq ("" if there is none).
func (s *Store) AuditRowHash(ctx context.Context, seq int64) (string, error) {
	var h string
	err := s.read().row(ctx, `SELECT hash FROM audit_events WHERE seq = ?`, seq).Scan(&h)
	if care.IsCode(mapErr(err), care.ENOTFOUND) {
		return "", nil
	}
	return h, wrap("store.AuditRowHash", err)
}

// AuditCount returns the number of audit rows (for tests and the bench).
func (s *Store) AuditCount(ctx context.Context) (int64, error) {
	var n int64
	err := s.read().row(ctx, `SELECT COUNT(*) FROM audit_events`).Scan(&n)
	return n, wrap("store.AuditCount", err)
}
