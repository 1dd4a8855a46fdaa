package consult

import (
	"sort"
	"time"

	"countycare/care"
	"countycare/org"
)

// Slot is one doctor's duty shift in a department (排班).
type Slot struct {
	ID             int64
	InstitutionID  int64
	DepartmentID   int64
	PractitionerID int64
	Start, End     time.Time
	Position       int // order on the roster: 1 answers first
	CreatedBy      int64
}

// CheckSlot validates a shift: it ends after it starts and lasts at most 24 h.
func CheckSlot(s *Slot) []care.FieldError {
	var fs []care.FieldError
	if s.PractitionerID == 0 {
		fs = append(fs, care.FieldError{Field: "practitioner_id", Key: "field.required"})
	}
	if s.Start.IsZero() || !s.End.After(s.Start) || s.End.Sub(s.Start) > 24*time.Hour {
		fs = append(fs, care.FieldError{Field: "end", Key: "consult.slot.times"})
	}
	if s.Position < 1 || s.Position > 20 {
		fs = append(fs, care.FieldError{Field: "position", Key: "consult.slot.position"})
	}
	return fs
}

// Eligible reports whether a practitioner may be invited: an active
// physician of at least minTitle with ≥ minYears of independent practice
// (policy-rules.md §4: the invited doctor has ≥ 3 years of practice).
func Eligible(p *org.Practitioner, minTitle org.Title, minYears int, day care.Date) bool {
	if p == nil || !p.Active || org.TitleRank(p.Title) < 3 {
		return false
	}
	if minTitle != "" && org.TitleRank(p.Title) < org.TitleRank(minTitle) {
		return false
	}
	return p.YearsOfPractice(day) >= minYears
}

// Chain returns the doctors a case goes to, in order: those on duty in the
// department at t who are eligible, by roster position (then practitioner
// ID); each appears once.
func Chain(slots []Slot, practs map[int64]*org.Practitioner, dept int64, minTitle org.Title, minYears int, t time.Time) []int64 {
	var on []Slot
	for _, s := range slots {
		if s.DepartmentID == dept && !t.Before(s.Start) && t.Before(s.End) && Eligible(practs[s.PractitionerID], minTitle, minYears, care.Today(t)) {
			on = append(on, s)
		}
	}
	sort.Slice(on, func(i, j int) bool {
		if on[i].Position != on[j].Position {
			return on[i].Position < on[j].Position
		}
		return on[i].PractitionerID < on[j].PractitionerID
	})
	var out []int64
	seen := map[int64]bool{}
	for _, s := range on {
		if !seen[s.PractitionerID] {
			seen[s.PractitionerID] = true
			out = append(out, s.PractitionerID)
		}
	}
	return out
}

// Assignee is who holds a case at escalation step: the step-th doctor of
// the chain, then the department head (head is true), who keeps it.
func Assignee(chain []int64, headID int64, step int) (id int64, head bool) {
	if step < len(chain) {
		return chain[step], false
	}
	if headID == 0 && len(chain) > 0 {
		return chain[len(chain)-1], false
	}
	return headID, true
}
