package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations
var migrations embed.FS

// Migration is one numbered schema change.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations returns the migrations of the store's dialect, in order.
func (s *Store) Migrations() ([]Migration, error) {
	dir := "migrations/" + string(s.dialect)
	entries, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return nil, fmt.Errorf("store: unable to read migrations: %w", err)
	}
	var ms []Migration
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".sql") {
			continue
		}
		v, err := strconv.Atoi(strings.SplitN(name, "_", 2)[0])
		if err != nil {
			return nil, fmt.Errorf("store: migration %s has no number", name)
		}
		b, err := migrations.ReadFile(dir + "/" + name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: name, SQL: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	// Numbers are unique and increasing from 1; a gap is allowed, since
	// parallel branches are each given their own numbers to merge without
	// renumbering (a missing lower one is applied when it arrives: Migrate
	// applies every version not recorded).
	for i, m := range ms {
		if m.Version < 1 || (i > 0 && m.Version == ms[i-1].Version) {
			return nil, fmt.Errorf("store: migrations must have unique numbers from 1; found %s at position %d", m.Name, i+1)
		}
	}
	return ms, nil
}

// LatestVersion is the highest migration number of ms (0 for none).
func LatestVersion(ms []Migration) int {
	if len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].Version
}

// SchemaVersion returns the highest applied migration (0 for an empty database).
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
		return 0, fmt.Errorf("store: unable to create schema_migrations: %w", err)
	}
	var v int
	err := s.w.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}

// Migrate applies every pending migration, each in its own transaction.
// On PostgreSQL an advisory lock keeps two starting servers from
// migrating at once.
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := s.Migrations()
	if err != nil {
		return err
	}
	if s.dialect == Postgres {
		conn, err := s.w.Conn(ctx)
		if err != nil {
			return fmt.Errorf("store: migrate: %w", err)
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(7420260001)`); err != nil {
			return fmt.Errorf("store: migrate lock: %w", err)
		}
		defer conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock(7420260001)`)
	}
	cur, err := s.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if cur > LatestVersion(ms) {
		return fmt.Errorf("store: database schema %d is newer than this binary's %d; upgrade countycare", cur, LatestVersion(ms))
	}
	// Pending is every version not recorded, not only those after the
	// highest: a version removed from the record (a test going back to the
	// schema before one migration) is applied again alone.
	applied := map[int]bool{}
	rows, err := s.w.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return fmt.Errorf("store: migrate: %w", err)
		}
		applied[v] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	// A migration's CREATE INDEX sorts a whole table, and its savepoint
	// journals every page it changes: temporary files, not memory.
	restore, err := s.tempFiles(ctx)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	defer restore()
	for _, m := range ms {
		if applied[m.Version] {
			continue
		}
		err := s.Transact(ctx, func(tx db) error {
			if _, err := tx.q.ExecContext(ctx, m.SQL); err != nil {
				return fmt.Errorf("store: migration %s: %w", m.Name, err)
			}
			_, err := tx.exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`, m.Version, m.Name, s.now().UTC().Format(timeLayout))
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// tempFiles puts the SQLite writer's temporary storage in files until
// restore is called: it is memory otherwise (Open: a commit group
// member's statement journal), but an index build sorts a whole table in
// memory when temporary storage is memory. Nothing to do on PostgreSQL.
func (s *Store) tempFiles(ctx context.Context) (restore func(), err error) {
	if s.dialect != SQLite {
		return func() {}, nil
	}
	if _, err := s.w.ExecContext(ctx, `PRAGMA temp_store = FILE`); err != nil {
		return nil, err
	}
	return func() { s.w.ExecContext(context.WithoutCancel(ctx), `PRAGMA temp_store = MEMORY`) }, nil
}
