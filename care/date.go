package care

import (
	"database/sql/driver"
	"fmt"
	"time"
)

// Date is a calendar date with no time of day or zone: a birth date, a
// due date. It is stored as ISO text (SQLite) or DATE (PostgreSQL).
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the calendar date of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// ParseDate parses "2006-01-02". It fails for impossible dates such as
// 2023-02-29.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return Date{}, fmt.Errorf("care: bad date %q", s)
	}
	return DateOf(t), nil
}

// MakeDate returns the date y-m-d and whether it exists in the calendar.
func MakeDate(y int, m time.Month, d int) (Date, bool) {
	t := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	if t.Year() != y || t.Month() != m || t.Day() != d {
		return Date{}, false
	}
	return Date{y, m, d}, true
}

// IsZero reports whether d is the zero date.
func (d Date) IsZero() bool { return d.Year == 0 && d.Month == 0 && d.Day == 0 }

// Time returns midnight UTC of d.
func (d Date) Time() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC) }

// String returns d as "2006-01-02", or "" for the zero date.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day)
}

// Before reports whether d is before e.
func (d Date) Before(e Date) bool { return d.Time().Before(e.Time()) }

// After reports whether d is after e.
func (d Date) After(e Date) bool { return d.Time().After(e.Time()) }

// AdultAge is the age of full civil capacity (民法典 第十七条: 十八周岁以上的
// 自然人为成年人); a minor's parents are their guardians (第二十七条).
const AdultAge = 18

// AddDays returns d moved by n days.
func (d Date) AddDays(n int) Date { return DateOf(d.Time().AddDate(0, 0, n)) }

// AgeOn returns the age in whole years on day `on` of someone born on d.
// A person born on 29 February turns a year older on 1 March in common years.
func (d Date) AgeOn(on Date) int {
	age := on.Year - d.Year
	if on.Month < d.Month || (on.Month == d.Month && on.Day < d.Day) {
		age--
	}
	return age
}

// Value stores the date as ISO text; both SQLite and PostgreSQL DATE accept it.
func (d Date) Value() (driver.Value, error) {
	if d.IsZero() {
		return nil, nil
	}
	return d.String(), nil
}

// Scan reads a date from ISO text or a time.Time.
func (d *Date) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*d = Date{}
		return nil
	case time.Time:
		*d = DateOf(v.UTC())
		return nil
	case string:
		if len(v) > 10 {
			v = v[:10]
		}
		p, err := ParseDate(v)
		*d = p
		return err
	case []byte:
		return d.Scan(string(v))
	}
	return fmt.Errorf("care: cannot scan %T into Date", src)
}

// MarshalText implements encoding.TextMarshaler ("2006-01-02").
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Date) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = Date{}
		return nil
	}
	p, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = p
	return nil
}

// Shanghai is the zone users see times in (China Standard Time, UTC+8, no DST).
var Shanghai = time.FixedZone("CST", 8*3600)

// Today returns the calendar date in China of instant t.
func Today(t time.Time) Date { return DateOf(t.In(Shanghai)) }
