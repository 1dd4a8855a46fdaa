// Package outreach runs county specialists' sessions at township centers
// (专家下沉坐诊, joint clinics) and multi-site practice (多点执业): where a
// practitioner may work, on which days, and the institution a signed-in
// practitioner acts for today.
//
// A session is scheduled by the county hospital for one of its
// practitioners at a township center on a date, in time slots of a fixed
// capacity. Residents book a slot through their village doctor or
// themselves (/me); the township records attendance; the referrals the
// specialist sends from that township on that date are the session's.
// Scheduling a session registers its specialist to work at the township
// on its date (a PracticeSite), so their access that day follows
// (docs/outreach.md).
package outreach

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"countycare/care"
)

// Session statuses.
const (
	StatusScheduled = "scheduled"
	StatusCancelled = "cancelled"
)

// Booking statuses: booked → cancelled | attended | no_show.
const (
	Booked    = "booked"
	Cancelled = "cancelled"
	Attended  = "attended"
	NoShow    = "no_show"
)

// Booking channels: who made the booking.
const (
	ChannelVillage = "village" // the resident's village doctor
	ChannelSelf    = "self"    // the resident on /me (or their proxy)
)

// Session is one specialist's session (坐诊) at a township center on one
// date. Booked, Attended, NoShow and Referrals are counted when read.
type Session struct {
	ID             int64
	CountyCode     string
	TownshipID     int64
	TownshipName   string
	HostID         int64 // the county hospital sending the specialist
	HostName       string
	PractitionerID int64
	Specialist     string
	Specialty      string
	Date           care.Date
	Slots          []string // start times "08:30", ascending
	SlotMinutes    int
	Capacity       int    // patients per slot
	Room           string // where at the township center (may be empty)
	Status         string
	CreatedBy      int64
	CreatedAt      time.Time
	Version        int
	UpdatedBy      int64
	UpdatedAt      time.Time // zero: never edited
	CancelReason   string    // set with StatusCancelled
	CancelledBy    int64
	CancelledAt    time.Time

	Booked, Attended, NoShow, Referrals int
}

// Places is the session's total capacity.
func (s *Session) Places() int { return s.Capacity * len(s.Slots) }

// Free is how many places are not taken by a live booking.
func (s *Session) Free() int { return max(0, s.Places()-s.Booked-s.Attended-s.NoShow) }

// SlotStart is when slot begins, as an instant (the slot is Shanghai time
// on the session's date). ok is false for a slot the session does not have.
func (s *Session) SlotStart(slot string) (time.Time, bool) {
	if !slices.Contains(s.Slots, slot) {
		return time.Time{}, false
	}
	m, _ := clockMinutes(slot)
	return time.Date(s.Date.Year, s.Date.Month, s.Date.Day, m/60, m%60, 0, 0, care.Shanghai), true
}

// Booking is a resident's place in one slot of a session.
type Booking struct {
	ID           int64
	CountyCode   string
	SessionID    int64
	ResidentID   int64
	ResidentName string // filled by lists
	Slot         string
	Status       string
	Channel      string
	BookedBy     int64
	BookedAt     time.Time
	UpdatedBy    int64
	UpdatedAt    time.Time // zero: never changed
	Phone        string    // the resident's phone, filled for text messages only
	RemindedAt   time.Time // when the day-before reminder was queued (zero: not yet)

	// Filled by a resident's list of bookings.
	Date       care.Date
	TownshipID int64 // filled by DueReminders
	Township   string
	Specialty  string
	Specialist string
	Room       string
}

// Live reports whether the booking still holds its place.
func (b *Booking) Live() bool { return b.Status != Cancelled }

// PracticeSite is a registration of multi-site practice (多点执业): the
// practitioner may work at the institution on the weekdays (bit 0 Sunday …
// bit 6 Saturday) or the listed dates, from ValidFrom to ValidTo inclusive.
// SessionID is set on the site an expert session registered for its date.
type PracticeSite struct {
	ID              int64
	CountyCode      string
	PractitionerID  int64
	Practitioner    string
	InstitutionID   int64
	InstitutionName string
	Weekdays        uint8
	Dates           []care.Date
	ValidFrom       care.Date
	ValidTo         care.Date
	SessionID       int64
	CreatedBy       int64
	CreatedAt       time.Time
	Revoked         bool
}

// Covers reports whether the site schedules its practitioner on day d: a
// live registration, d within its validity, and d one of its weekdays or
// dates.
func (p *PracticeSite) Covers(d care.Date) bool {
	if p.Revoked || d.Before(p.ValidFrom) || d.After(p.ValidTo) {
		return false
	}
	if p.Weekdays&(1<<uint(d.Time().Weekday())) != 0 {
		return true
	}
	return slices.Contains(p.Dates, d)
}

// WeekdayMask turns weekday numbers (0 Sunday … 6 Saturday) into a mask;
// ok is false for a number outside 0–6.
func WeekdayMask(days []int) (uint8, bool) {
	var m uint8
	for _, d := range days {
		if d < 0 || d > 6 {
			return 0, false
		}
		m |= 1 << uint(d)
	}
	return m, true
}

// WeekdaysOf lists the weekday numbers of a mask, Monday first (1…6, 0).
func WeekdaysOf(m uint8) []int {
	var out []int
	for _, d := range []int{1, 2, 3, 4, 5, 6, 0} {
		if m&(1<<uint(d)) != 0 {
			out = append(out, d)
		}
	}
	return out
}

// clockMinutes parses "HH:MM" (24-hour) into minutes after midnight.
func clockMinutes(s string) (int, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	h, err1 := strconv.Atoi(s[:2])
	m, err2 := strconv.Atoi(s[3:])
	if err1 != nil || err2 != nil || h < 0 || h > 23 || m < 0 || m > 59 {
		return 0, false
	}
	return h*60 + m, true
}

// MakeSlots divides start–end ("08:00"–"11:30") into slots of minutes,
// returning their start times. ok is false for a malformed time, an end
// not after the start, a slot length outside 5–240 minutes or more than
// MaxSlots slots.
func MakeSlots(start, end string, minutes int) ([]string, bool) {
	a, ok1 := clockMinutes(start)
	b, ok2 := clockMinutes(end)
	if !ok1 || !ok2 || b <= a || minutes < 5 || minutes > 240 || (b-a)/minutes > MaxSlots || (b-a)/minutes < 1 {
		return nil, false
	}
	var out []string
	for m := a; m+minutes <= b; m += minutes {
		out = append(out, fmt.Sprintf("%02d:%02d", m/60, m%60))
	}
	return out, true
}

// SlotEnd is the end of the session's last slot ("11:30").
func (s *Session) SlotEnd() string {
	if len(s.Slots) == 0 {
		return ""
	}
	m, _ := clockMinutes(s.Slots[len(s.Slots)-1])
	m += s.SlotMinutes
	return fmt.Sprintf("%02d:%02d", m/60, m%60)
}

// JoinSlots is the stored form of a session's slots ("08:00,08:30").
func JoinSlots(s []string) string { return strings.Join(s, ",") }

// SplitSlots reads the stored form of a session's slots.
func SplitSlots(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// TownshipStats are one township's counts over a period: sessions held
// (not cancelled, on or before the last day), patients seen (attended
// bookings), no-shows, and referrals sent from its sessions.
type TownshipStats struct {
	TownshipID int64
	Township   string
	Sessions   int
	Seen       int
	NoShow     int
	Referrals  int
}
