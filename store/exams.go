package store

import (
	"context"
	"strings"

	"countycare/access"
	"countycare/audit"
	"countycare/critical"
	"countycare/notify"
	"countycare/reading"
)

// linkStudy adds a care link from the resident to the reading center
// unless a live one of the same kind exists.
func (s *Store) linkStudy(ctx context.Context, tx db, link *access.CareLink) error {
	if link == nil {
		return nil
	}
	link.CreatedAt = s.now()
	_, err := tx.exec(ctx, `INSERT INTO care_links (county_code, resident_id, institution_id, kind, reason, created_by, created_at)
		SELECT ?, ?, ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM care_links WHERE county_code = ? AND resident_id = ? AND institution_id = ?
		AND kind = ? AND expires_at IS NULL)`,
		link.CountyCode, link.ResidentID, link.InstitutionID, link.Kind, link.Reason, link.CreatedBy, s.ts(link.CreatedAt),
		link.CountyCode, link.ResidentID, link.InstitutionID, link.Kind)
	return wrap("store.linkStudy", err)
}

// SavePhotoStudy stores a photo, its reading workflow entry (modality
// FUNDUS or SKIN), the care link and the audit row in one transaction.
func (s *Store) SavePhotoStudy(ctx context.Context, p *reading.PhotoStudy, link *access.CareLink, ev audit.Event) error {
	const op = "store.SavePhotoStudy"
	return s.Transact(ctx, func(tx db) error {
		id, err := tx.insert(ctx, `INSERT INTO photo_studies (county_code, resident_id, clinic_id, ordered_by, center_id, kind, device, file_name,
			content_type, width, height, size, sha256, file, status, uploaded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			p.CountyCode, p.ResidentID, p.ClinicID, p.OrderedBy, p.CenterID, p.Kind, p.Device, p.FileName, p.ContentType, p.Width, p.Height,
			p.Size, p.SHA256, p.File, p.Status, s.ts(p.UploadedAt))
		if err != nil {
			return wrap(op, err)
		}
		p.ID = id
		if err := s.enterReading(ctx, tx, reading.PhotoEntry(p, s.readingTargets())); err != nil {
			return err
		}
		if err := s.linkStudy(ctx, tx, link); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

const photoCols = `id, county_code, resident_id, clinic_id, ordered_by, center_id, kind, device, file_name, content_type, width, height, size, sha256, status, uploaded_at`

func scanPhoto(sc interface{ Scan(...any) error }, p *reading.PhotoStudy, extra ...any) error {
	return sc.Scan(append([]any{&p.ID, &p.CountyCode, &p.ResidentID, &p.ClinicID, &p.OrderedBy, &p.CenterID, &p.Kind, &p.Device, &p.FileName,
		&p.ContentType, &p.Width, &p.Height, &p.Size, &p.SHA256, &p.Status, tsOf(&p.UploadedAt)}, extra...)...)
}

// PhotoStudies lists a resident's photos without their bytes, newest first.
func (s *Store) PhotoStudies(ctx context.Context, county string, residentID int64) ([]reading.PhotoStudy, error) {
	const op = "store.PhotoStudies"
	rows, err := s.read().query(ctx, `SELECT `+photoCols+` FROM photo_studies WHERE county_code = ? AND resident_id = ? ORDER BY uploaded_at DESC, id DESC`, county, residentID)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []reading.PhotoStudy
	for rows.Next() {
		var p reading.PhotoStudy
		if err := scanPhoto(rows, &p); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, p)
	}
	return out, wrap(op, rows.Err())
}

// PhotoStudy returns one photo of a county with its bytes (ENOTFOUND).
func (s *Store) PhotoStudy(ctx context.Context, county string, id int64) (*reading.PhotoStudy, error) {
	var p reading.PhotoStudy
	err := scanPhoto(s.read().row(ctx, `SELECT `+photoCols+`, file FROM photo_studies WHERE county_code = ? AND id = ?`, county, id), &p, &p.File)
	if err != nil {
		return nil, wrap("store.PhotoStudy", err)
	}
	return &p, nil
}

// SaveFetalStudy stores a trace with its analysis, its reading workflow
// entry (modality FHM, ordered by the trace's priority), the care link,
// its critical alert (if any, with the alert's messages) and the audit row
// in one transaction.
func (s *Store) SaveFetalStudy(ctx context.Context, f *reading.FetalStudy, link *access.CareLink, al *critical.Alert, msgs []notify.Message, ev audit.Event) error {
	const op = "store.SaveFetalStudy"
	return s.Transact(ctx, func(tx db) error {
		flags := make([]string, len(f.Flags))
		for i, x := range f.Flags {
			flags[i] = string(x)
		}
		id, err := tx.insert(ctx, `INSERT INTO fetal_traces (county_code, resident_id, clinic_id, ordered_by, center_id, device, file_name, csv,
			seconds, baseline, variability, flags, priority, status, uploaded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			f.CountyCode, f.ResidentID, f.ClinicID, f.OrderedBy, f.CenterID, f.Device, f.FileName, f.CSV, f.Seconds, f.Baseline, f.Variability,
			strings.Join(flags, ","), f.Priority, f.Status, s.ts(f.UploadedAt))
		if err != nil {
			return wrap(op, err)
		}
		f.ID = id
		if err := s.enterReading(ctx, tx, reading.FetalEntry(f, s.readingTargets())); err != nil {
			return err
		}
		if err := s.linkStudy(ctx, tx, link); err != nil {
			return err
		}
		if al != nil {
			al.SourceID = id
			if _, err := s.raiseInTx(ctx, tx, al, msgs); err != nil {
				return err
			}
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

const fetalCols = `f.id, f.county_code, f.resident_id, f.clinic_id, f.ordered_by, f.center_id, f.device, f.file_name, f.seconds, f.baseline,
	f.variability, f.flags, f.priority, f.status, f.uploaded_at, COALESCE(a.id, 0)`

func scanFetal(sc interface{ Scan(...any) error }, f *reading.FetalStudy, extra ...any) error {
	var flags string
	err := sc.Scan(append([]any{&f.ID, &f.CountyCode, &f.ResidentID, &f.ClinicID, &f.OrderedBy, &f.CenterID, &f.Device, &f.FileName, &f.Seconds,
		&f.Baseline, &f.Variability, &flags, &f.Priority, &f.Status, tsOf(&f.UploadedAt), &f.AlertID}, extra...)...)
	if flags != "" {
		for _, x := range strings.Split(flags, ",") {
			f.Flags = append(f.Flags, reading.FetalFlag(x))
		}
	}
	return err
}

const fetalFrom = ` FROM fetal_traces f LEFT JOIN critical_alerts a ON a.county_code = f.county_code AND a.source_kind = '` + critical.SourceFetal + `' AND a.source_id = f.id`

// FetalStudies lists a resident's traces without their CSV, newest first.
func (s *Store) FetalStudies(ctx context.Context, county string, residentID int64) ([]reading.FetalStudy, error) {
	const op = "store.FetalStudies"
	rows, err := s.read().query(ctx, `SELECT `+fetalCols+fetalFrom+` WHERE f.county_code = ? AND f.resident_id = ? ORDER BY f.uploaded_at DESC, f.id DESC`, county, residentID)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []reading.FetalStudy
	for rows.Next() {
		var f reading.FetalStudy
		if err := scanFetal(rows, &f); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, f)
	}
	return out, wrap(op, rows.Err())
}

// FetalStudy returns one trace of a county with its CSV (ENOTFOUND).
func (s *Store) FetalStudy(ctx context.Context, county string, id int64) (*reading.FetalStudy, error) {
	var f reading.FetalStudy
	if err := scanFetal(s.read().row(ctx, `SELECT `+fetalCols+`, f.csv`+fetalFrom+` WHERE f.county_code = ? AND f.id = ?`, county, id), &f, &f.CSV); err != nil {
		return nil, wrap("store.FetalStudy", err)
	}
	return &f, nil
}
