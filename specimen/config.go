package specimen

import (
	"encoding/json"
	"fmt"
	"time"

	"countycare/care"
)

// Config is the county lab's configuration of the journey: how long each
// tube keeps from collection to the lab (past it, too_late is a valid
// rejection), how long a specimen may wait at each step before the overdue
// alert, and the transport box's temperature range. serve reads it from
// --specimen-config (JSON; DefaultConfig without one).
type Config struct {
	// Stability is the longest time from collection to receipt per tube.
	Stability map[Tube]Duration `json:"stability"`
	// Overdue is the longest time a specimen may stay in an open status
	// before the next scan; past it the sweep alerts the clinic and the lab.
	Overdue map[Status]Duration `json:"overdue"`
	// TempMinTenths and TempMaxTenths bound the box temperature at packing,
	// in tenths of °C; outside them the box cannot be packed.
	TempMinTenths int `json:"temp_min_tenths"`
	TempMaxTenths int `json:"temp_max_tenths"`
}

// Duration is a time.Duration written in JSON as "4h" or "30m".
type Duration time.Duration

// UnmarshalJSON reads "4h30m".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes "4h30m0s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// DefaultConfig is the configuration without a file.
//
// Stability, collection to receipt: whole blood in EDTA for the blood
// count and HbA1c 24 h; serum (clotted, spun at the township or kept at
// 2–8 °C) and fluoride plasma for glucose 24 h; heparin plasma 8 h;
// citrate for coagulation 4 h (APTT); urine 2 h — after WHO, "Use of
// anticoagulants in diagnostic laboratory investigations"
// (WHO/DIL/LAB/99.1 Rev.2, 2002) and WS/T 225-2002 §5 (serum separated
// from cells promptly, transport chilled). The county lab confirms its own.
// Overdue: a drawn tube is packed within 2 h, a packed box leaves within
// 4 h, a box reaches the lab within 6 h (the longest village route), and a
// received specimen has results within 24 h — the issue's "never lost
// between two scans without an alert". Box temperature 2–8 °C (cold chain
// for serum and plasma, WS/T 225-2002 §5).
func DefaultConfig() Config {
	h := func(n int) Duration { return Duration(time.Duration(n) * time.Hour) }
	return Config{
		Stability:     map[Tube]Duration{TubeEDTA: h(24), TubeSerum: h(24), TubeFluoride: h(24), TubeHeparin: h(8), TubeCitrate: h(4), TubeUrine: h(2)},
		Overdue:       map[Status]Duration{StatusOrdered: h(72), StatusCollected: h(2), StatusPacked: h(4), StatusInTransit: h(6), StatusReceived: h(24)},
		TempMinTenths: 20, TempMaxTenths: 80,
	}
}

// ParseConfig reads a configuration file; what it leaves out keeps its
// default. Errors: a malformed file or one Validate refuses.
func ParseConfig(b []byte) (Config, error) {
	c := DefaultConfig()
	var f Config
	if err := json.Unmarshal(b, &f); err != nil {
		return c, fmt.Errorf("specimen: config: %w", err)
	}
	for k, v := range f.Stability {
		c.Stability[k] = v
	}
	for k, v := range f.Overdue {
		c.Overdue[k] = v
	}
	if f.TempMinTenths != 0 || f.TempMaxTenths != 0 {
		c.TempMinTenths, c.TempMaxTenths = f.TempMinTenths, f.TempMaxTenths
	}
	return c, c.Validate()
}

// Validate checks every tube has a positive stability, every open status
// a positive overdue time, and the temperature range is sane.
func (c Config) Validate() error {
	for k, v := range c.Stability {
		if !k.Valid() {
			return fmt.Errorf("specimen: config: stability: unknown tube %q", k)
		}
		if v <= 0 {
			return fmt.Errorf("specimen: config: stability.%s: must be positive", k)
		}
	}
	for _, t := range Tubes {
		if _, ok := c.Stability[t]; !ok {
			return fmt.Errorf("specimen: config: stability.%s: missing", t)
		}
	}
	for k, v := range c.Overdue {
		if !k.Open() || !validStatus(k) {
			return fmt.Errorf("specimen: config: overdue: %q is not an open status", k)
		}
		if v <= 0 {
			return fmt.Errorf("specimen: config: overdue.%s: must be positive", k)
		}
	}
	if c.TempMinTenths >= c.TempMaxTenths || c.TempMinTenths < -300 || c.TempMaxTenths > 400 {
		return fmt.Errorf("specimen: config: temperature range %d–%d tenths of °C", c.TempMinTenths, c.TempMaxTenths)
	}
	return nil
}

func validStatus(s Status) bool {
	for _, x := range Statuses {
		if x == s {
			return true
		}
	}
	return false
}

// StabilityLeft is how long a specimen of tube t collected at collected
// keeps at now (negative: past its stability).
func (c Config) StabilityLeft(t Tube, collected, now time.Time) time.Duration {
	return collected.Add(time.Duration(c.Stability[t])).Sub(now)
}

// CheckRejection checks a rejection reason: known, and too_late only past
// the tube's stability (a lab cannot call a fresh specimen late). Errors:
// EINVALID on field reason.
func (c Config) CheckRejection(sp *Specimen, r Reason, now time.Time) error {
	if !r.Valid() {
		return care.Invalid([]care.FieldError{{Field: "reason", Key: "specimen.reason_unknown"}})
	}
	if r == ReasonTooLate {
		if left := c.StabilityLeft(sp.Tube, sp.CollectedAt, now); left > 0 {
			return care.Invalid([]care.FieldError{{Field: "reason", Key: "specimen.not_late", Args: []any{int(left.Minutes()) + 1}}})
		}
	}
	return nil
}

// OverdueAt is when a specimen in its current status becomes overdue
// (zero for a closed specimen or a status without a limit).
func (c Config) OverdueAt(sp *Specimen) time.Time {
	d, ok := c.Overdue[sp.Status]
	if !sp.Status.Open() || !ok {
		return time.Time{}
	}
	return sp.LastScanAt.Add(time.Duration(d))
}

// IsOverdue reports whether sp has waited past its status's limit at now.
func (c Config) IsOverdue(sp *Specimen, now time.Time) bool {
	at := c.OverdueAt(sp)
	return !at.IsZero() && now.After(at)
}
