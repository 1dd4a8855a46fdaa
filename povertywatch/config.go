package povertywatch

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"

	"countycare/care"
	"countycare/notify"
	"countycare/settle"
)

// Thresholds are one year's lines, set by the province ([U]).
type Thresholds struct {
	Year int `json:"year"`
	// AbsoluteOOP is the yearly household out-of-pocket amount that is a
	// danger on its own (e.g. half the previous year's rural per-capita
	// disposable income times the household size, as a province sets it).
	AbsoluteOOP settle.Fen `json:"absolute_oop"`
	// IncomeShare is the share of the household's recorded yearly income
	// that is a danger (0: the income is not used).
	IncomeShare settle.Ratio `json:"income_share"`
	// Approach is the share of the line at which a household is listed
	// as approaching it (e.g. 80 %).
	Approach settle.Ratio `json:"approach"`
	// Basis is which out-of-pocket total is compared (default total).
	Basis Basis `json:"basis"`
}

// Config is the province's watch configuration: thresholds per year.
type Config struct {
	Version string       `json:"version"`
	Years   []Thresholds `json:"years"`
	// OfficePhones are the mobile numbers of the county's medical
	// assistance and civil affairs offices, each texted when a household
	// crosses its line (PurposeCrossed); none: the alert is on the page only.
	OfficePhones []string `json:"office_phones"`
}

//go:embed thresholds.json
var defaultConfig []byte

// DefaultConfig is the built-in configuration (thresholds.json): example
// lines a province replaces with its own (serve --poverty-watch FILE).
func DefaultConfig() Config {
	c, err := ParseConfig(defaultConfig)
	if err != nil {
		panic("povertywatch: built-in thresholds.json: " + err.Error())
	}
	return c
}

// ParseConfig reads and validates a configuration file.
func ParseConfig(b []byte) (Config, error) {
	var c Config
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Config{}, fmt.Errorf("povertywatch: configuration: %w", err)
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Validate checks every year's lines: a year once, a positive absolute
// amount, an approach band between 50 % and 100 % (excluded), a known basis.
func (c *Config) Validate() error {
	if len(c.Years) == 0 {
		return fmt.Errorf("povertywatch: configuration has no years")
	}
	seen := map[int]bool{}
	for i := range c.Years {
		t := &c.Years[i]
		// Plain ifs, not a tagless switch, so mutation testing reaches them.
		if t.Year < 2000 || t.Year > 2100 {
			return fmt.Errorf("povertywatch: year %d is out of range", t.Year)
		}
		if seen[t.Year] {
			return fmt.Errorf("povertywatch: year %d is configured twice", t.Year)
		}
		if t.AbsoluteOOP <= 0 {
			return fmt.Errorf("povertywatch: year %d: absolute_oop must be a positive amount", t.Year)
		}
		if t.Approach < settle.Full/2 || t.Approach >= settle.Full {
			return fmt.Errorf("povertywatch: year %d: approach must be at least 50 and below 100 (percent)", t.Year)
		}
		switch t.Basis {
		case "":
			t.Basis = BasisTotal
		case BasisTotal, BasisInPolicy:
		default:
			return fmt.Errorf("povertywatch: year %d: unknown basis %q (total or in_policy)", t.Year, t.Basis)
		}
		seen[t.Year] = true
	}
	slices.SortFunc(c.Years, func(a, b Thresholds) int { return a.Year - b.Year })
	phones := map[string]bool{}
	for i, p := range c.OfficePhones {
		if c.OfficePhones[i] = notify.NormalizePhone(p); c.OfficePhones[i] == "" {
			return fmt.Errorf("povertywatch: office_phones: %q is not a mainland mobile number (11 digits from 13–19)", p)
		}
		p = c.OfficePhones[i]
		if phones[p] {
			return fmt.Errorf("povertywatch: office_phones: %q is listed twice", p)
		}
		phones[p] = true
	}
	return nil
}

// For returns year's thresholds; a year the province has not configured
// is EINVALID ("no thresholds for 2027"), never a silent default.
func (c Config) For(year int) (Thresholds, error) {
	for _, t := range c.Years {
		if t.Year == year {
			return t, nil
		}
	}
	return Thresholds{}, &care.Error{Code: care.EINVALID, Key: "povertywatch.no_thresholds", Args: []any{year}}
}
