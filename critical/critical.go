// Package critical is the critical-value (危急值) alert service: a result
// or a report finding that may threaten life is raised as an alert to the
// ordering clinic at once (text message through the notify outbox and a
// live event to connected doctors); a doctor must acknowledge it with a
// read-back of the value (读回确认); an alert nobody acknowledges escalates
// on a schedule, clinic → township center → county hospital on duty; the
// time to acknowledgement is an indicator (median and p90).
//
// The duty to report and acknowledge critical values is one of the 18 core
// medical-quality systems: 《医疗质量安全核心制度要点》(国卫医发〔2018〕8号),
// 危急值报告制度 — each institution keeps a list of critical values and
// a closed loop from report to acknowledgement, with the receiver reading
// the value back. Thresholds are configuration (Thresholds); the defaults
// name their source.
//
// Raise is the one entry point for every source kind (a lab result, a
// signed ECG report with an acute MI finding …) and is idempotent on
// (source kind, source id).
package critical

import (
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"countycare/access"
	"countycare/audit"
	"countycare/care"
	"countycare/notify"
)

// Source kinds of an alert.
const (
	SourceLab   = "lab_result"
	SourceFetal = "fetal_trace" // the automatic analysis of a fetal trace, keyed by the trace's id
	// A reader's signed report (or addendum) marking a critical finding,
	// keyed by the reading workflow study's id (reading_studies.id): one
	// alert per study, however many reports or retries mark it.
	SourceECGReport     = "ecg_report"
	SourceImagingReport = "imaging_report"
	SourcePhotoReport   = "photo_report"
	SourceFetalReport   = "fetal_report"
)

// Escalation levels: who is alerted.
const (
	LevelClinic   = 0 // the ordering clinic's doctors
	LevelTownship = 1 // the township (central) health center above the clinic
	LevelCounty   = 2 // the county hospital of the clinic's community (duty)
)

// Audit actions.
const (
	ActRaise    = "critical.raise"
	ActAck      = "critical.ack"
	ActEscalate = "critical.escalate"
	ActList     = "critical.list"
	ActRead     = "critical.read"
)

// PurposeAlert is the outbox purpose of alert messages.
const PurposeAlert = "critical.alert"

// LinkCritical is the kind of care link an escalation to the county
// hospital opens, so its duty doctors can open the resident's record to
// act on the value (township doctors already see their villages'
// residents). It ends after LinkTTL.
const LinkCritical = "critical"

// LinkTTL is how long an escalation's care link lasts.
const LinkTTL = 72 * time.Hour

// Alert is one critical value (危急值) to be acknowledged.
type Alert struct {
	ID         int64
	CountyCode string
	SourceKind string // SourceLab, SourceECGReport …
	SourceID   int64  // the result's or report's id
	// FindingKey tells apart the findings of one source: a reading study's
	// reports and addenda may each sign a different critical finding, each
	// alerted once (its text as signed). "" for sources with one value per
	// id (lab results, fetal traces). Alerts are unique per source and key.
	FindingKey  string
	ResidentID  int64
	ClinicID    int64 // the ordering institution
	OrderedBy   int64 // account of the ordering doctor (0 if unknown)
	TownshipID  int64 // escalation target at LevelTownship (0: none, skipped)
	CountyID    int64 // escalation target at LevelCounty (0: none)
	Finding     string
	Value       string // as reported, with its unit: "6.8 mmol/L"
	RaisedBy    int64  // account that raised it (the system's actor for automatic ones)
	RaisedAt    time.Time
	AckAt       time.Time // zero while open
	AckBy       int64
	AckNote     string
	Level       int
	EscalatedAt time.Time
	NextDueAt   time.Time // when it escalates next if still open (zero: no further level)

	ResidentName string // filled by listings
	ClinicName   string
	SMS          Delivery // the alert's text messages, filled by listings
}

// Delivery counts an alert's text messages by what became of them.
type Delivery struct {
	Messages  int // queued for the alert (every level)
	Delivered int // the carrier's receipt says delivered
	Failed    int // retries spent, refused, or reported undelivered
}

// Pending is the messages neither delivered nor failed yet.
func (d Delivery) Pending() int { return d.Messages - d.Delivered - d.Failed }

// Unreached reports whether every message of the alert failed.
func (d Delivery) Unreached() bool { return d.Messages > 0 && d.Failed == d.Messages }

// MessageRef is the outbox reference of an alert's messages.
func MessageRef(id int64) string { return fmt.Sprintf("critical:%d", id) }

// Open reports whether the alert waits for acknowledgement.
func (a *Alert) Open() bool { return a.AckAt.IsZero() }

// AckDuration is the time from raising to acknowledgement (0 while open).
func (a *Alert) AckDuration() time.Duration {
	if a.Open() {
		return 0
	}
	return a.AckAt.Sub(a.RaisedAt)
}

// Config is the escalation schedule.
type Config struct {
	// EscalateAfter[i] is how long after raising an open alert moves to
	// level i+1: township, then county. The county sets them; the default
	// (15 and 30 minutes) follows the common rule of hospital lists that a
	// clinician acts on a critical value within 15 minutes of the report.
	EscalateAfter [2]time.Duration
}

// DefaultConfig returns the default schedule.
func DefaultConfig() Config {
	return Config{EscalateAfter: [2]time.Duration{15 * time.Minute, 30 * time.Minute}}
}

// Validate checks the schedule: positive and increasing.
func (c Config) Validate() error {
	if c.EscalateAfter[0] <= 0 || c.EscalateAfter[1] <= c.EscalateAfter[0] {
		return fmt.Errorf("critical: escalation minutes must be positive and increasing, got %v", c.EscalateAfter)
	}
	return nil
}

// nextDue is when an alert at level escalates next (zero after the last level).
func (c Config) nextDue(raised time.Time, level int) time.Time {
	if level >= LevelCounty {
		return time.Time{}
	}
	return raised.Add(c.EscalateAfter[level])
}

// validateNew checks an alert before it is raised.
func validateNew(al *Alert) error {
	var fs []care.FieldError
	if al.SourceKind == "" || len(al.SourceKind) > 32 {
		fs = append(fs, care.FieldError{Field: "source_kind", Key: "field.required"})
	}
	if al.SourceID <= 0 {
		fs = append(fs, care.FieldError{Field: "source_id", Key: "field.required"})
	}
	if al.ResidentID <= 0 {
		fs = append(fs, care.FieldError{Field: "resident_id", Key: "field.required"})
	}
	if al.ClinicID <= 0 {
		fs = append(fs, care.FieldError{Field: "clinic_id", Key: "field.required"})
	}
	if strings.TrimSpace(al.Finding) == "" || utf8.RuneCountInString(al.Finding) > 200 {
		fs = append(fs, care.FieldError{Field: "finding", Key: "critical.finding"})
	}
	if utf8.RuneCountInString(al.Value) > 60 {
		fs = append(fs, care.FieldError{Field: "value", Key: "critical.value"})
	}
	return care.Invalid(fs)
}

// ReadBackOK reports whether an acknowledgement note reads the value back:
// the note must contain the number of the reported value (e.g. "6.8" of
// "6.8 mmol/L"), so the receiver has repeated what was reported (危急值
// 报告制度: 接收人员复述确认). An alert without a numeric value (an ECG
// finding) needs a note of at least 2 characters.
func ReadBackOK(value, note string) bool {
	note = strings.TrimSpace(note)
	if utf8.RuneCountInString(note) < 2 || utf8.RuneCountInString(note) > 500 {
		return false
	}
	num := leadingNumber(value)
	return num == "" || strings.Contains(note, num)
}

// leadingNumber returns the first decimal number in s ("6.8" of "6.8 mmol/L").
func leadingNumber(s string) string {
	start, end := -1, len(s)
	for i := 0; i < len(s); i++ {
		c := s[i]
		digit := c >= '0' && c <= '9'
		if start < 0 {
			if digit {
				start = i
			}
			continue
		}
		if !digit && c != '.' {
			end = i
			break
		}
	}
	if start < 0 {
		return ""
	}
	return strings.TrimRight(s[start:end], ".")
}

// Escalation is one alert moving up a level, saved with its messages and
// audit row in one transaction.
type Escalation struct {
	Alert     *Alert // with Level, EscalatedAt and NextDueAt already moved
	FromLevel int
	Msgs      []notify.Message
	Audit     audit.Event
	Notify    []int64          // practitioners to alert live after the commit
	Link      *access.CareLink // opened for the county hospital (nil for none)
}

// Indicator is the acknowledgement-time indicator of a period.
type Indicator struct {
	Raised       int
	Acknowledged int
	Open         int
	Escalated    int // alerts that went past the clinic
	Median       time.Duration
	P90          time.Duration
	// Text messages of the period's alerts: how many, delivered, failed,
	// and the alerts none of whose messages could be delivered.
	SMS          Delivery
	SMSUnreached int
}

// AckTimes summarises acknowledgement durations: counts, median and p90
// by the nearest-rank method (the value at rank ⌈p·n⌉ of the sorted list).
func AckTimes(alerts []Alert) Indicator {
	var ind Indicator
	var ds []time.Duration
	for i := range alerts {
		ind.Raised++
		d := alerts[i].SMS
		ind.SMS.Messages += d.Messages
		ind.SMS.Delivered += d.Delivered
		ind.SMS.Failed += d.Failed
		if d.Unreached() {
			ind.SMSUnreached++
		}
		if alerts[i].Level > LevelClinic {
			ind.Escalated++
		}
		if alerts[i].Open() {
			ind.Open++
			continue
		}
		ind.Acknowledged++
		ds = append(ds, alerts[i].AckDuration())
	}
	if len(ds) == 0 {
		return ind
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	ind.Median = nearestRank(ds, 0.5)
	ind.P90 = nearestRank(ds, 0.9)
	return ind
}

func nearestRank(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	k := int(p*float64(n) + 0.999999999)
	if k < 1 {
		k = 1
	}
	if k > n {
		k = n
	}
	return sorted[k-1]
}

// UnitAck is 危急值及时确认 for the alerts of one ordering institution (the
// dashboard's reading group, issue 14 §1): InTime of Judged were
// acknowledged by the ordering clinic before their first escalation
// deadline (Config.EscalateAfter[0]; the closed-loop rule of
// docs/critical.md — an alert that had to go up to the township or county
// was not acknowledged in time). Judged counts the alerts acknowledged or
// past that deadline; one still open within it is not yet judged.
type UnitAck struct{ InTime, Judged int }

// AckJudged says whether the alert is judged by 危急值及时确认 (UnitAck)
// at now — acknowledged, escalated, or past its first deadline
// (Config.EscalateAfter[0]) — and whether it was acknowledged in time: by
// the ordering clinic, before that deadline. The dashboard's figure and
// its records (kpi.JudgeAlert) both judge by it.
func (al *Alert) AckJudged(cfg Config, now time.Time) (judged, inTime bool) {
	first := al.RaisedAt.Add(cfg.EscalateAfter[0])
	switch {
	case !al.Open() && al.Level == LevelClinic && !al.AckAt.After(first):
		return true, true
	case !al.Open() || al.Level > LevelClinic || now.After(first):
		return true, false
	}
	return false, false
}

// AckInTimeByClinic tallies UnitAck per ordering institution (ClinicID).
func AckInTimeByClinic(alerts []Alert, cfg Config, now time.Time) map[int64]UnitAck {
	out := map[int64]UnitAck{}
	for i := range alerts {
		al := &alerts[i]
		u := out[al.ClinicID] // a unit whose alerts are all within their first deadline is listed, with none judged
		if judged, inTime := al.AckJudged(cfg, now); judged {
			u.Judged++
			if inTime {
				u.InTime++
			}
		}
		out[al.ClinicID] = u
	}
	return out
}
