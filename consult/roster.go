package consult

import (
	"context"
	"fmt"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/org"
)

// Roster is a department's duty roster as its head edits it.
type Roster struct {
	Department org.Department
	Doctors    []org.Practitioner
	Slots      []Slot // from the start of today (Beijing) for Days days
}

// RosterDays is how far ahead the roster page shows.
const RosterDays = 7

// headOf returns the department a heads at their institution (EFORBIDDEN if none).
func (s *Service) headOf(ctx context.Context, a care.Actor) (*org.Department, error) {
	if a.PractitionerID == 0 {
		return nil, care.Errorf(care.EFORBIDDEN, "consult.not_head")
	}
	ds, err := s.Repo.Departments(ctx, a.InstitutionID)
	if err != nil {
		return nil, err
	}
	for i := range ds {
		if ds[i].HeadID == a.PractitionerID {
			return &ds[i], nil
		}
	}
	return nil, care.Errorf(care.EFORBIDDEN, "consult.not_head")
}

// Roster returns the department the actor heads with its doctors and shifts.
func (s *Service) Roster(ctx context.Context, a care.Actor) (*Roster, error) {
	d, err := s.headOf(ctx, a)
	if err != nil {
		return nil, err
	}
	ps, err := s.Repo.Practitioners(ctx, org.PractitionerFilter{Institutions: []int64{a.InstitutionID}, Limit: 500})
	if err != nil {
		return nil, err
	}
	r := &Roster{Department: *d}
	for _, p := range ps {
		if p.DepartmentID == d.ID && p.Active {
			r.Doctors = append(r.Doctors, p)
		}
	}
	t := care.Today(s.Now())
	from := time.Date(t.Year, t.Month, t.Day, 0, 0, 0, 0, care.Shanghai)
	r.Slots, err = s.Repo.DutySlots(ctx, d.ID, from, from.AddDate(0, 0, RosterDays))
	return r, err
}

// AddSlot puts one of the department's doctors on duty (department head only).
func (s *Service) AddSlot(ctx context.Context, a care.Actor, sl Slot) (*Slot, error) {
	d, err := s.headOf(ctx, a)
	if err != nil {
		return nil, err
	}
	fs := CheckSlot(&sl)
	if sl.PractitionerID != 0 {
		p, err := s.Repo.Practitioner(ctx, sl.PractitionerID)
		if err != nil || p.DepartmentID != d.ID {
			fs = append(fs, care.FieldError{Field: "practitioner_id", Key: "consult.slot.not_in_department"})
		}
	}
	if !sl.End.IsZero() && sl.End.Before(s.Now()) {
		fs = append(fs, care.FieldError{Field: "end", Key: "consult.slot.past"})
	}
	if err := care.Invalid(fs); err != nil {
		return nil, err
	}
	sl.InstitutionID, sl.DepartmentID, sl.CreatedBy = a.InstitutionID, d.ID, a.AccountID
	ev := audit.New(ctx, a, ActRoster, 0)
	ev.Detail = fmt.Sprintf("department %d: practitioner %d on duty %s–%s position %d", d.ID, sl.PractitionerID, sl.Start.Format(time.RFC3339), sl.End.Format(time.RFC3339), sl.Position)
	return &sl, s.Repo.SaveSlot(ctx, &sl, ev)
}

// RemoveSlot takes a shift off the department's roster (department head only).
func (s *Service) RemoveSlot(ctx context.Context, a care.Actor, id int64) error {
	d, err := s.headOf(ctx, a)
	if err != nil {
		return err
	}
	ev := audit.New(ctx, a, ActRoster, 0)
	ev.Detail = fmt.Sprintf("department %d: shift %d removed", d.ID, id)
	return s.Repo.DeleteSlot(ctx, id, d.ID, ev)
}
