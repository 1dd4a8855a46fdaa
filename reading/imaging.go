package reading

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"
	"unicode"

	"countycare/access"
	"countycare/audit"
	"countycare/care"
	"countycare/dicom"
	"countycare/org"
	"countycare/resident"
)

// MaxDICOMBytes bounds one uploaded DICOM instance: a 30-frame
// uncompressed ultrasound cine is about 45 MB, a CR/DR image 10–30 MB.
const MaxDICOMBytes = 256 << 20

// ActDICOMUpload is the audit action of a DICOM upload.
const ActDICOMUpload = "reading.dicom_upload"

// ImagingInstance is one uploaded DICOM file (影像检查), stored as
// uploaded, with the metadata the platform files it under. Instances of a
// study share StudyUID.
type ImagingInstance struct {
	ID         int64
	CountyCode string
	ResidentID int64
	ClinicID   int64 // the ordering institution
	OrderedBy  int64 // account of the ordering doctor
	CenterID   int64 // the diagnosis center that reads it
	FileName   string
	StudyUID   string
	SeriesUID  string
	SOPUID     string
	Modality   string
	StudyDate  string // DA, as in the file
	Accession  string
	// SOPClassUID, SeriesNumber, SeriesDescription and InstanceNumber are
	// what QIDO-RS answers at series and instance level.
	SOPClassUID       string
	DeviceID          int64 // the DICOMweb client that pushed it (0: uploaded from the page)
	SeriesNumber      string
	SeriesDescription string
	InstanceNumber    string
	// Study-level attributes kept on the study row (imaging_studies), not
	// on the instance: StudyTime, StudyID, StudyDescription, Referring,
	// BirthDate, Sex.
	StudyTime, StudyID, StudyDescription, Referring, BirthDate, Sex string
	// FilePatientName and FilePatientID are the file's patient, decoded.
	FilePatientName string
	FilePatientID   string
	// Mismatch says why the file's patient differs from the resident ("" if
	// it matches); such a file is stored only when the uploader confirms.
	Mismatch       string
	TransferSyntax string
	Rows, Columns  int
	Frames         int
	// NoPreview is the "cannot preview" notice ("" when the server renders
	// it): the file is still stored and forwarded as it is.
	NoPreview  string
	File       []byte
	Status     string
	UploadedAt time.Time
	Urgent     bool // marked urgent by the ordering clinic (read first)
}

// DICOMUpload is one DICOM file sent for reading.
type DICOMUpload struct {
	CenterID int64
	Name     string
	File     []byte
	// ConfirmMismatch attaches a file whose patient differs from the
	// resident (the uploader has checked it); without it such a file is
	// refused with reading.dicom_patient_mismatch.
	ConfirmMismatch bool
	// Urgent asks for an urgent read of the study.
	Urgent bool
}

// ImagingRepository is the storage of DICOM uploads; store.Store implements it.
type ImagingRepository interface {
	// SaveImagingInstance stores an instance, its study's reading workflow
	// entry (the first instance of a StudyInstanceUID creates it; an urgent
	// one marks it urgent), a care link from the resident to the reading
	// center and the audit row in one transaction; the same
	// SOP instance twice in a county is ECONFLICT.
	SaveImagingInstance(ctx context.Context, in *ImagingInstance, link *access.CareLink, ev audit.Event) error
	// ImagingInstances lists a resident's instances (without file bytes), newest first.
	ImagingInstances(ctx context.Context, county string, residentID int64) ([]ImagingInstance, error)
}

// ImagingService sends DICOM files for reading.
type ImagingService struct {
	Repo      ImagingRepository
	Residents *resident.Service
	Orgs      interface {
		Tree(ctx context.Context) (*org.Tree, error)
	}
	Now func() time.Time
}

// UploadDICOM parses a DICOM file for a resident in a's scope and sends it
// to a diagnosis center of the resident's county. A file the server cannot
// preview is stored with the notice, never refused for it. Errors:
// ENOTFOUND (no such resident in scope), ETOOLARGE, EINVALID (not a
// diagnosis center; a malformed file, with the parser's fault; a file of
// another patient without ConfirmMismatch: reading.dicom_patient_mismatch
// with the file's patient), ECONFLICT (the instance is already stored).
func (s *ImagingService) UploadDICOM(ctx context.Context, a care.Actor, residentID int64, up DICOMUpload) (*ImagingInstance, error) {
	res, center, err := s.PrecheckDICOM(ctx, a, residentID, up.CenterID, int64(len(up.File)))
	if err != nil {
		return nil, err
	}
	in, err := ReadDICOM(up.File)
	if err != nil {
		return nil, err
	}
	in.CountyCode, in.ResidentID, in.ClinicID, in.OrderedBy, in.CenterID = res.CountyCode, res.ID, a.InstitutionID, a.AccountID, center.ID
	in.FileName, in.Status, in.UploadedAt, in.Urgent = path.Base(up.Name), StatusWaiting, s.Now().UTC(), up.Urgent
	in.Mismatch = patientMismatch(in.FilePatientName, in.FilePatientID, res)
	if in.Mismatch != "" && !up.ConfirmMismatch {
		return nil, mismatchError(in.FilePatientName, in.FilePatientID)
	}
	link := &access.CareLink{CountyCode: res.CountyCode, ResidentID: res.ID, InstitutionID: center.ID, Kind: access.LinkStudy,
		Reason: "imaging", CreatedBy: a.AccountID}
	ev := audit.New(ctx, a, ActDICOMUpload, res.ID)
	ev.CountyCode = res.CountyCode
	ev.Detail = fmt.Sprintf("center=%d modality=%s sop=%s preview=%t mismatch=%t", center.ID, in.Modality, in.SOPUID, in.NoPreview == "", in.Mismatch != "")
	if err := s.Repo.SaveImagingInstance(ctx, in, link, ev); err != nil {
		return nil, err
	}
	return in, nil
}

// PrecheckDICOM checks what UploadDICOM checks before it parses the file:
// the resident in a's scope, size bytes within MaxDICOMBytes, centerID a
// diagnosis center of the resident's county. A resumable upload (package
// upload) calls it at creation, before any byte is sent. Errors: ENOTFOUND
// (no such resident in scope), ETOOLARGE, EINVALID (center_id).
func (s *ImagingService) PrecheckDICOM(ctx context.Context, a care.Actor, residentID, centerID, size int64) (*resident.Resident, *org.Institution, error) {
	res, err := s.Residents.Get(ctx, a, residentID)
	if err != nil {
		return nil, nil, err
	}
	if size > MaxDICOMBytes {
		return nil, nil, care.Errorf(care.ETOOLARGE, "reading.dicom_too_large", MaxDICOMBytes>>20)
	}
	center, err := diagnosisCenter(ctx, s.Orgs, res, centerID)
	if err != nil {
		return nil, nil, err
	}
	return res, center, nil
}

// PrecheckDICOMPatient compares the patient named in the first bytes of
// a DICOM file (dicom.ParsePatient) with the resident in a's scope, as
// UploadDICOM will compare the whole file's: a resumable upload (package
// upload) calls it once its first bytes have arrived, so a file of another
// patient is refused before the rest is sent. nil when they match, when
// confirm is set, or when the prefix does not tell. Errors: ENOTFOUND,
// EINVALID reading.dicom_patient_mismatch, reading.dicom_unreadable (not a
// DICOM file).
func (s *ImagingService) PrecheckDICOMPatient(ctx context.Context, a care.Actor, residentID int64, prefix []byte, confirm bool) error {
	name, id, ok, err := dicom.ParsePatient(prefix)
	if err != nil {
		return &care.Error{Code: care.EINVALID, Key: "reading.dicom_unreadable", Args: []any{strings.TrimPrefix(err.Error(), "dicom: ")}, Err: err}
	}
	if !ok || confirm {
		return nil
	}
	res, err := s.Residents.Get(ctx, a, residentID)
	if err != nil {
		return err
	}
	if patientMismatch(name, id, res) != "" {
		return mismatchError(name, id)
	}
	return nil
}

// mismatchError refuses a file of another patient than the resident.
func mismatchError(name, id string) error {
	return &care.Error{Code: care.EINVALID, Key: "reading.dicom_patient_mismatch", Args: []any{name, id},
		Fields: []care.FieldError{{Field: "file", Key: "reading.dicom_patient_mismatch"}}}
}

// ReadDICOM parses a file into an instance (metadata, preview notice
// from the header alone, dicom.Previewable; the bytes). Errors: EINVALID reading.dicom_unreadable naming the fault;
// ETOOLARGE reading.dicom_limit when the file passes the parser's limits
// (dicom.Limits: inflated size, elements, nesting).
func ReadDICOM(b []byte) (*ImagingInstance, error) {
	f, err := dicom.Parse(b)
	if err == nil && f.String(dicom.TagSOPInstanceUID) == "" {
		err = fmt.Errorf("%w: no SOP Instance UID (0008,0018)", dicom.ErrFormat)
	}
	if err == nil && f.String(dicom.TagStudyInstanceUID) == "" {
		err = fmt.Errorf("%w: no Study Instance UID (0020,000D)", dicom.ErrFormat)
	}
	var info dicom.ImageInfo
	if err == nil {
		info, err = f.Info()
	}
	if err != nil {
		if errors.Is(err, dicom.ErrLimit) {
			// A deflate bomb, a million elements, a nesting too deep: refused
			// before it was built in memory.
			return nil, &care.Error{Code: care.ETOOLARGE, Key: "reading.dicom_limit", Args: []any{strings.TrimPrefix(err.Error(), "dicom: ")}, Err: err}
		}
		if errors.Is(err, dicom.ErrFormat) {
			return nil, &care.Error{Code: care.EINVALID, Key: "reading.dicom_unreadable", Args: []any{strings.TrimPrefix(err.Error(), "dicom: ")}, Err: err}
		}
		return nil, err
	}
	in := &ImagingInstance{
		StudyUID: f.String(dicom.TagStudyInstanceUID), SeriesUID: f.String(dicom.TagSeriesInstanceUID), SOPUID: f.String(dicom.TagSOPInstanceUID),
		Modality: f.String(dicom.TagModality), StudyDate: f.String(dicom.TagStudyDate), Accession: f.String(dicom.TagAccessionNumber),
		FilePatientName: f.PersonName(dicom.TagPatientName), FilePatientID: f.String(dicom.TagPatientID),
		TransferSyntax: f.TransferSyntax, Rows: info.Rows, Columns: info.Columns, Frames: info.Frames, File: b,
		SOPClassUID: f.String(dicom.TagSOPClassUID), SeriesNumber: f.String(dicom.TagSeriesNumber),
		SeriesDescription: f.String(dicom.TagSeriesDescription), InstanceNumber: f.String(dicom.TagInstanceNumber),
		StudyTime: f.String(dicom.TagStudyTime), StudyID: f.String(dicom.TagStudyID), StudyDescription: f.String(dicom.TagStudyDescription),
		Referring: f.PersonName(dicom.TagReferringPhysicianName), BirthDate: f.String(dicom.TagPatientBirthDate), Sex: f.String(dicom.TagPatientSex),
	}
	if err := dicom.Previewable(f); err != nil {
		// Stored and forwarded anyway: the notice says why there is no
		// preview. Decided from the header; no frame is rendered here (a
		// frame that passes but is corrupt says so when first viewed).
		in.NoPreview = strings.TrimPrefix(err.Error(), "dicom: ")
	}
	return in, nil
}

// patientMismatch compares the file's patient with the resident: the ID
// number in Patient ID, or the name in any group of the PN value
// (alphabetic, ideographic, phonetic; components joined without "^").
// Returns "" when either matches.
func patientMismatch(name, id string, r *resident.Resident) string {
	if id != "" && r.IDNumber != "" && strings.EqualFold(strings.TrimSpace(id), string(r.IDNumber)) {
		return ""
	}
	want := normName(r.Name)
	for _, g := range strings.Split(name, "=") {
		if n := normName(g); n != "" && n == want {
			return ""
		}
	}
	if name == "" && id == "" {
		return "the file names no patient"
	}
	return fmt.Sprintf("the file's patient %q (ID %q) is not the resident", name, id)
}

func normName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '^' || unicode.IsSpace(r) || r == '·' {
			return -1
		}
		return unicode.ToLower(r)
	}, s)
}
