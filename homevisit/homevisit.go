// Package homevisit is door-to-door care (送医送护): a resident or a doctor
// asks for a home visit with the reason, the visit is scheduled to a
// member of a family-doctor team with a date, recorded on the phone with
// the services done and the vital signs, or cancelled with a reason; the
// bedridden and disabled are flagged by their doctor and listed per
// village with their last visit. Pure Go: storage is the Repository,
// store.Store implements it.
package homevisit

import (
	"slices"
	"time"

	"countycare/care"
)

// Status is where a home visit stands.
type Status string

// A visit is requested, then scheduled (again, while not done), then
// done or cancelled; done and cancelled are final.
const (
	Requested Status = "requested"
	Scheduled Status = "scheduled"
	Done      Status = "done"
	Cancelled Status = "cancelled"
)

// Open reports whether a visit in s may still be scheduled or cancelled.
func (s Status) Open() bool { return s == Requested || s == Scheduled }

// Services a home visit may record (送医送护 items: 上门随访, 换药,
// 导尿管护理, 康复指导, 采血, …). The list is configuration
// (Config.Services); these are the defaults.
const (
	SvcFollowUp   = "follow_up"  // 上门随访
	SvcDressing   = "dressing"   // 换药
	SvcCatheter   = "catheter"   // 导尿管护理
	SvcRehab      = "rehab"      // 康复指导
	SvcBlood      = "blood"      // 采血
	SvcInjection  = "injection"  // 注射
	SvcPressure   = "pressure"   // 压疮护理
	SvcFeedTube   = "feed_tube"  // 鼻饲管护理
	SvcMedication = "medication" // 用药指导
	SvcCheckup    = "checkup"    // 上门体检
)

// Flag kinds: the residents a doctor marks for door-to-door care.
const (
	Bedridden = "bedridden" // 卧床
	Disabled  = "disabled"  // 失能/残疾
)

// FlagKinds lists the flag kinds.
var FlagKinds = []string{Bedridden, Disabled}

// Config is the service's configuration.
type Config struct {
	Services     []string `json:"services"`       // the services a visit may record
	MaxAheadDays int      `json:"max_ahead_days"` // how far ahead a visit may be scheduled
}

// DefaultConfig returns the default services and a 90-day horizon.
func DefaultConfig() Config {
	return Config{Services: []string{SvcFollowUp, SvcDressing, SvcCatheter, SvcRehab, SvcBlood, SvcInjection, SvcPressure, SvcFeedTube, SvcMedication, SvcCheckup},
		MaxAheadDays: 90}
}

// Visit is one home visit (送医送护) from its request to its end.
type Visit struct {
	ID             int64     `json:"id"`
	CountyCode     string    `json:"county_code"`
	ResidentID     int64     `json:"resident_id"`
	VillageID      int64     `json:"village_id"`
	Reason         string    `json:"reason"`
	RequestedBy    int64     `json:"requested_by"` // account
	ByResident     bool      `json:"by_resident"`  // asked for on /me
	RequestedAt    time.Time `json:"requested_at"`
	Status         Status    `json:"status"`
	TeamID         int64     `json:"team_id,omitempty"`
	PractitionerID int64     `json:"practitioner_id,omitempty"`
	ScheduledOn    care.Date `json:"scheduled_on"`
	ScheduledAt    time.Time `json:"scheduled_at"`
	VisitedOn      care.Date `json:"visited_on"`
	Services       []string  `json:"services,omitempty"`
	Vitals
	Note         string `json:"note,omitempty"`
	CancelReason string `json:"cancel_reason,omitempty"`
	ClosedBy     int64  `json:"closed_by,omitempty"`
	Version      int    `json:"version"`
	// Filled on lists.
	Name         string `json:"name,omitempty"`
	Practitioner string `json:"practitioner,omitempty"`
}

// Vitals are the signs taken at the visit; 0 is not taken.
type Vitals struct {
	SBP          int `json:"sbp,omitempty"`           // mmHg
	DBP          int `json:"dbp,omitempty"`           // mmHg
	Pulse        int `json:"pulse,omitempty"`         // per minute
	TempDC       int `json:"temp_dc,omitempty"`       // tenths of °C
	GlucoseDmmol int `json:"glucose_dmmol,omitempty"` // tenths of mmol/L
}

// Ranges outside which a vital sign is a typing error (the chronic
// follow-up form's plausibility limits): refused before anything is
// stored.
const (
	MinSBP, MaxSBP         = 60, 260
	MinDBP, MaxDBP         = 30, 160
	MinPulse, MaxPulse     = 30, 220
	MinTempDC, MaxTempDC   = 340, 430
	MinGlucose, MaxGlucose = 10, 333
)

// Check returns the field errors of implausible vital signs.
func (v Vitals) Check() []care.FieldError {
	var fs []care.FieldError
	rng := func(field string, x, lo, hi int) {
		if x != 0 && (x < lo || x > hi) {
			fs = append(fs, care.FieldError{Field: field, Key: "homevisit.range", Args: []any{lo, hi}})
		}
	}
	rng("sbp", v.SBP, MinSBP, MaxSBP)
	rng("dbp", v.DBP, MinDBP, MaxDBP)
	rng("pulse", v.Pulse, MinPulse, MaxPulse)
	rng("temp", v.TempDC, MinTempDC, MaxTempDC)
	rng("glucose", v.GlucoseDmmol, MinGlucose, MaxGlucose)
	if len(fs) == 0 && (v.SBP == 0) != (v.DBP == 0) {
		fs = append(fs, care.FieldError{Field: "dbp", Key: "homevisit.bp_pair"})
	} else if len(fs) == 0 && v.SBP != 0 && v.DBP >= v.SBP {
		fs = append(fs, care.FieldError{Field: "dbp", Key: "homevisit.bp_order"})
	}
	return fs
}

// Flag marks a resident bedridden or disabled, with the doctor's reason.
type Flag struct {
	ResidentID int64     `json:"resident_id"`
	CountyCode string    `json:"county_code"`
	Kind       string    `json:"kind"`
	VillageID  int64     `json:"village_id"`
	Reason     string    `json:"reason"`
	SetBy      int64     `json:"set_by"`
	SetAt      time.Time `json:"set_at"`
	// Filled on lists.
	Name      string    `json:"name,omitempty"`
	Village   string    `json:"village,omitempty"`
	LastVisit care.Date `json:"last_visit"`
}

func known(list []string, v string) bool { return slices.Contains(list, v) }
