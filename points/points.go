// Package points is the health points ledger (积分制, seed 001; DOMAIN.md
// §10): residents earn points for check-ups, attended follow-ups, health
// education and other contracted services, and for steps and reading they
// report themselves; points are redeemed at the clinic. The ledger is
// append-only: a balance is the exact sum of its rows, an event earns
// points once (a unique key on county, resident, rule and event
// reference), and a redemption never takes the balance below zero.
//
// How many points each rule gives is configuration (Rules; defaults in
// rules.json, documented in docs/points.md).
package points

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"countycare/care"
)

// Rule names why points were earned or spent.
type Rule string

// Rules of the ledger. Service rules carry the names of the family doctor
// service kinds (family.Kind), so a delivered service earns its own rule.
const (
	Checkup   Rule = "checkup"    // 健康体检
	FollowUp  Rule = "follow_up"  // 随访（签约随访、慢病随访）
	HomeVisit Rule = "home_visit" // 上门服务
	Education Rule = "education"  // 健康教育
	Rehab     Rule = "rehab"      // 康复指导
	Steps     Rule = "steps"      // 步数（居民自报）
	Reading   Rule = "reading"    // 健康阅读（居民自报）
	Redeem    Rule = "redeem"     // 兑换（负分）
)

// Entry is one ledger row: never updated, never deleted.
type Entry struct {
	ID         int64
	CountyCode string
	ResidentID int64
	Rule       Rule
	EventRef   string    // what earned it: "family_service:12", "chronic_visit:123", "steps:2026-11-29"
	Points     int64     // negative for a redemption
	On         care.Date // the day of the event
	Note       string
	CreatedBy  int64 // account
	CreatedAt  time.Time
}

// Rules say how many points each rule gives. Zero disables a rule.
type Rules struct {
	Checkup       int64 `json:"checkup"`
	FollowUp      int64 `json:"follow_up"`
	HomeVisit     int64 `json:"home_visit"`
	Education     int64 `json:"education"`
	Rehab         int64 `json:"rehab"`
	StepsPerPoint int   `json:"steps_per_point"` // steps for one point
	StepsDailyCap int64 `json:"steps_daily_cap"` // most points for one day's steps
	Reading       int64 `json:"reading"`         // points for a day's reading
	RedeemMax     int64 `json:"redeem_max"`      // most points in one redemption
}

//go:embed rules.json
var defaultRules []byte

// DefaultRules returns the rules in rules.json.
func DefaultRules() Rules {
	r, err := ParseRules(bytes.NewReader(defaultRules))
	if err != nil {
		panic(err)
	}
	return r
}

// ParseRules reads rules from JSON (unknown fields are errors); fields left
// out keep their default. It fails on negative values or a zero step size.
func ParseRules(r io.Reader) (Rules, error) {
	var out Rules
	if len(defaultRules) > 0 {
		json.Unmarshal(defaultRules, &out)
	}
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		return Rules{}, fmt.Errorf("points: rules: %w", err)
	}
	if out.Checkup < 0 || out.FollowUp < 0 || out.HomeVisit < 0 || out.Education < 0 || out.Rehab < 0 || out.Reading < 0 ||
		out.StepsDailyCap < 0 || out.StepsPerPoint <= 0 || out.RedeemMax <= 0 {
		return Rules{}, fmt.Errorf("points: rules: values must not be negative, steps_per_point and redeem_max must be positive")
	}
	return out, nil
}

// For returns the points rule r gives for one event (0 for unknown rules,
// steps and redemptions, which depend on the amount).
func (rs Rules) For(r Rule) int64 {
	switch r {
	case Checkup:
		return rs.Checkup
	case FollowUp:
		return rs.FollowUp
	case HomeVisit:
		return rs.HomeVisit
	case Education:
		return rs.Education
	case Rehab:
		return rs.Rehab
	case Reading:
		return rs.Reading
	}
	return 0
}

// ForSteps returns the points for a day's steps: one per StepsPerPoint,
// at most StepsDailyCap.
func (rs Rules) ForSteps(steps int) int64 {
	return min(int64(steps/rs.StepsPerPoint), rs.StepsDailyCap)
}

// MaxSteps is the most steps a resident may report for a day.
const MaxSteps = 100000

// ReportDays is how far back a resident may report steps or reading.
const ReportDays = 7

// CheckReport validates a self-report: steps 0–MaxSteps, a day not in the
// future and at most ReportDays back.
func CheckReport(rule Rule, steps int, on, today care.Date) []care.FieldError {
	var fs []care.FieldError
	if rule != Steps && rule != Reading {
		fs = append(fs, care.FieldError{Field: "kind", Key: "points.kind"})
	}
	if rule == Steps && (steps < 0 || steps > MaxSteps) {
		fs = append(fs, care.FieldError{Field: "steps", Key: "points.steps", Args: []any{MaxSteps}})
	}
	if on.IsZero() || on.After(today) || on.Before(today.AddDays(-ReportDays)) {
		fs = append(fs, care.FieldError{Field: "date", Key: "points.date", Args: []any{ReportDays}})
	}
	return fs
}

// Balance returns the sum of entries.
func Balance(es []Entry) int64 {
	var b int64
	for _, e := range es {
		b += e.Points
	}
	return b
}
