package childhealth

import (
	"encoding/json"
	"fmt"
	"os"
)

// Config is the county's configuration of the child programme: the
// windows the spec leaves open and the limits of a record. serve reads it
// from --childhealth-config (JSON; DefaultConfig without one).
type Config struct {
	// NewbornVisitDays: the newborn home visit is due within this many days
	// of discharge (规范 §3(一): 出院后1周内 → 7).
	NewbornVisitDays int `json:"newborn_visit_days"`
	// FirstMonthFrom, FirstMonthTo: the first-month check's days of age
	// (规范 §3(二): 出生后28～30天).
	FirstMonthFrom int `json:"first_month_from"`
	FirstMonthTo   int `json:"first_month_to"`
	// InfantWindowDays: how long a check at 3–36 months stays due after the
	// age (the county's choice; 30).
	InfantWindowDays int `json:"infant_window_days"`
	// PreschoolWindowDays: the same for the yearly checks at 4–6 years (90).
	PreschoolWindowDays int `json:"preschool_window_days"`
	// MaxAgeYears: a child is registered only under this age (7: the
	// programme covers 0–6 years, 规范 §1 服务对象: 辖区内常住的0～6岁儿童).
	MaxAgeYears int `json:"max_age_years"`
	// EarlyDays: a check may be recorded this many days before its window
	// opens (a child seen a little early), not earlier (14).
	EarlyDays int `json:"early_days"`
}

// DefaultConfig is the configuration without a file.
func DefaultConfig() Config {
	return Config{NewbornVisitDays: 7, FirstMonthFrom: 28, FirstMonthTo: 30, InfantWindowDays: 30, PreschoolWindowDays: 90, MaxAgeYears: 7, EarlyDays: 14}
}

// Check reports a configuration that cannot work.
func (c Config) Check() error {
	if c.NewbornVisitDays < 1 || c.FirstMonthFrom < 1 || c.FirstMonthTo < c.FirstMonthFrom || c.InfantWindowDays < 1 ||
		c.PreschoolWindowDays < 1 || c.MaxAgeYears < 1 || c.EarlyDays < 0 {
		return fmt.Errorf("childhealth: config: every window must be at least a day and first_month_to ≥ first_month_from")
	}
	return nil
}

// LoadConfig reads a JSON configuration over the defaults.
func LoadConfig(path string) (Config, error) {
	c := DefaultConfig()
	b, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("childhealth: config: %w", err)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("childhealth: config %s: %w", path, err)
	}
	return c, c.Check()
}
