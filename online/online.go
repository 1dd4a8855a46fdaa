// Package online is the internet hospital's online follow-up visit (互联网
// 复诊): a resident, or a doctor on their behalf, books a visit for a
// condition diagnosed at an offline visit (线下首诊、线上复诊); the doctor
// proves who they are again at the start of each session (step-up); doctor
// and resident chat (text and images, kept ≥ 3 years); the doctor
// prescribes through the rx engine on the online channel, or ends the visit
// and redirects the resident offline.
//
// The rules come from 互联网诊疗管理办法（试行）(国卫医发〔2018〕25号) and
// 互联网诊疗监管细则（试行）(国卫办医发〔2022〕2号), summarised in
// policy-rules.md §4. Each rule below names its source. The package holds
// the rules and the service; storage is a Repository, with no SQL here.
package online

import (
	"strings"
	"time"

	"countycare/care"
	"countycare/chronic"
	"countycare/idcard"
)

// Sources cited by this package's rules.
const (
	SrcFollowUpOnly = "互联网诊疗管理办法（试行）（2018）第十六条：确定患者在实体医疗机构明确诊断后，可以针对相同诊断进行复诊；不得对首诊患者开展互联网诊疗活动"
	SrcPriorDocs    = "互联网诊疗监管细则（试行）（2022）：患者复诊时应当提供具有明确诊断的病历资料 [U 条款号]"
	SrcRedirect     = "互联网诊疗管理办法（试行）（2018）第十六条；互联网诊疗监管细则（试行）（2022）：首诊或病情变化需亲自诊查的，应当立即终止互联网诊疗活动，引导患者到实体医疗机构就诊"
	SrcRealName     = "互联网诊疗监管细则（试行）（2022）：医务人员在开展互联网诊疗活动前应当进行实名认证，不得他人代替 [U 条款号]"
	SrcRetention    = "互联网诊疗监管细则（试行）（2022）：病历保存不少于15年；图文对话、音视频资料等过程记录保存时间不得少于3年 [U 条款号]"
	SrcChild        = "互联网诊疗管理办法（试行）（2018）第十九条：为6岁以下儿童开具互联网儿童用药处方时，应当确认患儿有监护人和相关专业医师陪伴"
	SrcPractice     = "互联网诊疗管理办法（试行）（2018）：医师应当具有3年以上独立临床工作经验 [U 条款号]"
)

// Status is where an online visit stands.
type Status string

// Visit states: booked and waiting, in session with a doctor, ended
// (the follow-up took place) or redirected offline (ended with a reason
// the resident sees).
const (
	StatusBooked     Status = "booked"     // 已预约，待接诊
	StatusInSession  Status = "in_session" // 接诊中
	StatusEnded      Status = "ended"      // 已结束
	StatusRedirected Status = "redirected" // 已终止，转线下就诊
)

// Open reports whether the visit still takes messages and prescriptions.
func (s Status) Open() bool { return s == StatusBooked || s == StatusInSession }

// Document kinds that prove an offline diagnosis (首诊病历资料), as the
// repository holds them.
const (
	DocChronic      = "chronic"      // 慢病管理登记（线下建档）
	DocDischarge    = "discharge"    // 出院下转单（住院诊断）
	DocConsultation = "consultation" // 远程会诊意见（患者在邀请方线下就诊）
	DocPrescription = "prescription" // 线下门诊处方（含 ICD-10 诊断）
)

// PriorDocument is one offline record with a diagnosis: its kind and ID,
// the ICD-10 codes it names (for a chronic registration, the category
// prefixes of its disease), the day and the institution.
type PriorDocument struct {
	Kind          string
	ID            int64
	Codes         []string
	On            care.Date
	InstitutionID int64
}

// DiseaseICD10 gives the ICD-10 categories of a chronic registry's
// disease (the registries of 国家基本公共卫生服务规范（第三版）): primary
// hypertension I10–I15, type 2 diabetes E11, the six severe mental
// disorders F20, F25, F22, F31, F06 and F70–F79, pulmonary tuberculosis
// A15–A19, viral hepatitis B and C B16–B19.
func DiseaseICD10(d chronic.Disease) []string {
	switch d {
	case chronic.Hypertension:
		return []string{"I10", "I11", "I12", "I13", "I15"}
	case chronic.Diabetes:
		return []string{"E11"}
	case chronic.Mental:
		return []string{"F20", "F25", "F22", "F31", "F06", "F70", "F71", "F72", "F73", "F78", "F79"}
	case chronic.Tuberculosis:
		return []string{"A15", "A16", "A17", "A18", "A19"}
	case chronic.Hepatitis:
		return []string{"B16", "B17", "B18", "B19"}
	}
	return nil
}

// Category is the three-character ICD-10 category of a code ("I10.x00" →
// "I10"), upper case; "" if the code is shorter.
func Category(code string) string {
	code = strings.ToUpper(strings.TrimSpace(code))
	if len(code) < 3 {
		return ""
	}
	return code[:3]
}

// FindPriorDiagnosis returns the most recent document that diagnosed the
// condition offline: one naming a code of the same ICD-10 category as
// code. A follow-up is for a condition already diagnosed, so a category
// match (I10 for I10.x) is the same condition; a code of another category
// is a new diagnosis — a first visit, which may not happen online
// (SrcFollowUpOnly, SrcPriorDocs). Nil when none matches.
func FindPriorDiagnosis(code string, docs []PriorDocument) *PriorDocument {
	cat := Category(code)
	if cat == "" {
		return nil
	}
	var best *PriorDocument
	for i := range docs {
		for _, c := range docs[i].Codes {
			if Category(c) == cat {
				if best == nil || docs[i].On.After(best.On) {
					best = &docs[i]
				}
				break
			}
		}
	}
	return best
}

// ChatRetention is the shortest time chat, images, audio and video of an
// online visit are kept: 3 years (SrcRetention). Longer is allowed; the
// medical record itself (prescriptions, the visit) follows the outpatient
// record's 15 years and is never purged here.
const ChatRetention = 3 * 365 * 24 * time.Hour

// PurgeAllowed reports whether chat written at `written` may be purged at
// now: only once it is older than three calendar years (SrcRetention).
func PurgeAllowed(written, now time.Time) bool {
	return !now.Before(written.AddDate(3, 0, 0))
}

// GuardianAgeYears is the age under which an online visit needs a
// guardian present (SrcChild).
const GuardianAgeYears = 6

// NeedsGuardian reports whether a patient born on birth needs a guardian
// at an online visit on day (under 6, SrcChild). An unknown birth date
// needs none here (the rx engine still checks the age it is given).
func NeedsGuardian(birth, day care.Date) bool {
	return !birth.IsZero() && birth.AgeOn(day) < GuardianAgeYears
}

// Guardian is the person present with a child at an online visit
// (监护人): name and resident ID number, recorded on the visit.
type Guardian struct {
	Name     string
	IDNumber string
}

// ValidateGuardian checks a guardian: a name of 2 to 30 characters and a
// valid GB 11643 ID number of an adult (18 or over on day). The errors
// name the field and the fault.
func ValidateGuardian(g *Guardian, day care.Date) []care.FieldError {
	var fs []care.FieldError
	g.Name = strings.TrimSpace(g.Name)
	g.IDNumber = strings.ToUpper(strings.TrimSpace(g.IDNumber))
	if n := len([]rune(g.Name)); n < 2 || n > 30 {
		fs = append(fs, care.FieldError{Field: "guardian_name", Key: "online.guardian_name"})
	}
	num, err := idcard.Parse(g.IDNumber, day.Time())
	if f, ok := err.(*idcard.Fault); ok {
		fs = append(fs, care.FieldError{Field: "guardian_id_number", Key: f.Key, Args: f.Args})
	} else if err != nil {
		fs = append(fs, care.FieldError{Field: "guardian_id_number", Key: "online.guardian_id"})
	} else {
		g.IDNumber = string(num)
		if care.DateOf(num.BirthDate()).AgeOn(day) < 18 {
			fs = append(fs, care.FieldError{Field: "guardian_id_number", Key: "online.guardian_adult"})
		}
	}
	return fs
}

// MinPracticeYears is the independent practice an online doctor needs
// (SrcPractice).
const MinPracticeYears = 3

// StepUpValid reports whether a doctor's re-authentication still holds
// for a request in session sessionID: the step-up belongs to one sign-in
// session and ends with it (SrcRealName). A new session — after sign-out,
// expiry or another sign-in — must re-authenticate.
func StepUpValid(v *Visit, doctorAccount, sessionID int64) bool {
	return v.Status == StatusInSession && v.DoctorAccount == doctorAccount && v.DoctorSession != 0 && v.DoctorSession == sessionID
}

// Visit is one online follow-up visit (在线复诊). Diagnosis is the ICD-10
// code of the condition followed up; Prior* name the offline document
// that diagnosed it. DoctorSession is the sign-in session in which the
// doctor re-authenticated; the visit's rights end with it.
type Visit struct {
	ID            int64
	CountyCode    string
	ResidentID    int64
	ClinicID      int64 // the resident's managing clinic: its doctors (and their township's) see the visit
	BookedBy      int64 // account
	BookedByRole  care.Role
	Diagnosis     string
	Complaint     string
	PriorKind     string
	PriorID       int64
	PriorCode     string
	PriorOn       care.Date
	Guardian      Guardian
	Status        Status
	DoctorAccount int64
	DoctorID      int64 // practitioner
	DoctorName    string
	DoctorSession int64
	SteppedUpAt   time.Time
	EndReason     string
	EndedAt       time.Time
	CreatedAt     time.Time
	Version       int
}

// Sender of a chat message.
const (
	FromResident = "resident"
	FromDoctor   = "doctor"
)

// MaxText bounds one chat message; MaxImageBytes one image.
const (
	MaxText       = 2000
	MaxImageBytes = 5 << 20
)

// ImageTypes are the image formats the chat accepts.
var ImageTypes = map[string]bool{"image/jpeg": true, "image/png": true, "image/webp": true}

// Message is one chat message: text, an image (stored once by SHA-256)
// or both.
type Message struct {
	ID         int64
	VisitID    int64
	CountyCode string
	AccountID  int64
	From       string
	Author     string
	Text       string
	ImageSHA   string
	ImageType  string
	At         time.Time
}

// Image is an uploaded image of a message.
type Image struct {
	Type string
	Data []byte
}
