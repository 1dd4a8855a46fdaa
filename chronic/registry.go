package chronic

import (
	"time"

	"countycare/care"
)

// Registration statuses (管理状态).
const (
	StatusActive      = "active"
	StatusTransferred = "transferred" // 转出（转诊或迁往他处管理）
	StatusMoved       = "moved"       // 迁出
	StatusDied        = "died"        // 死亡
	StatusClosed      = "closed"      // 结案（如结核治疗完成）
)

// RegistrationStatuses lists the statuses.
var RegistrationStatuses = []string{StatusActive, StatusTransferred, StatusMoved, StatusDied, StatusClosed}

// Enrolment sources.
const (
	SourceDiagnosis = "diagnosis" // 确诊
	SourceReferral  = "referral"  // 转诊
	SourceScreening = "screening" // 筛查（如三次非同日血压升高）
)

// Registration is a resident's place in a disease registry (慢病管理档案).
type Registration struct {
	ID            int64
	County        string
	ResidentID    int64
	Disease       Disease
	Status        string
	Source        string
	EnrolledOn    care.Date
	ClinicID      int64 // responsible clinic (the resident's village clinic)
	DoctorID      int64 // responsible doctor (practitioner), 0 if none named
	Tier          Tier
	TierSince     care.Date
	LastClass     Class
	LastVisit     care.Date
	NextVisit     care.Date
	Risk          int // OverdueRisk of the last visit, for sorting overdue lists
	PriorStrokeMI bool
	TBPhase       string
	TBSupervisor  string
	Note          string
	ClosedOn      care.Date
	CreatedAt     time.Time
	UpdatedAt     time.Time // the last change (zero: none since CreatedAt)
	Version       int
}

// StoredVisit is a recorded follow-up with its outcome.
type StoredVisit struct {
	Visit
	ID             int64
	County         string
	RegistrationID int64
	ResidentID     int64
	Lifestyle      string
	Outcome        Outcome
	RecordedBy     int64
	InstitutionID  int64
	CreatedAt      time.Time
}

// TierChange is a move between tiers and the hand-off it creates: the
// receiving institution must acknowledge it.
type TierChange struct {
	ID             int64
	County         string
	RegistrationID int64
	ResidentID     int64
	From, To       Tier
	Reason         string
	ToInstitution  int64
	AcknowledgedBy int64
	AcknowledgedAt time.Time
	CreatedAt      time.Time
}

// Call outcomes on an overdue list, and how many days each hides the
// patient from the list ([U], Config.CallHideDays).
const (
	CallAgreed      = "agreed"       // 同意来随访
	CallRemindLater = "remind_later" // 稍后提醒
	CallUnreachable = "unreachable"  // 联系不上
	CallMoved       = "moved"        // 已外出/迁走
)

// CallOutcomes lists the outcomes in display order.
var CallOutcomes = []string{CallAgreed, CallRemindLater, CallUnreachable, CallMoved}

// Call is one call to an overdue patient.
type Call struct {
	ID             int64
	County         string
	RegistrationID int64
	Outcome        string
	HideUntil      care.Date
	CalledBy       int64
	CreatedAt      time.Time
}

// Overdue is one line of a clinic's overdue list.
type Overdue struct {
	Registration
	Name        string
	Phone       string
	DaysOverdue int
}
