package store

import "context"

// CountForTest runs a SELECT COUNT(…) or SUM(…) query and returns the number.
func (s *Store) CountForTest(ctx context.Context, q string, args ...any) (int64, error) {
	var n int64
	err := s.read().row(ctx, q, args...).Scan(&n)
	return n, err
}
