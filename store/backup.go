package store

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"countycare/audit"
	"countycare/care"
)

// A backup (issue 15 §4) is a directory holding one consistent copy of the
// database, the list of every stored file's SHA-256 and a manifest that
// describes both:
//
//	countycare-20261207T070102Z-3fa9/
//	    countycare.db     SQLite: the VACUUM INTO copy (rollback journal mode)
//	    countycare.dump   PostgreSQL: pg_dump --format=custom of an exported snapshot
//	    blobs.sha256      one line per stored file: SHA-256, size, table.column, primary key
//	    manifest.json     BackupManifest, signed with a key derived from the audit key
//
// Everything the platform stores — DICOM instances, ECG signals, photos,
// fetal traces, lab files, attachments, chat images — lives in the
// database's BLOB/BYTEA columns, so the copy holds them all; the list lets
// a restore prove each one came back unchanged.

// Names of a backup's files.
const (
	ManifestFile   = "manifest.json"
	BlobListFile   = "blobs.sha256"
	sqliteCopyFile = "countycare.db"
	pgDumpFile     = "countycare.dump"
	backupPrefix   = "countycare-"
	// LatestBackup is the symbolic link, in a backup directory, to the newest complete backup.
	LatestBackup = "latest"
)

// BackupManifest describes a backup; Restore checks the restored database
// against it. MAC is an HMAC-SHA256 of the rest under a key derived from
// the audit key, so whoever alters the copy cannot rewrite the manifest to
// match without that key.
type BackupManifest struct {
	Format        int              `json:"format"` // 1
	Dialect       Dialect          `json:"dialect"`
	File          string           `json:"file"`
	FileSize      int64            `json:"file_size"`
	FileSHA256    string           `json:"file_sha256"`
	SchemaVersion int              `json:"schema_version"`
	Tables        map[string]int64 `json:"tables"` // rows per table
	Blobs         int64            `json:"blobs"`
	BlobBytes     int64            `json:"blob_bytes"`
	BlobListSHA   string           `json:"blob_list_sha256"`
	AuditAnchor   string           `json:"audit_anchor"` // SEQ:HASH of the chain's head in the copy
	Created       time.Time        `json:"created"`
	Version       string           `json:"countycare_version"`
	MAC           string           `json:"mac"`

	Dir string `json:"-"` // where ReadBackup found it
}

// Audit actions of backups: the copy is recorded in the trail it copies,
// and a verified restore in the restored trail.
const (
	ActBackupCreate  = "backup.create"
	ActBackupRestore = "backup.restore"
)

// BackupOptions configure Backup.
type BackupOptions struct {
	AuditKey []byte           // the source database's audit key: checked, and signs the manifest
	Version  string           // countycare's version, recorded in the manifest
	Keep     int              // complete backups to keep in the directory (0: all)
	Now      func() time.Time // the clock; time.Now when nil
	// Actor names who asked, for the backup.create audit row.
	Actor string
}

// Backup writes a consistent copy of the database at rawURL, which may be
// in use, into a new subdirectory of dir, and points dir/latest at it.
// Everything is written under a temporary name first and renamed into
// place last, so a failure — dir read-only, the disk full — returns an
// error naming the cause and leaves earlier backups and latest as they
// were. It returns the new backup's path and manifest.
func Backup(ctx context.Context, rawURL, dir string, opt BackupOptions) (string, *BackupManifest, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if path, err := sqlitePath(rawURL); err == nil && strings.HasPrefix(rawURL, "sqlite:") {
		if _, err := os.Stat(path); err != nil {
			return "", nil, fmt.Errorf("backup: no database to copy: %w", err)
		}
	}
	s, err := openNoMigrate(ctx, rawURL, Options{AuditKey: opt.AuditKey})
	if err != nil {
		return "", nil, err
	}
	defer s.Close()
	v, err := s.SchemaVersion(ctx)
	if err != nil {
		return "", nil, err
	}
	if v == 0 {
		return "", nil, fmt.Errorf("backup: %s holds no countycare database (schema version 0)", s.Redacted())
	}
	if err := s.checkAuditKey(ctx); err != nil {
		return "", nil, err
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", nil, fmt.Errorf("backup: cannot create %s: %w", dir, err)
	}
	created := opt.Now().UTC()
	name := backupPrefix + created.Format("20060102T150405Z") + "-" + randomHex(2)
	tmp := filepath.Join(dir, ".tmp-"+name)
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return "", nil, fmt.Errorf("backup: cannot write in %s: %w; earlier backups are untouched", dir, err)
	}
	// The backup itself is recorded in the trail it copies.
	ev := audit.Event{Username: opt.Actor, Role: care.RoleAdmin, Action: ActBackupCreate, Outcome: audit.OutcomeOK, Detail: name}
	if err := s.AppendAudit(ctx, []audit.Event{ev}); err != nil {
		os.Remove(tmp)
		return "", nil, err
	}
	done := false
	defer func() {
		if !done {
			os.RemoveAll(tmp)
		}
	}()
	m := &BackupManifest{Format: 1, Dialect: s.dialect, Created: created, Version: opt.Version}
	var blobs []string
	switch s.dialect {
	case SQLite:
		m.File = sqliteCopyFile
		blobs, err = s.copySQLite(ctx, filepath.Join(tmp, m.File), m)
	default:
		m.File = pgDumpFile
		blobs, err = s.dumpPostgres(ctx, filepath.Join(tmp, m.File), m)
	}
	if err != nil {
		return "", nil, fmt.Errorf("backup: %w; earlier backups are untouched", err)
	}
	if err := finishBackup(tmp, m, blobs, opt.AuditKey); err != nil {
		return "", nil, fmt.Errorf("backup: %w; earlier backups are untouched", err)
	}
	final := filepath.Join(dir, name)
	if err := os.Rename(tmp, final); err != nil {
		return "", nil, fmt.Errorf("backup: %w; earlier backups are untouched", err)
	}
	done = true
	if err := syncDir(dir); err != nil {
		return final, m, fmt.Errorf("backup: %w", err)
	}
	if err := pointLatest(dir, name); err != nil {
		return final, m, fmt.Errorf("backup: %s is complete but %s still points at the previous one: %w", final, LatestBackup, err)
	}
	if opt.Keep > 0 {
		if err := pruneBackups(dir, opt.Keep); err != nil {
			return final, m, fmt.Errorf("backup: %s is complete; removing old backups: %w", final, err)
		}
	}
	return final, m, nil
}

// checkAuditKey refuses a key that does not sign the database's chain head:
// a manifest signed with it could not be verified, and an audit row written
// with it would break the chain.
func (s *Store) checkAuditKey(ctx context.Context) error {
	var seq int64
	var hash, mac string
	if err := s.w.QueryRowContext(ctx, `SELECT seq, hash, mac FROM audit_head WHERE id = 1`).Scan(&seq, &hash, &mac); err != nil {
		return wrap("store.checkAuditKey", err)
	}
	if len(s.auditKey) == 0 || !audit.CheckHeadMAC(s.auditKey, seq, hash, mac) {
		return errors.New("the audit key does not sign this database's audit trail: give the database's own key (--audit-key-file)")
	}
	return nil
}

// copySQLite makes the copy with VACUUM INTO (one read transaction: a
// consistent snapshot while the server writes on), switches it to a
// rollback journal so it is one self-contained file, fsyncs it and takes
// the inventory from the copy itself.
func (s *Store) copySQLite(ctx context.Context, path string, m *BackupManifest) ([]string, error) {
	src, _ := sqlitePath(s.url)
	need := fileSize(src) + fileSize(src+"-wal")
	if free, ok := freeBytes(filepath.Dir(path)); ok && free < need {
		return nil, fmt.Errorf("%s has %s free; the copy needs up to %s (the database and its WAL)", filepath.Dir(path), mb(free), mb(need))
	}
	if _, err := s.w.ExecContext(ctx, `VACUUM INTO ?`, path); err != nil {
		err = fmt.Errorf("copy the database into %s: %w", filepath.Dir(path), err)
		if free, ok := freeBytes(filepath.Dir(path)); ok {
			err = fmt.Errorf("%w (is the disk full or the file size limited? %s free there, the copy needs up to %s)", err, mb(free), mb(need))
		}
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil { // patient data: the owner only
		return nil, err
	}
	c, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(DELETE)")
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetMaxOpenConns(1)
	tx, err := c.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("open the copy: %w", err)
	}
	defer tx.Rollback()
	blobs, err := takeInventory(ctx, tx, SQLite, m)
	if err != nil {
		return nil, err
	}
	tx.Rollback()
	if err := c.Close(); err != nil {
		return nil, err
	}
	return blobs, hashFile(path, m, true)
}

// dumpPostgres runs pg_dump on a snapshot exported by a repeatable-read
// transaction and takes the inventory in that same transaction, so the
// manifest describes exactly the dumped rows.
func (s *Store) dumpPostgres(ctx context.Context, path string, m *BackupManifest) ([]string, error) {
	bin, err := exec.LookPath("pg_dump")
	if err != nil {
		return nil, errors.New("pg_dump not found on PATH: install the PostgreSQL client of the server's major version (Debian: postgresql-client)")
	}
	tx, err := s.w.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return nil, wrap("store.Backup", err)
	}
	defer tx.Rollback()
	var snap string
	if err := tx.QueryRowContext(ctx, `SELECT pg_export_snapshot()`).Scan(&snap); err != nil {
		return nil, wrap("store.Backup", err)
	}
	conn, env := libpqURL(s.url)
	cmd := exec.CommandContext(ctx, bin, "--format=custom", "--no-owner", "--no-privileges", "--snapshot="+snap, "--file="+path, "--dbname="+conn)
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("pg_dump into %s: %v %s", filepath.Dir(path), err, strings.TrimSpace(string(out)))
	}
	blobs, err := takeInventory(ctx, tx, Postgres, m)
	if err != nil {
		return nil, err
	}
	return blobs, hashFile(path, m, true)
}

// libpqURL returns the URL for a libpq tool without its password, which
// goes in PGPASSWORD instead (a command line is visible to every local user).
func libpqURL(raw string) (string, []string) {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw, nil
	}
	p, ok := u.User.Password()
	if !ok {
		return raw, nil
	}
	u.User = url.User(u.User.Username())
	return u.String(), []string{"PGPASSWORD=" + p}
}

// finishBackup writes the blob list and the signed manifest and fsyncs
// them and their directory.
func finishBackup(tmp string, m *BackupManifest, blobs []string, key []byte) error {
	list := []byte(strings.Join(blobs, ""))
	sum := sha256.Sum256(list)
	m.BlobListSHA = hex.EncodeToString(sum[:])
	if err := writeSynced(filepath.Join(tmp, BlobListFile), list); err != nil {
		return err
	}
	m.MAC = ""
	m.MAC = manifestMAC(key, m)
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := writeSynced(filepath.Join(tmp, ManifestFile), append(b, '\n')); err != nil {
		return err
	}
	return syncDir(tmp)
}

// manifestMAC signs m (with MAC empty) under a key derived from the audit
// key, so the manifest's signature can never pass for an audit row's.
func manifestMAC(auditKey []byte, m *BackupManifest) string {
	c := *m
	c.MAC = ""
	b, _ := json.Marshal(&c)
	k := hmac.New(sha256.New, auditKey)
	k.Write([]byte("countycare backup manifest v1"))
	h := hmac.New(sha256.New, k.Sum(nil))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

// pointLatest atomically replaces dir/latest with a link to name.
func pointLatest(dir, name string) error {
	tmp := filepath.Join(dir, ".tmp-"+LatestBackup+"-"+randomHex(4))
	if err := os.Symlink(name, tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, LatestBackup)); err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(dir)
}

// pruneBackups removes the complete backups older than the newest keep;
// the one latest points at always stays.
func pruneBackups(dir string, keep int) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	latest, _ := os.Readlink(filepath.Join(dir, LatestBackup))
	var names []string
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), backupPrefix) {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names) // the names start with the UTC time
	for _, n := range names[:max(len(names)-keep, 0)] {
		if n != latest {
			if err := os.RemoveAll(filepath.Join(dir, n)); err != nil {
				return err
			}
		}
	}
	return syncDir(dir)
}

// hashFile records path's size and SHA-256 in m (set) or checks them (!set).
func hashFile(path string, m *BackupManifest, set bool) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return err
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if set {
		m.FileSize, m.FileSHA256 = n, sum
		return nil
	}
	if n != m.FileSize || sum != m.FileSHA256 {
		return fmt.Errorf("%s is %d bytes with SHA-256 %s; the manifest says %d bytes, %s: the copy was altered or damaged", filepath.Base(path), n, sum, m.FileSize, m.FileSHA256)
	}
	return nil
}

// writeSynced writes a new file and fsyncs it. A full disk or a read-only
// directory surfaces here (or at the fsync) as the system's error.
func writeSynced(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// syncDir fsyncs a directory so the names created or renamed in it last.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }

// RedactURL returns a database URL without its password, for output.
func RedactURL(raw string) string { return redact(raw) }

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// inventoryQuerier is what a read transaction offers.
type inventoryQuerier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// takeInventory fills m's schema version, row counts and audit anchor from
// q and returns the blob list: one line per value of every BLOB/BYTEA
// column, in table, column and primary-key order.
func takeInventory(ctx context.Context, q inventoryQuerier, d Dialect, m *BackupManifest) ([]string, error) {
	if err := q.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&m.SchemaVersion); err != nil {
		return nil, fmt.Errorf("inventory: schema version: %w", err)
	}
	var seq int64
	var hash string
	if err := q.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&seq, &hash); err != nil {
		return nil, fmt.Errorf("inventory: audit head: %w", err)
	}
	m.AuditAnchor = fmt.Sprintf("%d:%s", seq, hash)
	tables, err := listStrings(ctx, q, map[Dialect]string{
		SQLite:   `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name`,
		Postgres: `SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename`,
	}[d])
	if err != nil {
		return nil, fmt.Errorf("inventory: tables: %w", err)
	}
	m.Tables = make(map[string]int64, len(tables))
	var blobs []string
	m.Blobs, m.BlobBytes = 0, 0
	for _, t := range tables {
		var n int64
		if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+quoteIdent(t)).Scan(&n); err != nil {
			return nil, fmt.Errorf("inventory: count %s: %w", t, err)
		}
		m.Tables[t] = n
		cols, pk, err := blobColumns(ctx, q, d, t)
		if err != nil {
			return nil, err
		}
		for _, col := range cols {
			lines, bytes, err := hashColumn(ctx, q, t, col, pk)
			if err != nil {
				return nil, err
			}
			blobs = append(blobs, lines...)
			m.Blobs += int64(len(lines))
			m.BlobBytes += bytes
		}
	}
	return blobs, nil
}

// blobColumns returns table t's BLOB/BYTEA columns and its primary key
// (rowid on SQLite when it has none).
func blobColumns(ctx context.Context, q inventoryQuerier, d Dialect, t string) (cols, pk []string, err error) {
	if d == SQLite {
		rows, err := q.QueryContext(ctx, `SELECT name, type, pk FROM pragma_table_info(?) ORDER BY cid`, t)
		if err != nil {
			return nil, nil, fmt.Errorf("inventory: columns of %s: %w", t, err)
		}
		defer rows.Close()
		type keyCol struct {
			name string
			pos  int
		}
		var keys []keyCol
		for rows.Next() {
			var name, typ string
			var pos int
			if err := rows.Scan(&name, &typ, &pos); err != nil {
				return nil, nil, err
			}
			if strings.EqualFold(typ, "BLOB") {
				cols = append(cols, name)
			}
			if pos > 0 {
				keys = append(keys, keyCol{name, pos})
			}
		}
		sort.Slice(keys, func(i, j int) bool { return keys[i].pos < keys[j].pos })
		for _, k := range keys {
			pk = append(pk, k.name)
		}
		if len(pk) == 0 {
			pk = []string{"rowid"}
		}
		return cols, pk, rows.Err()
	}
	cols, err = listStrings(ctx, q, `SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 AND data_type = 'bytea' ORDER BY ordinal_position`, t)
	if err != nil || len(cols) == 0 {
		return nil, nil, err
	}
	pk, err = listStrings(ctx, q, `SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
		WHERE i.indrelid = (quote_ident(current_schema()) || '.' || quote_ident($1))::regclass AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)`, t)
	if err == nil && len(pk) == 0 {
		pk = []string{"ctid"}
	}
	return cols, pk, err
}

// hashColumn returns a line "SHA-256  size  table.column  key" for each
// row of t, in primary-key order, and the total size.
func hashColumn(ctx context.Context, q inventoryQuerier, t, col string, pk []string) ([]string, int64, error) {
	keys := make([]string, len(pk))
	for i, k := range pk {
		keys[i] = quoteIdent(k)
	}
	rows, err := q.QueryContext(ctx, `SELECT `+quoteIdent(col)+`, `+strings.Join(keys, ", ")+` FROM `+quoteIdent(t)+` ORDER BY `+strings.Join(keys, ", "))
	if err != nil {
		return nil, 0, fmt.Errorf("inventory: read %s.%s: %w", t, col, err)
	}
	defer rows.Close()
	var lines []string
	var total int64
	vals := make([]any, 1+len(pk))
	var data []byte
	vals[0] = &data
	keyVals := make([]sql.NullString, len(pk))
	for i := range keyVals {
		vals[1+i] = &keyVals[i]
	}
	var b bytes.Buffer
	for rows.Next() {
		if err := rows.Scan(vals...); err != nil {
			return nil, 0, fmt.Errorf("inventory: read %s.%s: %w", t, col, err)
		}
		sum := sha256.Sum256(data)
		b.Reset()
		fmt.Fprintf(&b, "%x  %d  %s.%s ", sum, len(data), t, col)
		for i, k := range keyVals {
			if i > 0 {
				b.WriteByte('/')
			}
			b.WriteString(k.String)
		}
		b.WriteByte('\n')
		lines = append(lines, b.String())
		total += int64(len(data))
	}
	return lines, total, rows.Err()
}

func listStrings(ctx context.Context, q inventoryQuerier, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// quoteIdent quotes a name read from the catalogue for use in SQL.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// ReadBackup reads and authenticates the manifest of the backup at dir —
// a backup itself, or a directory of backups (its latest is read) — and
// returns the backup's directory and manifest. A manifest whose signature
// does not match key is refused: it was altered, or key is not the key of
// the database that was backed up.
func ReadBackup(dir string, key []byte) (string, *BackupManifest, error) {
	if _, err := os.Stat(filepath.Join(dir, ManifestFile)); errors.Is(err, os.ErrNotExist) {
		latest := filepath.Join(dir, LatestBackup)
		if _, err := os.Stat(filepath.Join(latest, ManifestFile)); err != nil {
			return "", nil, fmt.Errorf("restore: %s holds no backup (no %s, no %s link to one)", dir, ManifestFile, LatestBackup)
		}
		target, err := os.Readlink(latest)
		if err != nil {
			return "", nil, fmt.Errorf("restore: %w", err)
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(dir, target)
		}
		dir = target
	}
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return "", nil, fmt.Errorf("restore: %w", err)
	}
	var m BackupManifest
	if err := json.Unmarshal(b, &m); err != nil {
		return "", nil, fmt.Errorf("restore: %s is not a countycare manifest: %w", filepath.Join(dir, ManifestFile), err)
	}
	if m.Format != 1 || m.File == "" || filepath.Base(m.File) != m.File {
		return "", nil, fmt.Errorf("restore: %s: unknown manifest format %d", filepath.Join(dir, ManifestFile), m.Format)
	}
	if !hmac.Equal([]byte(manifestMAC(key, &m)), []byte(m.MAC)) {
		return "", nil, fmt.Errorf("restore: the signature of %s does not match the audit key: the manifest was altered, or this is not the key of the database that was backed up", filepath.Join(dir, ManifestFile))
	}
	m.Dir = dir
	return dir, &m, nil
}

// RestoreOptions configure Restore.
type RestoreOptions struct {
	AuditKey []byte // the backed-up database's audit key
}

// Restore restores the backup at dir (a backup, or a directory of backups:
// its latest) into the database at rawURL, which must be empty, and returns
// the restored store (not migrated: at the backup's schema version) and the
// manifest. The backup's file is checked against the manifest first. It
// does not verify the restored content; VerifyRestore does.
func Restore(ctx context.Context, dir, rawURL string, opt RestoreOptions) (*Store, *BackupManifest, error) {
	dir, m, err := ReadBackup(dir, opt.AuditKey)
	if err != nil {
		return nil, nil, err
	}
	if known, err := (&Store{dialect: m.Dialect}).Migrations(); err != nil || m.SchemaVersion > LatestVersion(known) {
		if err == nil {
			err = fmt.Errorf("restore: the backup's schema version %d is newer than this binary's %d; restore with the countycare version that made it (%s)", m.SchemaVersion, LatestVersion(known), m.Version)
		}
		return nil, nil, err
	}
	src := filepath.Join(dir, m.File)
	if err := hashFile(src, m, false); err != nil {
		return nil, nil, fmt.Errorf("restore: %w", err)
	}
	s, err := openNoMigrate(ctx, rawURL, Options{AuditKey: opt.AuditKey})
	if err != nil {
		return nil, nil, err
	}
	if s.dialect != m.Dialect {
		s.Close()
		return nil, nil, fmt.Errorf("restore: the backup is of a %s database and %s is %s: restore into the same kind", m.Dialect, s.Redacted(), s.dialect)
	}
	if n, err := s.tableCount(ctx); err != nil || n > 0 {
		s.Close()
		if err == nil {
			err = fmt.Errorf("restore: %s is not empty (%d tables): restore only into a new, empty database; nothing was written", s.Redacted(), n)
		}
		return nil, nil, err
	}
	if s.dialect == SQLite {
		s.Close()
		path, _ := sqlitePath(rawURL)
		if err := copyInto(src, path); err != nil {
			return nil, nil, fmt.Errorf("restore: %w", err)
		}
		if s, err = openNoMigrate(ctx, rawURL, Options{AuditKey: opt.AuditKey}); err != nil {
			return nil, nil, err
		}
		return s, m, nil
	}
	bin, err := exec.LookPath("pg_restore")
	if err != nil {
		s.Close()
		return nil, nil, errors.New("restore: pg_restore not found on PATH: install the PostgreSQL client of the server's major version (Debian: postgresql-client)")
	}
	conn, env := libpqURL(rawURL)
	cmd := exec.CommandContext(ctx, bin, "--exit-on-error", "--single-transaction", "--no-owner", "--no-privileges", "--dbname="+conn, src)
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		s.Close()
		return nil, nil, fmt.Errorf("restore: pg_restore (one transaction: nothing was written): %v: %s", err, strings.TrimSpace(string(out)))
	}
	return s, m, nil
}

// tableCount counts the tables of the database (0: empty, a new database).
func (s *Store) tableCount(ctx context.Context) (int, error) {
	q := `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'`
	if s.dialect == Postgres {
		q = `SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema()`
	}
	var n int
	err := s.w.QueryRowContext(ctx, q).Scan(&n)
	return n, wrap("store.Restore", err)
}

// copyInto copies the backup's SQLite file to path under a temporary name,
// fsyncs it and renames it into place; the empty file and journal files
// the emptiness check may have left at path are replaced.
func copyInto(src, path string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := path + ".restoring"
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(bufio.NewWriterSize(out, 1<<20), in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if err := os.Remove(path + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

// VerifyRestore compares the restored database with the manifest and the
// backup's blob list: schema version, rows per table, every stored file's
// SHA-256 and size, and the audit chain's head. It returns one line per
// difference (none: the restore is proven equal to the backup). The audit
// chain's own signatures are checked by VerifyAudit.
func (s *Store) VerifyRestore(ctx context.Context, m *BackupManifest) ([]string, error) {
	var opts *sql.TxOptions
	if s.dialect == Postgres {
		opts = &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
	}
	tx, err := s.r.BeginTx(ctx, opts)
	if err != nil {
		return nil, wrap("store.VerifyRestore", err)
	}
	defer tx.Rollback()
	var got BackupManifest
	blobs, err := takeInventory(ctx, tx, s.dialect, &got)
	if err != nil {
		return nil, err
	}
	var problems []string
	if got.SchemaVersion != m.SchemaVersion {
		problems = append(problems, fmt.Sprintf("schema version %d, the manifest says %d", got.SchemaVersion, m.SchemaVersion))
	}
	names := make([]string, 0, len(m.Tables))
	for t := range m.Tables {
		names = append(names, t)
	}
	for t := range got.Tables {
		if _, ok := m.Tables[t]; !ok {
			names = append(names, t)
		}
	}
	sort.Strings(names)
	for _, t := range names {
		want, inManifest := m.Tables[t]
		n, restored := got.Tables[t]
		switch {
		case !restored:
			problems = append(problems, fmt.Sprintf("table %s is missing (the manifest has %d rows)", t, want))
		case !inManifest:
			problems = append(problems, fmt.Sprintf("table %s (%d rows) is not in the manifest", t, n))
		case n != want:
			problems = append(problems, fmt.Sprintf("table %s has %d rows, the manifest says %d", t, n, want))
		}
	}
	if got.AuditAnchor != m.AuditAnchor {
		problems = append(problems, fmt.Sprintf("audit head %s, the manifest says %s", got.AuditAnchor, m.AuditAnchor))
	}
	list, err := os.ReadFile(filepath.Join(m.Dir, BlobListFile))
	if err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	if sum := sha256.Sum256(list); hex.EncodeToString(sum[:]) != m.BlobListSHA {
		problems = append(problems, fmt.Sprintf("%s was altered: its SHA-256 is not the manifest's", BlobListFile))
	}
	problems = append(problems, diffBlobLists(strings.SplitAfter(string(list), "\n"), blobs)...)
	return problems, nil
}

// diffBlobLists reports the stored files whose line differs between the
// backup's list and the restored database's, at most 20 of them.
func diffBlobLists(want, got []string) []string {
	if n := len(want); n > 0 && want[n-1] == "" {
		want = want[:n-1]
	}
	key := func(line string) string { // table.column key
		if f := strings.SplitN(line, "  ", 3); len(f) == 3 {
			return strings.TrimSpace(f[2])
		}
		return line
	}
	have := make(map[string]string, len(got))
	for _, l := range got {
		have[key(l)] = l
	}
	var problems []string
	more := 0
	report := func(p string) {
		if len(problems) < 20 {
			problems = append(problems, p)
		} else {
			more++
		}
	}
	for _, l := range want {
		k := key(l)
		g, ok := have[k]
		switch {
		case !ok:
			report("stored file " + k + " is missing")
		case g != l:
			report("stored file " + k + " differs: " + strings.TrimSpace(strings.SplitN(g, "  ", 2)[0]) + ", the backup listed " + strings.SplitN(l, "  ", 2)[0])
		}
		delete(have, k)
	}
	extra := make([]string, 0, len(have))
	for k := range have {
		extra = append(extra, k)
	}
	sort.Strings(extra)
	for _, k := range extra {
		report("stored file " + k + " is not in the backup's list")
	}
	if more > 0 {
		problems = append(problems, fmt.Sprintf("… and %d more stored-file differences", more))
	}
	return problems
}
