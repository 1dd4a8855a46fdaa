// Package upload keeps resumable uploads (断点续传) of exam files — ECG
// recordings, Holter recordings of tens of megabytes, DICOM instances —
// whose bytes arrive over several requests on a link that drops: the
// state behind web's tus 1.0 endpoint (docs/ecg.md "Resumable uploads").
//
// An upload is created with what it is for (kind, resident, diagnosis
// center, file name, declared length) and checked then against the rules
// the one-shot upload applies before it reads a file (reading.PrecheckECG,
// reading.PrecheckDICOM), so a mismatch is refused before any byte is
// sent. It belongs to the account that created it: to anyone else it does
// not exist. Its bytes are stored through the Repository in pieces of at
// most Config.PieceBytes, each committed as it arrives, so a cut
// connection loses at most one piece and any replica can continue the
// upload. Once complete it is handed to the one-shot import path
// (reading.Service.UploadECG, reading.ImagingService.UploadDICOM) with the
// same validation, scope and audit; a refused file is refused with the
// same errors and nothing is stored for it. An upload expires
// Config.Expiry after its last write and Sweep deletes it.
package upload

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"path"
	"strings"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/org"
	"countycare/reading"
	"countycare/resident"
)

// Kind is what an upload becomes once complete.
type Kind string

// Kinds of upload.
const (
	KindECG   Kind = "ecg"   // an ECG signal (WFDB .dat with its header in the metadata, or a CSV export)
	KindDICOM Kind = "dicom" // one DICOM Part 10 instance
)

// States of an upload.
const (
	StateReceiving = "receiving" // bytes are arriving
	StateImporting = "importing" // complete, being handed to the import path
	StateDone      = "done"      // imported: ResultID names what it became
)

// Audit actions.
const (
	ActCreate    = "upload.create"
	ActWrite     = "upload.write"
	ActTerminate = "upload.terminate"
)

// HeadBytes is how much of a DICOM file is checked for its patient before
// the rest is sent (the page's first chunk is this size): the patient
// module comes before the pixel data, in the first kilobytes.
const HeadBytes = 64 << 10

// MaxHeaderBytes bounds a WFDB header sent in an ECG upload's metadata (a
// 12-lead header is under 1 KiB).
const MaxHeaderBytes = 16 << 10

// Upload is one resumable upload.
type Upload struct {
	ID              string // 32 hex digits, random: the upload's URL
	AccountID       int64  // the account that created it, the only one that sees it
	InstitutionID   int64
	CountyCode      string
	ResidentID      int64
	Kind            Kind
	CenterID        int64  // the diagnosis center the file goes to
	FileName        string // the signal or DICOM file's name
	HeaderName      string // ECG in WFDB: the header's name
	Header          []byte // ECG in WFDB: the header (small: sent at creation)
	Urgent          bool
	ConfirmMismatch bool  // DICOM: the uploader confirmed a file of another patient
	Length          int64 // declared size in bytes (Upload-Length)
	Offset          int64 // bytes received so far
	State           string
	ResultID        int64 // the ECG study or imaging instance, once done
	CreatedAt       time.Time
	ExpiresAt       time.Time
}

// Complete reports whether every declared byte has arrived.
func (u *Upload) Complete() bool { return u.Offset == u.Length }

// Repository stores uploads; store.Store implements it.
type Repository interface {
	// CreateUpload stores a new upload in state receiving with its audit row.
	CreateUpload(ctx context.Context, u *Upload, ev audit.Event) error
	// Upload returns an upload by ID. Errors: ENOTFOUND.
	Upload(ctx context.Context, id string) (*Upload, error)
	// AppendUpload stores data at offset and moves the upload's offset past
	// it and its expiry to expires, in one transaction, if the upload is
	// receiving and has exactly offset bytes. Errors: ECONFLICT otherwise
	// (another request wrote first), ENOTFOUND.
	AppendUpload(ctx context.Context, id string, offset int64, data []byte, expires time.Time) error
	// UploadBytes returns the bytes received, in order.
	UploadBytes(ctx context.Context, id string) ([]byte, error)
	// UploadPrefix returns at least the first n bytes received (all of
	// them if fewer), whole pieces.
	UploadPrefix(ctx context.Context, id string, n int) ([]byte, error)
	// SetUploadState moves an upload from state from to state to.
	// Errors: ECONFLICT when it is not in from.
	SetUploadState(ctx context.Context, id, from, to string) error
	// FinishUpload marks an importing upload done with what it became and
	// deletes its bytes.
	FinishUpload(ctx context.Context, id string, resultID int64) error
	// DeleteUpload deletes an upload and its bytes, with its audit row.
	DeleteUpload(ctx context.Context, id string, ev audit.Event) error
	// DeleteExpiredUploads deletes the uploads that expired before now
	// (one being imported an hour later) and returns how many.
	DeleteExpiredUploads(ctx context.Context, now time.Time) (int64, error)
}

// ECGImporter is the ECG import path (reading.Service).
type ECGImporter interface {
	PrecheckECG(ctx context.Context, a care.Actor, residentID int64, up reading.ECGUpload, size int64) (*resident.Resident, *org.Institution, error)
	UploadECG(ctx context.Context, a care.Actor, residentID int64, up reading.ECGUpload) (*reading.ECGStudy, error)
}

// DICOMImporter is the DICOM import path (reading.ImagingService).
type DICOMImporter interface {
	PrecheckDICOM(ctx context.Context, a care.Actor, residentID, centerID, size int64) (*resident.Resident, *org.Institution, error)
	PrecheckDICOMPatient(ctx context.Context, a care.Actor, residentID int64, prefix []byte, confirm bool) error
	UploadDICOM(ctx context.Context, a care.Actor, residentID int64, up reading.DICOMUpload) (*reading.ImagingInstance, error)
}

// Config is the uploads' configuration (serve --upload-expiry).
type Config struct {
	// Expiry is how long an upload lives after its last write; then it is
	// refused and deleted.
	Expiry time.Duration
	// PieceBytes is the most a cut connection loses: a request's body is
	// committed in pieces of this size as it arrives.
	PieceBytes int
	// ChecksumMaxBytes bounds a request that carries Upload-Checksum: its
	// body is held until the checksum is verified (nothing of a mismatching
	// body is stored).
	ChecksumMaxBytes int64
}

// DefaultConfig: a day to resume, 1 MiB pieces, 16 MiB checksummed chunks.
func DefaultConfig() Config {
	return Config{Expiry: 24 * time.Hour, PieceBytes: 1 << 20, ChecksumMaxBytes: 16 << 20}
}

// Validate refuses a configuration that cannot work.
func (c Config) Validate() error {
	if c.Expiry < time.Minute {
		return fmt.Errorf("upload: expiry %s is shorter than a minute", c.Expiry)
	}
	if c.PieceBytes < 1<<10 || c.ChecksumMaxBytes < int64(c.PieceBytes) {
		return fmt.Errorf("upload: pieces of %d bytes and checksummed chunks of %d bytes: want pieces of at least 1 KiB, chunks no smaller than a piece", c.PieceBytes, c.ChecksumMaxBytes)
	}
	return nil
}

// MaxLength is the largest upload of any kind (tus Tus-Max-Size).
func MaxLength() int64 { return max(int64(reading.MaxECGBytes), int64(reading.MaxDICOMBytes)) }

// Service creates, receives, completes and ends uploads.
type Service struct {
	Repo   Repository
	ECG    ECGImporter
	DICOM  DICOMImporter
	Audit  audit.Recorder
	Config Config
	Now    func() time.Time
}

// Create checks a new upload and stores it for a: the kind, the file's
// type by its name, the declared length (at least one byte, within the
// kind's limit), the WFDB header if any, the resident in a's scope and the
// diagnosis center — the import path's own first checks. u's ID, owner,
// county, state and times are set. Errors: EINVALID with the fields at
// fault, ETOOLARGE, ENOTFOUND (no such resident in scope).
func (s *Service) Create(ctx context.Context, a care.Actor, u *Upload) error {
	var fs []care.FieldError
	u.FileName = strings.TrimSpace(u.FileName)
	switch u.Kind {
	case KindECG:
		switch {
		case u.FileName == "":
			fs = append(fs, care.FieldError{Field: "filename", Key: "field.required"})
		case !hasExt(u.FileName, ".dat", ".csv", ".txt"):
			fs = append(fs, care.FieldError{Field: "filename", Key: "upload.file_type", Args: []any{".dat .csv .txt"}})
		}
		if len(u.Header) > 0 && !hasExt(u.HeaderName, ".hea") {
			fs = append(fs, care.FieldError{Field: "header_name", Key: "upload.file_type", Args: []any{".hea"}})
		}
		if len(u.Header) > MaxHeaderBytes {
			return &care.Error{Code: care.ETOOLARGE, Key: "upload.header_too_large", Args: []any{MaxHeaderBytes >> 10},
				Fields: []care.FieldError{{Field: "header", Key: "upload.header_too_large", Args: []any{MaxHeaderBytes >> 10}}}}
		}
	case KindDICOM:
		// DICOM files from modalities often have no extension at all.
		if u.FileName == "" {
			fs = append(fs, care.FieldError{Field: "filename", Key: "field.required"})
		} else if path.Ext(u.FileName) != "" && !hasExt(u.FileName, ".dcm", ".dicom", ".dic") {
			fs = append(fs, care.FieldError{Field: "filename", Key: "upload.file_type", Args: []any{".dcm"}})
		}
	default:
		fs = append(fs, care.FieldError{Field: "kind", Key: "upload.kind_invalid"})
	}
	if u.Length < 1 {
		fs = append(fs, care.FieldError{Field: "length", Key: "upload.length_invalid"})
	}
	if u.ResidentID <= 0 {
		fs = append(fs, care.FieldError{Field: "resident_id", Key: "field.required"})
	}
	if u.CenterID <= 0 {
		fs = append(fs, care.FieldError{Field: "center_id", Key: "field.required"})
	}
	if err := care.Invalid(fs); err != nil {
		return err
	}
	var res *resident.Resident
	var err error
	if u.Kind == KindECG {
		res, _, err = s.ECG.PrecheckECG(ctx, a, u.ResidentID, reading.ECGUpload{CenterID: u.CenterID, HeaderName: u.HeaderName, Header: u.Header,
			SignalName: u.FileName, Urgent: u.Urgent}, int64(len(u.Header))+u.Length)
	} else {
		res, _, err = s.DICOM.PrecheckDICOM(ctx, a, u.ResidentID, u.CenterID, u.Length)
	}
	if err != nil {
		return err
	}
	var id [16]byte
	rand.Read(id[:])
	now := s.Now().UTC()
	u.ID, u.AccountID, u.InstitutionID, u.CountyCode = hex.EncodeToString(id[:]), a.AccountID, a.InstitutionID, res.CountyCode
	u.FileName, u.HeaderName = care.SafeFileName(u.FileName), care.SafeFileName(u.HeaderName)
	u.Offset, u.State, u.ResultID, u.CreatedAt, u.ExpiresAt = 0, StateReceiving, 0, now, now.Add(s.Config.Expiry)
	ev := audit.New(ctx, a, ActCreate, res.ID)
	ev.CountyCode = res.CountyCode
	ev.Detail = fmt.Sprintf("kind=%s length=%d center=%d", u.Kind, u.Length, u.CenterID)
	return s.Repo.CreateUpload(ctx, u, ev)
}

func hasExt(name string, exts ...string) bool {
	e := strings.ToLower(path.Ext(name))
	for _, x := range exts {
		if e == x {
			return true
		}
	}
	return false
}

// Get returns a's upload id. Errors: ENOTFOUND upload.not_found for an
// upload that does not exist or is another account's (the same answer),
// ENOTFOUND upload.expired for one past its expiry.
func (s *Service) Get(ctx context.Context, a care.Actor, id string) (*Upload, error) {
	u, err := s.Repo.Upload(ctx, id)
	if care.IsCode(err, care.ENOTFOUND) || (err == nil && (u.AccountID != a.AccountID || a.AccountID == 0)) {
		return nil, care.Errorf(care.ENOTFOUND, "upload.not_found")
	}
	if err != nil {
		return nil, err
	}
	if !s.Now().Before(u.ExpiresAt) {
		return nil, care.Errorf(care.ENOTFOUND, "upload.expired")
	}
	return u, nil
}

// Checksum is a request's Upload-Checksum: the algorithm (sha256 or sha1)
// and the digest of the request's body.
type Checksum struct {
	Algorithm string
	Sum       []byte
}

// Algorithms are the checksum algorithms Write verifies.
var Algorithms = []string{"sha256", "sha1"}

func (c *Checksum) hash() hash.Hash {
	switch c.Algorithm {
	case "sha256":
		return sha256.New()
	case "sha1":
		return sha1.New()
	}
	return nil
}

// Write stores body at offset of a's upload id: the upload's offset must
// be offset. Without a checksum the body is committed in pieces as it
// arrives, so a connection cut mid-body keeps what came before the last
// piece; with one it is held (at most Config.ChecksumMaxBytes), verified
// and stored whole or not at all. When the last declared byte is stored —
// or an empty body comes at the end of a complete upload whose import
// failed — the file is imported (complete). declared is the body's length
// if known, else -1. Returns the upload as it now stands. Errors:
// ENOTFOUND (Get), ECONFLICT upload.offset_mismatch (with the upload's
// offset) or upload.busy (being imported), ETOOLARGE upload.beyond_length
// (the body goes past the declared length: the piece that does is not
// stored), ECHECKSUM, EINVALID upload.interrupted (the body could not be
// read to its end), and the import path's errors.
func (s *Service) Write(ctx context.Context, a care.Actor, id string, offset, declared int64, body io.Reader, sum *Checksum) (*Upload, error) {
	u, err := s.Get(ctx, a, id)
	if err != nil {
		return nil, err
	}
	switch {
	case u.State == StateImporting:
		return u, care.Errorf(care.ECONFLICT, "upload.busy")
	case offset != u.Offset:
		return u, care.Errorf(care.ECONFLICT, "upload.offset_mismatch", u.Offset)
	case declared > u.Length-u.Offset:
		return u, care.Errorf(care.ETOOLARGE, "upload.beyond_length", u.Length)
	case u.State == StateDone:
		if declared > 0 {
			return u, care.Errorf(care.ETOOLARGE, "upload.beyond_length", u.Length)
		}
		return u, nil
	}
	start := u.Offset
	if sum != nil {
		err = s.writeVerified(ctx, u, body, sum)
	} else {
		err = s.writePieces(ctx, u, body)
	}
	if u.Offset > start {
		ev := audit.New(ctx, a, ActWrite, u.ResidentID)
		ev.CountyCode = u.CountyCode
		ev.Detail = fmt.Sprintf("upload=%s bytes=%d-%d of %d", u.ID, start, u.Offset, u.Length)
		s.Audit.Record(ctx, ev)
	}
	if err != nil {
		return u, err
	}
	if u.Kind == KindDICOM && start < HeadBytes && (u.Offset >= HeadBytes || u.Complete()) {
		// The patient is checked once, when the first HeadBytes are in.
		head, err := s.Repo.UploadPrefix(ctx, u.ID, HeadBytes)
		if err == nil {
			err = s.DICOM.PrecheckDICOMPatient(ctx, a, u.ResidentID, head, u.ConfirmMismatch)
		}
		if err != nil {
			return u, err
		}
	}
	if u.Complete() {
		return u, s.complete(ctx, a, u)
	}
	return u, nil
}

func (s *Service) writePieces(ctx context.Context, u *Upload, body io.Reader) error {
	buf := make([]byte, s.Config.PieceBytes)
	for {
		left := u.Length - u.Offset
		want := int64(len(buf))
		if left < want {
			want = left + 1 // one byte more tells a body that goes past the declared length
		}
		n, rerr := io.ReadFull(body, buf[:want])
		if int64(n) > left {
			return care.Errorf(care.ETOOLARGE, "upload.beyond_length", u.Length)
		}
		if n > 0 {
			if err := s.append(ctx, u, buf[:n]); err != nil {
				return err
			}
		}
		switch {
		case rerr == nil:
		case errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF):
			return nil
		default:
			return bodyError(rerr)
		}
	}
}

// bodyError is the error of a body that could not be read to its end:
// over the route's limit, or a connection that dropped.
func bodyError(err error) error {
	var ce *care.Error
	if errors.As(err, &ce) {
		return err
	}
	if strings.Contains(err.Error(), "request body too large") {
		return &care.Error{Code: care.ETOOLARGE, Key: "upload.beyond_length_any", Err: err}
	}
	return &care.Error{Code: care.EINVALID, Key: "upload.interrupted", Err: err}
}

func (s *Service) writeVerified(ctx context.Context, u *Upload, body io.Reader, sum *Checksum) error {
	h := sum.hash()
	if h == nil {
		return &care.Error{Code: care.EINVALID, Key: "upload.checksum_algorithm", Args: []any{strings.Join(Algorithms, ", ")}}
	}
	left := u.Length - u.Offset
	limit := min(left, s.Config.ChecksumMaxBytes) + 1
	b, err := io.ReadAll(io.LimitReader(body, limit))
	if err != nil {
		return bodyError(err)
	}
	if int64(len(b)) > left {
		return care.Errorf(care.ETOOLARGE, "upload.beyond_length", u.Length)
	}
	if int64(len(b)) > s.Config.ChecksumMaxBytes {
		return care.Errorf(care.ETOOLARGE, "upload.checksum_too_large", s.Config.ChecksumMaxBytes>>20)
	}
	h.Write(b)
	if !bytes.Equal(h.Sum(nil), sum.Sum) {
		return care.Errorf(care.ECHECKSUM, "upload.checksum_mismatch", sum.Algorithm)
	}
	for len(b) > 0 {
		n := min(len(b), s.Config.PieceBytes)
		if err := s.append(ctx, u, b[:n]); err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// append commits one piece even if the request's context ends meanwhile:
// the client is gone, but what it sent is kept for its next attempt.
func (s *Service) append(ctx context.Context, u *Upload, p []byte) error {
	exp := s.Now().UTC().Add(s.Config.Expiry)
	if err := s.Repo.AppendUpload(context.WithoutCancel(ctx), u.ID, u.Offset, p, exp); err != nil {
		if care.IsCode(err, care.ECONFLICT) {
			if cur, gerr := s.Repo.Upload(ctx, u.ID); gerr == nil {
				return care.Errorf(care.ECONFLICT, "upload.offset_mismatch", cur.Offset)
			}
		}
		return err
	}
	u.Offset += int64(len(p))
	u.ExpiresAt = exp
	return nil
}

// complete hands a complete upload to its import path, once: a second
// request finds it importing (ECONFLICT). A refused file leaves the
// upload complete and receiving, so the client sees the same refusal
// again if it asks again, and DELETE or expiry removes it; nothing of the
// refused file is stored by the import path.
func (s *Service) complete(ctx context.Context, a care.Actor, u *Upload) error {
	ctx = context.WithoutCancel(ctx) // a client that leaves now still gets its file imported
	if err := s.Repo.SetUploadState(ctx, u.ID, StateReceiving, StateImporting); err != nil {
		if care.IsCode(err, care.ECONFLICT) {
			return care.Errorf(care.ECONFLICT, "upload.busy")
		}
		return err
	}
	rid, err := s.importFile(ctx, a, u)
	if err != nil {
		if rerr := s.Repo.SetUploadState(ctx, u.ID, StateImporting, StateReceiving); rerr != nil {
			return rerr
		}
		return err
	}
	if err := s.Repo.FinishUpload(ctx, u.ID, rid); err != nil {
		return err
	}
	u.State, u.ResultID = StateDone, rid
	return nil
}

func (s *Service) importFile(ctx context.Context, a care.Actor, u *Upload) (int64, error) {
	data, err := s.Repo.UploadBytes(ctx, u.ID)
	if err != nil {
		return 0, err
	}
	if int64(len(data)) != u.Length {
		return 0, care.Internal("upload.importFile", fmt.Errorf("upload %s: %d bytes stored, %d declared", u.ID, len(data), u.Length))
	}
	switch u.Kind {
	case KindECG:
		st, err := s.ECG.UploadECG(ctx, a, u.ResidentID, reading.ECGUpload{CenterID: u.CenterID, HeaderName: u.HeaderName, Header: u.Header,
			SignalName: u.FileName, Signal: data, Urgent: u.Urgent})
		if err != nil {
			return 0, err
		}
		return st.ID, nil
	case KindDICOM:
		in, err := s.DICOM.UploadDICOM(ctx, a, u.ResidentID, reading.DICOMUpload{CenterID: u.CenterID, Name: u.FileName, File: data,
			ConfirmMismatch: u.ConfirmMismatch, Urgent: u.Urgent})
		if err != nil {
			return 0, err
		}
		return in.ID, nil
	}
	return 0, care.Internal("upload.importFile", fmt.Errorf("upload %s: unknown kind %q", u.ID, u.Kind))
}

// Terminate deletes a's upload id and what it received (tus
// termination). An upload being imported cannot be: ECONFLICT
// upload.busy; ENOTFOUND as Get.
func (s *Service) Terminate(ctx context.Context, a care.Actor, id string) error {
	u, err := s.Get(ctx, a, id)
	if err != nil {
		return err
	}
	if u.State == StateImporting {
		return care.Errorf(care.ECONFLICT, "upload.busy")
	}
	ev := audit.New(ctx, a, ActTerminate, u.ResidentID)
	ev.CountyCode = u.CountyCode
	ev.Detail = fmt.Sprintf("upload=%s bytes=%d of %d state=%s", u.ID, u.Offset, u.Length, u.State)
	return s.Repo.DeleteUpload(ctx, u.ID, ev)
}

// Sweep deletes the uploads past their expiry (serve runs it
// periodically) and returns how many.
func (s *Service) Sweep(ctx context.Context) (int64, error) {
	return s.Repo.DeleteExpiredUploads(ctx, s.Now().UTC())
}
