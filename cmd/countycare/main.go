// Command countycare runs the county medical community platform: one
// binary with subcommands for the server, the demo county, migrations,
// audit verification and benchmarks. Configuration comes from flags and
// COUNTYCARE_* environment variables, read here once and passed down.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"countycare/store"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `countycare — county medical community platform (县域医共体信息平台)

Usage:
  countycare <command> [flags]

Commands:
  serve          run the web server (add --demo to create a demo county in an empty database)
  demo           fill an empty database with a generated demo county
  init           set up a new county: root institution, health commission and first administrator
  migrate        apply database migrations and print the schema version
  verify-audit   check the audit trail's hash chain; exits 1 if a row was altered or removed
  backup         copy the database, in use, into a new backup in --to DIR, with a signed manifest
  restore        restore a backup into a new, empty database (--to URL) and prove it equal (--verify)
  bench          measure resident lookup, search and audit overhead over HTTP on loopback
  bench ecg      score the QRS detector beat by beat on the WFDB records of a directory
  bench dicom    measure DICOM parsing and preview rendering on generated files (in process)
  bench dicomweb measure DICOMweb STOW-RS and QIDO-RS over HTTP on loopback
  bench dicomweb-peer the peers' bench-dicomweb.sh against Orthanc and countycare, alternating, with the ratios
  bench rx       measure the prescription review engine on one core (in process)
  bench backup   time backup and restore --verify of a database (the recovery point and time of docs/operations.md)
  bench fhir-ingest load Synthea bundles through POST /fhir (transactions), side by side with a FHIR peer
  drill-writes   the failover drill's load: clinicians' writes to a running server, a fault mid-load, then
                 a check that no acknowledged write was lost (scripts/drill-failover)
  settle         settle one bill offline against a policy file and print the result as JSON
  resettle       settle a county year again from the stored bills (report, or --apply)
  chronic defaults   print the chronic-care rules' defaults as JSON (the format of serve --chronic-config)
  chronic recompute  re-assess every chronic patient's tier with the current rules (report, or --apply)
  online purge-chat  delete online-visit chat older than --before (refused under 3 years)
  sms check      check an SMS provider configuration as serve --sms-config would, and print it
  fhir import    load FHIR R4 transaction bundles (Synthea) or an export's NDJSON from DIR, each all or nothing
  fhir export    write the county's Patients, Conditions and Observations changed --since T to DIR as NDJSON
  version        print the version

Every command takes --db URL (env COUNTYCARE_DB): sqlite:///path/file.db or postgres://…
Run 'countycare <command> --help' for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) && (shownFlagError == "" || err.Error() != shownFlagError) {
			fmt.Fprintln(os.Stderr, "countycare:", err)
		}
		os.Exit(exitCode(err))
	}
}

// exitError carries a specific exit status.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func exitCode(err error) int {
	var e *exitError
	if errors.As(err, &e) {
		return e.code
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 1
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, usage)
		return nil
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return cmdServe(ctx, rest, stdout, stderr)
	case "demo":
		return cmdDemo(ctx, rest, stdout, stderr)
	case "init":
		return cmdInit(ctx, rest, stdout, stderr)
	case "migrate":
		return cmdMigrate(ctx, rest, stdout, stderr)
	case "verify-audit":
		return cmdVerifyAudit(ctx, rest, stdout, stderr)
	case "backup":
		return cmdBackup(ctx, rest, stdout, stderr)
	case "restore":
		return cmdRestore(ctx, rest, stdout, stderr)
	case "bench":
		return cmdBench(ctx, rest, stdout, stderr)
	case "drill-writes":
		return cmdDrillWrites(ctx, rest, stdout, stderr)
	case "settle":
		return cmdSettle(ctx, rest, stdout, stderr)
	case "resettle":
		return cmdResettle(ctx, rest, stdout, stderr)
	case "chronic":
		return cmdChronic(ctx, rest, stdout, stderr)
	case "online":
		return cmdOnline(ctx, rest, stdout, stderr)
	case "sms":
		return cmdSMS(rest, stdout, stderr)
	case "fhir":
		return cmdFHIR(ctx, rest, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "countycare", versionString())
		return nil
	}
	fmt.Fprint(stderr, usage)
	return &exitError{2, "unknown command " + cmd}
}

func versionString() string {
	v := version
	if bi, ok := debug.ReadBuildInfo(); ok {
		v += " " + bi.GoVersion
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " " + s.Value[:12]
			}
		}
	}
	return v
}

// common holds the flags every command shares.
type common struct {
	db            string
	standbyDB     string // serve --read-db
	reconnectWait time.Duration
	keyFile       string
	logFormat     string
	logLevel      string
	sqliteMmapMiB int // SQLite: each connection's memory map (0: none)
	sqliteCache   int // SQLite: each connection's page cache, MiB
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// defaultDB is the embedded SQLite file used when no URL is given.
const defaultDB = "sqlite://./data/countycare.db"

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.db, "db", envOr("COUNTYCARE_DB", defaultDB), "database URL: sqlite:///path/file.db or postgres://… (env COUNTYCARE_DB)")
	fs.DurationVar(&c.reconnectWait, "db-reconnect-wait", envDuration("COUNTYCARE_DB_RECONNECT_WAIT", 15*time.Second), "PostgreSQL: how long a write waits for the database to come back (a failover) before its request is answered 503 (env COUNTYCARE_DB_RECONNECT_WAIT)")
	fs.StringVar(&c.keyFile, "audit-key-file", envOr("COUNTYCARE_AUDIT_KEY_FILE", ""), "file holding the audit chain's signing key; created if missing (default: audit.key beside an SQLite database, ./data/audit.key otherwise; env COUNTYCARE_AUDIT_KEY_FILE)")
	fs.StringVar(&c.logFormat, "log-format", envOr("COUNTYCARE_LOG_FORMAT", "json"), "log format: json or text")
	fs.StringVar(&c.logLevel, "log-level", envOr("COUNTYCARE_LOG_LEVEL", "info"), "log level: debug, info, warn, error")
	fs.IntVar(&c.sqliteMmapMiB, "sqlite-mmap-mb", envInt("COUNTYCARE_SQLITE_MMAP_MB", store.DefaultMmapMiB), "SQLite: MiB of the database each of the 5 connections reads through a memory map; the mapped pages count in the resident set once per connection (0: no map; env COUNTYCARE_SQLITE_MMAP_MB)")
	fs.IntVar(&c.sqliteCache, "sqlite-cache-mb", envInt("COUNTYCARE_SQLITE_CACHE_MB", store.DefaultCacheMiB), "SQLite: MiB of page cache of each of the 5 connections (env COUNTYCARE_SQLITE_CACHE_MB)")
}

// envInt is the integer in environment variable k, def if unset or not a number.
func envInt(k string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(k)); err == nil {
		return n
	}
	return def
}

// storeOptions are the store's options from the common flags.
func (c *common) storeOptions(key []byte) store.Options {
	mmap := c.sqliteMmapMiB
	if mmap == 0 {
		mmap = -1 // --sqlite-mmap-mb 0: no map
	}
	return store.Options{AuditKey: key, ReconnectWait: c.reconnectWait, StandbyURL: c.standbyDB, MmapMiB: mmap, CacheMiB: c.sqliteCache}
}

func (c *common) logger(w io.Writer) *slog.Logger {
	lvl := slog.LevelInfo
	lvl.UnmarshalText([]byte(c.logLevel))
	opts := &slog.HandlerOptions{Level: lvl}
	if c.logFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// auditKey reads the signing key, creating a random one (mode 0600) if the
// file does not exist. Losing the key makes the trail unverifiable, so
// docs/operations.md says to back it up apart from the database.
func (c *common) auditKey() ([]byte, error) {
	path := c.auditKeyPath()
	key, err := readAuditKey(path)
	if err == nil || !os.IsNotExist(err) {
		return key, err
	}
	key = make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create audit key: %w", err)
	}
	defer f.Close()
	if _, err := fmt.Fprintln(f, hex.EncodeToString(key)); err != nil {
		return nil, err
	}
	return key, nil
}

func (c *common) open(ctx context.Context) (*store.Store, []byte, error) {
	key, err := c.auditKey()
	if err != nil {
		return nil, nil, err
	}
	st, err := store.Open(ctx, c.db, c.storeOptions(key))
	if err != nil {
		return nil, nil, err
	}
	return st, key, nil
}

// auditKeyPath is --audit-key-file, or its default: audit.key beside an
// SQLite file, ./data/audit.key otherwise.
func (c *common) auditKeyPath() string {
	if c.keyFile != "" {
		return c.keyFile
	}
	if strings.HasPrefix(c.db, "sqlite:") {
		if p := strings.TrimPrefix(strings.TrimPrefix(c.db, "sqlite:"), "//"); p != "" {
			return filepath.Join(filepath.Dir(strings.SplitN(p, "?", 2)[0]), "audit.key")
		}
	}
	return filepath.Join("data", "audit.key")
}

// readAuditKey reads an existing key file; a missing file is an error
// satisfying os.IsNotExist.
func readAuditKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, err
		}
		return nil, fmt.Errorf("read audit key: %w", err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) < 32 {
		return nil, fmt.Errorf("audit key %s is not 32+ bytes of hex", path)
	}
	return key, nil
}

// newFlags returns a command's flag set. --help prints the command's usage
// and every flag; a bad flag or value prints one line naming the fault and
// a hint to --help, not the whole flag list (which hid the one line that
// matters).
func newFlags(name, about string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	out := &flagOutput{name: name, w: stderr}
	fs.SetOutput(out)
	fs.Usage = func() {
		if out.failed {
			out.failed = false
			fmt.Fprintf(stderr, "run 'countycare %s --help' for its flags\n", name)
			return
		}
		fmt.Fprintf(stderr, "Usage: countycare %s [flags]\n\n%s\n\nFlags:\n", name, about)
		fs.SetOutput(stderr)
		fs.PrintDefaults()
		fs.SetOutput(out)
	}
	return fs
}

// parseFlags parses a command's flags; a bad flag or value exits 2
// (--help exits 0).
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &exitError{2, err.Error()}
	}
	return nil
}

// flagOutput takes what the flag package writes on its own, which is only
// a parse error (usage is printed by newFlags' Usage): it prints it as one
// line naming the command and remembers it, so main does not print the
// returned error a second time.
type flagOutput struct {
	name   string
	w      io.Writer
	failed bool
}

// shownFlagError is the last parse error a flagOutput printed.
var shownFlagError string

func (o *flagOutput) Write(p []byte) (int, error) {
	o.failed = true
	msg := strings.TrimSpace(string(p))
	shownFlagError = msg
	fmt.Fprintf(o.w, "countycare %s: %s\n", o.name, msg)
	return len(p), nil
}

func cmdMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newFlags("migrate", "Apply pending database migrations (embedded in the binary) and print the schema version.", stderr)
	c.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	st, _, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	v, err := st.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: schema version %d\n", st.Redacted(), v)
	return nil
}

// anchor is a row of the audit chain recorded outside the database:
// its sequence number and hash (serve logs one hourly).
type anchor struct {
	seq  int64
	hash string
}

// parseAnchor reads SEQ:HASH.
func parseAnchor(v string) (anchor, error) {
	seqText, hash, ok := strings.Cut(strings.TrimSpace(v), ":")
	seq, err := strconv.ParseInt(seqText, 10, 64)
	if b, herr := hex.DecodeString(hash); !ok || err != nil || seq < 1 || herr != nil || len(b) != 32 {
		return anchor{}, fmt.Errorf("want SEQ:HASH, a row number and its 64-hex-digit hash as serve logs them (\"audit anchor\"), not %q", v)
	}
	return anchor{seq, strings.ToLower(hash)}, nil
}

func cmdVerifyAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newFlags("verify-audit", "Walk the audit trail and check every row's HMAC chain and the recorded head.\n"+
		"With --expect SEQ:HASH (an anchor serve logged), also check that row SEQ is still there with that hash:\n"+
		"this detects rows cut off the end or rewritten up to SEQ even by someone who holds the audit key.\n"+
		"Exit status 1 means a row was altered, inserted or removed, or an anchor does not match.", stderr)
	c.register(fs)
	var anchors []anchor
	fs.Func("expect", "an anchor SEQ:HASH from serve's \"audit anchor\" log line; the chain must hold row SEQ with that hash (repeatable)", func(v string) error {
		a, err := parseAnchor(v)
		if err == nil {
			anchors = append(anchors, a)
		}
		return err
	})
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	st, key, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	start := time.Now()
	rows, problems, err := auditProblems(ctx, st, key, anchors)
	if err != nil {
		return err
	}
	if len(problems) == 0 {
		fmt.Fprintf(stdout, "audit trail intact: %d rows verified in %s", rows, time.Since(start).Round(time.Millisecond))
		if len(anchors) > 0 {
			fmt.Fprintf(stdout, "; anchors matched: %d", len(anchors))
		}
		fmt.Fprintln(stdout)
		return nil
	}
	for _, p := range problems {
		fmt.Fprintln(stdout, "PROBLEM", p)
	}
	return &exitError{1, fmt.Sprintf("audit trail damaged: %d problems in %d rows", len(problems), rows)}
}

// auditProblems walks the audit chain with key and checks each anchor:
// the number of rows verified and one line per problem (none: intact).
// verify-audit and restore --verify share it.
func auditProblems(ctx context.Context, st *store.Store, key []byte, anchors []anchor) (int64, []string, error) {
	v, err := st.VerifyAudit(ctx, key)
	if err != nil {
		return 0, nil, err
	}
	problems := make([]string, 0, len(v.Problems))
	for _, p := range v.Problems {
		problems = append(problems, p.String())
	}
	for _, a := range anchors {
		h, err := st.AuditRowHash(ctx, a.seq)
		if err != nil {
			return 0, nil, err
		}
		switch {
		case h == "":
			problems = append(problems, fmt.Sprintf("anchor %d:%s: row %d is missing: the trail was cut back to before it", a.seq, a.hash, a.seq))
		case h != a.hash:
			problems = append(problems, fmt.Sprintf("anchor %d:%s: row %d has hash %s: the trail was rewritten up to it", a.seq, a.hash, a.seq, h))
		}
	}
	return int64(v.Rows), problems, nil
}
