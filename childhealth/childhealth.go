// Package childhealth is the health management of children aged 0–6
// (0～6岁儿童健康管理) of the National Basic Public Health Service Spec,
// 3rd edition (国家基本公共卫生服务规范（第三版）, 2017), §3: the newborn
// home visit, the checks at the spec's ages with their due windows, growth
// scored against the WHO Child Growth Standards by the LMS method
// (weight-for-age, length/height-for-age, weight-for-length/height,
// BMI-for-age), the nutrition classification by z-score cut-offs, a growth
// chart, and the overdue list per township. Pure Go: the storage is a
// Repository.
package childhealth

import (
	"fmt"
	"time"

	"countycare/care"
)

// Sex indexes the WHO tables: 1 boys, 2 girls.
type Sex int

// Sexes as the WHO tables code them.
const (
	Boy  Sex = 1
	Girl Sex = 2
)

// Kind is one of the spec's child health services.
type Kind string

// The spec's services in order (规范 §3 服务内容): the newborn home visit
// (新生儿家庭访视), the first-month check (新生儿满月健康管理), infant and
// toddler checks at 3, 6, 8, 12, 18, 24, 30 and 36 months (婴幼儿健康管理),
// and the yearly preschool checks at 4, 5 and 6 years (学龄前儿童健康管理).
const (
	KindNewborn Kind = "newborn"
	KindM1      Kind = "m1"
	KindM3      Kind = "m3"
	KindM6      Kind = "m6"
	KindM8      Kind = "m8"
	KindM12     Kind = "m12"
	KindM18     Kind = "m18"
	KindM24     Kind = "m24"
	KindM30     Kind = "m30"
	KindM36     Kind = "m36"
	KindY4      Kind = "y4"
	KindY5      Kind = "y5"
	KindY6      Kind = "y6"
)

// Kinds lists the services in schedule order.
var Kinds = []Kind{KindNewborn, KindM1, KindM3, KindM6, KindM8, KindM12, KindM18, KindM24, KindM30, KindM36, KindY4, KindY5, KindY6}

// Valid reports whether k is one of Kinds.
func (k Kind) Valid() bool { return k.index() >= 0 }

func (k Kind) index() int {
	for i, x := range Kinds {
		if x == k {
			return i
		}
	}
	return -1
}

// Status of a child's record.
type Status string

// Statuses: active until the 6-year check is done or missed past its window
// (then closed by the next write), closed otherwise.
const (
	StatusActive Status = "active"
	StatusClosed Status = "closed"
)

// Child is a child under management (儿童健康档案): a resident aged under
// 7 at registration, with the birth facts the newborn visit needs and the
// next service due.
type Child struct {
	ID            int64     `json:"id"`
	CountyCode    string    `json:"county_code"`
	ResidentID    int64     `json:"resident_id"`
	ManagedBy     int64     `json:"managed_by"` // the resident's village clinic
	Sex           Sex       `json:"sex"`
	BirthDate     care.Date `json:"birth_date"`
	DischargedOn  care.Date `json:"discharged_on"` // from the birth hospital (zero: born at home, birth date counts)
	BirthWeightG  int       `json:"birth_weight_g"`
	BirthLengthMM int       `json:"birth_length_mm"`
	GestWeeks     int       `json:"gest_weeks"`
	Status        Status    `json:"status"`
	RegisteredOn  care.Date `json:"registered_on"`
	RegisteredBy  int64     `json:"-"`
	NextKind      Kind      `json:"next_kind,omitempty"`
	NextFrom      care.Date `json:"next_from"`
	NextDue       care.Date `json:"next_due"` // the last day of the next service's window
	Version       int       `json:"version"`
	Name          string    `json:"name,omitempty"` // lists only
	Phone         string    `json:"phone,omitempty"`
}

// Check is one service done: the date, the measurements (grams and
// millimetres; 0 not measured), the z-scores and the classification.
type Check struct {
	ID         int64     `json:"id"`
	ChildID    int64     `json:"child_id"`
	CountyCode string    `json:"-"`
	ResidentID int64     `json:"-"`
	Kind       Kind      `json:"kind"`
	Date       care.Date `json:"date"`
	AgeDays    int       `json:"age_days"`
	WeightG    int       `json:"weight_g"`
	LengthMM   int       `json:"length_mm"`
	HeadMM     int       `json:"head_mm"`
	Scores     Scores    `json:"scores"`
	Findings   []Finding `json:"findings"`
	Note       string    `json:"note"`
	ClinicID   int64     `json:"clinic_id"`
	By         int64     `json:"-"`
	CreatedAt  time.Time `json:"created_at"`
}

// Window is the first and last day a service is due.
type Window struct {
	Kind     Kind
	From, To care.Date
}

// Schedule returns the window of kind k for a child born on birth and
// discharged on discharged (zero: birth counts). The newborn home visit
// is due within 7 days of discharge (规范 §3(一) 新生儿家庭访视: 出院后1周内);
// the first-month check at 28–30 days (§3(二) 新生儿出生后28～30天); the
// later checks at their ages (§3(三)(四)), each open for the configured
// number of days (the spec names the ages, not the windows).
func (c Config) Schedule(k Kind, birth, discharged care.Date) Window {
	if discharged.IsZero() || discharged.Before(birth) {
		discharged = birth
	}
	switch k {
	case KindNewborn:
		return Window{k, discharged, discharged.AddDays(c.NewbornVisitDays)}
	case KindM1:
		return Window{k, birth.AddDays(c.FirstMonthFrom), birth.AddDays(c.FirstMonthTo)}
	}
	months := map[Kind]int{KindM3: 3, KindM6: 6, KindM8: 8, KindM12: 12, KindM18: 18, KindM24: 24, KindM30: 30, KindM36: 36,
		KindY4: 48, KindY5: 60, KindY6: 72}[k]
	from := care.DateOf(birth.Time().AddDate(0, months, 0))
	span := c.InfantWindowDays
	if months > 36 {
		span = c.PreschoolWindowDays
	}
	return Window{k, from, from.AddDays(span - 1)}
}

// Next is the next service due after the last one done (last "" for
// none): the first kind after it whose window has not closed before
// today, so a missed check is missed, not owed forever — except that the
// overdue list shows the latest missed one until the next window opens.
// ok is false when nothing is left (the 6-year check is past).
func (c Config) Next(ch *Child, last Kind, today care.Date) (Window, bool) {
	start := 0
	if last != "" {
		start = last.index() + 1
	}
	for i := start; i < len(Kinds); i++ {
		w := c.Schedule(Kinds[i], ch.BirthDate, ch.DischargedOn)
		if i+1 < len(Kinds) && !today.Before(c.Schedule(Kinds[i+1], ch.BirthDate, ch.DischargedOn).From) {
			continue // the next window is open: this one was missed
		}
		return w, true
	}
	return Window{}, false
}

// Finding is a classification of a check's growth.
type Finding string

// Findings by z-score cut-off (WHO Child Growth Standards 2006 and the
// WHO/UNICEF definitions; 国家卫生健康委《儿童营养性疾病管理技术规范》
// (2012) uses the same): underweight WAZ < −2 (severe < −3), stunting
// HAZ < −2 (severe < −3), wasting WHZ < −2 (severe < −3), overweight
// WHZ > +2, obesity WHZ > +3.
const (
	Underweight       Finding = "underweight"
	UnderweightSevere Finding = "underweight_severe"
	Stunting          Finding = "stunting"
	StuntingSevere    Finding = "stunting_severe"
	Wasting           Finding = "wasting"
	WastingSevere     Finding = "wasting_severe"
	Overweight        Finding = "overweight"
	Obesity           Finding = "obesity"
)

// Classify returns the findings of sc by the cut-offs above.
func Classify(sc Scores) []Finding {
	var out []Finding
	low := func(z *float64, mod, sev Finding) {
		switch {
		case z == nil:
		case *z < -3:
			out = append(out, sev)
		case *z < -2:
			out = append(out, mod)
		}
	}
	low(sc.WAZ, Underweight, UnderweightSevere)
	low(sc.HAZ, Stunting, StuntingSevere)
	low(sc.WHZ, Wasting, WastingSevere)
	if sc.WHZ != nil {
		switch {
		case *sc.WHZ > 3:
			out = append(out, Obesity)
		case *sc.WHZ > 2:
			out = append(out, Overweight)
		}
	}
	return out
}

// Plausible checks sc against the WHO's flags for implausible values
// (WHO Anthro manual, 2011, "flagged" z-scores: WAZ < −6 or > +5,
// HAZ < −6 or > +6, WHZ and BAZ < −5 or > +5): a value outside is a
// mistyped measurement, not a child. It returns the field errors.
func Plausible(sc Scores) []care.FieldError {
	var fs []care.FieldError
	chk := func(z *float64, lo, hi float64, field, ind string) {
		if z != nil && (*z < lo || *z > hi) {
			fs = append(fs, care.FieldError{Field: field, Key: "childhealth.implausible", Args: []any{ind, fmt.Sprintf("%+.1f", *z)}})
		}
	}
	chk(sc.WAZ, -6, 5, "weight", "WAZ")
	chk(sc.HAZ, -6, 6, "length", "HAZ")
	chk(sc.WHZ, -5, 5, "weight", "WHZ")
	chk(sc.BAZ, -5, 5, "weight", "BAZ")
	return fs
}
