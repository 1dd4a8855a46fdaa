// Package reading is primary-level exam, county-level diagnosis
// (基层检查、上级诊断): a village or township doctor sends a resident's exam
// to a county diagnosis center, where a reader works through a worklist.
// This increment handles ECGs: upload (WFDB, CSV, DICOM waveform, SCP-ECG
// or HL7 aECG) with the automatic
// pre-read stored, and the reader's worklist sorted by the pre-read
// (abnormal first) and then by waiting time. Reports, claims and
// turnaround targets are later increments of issue #5.
package reading

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"countycare/access"
	"countycare/audit"
	"countycare/care"
	"countycare/ecg"
	"countycare/org"
	"countycare/resident"
)

// MaxECGBytes bounds an uploaded ECG (header and signal together): a 24 h
// two-lead Holter at 360 Hz in format 212 is about 93 MB, a resting ECG
// well under 1 MB; 128 MiB leaves room for 12-lead Holter at 250 Hz.
const MaxECGBytes = 128 << 20

// Study statuses.
const (
	StatusWaiting = "waiting" // in the worklist, not yet read
)

// Audit actions.
const (
	ActECGUpload   = "reading.ecg_upload"
	ActECGWorklist = "reading.ecg_worklist"
)

// ECG file formats of an upload (and FormatDICOM, FormatAECG, FormatSCP
// of ecgformats.go).
const (
	FormatWFDB = "wfdb"
	FormatCSV  = "csv"
)

// ECGStudy is an ECG sent for reading (心电检查) with its pre-read.
type ECGStudy struct {
	ID         int64
	CountyCode string
	ResidentID int64
	ClinicID   int64 // the ordering institution
	OrderedBy  int64 // account of the ordering doctor
	CenterID   int64 // the diagnosis center that reads it
	Format     string
	FileName   string // the uploaded header or CSV name
	Header     []byte // WFDB header text (empty for CSV)
	Signal     []byte // WFDB signal file or the CSV
	Fs         float64
	Leads      int
	Seconds    float64
	PreRead    PreRead
	Status     string
	UploadedAt time.Time
	Urgent     bool // marked urgent by the ordering clinic (read first)
	// Intervals are the 12-lead measurements of the pre-read, made when
	// the study is read from its file (upload, viewer); not stored.
	Intervals *ecg.Intervals
}

// PreRead is the stored summary of ecg.PreReadResult.
type PreRead struct {
	HeartRate float64 // bpm
	Findings  []ecg.Finding
	Priority  int
	Premature int
	Pauses    int
	Irregular bool
}

// Abnormal reports whether the pre-read found anything.
func (p PreRead) Abnormal() bool { return len(p.Findings) > 0 }

// WorklistItem is one row of a diagnosis center's worklist.
type WorklistItem struct {
	StudyID      int64
	ResidentID   int64
	ResidentName string
	ClinicName   string
	PreRead      PreRead
	UploadedAt   time.Time
}

// ECGUpload is what a doctor sends: a WFDB header and its signal file, or
// one file (Signal, with Header empty) in whichever format the machine
// writes: DICOM waveform, SCP-ECG, HL7 aECG XML or a CSV export.
type ECGUpload struct {
	CenterID   int64
	HeaderName string
	Header     []byte
	SignalName string
	Signal     []byte
	Urgent     bool // the clinic asks for an urgent read
}

// Repository is the storage reading needs; store.Store implements it.
type Repository interface {
	// SaveECGStudy stores a study, its reading workflow entry (due at the
	// ECG turnaround target), a care link from the resident to the
	// reading center, and the audit row, in one transaction.
	SaveECGStudy(ctx context.Context, s *ECGStudy, link *access.CareLink, ev audit.Event) error
	// ECGWorklist lists a center's waiting studies of a county: highest
	// pre-read priority first, then the longest waiting.
	ECGWorklist(ctx context.Context, county string, centerID int64, limit int) ([]WorklistItem, error)
}

// Service sends ECGs for reading and lists them for readers.
type Service struct {
	Repo      Repository
	Residents *resident.Service
	Orgs      interface {
		Tree(ctx context.Context) (*org.Tree, error)
	}
	Audit   audit.Recorder
	PreRead ecg.PreReadConfig
	Now     func() time.Time
}

// UploadECG reads an ECG for a resident in a's scope, pre-reads it and sends
// it to a diagnosis center of the resident's county. Errors: ENOTFOUND (no
// such resident in scope), EINVALID (not a diagnosis center of the county;
// a file that cannot be read, with the parser's fault as the argument),
// ETOOLARGE.
func (s *Service) UploadECG(ctx context.Context, a care.Actor, residentID int64, up ECGUpload) (*ECGStudy, error) {
	res, center, err := s.PrecheckECG(ctx, a, residentID, up, int64(len(up.Header))+int64(len(up.Signal)))
	if err != nil {
		return nil, err
	}
	st := &ECGStudy{
		CountyCode: res.CountyCode, ResidentID: res.ID, ClinicID: a.InstitutionID, OrderedBy: a.AccountID,
		CenterID: center.ID, Status: StatusWaiting, UploadedAt: s.Now().UTC(), Urgent: up.Urgent,
	}
	var rec *ecg.Record
	if len(up.Header) > 0 {
		st.Format, st.FileName, st.Header, st.Signal = FormatWFDB, care.SafeFileName(up.HeaderName), up.Header, up.Signal
		rec, err = readWFDB(up)
	} else {
		// One file: DICOM waveform, SCP-ECG, aECG XML or a CSV export,
		// told apart by its content.
		st.Format, st.FileName, st.Signal = DetectECGFormat(up.Signal), care.SafeFileName(up.SignalName), up.Signal
		rec, err = readOneFileECG(st.Format, up.Signal)
	}
	if err != nil {
		field := "signal"
		if st.Format == FormatWFDB {
			field = "header" // the header declares the leads, rate and length
		}
		return nil, ecgLimitError(err, field)
	}
	if len(rec.Leads) == 0 {
		return nil, ecgLimitError(fmt.Errorf("%w: the file holds no leads", ecg.ErrFormat), "signal")
	}
	st.Fs, st.Leads, st.Seconds = rec.Fs, len(rec.Leads), rec.Duration()
	pr := s.PreRead.PreReadRecord(rec)
	st.Intervals = pr.Intervals
	st.PreRead = PreRead{HeartRate: pr.HeartRate, Findings: pr.Findings, Priority: pr.Priority, Premature: pr.Premature, Pauses: len(pr.Pauses), Irregular: pr.Irregular}
	link := &access.CareLink{CountyCode: res.CountyCode, ResidentID: res.ID, InstitutionID: center.ID, Kind: access.LinkStudy,
		Reason: "ECG", CreatedBy: a.AccountID}
	ev := audit.New(ctx, a, ActECGUpload, res.ID)
	ev.CountyCode = res.CountyCode
	ev.Detail = fmt.Sprintf("center=%d format=%s preread=%s", center.ID, st.Format, st.PreRead.summary())
	if err := s.Repo.SaveECGStudy(ctx, st, link, ev); err != nil {
		return nil, err
	}
	return st, nil
}

// PrecheckECG checks what UploadECG checks before it reads the signal:
// the resident in a's scope, size bytes (header and signal) within
// MaxECGBytes, up.CenterID a diagnosis center of the resident's county,
// and a WFDB header (when up has one) that parses. A resumable upload
// (package upload) calls it at creation, before any byte of the signal is
// sent. Errors: ENOTFOUND (no such resident in scope), ETOOLARGE, EINVALID
// (center_id; the header's fault).
func (s *Service) PrecheckECG(ctx context.Context, a care.Actor, residentID int64, up ECGUpload, size int64) (*resident.Resident, *org.Institution, error) {
	res, err := s.Residents.Get(ctx, a, residentID)
	if err != nil {
		return nil, nil, err
	}
	if size > MaxECGBytes {
		return nil, nil, care.Errorf(care.ETOOLARGE, "reading.ecg_too_large", MaxECGBytes>>20)
	}
	center, err := diagnosisCenter(ctx, s.Orgs, res, up.CenterID)
	if err != nil {
		return nil, nil, err
	}
	if len(up.Header) > 0 {
		if _, err := ecg.ParseHeader(bytes.NewReader(up.Header)); err != nil {
			return nil, nil, ecgLimitError(err, "header")
		}
	}
	return res, center, nil
}

// diagnosisCenter returns centerID when it is a diagnosis center of the
// resident's county; otherwise EINVALID on center_id.
func diagnosisCenter(ctx context.Context, orgs interface {
	Tree(ctx context.Context) (*org.Tree, error)
}, res *resident.Resident, centerID int64) (*org.Institution, error) {
	tree, err := orgs.Tree(ctx)
	if err != nil {
		return nil, err
	}
	center := tree.Get(centerID)
	if center == nil || center.Kind != org.KindDiagnosis || center.CountyCode != res.CountyCode {
		return nil, &care.Error{Code: care.EINVALID, Key: "reading.center_invalid", Fields: []care.FieldError{{Field: "center_id", Key: "reading.center_invalid"}}}
	}
	return center, nil
}

// ecgLimitError turns a parser's error into the service's: a record over
// ecg's limits (leads, duration, samples; docs/ecg.md "Limits") is
// ETOOLARGE naming field and the limit, other malformed input EINVALID
// with the parser's fault.
func ecgLimitError(err error, field string) error {
	var le *ecg.LimitError
	if errors.As(err, &le) {
		return &care.Error{Code: care.ETOOLARGE, Key: "reading.ecg_limit." + string(le.Limit), Args: []any{int64(le.Got), int64(le.Max)},
			Fields: []care.FieldError{{Field: field, Key: "reading.ecg_limit_field"}}, Err: err}
	}
	if errors.Is(err, ecg.ErrFormat) {
		return &care.Error{Code: care.EINVALID, Key: "reading.ecg_unreadable", Args: []any{strings.TrimPrefix(err.Error(), ecg.ErrFormat.Error()+": ")}, Err: err}
	}
	return err
}

func (p PreRead) summary() string {
	if !p.Abnormal() {
		return "normal"
	}
	f := make([]string, len(p.Findings))
	for i, x := range p.Findings {
		f[i] = string(x)
	}
	return strings.Join(f, ",")
}

// readWFDB reads an uploaded header and its one signal file.
func readWFDB(up ECGUpload) (*ecg.Record, error) {
	h, err := ecg.ParseHeader(bytes.NewReader(up.Header))
	if err != nil {
		return nil, err
	}
	if len(h.Signals) == 0 {
		return nil, fmt.Errorf("%w: the header declares no signals", ecg.ErrFormat)
	}
	return ecg.ReadRecord(h, func(file string) (io.Reader, error) {
		if file != h.Signals[0].File {
			return nil, fmt.Errorf("%w: the header names a second signal file %s; upload records whose signals are in one file", ecg.ErrFormat, file)
		}
		return bytes.NewReader(up.Signal), nil
	})
}

// ECGWorklist lists the waiting ECGs of the reader's diagnosis center,
// abnormal pre-reads first, then by waiting time. The listing is audited.
// Errors: EFORBIDDEN for a role other than reader.
func (s *Service) ECGWorklist(ctx context.Context, a care.Actor, limit int) ([]WorklistItem, error) {
	ev := audit.New(ctx, a, ActECGWorklist, 0)
	if a.Role != care.RoleReader {
		ev.Outcome = audit.OutcomeDenied
		s.Audit.Record(ctx, ev)
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	if limit <= 0 || limit > 500 {
		limit = 200
	}
	items, err := s.Repo.ECGWorklist(ctx, a.CountyCode, a.InstitutionID, limit)
	ev.Detail = fmt.Sprintf("rows=%d", len(items))
	if err != nil {
		ev.Outcome = audit.OutcomeFailed
	}
	s.Audit.Record(ctx, ev)
	return items, err
}
