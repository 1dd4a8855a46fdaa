package outreach

import "fmt"

// MaxSlots is the most slots one session may have (a day in 15-minute slots).
const MaxSlots = 48

// Config holds the booking rules a county sets (local practice, not a
// national rule: configuration, as the project's policy rules mark such
// items [U]); cmd/countycare passes it in (serve --outreach-cancel-hours).
type Config struct {
	// CancelCutoffHours: a resident (or their village doctor) may cancel a
	// booking until this many hours before its slot starts.
	CancelCutoffHours int
	// MaxAheadDays: how far ahead a session may be scheduled.
	MaxAheadDays int
	// MaxCapacity: the most patients one slot may take.
	MaxCapacity int
	// RemindFromHour and RemindUntilHour (Shanghai time, 0–24): the
	// day-before text reminders go out only between these hours, so
	// nobody is texted at night (serve --outreach-remind-hours 9-20).
	RemindFromHour, RemindUntilHour int
}

// DefaultConfig: cancel up to 24 hours before the slot (the articles'
// township booking desks take cancellations the day before), sessions up
// to 90 days ahead, at most 20 patients a slot; reminders from 09:00 to
// 20:00 the day before.
func DefaultConfig() Config {
	return Config{CancelCutoffHours: 24, MaxAheadDays: 90, MaxCapacity: 20, RemindFromHour: 9, RemindUntilHour: 20}
}

// Check reports a configuration that cannot be used.
func (c Config) Check() error {
	switch {
	case c.CancelCutoffHours < 0 || c.CancelCutoffHours > 24*14:
		return fmt.Errorf("outreach config: CancelCutoffHours must be 0–336, not %d", c.CancelCutoffHours)
	case c.MaxAheadDays < 1 || c.MaxAheadDays > 366:
		return fmt.Errorf("outreach config: MaxAheadDays must be 1–366, not %d", c.MaxAheadDays)
	case c.MaxCapacity < 1 || c.MaxCapacity > 200:
		return fmt.Errorf("outreach config: MaxCapacity must be 1–200, not %d", c.MaxCapacity)
	case c.RemindFromHour < 0 || c.RemindUntilHour > 24 || c.RemindFromHour >= c.RemindUntilHour:
		return fmt.Errorf("outreach config: reminder hours must be FROM-UNTIL with 0 ≤ FROM < UNTIL ≤ 24, not %d-%d", c.RemindFromHour, c.RemindUntilHour)
	}
	return nil
}
