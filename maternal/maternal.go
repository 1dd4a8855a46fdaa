// Package maternal is maternal health management (孕产妇健康管理) of the
// National Basic Public Health Service Spec, 3rd edition (国家基本公共卫生
// 服务规范（第三版）, 2017), §4 of its maternal part: registration before
// 13 weeks (建册) with the due date by Naegele's rule, the antenatal
// follow-ups (≥ 5) with their due windows, the pregnancy risk grading in
// five colours (五色管理) of the 孕产妇妊娠风险评估与管理工作规范 (国卫办
// 妇幼发〔2017〕35号) from recorded factors, referral of orange and red
// pregnancies to the county, the delivery record, the postpartum home
// visit and the 42-day check, and the overdue list per township. Pure Go:
// the storage is a Repository.
package maternal

import (
	"time"

	"countycare/care"
)

// Colour is a pregnancy's risk grade (妊娠风险分级).
type Colour string

// The five colours of the 2017 规范 (附件: 孕产妇妊娠风险评估表): green low
// risk (绿色 低风险), yellow general (黄色 一般风险), orange higher (橙色 较高
// 风险), red high (红色 高风险); purple (紫色) marks an infectious disease
// and is kept beside the grade, not instead of it.
const (
	Green  Colour = "green"
	Yellow Colour = "yellow"
	Orange Colour = "orange"
	Red    Colour = "red"
	Purple Colour = "purple"
)

func (c Colour) rank() int {
	switch c {
	case Green:
		return 1
	case Yellow:
		return 2
	case Orange:
		return 3
	case Red:
		return 4
	case Purple:
		return 0
	}
	return -1
}

// Valid reports whether c is one of the five colours.
func (c Colour) Valid() bool { return c.rank() >= 0 }

// NeedsReferral reports whether a pregnancy of colour c is managed at the
// county: the 2017 规范 第十三条 has orange pregnancies delivered and
// managed at a county-level (or higher) hospital and red ones at a
// provincial- or city-level one — either way up from the township.
func NeedsReferral(c Colour) bool { return c == Orange || c == Red }

// Grade is the highest colour of the factors (unknown codes are skipped
// by the caller's validation) and whether any is purple; with no factor a
// pregnancy is green (2017 规范 第九条: the assessment grades by the
// highest risk found).
func Grade(factors []string, table map[string]Colour) (Colour, bool) {
	best, purple := Green, false
	for _, f := range factors {
		c := table[f]
		if c == Purple {
			purple = true
			continue
		}
		if c.rank() > best.rank() {
			best = c
		}
	}
	return best, purple
}

// EDD is the expected date of delivery by Naegele's rule: the last
// menstrual period plus one year, minus three months, plus seven days —
// nine months and seven days (规范: 推算预产期).
func EDD(lmp care.Date) care.Date { return care.DateOf(lmp.Time().AddDate(0, 9, 7)) }

// GestDays is the gestational age on day counted from the last menstrual
// period (孕周 = days/7).
func GestDays(lmp, day care.Date) int { return int(day.Time().Sub(lmp.Time()).Hours() / 24) }

// Status of a pregnancy.
type Status string

// Statuses: open until delivery, delivered until the 42-day check, then
// closed; ended for a pregnancy that ended otherwise (miscarriage,
// moved away).
const (
	StatusOpen      Status = "open"
	StatusDelivered Status = "delivered"
	StatusClosed    Status = "closed"
)

// Kind is one visit of the programme.
type Kind string

// The spec's visits in order: five antenatal follow-ups (规范 服务内容
// (一)–(四): the first before 13 weeks, the second at 16–20, the third at
// 21–24, the fourth at 28–36 and the fifth at 37–41 weeks), the
// postpartum home visit (产后访视, within a week of discharge: days 3–7)
// and the 42-day check (产后42天健康检查).
const (
	Antenatal1  Kind = "antenatal1"
	Antenatal2  Kind = "antenatal2"
	Antenatal3  Kind = "antenatal3"
	Antenatal4  Kind = "antenatal4"
	Antenatal5  Kind = "antenatal5"
	Postpartum  Kind = "postpartum"
	Postpartum6 Kind = "postpartum42"
)

// Kinds lists the visits in order.
var Kinds = []Kind{Antenatal1, Antenatal2, Antenatal3, Antenatal4, Antenatal5, Postpartum, Postpartum6}

func (k Kind) index() int {
	for i, x := range Kinds {
		if x == k {
			return i
		}
	}
	return -1
}

// Valid reports whether k is one of Kinds.
func (k Kind) Valid() bool { return k.index() >= 0 }

// Antenatal reports whether k is before delivery.
func (k Kind) Antenatal() bool { return k.Valid() && k.index() < 5 }

// Pregnancy is one registered pregnancy (孕产妇保健手册).
type Pregnancy struct {
	ID           int64     `json:"id"`
	CountyCode   string    `json:"county_code"`
	ResidentID   int64     `json:"resident_id"`
	ManagedBy    int64     `json:"managed_by"` // the resident's village clinic
	ClinicID     int64     `json:"clinic_id"`  // the registering institution
	LMP          care.Date `json:"lmp"`
	EDD          care.Date `json:"edd"`
	RegisteredOn care.Date `json:"registered_on"`
	RegisteredBy int64     `json:"-"`
	Gravida      int       `json:"gravida"`
	Parity       int       `json:"parity"`
	HeightMM     int       `json:"height_mm"`
	WeightG      int       `json:"weight_g"` // before pregnancy, or at registration
	Factors      []string  `json:"factors"`
	Colour       Colour    `json:"colour"`
	Purple       bool      `json:"purple"`
	Status       Status    `json:"status"`
	DeliveredOn  care.Date `json:"delivered_on"`
	DischargedOn care.Date `json:"discharged_on"`
	DeliveryMode string    `json:"delivery_mode,omitempty"`
	BabyWeightG  int       `json:"baby_weight_g,omitempty"`
	Outcome      string    `json:"outcome,omitempty"`
	NextKind     Kind      `json:"next_kind,omitempty"`
	NextFrom     care.Date `json:"next_from"`
	NextDue      care.Date `json:"next_due"` // last day of the next visit's window
	Version      int       `json:"version"`
	Name         string    `json:"name,omitempty"` // lists only
	Phone        string    `json:"phone,omitempty"`
}

// Visit is one antenatal or postpartum visit: measurements in grams,
// millimetres, mmHg, beats per minute and g/L (0 not measured).
type Visit struct {
	ID          int64     `json:"id"`
	PregnancyID int64     `json:"pregnancy_id"`
	CountyCode  string    `json:"-"`
	ResidentID  int64     `json:"-"`
	Kind        Kind      `json:"kind"`
	Date        care.Date `json:"date"`
	GestDays    int       `json:"gest_days"` // antenatal only
	WeightG     int       `json:"weight_g"`
	SBP         int       `json:"sbp"`
	DBP         int       `json:"dbp"`
	FundalMM    int       `json:"fundal_mm"`
	FetalHR     int       `json:"fetal_hr"`
	HbGL        int       `json:"hb_gl"`
	Factors     []string  `json:"factors"` // found at this visit
	Colour      Colour    `json:"colour"`  // the grade after it
	Note        string    `json:"note"`
	ClinicID    int64     `json:"clinic_id"`
	By          int64     `json:"-"`
	CreatedAt   time.Time `json:"created_at"`
}

// Window is the first and last day a visit is due.
type Window struct {
	Kind     Kind
	From, To care.Date
}

// Schedule is the window of visit k of p: antenatal visits by gestational
// week from the LMP, the postpartum home visit from discharge, the 42-day
// check from delivery. ok is false when k cannot be due yet (a postpartum
// visit before delivery).
func (c Config) Schedule(p *Pregnancy, k Kind) (Window, bool) {
	if k.Antenatal() {
		w := c.Antenatal[k.index()]
		return Window{k, p.LMP.AddDays(w.FromWeek * 7), p.LMP.AddDays(w.ToWeek*7 + 6)}, true
	}
	if p.DeliveredOn.IsZero() {
		return Window{}, false
	}
	if k == Postpartum {
		base := p.DischargedOn
		if base.IsZero() {
			base = p.DeliveredOn
		}
		return Window{k, base.AddDays(c.PostpartumFrom), base.AddDays(c.PostpartumTo)}, true
	}
	return Window{k, p.DeliveredOn.AddDays(c.Check42From), p.DeliveredOn.AddDays(c.Check42To)}, true
}

// Next is the visit due after last ("" none) on today: the first later
// kind whose following window has not opened (a missed visit is missed,
// not owed), antenatal visits only before delivery and postpartum ones
// only after. ok is false when nothing is due (awaiting delivery after
// the fifth visit, or after the 42-day check).
func (c Config) Next(p *Pregnancy, last Kind, today care.Date) (Window, bool) {
	start := 0
	if last != "" {
		start = last.index() + 1
	}
	if !p.DeliveredOn.IsZero() && start < Postpartum.index() {
		start = Postpartum.index()
	}
	for i := start; i < len(Kinds); i++ {
		w, ok := c.Schedule(p, Kinds[i])
		if !ok {
			return Window{}, false
		}
		if i+1 < len(Kinds) {
			if nw, ok := c.Schedule(p, Kinds[i+1]); ok && !today.Before(nw.From) && Kinds[i+1].Antenatal() == Kinds[i].Antenatal() {
				continue
			}
		}
		return w, true
	}
	return Window{}, false
}
