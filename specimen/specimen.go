// Package specimen is the journey of a lab specimen (检验标本) from a
// village clinic or township health center to the county lab: the order
// that creates it with its Code 128 barcode label, collection, packing
// into a transport box with its temperature, the hand-over to a courier on
// a route, receipt at the lab by scan, rejection with a reason, and the
// results filed back to the ordering clinic (package lab). Every step is a
// timestamped, audited scan; a specimen that is not scanned at its next
// step in time raises an alert to the clinic and the lab (Service.Sweep,
// run by serve's scheduler). Turnaround and rejection rates per clinic are
// its indicators. Pure Go: the storage is a Repository.
package specimen

import (
	"fmt"
	"strings"
	"time"

	"countycare/care"
)

// Status is where a specimen is in its journey.
type Status string

// Statuses, in journey order. Rejected and Resulted are final.
const (
	StatusOrdered   Status = "ordered"    // 已开单: label printed, not yet drawn
	StatusCollected Status = "collected"  // 已采集
	StatusPacked    Status = "packed"     // 已装箱: in a transport box at the clinic
	StatusInTransit Status = "in_transit" // 运送中: the box is with the courier
	StatusReceived  Status = "received"   // 已签收: scanned in at the lab
	StatusRejected  Status = "rejected"   // 已拒收
	StatusResulted  Status = "resulted"   // 已出结果: results filed to the clinic
)

// Statuses lists every status in journey order.
var Statuses = []Status{StatusOrdered, StatusCollected, StatusPacked, StatusInTransit, StatusReceived, StatusRejected, StatusResulted}

// Open reports whether a specimen in status s still has a step to come.
func (s Status) Open() bool { return s != StatusRejected && s != StatusResulted }

// Step is one scan or action of the journey.
type Step string

// Steps.
const (
	StepOrder    Step = "order"
	StepCollect  Step = "collect"
	StepPack     Step = "pack"
	StepHandOver Step = "hand_over"
	StepReceive  Step = "receive"
	StepReject   Step = "reject"
	StepResult   Step = "result"
)

// transitions: the statuses a step may follow and the status it leads to.
var transitions = map[Step]struct {
	from []Status
	to   Status
}{
	StepCollect:  {[]Status{StatusOrdered}, StatusCollected},
	StepPack:     {[]Status{StatusCollected}, StatusPacked},
	StepHandOver: {[]Status{StatusPacked}, StatusInTransit},
	StepReceive:  {[]Status{StatusInTransit}, StatusReceived},
	StepReject:   {[]Status{StatusInTransit, StatusReceived}, StatusRejected},
	StepResult:   {[]Status{StatusReceived}, StatusResulted},
}

// Next is the status a specimen in status cur moves to by step. Errors:
// ECONFLICT specimen.out_of_order.<cur> (the step does not follow cur: a
// receipt before the hand-over, a second receipt), EINVALID for an
// unknown step.
func Next(cur Status, step Step) (Status, error) {
	t, ok := transitions[step]
	if !ok {
		return "", care.Invalid([]care.FieldError{{Field: "step", Key: "specimen.step_unknown"}})
	}
	for _, f := range t.from {
		if f == cur {
			return t.to, nil
		}
	}
	return "", care.Errorf(care.ECONFLICT, "specimen.out_of_order."+string(cur))
}

// Tube is the collection tube (采血管), by additive and cap colour.
type Tube string

// Tubes.
const (
	TubeSerum    Tube = "serum"    // 红/黄头 促凝管: chemistry
	TubeEDTA     Tube = "edta"     // 紫头 EDTA-K2: blood count, HbA1c
	TubeCitrate  Tube = "citrate"  // 蓝头 枸橼酸钠: coagulation
	TubeFluoride Tube = "fluoride" // 灰头 氟化钠: glucose
	TubeHeparin  Tube = "heparin"  // 绿头 肝素: urgent chemistry
	TubeUrine    Tube = "urine"    // 尿杯
)

// Tubes lists every tube.
var Tubes = []Tube{TubeSerum, TubeEDTA, TubeCitrate, TubeFluoride, TubeHeparin, TubeUrine}

// Valid reports whether t is one of Tubes.
func (t Tube) Valid() bool {
	for _, x := range Tubes {
		if x == t {
			return true
		}
	}
	return false
}

// Reason is why the lab rejects a specimen (拒收原因).
type Reason string

// Rejection reasons, after the county lab's acceptance criteria
// (WS/T 225-2002 临床化学检验血液标本的收集与处理 §4–5: haemolysis,
// wrong container, delay beyond the analyte's stability, clotted or too
// little sample, no usable label).
const (
	ReasonHaemolysed   Reason = "haemolysed"   // 溶血
	ReasonWrongTube    Reason = "wrong_tube"   // 采血管错误
	ReasonTooLate      Reason = "too_late"     // 超过稳定时间
	ReasonClotted      Reason = "clotted"      // 凝块
	ReasonInsufficient Reason = "insufficient" // 量不足
	ReasonLabel        Reason = "label"        // 标签不清或不符
)

// Reasons lists every reason.
var Reasons = []Reason{ReasonHaemolysed, ReasonWrongTube, ReasonTooLate, ReasonClotted, ReasonInsufficient, ReasonLabel}

// Valid reports whether r is one of Reasons.
func (r Reason) Valid() bool {
	for _, x := range Reasons {
		if x == r {
			return true
		}
	}
	return false
}

// Specimen is one tube, from its order to its results.
type Specimen struct {
	ID          int64
	CountyCode  string
	Barcode     string // Code 128 text on the label: BarcodeFor(county, id)
	ResidentID  int64
	ClinicID    int64  // the ordering village clinic or township center
	OrderedBy   int64  // the ordering account
	LabID       int64  // the lab it goes to (a diagnosis center)
	Tests       string // analyte codes (package lab), comma-separated
	Tube        Tube
	Status      Status
	BoxID       int64
	Reason      Reason // set when rejected
	Note        string
	OrderedAt   time.Time
	CollectedAt time.Time
	ReceivedAt  time.Time
	ClosedAt    time.Time // rejected or resulted
	LastScanAt  time.Time // the last step's time: overdue counts from it
	LastPlace   int64     // the institution of the last scan
	AlertedAt   time.Time // the overdue alert of the current status (zero: none)
	Alerts      int       // overdue alerts raised in all
	Doctor      string    // the ordering doctor's name, as on the results
	Version     int       // bumped by every step: a scan of a stale copy is refused

	// Read with the specimen for lists and pages.
	ResidentName string
	ClinicName   string
	LabName      string
	BoxCode      string
}

// Box is a transport box (转运箱): the specimens a clinic hands to a
// courier at once, with the temperature inside when packed.
type Box struct {
	ID         int64
	CountyCode string
	Code       string // BoxCodeFor(id)
	ClinicID   int64
	LabID      int64
	TempTenths int // °C × 10 when packed (2–8 °C is 20–80)
	Courier    string
	Route      string
	PackedAt   time.Time
	HandedAt   time.Time
	PackedBy   int64
	Specimens  int
}

// Temp is the box's temperature in °C.
func (b Box) Temp() float64 { return float64(b.TempTenths) / 10 }

// Event is one timestamped step of a specimen (a row of its history).
type Event struct {
	ID            int64
	SpecimenID    int64
	Step          Step
	At            time.Time
	InstitutionID int64 // where the scan happened
	AccountID     int64
	Detail        string // box code, courier and route, reason
	PlaceName     string // read for pages
}

// BarcodeFor is a specimen's label text: the six-digit county code and the
// id in ten digits, sixteen digits that Code 128 set C prints in eight
// symbol characters.
func BarcodeFor(county string, id int64) string { return fmt.Sprintf("%s%010d", county, id) }

// BoxCodeFor is a box's label text: "BX" and the id in ten digits.
func BoxCodeFor(id int64) string { return fmt.Sprintf("BX%010d", id) }

// ParseBarcode reads a scanned specimen label: its county and id. Scanners
// send the text with surrounding spaces or a line end at times. Errors:
// EINVALID specimen.barcode_unknown (not a specimen label at all).
func ParseBarcode(s string) (county string, id int64, err error) {
	s = strings.TrimSpace(s)
	if len(s) != 16 {
		return "", 0, barcodeUnknown(s)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return "", 0, barcodeUnknown(s)
		}
	}
	for _, c := range s[6:] {
		id = id*10 + int64(c-'0')
	}
	if id == 0 {
		return "", 0, barcodeUnknown(s)
	}
	return s[:6], id, nil
}

func barcodeUnknown(s string) error {
	if len(s) > 40 {
		s = s[:40]
	}
	return care.Invalid([]care.FieldError{{Field: "barcode", Key: "specimen.barcode_unknown", Args: []any{s}}})
}
