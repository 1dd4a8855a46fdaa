package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestWriterTempStoreMemory: a write transaction's savepoint (every
// SQLite transaction is one member of a commit group) journals the pages
// it changes; past 64 KiB SQLite spills that journal into a temporary
// file unless the writer's temporary storage is memory. The county-year
// replay paid an open, writes and a close for most write requests
// (docs/benchmarks.md). Migrations and index builds keep files (a CREATE
// INDEX sorts a whole table), and the writer is back in memory after them.
func TestWriterTempStoreMemory(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("open temporary files are read from /proc/self/fd")
	}
	ctx := context.Background()
	s := sqliteTestStore(t)
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	// 400 rows of 1,000 bytes: about 100 pages, 400 KiB to journal.
	if _, err := s.w.ExecContext(ctx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400)
		INSERT INTO t (id, b) SELECT i, randomblob(1000) FROM n`); err != nil {
		t.Fatal(err)
	}
	var open []string
	err := s.Transact(ctx, func(tx db) error {
		if _, err := tx.exec(ctx, `UPDATE t SET b = randomblob(1000)`); err != nil {
			return err
		}
		open = sqliteTempFiles(t)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(open) > 0 {
		t.Fatalf("the write transaction opened temporary files %v; want its journal in memory", open)
	}
	tempStore := func() (v int) {
		t.Helper()
		if err := s.w.QueryRowContext(ctx, `PRAGMA temp_store`).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	if v := tempStore(); v != 2 {
		t.Fatalf("writer's temp_store = %d, want 2 (memory)", v)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if v := tempStore(); v != 2 {
		t.Fatalf("after Migrate the writer's temp_store = %d, want 2 (memory)", v)
	}
	restore, err := s.tempFiles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v := tempStore(); v != 1 {
		t.Fatalf("index builds: the writer's temp_store = %d, want 1 (files)", v)
	}
	restore()
	if err := s.RestorePendingIndexes(ctx); err != nil {
		t.Fatal(err)
	}
	if v := tempStore(); v != 2 {
		t.Fatalf("after RestorePendingIndexes the writer's temp_store = %d, want 2 (memory)", v)
	}
}

// sqliteTempFiles lists the deleted files this process holds open: the
// SQLite unix VFS unlinks a temporary file as soon as it has opened it
// (/var/tmp/#inode (deleted) in /proc/self/fd).
func sqliteTempFiles(t *testing.T) []string {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, fd := range fds {
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name())); err == nil && strings.HasSuffix(target, " (deleted)") {
			out = append(out, fmt.Sprintf("fd %s → %s", fd.Name(), target))
		}
	}
	return out
}
