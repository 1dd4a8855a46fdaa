package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/store"
)

// existingAuditKey reads the audit key and, unlike auditKey, never creates
// one: a backup signed, or a restore verified, with a new random key would
// prove nothing.
func (c *common) existingAuditKey(cmd string) ([]byte, error) {
	path := c.auditKeyPath()
	key, err := readAuditKey(path)
	if os.IsNotExist(err) {
		return nil, &exitError{2, fmt.Sprintf("%s: audit key %s not found: give the backed-up database's key with --audit-key-file", cmd, path)}
	}
	return key, err
}

func cmdBackup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newFlags("backup", "Copy the database, which may be in use, into a new backup in --to DIR and point DIR/latest at it.\n"+
		"SQLite: VACUUM INTO (one consistent snapshot while the server writes on); PostgreSQL: pg_dump of an\n"+
		"exported snapshot. Beside the copy: blobs.sha256 (every stored file's SHA-256) and manifest.json (schema\n"+
		"version, rows per table, the audit anchor, signed with a key derived from the audit key).\n"+
		"Everything is written under a temporary name and renamed last: if DIR is read-only or fills up the command\n"+
		"exits 1 naming the cause, and earlier backups and DIR/latest are untouched. Audited (backup.create).\n"+
		"The audit key is not copied: keep it apart (docs/operations.md, \"Backups\").", stderr)
	c.register(fs)
	to := fs.String("to", "", "directory of backups (created if missing); each backup is a subdirectory countycare-<UTC time>-<random>")
	keep := fs.Int("keep", 0, "after a successful backup, remove the oldest ones beyond this many (0: keep all)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *to == "" {
		return &exitError{2, "backup: --to DIR is required"}
	}
	if *keep < 0 {
		return &exitError{2, "backup: --keep must be 0 (keep all) or more"}
	}
	key, err := c.existingAuditKey("backup")
	if err != nil {
		return err
	}
	start := time.Now()
	path, m, err := store.Backup(ctx, c.db, *to, store.BackupOptions{AuditKey: key, Version: versionString(), Keep: *keep, Actor: "cli:backup"})
	if err != nil {
		return err
	}
	var rows int64
	for _, n := range m.Tables {
		rows += n
	}
	fmt.Fprintf(stdout, "backup written to %s in %s: schema version %d, %d tables, %d rows, %d stored files (%s), audit anchor %s\n",
		path, time.Since(start).Round(time.Millisecond), m.SchemaVersion, len(m.Tables), rows, m.Blobs, megabytes(m.BlobBytes), m.AuditAnchor)
	return nil
}

func megabytes(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }

func cmdRestore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newFlags("restore", "Restore a backup into a new, empty database and prove it: the backup's file against its manifest, then\n"+
		"(--verify, the default) the schema version, the rows of every table, every stored file's SHA-256 and the\n"+
		"audit trail (verify-audit, and the manifest's anchor). A non-empty target is refused and nothing is written.\n"+
		"Exit status 1 names each difference; the restored database must then not be used.\n"+
		"The audit key is the backed-up database's: --audit-key-file, by default audit.key beside the restored SQLite\n"+
		"file (where serve will look for it).", stderr)
	from := fs.String("from", "", "a backup directory, or a directory of backups (its latest is restored)")
	fs.StringVar(&c.db, "to", "", "the new, empty database: sqlite:///path/file.db or postgres://…")
	fs.StringVar(&c.keyFile, "audit-key-file", envOr("COUNTYCARE_AUDIT_KEY_FILE", ""), "the backed-up database's audit key (env COUNTYCARE_AUDIT_KEY_FILE)")
	verify := fs.Bool("verify", true, "check the restored database against the manifest and verify the audit trail")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *from == "" || c.db == "" {
		return &exitError{2, "restore: --from DIR and --to URL are required"}
	}
	key, err := c.existingAuditKey("restore")
	if err != nil {
		return err
	}
	start := time.Now()
	st, m, err := store.Restore(ctx, *from, c.db, store.RestoreOptions{AuditKey: key})
	if err != nil {
		return &exitError{1, err.Error()}
	}
	defer st.Close()
	restored := time.Since(start)
	fmt.Fprintf(stdout, "restored the backup of %s (schema version %d) into %s in %s\n",
		m.Created.In(care.Shanghai).Format("2006-01-02 15:04:05 MST"), m.SchemaVersion, st.Redacted(), restored.Round(time.Millisecond))
	if !*verify {
		fmt.Fprintln(stdout, "not verified (--verify=false): only the copy's SHA-256 was checked")
		return nil
	}
	verifyStart := time.Now()
	problems, err := st.VerifyRestore(ctx, m)
	if err != nil {
		return err
	}
	// The manifest's anchor is the copy's head: the restored chain must hold it.
	var anchors []anchor
	if a, err := parseAnchor(m.AuditAnchor); err == nil {
		anchors = append(anchors, a)
	} else {
		problems = append(problems, "manifest audit anchor: "+err.Error())
	}
	auditRows, auditProblemLines, err := auditProblems(ctx, st, key, anchors)
	if err != nil {
		return err
	}
	problems = append(problems, auditProblemLines...)
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintln(stdout, "PROBLEM", p)
		}
		return &exitError{1, fmt.Sprintf("restore: verification failed: %d differences between %s and its backup; do not use it", len(problems), st.Redacted())}
	}
	var rows int64
	for _, n := range m.Tables {
		rows += n
	}
	if err := st.AppendAudit(ctx, []audit.Event{{Username: "cli:restore", Role: care.RoleAdmin, Action: store.ActBackupRestore, Outcome: audit.OutcomeOK,
		Detail: "from " + filepath.Base(m.Dir) + ", verified"}}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "verified in %s: schema version %d, %d tables and %d rows as in the manifest, %d stored files (%s) with their SHA-256, audit trail intact (%d rows, anchor %s matched)\n",
		time.Since(verifyStart).Round(time.Millisecond), m.SchemaVersion, len(m.Tables), rows, m.Blobs, megabytes(m.BlobBytes), auditRows, m.AuditAnchor)
	return nil
}
