package store

import (
	"context"
	"path/filepath"
	"testing"
)

// Every SQLite connection, the writer and each reader, maps and caches
// what Options say, the defaults when they say nothing, and no map when
// MmapMiB is negative: the bound on the server's memory for the database
// (issue 15 §3) is MmapMiB and CacheMiB × the connections.
func TestSQLiteMemoryBounds(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		opt        Options
		mmap, page int64
	}{
		{Options{}, DefaultMmapMiB << 20, -DefaultCacheMiB << 10},
		{Options{MmapMiB: 64, CacheMiB: 8}, 64 << 20, -8 << 10},
		{Options{MmapMiB: -1, CacheMiB: 4}, 0, -4 << 10},
	} {
		c.opt.AuditKey = []byte("countycare-test-audit-key-32byte")
		c.opt.ReadConns = 2
		s, err := Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "c.db"), c.opt)
		if err != nil {
			t.Fatal(err)
		}
		// Hold both readers at once, so that each is a connection of its own.
		r1, err := s.r.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		r2, err := s.r.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		check := func(who string, row func(string) (int64, error)) {
			mmap, err := row(`PRAGMA mmap_size`)
			if err != nil {
				t.Fatal(err)
			}
			page, err := row(`PRAGMA cache_size`)
			if err != nil {
				t.Fatal(err)
			}
			if mmap != c.mmap || page != c.page {
				t.Errorf("%+v: %s has mmap_size %d, cache_size %d; want %d, %d", c.opt, who, mmap, page, c.mmap, c.page)
			}
		}
		for who, q := range map[string]func(string) (int64, error){
			"writer":   func(p string) (n int64, err error) { return n, s.w.QueryRowContext(ctx, p).Scan(&n) },
			"reader 1": func(p string) (n int64, err error) { return n, r1.QueryRowContext(ctx, p).Scan(&n) },
			"reader 2": func(p string) (n int64, err error) { return n, r2.QueryRowContext(ctx, p).Scan(&n) },
		} {
			check(who, q)
		}
		r1.Close()
		r2.Close()
		s.Close()
	}
}
