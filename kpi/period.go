package kpi

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"countycare/care"
)

// PeriodKind is the length of a dashboard period.
type PeriodKind string

// Period kinds: a calendar month, quarter or year; and, for trends, a year
// to the end of a month (1 January to the month's last day).
const (
	Month   PeriodKind = "month"
	Quarter PeriodKind = "quarter"
	Year    PeriodKind = "year"
	ToMonth PeriodKind = "to_month"
)

// Period is a calendar month, quarter or year: "2026-07", "2026-Q3", "2026".
type Period struct {
	Kind PeriodKind
	Year int
	N    int // month 1–12 or quarter 1–4; 0 for a year
}

// ParsePeriod reads a period as String writes it; a period that starts
// after today is refused. Errors: EINVALID with field "period"
// (kpi.period.format, kpi.period.future).
func ParsePeriod(s string, today care.Date) (Period, error) {
	bad := care.Invalid([]care.FieldError{{Field: "period", Key: "kpi.period.format"}})
	var p Period
	y, rest, _ := strings.Cut(s, "-")
	var err error
	if len(y) != 4 {
		return p, bad
	}
	if p.Year, err = strconv.Atoi(y); err != nil || p.Year < 2000 {
		return p, bad
	}
	if rest == "" && !strings.Contains(s, "-") {
		p.Kind = Year
	} else if len(rest) == 2 && (rest[0] == 'Q' || rest[0] == 'q') {
		p.Kind = Quarter
		if p.N, err = strconv.Atoi(rest[1:]); err != nil || p.N < 1 || p.N > 4 {
			return p, bad
		}
	} else if len(rest) == 2 {
		p.Kind = Month
		if p.N, err = strconv.Atoi(rest); err != nil || p.N < 1 || p.N > 12 {
			return p, bad
		}
	} else {
		return p, bad
	}
	if p.From().After(today) {
		return p, care.Invalid([]care.FieldError{{Field: "period", Key: "kpi.period.future"}})
	}
	return p, nil
}

// YearOf is the calendar year of day: the dashboard's default period.
func YearOf(day care.Date) Period { return Period{Kind: Year, Year: day.Year} }

// String writes the period: "2026", "2026-Q3", "2026-07".
func (p Period) String() string {
	switch p.Kind {
	case Quarter:
		return fmt.Sprintf("%d-Q%d", p.Year, p.N)
	case Month:
		return fmt.Sprintf("%d-%02d", p.Year, p.N)
	case ToMonth:
		return fmt.Sprintf("%d-01..%02d", p.Year, p.N)
	}
	return strconv.Itoa(p.Year)
}

// From is the period's first day.
func (p Period) From() care.Date {
	m := time.January
	switch p.Kind {
	case Quarter:
		m = time.Month(3*(p.N-1) + 1)
	case Month:
		m = time.Month(p.N)
	}
	return care.DateOf(time.Date(p.Year, m, 1, 0, 0, 0, 0, time.UTC))
}

// To is the period's last day, or today for the period in progress (the
// reports count to date).
func (p Period) To(today care.Date) care.Date {
	months := 12
	switch p.Kind {
	case Quarter:
		months = 3
	case Month:
		months = 1
	case ToMonth:
		months = p.N
	}
	end := care.DateOf(p.From().Time().AddDate(0, months, -1))
	if end.After(today) {
		return today
	}
	return end
}

// TrendMonths are the points of the period's trend: its year from 1
// January to the end of each month up to the period's end (or today),
// oldest first. Cumulative, because the targets are yearly and the chronic
// rules judge management over the whole span (a month alone needs no
// visit: chronic.VisitsDue).
func (p Period) TrendMonths(today care.Date) []Period {
	var out []Period
	year := Period{Kind: Year, Year: p.Year}
	for d := year.From(); !d.After(p.To(today)); d = care.DateOf(d.Time().AddDate(0, 1, 0)) {
		m := Period{Kind: ToMonth, Year: d.Year, N: int(d.Month)}
		if m.To(today) == year.To(today) {
			m = year // the same days: the same cached period as the year's board
		}
		out = append(out, m)
	}
	return out
}
