package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"time"

	"countycare/store"
)

// cmdBenchBackup measures the recovery figures of docs/operations.md
// ("Backups"): how long backup takes on a database (the recovery point of
// periodic backups is their interval plus this), and how long restore
// --verify takes into a fresh database (the recovery time, before serve
// starts). It runs the same commands an operator runs.
func cmdBenchBackup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newFlags("bench backup", "Time 'countycare backup' of --db and 'countycare restore --verify' of that backup into a fresh\n"+
		"database (SQLite: a file in --to; PostgreSQL: a new database on the same server, dropped afterwards), --runs times.", stderr)
	c.register(fs)
	to := fs.String("to", "", "directory for the backups (default: a new temporary directory, removed afterwards)")
	runs := fs.Int("runs", 3, "backups and restores to time")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *runs < 1 {
		return fmt.Errorf("bench backup: --runs must be at least 1")
	}
	dir := *to
	if dir == "" {
		d, err := os.MkdirTemp("", "countycare-bench-backup-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	auditKey, err := c.existingAuditKey("bench backup")
	if err != nil {
		return err
	}
	key := []string{"--audit-key-file", c.auditKeyPath()}
	fmt.Fprintf(stdout, "countycare bench backup: %s, %d runs, %s\n", store.RedactURL(c.db), *runs, loadAverage())
	var backups, restores []time.Duration
	for i := 0; i < *runs; i++ {
		start := time.Now()
		if err := cmdBackup(ctx, append([]string{"--db", c.db, "--to", dir, "--keep", "1"}, key...), io.Discard, stderr); err != nil {
			return err
		}
		backups = append(backups, time.Since(start))
		target, drop, err := freshTarget(ctx, c.db, dir, i)
		if err != nil {
			return err
		}
		start = time.Now()
		err = cmdRestore(ctx, append([]string{"--from", dir, "--to", target}, key...), io.Discard, stderr)
		restores = append(restores, time.Since(start))
		if derr := drop(); err == nil {
			err = derr
		}
		if err != nil {
			return err
		}
	}
	_, m, err := store.ReadBackup(dir, auditKey)
	if err != nil {
		return err
	}
	var rows int64
	for _, n := range m.Tables {
		rows += n
	}
	fmt.Fprintf(stdout, "backup: %d tables, %d rows, %d stored files (%s), copy %s\n", len(m.Tables), rows, m.Blobs, megabytes(m.BlobBytes), megabytes(m.FileSize))
	fmt.Fprintf(stdout, "backup (copy, fsync, inventory, manifest):  %s\n", spread(backups))
	fmt.Fprintf(stdout, "restore --verify into a fresh database:      %s\n", spread(restores))
	return nil
}

// spread is "median M (min A, max B)" of ds.
func spread(ds []time.Duration) string {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	r := func(d time.Duration) string { return d.Round(time.Millisecond).String() }
	return fmt.Sprintf("median %s (min %s, max %s, %d runs)", r(s[len(s)/2]), r(s[0]), r(s[len(s)-1]), len(s))
}

// freshTarget is a new, empty database of the source's kind for restore
// run i, and how to remove it.
func freshTarget(ctx context.Context, src, dir string, i int) (string, func() error, error) {
	if _, ok := sqliteFile(src); ok {
		p := filepath.Join(dir, fmt.Sprintf("restored-%d.db", i))
		return "sqlite://" + p, func() error {
			for _, s := range []string{"", "-wal", "-shm"} {
				os.Remove(p + s)
			}
			return nil
		}, nil
	}
	u, err := url.Parse(src)
	if err != nil {
		return "", nil, err
	}
	db, err := sql.Open("pgx", src)
	if err != nil {
		return "", nil, err
	}
	b := make([]byte, 4)
	rand.Read(b)
	name := "cc_bench_restore_" + hex.EncodeToString(b)
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		db.Close()
		return "", nil, fmt.Errorf("bench backup: create the restore target: %w", err)
	}
	u.Path = "/" + name
	return u.String(), func() error {
		defer db.Close()
		_, err := db.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		return err
	}, nil
}
