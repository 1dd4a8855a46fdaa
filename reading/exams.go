package reading

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"countycare/access"
	"countycare/audit"
	"countycare/care"
	"countycare/critical"
	"countycare/notify"
	"countycare/org"
	"countycare/resident"
)

// Audit actions of photos and fetal traces.
const (
	ActPhotoUpload = "reading.photo_upload"
	ActPhotoRead   = "reading.photo_read"
	ActFetalUpload = "reading.fetal_upload"
	ActFetalRead   = "reading.fetal_read"
)

// PhotoStudy is a fundus or skin photo sent for reading (眼底/皮肤照片).
type PhotoStudy struct {
	ID          int64
	CountyCode  string
	ResidentID  int64
	ClinicID    int64 // the ordering institution
	OrderedBy   int64 // account of the ordering doctor
	CenterID    int64 // the diagnosis center that reads it
	Kind        string
	Device      string
	FileName    string
	ContentType string
	Width       int
	Height      int
	Size        int
	SHA256      string
	File        []byte // the photo without metadata (nil in listings)
	Status      string
	UploadedAt  time.Time
}

// PhotoUpload is one photo sent by a clinic.
type PhotoUpload struct {
	CenterID int64
	Kind     string
	Device   string
	Name     string
	File     []byte
}

// FetalStudy is a fetal heart trace sent for reading (胎心监护), with its
// automatic analysis.
type FetalStudy struct {
	ID          int64
	CountyCode  string
	ResidentID  int64
	ClinicID    int64
	OrderedBy   int64
	CenterID    int64
	Device      string
	FileName    string
	CSV         []byte // nil in listings
	Seconds     float64
	Baseline    float64
	Variability float64
	Flags       []FetalFlag
	Priority    int
	Status      string
	UploadedAt  time.Time
	AlertID     int64 // the critical alert raised for it, if any
}

// FetalUpload is one trace sent by a clinic.
type FetalUpload struct {
	CenterID int64
	Device   string
	Name     string
	CSV      []byte
}

// ExamRepository is the storage of photos and traces; store.Store
// implements it. Each Save stores the study, a care link from the resident
// to the reading center (unless a live one exists) and the audit row (and,
// for a trace, its critical alert with messages) in one transaction, and
// sets the study's ID.
type ExamRepository interface {
	SavePhotoStudy(ctx context.Context, p *PhotoStudy, link *access.CareLink, ev audit.Event) error
	PhotoStudies(ctx context.Context, county string, residentID int64) ([]PhotoStudy, error)
	PhotoStudy(ctx context.Context, county string, id int64) (*PhotoStudy, error)
	SaveFetalStudy(ctx context.Context, f *FetalStudy, link *access.CareLink, alert *critical.Alert, msgs []notify.Message, ev audit.Event) error
	FetalStudies(ctx context.Context, county string, residentID int64) ([]FetalStudy, error)
	FetalStudy(ctx context.Context, county string, id int64) (*FetalStudy, error)
}

// ExamService sends photos and fetal traces for reading and shows them.
type ExamService struct {
	Repo      ExamRepository
	Residents *resident.Service
	Orgs      interface {
		Tree(ctx context.Context) (*org.Tree, error)
	}
	Critical *critical.Service // raises alerts for pathological traces; may be nil
	Audit    audit.Recorder
	Now      func() time.Time
}

// center checks the chosen diagnosis center is one of the resident's county.
func (s *ExamService) center(ctx context.Context, id int64, county string) (*org.Institution, error) {
	tree, err := s.Orgs.Tree(ctx)
	if err != nil {
		return nil, err
	}
	c := tree.Get(id)
	if c == nil || c.Kind != org.KindDiagnosis || c.CountyCode != county {
		return nil, &care.Error{Code: care.EINVALID, Key: "reading.center_invalid", Fields: []care.FieldError{{Field: "center_id", Key: "reading.center_invalid"}}}
	}
	return c, nil
}

func deviceOK(d string) bool { return len([]rune(d)) <= 100 }

// UploadPhoto checks a photo by content and sends it for reading; the
// stored study (with its ID) is returned. Errors: ENOTFOUND (resident not
// in scope), ETOOLARGE, EINVALID (kind, center, device; not a JPEG/PNG or
// a corrupt one, with the fault).
func (s *ExamService) UploadPhoto(ctx context.Context, a care.Actor, residentID int64, up PhotoUpload) (*PhotoStudy, error) {
	res, err := s.Residents.Get(ctx, a, residentID)
	if err != nil {
		return nil, err
	}
	if len(up.File) > MaxPhotoBytes {
		return nil, care.Errorf(care.ETOOLARGE, "reading.photo_too_large", MaxPhotoBytes>>20)
	}
	var fs []care.FieldError
	if up.Kind != PhotoFundus && up.Kind != PhotoSkin {
		fs = append(fs, care.FieldError{Field: "kind", Key: "reading.photo_kind"})
	}
	if !deviceOK(up.Device) {
		fs = append(fs, care.FieldError{Field: "device", Key: "lab.text_long", Args: []any{100}})
	}
	if err := care.Invalid(fs); err != nil {
		return nil, err
	}
	center, err := s.center(ctx, up.CenterID, res.CountyCode)
	if err != nil {
		return nil, err
	}
	ph, err := ReadPhoto(up.File)
	if err != nil {
		return nil, &care.Error{Code: care.EINVALID, Key: "reading.photo_unreadable", Args: []any{strings.TrimPrefix(err.Error(), ErrPhoto.Error()+": ")},
			Fields: []care.FieldError{{Field: "file", Key: "reading.photo_unreadable", Args: []any{strings.TrimPrefix(err.Error(), ErrPhoto.Error()+": ")}}}, Err: err}
	}
	sum := sha256.Sum256(ph.Clean)
	p := &PhotoStudy{CountyCode: res.CountyCode, ResidentID: res.ID, ClinicID: a.InstitutionID, OrderedBy: a.AccountID, CenterID: center.ID,
		Kind: up.Kind, Device: strings.TrimSpace(up.Device), FileName: care.SafeFileName(up.Name), ContentType: ph.ContentType,
		Width: ph.Width, Height: ph.Height, Size: len(ph.Clean), SHA256: hex.EncodeToString(sum[:]), File: ph.Clean,
		Status: StatusWaiting, UploadedAt: s.Now().UTC()}
	link := &access.CareLink{CountyCode: res.CountyCode, ResidentID: res.ID, InstitutionID: center.ID, Kind: access.LinkStudy, Reason: "photo", CreatedBy: a.AccountID}
	ev := audit.New(ctx, a, ActPhotoUpload, res.ID)
	ev.CountyCode, ev.Detail = res.CountyCode, fmt.Sprintf("center=%d kind=%s %dx%d %d bytes", center.ID, p.Kind, p.Width, p.Height, p.Size)
	if err := s.Repo.SavePhotoStudy(ctx, p, link, ev); err != nil {
		return nil, err
	}
	return p, nil
}

// UploadFetal parses and analyses a fetal heart trace and sends it for
// reading; a trace with a pathological sign that cannot wait (FHR baseline
// below 100 bpm or a deceleration over 5 minutes, FIGO 2015) raises a
// critical alert to the clinic in the same transaction. The stored study
// (with its ID) is returned. Errors: ENOTFOUND, ETOOLARGE, EINVALID
// (center, device; an unreadable trace with the parser's fault).
func (s *ExamService) UploadFetal(ctx context.Context, a care.Actor, residentID int64, up FetalUpload) (*FetalStudy, error) {
	res, err := s.Residents.Get(ctx, a, residentID)
	if err != nil {
		return nil, err
	}
	if len(up.CSV) > MaxFetalBytes {
		return nil, care.Errorf(care.ETOOLARGE, "reading.fetal_too_large", MaxFetalBytes>>20)
	}
	if !deviceOK(up.Device) {
		return nil, care.Invalid([]care.FieldError{{Field: "device", Key: "lab.text_long", Args: []any{100}}})
	}
	center, err := s.center(ctx, up.CenterID, res.CountyCode)
	if err != nil {
		return nil, err
	}
	tr, err := ParseFetalCSV(bytes.NewReader(up.CSV))
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), ErrFetalFormat.Error()+": ")
		if errors.Is(err, ErrFetalFormat) {
			return nil, &care.Error{Code: care.EINVALID, Key: "reading.fetal_unreadable", Args: []any{msg},
				Fields: []care.FieldError{{Field: "file", Key: "reading.fetal_unreadable", Args: []any{msg}}}, Err: err}
		}
		return nil, err
	}
	an, _ := AnalyseFetal(tr)
	now := s.Now().UTC()
	f := &FetalStudy{CountyCode: res.CountyCode, ResidentID: res.ID, ClinicID: a.InstitutionID, OrderedBy: a.AccountID, CenterID: center.ID,
		Device: strings.TrimSpace(up.Device), FileName: care.SafeFileName(up.Name), CSV: up.CSV, Seconds: tr.Seconds(),
		Baseline: an.Baseline, Variability: an.Variability, Flags: an.Flags, Priority: an.Priority, Status: StatusWaiting, UploadedAt: now}
	var al *critical.Alert
	var msgs []notify.Message
	var live []int64
	if finding, value := fetalCritical(an); finding != "" && s.Critical != nil {
		al = &critical.Alert{CountyCode: res.CountyCode, SourceKind: critical.SourceFetal, SourceID: 1, ResidentID: res.ID, ClinicID: a.InstitutionID,
			OrderedBy: a.AccountID, Finding: finding, Value: value, RaisedBy: a.AccountID, RaisedAt: now}
		if msgs, live, err = s.Critical.Prepare(ctx, al); err != nil {
			return nil, err
		}
	}
	link := &access.CareLink{CountyCode: res.CountyCode, ResidentID: res.ID, InstitutionID: center.ID, Kind: access.LinkStudy, Reason: "fetal heart", CreatedBy: a.AccountID}
	ev := audit.New(ctx, a, ActFetalUpload, res.ID)
	ev.CountyCode = res.CountyCode
	ev.Detail = fmt.Sprintf("center=%d %.0f s baseline=%.0f class=%s flags=%v", center.ID, f.Seconds, an.Baseline, an.Class, an.Flags)
	if err := s.Repo.SaveFetalStudy(ctx, f, link, al, msgs, ev); err != nil {
		return nil, err
	}
	if al != nil {
		f.AlertID = al.ID
		s.Critical.Announce(al, live)
	}
	return f, nil
}

// fetalCritical names the trace's critical finding, if any: a baseline
// below 100 bpm or a deceleration over 5 minutes (pathological in FIGO
// 2015 and needing action at once).
func fetalCritical(an FetalAnalysis) (finding, value string) {
	for _, f := range an.Flags {
		switch f {
		case FlagDecelerationOver5Min:
			return "FHR deceleration > 5 min (FIGO 2015)", fmt.Sprintf("%.1f min", math.Floor(an.LongestDecel/6)/10)
		case FlagBaselineBelow100:
			return "FHR baseline < 100 bpm (FIGO 2015)", fmt.Sprintf("%.0f bpm", an.Baseline)
		}
	}
	return "", ""
}

// readable loads a study's resident through the scope check (ENOTFOUND
// outside it; the resident read is audited) and audits the study read.
func (s *ExamService) readable(ctx context.Context, a care.Actor, residentID int64, action string, detail string) error {
	res, err := s.Residents.Get(ctx, a, residentID)
	if err != nil {
		return err
	}
	ev := audit.New(ctx, a, action, res.ID)
	ev.CountyCode, ev.Detail = res.CountyCode, detail
	s.Audit.Record(ctx, ev)
	return nil
}

// Photo returns a photo with its bytes to an actor who may see its
// resident. Errors: ENOTFOUND.
func (s *ExamService) Photo(ctx context.Context, a care.Actor, id int64) (*PhotoStudy, error) {
	p, err := s.Repo.PhotoStudy(ctx, a.CountyCode, id)
	if err != nil {
		return nil, err
	}
	if err := s.readable(ctx, a, p.ResidentID, ActPhotoRead, fmt.Sprintf("photo %d", id)); err != nil {
		return nil, err
	}
	return p, nil
}

// Fetal returns a trace with its analysis to an actor who may see its
// resident. Errors: ENOTFOUND.
func (s *ExamService) Fetal(ctx context.Context, a care.Actor, id int64) (*FetalStudy, *FetalTrace, FetalAnalysis, []Episode, error) {
	f, err := s.Repo.FetalStudy(ctx, a.CountyCode, id)
	if err != nil {
		return nil, nil, FetalAnalysis{}, nil, err
	}
	if err := s.readable(ctx, a, f.ResidentID, ActFetalRead, fmt.Sprintf("fetal trace %d", id)); err != nil {
		return nil, nil, FetalAnalysis{}, nil, err
	}
	tr, err := ParseFetalCSV(bytes.NewReader(f.CSV))
	if err != nil {
		return nil, nil, FetalAnalysis{}, nil, care.Internal("reading.Fetal", err)
	}
	an, eps := AnalyseFetal(tr)
	return f, tr, an, eps, nil
}

// Exams lists a resident's photos and traces (without their bytes) for
// an actor who may see the resident; the read is audited.
func (s *ExamService) Exams(ctx context.Context, a care.Actor, residentID int64) (*resident.Resident, []PhotoStudy, []FetalStudy, error) {
	res, err := s.Residents.Get(ctx, a, residentID)
	if err != nil {
		return nil, nil, nil, err
	}
	ps, err := s.Repo.PhotoStudies(ctx, res.CountyCode, res.ID)
	if err != nil {
		return nil, nil, nil, err
	}
	fs, err := s.Repo.FetalStudies(ctx, res.CountyCode, res.ID)
	if err != nil {
		return nil, nil, nil, err
	}
	ev := audit.New(ctx, a, ActFetalRead, res.ID)
	ev.CountyCode, ev.Detail = res.CountyCode, fmt.Sprintf("exam list: %d photos, %d fetal traces", len(ps), len(fs))
	s.Audit.Record(ctx, ev)
	return res, ps, fs, nil
}
