package store

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/ecg"
	"countycare/notify"
	"countycare/reading"
)

// SetReadingTargets sets the turnaround targets new studies are due by
// (default reading.DefaultTargets()). Every path that stores an ECG study,
// a DICOM instance, a clinic photo or a fetal trace enters it into the
// reading workflow with them.
func (s *Store) SetReadingTargets(t reading.Targets) { s.readTargets.Store(&t) }

func (s *Store) readingTargets() reading.Targets {
	if t := s.readTargets.Load(); t != nil {
		return *t
	}
	return reading.DefaultTargets()
}

// enterReading inserts a workflow entry in tx; an entry of the same kind
// and source key already there is kept (a later instance of an imaging
// study), marked urgent if st is.
func (s *Store) enterReading(ctx context.Context, tx db, st *reading.Study) error {
	const op = "store.enterReading"
	findings := make([]string, len(st.Findings))
	for i, f := range st.Findings {
		findings[i] = string(f)
	}
	res, err := tx.exec(ctx, `INSERT INTO reading_studies (county_code, kind, source_key, modality, resident_id, clinic_id, ordered_by, center_id,
		urgent, priority, preread, findings, heart_rate, status, uploaded_at, due_at, version)
		SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1
		WHERE NOT EXISTS (SELECT 1 FROM reading_studies WHERE county_code = ? AND kind = ? AND source_key = ?)`,
		st.County, st.Kind, st.SourceKey, st.Modality, st.ResidentID, st.ClinicID, st.OrderedBy, st.CenterID,
		st.Urgent, st.Priority, st.PreRead, strings.Join(findings, ","), st.HeartRate, st.Status, s.ts(st.UploadedAt), s.ts(st.DueAt),
		st.County, st.Kind, st.SourceKey)
	if err != nil {
		return wrap(op, err)
	}
	if n, _ := res.RowsAffected(); n == 0 && st.Urgent {
		if _, err := tx.exec(ctx, `UPDATE reading_studies SET urgent = ?, version = version + 1 WHERE county_code = ? AND kind = ? AND source_key = ? AND urgent = ?`,
			true, st.County, st.Kind, st.SourceKey, false); err != nil {
			return wrap(op, err)
		}
	}
	return nil
}

const readingCols = `s.id, s.county_code, s.kind, s.source_key, s.modality, s.resident_id, s.clinic_id, s.ordered_by, s.center_id, s.urgent, s.priority,
	s.preread, s.findings, s.heart_rate, s.status, s.claimed_by, s.claimed_name, s.claimed_at, s.uploaded_at, s.due_at, s.escalations, s.breached_at, s.reported_at,
	s.reported_by, s.version`

type scanner interface{ Scan(dest ...any) error }

func scanReading(r scanner, st *reading.Study, extra ...any) error {
	var findings string
	err := r.Scan(append([]any{&st.ID, &st.County, &st.Kind, &st.SourceKey, &st.Modality, &st.ResidentID, &st.ClinicID, &st.OrderedBy, &st.CenterID,
		&st.Urgent, &st.Priority, &st.PreRead, &findings, &st.HeartRate, &st.Status, &st.ClaimedBy, &st.ClaimedName, tsOf(&st.ClaimedAt), tsOf(&st.UploadedAt), tsOf(&st.DueAt),
		&st.Escalations, tsOf(&st.BreachedAt), tsOf(&st.ReportedAt), &st.ReportedBy, &st.Version}, extra...)...)
	st.Findings = nil
	if findings != "" {
		for _, f := range strings.Split(findings, ",") {
			st.Findings = append(st.Findings, ecg.Finding(f))
		}
	}
	return err
}

func (s *Store) readingList(ctx context.Context, op, q string, args ...any) ([]reading.Study, error) {
	rows, err := s.read().query(ctx, q, args...)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []reading.Study
	for rows.Next() {
		var st reading.Study
		if err := scanReading(rows, &st, &st.ResidentName, &st.ClinicName); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, st)
	}
	return out, wrap(op, rows.Err())
}

// ReadingWorklist lists a center's open studies: urgent first, then
// pre-read priority, then the longest waiting.
func (s *Store) ReadingWorklist(ctx context.Context, county string, centerID int64, modality string, limit int) ([]reading.Study, error) {
	// The page of studies first, then the names for those rows only.
	const order = ` ORDER BY s.urgent DESC, s.priority DESC, s.uploaded_at, s.id`
	q := `SELECT s.* FROM reading_studies s WHERE s.county_code = ? AND s.center_id = ? AND s.status IN ('waiting', 'claimed')`
	args := []any{county, centerID}
	if modality != "" {
		q += ` AND s.modality = ?`
		args = append(args, modality)
	}
	q = `SELECT ` + readingCols + `, r.name, i.name FROM (` + q + order + ` LIMIT ?) s JOIN residents r ON r.id = s.resident_id
		JOIN institutions i ON i.id = s.clinic_id` + order
	return s.readingList(ctx, "store.ReadingWorklist", q, append(args, limit)...)
}

// ReadingStudy returns one study of a county with the resident's and the
// clinic's names (ENOTFOUND).
func (s *Store) ReadingStudy(ctx context.Context, county string, id int64) (*reading.Study, error) {
	var st reading.Study
	err := scanReading(s.read().row(ctx, `SELECT `+readingCols+`, r.name, i.name FROM reading_studies s JOIN residents r ON r.id = s.resident_id
		JOIN institutions i ON i.id = s.clinic_id WHERE s.county_code = ? AND s.id = ?`, county, id), &st, &st.ResidentName, &st.ClinicName)
	if err != nil {
		return nil, wrap("store.ReadingStudy", err)
	}
	return &st, nil
}

// SaveReadingState saves a claim, assignment or release at st.Version.
func (s *Store) SaveReadingState(ctx context.Context, st *reading.Study, ev audit.Event) error {
	const op = "store.SaveReadingState"
	return s.Transact(ctx, func(tx db) error {
		res, err := tx.exec(ctx, `UPDATE reading_studies SET status = ?, claimed_by = ?, claimed_name = ?, claimed_at = ?, version = version + 1
			WHERE county_code = ? AND id = ? AND version = ? AND status <> 'reported'`,
			st.Status, st.ClaimedBy, st.ClaimedName, s.ts(st.ClaimedAt), st.County, st.ID, st.Version)
		if err != nil {
			return wrap(op, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return &care.Error{Code: care.ECONFLICT, Key: "reading.changed", Op: op}
		}
		st.Version++
		return s.appendAudit(ctx, tx, ev)
	})
}

// SaveReadingReport stores a signed report (marking the study and its
// source reported, at st.Version, held by the signer) or an addendum,
// with messages and the audit row, in one transaction.
func (s *Store) SaveReadingReport(ctx context.Context, st *reading.Study, r *reading.Report, msgs []notify.Message, ev audit.Event) error {
	const op = "store.SaveReadingReport"
	fields, err := json.Marshal(r.Fields)
	if err != nil {
		return wrap(op, err)
	}
	return s.Transact(ctx, func(tx db) error {
		if r.Kind == reading.ReportSigned {
			res, err := tx.exec(ctx, `UPDATE reading_studies SET status = 'reported', reported_at = ?, reported_by = ?, reported_name = ?, report_normal = ?,
				version = version + 1 WHERE county_code = ? AND id = ? AND version = ? AND status = 'claimed' AND claimed_by = ?`,
				s.ts(st.ReportedAt), st.ReportedBy, r.SignerName, r.Normal, st.County, st.ID, st.Version, r.SignedBy)
			if err != nil {
				return wrap(op, err)
			}
			if n, _ := res.RowsAffected(); n != 1 {
				return &care.Error{Code: care.ECONFLICT, Key: "reading.not_yours", Op: op}
			}
			if err := s.keepTurnaround(ctx, tx, st.County, st.CenterID, st.Kind, st.UploadedAt, st.ReportedAt); err != nil {
				return err
			}
			switch st.Kind {
			case reading.KindECG:
				id, _ := strconv.ParseInt(st.SourceKey, 10, 64)
				_, err = tx.exec(ctx, `UPDATE ecg_studies SET status = 'reported' WHERE county_code = ? AND id = ?`, st.County, id)
			case reading.KindImaging:
				_, err = tx.exec(ctx, `UPDATE imaging_instances SET status = 'reported' WHERE county_code = ? AND study_uid = ?`, st.County, st.SourceKey)
			case reading.KindPhoto:
				id, _ := strconv.ParseInt(st.SourceKey, 10, 64)
				_, err = tx.exec(ctx, `UPDATE photo_studies SET status = 'reported' WHERE county_code = ? AND id = ?`, st.County, id)
			case reading.KindFetal:
				id, _ := strconv.ParseInt(st.SourceKey, 10, 64)
				_, err = tx.exec(ctx, `UPDATE fetal_traces SET status = 'reported' WHERE county_code = ? AND id = ?`, st.County, id)
			}
			if err != nil {
				return wrap(op, err)
			}
		}
		id, err := tx.insert(ctx, `INSERT INTO reading_reports (county_code, study_id, resident_id, kind, parent_id, template, fields, normal, critical,
			critical_text, signed_by, signer_name, signed_at, seal) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.County, r.StudyID, r.ResidentID, r.Kind, r.ParentID, r.Template, string(fields), r.Normal, r.Critical,
			r.CriticalText, r.SignedBy, r.SignerName, s.ts(r.SignedAt), r.Seal)
		if err != nil {
			return wrap(op, err)
		}
		if err := s.queueInTx(ctx, tx, msgs); err != nil {
			return err
		}
		if err := s.appendAudit(ctx, tx, ev); err != nil {
			return err
		}
		r.ID = id
		if r.Kind == reading.ReportSigned {
			st.Version++
		}
		return nil
	})
}

const reportCols = `id, county_code, study_id, resident_id, kind, parent_id, template, fields, normal, critical, critical_text, signed_by, signer_name, signed_at, seal`

// reportDest is where a row of reportCols is scanned: the fields' JSON
// into fields.
func reportDest(rep *reading.Report, fields *string) []any {
	return []any{&rep.ID, &rep.County, &rep.StudyID, &rep.ResidentID, &rep.Kind, &rep.ParentID, &rep.Template, fields, &rep.Normal, &rep.Critical,
		&rep.CriticalText, &rep.SignedBy, &rep.SignerName, tsOf(&rep.SignedAt), &rep.Seal}
}

func scanReport(r scanner, rep *reading.Report) error {
	var fields string
	if err := r.Scan(reportDest(rep, &fields)...); err != nil {
		return err
	}
	return json.Unmarshal([]byte(fields), &rep.Fields)
}

// ReadingReports lists a study's report and addenda, oldest first.
func (s *Store) ReadingReports(ctx context.Context, county string, studyID int64) ([]reading.Report, error) {
	const op = "store.ReadingReports"
	rows, err := s.read().query(ctx, `SELECT `+reportCols+` FROM reading_reports WHERE county_code = ? AND study_id = ? ORDER BY id`, county, studyID)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []reading.Report
	for rows.Next() {
		var r reading.Report
		if err := scanReport(rows, &r); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, r)
	}
	return out, wrap(op, rows.Err())
}

// ReturnedReports lists a clinic's reported studies, newest report first,
// with the signed report and the critical mark.
func (s *Store) ReturnedReports(ctx context.Context, county string, clinicID int64, limit int) ([]reading.Study, error) {
	const op = "store.ReturnedReports"
	sts, err := s.readingList(ctx, op, `SELECT `+readingCols+`, r.name, i.name FROM reading_studies s JOIN residents r ON r.id = s.resident_id
		JOIN institutions i ON i.id = s.center_id
		WHERE s.county_code = ? AND s.clinic_id = ? AND s.status = 'reported' ORDER BY s.reported_at DESC, s.id DESC LIMIT ?`, county, clinicID, limit)
	if err != nil || len(sts) == 0 {
		return sts, err
	}
	if err := s.summarise(ctx, county, sts); err != nil {
		return nil, wrap(op, err)
	}
	return sts, nil
}

// summarise fills each study's signed Report and Critical from its reports.
func (s *Store) summarise(ctx context.Context, county string, sts []reading.Study) error {
	ids := make([]int64, len(sts))
	at := map[int64]*reading.Study{}
	for i := range sts {
		ids[i] = sts[i].ID
		at[sts[i].ID] = &sts[i]
	}
	rows, err := s.read().query(ctx, `SELECT `+reportCols+` FROM reading_reports WHERE county_code = ? AND study_id IN (`+placeholders(len(ids))+`) ORDER BY id`,
		append([]any{county}, int64Args(ids)...)...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var r reading.Report
		if err := scanReport(rows, &r); err != nil {
			return err
		}
		st := at[r.StudyID]
		if r.Kind == reading.ReportSigned {
			st.Report = &r
		}
		st.Critical = st.Critical || r.Critical
	}
	return rows.Err()
}

// ResidentReadings lists a resident's studies (newest first) with their reports.
func (s *Store) ResidentReadings(ctx context.Context, county string, residentID int64) ([]reading.Study, map[int64][]reading.Report, error) {
	const op = "store.ResidentReadings"
	sts, err := s.readingList(ctx, op, `SELECT `+readingCols+`, r.name, i.name FROM reading_studies s JOIN residents r ON r.id = s.resident_id
		JOIN institutions i ON i.id = s.center_id
		WHERE s.county_code = ? AND s.resident_id = ? ORDER BY s.uploaded_at DESC, s.id DESC LIMIT 100`, county, residentID)
	if err != nil {
		return nil, nil, err
	}
	reps := map[int64][]reading.Report{}
	rows, err := s.read().query(ctx, `SELECT `+reportCols+` FROM reading_reports WHERE county_code = ? AND resident_id = ? ORDER BY id`, county, residentID)
	if err != nil {
		return nil, nil, wrap(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		var r reading.Report
		if err := scanReport(rows, &r); err != nil {
			return nil, nil, wrap(op, err)
		}
		reps[r.StudyID] = append(reps[r.StudyID], r)
	}
	return sts, reps, wrap(op, rows.Err())
}

// DueReadings lists open studies due before now (a study is late only
// once its due time has passed), oldest due first.
func (s *Store) DueReadings(ctx context.Context, now time.Time, limit int) ([]reading.Study, error) {
	const op = "store.DueReadings"
	rows, err := s.read().query(ctx, `SELECT `+readingCols+` FROM reading_studies s WHERE s.status <> 'reported' AND s.due_at < ? ORDER BY s.due_at, s.id LIMIT ?`,
		s.ts(now), limit)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []reading.Study
	for rows.Next() {
		var st reading.Study
		if err := scanReading(rows, &st); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, st)
	}
	return out, wrap(op, rows.Err())
}

// EscalateReadings saves escalations in one transaction, skipping studies
// changed since they were read (claimed, reported or escalated meanwhile).
func (s *Store) EscalateReadings(ctx context.Context, es []reading.ReadingEscalation) (int, error) {
	const op = "store.EscalateReadings"
	n := 0
	err := s.Transact(ctx, func(tx db) error {
		n = 0
		var msgs []notify.Message
		var evs []audit.Event
		for _, e := range es {
			st := e.Study
			res, err := tx.exec(ctx, `UPDATE reading_studies SET due_at = ?, escalations = escalations + 1, breached_at = COALESCE(breached_at, ?), version = version + 1
				WHERE county_code = ? AND id = ? AND version = ? AND status <> 'reported'`, s.ts(st.DueAt), s.ts(e.Now), st.County, st.ID, st.Version)
			if err != nil {
				return wrap(op, err)
			}
			if k, _ := res.RowsAffected(); k != 1 {
				continue
			}
			st.Version++
			st.Escalations++
			if st.BreachedAt.IsZero() {
				st.BreachedAt = e.Now
			}
			msgs = append(msgs, e.Msgs...)
			evs = append(evs, e.Audit)
			n++
		}
		// Messages and audit rows of the whole batch at once: statements,
		// not rows, are what cost.
		if err := s.queueInTx(ctx, tx, msgs); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, evs...)
	})
	return n, err
}

// StaffAccount returns an enabled staff account with its practitioner's
// name and phone (ENOTFOUND).
func (s *Store) StaffAccount(ctx context.Context, accountID int64) (*reading.Reader, error) {
	var r reading.Reader
	var role string
	err := s.read().row(ctx, `SELECT a.id, p.name, a.role, COALESCE(a.institution_id, 0), p.phone FROM accounts a JOIN practitioners p ON p.id = a.practitioner_id
		WHERE a.id = ? AND a.disabled = ?`, accountID, false).Scan(&r.AccountID, &r.Name, &role, &r.InstitutionID, &r.Phone)
	if err != nil {
		return nil, wrap("store.StaffAccount", err)
	}
	r.Role = care.Role(role)
	return &r, nil
}

// CenterReaders lists the enabled reader accounts of a center by name.
func (s *Store) CenterReaders(ctx context.Context, centerID int64) ([]reading.Reader, error) {
	const op = "store.CenterReaders"
	rows, err := s.read().query(ctx, `SELECT a.id, p.name, a.role, a.institution_id, p.phone FROM accounts a JOIN practitioners p ON p.id = a.practitioner_id
		WHERE a.institution_id = ? AND a.role = ? AND a.disabled = ? ORDER BY p.name, a.id`, centerID, string(care.RoleReader), false)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []reading.Reader
	for rows.Next() {
		var r reading.Reader
		var role string
		if err := rows.Scan(&r.AccountID, &r.Name, &role, &r.InstitutionID, &r.Phone); err != nil {
			return nil, wrap(op, err)
		}
		r.Role = care.Role(role)
		out = append(out, r)
	}
	return out, wrap(op, rows.Err())
}

// CenterLeadPhones lists the phones of the heads of a center's departments.
func (s *Store) CenterLeadPhones(ctx context.Context, centerID int64) ([]string, error) {
	const op = "store.CenterLeadPhones"
	rows, err := s.read().query(ctx, `SELECT DISTINCT p.phone FROM departments d JOIN practitioners p ON p.id = d.head_id
		WHERE d.institution_id = ? AND p.phone <> '' ORDER BY p.phone`, centerID)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, p)
	}
	return out, wrap(op, rows.Err())
}

// ReadingStats lists the studies of a county uploaded in [from, to) (of
// one center, or all for 0) with the clinic, the signer and the report's
// normal mark.
func (s *Store) ReadingStats(ctx context.Context, county string, centerID int64, from, to time.Time) ([]reading.StatRow, error) {
	const op = "store.ReadingStats"
	q := `SELECT s.modality, i.name, s.reported_name, s.preread, s.report_normal, s.uploaded_at, s.reported_at
		FROM reading_studies s JOIN institutions i ON i.id = s.clinic_id
		WHERE s.county_code = ? AND s.uploaded_at >= ? AND s.uploaded_at < ?`
	args := []any{county, s.ts(from), s.ts(to)}
	if centerID != 0 {
		q += ` AND s.center_id = ?`
		args = append(args, centerID)
	}
	rows, err := s.read().query(ctx, q, args...)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []reading.StatRow
	for rows.Next() {
		var r reading.StatRow
		if err := rows.Scan(&r.Modality, &r.ClinicName, &r.ReaderName, &r.PreRead, &r.Normal, tsOf(&r.UploadedAt), tsOf(&r.ReportedAt)); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, r)
	}
	return out, wrap(op, rows.Err())
}
