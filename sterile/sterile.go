// Package sterile is the county sterile supply center (消毒供应中心) and its
// treatment packs (无菌治疗包) for clinics (issue 17): the center's pack
// types; clinics' orders; packs tracked by lot through a sterilisation
// cycle and its physical, chemical and biological indicators (a failed
// indicator recalls the cycle's packs); delivery to the clinic by scan;
// use on a patient, traceable both ways (patient → pack → cycle, and cycle
// → the patients it touched, for a recall); return. A pack past its
// expiry date, or from a recalled cycle, is refused at use with an alert.
//
// Rules cite their source: the shelf life per packaging is configuration
// with defaults from WS 310.2-2016 (医院消毒供应中心 第2部分：清洗消毒及灭菌
// 技术操作规范) 4.4.8.2; release and recall follow WS 310.3-2016 (第3部分：
// 清洗消毒及灭菌效果监测标准) 4.4.
package sterile

import (
	"fmt"
	"time"

	"countycare/care"
)

// Packaging is what a pack is wrapped in; it decides the shelf life.
type Packaging string

// Packagings (WS 310.2-2016 4.4.8.2).
const (
	Textile        Packaging = "textile"         // 纺织品（棉布）
	PaperBag       Packaging = "paper_bag"       // 医用一次性纸袋
	Nonwoven       Packaging = "nonwoven"        // 一次性医用皱纹纸、医用无纺布
	PaperPlastic   Packaging = "paper_plastic"   // 一次性纸塑袋
	RigidContainer Packaging = "rigid_container" // 硬质容器
)

// Packagings lists the packagings in display order.
var Packagings = []Packaging{Textile, PaperBag, Nonwoven, PaperPlastic, RigidContainer}

// Config is the center's rules that are configuration.
type Config struct {
	// ShelfLifeDays is the shelf life of a sterile pack per packaging.
	ShelfLifeDays map[Packaging]int
}

// DefaultConfig is WS 310.2-2016 4.4.8.2 (无菌物品储存有效期): textiles 14
// days where the store is below 24 °C and 70 % humidity (7 days where it is
// not: set Textile to 7), medical paper bags 30 days, crepe paper and
// non-woven wraps 180 days, paper-plastic pouches 180 days, rigid
// containers 180 days.
func DefaultConfig() Config {
	return Config{ShelfLifeDays: map[Packaging]int{Textile: 14, PaperBag: 30, Nonwoven: 180, PaperPlastic: 180, RigidContainer: 180}}
}

// Check reports a configuration that cannot be used.
func (c Config) Check() error {
	for _, p := range Packagings {
		if d := c.ShelfLifeDays[p]; d <= 0 || d > 366 {
			return fmt.Errorf("sterile config: ShelfLifeDays[%s] must be 1–366 days, not %d", p, d)
		}
	}
	return nil
}

// ExpiresOn is the last day a pack sterilised at t may be used: t's day
// in Shanghai plus the packaging's shelf life.
func (c Config) ExpiresOn(p Packaging, t time.Time) care.Date {
	return care.Today(t).AddDays(c.ShelfLifeDays[p])
}

// Indicator is one of a cycle's monitoring results (WS 310.3-2016 4.4).
type Indicator string

// Indicators.
const (
	Physical   Indicator = "physical"   // 物理监测: temperature, pressure, time of the load
	Chemical   Indicator = "chemical"   // 化学监测: indicators in and on the packs
	Biological Indicator = "biological" // 生物监测: spore test, read after incubation
)

// Result of an indicator.
type Result string

// Results.
const (
	Pending Result = "pending"
	Pass    Result = "pass"
	Fail    Result = "fail"
)

// CycleStatus is where a sterilisation cycle stands.
type CycleStatus string

// Cycle statuses: running until the physical and chemical indicators pass
// (then released: its packs may leave the center, WS 310.3-2016 4.4.1,
// 4.4.2); recalled by any failed indicator (4.4.3: a failed biological
// test recalls the load's packs not yet used).
const (
	CycleRunning  CycleStatus = "running"
	CycleReleased CycleStatus = "released"
	CycleRecalled CycleStatus = "recalled"
)

// PackType is a kind of pack the center makes (换药包, 缝合包 …).
type PackType struct {
	ID         int64
	CountyCode string
	CenterID   int64
	Code       string
	Name       string
	Packaging  Packaging
	CreatedAt  time.Time
}

// Order is a clinic's order of packs of one type.
type Order struct {
	ID         int64
	CountyCode string
	ClinicID   int64
	CenterID   int64
	PackTypeID int64
	Quantity   int
	Delivered  int
	Status     string // open, delivered
	OrderedBy  int64
	OrderedAt  time.Time

	TypeName, ClinicName string // filled by listings
}

// Order statuses.
const (
	OrderOpen      = "open"
	OrderDelivered = "delivered"
)

// Cycle is one load of a sterilizer.
type Cycle struct {
	ID         int64
	CountyCode string
	CenterID   int64
	CycleNo    string
	Sterilizer string
	StartedAt  time.Time
	Physical   Result
	Chemical   Result
	Biological Result
	Status     CycleStatus
	RecalledAt time.Time
	RecordedBy int64
	Packs      int // filled by listings
}

// Set records result r for indicator i and returns the cycle's new
// status: recalled on any failure, released once the physical and
// chemical indicators pass (WS 310.3-2016 4.4).
func (c *Cycle) Set(i Indicator, r Result) CycleStatus {
	switch i {
	case Physical:
		c.Physical = r
	case Chemical:
		c.Chemical = r
	case Biological:
		c.Biological = r
	}
	switch {
	case c.Status == CycleRecalled || c.Physical == Fail || c.Chemical == Fail || c.Biological == Fail:
		c.Status = CycleRecalled
	case c.Physical == Pass && c.Chemical == Pass:
		c.Status = CycleReleased
	default:
		c.Status = CycleRunning
	}
	return c.Status
}

// PackStatus is where a pack stands.
type PackStatus string

// Pack statuses.
const (
	PackSterile   PackStatus = "sterile"   // at the center
	PackDelivered PackStatus = "delivered" // at the clinic
	PackUsed      PackStatus = "used"      // opened on a patient
	PackReturned  PackStatus = "returned"  // back at the center unused
	PackRecalled  PackStatus = "recalled"  // its cycle failed an indicator
)

// Pack is one sterile pack; its lot is its cycle.
type Pack struct {
	ID          int64
	CountyCode  string
	Barcode     string
	PackTypeID  int64
	CycleID     int64
	CenterID    int64
	Packaging   Packaging
	PackedAt    time.Time
	ExpiresOn   care.Date
	Status      PackStatus
	OrderID     int64
	ClinicID    int64
	DeliveredAt time.Time
	ResidentID  int64
	UsedAt      time.Time
	UsedBy      int64
	ReturnedAt  time.Time
	Version     int

	TypeName, CycleNo, ClinicName, ResidentName string // filled by reads
	CycleStatus                                 CycleStatus
}

// Expired reports whether the pack is past its expiry date on day.
func (p *Pack) Expired(day care.Date) bool { return day.After(p.ExpiresOn) }

// BarcodeFor is the label of pack id: "S", the county code and the id.
func BarcodeFor(county string, id int64) string { return fmt.Sprintf("S%s%08d", county, id) }

// Event is one step of a pack.
type Event struct {
	ID            int64
	PackID        int64
	Step          string
	At            time.Time
	InstitutionID int64
	AccountID     int64
	ResidentID    int64
	Detail        string
	PlaceName     string
}

// Steps of a pack's events.
const (
	StepPack       = "pack"
	StepDeliver    = "deliver"
	StepUse        = "use"
	StepReturn     = "return"
	StepRecall     = "recall"
	StepUseRefused = "use_refused" // an alert: a use refused for expiry or recall
)
