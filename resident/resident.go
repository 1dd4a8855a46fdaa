// Package resident is the resident registry (居民健康档案): who lives in the
// county, in which household and village, their poverty category and the
// key-population groups they belong to. It holds the rules for
// registering, searching, viewing and merging residents, and enforces the
// access scope and audit trail on every one of those operations.
//
// It knows nothing of SQL or HTTP: the store package implements
// Repository, the web package calls Service.
package resident

import (
	"strings"
	"time"

	"countycare/care"
	"countycare/idcard"
)

// Status of a resident record.
type Status string

// Record statuses. A merged record stays in the database, pointing at the
// record it was merged into, so nothing that referenced it is lost.
const (
	StatusActive Status = "active"
	StatusMoved  Status = "moved"  // 迁出
	StatusDied   Status = "died"   // 死亡
	StatusMerged Status = "merged" // 合并到另一份档案
)

// Poverty is a resident's poverty category (困难群众类别), which decides
// medical-assistance and bottom-line benefits in settlement.
type Poverty string

// Poverty categories, as used by civil affairs and the rural revitalisation
// bureau's monitoring system.
const (
	PovertyNone        Poverty = ""            // 无
	PovertyExtreme     Poverty = "extreme"     // 特困人员
	PovertySubsistence Poverty = "subsistence" // 低保对象
	PovertyEdge        Poverty = "edge"        // 低保边缘
	PovertyIllness     Poverty = "illness"     // 因病致贫
	PovertyMonitored   Poverty = "monitored"   // 防返贫监测户
)

// PovertyCategories lists every category, "none" first.
var PovertyCategories = []Poverty{PovertyNone, PovertyExtreme, PovertySubsistence, PovertyEdge, PovertyIllness, PovertyMonitored}

// Valid reports whether p is one of PovertyCategories.
func (p Poverty) Valid() bool {
	for _, x := range PovertyCategories {
		if x == p {
			return true
		}
	}
	return false
}

// Relation is a member's relation to the household head (与户主关系).
type Relation string

// Relations to the household head.
const (
	RelHead       Relation = "head"       // 户主
	RelSpouse     Relation = "spouse"     // 配偶
	RelChild      Relation = "child"      // 子女
	RelParent     Relation = "parent"     // 父母
	RelGrandchild Relation = "grandchild" // 孙子女
	RelOther      Relation = "other"      // 其他
)

// Relations lists every relation in display order.
var Relations = []Relation{RelHead, RelSpouse, RelChild, RelParent, RelGrandchild, RelOther}

// Resident is one person's health record header (个人基本信息).
type Resident struct {
	ID              int64
	CountyCode      string // six-digit county code: the shard key
	RecordNumber    string // 17-digit health record number, see RecordNumber
	IDNumber        idcard.Number
	Name            string
	Sex             idcard.Sex
	BirthDate       care.Date
	Phone           string
	Address         string
	VillageID       int64 // managing institution: usually a village clinic
	HouseholdID     int64
	Relation        Relation
	Poverty         Poverty
	DisabilityGrade int       // 0 none, 1 (most severe) – 4, per the disability certificate
	PregnancyEDD    care.Date // expected date of delivery; zero when not pregnant
	Status          Status
	MergedInto      int64
	CreatedAt       time.Time
	UpdatedAt       time.Time
	Version         int // optimistic concurrency: bumped on every update
	// ForeignIDs are another system's identifiers of a resident registered
	// from it (a FHIR import) without an identity number; stored with the
	// record, not loaded by every read (Service.ForeignIDs).
	ForeignIDs []ForeignID
}

// Age returns the resident's age in whole years on day.
func (r *Resident) Age(day care.Date) int { return r.BirthDate.AgeOn(day) }

// KeyGroup is a key population (重点人群) of the family-doctor and public
// health programmes.
type KeyGroup string

// Key groups derived from the record (policy-rules.md §2).
const (
	KeyElderly  KeyGroup = "elderly65" // 65 岁及以上老年人
	KeyChild    KeyGroup = "child0to6" // 0–6 岁儿童
	KeyPregnant KeyGroup = "pregnant"  // 孕产妇
	KeyDisabled KeyGroup = "disabled"  // 残疾人
	KeyPoor     KeyGroup = "poor"      // 困难群众（脱贫人口、低保、特困等）
)

// ElderlyAge and the other limits of KeyGroups, named so the rule can be found.
const (
	ElderlyAge        = 65  // 老年人健康管理: 65 周岁及以上
	ChildMaxAge       = 6   // 0–6 岁儿童健康管理
	PregnancyDays     = 280 // a pregnancy is counted from EDD − 280 days
	PostpartumDays    = 42  // 产后 42 天 visit: maternal care continues after delivery
	pregnancyMinAge   = 12
	pregnancyMaxAge   = 60
	maxDisabilityRank = 4
)

// KeyGroups derives the resident's key populations on day from the data:
// age ≥ 65, age 0–6, pregnant or within 42 days after the expected
// delivery date, disability grade 1–4, any poverty category.
// (国家基本公共卫生服务规范第三版: 老年人、0–6 岁儿童、孕产妇健康管理; policy-rules.md §2.)
func (r *Resident) KeyGroups(day care.Date) []KeyGroup {
	var g []KeyGroup
	age := r.Age(day)
	if age >= ElderlyAge {
		g = append(g, KeyElderly)
	}
	if age >= 0 && age <= ChildMaxAge {
		g = append(g, KeyChild)
	}
	if !r.PregnancyEDD.IsZero() {
		start := r.PregnancyEDD.AddDays(-PregnancyDays)
		end := r.PregnancyEDD.AddDays(PostpartumDays)
		if !day.Before(start) && !day.After(end) {
			g = append(g, KeyPregnant)
		}
	}
	if r.DisabilityGrade > 0 {
		g = append(g, KeyDisabled)
	}
	if r.Poverty != PovertyNone {
		g = append(g, KeyPoor)
	}
	return g
}

// MaskedIDNumber returns the ID number with birth date and sequence hidden.
func (r *Resident) MaskedIDNumber() string { return idcard.Mask(string(r.IDNumber)) }

// MaskedPhone returns the phone number with the middle digits hidden.
func (r *Resident) MaskedPhone() string { return MaskPhone(r.Phone) }

// MaskName hides a name's middle characters where a list or alert may be
// seen by others (minimum scope, PIPL art. 6): the first character stays,
// and the last of a name of three or more ("张*", "王*明", "欧**华").
func MaskName(s string) string {
	r := []rune(s)
	switch n := len(r); {
	case n == 0:
		return ""
	case n == 1:
		return "*"
	case n == 2:
		return string(r[0]) + "*"
	default:
		return string(r[0]) + strings.Repeat("*", n-2) + string(r[n-1])
	}
}

// MaskPhone hides the middle four digits of an 11-digit mobile number
// ("138****8000") and all but the last four digits of anything else.
func MaskPhone(s string) string {
	n := len(s)
	switch {
	case n == 0:
		return ""
	case n == 11:
		return s[:3] + "****" + s[7:]
	case n <= 4:
		return "****"
	}
	b := []byte(s)
	for i := 0; i < n-4; i++ {
		if b[i] >= '0' && b[i] <= '9' {
			b[i] = '*'
		}
	}
	return string(b)
}

// Household is a registered household (户): its members share the
// household number and address.
type Household struct {
	ID         int64
	CountyCode string
	VillageID  int64
	Number     string // 户编号: the village area code + 4-digit sequence
	Address    string
	HeadID     int64 // resident ID of the head; 0 until a head is registered
	CreatedAt  time.Time
}

// Filter narrows a search or browse of residents.
type Filter struct {
	Poverty        Poverty   // one category, PovertyAny, or "" for all
	BornOnOrBefore care.Date // e.g. 65+: born on or before today − 65 years
	BornOnOrAfter  care.Date
	DisabledOnly   bool
	PregnantOn     care.Date // pregnant or postpartum on this day
	Limit          int       // default 20, at most 100
	// AfterRecord continues a browse (a search without text, which lists
	// the scope in health-record-number order) after this record number:
	// the next page. Ignored by searches with text.
	AfterRecord string
}

// PovertyAny in a Filter selects residents in any poverty category.
const PovertyAny Poverty = "any"

// FilterForGroup returns the filter selecting key group g on day.
func FilterForGroup(g KeyGroup, day care.Date) Filter {
	switch g {
	case KeyElderly:
		return Filter{BornOnOrBefore: yearsBefore(day, ElderlyAge)}
	case KeyChild:
		return Filter{BornOnOrAfter: yearsBefore(day, ChildMaxAge+1).AddDays(1)}
	case KeyPregnant:
		return Filter{PregnantOn: day}
	case KeyDisabled:
		return Filter{DisabledOnly: true}
	case KeyPoor:
		return Filter{Poverty: PovertyAny}
	}
	return Filter{}
}

// yearsBefore returns the same day n years before day; 29 February falls
// back to 28 February in a common year, so "born on or before
// yearsBefore(day, 65)" means "aged 65 or more on day" exactly.
func yearsBefore(day care.Date, n int) care.Date {
	d, ok := care.MakeDate(day.Year-n, day.Month, day.Day)
	if !ok {
		d, _ = care.MakeDate(day.Year-n, day.Month, day.Day-1)
	}
	return d
}

// VillageCounts are the aggregate figures of one managing institution:
// what a health-commission analyst sees instead of names.
type VillageCounts struct {
	VillageID int64
	Total     int
	Elderly   int // aged 65+
	Children  int // aged 0–6
	Pregnant  int
	Disabled  int
	Poor      int // any poverty category
}

// SmallCell is the smallest count shown as a number on aggregate pages;
// smaller non-zero counts show as "<5" so a count cannot single out a person.
const SmallCell = 5
