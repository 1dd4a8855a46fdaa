package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"

	"countycare/ecg"
	"countycare/reading"
)

// BlobHash is the key a sample is stored under in blobs: the lowercase
// hex SHA-256 of its bytes.
func BlobHash(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// ecgStudyCols are the columns of an ECG study without its signal.
const ecgStudyCols = `e.id, e.county_code, e.resident_id, e.clinic_id, e.ordered_by, e.center_id, e.format, e.file_name, e.fs, e.leads, e.seconds,
	e.heart_rate, e.findings, e.priority, e.premature, e.pauses, e.irregular, e.status, e.uploaded_at`

func scanECGStudy(sc interface{ Scan(...any) error }, st *reading.ECGStudy, extra ...any) error {
	var findings string
	p := &st.PreRead
	err := sc.Scan(append([]any{&st.ID, &st.CountyCode, &st.ResidentID, &st.ClinicID, &st.OrderedBy, &st.CenterID, &st.Format, &st.FileName,
		&st.Fs, &st.Leads, &st.Seconds, &p.HeartRate, &findings, &p.Priority, &p.Premature, &p.Pauses, &p.Irregular, &st.Status,
		tsOf(&st.UploadedAt)}, extra...)...)
	if err == nil && findings != "" {
		for _, f := range strings.Split(findings, ",") {
			p.Findings = append(p.Findings, ecg.Finding(f))
		}
	}
	return err
}

// ECGStudy returns one ECG study of a county with its header and signal,
// the signal read from blobs when the study refers to one (ENOTFOUND if
// there is no such study).
func (s *Store) ECGStudy(ctx context.Context, county string, id int64) (*reading.ECGStudy, error) {
	const op = "store.ECGStudy"
	st := &reading.ECGStudy{}
	err := scanECGStudy(s.read().row(ctx, `SELECT `+ecgStudyCols+`, e.header, CASE WHEN e.signal_hash = '' THEN e.signal ELSE b.data END
		FROM ecg_studies e LEFT JOIN blobs b ON b.county_code = e.county_code AND b.sha256 = e.signal_hash
		WHERE e.county_code = ? AND e.id = ?`, county, id), st, &st.Header, &st.Signal)
	if err != nil {
		return nil, wrap(op, err)
	}
	return st, nil
}

// ECGStudies lists a resident's ECG studies without their signals, newest first.
func (s *Store) ECGStudies(ctx context.Context, county string, residentID int64) ([]reading.ECGStudy, error) {
	const op = "store.ECGStudies"
	rows, err := s.read().query(ctx, `SELECT `+ecgStudyCols+` FROM ecg_studies e WHERE e.county_code = ? AND e.resident_id = ?
		ORDER BY e.uploaded_at DESC, e.id DESC LIMIT 200`, county, residentID)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []reading.ECGStudy
	for rows.Next() {
		var st reading.ECGStudy
		if err := scanECGStudy(rows, &st); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, st)
	}
	return out, wrap(op, rows.Err())
}

// imagingCols are the columns of an instance without its file.
const imagingCols = `id, county_code, resident_id, clinic_id, ordered_by, center_id, file_name, study_uid, series_uid, sop_uid,
	modality, study_date, accession, file_patient_name, file_patient_id, mismatch, transfer_syntax, rows_n, columns_n, frames, no_preview,
	status, uploaded_at`

func scanImaging(sc interface{ Scan(...any) error }, in *reading.ImagingInstance) error {
	return sc.Scan(&in.ID, &in.CountyCode, &in.ResidentID, &in.ClinicID, &in.OrderedBy, &in.CenterID, &in.FileName, &in.StudyUID,
		&in.SeriesUID, &in.SOPUID, &in.Modality, &in.StudyDate, &in.Accession, &in.FilePatientName, &in.FilePatientID, &in.Mismatch,
		&in.TransferSyntax, &in.Rows, &in.Columns, &in.Frames, &in.NoPreview, &in.Status, tsOf(&in.UploadedAt))
}

// ImagingInstance returns one instance of a county without its file bytes
// (ENOTFOUND if none).
func (s *Store) ImagingInstance(ctx context.Context, county string, id int64) (*reading.ImagingInstance, error) {
	const op = "store.ImagingInstance"
	in := &reading.ImagingInstance{}
	if err := scanImaging(s.read().row(ctx, `SELECT `+imagingCols+` FROM imaging_instances WHERE county_code = ? AND id = ?`, county, id), in); err != nil {
		return nil, wrap(op, err)
	}
	return in, nil
}

// ImagingStudyInstances lists the instances of one study of a resident,
// in upload order, without their files.
func (s *Store) ImagingStudyInstances(ctx context.Context, county string, residentID int64, studyUID string) ([]reading.ImagingInstance, error) {
	const op = "store.ImagingStudyInstances"
	rows, err := s.read().query(ctx, `SELECT `+imagingCols+` FROM imaging_instances WHERE county_code = ? AND study_uid = ? AND resident_id = ?
		ORDER BY uploaded_at, id LIMIT 500`, county, studyUID, residentID)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []reading.ImagingInstance
	for rows.Next() {
		var in reading.ImagingInstance
		if err := scanImaging(rows, &in); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, in)
	}
	return out, wrap(op, rows.Err())
}

// PreviousImagingStudies lists the resident's studies of in's modality
// before in's (by study date, then upload time), newest first, up to
// limit, each by its first instance.
func (s *Store) PreviousImagingStudies(ctx context.Context, in *reading.ImagingInstance, limit int) ([]reading.ImagingInstance, error) {
	const op = "store.PreviousImagingStudies"
	rows, err := s.read().query(ctx, `SELECT `+imagingCols+` FROM imaging_instances WHERE id IN (
		SELECT MIN(id) FROM imaging_instances
		WHERE county_code = ? AND resident_id = ? AND modality = ? AND study_uid <> ? AND (study_date < ? OR (study_date = ? AND uploaded_at < ?))
		GROUP BY study_uid)
		ORDER BY study_date DESC, uploaded_at DESC, id LIMIT ?`,
		in.CountyCode, in.ResidentID, in.Modality, in.StudyUID, in.StudyDate, in.StudyDate, s.ts(in.UploadedAt), limit)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []reading.ImagingInstance
	for rows.Next() {
		var c reading.ImagingInstance
		if err := scanImaging(rows, &c); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, c)
	}
	return out, wrap(op, rows.Err())
}

// ImagingFileHash returns the bytes of one instance of a county with the
// key they are cached under: the blob hash, or "id:N" for an instance
// stored inline (ENOTFOUND if none).
func (s *Store) ImagingFileHash(ctx context.Context, county string, id int64) ([]byte, string, error) {
	const op = "store.ImagingFileHash"
	var b []byte
	var h string
	err := s.read().row(ctx, `SELECT CASE WHEN i.file_hash = '' THEN i.file ELSE b.data END, i.file_hash
		FROM imaging_instances i LEFT JOIN blobs b ON b.county_code = i.county_code AND b.sha256 = i.file_hash
		WHERE i.county_code = ? AND i.id = ?`, county, id).Scan(&b, &h)
	return b, h, wrap(op, err)
}

// Blob loads one sample into the blobs table (hash = BlobHash(data)) with
// its media type.
func (b *Bulk) Blob(county, hash, typ string, data []byte, at time.Time) error {
	return b.add("blobs", county, hash, typ, len(data), data, b.tsv(at))
}

// ECGStudy loads one ECG study whose signal is the blob signalHash (its
// own signal column is left empty).
func (b *Bulk) ECGStudy(st *reading.ECGStudy, signalHash string) error {
	findings := make([]string, len(st.PreRead.Findings))
	for i, f := range st.PreRead.Findings {
		findings[i] = string(f)
	}
	p := st.PreRead
	return b.add("ecg_studies", st.ID, st.CountyCode, st.ResidentID, st.ClinicID, st.OrderedBy, st.CenterID, st.Format, st.FileName,
		st.Header, []byte{}, st.Fs, st.Leads, st.Seconds, p.HeartRate, strings.Join(findings, ","), p.Priority, p.Premature, p.Pauses, p.Irregular,
		st.Status, b.tsv(st.UploadedAt), signalHash)
}

// ImagingInstance loads one DICOM instance whose file is the blob fileHash
// (its own file column is left empty; size is the blob's).
func (b *Bulk) ImagingInstance(in *reading.ImagingInstance, fileHash string, size int) error {
	return b.add("imaging_instances", in.ID, in.CountyCode, in.ResidentID, in.ClinicID, in.OrderedBy, in.CenterID, in.FileName,
		in.StudyUID, in.SeriesUID, in.SOPUID, in.Modality, in.StudyDate, in.Accession, in.FilePatientName, in.FilePatientID, in.Mismatch,
		in.TransferSyntax, in.Rows, in.Columns, in.Frames, in.NoPreview, size, []byte{}, in.Status, b.tsv(in.UploadedAt), fileHash,
		in.SOPClassUID, in.SeriesNumber, in.SeriesDescription, in.InstanceNumber, in.DeviceID)
}

// ImagingStudy loads the study row (imaging_studies, for QIDO-RS) of a
// study made of the one instance in, with the given ID: the study-level
// attributes and patient name keys as fileStudy files them, one series,
// one instance. A study of several instances is an error at commit
// (study_uid is unique per county).
func (b *Bulk) ImagingStudy(id int64, in *reading.ImagingInstance) error {
	alpha, ideo := reading.NameGroups(in.FilePatientName)
	mods := ""
	if m := strings.TrimSpace(in.Modality); m != "" {
		mods = "," + m + ","
	}
	return b.add("imaging_studies", id, in.CountyCode, in.StudyUID, in.ResidentID, in.ClinicID, in.CenterID, strings.TrimRight(in.FilePatientName, "="),
		reading.NameKey(in.FilePatientName), alpha, ideo, in.FilePatientID, in.BirthDate, in.Sex, in.StudyDate, in.StudyTime, in.Accession, in.StudyID,
		in.StudyDescription, in.Referring, mods, 1, 1, b.tsv(in.UploadedAt))
}

// ReadingStudy loads one reading workflow entry (ID and state set, as
// reading.ECGEntry or reading.ImagingEntry made it and the workflow moved
// it on) and, for a reported study, its signed report rep (ID set, sealed
// with reading.ReportSeal; nil for an open study). The entry keeps the
// signer and the conclusion for the indicators, as SaveReadingReport does.
func (b *Bulk) ReadingStudy(st *reading.Study, rep *reading.Report) error {
	findings := make([]string, len(st.Findings))
	for i, f := range st.Findings {
		findings[i] = string(f)
	}
	var name string
	var normal bool
	if rep != nil {
		name, normal = rep.SignerName, rep.Normal
	}
	if err := b.add("reading_studies", st.ID, st.County, st.Kind, st.SourceKey, st.Modality, st.ResidentID, st.ClinicID, st.OrderedBy, st.CenterID,
		st.Urgent, st.Priority, st.PreRead, strings.Join(findings, ","), st.HeartRate, st.Status, st.ClaimedBy, st.ClaimedName, b.tsv(st.ClaimedAt),
		b.tsv(st.UploadedAt), b.tsv(st.DueAt), st.Escalations, b.tsv(st.BreachedAt), b.tsv(st.ReportedAt), st.ReportedBy, name, normal, st.Version); err != nil {
		return err
	}
	if rep == nil {
		return nil
	}
	fields, err := json.Marshal(rep.Fields)
	if err != nil {
		return err
	}
	return b.add("reading_reports", rep.ID, rep.County, rep.StudyID, rep.ResidentID, rep.Kind, rep.ParentID, rep.Template, string(fields), rep.Normal,
		rep.Critical, rep.CriticalText, rep.SignedBy, rep.SignerName, b.tsv(rep.SignedAt), rep.Seal)
}
