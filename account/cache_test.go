package account

import (
	"context"
	"sync"
	"testing"
	"time"

	"countycare/audit"
	"countycare/care"
)

// memSessions keeps sessions in memory; the methods these tests do not
// reach are left to the embedded (nil) Repository.
type memSessions struct {
	Repository
	mu   sync.Mutex
	byID map[int64]*Session
}

func (m *memSessions) add(s *Session) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.byID[s.ID] = s
}

func (m *memSessions) clear() {
	m.mu.Lock()
	defer m.mu.Unlock()
	clear(m.byID)
}

func (m *memSessions) SessionActor(ctx context.Context, tokenHash string) (*Session, care.Actor, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.byID {
		if s.TokenHash == tokenHash {
			cp := *s
			return &cp, care.Actor{AccountID: s.AccountID, Role: care.RoleVillageDoctor, SessionID: s.ID}, nil
		}
	}
	return nil, care.Actor{}, care.Errorf(care.ENOTFOUND, "error.not_found")
}

func (m *memSessions) EndSession(ctx context.Context, id int64, evs ...audit.Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.byID, id)
	return nil
}

func (m *memSessions) TouchSession(ctx context.Context, id int64, t time.Time) error { return nil }

// checkCount fails unless the cache counter equals the cached entries.
func checkCount(t *testing.T, s *Service, when string) {
	t.Helper()
	n := int64(0)
	s.cache.Range(func(_, _ any) bool { n++; return true })
	if c := s.cached.Load(); c != n {
		t.Fatalf("%s: counter %d, cached sessions %d", when, c, n)
	}
}

// TestSessionCacheCounter: the counter that bounds the session cache
// stays equal to the entries whichever way they leave it — sign-out, a
// rotated cookie, revocation and a session gone from the database, also
// all at once for one entry (code review: a Delete was counted whether or
// not it removed anything).
func TestSessionCacheCounter(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	clk := time.Date(2026, 11, 22, 2, 0, 0, 0, time.UTC)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clk }
	repo := &memSessions{byID: map[int64]*Session{}}
	s := &Service{Repo: repo, Config: DefaultConfig(), Now: now}
	newSession := func(id, account int64) string {
		tok := NewToken()
		repo.add(&Session{ID: id, TokenHash: HashToken(tok), AccountID: account, CreatedAt: now(), LastSeen: now(), ExpiresAt: now().Add(time.Hour)})
		return tok
	}

	tok := newSession(1, 7)
	sess, a, err := s.Authenticate(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	checkCount(t, s, "after a look-up")
	if err := s.Logout(ctx, a, sess); err != nil {
		t.Fatal(err)
	}
	checkCount(t, s, "after sign-out")

	for round := 0; round < 200; round++ {
		const n = 20
		toks := make([]string, n)
		for i := range toks {
			toks[i] = newSession(int64(100+i), 8)
			if _, _, err := s.Authenticate(ctx, toks[i]); err != nil {
				t.Fatal(err)
			}
		}
		checkCount(t, s, "after caching")
		// The sessions end elsewhere; the cached entries go stale, and
		// look-ups and a revocation remove them at the same time.
		repo.clear()
		mu.Lock()
		clk = clk.Add(SessionCacheTTL + time.Second)
		mu.Unlock()
		var wg sync.WaitGroup
		for _, tok := range toks {
			wg.Add(2)
			go func() { defer wg.Done(); s.Authenticate(ctx, tok) }()
			go func() { defer wg.Done(); s.Authenticate(ctx, tok) }()
		}
		wg.Add(1)
		go func() { defer wg.Done(); s.forget(8) }()
		wg.Wait()
		checkCount(t, s, "after parallel removals")
		s.revoked.Delete(int64(8))
	}
}
