package store

import (
	"context"

	"countycare/chronic"
)

// Visit returns one follow-up visit; ENOTFOUND if none (chronic.VisitRepository).
func (s *Store) Visit(ctx context.Context, id int64) (*chronic.StoredVisit, error) {
	var v chronic.StoredVisit
	if err := scanVisit(s.read().row(ctx, `SELECT `+visitCols+` FROM chronic_visits WHERE id = ?`, id), &v); err != nil {
		return nil, wrap("store.Visit", err)
	}
	return &v, nil
}
