// Package villagesync is the sync of the offline village doctor app (村医离线
// 应用, issue 13 §1): what a device pulls (its clinic's residents, chronic
// registrations, recent follow-ups and open tasks, from a cursor) and how
// the changes it recorded offline are applied when the link returns.
//
// Every change goes through the same service as online — resident.Service
// for registrations and contact edits, chronic.Service for follow-ups and
// overdue-list calls — so scope, validation and audit are those of the
// pages. This package adds only what offline work needs: idempotency on the
// device's client ID (Receipt), an answer per record (accepted, refused with
// a reason the doctor can correct, conflicted with the server's version, or
// retry), urgent follow-ups applied first, and the conflict rules written in
// docs/village-app.md.
//
// It knows nothing of SQL or HTTP: store implements Repository, web decodes
// the wire format into Change values.
package villagesync

import (
	"regexp"
	"time"

	"countycare/care"
	"countycare/chronic"
	"countycare/resident"
	"countycare/screening"
)

// Kind is the kind of a change recorded on a device.
type Kind string

// The kinds of change a device sends.
const (
	KindRegister Kind = "register" // a new resident (居民建档)
	KindFollowUp Kind = "followup" // a chronic follow-up (慢病随访)
	KindCall     Kind = "call"     // a call to an overdue patient (逾期电话随访结果)
	KindContact  Kind = "contact"  // a corrected phone number or address
	KindService  Kind = "service"  // a family-doctor service delivered (家庭医生签约服务)
	KindEnrol    Kind = "enrol"    // a chronic registry enrolment (慢病建档/纳入管理)
	// KindScreening is a screening measurement in a campaign (入户筛查).
	KindScreening Kind = "screening"
)

// Status is the outcome of one change.
type Status string

// Outcomes of a change. Retry is transient (the server could not finish,
// or the same change is being applied by another request): the device
// keeps the change queued and sends it again.
const (
	Accepted   Status = "accepted"
	Refused    Status = "refused"
	Conflicted Status = "conflicted"
	Retry      Status = "retry"
	pending    Status = "pending" // a receipt claimed, the change not yet applied
)

// Reason codes of refusals and conflicts: stable, for the device's logic;
// the doctor reads the catalogue message that comes with them.
const (
	ReasonMalformed      = "malformed"        // the record could not be read
	ReasonBadClientID    = "bad_client_id"    // not a UUID
	ReasonUnknownKind    = "unknown_kind"     // a kind this server does not know
	ReasonClientIDReused = "client_id_reused" // the client ID came before with a different record
	ReasonOutOfScope     = "out_of_scope"     // not a resident of the doctor's clinic (or none such)
	ReasonInvalid        = "invalid"          // the national form's validation refused it
	ReasonConfirm        = "confirm"          // extreme values the doctor must confirm
	ReasonClockSkew      = "clock_skew"       // dated after the server's today: the device's clock is ahead
	ReasonDuplicate      = "duplicate"        // already registered / already a follow-up that day
	ReasonStale          = "stale"            // the server's record changed under the device's edit
	ReasonMerged         = "merged"           // the resident was merged and the change cannot follow
	ReasonNotActive      = "not_active"       // the registration is closed
	ReasonInProgress     = "in_progress"      // the same change is being applied now
	ReasonServer         = "server"           // the server failed; nothing was written
	ReasonRefPending     = "ref_pending"      // the record it builds on has not reached the server yet
	ReasonRefRefused     = "ref_refused"      // the record it builds on was refused: correct that one first
	ReasonBadRef         = "bad_ref"          // it builds on something that is not a record of this device of that kind
	// ReasonCampaignClosed: a screening dated outside its campaign's period.
	ReasonCampaignClosed = "campaign_closed"
)

// Change is one record a device sends, already decoded by the wire layer.
// Exactly one of the kind's fields is set, unless Fault is.
type Change struct {
	ClientID string // client-generated UUID: the idempotency key
	Kind     Kind
	Hash     string // digest of the record as sent: a client ID reused for another record is refused
	// Fault holds the faults of a record that could not be decoded; it is
	// refused as malformed without being applied.
	Fault []care.FieldError

	Register *resident.Input
	FollowUp *FollowUp
	Call     *Call
	Contact  *Contact
	// FamilyService is a family-doctor service delivered.
	FamilyService *FamilyService
	Enrol         *Enrol
	Screening     *Screening
}

// Screening is a screening measurement recorded offline in a campaign the
// device pulled (screening.Service.Record): the resident by ID, or by Ref
// to a registration change of the device.
type Screening struct {
	CampaignID  int64
	ResidentID  int64
	ResidentRef Ref
	Measure     screening.RecordInput
}

// Ref names another change of the same account by its client ID: a
// record made offline on something itself made offline (a follow-up on a
// registration enrolled offline, for a resident registered offline). The
// server resolves it to the record that change created, through its
// receipt; a change in the same batch is applied first.
type Ref string

// Enrol is a chronic registry enrolment recorded offline (chronic.Service.Enroll):
// the resident by ID, or by Ref to a registration change of the device.
type Enrol struct {
	ResidentID  int64
	ResidentRef Ref
	Disease     chronic.Disease
	Source      string
	On          care.Date
}

// FamilyService is a family-doctor service recorded offline: the kind
// (family.Kind), the day, a note. A contract of the resident must cover
// the day (family.Service.Record).
type FamilyService struct {
	ResidentID  int64
	ResidentRef Ref // a resident registered offline (instead of ResidentID)
	Kind        string
	Date        care.Date
	Note        string
}

// FollowUp is a follow-up recorded offline on a registration the device pulled.
type FollowUp struct {
	RegistrationID  int64
	RegistrationRef Ref // a registration enrolled offline (instead of RegistrationID)
	Visit           chronic.Visit
	Lifestyle       string
	Confirmed       bool // the doctor confirmed extreme values on the device
}

// Call is an overdue-list call outcome recorded offline.
type Call struct {
	RegistrationID int64
	Outcome        string
}

// Contact is an edit of a resident's phone number and address. Base holds
// the values the device started from: a field is applied when the
// server's value still equals its base (or already equals the new value);
// otherwise the change is conflicted and the device gets the server's
// record. Identity fields (name, ID number, sex, birth date) are the
// server's and are never edited offline.
type Contact struct {
	ResidentID         int64
	Phone, Address     string
	BasePhone, BaseAdr string
}

// Result is the answer for one change.
type Result struct {
	ClientID string `json:"id"`
	Status   Status `json:"s"`
	Reason   string `json:"why,omitempty"`
	// Key and Args name the catalogue message the doctor sees; Fields
	// the faults of single fields.
	Key    string            `json:"key,omitempty"`
	Args   []any             `json:"args,omitempty"`
	Fields []care.FieldError `json:"fields,omitempty"`
	// ServerID is what the change created or changed on the server: the
	// new resident, the stored follow-up, the call.
	ServerID int64 `json:"sid,omitempty"`
	// RedirectTo is the surviving record when the change named a resident
	// merged on the server: the device replaces its copy.
	RedirectTo int64 `json:"to,omitempty"`
	// ResidentID is the resident concerned (the new, edited, duplicate or
	// surviving record).
	ResidentID int64 `json:"rid,omitempty"`
	// Resident is the server's version of the resident concerned, for a
	// conflict or an accepted registration or edit.
	Resident *resident.Resident `json:"-"`
	// Urgent lists the urgent-transfer criteria an accepted follow-up met.
	Urgent []string `json:"urgent,omitempty"`
	// Suspected lists the suspected cases an accepted screening routed
	// to the township, with the day each is due to be confirmed.
	Suspected []Suspicion `json:"suspected,omitempty"`
	// Replayed says this is the stored answer of an earlier request with
	// the same client ID: nothing was applied again.
	Replayed bool `json:"replayed,omitempty"`
}

// Suspicion is a suspected case routed by a screening: the disease and
// the day the township is due to confirm it.
type Suspicion struct {
	Disease chronic.Disease `json:"d"`
	DueOn   care.Date       `json:"due"`
}

// Receipt is the record of one change received, keyed by account and client ID.
type Receipt struct {
	AccountID int64
	ClientID  string
	Kind      Kind
	Hash      string
	Status    Status
	Result    []byte // the Result as JSON, once applied
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Config is the sync's configuration, read once in cmd.
type Config struct {
	// MaxBatch is the most changes one push may carry.
	MaxBatch int
	// VisitHistoryDays is how far back a first pull sends follow-ups.
	VisitHistoryDays int
	// Overlap is how far before the cursor a pull looks again, so a
	// record committed late with an earlier timestamp is not missed; the
	// device upserts by ID and version, so a record sent twice is harmless.
	Overlap time.Duration
	// WipeAfter is how long a device may go without contact before it
	// wipes its local data (told to the device at every pull) [U].
	WipeAfter time.Duration
	// ClaimTimeout is how long a claimed receipt may stay pending before a
	// retry takes it over (the first request died).
	ClaimTimeout time.Duration
	// ClockSkewWarn is the difference between the device's and the
	// server's clocks beyond which the pull tells the device so.
	ClockSkewWarn time.Duration
}

// DefaultConfig returns the defaults: batches of 500, a year of
// follow-ups, two minutes' overlap, wipe after 14 days without contact.
func DefaultConfig() Config {
	return Config{MaxBatch: 500, VisitHistoryDays: 365, Overlap: 2 * time.Minute, WipeAfter: 14 * 24 * time.Hour,
		ClaimTimeout: 2 * time.Minute, ClockSkewWarn: 5 * time.Minute}
}

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// ValidClientID reports whether id is a UUID in its canonical text form.
func ValidClientID(id string) bool { return uuidRE.MatchString(id) }

// Urgent reports whether a follow-up meets an urgent-transfer criterion
// of either form (chronic.UrgentHypertension, chronic.UrgentDiabetes), so
// that it is applied first in its batch.
func Urgent(f *FollowUp, c chronic.Config) bool {
	return len(chronic.UrgentHypertension(&f.Visit, c)) > 0 || len(chronic.UrgentDiabetes(&f.Visit, c)) > 0
}
