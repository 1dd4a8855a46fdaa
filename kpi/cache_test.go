package kpi

import (
	"context"
	"testing"
	"time"

	"countycare/care"
)

// TestCacheTTL: without a configured lifetime the cache keeps a period
// DefaultCacheTTL (a second view inside it computes nothing); past it, but
// within MaxStale lifetimes, a view is served what was computed while one
// computation in the background replaces it.
func TestCacheTTL(t *testing.T) {
	s, f, now, view := cacheViewer(t)
	s.CacheTTL = 0
	view()
	*now = now.Add(DefaultCacheTTL - time.Second)
	view()
	if n := f.calls.Load(); n != 1 {
		t.Fatalf("two views within DefaultCacheTTL computed %d times, want 1", n)
	}
	*now = now.Add(2 * time.Second) // past the lifetime: stale, refreshed in the background
	view()
	for i := 0; i < 200 && f.calls.Load() < 2; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if n := f.calls.Load(); n != 2 {
		t.Errorf("a stale view started %d computations in all, want 2", n)
	}
}

// TestCacheBound: the cache holds at most maxCached periods; the oldest
// goes first.
func TestCacheBound(t *testing.T) {
	s := &Service{}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i <= maxCached; i++ {
		s.put(cacheKey{root: int64(i)}, &snapshot{}, t0.Add(time.Duration(i)*time.Second))
	}
	if len(s.cache) != maxCached {
		t.Errorf("%d periods cached, want %d", len(s.cache), maxCached)
	}
	if _, ok := s.cache[cacheKey{root: 0}]; ok {
		t.Error("the oldest period was kept")
	}
	if _, ok := s.cache[cacheKey{root: int64(maxCached)}]; !ok {
		t.Error("the newest period was not cached")
	}
}

// cacheViewer is a test service, its clock and a view of the county's
// board for July 2026 (the cache tests).
func cacheViewer(t *testing.T) (*Service, *fakeReports, *time.Time, func()) {
	now := time.Date(2026, 8, 15, 4, 0, 0, 0, time.UTC)
	s, f, _ := newTestService(&now)
	analyst := care.Actor{AccountID: 1, Role: care.RoleAnalyst, CountyCode: "411723"}
	p := Period{Kind: Month, Year: 2026, N: 7}
	return s, f, &now, func() {
		t.Helper()
		if _, err := s.Board(context.Background(), analyst, 0, p); err != nil {
			t.Fatal(err)
		}
	}
}
