package reading

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"countycare/access"
	"countycare/audit"
	"countycare/care"
	"countycare/org"
	"countycare/resident"
)

// Audit actions of DICOMweb (PS3.18) and the client credentials.
const (
	ActSTOW         = "dicomweb.stow"
	ActQIDO         = "dicomweb.qido"
	ActWADO         = "dicomweb.wado"
	ActClientCreate = "dicomweb.client_create"
	ActClientDenied = "dicomweb.auth_denied"
	ActClientState  = "dicomweb.client_state"
	ActImagingList  = "reading.imaging_list"
)

// QIDO-RS limits: a search answers at most MaxQIDOLimit matches per page.
const (
	DefaultQIDOLimit = 100
	MaxQIDOLimit     = 1000
)

// Failure reasons of a STOW-RS FailedSOPSequence (PS3.18 §10.5.3, Table
// 10.5.3-1, and PS3.4 Annex GG status codes).
const (
	FailureProcessing    = 0x0110 // processing failure (our fault or the patient is refused)
	FailureDuplicate     = 0x0111 // duplicate SOP instance
	FailureCannotRead    = 0xC000 // cannot understand (not a DICOM file)
	FailureStudyMismatch = 0xA900 // data set does not match the study of the request
	FailureTooLarge      = 0xA700 // out of resources: the instance is too large
)

// ImagingStudy is the study-level row of imaging (影像检查) that QIDO-RS
// searches: kept in the same transaction as its instances.
type ImagingStudy struct {
	ID            int64
	CountyCode    string
	StudyUID      string
	ResidentID    int64
	ClinicID      int64
	CenterID      int64
	PatientName   string // PN as in the file (groups joined by "=")
	PatientID     string
	BirthDate     string
	Sex           string
	StudyDate     string
	StudyTime     string
	Accession     string
	StudyID       string
	Description   string
	Referring     string
	Modalities    []string
	SeriesCount   int
	InstanceCount int
	UpdatedAt     time.Time
}

// ImagingSeries is one series of a study as QIDO-RS lists it.
type ImagingSeries struct {
	StudyUID, SeriesUID, Modality, SeriesNumber, Description string
	Instances                                                int
}

// StudyQuery is a QIDO-RS study search (PS3.18 §10.6.1.2 matching). Empty
// fields do not constrain.
type StudyQuery struct {
	CountyCode   string
	Institutions []int64 // the caller sees studies sent by or to one of these
	PatientName  string  // with * and ? wildcards; matched per PN group, "^" and case ignored
	PatientID    string  // exact, or with wildcards
	Accession    string  // exact, or with wildcards
	StudyUIDs    []string
	Modality     string
	DateFrom     string // YYYYMMDD, inclusive
	DateTo       string // YYYYMMDD, inclusive
	Limit        int
	Offset       int
}

// InstanceQuery selects instances of one study (series and instance level).
type InstanceQuery struct {
	CountyCode string
	StudyUID   string
	SeriesUID  string
	SOPUID     string
	Modality   string
	Limit      int
	Offset     int
}

// DICOMwebClient is the credential of a machine client (a modality, a
// gateway, an Orthanc) bound to an institution: it pushes studies as that
// institution (to CenterID for reading) and sees what that institution may
// see. The secret is shown once and stored only as its SHA-256 (a random
// 256-bit secret needs no slow hash).
type DICOMwebClient struct {
	ID            int64
	Name          string
	CountyCode    string
	InstitutionID int64
	CenterID      int64
	SecretHash    string
	CreatedBy     int64
	CreatedAt     time.Time
	Disabled      bool
}

// DICOMwebRepository is the storage DICOMweb needs; store.Store implements it.
type DICOMwebRepository interface {
	ImagingRepository
	// SearchImagingStudies answers a study search, newest study date first.
	SearchImagingStudies(ctx context.Context, q StudyQuery) ([]ImagingStudy, error)
	// ImagingStudyByUID returns a study of a county (ENOTFOUND if none).
	ImagingStudyByUID(ctx context.Context, county, uid string) (*ImagingStudy, error)
	// ImagingStudiesOf lists a resident's studies, newest first.
	ImagingStudiesOf(ctx context.Context, county string, residentID int64) ([]ImagingStudy, error)
	// ImagingSeriesOf lists the series of a study.
	ImagingSeriesOf(ctx context.Context, q InstanceQuery) ([]ImagingSeries, error)
	// ImagingInstancesOf lists instances of a study (without bytes), by series and instance number.
	ImagingInstancesOf(ctx context.Context, q InstanceQuery) ([]ImagingInstance, error)
	// ImagingFile returns the stored bytes of an instance (ENOTFOUND if none).
	ImagingFile(ctx context.Context, county string, id int64) ([]byte, error)
	// ImagingFileAppend is ImagingFile into buf[:0] (reused by the caller).
	ImagingFileAppend(ctx context.Context, county string, id int64, buf []byte) ([]byte, error)
	// CreateDICOMwebClient stores a credential with its audit row; a taken name is ECONFLICT.
	CreateDICOMwebClient(ctx context.Context, c *DICOMwebClient, ev audit.Event) error
	// DICOMwebClientByName returns a credential (ENOTFOUND if none).
	DICOMwebClientByName(ctx context.Context, name string) (*DICOMwebClient, error)
	// DICOMwebClients lists every credential.
	DICOMwebClients(ctx context.Context) ([]DICOMwebClient, error)
	// SaveImagingInstances stores a batch of instances as
	// SaveImagingInstance would each, in one transaction (shared with
	// concurrent callers' batches): an instance that cannot be stored is
	// left out alone, with its Err set; the call returns after the commit,
	// so every item without Err is then durable. An error returned means
	// nothing of the batch was stored.
	SaveImagingInstances(ctx context.Context, batch []ImagingSave) error
	// SetDICOMwebClientDisabled disables or re-enables a credential with its audit row (ENOTFOUND if none).
	SetDICOMwebClientDisabled(ctx context.Context, id int64, disabled bool, ev audit.Event) error
}

// DICOMweb is the DICOMweb service (PS3.18): STOW-RS, QIDO-RS and WADO-RS
// for machine clients, and the imaging list of a resident for the pages.
type DICOMweb struct {
	Repo      DICOMwebRepository
	Residents *resident.Service
	Orgs      interface {
		Tree(ctx context.Context) (*org.Tree, error)
	}
	Audit audit.Recorder
	Now   func() time.Time
}

var clientName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$`)

// CreateClient creates the credential of a machine client of institution
// instID that sends studies to diagnosis center centerID, and returns the
// secret, shown only now. Only administrators may (EFORBIDDEN). Errors:
// EINVALID (name, institution or center), ECONFLICT (name taken).
func (s *DICOMweb) CreateClient(ctx context.Context, a care.Actor, name string, instID, centerID int64) (*DICOMwebClient, string, error) {
	if a.Role != care.RoleAdmin {
		return nil, "", care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	t, err := s.Orgs.Tree(ctx)
	if err != nil {
		return nil, "", err
	}
	var fs []care.FieldError
	name = strings.TrimSpace(name)
	if !clientName.MatchString(name) {
		fs = append(fs, care.FieldError{Field: "name", Key: "dicomweb.client_name_invalid"})
	}
	inst := t.Get(instID)
	// A device belongs to a care-giving institution: one bound to the
	// county, the commission, a community or the insurance office would see
	// every study under it (its subtree is the county).
	if inst == nil || inst.CountyCode == "" || !deviceKinds[inst.Kind] {
		fs = append(fs, care.FieldError{Field: "institution_id", Key: "dicomweb.institution_invalid"})
	}
	center := t.Get(centerID)
	if center == nil || center.Kind != org.KindDiagnosis || (inst != nil && center.CountyCode != inst.CountyCode) {
		fs = append(fs, care.FieldError{Field: "center_id", Key: "reading.center_invalid"})
	}
	if err := care.Invalid(fs); err != nil {
		return nil, "", err
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, "", care.Internal("reading.CreateClient", err)
	}
	secret := hex.EncodeToString(b)
	c := &DICOMwebClient{Name: name, CountyCode: inst.CountyCode, InstitutionID: inst.ID, CenterID: center.ID,
		SecretHash: hashSecret(secret), CreatedBy: a.AccountID, CreatedAt: s.Now().UTC()}
	ev := audit.New(ctx, a, ActClientCreate, 0)
	ev.Detail = fmt.Sprintf("client=%s institution=%d center=%d", name, inst.ID, center.ID)
	if err := s.Repo.CreateDICOMwebClient(ctx, c, ev); err != nil {
		return nil, "", err
	}
	return c, secret, nil
}

// SetClientDisabled disables (a lost or retired device) or re-enables
// credential id; a disabled device is refused at once. Administrators only
// (EFORBIDDEN). Errors: ENOTFOUND.
func (s *DICOMweb) SetClientDisabled(ctx context.Context, a care.Actor, id int64, disabled bool) error {
	if a.Role != care.RoleAdmin {
		return care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	ev := audit.New(ctx, a, ActClientState, 0)
	ev.Detail = fmt.Sprintf("client=%d disabled=%t", id, disabled)
	return s.Repo.SetDICOMwebClientDisabled(ctx, id, disabled, ev)
}

// Clients lists the credentials (administrators only, EFORBIDDEN otherwise).
func (s *DICOMweb) Clients(ctx context.Context, a care.Actor) ([]DICOMwebClient, error) {
	if a.Role != care.RoleAdmin {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	return s.Repo.DICOMwebClients(ctx)
}

func hashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// Authenticate checks a machine client's name and secret (HTTP Basic) and
// returns the actor it works as: its institution, with the scope of the
// institution's kind (a village clinic's residents, a township's subtree,
// care links for county institutions). Unknown names, wrong secrets and
// disabled clients are EUNAUTHORIZED alike, and audited.
func (s *DICOMweb) Authenticate(ctx context.Context, name, secret string) (care.Actor, *DICOMwebClient, error) {
	c, err := s.Repo.DICOMwebClientByName(ctx, name)
	if err != nil && !care.IsCode(err, care.ENOTFOUND) {
		return care.Actor{}, nil, err
	}
	want := strings.Repeat("0", 64)
	if c != nil {
		want = c.SecretHash
	}
	ok := subtle.ConstantTimeCompare([]byte(hashSecret(secret)), []byte(want)) == 1
	if c == nil || !ok || c.Disabled {
		ev := audit.New(ctx, care.Actor{Username: "dicomweb:" + truncate(name, 64)}, ActClientDenied, 0)
		ev.Outcome = audit.OutcomeDenied
		s.Audit.Record(ctx, ev)
		return care.Actor{}, nil, care.Errorf(care.EUNAUTHORIZED, "dicomweb.auth_failed")
	}
	t, err := s.Orgs.Tree(ctx)
	if err != nil {
		return care.Actor{}, nil, err
	}
	return DeviceActor(c, t), c, nil
}

// DeviceActor is the actor a machine client works as. Its AccountID is 0
// (no person signs in); the audit trail names it by Username
// "dicomweb:NAME" and its institution.
func DeviceActor(c *DICOMwebClient, t *org.Tree) care.Actor {
	a := care.Actor{Username: "dicomweb:" + c.Name, InstitutionID: c.InstitutionID, CountyCode: c.CountyCode, Role: care.RoleReader}
	if in := t.Get(c.InstitutionID); in != nil {
		a.Role = access.MachineRole(in.Kind)
	}
	return a
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// visible returns the institutions whose studies a may see: studies sent
// by (clinic) or to (center) a's institution or any below it.
func (s *DICOMweb) visible(ctx context.Context, a care.Actor) ([]int64, error) {
	t, err := s.Orgs.Tree(ctx)
	if err != nil {
		return nil, err
	}
	ids := t.Subtree(a.InstitutionID)
	if len(ids) == 0 {
		ids = []int64{a.InstitutionID}
	}
	return ids, nil
}

func (s *DICOMweb) sees(inst []int64, st *ImagingStudy) bool {
	for _, id := range inst {
		if st.ClinicID == id || st.CenterID == id {
			return true
		}
	}
	return false
}

// ImagingSave is one instance of a batch SaveImagingInstances stores:
// the instance, its care link and audit row; Err is set when this
// instance alone could not be stored.
type ImagingSave struct {
	Instance *ImagingInstance
	Link     *access.CareLink
	Event    audit.Event
	Err      error
}

// StowBatchBytes bounds the instance bytes a STOW-RS request holds for
// one commit: its instances are stored in batches of at most this many
// bytes (and StowBatchInstances instances), one transaction each, shared
// with other requests' batches, so that the fsync of a commit is paid
// once per batch, not per instance. An instance larger than this is a
// batch alone, not copied. It is small beside the request's bound on heap
// (the largest part plus 32 MiB, issue 18).
const (
	StowBatchBytes     = 4 << 20
	StowBatchInstances = 100
)

// stowArenas keeps the batch buffers of finished STOW-RS requests: a new
// 4 MiB buffer zeroed for each request was a tenth of its CPU (issue 16).
var stowArenas = sync.Pool{New: func() any { b := make([]byte, 0, StowBatchBytes); return &b }}

// ErrInstanceTooLarge is returned by a STOW-RS reader for a part over
// MaxDICOMBytes, which it did not hold in memory.
var ErrInstanceTooLarge = errors.New("reading: instance larger than MaxDICOMBytes")

// StowResult is the outcome of one instance of a STOW-RS request.
type StowResult struct {
	SOPClassUID, SOPUID, StudyUID string
	ResidentID                    int64
	Failure                       int    // 0: stored
	Reason                        string // why it failed (for FailedSOPSequence and the log)
	Warning                       string // stored with a notice (cannot preview)
}

// Stow stores the instances a machine client pushed (STOW-RS). Each is
// filed under the resident whose GB 11643 ID number or health-record
// number is its Patient ID and whom the client's institution may see;
// otherwise it is refused with the reason. Each instance is stored with
// its study row, care link and audit row; instances are committed in
// batches (StowBatchBytes; Repo.SaveImagingInstances, one transaction
// shared with concurrent requests), each instance under its own savepoint,
// so a refused one leaves nothing behind and does not refuse the others,
// and Stow returns only after the commits: every result without Failure
// is durable. study, if not "", is the study of the
// request URL: instances of other studies are refused. next returns the
// instances one at a time (io.EOF after the last), so a large request is
// never held in memory at once; next may reuse one buffer, since an
// instance's bytes are not used after the next call. An error from next
// ends the request with the instances before it stored, except
// ErrInstanceTooLarge, which refuses that instance (FailureTooLarge) and
// goes on.
func (s *DICOMweb) Stow(ctx context.Context, a care.Actor, c *DICOMwebClient, study string, next func() ([]byte, error)) ([]StowResult, error) {
	var out []StowResult
	type resolved struct {
		r   *resident.Resident
		err string
	}
	byPID := map[string]resolved{}
	// The batch: instances read, checked and waiting for their commit;
	// their bytes copied into arena (next reuses its buffer), and which
	// result each one answers.
	var (
		batch []ImagingSave
		slot  []int
		arena []byte
	)
	flush := func() {
		if len(batch) == 0 {
			return
		}
		err := s.Repo.SaveImagingInstances(ctx, batch)
		for i := range batch {
			res, e := &out[slot[i]], batch[i].Err
			if err != nil {
				e = err
			}
			switch {
			case e == nil:
				res.ResidentID, res.Warning = batch[i].Instance.ResidentID, batch[i].Instance.NoPreview
			case errKey(e) == "reading.study_other_patient":
				res.Failure, res.Reason = FailureProcessing, "study "+res.StudyUID+" is already filed under another resident"
			case care.IsCode(e, care.ECONFLICT):
				res.Failure, res.Reason = FailureDuplicate, "SOP instance "+res.SOPUID+" is already stored"
			default:
				res.Failure, res.Reason = FailureProcessing, "the instance could not be stored"
			}
		}
		batch, slot, arena = batch[:0], slot[:0], arena[:0]
	}
	for {
		b, err := next()
		if err == io.EOF {
			flush()
			return out, nil
		}
		if err != nil && !errors.Is(err, ErrInstanceTooLarge) {
			flush() // the instances read before the break are stored
			return out, err
		}
		out = append(out, StowResult{})
		res := &out[len(out)-1]
		if err != nil || len(b) > MaxDICOMBytes {
			res.Failure, res.Reason = FailureTooLarge, fmt.Sprintf("instance larger than %d MiB", MaxDICOMBytes>>20)
			continue
		}
		in, err := ReadDICOM(b)
		if err != nil && care.IsCode(err, care.ETOOLARGE) {
			res.Failure, res.Reason = FailureTooLarge, "over a limit: "+fmt.Sprint(err.(*care.Error).Args...)
			continue
		}
		if err != nil {
			res.Failure, res.Reason = FailureCannotRead, errText(err)
			continue
		}
		res.SOPClassUID, res.SOPUID, res.StudyUID = in.SOPClassUID, in.SOPUID, in.StudyUID
		if study != "" && in.StudyUID != study {
			res.Failure, res.Reason = FailureStudyMismatch, "the instance belongs to study "+in.StudyUID+", not "+study
			continue
		}
		pid := strings.TrimSpace(in.FilePatientID)
		rv, ok := byPID[pid]
		if !ok {
			rv.r, rv.err = s.resolve(ctx, a, pid)
			byPID[pid] = rv
		}
		if rv.r == nil {
			res.Failure, res.Reason = FailureProcessing, rv.err
			s.denied(ctx, a, ActSTOW, "sop="+in.SOPUID+" "+rv.err)
			continue
		}
		r := rv.r
		if m := patientMismatch(in.FilePatientName, "", r); m != "" && !strings.EqualFold(pid, string(r.IDNumber)) {
			// Matched by health-record number: the name must agree too.
			res.Failure, res.Reason = FailureProcessing, "Patient ID "+pid+" is a health-record number whose resident has another name than the file's"
			s.denied(ctx, a, ActSTOW, "sop="+in.SOPUID+" name mismatch")
			continue
		}
		in.CountyCode, in.ResidentID, in.ClinicID, in.OrderedBy, in.CenterID = r.CountyCode, r.ID, c.InstitutionID, 0, c.CenterID
		in.FileName, in.Status, in.UploadedAt, in.DeviceID = in.SOPUID+".dcm", StatusWaiting, s.Now().UTC(), c.ID
		link := &access.CareLink{CountyCode: r.CountyCode, ResidentID: r.ID, InstitutionID: c.CenterID, Kind: access.LinkStudy,
			Reason: "imaging", CreatedBy: 0}
		ev := audit.New(ctx, a, ActSTOW, r.ID)
		ev.CountyCode = r.CountyCode
		ev.Detail = fmt.Sprintf("client=%s center=%d modality=%s sop=%s preview=%t", c.Name, c.CenterID, in.Modality, in.SOPUID, in.NoPreview == "")
		if len(arena)+len(b) > StowBatchBytes || len(batch) >= StowBatchInstances {
			flush()
		}
		if len(b) <= StowBatchBytes {
			if arena == nil {
				arena = (*stowArenas.Get().(*[]byte))[:0]
				defer func(a []byte) { stowArenas.Put(&a) }(arena)
			}
			arena = append(arena, b...)
			in.File = arena[len(arena)-len(b):]
		}
		batch = append(batch, ImagingSave{Instance: in, Link: link, Event: ev})
		slot = append(slot, len(out)-1)
		if len(b) > StowBatchBytes {
			flush() // a large instance is a batch alone, stored from next's buffer before it is reused
		}
	}
}

func errKey(err error) string {
	var e *care.Error
	if errors.As(err, &e) {
		return e.Key
	}
	return ""
}

func errText(err error) string {
	if e, ok := err.(*care.Error); ok && len(e.Args) > 0 {
		return fmt.Sprint("not a readable DICOM file: ", e.Args[0])
	}
	return "not a readable DICOM file"
}

func (s *DICOMweb) denied(ctx context.Context, a care.Actor, action, detail string) {
	ev := audit.New(ctx, a, action, 0)
	ev.Outcome = audit.OutcomeDenied
	ev.Detail = truncate(detail, 200)
	s.Audit.Record(ctx, ev)
}

// resolve finds the resident of a Patient ID: a GB 11643 ID number or a
// health-record number of a resident a may see. It returns the reason
// when there is none.
func (s *DICOMweb) resolve(ctx context.Context, a care.Actor, pid string) (*resident.Resident, string) {
	if pid == "" {
		return nil, "the file has no Patient ID (0010,0020): it must be the resident's ID number or health-record number"
	}
	found, _, err := s.Residents.Search(ctx, a, pid, resident.Filter{Limit: 5})
	if err != nil && !care.IsCode(err, care.EINVALID) {
		return nil, "the resident could not be looked up"
	}
	for i := range found {
		r := &found[i]
		if (strings.EqualFold(pid, string(r.IDNumber)) || pid == r.RecordNumber) && r.Status == resident.StatusActive {
			return r, ""
		}
	}
	return nil, "Patient ID " + pid + " is not the ID number or health-record number of a resident this institution may see"
}

// SearchStudies answers a QIDO-RS study search within what a may see, and
// audits it with the residents it returned. Errors: EINVALID (bad query).
func (s *DICOMweb) SearchStudies(ctx context.Context, a care.Actor, q StudyQuery) ([]ImagingStudy, error) {
	inst, err := s.visible(ctx, a)
	if err != nil {
		return nil, err
	}
	q.CountyCode, q.Institutions = a.CountyCode, inst
	if q.Limit <= 0 {
		q.Limit = DefaultQIDOLimit
	}
	q.Limit = min(q.Limit, MaxQIDOLimit)
	out, err := s.Repo.SearchImagingStudies(ctx, q)
	if err != nil {
		return nil, err
	}
	s.auditStudies(ctx, a, ActQIDO, "studies", out)
	return out, nil
}

func (s *DICOMweb) auditStudies(ctx context.Context, a care.Actor, action, what string, sts []ImagingStudy) {
	ev := audit.New(ctx, a, action, 0)
	ids := make([]string, 0, len(sts))
	seen := map[int64]bool{}
	for _, st := range sts {
		if !seen[st.ResidentID] {
			seen[st.ResidentID] = true
			ids = append(ids, fmt.Sprint(st.ResidentID))
		}
	}
	if len(seen) == 1 {
		ev.ResidentID = sts[0].ResidentID
	}
	ev.Detail = truncate(fmt.Sprintf("%s n=%d residents=%s", what, len(sts), strings.Join(ids, ",")), 1000)
	s.Audit.Record(ctx, ev)
}

// Study returns a study a may see, auditing the access under action.
// Errors: ENOTFOUND (missing or not visible, audited as denied).
func (s *DICOMweb) Study(ctx context.Context, a care.Actor, uid, action string) (*ImagingStudy, error) {
	inst, err := s.visible(ctx, a)
	if err != nil {
		return nil, err
	}
	st, err := s.Repo.ImagingStudyByUID(ctx, a.CountyCode, uid)
	if err == nil && !s.sees(inst, st) {
		ev := audit.New(ctx, a, action, st.ResidentID)
		ev.CountyCode, ev.Outcome, ev.Detail = st.CountyCode, audit.OutcomeDenied, "study not visible"
		s.Audit.Record(ctx, ev)
		err = care.Errorf(care.ENOTFOUND, "dicomweb.study_not_found")
	}
	if care.IsCode(err, care.ENOTFOUND) {
		return nil, care.Errorf(care.ENOTFOUND, "dicomweb.study_not_found")
	}
	return st, err
}

// Series lists the series of a visible study (QIDO-RS), audited.
func (s *DICOMweb) Series(ctx context.Context, a care.Actor, q InstanceQuery) ([]ImagingSeries, error) {
	st, err := s.Study(ctx, a, q.StudyUID, ActQIDO)
	if err != nil {
		return nil, err
	}
	q.CountyCode = st.CountyCode
	out, err := s.Repo.ImagingSeriesOf(ctx, q)
	if err != nil {
		return nil, err
	}
	s.auditStudies(ctx, a, ActQIDO, "series study="+st.StudyUID, []ImagingStudy{*st})
	return out, nil
}

// Instances lists instances of a visible study (QIDO-RS, and what WADO-RS
// retrieves), audited under action. A series or instance filter that
// matches nothing is ENOTFOUND for WADO.
func (s *DICOMweb) Instances(ctx context.Context, a care.Actor, q InstanceQuery, action string) (*ImagingStudy, []ImagingInstance, error) {
	st, err := s.Study(ctx, a, q.StudyUID, action)
	if err != nil {
		return nil, nil, err
	}
	q.CountyCode = st.CountyCode
	out, err := s.Repo.ImagingInstancesOf(ctx, q)
	if err != nil {
		return nil, nil, err
	}
	if action == ActWADO && len(out) == 0 {
		return nil, nil, care.Errorf(care.ENOTFOUND, "dicomweb.study_not_found")
	}
	s.auditStudies(ctx, a, action, fmt.Sprintf("instances study=%s series=%s sop=%s n=%d", st.StudyUID, q.SeriesUID, q.SOPUID, len(out)), []ImagingStudy{*st})
	return st, out, nil
}

// SampleFile returns the bytes of the first instance of a study (or of a
// series of it) that SearchStudies, Study or Instances returned (scope
// checked and audited there): the file QIDO-RS includefield reads the
// attributes the study and series rows do not keep from. ENOTFOUND when
// the study has no instance (of that series).
func (s *DICOMweb) SampleFile(ctx context.Context, st *ImagingStudy, seriesUID string) ([]byte, error) {
	ins, err := s.Repo.ImagingInstancesOf(ctx, InstanceQuery{CountyCode: st.CountyCode, StudyUID: st.StudyUID, SeriesUID: seriesUID, Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(ins) == 0 {
		return nil, care.Errorf(care.ENOTFOUND, "dicomweb.study_not_found")
	}
	return s.Repo.ImagingFile(ctx, ins[0].CountyCode, ins[0].ID)
}

// File returns the bytes of an instance listed by Instances.
func (s *DICOMweb) File(ctx context.Context, in *ImagingInstance) ([]byte, error) {
	return s.Repo.ImagingFile(ctx, in.CountyCode, in.ID)
}

// FileAppend is File into buf[:0]: a retrieve that sends the bytes and
// reuses buf allocates nothing per instance.
func (s *DICOMweb) FileAppend(ctx context.Context, in *ImagingInstance, buf []byte) ([]byte, error) {
	return s.Repo.ImagingFileAppend(ctx, in.CountyCode, in.ID, buf)
}

// ResidentImaging lists the imaging studies of a resident in a's scope
// with their instances (the resident's imaging page), audited.
// Errors: ENOTFOUND (missing or out of scope).
func (s *DICOMweb) ResidentImaging(ctx context.Context, a care.Actor, residentID int64) (*resident.Resident, []ImagingStudy, []ImagingInstance, error) {
	r, err := s.Residents.Get(ctx, a, residentID)
	if err != nil {
		return nil, nil, nil, err
	}
	sts, err := s.Repo.ImagingStudiesOf(ctx, r.CountyCode, r.ID)
	if err != nil {
		return nil, nil, nil, err
	}
	ins, err := s.Repo.ImagingInstances(ctx, r.CountyCode, r.ID)
	if err != nil {
		return nil, nil, nil, err
	}
	ev := audit.New(ctx, a, ActImagingList, r.ID)
	ev.CountyCode, ev.Detail = r.CountyCode, fmt.Sprintf("studies=%d instances=%d", len(sts), len(ins))
	s.Audit.Record(ctx, ev)
	return r, sts, ins, nil
}

// ResidentInstanceFile returns the bytes of instance id of a resident in
// a's scope (for the preview), audited. Errors: ENOTFOUND.
func (s *DICOMweb) ResidentInstanceFile(ctx context.Context, a care.Actor, residentID, id int64) ([]byte, error) {
	r, err := s.Residents.Get(ctx, a, residentID)
	if err != nil {
		return nil, err
	}
	ins, err := s.Repo.ImagingInstances(ctx, r.CountyCode, r.ID)
	if err != nil {
		return nil, err
	}
	for _, in := range ins {
		if in.ID == id {
			ev := audit.New(ctx, a, ActImagingView, r.ID)
			ev.CountyCode, ev.Detail = r.CountyCode, "sop="+in.SOPUID
			s.Audit.Record(ctx, ev)
			return s.Repo.ImagingFile(ctx, r.CountyCode, id)
		}
	}
	return nil, care.Errorf(care.ENOTFOUND, "dicomweb.study_not_found")
}

// NameKey is the form of a person name QIDO-RS PatientName matching uses:
// each PN group ("=") with "^", spaces and "·" removed and lower-cased,
// wrapped in "=" (e.g. "Zhang^San=张^三" → "=zhangsan=张三="), so a
// pattern can match any one group whole.
func NameKey(pn string) string {
	var b strings.Builder
	b.WriteByte('=')
	for _, g := range strings.Split(pn, "=") {
		if n := normName(g); n != "" {
			b.WriteString(n)
			b.WriteByte('=')
		}
	}
	return b.String()
}

// NameGroups returns the alphabetic and ideographic groups of a PN value
// normalised as in NameKey ("Zhang^San=张^三" → "zhangsan", "张三").
func NameGroups(pn string) (alpha, ideo string) {
	g := strings.SplitN(pn, "=", 3)
	alpha = normName(g[0])
	if len(g) > 1 {
		ideo = normName(g[1])
	}
	return alpha, ideo
}

// NamePattern normalises a QIDO-RS PatientName pattern the way NameKey
// normalises names (keeping the * and ? wildcards).
func NamePattern(p string) string {
	return strings.Map(func(r rune) rune {
		if r == '^' || r == '=' || unicode.IsSpace(r) || r == '·' {
			return -1
		}
		return unicode.ToLower(r)
	}, p)
}

// deviceKinds are the institutions a DICOMweb device may belong to.
var deviceKinds = map[org.Kind]bool{org.KindCountyHospital: true, org.KindDiagnosis: true, org.KindSubCenter: true, org.KindCentralHC: true,
	org.KindTownshipHC: true, org.KindVillageClinic: true}
