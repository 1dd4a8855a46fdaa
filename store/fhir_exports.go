package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"countycare/audit"
	"countycare/bulkdata"
	"countycare/care"
	"countycare/chronic"
	"countycare/consult"
	"countycare/lab"
	"countycare/online"
	"countycare/reading"
	"countycare/referral"
	"countycare/resident"
	"countycare/settle"
)

const exportCols = `id, client_id, county_code, institution_id, level, group_id, types, since, request_url, state, progress, error,
	created_at, started_at, finished_at, expires_at, transaction_at`

func scanExport(sc interface{ Scan(...any) error }, e *bulkdata.Export) error {
	var types string
	if err := sc.Scan(&e.ID, &e.ClientID, &e.CountyCode, &e.InstitutionID, &e.Level, &e.GroupID, &types, tsOf(&e.Since), &e.RequestURL, &e.State,
		&e.Progress, &e.Error, tsOf(&e.CreatedAt), tsOf(&e.StartedAt), tsOf(&e.FinishedAt), tsOf(&e.ExpiresAt), tsOf(&e.TransactionAt)); err != nil {
		return err
	}
	e.Types = strings.Split(types, ",")
	return nil
}

// CreateExport stores a kick-off (state accepted) with its audit row.
func (s *Store) CreateExport(ctx context.Context, e *bulkdata.Export, ev audit.Event) error {
	const op = "store.CreateExport"
	return s.Transact(ctx, func(tx db) error {
		if _, err := tx.exec(ctx, `INSERT INTO fhir_exports (id, client_id, county_code, institution_id, level, group_id, types, since, request_url,
			state, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, e.ID, e.ClientID, e.CountyCode, e.InstitutionID, e.Level, e.GroupID,
			strings.Join(e.Types, ","), s.ts(e.Since), e.RequestURL, e.State, s.ts(e.CreatedAt)); err != nil {
			return wrap(op, err)
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

// Export returns an export and its files. Errors: ENOTFOUND.
func (s *Store) Export(ctx context.Context, id string) (*bulkdata.Export, []bulkdata.File, error) {
	const op = "store.Export"
	var e bulkdata.Export
	if err := scanExport(s.read().row(ctx, `SELECT `+exportCols+` FROM fhir_exports WHERE id = ?`, id), &e); err != nil {
		return nil, nil, wrap(op, err)
	}
	rows, err := s.read().query(ctx, `SELECT seq, type, count, size FROM fhir_export_files WHERE export_id = ? ORDER BY seq`, id)
	if err != nil {
		return nil, nil, wrap(op, err)
	}
	defer rows.Close()
	var fs []bulkdata.File
	for rows.Next() {
		f := bulkdata.File{ExportID: id}
		if err := rows.Scan(&f.Seq, &f.Type, &f.Count, &f.Size); err != nil {
			return nil, nil, wrap(op, err)
		}
		fs = append(fs, f)
	}
	return &e, fs, wrap(op, rows.Err())
}

// ClaimExport moves the oldest accepted export — or one left running
// since before stale by a replica that lost the lease — to running,
// deleting any files it had, and returns it; nil when there is none.
func (s *Store) ClaimExport(ctx context.Context, now, stale time.Time) (*bulkdata.Export, error) {
	const op = "store.ClaimExport"
	var e *bulkdata.Export
	err := s.Transact(ctx, func(tx db) error {
		var x bulkdata.Export
		err := scanExport(tx.row(ctx, `SELECT `+exportCols+` FROM fhir_exports WHERE state = ? OR (state = ? AND started_at < ?)
			ORDER BY created_at LIMIT 1`, bulkdata.StateAccepted, bulkdata.StateRunning, s.ts(stale)), &x)
		if care.IsCode(wrap(op, err), care.ENOTFOUND) {
			return nil
		} else if err != nil {
			return wrap(op, err)
		}
		for _, t := range []string{"fhir_export_pieces", "fhir_export_files"} {
			if _, err := tx.exec(ctx, `DELETE FROM `+t+` WHERE export_id = ?`, x.ID); err != nil {
				return wrap(op, err)
			}
		}
		x.State, x.StartedAt, x.TransactionAt = bulkdata.StateRunning, now, now
		if _, err := tx.exec(ctx, `UPDATE fhir_exports SET state = ?, started_at = ?, transaction_at = ?, progress = '' WHERE id = ?`,
			x.State, s.ts(now), s.ts(now), x.ID); err != nil {
			return wrap(op, err)
		}
		e = &x
		return nil
	})
	return e, err
}

// AppendExportPiece stores a piece of file seq of a running export, and
// the progress text. Errors: ECONFLICT when the export is no longer
// running (cancelled): the writer stops.
func (s *Store) AppendExportPiece(ctx context.Context, id string, seq int, start int64, data []byte, progress string) error {
	const op = "store.AppendExportPiece"
	return s.Transact(ctx, func(tx db) error {
		r, err := tx.exec(ctx, `UPDATE fhir_exports SET progress = ? WHERE id = ? AND state = ?`, progress, id, bulkdata.StateRunning)
		if err != nil {
			return wrap(op, err)
		}
		if n, err := r.RowsAffected(); err != nil {
			return wrap(op, err)
		} else if n == 0 {
			return care.Errorf(care.ECONFLICT, "error.conflict")
		}
		_, err = tx.exec(ctx, `INSERT INTO fhir_export_pieces (export_id, seq, start_at, data) VALUES (?, ?, ?, ?)`, id, seq, start, data)
		return wrap(op, err)
	})
}

// AddExportFile records a finished file of an export.
func (s *Store) AddExportFile(ctx context.Context, f bulkdata.File) error {
	_, err := db{q: s.w, s: s}.exec(ctx, `INSERT INTO fhir_export_files (export_id, seq, type, count, size) VALUES (?, ?, ?, ?, ?)`,
		f.ExportID, f.Seq, f.Type, f.Count, f.Size)
	return wrap("store.AddExportFile", err)
}

// FinishExport ends a running export: completed (files kept until
// expires) or failed with msg. A cancelled export stays cancelled.
func (s *Store) FinishExport(ctx context.Context, id, state, msg string, at, expires time.Time) error {
	_, err := db{q: s.w, s: s}.exec(ctx, `UPDATE fhir_exports SET state = ?, error = ?, finished_at = ?, expires_at = ?, progress = '' WHERE id = ? AND state = ?`,
		state, msg, s.ts(at), s.ts(expires), id, bulkdata.StateRunning)
	return wrap("store.FinishExport", err)
}

// CancelExport cancels a client's export and deletes its files. Errors:
// ENOTFOUND when the client has no such export, or it was cancelled.
func (s *Store) CancelExport(ctx context.Context, id, clientID string, ev audit.Event) error {
	const op = "store.CancelExport"
	return s.Transact(ctx, func(tx db) error {
		r, err := tx.exec(ctx, `UPDATE fhir_exports SET state = ?, progress = '' WHERE id = ? AND client_id = ? AND state <> ?`,
			bulkdata.StateCancelled, id, clientID, bulkdata.StateCancelled)
		if err != nil {
			return wrap(op, err)
		}
		if n, err := r.RowsAffected(); err != nil {
			return wrap(op, err)
		} else if n == 0 {
			return care.Errorf(care.ENOTFOUND, "error.not_found")
		}
		for _, t := range []string{"fhir_export_pieces", "fhir_export_files"} {
			if _, err := tx.exec(ctx, `DELETE FROM `+t+` WHERE export_id = ?`, id); err != nil {
				return wrap(op, err)
			}
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

// ExportBytes calls fn with the bytes [from, to) of file seq, piece by
// piece, in order. fn must not keep the slice: it is the driver's copy of
// the piece (sql.RawBytes), valid until fn returns — a download of the
// county does not copy each MiB twice for the collector to sweep.
func (s *Store) ExportBytes(ctx context.Context, id string, seq int, from, to int64, fn func([]byte) error) error {
	const op = "store.ExportBytes"
	rows, err := s.scan().query(ctx, `SELECT start_at, data FROM fhir_export_pieces WHERE export_id = ? AND seq = ? AND start_at < ?
		ORDER BY start_at`, id, seq, to)
	if err != nil {
		return wrap(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		var start int64
		var data sql.RawBytes
		if err := rows.Scan(&start, &data); err != nil {
			return wrap(op, err)
		}
		end := start + int64(len(data))
		if end <= from {
			continue
		}
		lo, hi := max(from-start, 0), min(to-start, int64(len(data)))
		if err := fn(data[lo:hi]); err != nil {
			return err
		}
	}
	return wrap(op, rows.Err())
}

// DeleteExpiredExports deletes the exports whose files expired before
// now, and the cancelled and failed ones older than keep, with their
// files; it returns how many.
func (s *Store) DeleteExpiredExports(ctx context.Context, now time.Time, keep time.Duration) (int64, error) {
	const op = "store.DeleteExpiredExports"
	var n int64
	err := s.Transact(ctx, func(tx db) error {
		const expired = `(expires_at IS NOT NULL AND expires_at <= ?) OR (state IN (?, ?) AND created_at <= ?)`
		args := []any{s.ts(now), bulkdata.StateCancelled, bulkdata.StateFailed, s.ts(now.Add(-keep))}
		for _, t := range []string{"fhir_export_pieces", "fhir_export_files"} {
			if _, err := tx.exec(ctx, `DELETE FROM `+t+` WHERE export_id IN (SELECT id FROM fhir_exports WHERE `+expired+`)`, args...); err != nil {
				return wrap(op, err)
			}
		}
		r, err := tx.exec(ctx, `DELETE FROM fhir_exports WHERE `+expired, args...)
		if err != nil {
			return wrap(op, err)
		}
		n, err = r.RowsAffected()
		return wrap(op, err)
	})
	return n, err
}

// exportResidents is the residents of a selection: a condition on the
// residents table r, and its arguments.
func exportResidents(sel bulkdata.Selection) (string, []any) {
	where := `r.county_code = ?`
	args := []any{sel.CountyCode}
	if sel.Villages != nil {
		if len(sel.Villages) == 0 {
			return `1 = 0`, nil
		}
		where += ` AND r.village_id IN (` + placeholders(len(sel.Villages)) + `)`
		args = append(args, int64Args(sel.Villages)...)
	}
	if sel.Registry != "" {
		where += ` AND EXISTS (SELECT 1 FROM chronic_registrations g WHERE g.county_code = r.county_code AND g.resident_id = r.id
			AND g.disease = ? AND g.status = 'active')`
		args = append(args, sel.Registry)
	}
	return where, args
}

// eachExported streams the rows of q, scanned into one T reused for
// every row (never collected: the memory of an export of the whole county
// stays flat), to fn.
func eachExported[T any](ctx context.Context, s *Store, op, q string, args []any, scan func(sc interface{ Scan(...any) error }, x *T) error, fn func(*T) error) error {
	rows, err := s.scan().query(ctx, q, args...)
	if err != nil {
		return wrap(op, err)
	}
	defer rows.Close()
	var x T
	for rows.Next() {
		var zero T
		x = zero
		if err := scan(rows, &x); err != nil {
			return wrap(op, err)
		}
		if err := fn(&x); err != nil {
			return err
		}
	}
	return wrap(op, rows.Err())
}

// EachExportResident streams the residents of sel changed at or after
// sel.Since (updated_at), in id order.
func (s *Store) EachExportResident(ctx context.Context, sel bulkdata.Selection, fn func(*resident.Resident) error) error {
	const op = "store.EachExportResident"
	where, args := exportResidents(sel)
	if !sel.Since.IsZero() {
		where += ` AND r.updated_at >= ?`
		args = append(args, s.ts(sel.Since))
	}
	return eachExported(ctx, s, op, `SELECT `+residentCols+` FROM residents r WHERE `+where+` ORDER BY r.id`, args,
		func(sc interface{ Scan(...any) error }, r *resident.Resident) error { return scanResident(sc, r) }, fn)
}

// EachExportRegistration streams the chronic registrations of sel's
// residents. A registration has no last-updated time: with sel.Since it
// is exported when it was created, closed or moved tier on or after that
// day (created_at, closed_on, tier_since), the best times it has.
func (s *Store) EachExportRegistration(ctx context.Context, sel bulkdata.Selection, fn func(*chronic.Registration) error) error {
	const op = "store.EachExportRegistration"
	where, args := exportResidents(sel)
	if !sel.Since.IsZero() {
		day := care.Today(sel.Since)
		where += ` AND (x.created_at >= ? OR x.closed_on >= ? OR x.tier_since >= ?)`
		args = append(args, s.ts(sel.Since), day, day)
	}
	return eachExported(ctx, s, op, `SELECT `+prefixCols("x.", registrationCols)+` FROM chronic_registrations x
		JOIN residents r ON r.id = x.resident_id WHERE `+where+` ORDER BY x.id`, args,
		func(sc interface{ Scan(...any) error }, g *chronic.Registration) error {
			return scanRegistration(sc, g)
		}, fn)
}

// EachExportVisit streams the follow-up visits of sel's residents
// recorded (created_at) at or after sel.Since.
func (s *Store) EachExportVisit(ctx context.Context, sel bulkdata.Selection, fn func(*chronic.StoredVisit) error) error {
	const op = "store.EachExportVisit"
	where, args := exportResidents(sel)
	if !sel.Since.IsZero() {
		where += ` AND x.created_at >= ?`
		args = append(args, s.ts(sel.Since))
	}
	return eachExported(ctx, s, op, `SELECT `+prefixCols("x.", visitCols)+` FROM chronic_visits x
		JOIN residents r ON r.id = x.resident_id WHERE `+where+` ORDER BY x.id`, args, scanVisit, fn)
}

// EachExportSettlement streams the settlements of sel's residents
// settled or reversed at or after sel.Since.
func (s *Store) EachExportSettlement(ctx context.Context, sel bulkdata.Selection, fn func(*settle.Settlement) error) error {
	const op = "store.EachExportSettlement"
	where, args := exportResidents(sel)
	if !sel.Since.IsZero() {
		where += ` AND (x.created_at >= ? OR x.reversed_at >= ?)`
		args = append(args, s.ts(sel.Since), s.ts(sel.Since))
	}
	return eachExported(ctx, s, op, `SELECT `+prefixCols("x.", settlementCols)+` FROM settlements x
		JOIN residents r ON r.id = x.resident_id WHERE `+where+` ORDER BY x.id`, args, scanSettlement, fn)
}

// EachExportConsultation streams the consultations of sel's residents
// created, accepted, answered or closed at or after sel.Since (a
// consultation has no last-updated time: these are its changes of state).
func (s *Store) EachExportConsultation(ctx context.Context, sel bulkdata.Selection, fn func(*consult.Consultation) error) error {
	const op = "store.EachExportConsultation"
	where, args := exportResidents(sel)
	if !sel.Since.IsZero() {
		where += ` AND (x.created_at >= ? OR x.accepted_at >= ? OR x.answered_at >= ? OR x.closed_at >= ?)`
		args = append(args, s.ts(sel.Since), s.ts(sel.Since), s.ts(sel.Since), s.ts(sel.Since))
	}
	var head int64
	return eachExported(ctx, s, op, `SELECT `+prefixCols("x.", consultCols)+` FROM consultations x
		JOIN residents r ON r.id = x.resident_id WHERE `+where+` ORDER BY x.id`, args,
		func(sc interface{ Scan(...any) error }, c *consult.Consultation) error {
			return scanConsult(sc, c, nil, &head)
		}, fn)
}

// EachExportReferral streams the referrals of sel's residents updated at
// or after sel.Since.
func (s *Store) EachExportReferral(ctx context.Context, sel bulkdata.Selection, fn func(*referral.Referral) error) error {
	const op = "store.EachExportReferral"
	where, args := exportResidents(sel)
	if !sel.Since.IsZero() {
		where += ` AND x.updated_at >= ?`
		args = append(args, s.ts(sel.Since))
	}
	return eachExported(ctx, s, op, `SELECT `+prefixCols("x.", referralCols)+` FROM referrals x
		JOIN residents r ON r.id = x.resident_id WHERE `+where+` ORDER BY x.id`, args,
		func(sc interface{ Scan(...any) error }, rf *referral.Referral) error { return scanReferral(sc, rf) }, fn)
}

// EachExportOnlineVisit streams the online visits of sel's residents
// booked, stepped up or ended at or after sel.Since.
func (s *Store) EachExportOnlineVisit(ctx context.Context, sel bulkdata.Selection, fn func(*online.Visit) error) error {
	const op = "store.EachExportOnlineVisit"
	where, args := exportResidents(sel)
	if !sel.Since.IsZero() {
		where += ` AND (x.created_at >= ? OR x.stepped_up_at >= ? OR x.ended_at >= ?)`
		args = append(args, s.ts(sel.Since), s.ts(sel.Since), s.ts(sel.Since))
	}
	return eachExported(ctx, s, op, `SELECT `+prefixCols("x.", onlineVisitCols)+` FROM online_visits x
		JOIN residents r ON r.id = x.resident_id WHERE `+where+` ORDER BY x.id`, args, scanOnlineVisit, fn)
}

// LeanExportWrites sets the SQLite writer's page cache to kib KiB (an
// export's pieces are written once, never read back through the writer)
// and returns what restores the cache the store opened it with
// (Options.CacheMiB). Nothing on
// PostgreSQL.
func (s *Store) LeanExportWrites(ctx context.Context, kib int) (restore func()) {
	if s.dialect != SQLite {
		return func() {}
	}
	if _, err := s.w.ExecContext(ctx, `PRAGMA cache_size = -`+strconv.Itoa(kib)); err != nil {
		return func() {}
	}
	return func() { s.w.ExecContext(context.Background(), `PRAGMA cache_size = -`+strconv.Itoa(s.writerCacheKiB)) }
}

// EachExportLabResult streams the lab results of sel's residents filed
// (created_at) at or after sel.Since, a resident's together, newest
// collected first within each (as the lab page lists them, so a caller
// can group one resident's into reports holding only that resident's).
func (s *Store) EachExportLabResult(ctx context.Context, sel bulkdata.Selection, fn func(*lab.Result) error) error {
	where, args := exportResidents(sel)
	if !sel.Since.IsZero() {
		where += ` AND l.created_at >= ?`
		args = append(args, s.ts(sel.Since))
	}
	return eachExported(ctx, s, "store.EachExportLabResult", labResultSelect+` JOIN residents r ON r.id = l.resident_id
		WHERE l.county_code = r.county_code AND `+where+` ORDER BY l.resident_id, l.collected_at DESC, l.id DESC`, args, scanLabResult, fn)
}

// EachExportAudit streams the audit rows of sel's county recorded at or
// after sel.Since, in sequence order (the auditor's incremental feed:
// audit_at serves the range). Only a whole-county selection has any.
func (s *Store) EachExportAudit(ctx context.Context, sel bulkdata.Selection, fn func(*audit.Event) error) error {
	if !sel.Whole() {
		return nil
	}
	q, args := `SELECT `+auditCols+` FROM audit_events WHERE county_code = ?`, []any{sel.CountyCode}
	if !sel.Since.IsZero() {
		q += ` AND at >= ?`
		args = append(args, s.ts(sel.Since))
	}
	return eachExported(ctx, s, "store.EachExportAudit", q+` ORDER BY seq`, args, scanAudit, fn)
}

// EachExportReport streams the reported studies of sel's residents, each
// with its reports (the signed report and its addenda, oldest first), in
// study order; with sel.Since, those with a report or addendum signed at
// or after it. One query joins the studies to their reports, so a study
// is the run of consecutive rows that share it: only one study's
// reports are held at a time. CROSS JOIN keeps SQLite walking the studies
// in id order (each study's reports through reading_reports_study) rather
// than sorting the county's reports.
func (s *Store) EachExportReport(ctx context.Context, sel bulkdata.Selection, fn func(*reading.Study, []reading.Report) error) error {
	const op = "store.EachExportReport"
	where, args := exportResidents(sel)
	if !sel.Since.IsZero() {
		where += ` AND EXISTS (SELECT 1 FROM reading_reports y WHERE y.county_code = s.county_code AND y.study_id = s.id AND y.signed_at >= ?)`
		args = append(args, s.ts(sel.Since))
	}
	rows, err := s.scan().query(ctx, `SELECT `+readingCols+`, `+prefixCols("q.", reportCols)+` FROM reading_studies s
		CROSS JOIN reading_reports q JOIN residents r ON r.id = s.resident_id
		WHERE q.county_code = s.county_code AND q.study_id = s.id AND s.county_code = r.county_code AND s.status = 'reported' AND `+where+` ORDER BY s.id, q.id`, args...)
	if err != nil {
		return wrap(op, err)
	}
	defer rows.Close()
	var st, next reading.Study
	var reps []reading.Report
	for rows.Next() {
		var rep reading.Report
		var fields string
		next = reading.Study{}
		if err := scanReading(rows, &next, reportDest(&rep, &fields)...); err != nil {
			return wrap(op, err)
		}
		if err := json.Unmarshal([]byte(fields), &rep.Fields); err != nil {
			return wrap(op, err)
		}
		if len(reps) > 0 && next.ID != st.ID {
			if err := fn(&st, reps); err != nil {
				return err
			}
			reps = reps[:0]
		}
		st = next
		reps = append(reps, rep)
	}
	if err := rows.Err(); err != nil {
		return wrap(op, err)
	}
	if len(reps) > 0 {
		return fn(&st, reps)
	}
	return nil
}
