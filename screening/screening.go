// Package screening is household screening for the "2+3" diseases (两慢三
// 病筛查): a township plans a campaign over its villages, village doctors
// record measurements per resident, the spec's screening rules mark
// suspected cases, which are routed to the township for confirmation with a
// due date — confirmed ones enrolled in the chronic registry, the others
// ruled out with a reason — and coverage and yield are counted per village.
//
// Rules exist for three of the five diseases: hypertension and type 2
// diabetes (国家基本公共卫生服务规范 第三版, the two chronic-disease
// chapters) and pulmonary tuberculosis (肺结核患者健康管理服务规范, 筛查
// 及推介转诊). The spec gives no household screening rule for severe mental
// disorders or viral hepatitis, so campaigns cannot name them. A suspected
// case from another source (the elderly check-up, a clinic visit) enters
// through Service.Suspect.
package screening

import (
	"slices"
	"time"

	"countycare/care"
	"countycare/chronic"
)

// Screenable lists the diseases a campaign may screen for, in display order.
var Screenable = []chronic.Disease{chronic.Hypertension, chronic.Diabetes, chronic.Tuberculosis}

// CanScreen reports whether the spec gives a screening rule for d.
func CanScreen(d chronic.Disease) bool { return slices.Contains(Screenable, d) }

// Campaign is a township's screening campaign (筛查活动) over some of its
// villages for a period.
type Campaign struct {
	ID         int64             `json:"id"`
	CountyCode string            `json:"county_code"`
	TownshipID int64             `json:"township_id"`
	Name       string            `json:"name"`
	Diseases   []chronic.Disease `json:"diseases"`
	Villages   []int64           `json:"villages"`
	MinAge     int               `json:"min_age"`
	StartsOn   care.Date         `json:"starts_on"`
	EndsOn     care.Date         `json:"ends_on"`
	CreatedBy  int64             `json:"created_by"`
	CreatedAt  time.Time         `json:"created_at"`
}

// Screens reports whether the campaign screens for d.
func (c *Campaign) Screens(d chronic.Disease) bool { return slices.Contains(c.Diseases, d) }

// Covers reports whether village is one of the campaign's.
func (c *Campaign) Covers(village int64) bool { return slices.Contains(c.Villages, village) }

// Open reports whether the campaign is under way on day: measurements are
// recorded from its first day to its last.
func (c *Campaign) Open(day care.Date) bool { return !day.Before(c.StartsOn) && !day.After(c.EndsOn) }

// Worklist is an open campaign as a village doctor works it: the residents
// of their village still to be screened (the campaign's target — active,
// of its age, not registered for every disease it screens — with no
// measurement in it yet).
type Worklist struct {
	Campaign Campaign
	ToScreen []int64
}

// Result is what a screening rule concludes for one disease.
type Result string

// Results.
const (
	Normal     Result = "normal"     // 未见异常
	Recheck    Result = "recheck"    // 血压升高，预约非同日复查
	Suspected  Result = "suspected"  // 疑似，转乡镇卫生院确诊
	Registered Result = "registered" // 已在管理，不再筛查
)

// Measurement is one resident's screening on one day (0: not measured).
// Blood pressure is measured twice (mmHg); glucose is capillary or venous
// plasma glucose in tenths of mmol/L with the hours since the last meal.
type Measurement struct {
	ID          int64                      `json:"id"`
	CountyCode  string                     `json:"county_code"`
	CampaignID  int64                      `json:"campaign_id"`
	ResidentID  int64                      `json:"resident_id"`
	VillageID   int64                      `json:"village_id"`
	Date        care.Date                  `json:"date"`
	SBP1        int                        `json:"sbp1"`
	DBP1        int                        `json:"dbp1"`
	SBP2        int                        `json:"sbp2"`
	DBP2        int                        `json:"dbp2"`
	Glucose     int                        `json:"glucose"`
	MealHours   int                        `json:"meal_hours"`
	CoughDays   int                        `json:"cough_days"`
	Haemoptysis bool                       `json:"haemoptysis"`
	BPRaised    bool                       `json:"bp_raised"`
	Results     map[chronic.Disease]Result `json:"results"`
	By          int64                      `json:"by"`
	CreatedAt   time.Time                  `json:"created_at"`
}

// HasBP reports whether blood pressure was measured.
func (m *Measurement) HasBP() bool { return m.SBP1 != 0 || m.DBP1 != 0 || m.SBP2 != 0 || m.DBP2 != 0 }

// MeanBP is the mean of the two readings, rounded.
func (m *Measurement) MeanBP() (sbp, dbp int) {
	return (m.SBP1 + m.SBP2 + 1) / 2, (m.DBP1 + m.DBP2 + 1) / 2
}

// Case statuses.
const (
	CasePending   = "pending"   // 待确诊
	CaseConfirmed = "confirmed" // 已确诊并纳入管理
	CaseRuledOut  = "ruled_out" // 已排除
)

// Sources of a suspected case.
const (
	SourceCampaign = "campaign" // 入户筛查
	SourceCheckup  = "checkup"  // 老年人健康体检
	SourceClinic   = "clinic"   // 门诊机会性筛查
	SourceDevice   = "device"   // 健康小屋自测设备
)

// Sources lists the sources in display order.
var Sources = []string{SourceCampaign, SourceCheckup, SourceClinic, SourceDevice}

// Case is a suspected case routed to the township for confirmation (疑似
// 病例转诊确诊).
type Case struct {
	ID             int64           `json:"id"`
	CountyCode     string          `json:"county_code"`
	ResidentID     int64           `json:"resident_id"`
	VillageID      int64           `json:"village_id"`
	TownshipID     int64           `json:"township_id"`
	Disease        chronic.Disease `json:"disease"`
	Source         string          `json:"source"`
	CampaignID     int64           `json:"campaign_id,omitempty"`
	Rule           string          `json:"rule"`
	Detail         string          `json:"detail"`
	SuspectedOn    care.Date       `json:"suspected_on"`
	DueOn          care.Date       `json:"due_on"`
	Status         string          `json:"status"`
	ClosedOn       care.Date       `json:"closed_on"`
	ClosedBy       int64           `json:"closed_by,omitempty"`
	Reason         string          `json:"reason,omitempty"`
	RegistrationID int64           `json:"registration_id,omitempty"`
	Version        int             `json:"-"`
	CreatedAt      time.Time       `json:"created_at"`
	// Name and Phone are the resident's, on the follow-up list.
	Name  string `json:"name,omitempty"`
	Phone string `json:"phone,omitempty"`
}

// Overdue reports whether a pending case's confirmation is late on today.
func (c *Case) Overdue(today care.Date) bool { return c.Status == CasePending && c.DueOn.Before(today) }

// Rate is a ratio whose denominator may be empty: "no data", never 0 %.
type Rate struct {
	Num int `json:"num"`
	Den int `json:"den"`
}

// Percent is the rate in percent; ok is false when the denominator is empty.
func (r Rate) Percent() (p float64, ok bool) {
	if r.Den <= 0 {
		return 0, false
	}
	return 100 * float64(r.Num) / float64(r.Den), true
}

// Counts are a village's (or the campaign's) screening counts.
type Counts struct {
	VillageID int64 `json:"village_id"`
	Target    int   `json:"target"`    // residents aged ≥ MinAge not registered for every disease screened
	Screened  int   `json:"screened"`  // residents measured at least once
	Suspected int   `json:"suspected"` // residents with a suspected case from the campaign
	Confirmed int   `json:"confirmed"` // of which confirmed
}

// Coverage is screened / target (筛查覆盖率).
func (c Counts) Coverage() Rate { return Rate{c.Screened, c.Target} }

// Yield is suspected / screened (疑似检出率).
func (c Counts) Yield() Rate { return Rate{c.Suspected, c.Screened} }

// ConfirmedRate is confirmed / suspected (确诊率).
func (c Counts) ConfirmedRate() Rate { return Rate{c.Confirmed, c.Suspected} }

// Add adds o's counts to c.
func (c *Counts) Add(o Counts) {
	c.Target += o.Target
	c.Screened += o.Screened
	c.Suspected += o.Suspected
	c.Confirmed += o.Confirmed
}
