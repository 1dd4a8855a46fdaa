package store

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// groupTestStore is an SQLite store with a table t (id, tag).
func groupTestStore(t *testing.T) *Store {
	t.Helper()
	s := sqliteTestStore(t)
	if _, err := s.w.ExecContext(context.Background(), `CREATE TABLE t (id INTEGER PRIMARY KEY, tag TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	return s
}

// tags returns the tags of t, in order.
func tags(t *testing.T, s *Store) []string {
	t.Helper()
	rows, err := s.read().query(context.Background(), `SELECT tag FROM t ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var tag string
		if err := rows.Scan(&tag); err != nil {
			t.Fatal(err)
		}
		out = append(out, tag)
	}
	return out
}

// waitQueued waits until n callers wait for the writer's turn.
func waitQueued(t *testing.T, s *Store, n int32) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); s.group.waiting.Load() < n; {
		if time.Now().After(deadline) {
			t.Error("no caller queued behind the group")
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// TestGroupCommitConcurrent: concurrent transactions share COMMITs (fewer
// COMMITs than transactions), and each is still all or nothing: the rows
// of those that fail are gone, every other row is kept.
func TestGroupCommitConcurrent(t *testing.T) {
	s := groupTestStore(t)
	ctx := context.Background()
	c0 := s.group.commits.Load()
	const workers, each = 32, 20
	var wg sync.WaitGroup
	var mu sync.Mutex
	want := 0
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				fail := (w+i)%5 == 0
				err := s.Transact(ctx, func(tx db) error {
					for k := 0; k < 2; k++ {
						if _, err := tx.exec(ctx, `INSERT INTO t (tag) VALUES (?)`, "w"); err != nil {
							return err
						}
					}
					if fail {
						return errors.New("refused")
					}
					return nil
				})
				if (err != nil) != fail {
					t.Errorf("worker %d tx %d: %v", w, i, err)
				}
				if !fail {
					mu.Lock()
					want += 2
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if got := len(tags(t, s)); got != want {
		t.Fatalf("%d rows kept, want %d (two per transaction that succeeded)", got, want)
	}
	if c := s.group.commits.Load() - c0; c >= workers*each*4/5 {
		t.Fatalf("%d COMMITs for %d transactions that succeeded: no group shared one", c, workers*each*4/5)
	}
	t.Logf("%d transactions, %d COMMITs", workers*each, s.group.commits.Load()-c0)
}

// runPair runs first, and second once first's function is running and
// second is queued behind it; it returns their errors. first's function
// waits for second to queue before it returns, so the two share a group.
func runPair(t *testing.T, s *Store, first, second func(tx db) error) (errA, errB error) {
	t.Helper()
	ctx := context.Background()
	started := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		errA = s.Transact(ctx, func(tx db) error {
			close(started)
			waitQueued(t, s, 1)
			return first(tx)
		})
	}()
	go func() {
		defer wg.Done()
		<-started
		func() {
			defer func() {
				if p := recover(); p != nil {
					errB = errors.New("panicked")
				}
			}()
			errB = s.Transact(ctx, second)
		}()
	}()
	wg.Wait()
	return errA, errB
}

func insert(tag string) func(tx db) error {
	return func(tx db) error {
		_, err := tx.exec(context.Background(), `INSERT INTO t (tag) VALUES (?)`, tag)
		return err
	}
}

// TestGroupCommitMembers: a member that fails leaves the other's writes;
// one that breaks the shared transaction (ends it, or panics) fails the
// caller waiting for the group's COMMIT too, with nothing kept, and the
// store goes on working.
func TestGroupCommitMembers(t *testing.T) {
	ctx := context.Background()
	refused := errors.New("refused")
	t.Run("first fails", func(t *testing.T) {
		s := groupTestStore(t)
		a, b := runPair(t, s, func(tx db) error { insert("a")(tx); return refused }, insert("b"))
		if !errors.Is(a, refused) || b != nil {
			t.Fatalf("errors %v, %v; want refused, nil", a, b)
		}
		if got := tags(t, s); len(got) != 1 || got[0] != "b" {
			t.Fatalf("rows %v, want [b]", got)
		}
	})
	t.Run("second fails", func(t *testing.T) {
		s := groupTestStore(t)
		c0 := s.group.commits.Load()
		a, b := runPair(t, s, insert("a"), func(tx db) error { insert("b")(tx); return refused })
		if a != nil || !errors.Is(b, refused) {
			t.Fatalf("errors %v, %v; want nil, refused", a, b)
		}
		if got := tags(t, s); len(got) != 1 || got[0] != "a" {
			t.Fatalf("rows %v, want [a]", got)
		}
		if c := s.group.commits.Load() - c0; c != 1 {
			t.Fatalf("%d COMMITs, want the group's one", c)
		}
	})
	t.Run("alone, fails and ends the transaction", func(t *testing.T) {
		s := groupTestStore(t)
		err := s.Transact(ctx, func(tx db) error {
			insert("a")(tx)
			tx.exec(ctx, `ROLLBACK`)
			return refused
		})
		if !errors.Is(err, refused) {
			t.Fatalf("error %v, want its own: refused", err)
		}
		if err := s.Transact(ctx, insert("b")); err != nil {
			t.Fatal(err)
		}
		if got := tags(t, s); len(got) != 1 || got[0] != "b" {
			t.Fatalf("rows %v, want [b]", got)
		}
	})
	breakers := map[string]func(tx db) error{
		"ends the transaction": func(tx db) error {
			insert("b")(tx)
			_, err := tx.exec(ctx, `ROLLBACK`)
			return err
		},
		"panics": func(tx db) error { insert("b")(tx); panic("broken") },
	}
	for name, second := range breakers {
		t.Run("second "+name, func(t *testing.T) {
			s := groupTestStore(t)
			a, b := runPair(t, s, insert("a"), second)
			if a == nil || b == nil {
				t.Fatalf("errors %v, %v; want both to fail", a, b)
			}
			if got := tags(t, s); len(got) != 0 {
				t.Fatalf("rows %v, want none", got)
			}
			if err := s.Transact(ctx, insert("c")); err != nil {
				t.Fatalf("after a broken group: %v", err)
			}
			if got := tags(t, s); len(got) != 1 || got[0] != "c" {
				t.Fatalf("rows %v, want [c]", got)
			}
		})
	}
}
