package chronic

import (
	"context"

	"countycare/care"
)

// VisitRepository reads one follow-up visit; store.Store implements it.
type VisitRepository interface {
	// Visit returns a stored visit; ENOTFOUND if none.
	Visit(ctx context.Context, id int64) (*StoredVisit, error)
}

// Visit returns one follow-up visit whose resident the actor may see (the
// resident read under scope, audited), for the FHIR Observation read.
// Errors: ENOTFOUND (none, or out of scope), EINTERNAL.
func (s *Service) Visit(ctx context.Context, a care.Actor, id int64) (*StoredVisit, error) {
	vr, ok := s.Repo.(VisitRepository)
	if !ok {
		return nil, care.Errorf(care.ENOTFOUND, "error.not_found")
	}
	v, err := vr.Visit(ctx, id)
	if err != nil {
		return nil, err
	}
	if _, err := s.Residents.Get(ctx, a, v.ResidentID); err != nil {
		return nil, err
	}
	return v, nil
}
