package org

import (
	"context"
	"sync"
	"time"

	"countycare/audit"
	"countycare/care"
)

// Repository is the storage the organisation needs; store.Store implements it.
type Repository interface {
	Institutions(ctx context.Context) ([]Institution, error)
	// OrgVersion changes whenever an institution is created or changed.
	OrgVersion(ctx context.Context) (int64, error)
	CreateInstitution(ctx context.Context, in *Institution, ev audit.Event) error
	UpdateInstitution(ctx context.Context, in *Institution, ev audit.Event) error
	Departments(ctx context.Context, institutionID int64) ([]Department, error)
	CreateDepartment(ctx context.Context, d *Department, ev audit.Event) error
	Practitioner(ctx context.Context, id int64) (*Practitioner, error)
	Practitioners(ctx context.Context, f PractitionerFilter) ([]Practitioner, error)
	CreatePractitioner(ctx context.Context, p *Practitioner, ev audit.Event) error
	UpdatePractitioner(ctx context.Context, p *Practitioner, ev audit.Event) error
}

// TreeRecheck is how often a cached Tree asks the database whether the
// organisation changed (another server may have changed it).
const TreeRecheck = 5 * time.Second

// Service manages the organisation: the tree, departments and
// practitioners. Changes are for administrators (the web layer's policy);
// reading is for every staff role.
type Service struct {
	Repo Repository
	Now  func() time.Time

	mu      sync.Mutex
	tree    *Tree
	version int64
	checked time.Time
}

// Tree returns the current organisation, cached and re-read when it changes.
func (s *Service) Tree(ctx context.Context) (*Tree, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.Now()
	if s.tree != nil && now.Sub(s.checked) < TreeRecheck {
		return s.tree, nil
	}
	v, err := s.Repo.OrgVersion(ctx)
	if err != nil {
		return nil, err
	}
	if s.tree == nil || v != s.version {
		insts, err := s.Repo.Institutions(ctx)
		if err != nil {
			return nil, err
		}
		s.tree, s.version = NewTree(insts), v
	}
	s.checked = now
	return s.tree, nil
}

func (s *Service) invalidate() {
	s.mu.Lock()
	s.tree = nil
	s.mu.Unlock()
}

// CreateInstitution validates in under its parent and stores it.
// Errors: EINVALID, ECONFLICT (code taken).
func (s *Service) CreateInstitution(ctx context.Context, a care.Actor, in *Institution) error {
	t, err := s.Tree(ctx)
	if err != nil {
		return err
	}
	var parent *Institution
	if in.ParentID != 0 {
		if parent = t.Get(in.ParentID); parent == nil {
			return care.Invalid([]care.FieldError{{Field: "parent_id", Key: "org.parent.invalid"}})
		}
	}
	if in.Level == "" {
		in.Level = DefaultLevel(in.Kind)
	}
	in.Active = true
	fs := ValidateInstitution(in, parent)
	if in.LeadID != 0 {
		fs = append(fs, care.FieldError{Field: "lead_id", Key: "org.lead.later"})
	}
	if err := care.Invalid(fs); err != nil {
		return err
	}
	defer s.invalidate()
	return s.Repo.CreateInstitution(ctx, in, audit.New(ctx, a, audit.ActOrgChange, 0))
}

// UpdateInstitution saves name, level, area code, lead hospital and active
// flag of an existing institution. A community's lead must be a county
// hospital inside it. Errors: EINVALID, ENOTFOUND.
func (s *Service) UpdateInstitution(ctx context.Context, a care.Actor, in *Institution) error {
	t, err := s.Tree(ctx)
	if err != nil {
		return err
	}
	old := t.Get(in.ID)
	if old == nil {
		return care.Errorf(care.ENOTFOUND, "error.not_found")
	}
	in.Kind, in.ParentID, in.Code = old.Kind, old.ParentID, old.Code
	fs := ValidateInstitution(in, t.Get(old.ParentID))
	if in.LeadID != 0 {
		lead := t.Get(in.LeadID)
		if in.Kind != KindCommunity || lead == nil || lead.Kind != KindCountyHospital || !t.IsWithin(lead.ID, in.ID) {
			fs = append(fs, care.FieldError{Field: "lead_id", Key: "org.lead.invalid"})
		}
	}
	if err := care.Invalid(fs); err != nil {
		return err
	}
	defer s.invalidate()
	return s.Repo.UpdateInstitution(ctx, in, audit.New(ctx, a, audit.ActOrgChange, 0))
}

// CreateDepartment validates and stores d. Errors: EINVALID, ECONFLICT.
func (s *Service) CreateDepartment(ctx context.Context, a care.Actor, d *Department) error {
	t, err := s.Tree(ctx)
	if err != nil {
		return err
	}
	fs := ValidateDepartment(d)
	if t.Get(d.InstitutionID) == nil {
		fs = append(fs, care.FieldError{Field: "institution_id", Key: "org.institution.unknown"})
	}
	if err := care.Invalid(fs); err != nil {
		return err
	}
	return s.Repo.CreateDepartment(ctx, d, audit.New(ctx, a, audit.ActOrgChange, 0))
}

// SavePractitioner validates p and creates it (p.ID == 0) or updates it.
// The department, if any, must belong to p's institution.
// Errors: EINVALID, ENOTFOUND.
func (s *Service) SavePractitioner(ctx context.Context, a care.Actor, p *Practitioner) error {
	t, err := s.Tree(ctx)
	if err != nil {
		return err
	}
	fs := ValidatePractitioner(p, care.Today(s.Now()))
	if p.InstitutionID != 0 && t.Get(p.InstitutionID) == nil {
		fs = append(fs, care.FieldError{Field: "institution_id", Key: "org.institution.unknown"})
	}
	if p.DepartmentID != 0 {
		deps, err := s.Repo.Departments(ctx, p.InstitutionID)
		if err != nil {
			return err
		}
		found := false
		for _, d := range deps {
			found = found || d.ID == p.DepartmentID
		}
		if !found {
			fs = append(fs, care.FieldError{Field: "department_id", Key: "org.department.other_institution"})
		}
	}
	if err := care.Invalid(fs); err != nil {
		return err
	}
	ev := audit.New(ctx, a, audit.ActOrgChange, 0)
	if p.ID == 0 {
		p.Active = true
		return s.Repo.CreatePractitioner(ctx, p, ev)
	}
	return s.Repo.UpdatePractitioner(ctx, p, ev)
}
