package store

import (
	"context"

	"countycare/care"
	"countycare/chronic"
)

// ChronicPeriodFromVisits is ChronicPeriod always computed from the visits
// (never from the year summaries), for tests.
func (s *Store) ChronicPeriodFromVisits(ctx context.Context, county string, clinics []int64, from, to care.Date, fn func(*chronic.PatientPeriod) error) error {
	return s.chronicVisits(ctx, county, clinics, from, to, fn)
}
