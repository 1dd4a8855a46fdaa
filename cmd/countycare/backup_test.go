package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"countycare/account"
	"countycare/care"
	"countycare/internal/testdb"
	"countycare/points"
	"countycare/referral"
	"countycare/store"
	"countycare/web"
)

// fsizeChildEnv sets RLIMIT_FSIZE (bytes) in a child started through
// crashChildEnv: its writes past that size fail with EFBIG, as on a full disk.
const fsizeChildEnv = "COUNTYCARE_TEST_CHILD_FSIZE"

// TestBackupDrill is the drill of issue 15 §4, on both databases: a demo
// county is backed up while clinicians settle bills and read records over
// HTTP; a read-only and a full backup directory fail clearly and leave that
// backup intact; a non-empty target is refused; the backup restores into a
// fresh database and is proven equal; altered backups are caught.
func TestBackupDrill(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		tmp := t.TempDir()
		src := testdb.URL(t, d)
		keyFile := filepath.Join(tmp, "audit.key")
		key := []string{"--audit-key-file", keyFile}
		common := append([]string{"--db", src, "--log-format", "text"}, key...)
		if out, err := runCmd(t, append([]string{"demo", "--residents", "300"}, common...)...); err != nil {
			t.Fatalf("demo: %v\n%s", err, out)
		}
		backups := filepath.Join(tmp, "backups")

		// 1. A backup while writes go on.
		before, during, total := backupUnderLoad(t, src, keyFile, func() {
			out, err := runCmd(t, append([]string{"backup", "--to", backups}, common...)...)
			if err != nil || !strings.Contains(out, "backup written to") {
				t.Fatalf("backup: %v\n%s", err, out)
			}
		})
		t.Logf("%s: settlements acknowledged before the backup %d, during it %d, in all %d", d, before, during, total)
		if during == 0 {
			t.Errorf("no write was acknowledged while the backup ran: the drill did not test an online backup")
		}
		first := latestTarget(t, backups)

		// 2. A read-only backup directory: a clear error, the backup intact.
		readOnlyDir(t, backups)
		out, err := runCmd(t, append([]string{"backup", "--to", backups}, common...)...)
		if exitCode(err) != 1 || !strings.Contains(err.Error(), "earlier backups are untouched") ||
			!(strings.Contains(err.Error(), "read-only file system") || strings.Contains(err.Error(), "permission denied") || strings.Contains(err.Error(), "operation not permitted")) {
			t.Errorf("backup into a read-only directory: exit %d, %v\n%s", exitCode(err), err, out)
		}
		writableAgain(t, backups)
		if got := latestTarget(t, backups); got != first {
			t.Errorf("after the read-only failure latest is %s, want %s", got, first)
		}

		// 3. A full disk: the child may write at most 256 KiB per file.
		out, err = runChild(t, 256<<10, append([]string{"backup", "--to", backups}, common...)...)
		if err == nil || !strings.Contains(out, "earlier backups are untouched") {
			t.Errorf("backup with a 256 KiB file-size limit: %v\n%s", err, out)
		}
		t.Logf("%s: full disk: %s", d, strings.TrimSpace(out))
		if got := latestTarget(t, backups); got != first {
			t.Errorf("after the full-disk failure latest is %s, want %s", got, first)
		}
		if left, _ := filepath.Glob(filepath.Join(backups, ".tmp-*")); len(left) > 0 {
			t.Errorf("a failed backup left %v", left)
		}

		// 4. Restoring into a non-empty database is refused; nothing written.
		n0 := countRows(t, src, keyFile, "audit_events")
		out, err = runCmd(t, append([]string{"restore", "--from", backups, "--to", src}, key...)...)
		if exitCode(err) != 1 || !strings.Contains(err.Error(), "not empty") {
			t.Errorf("restore into the source: exit %d, %v\n%s", exitCode(err), err, out)
		}
		if n := countRows(t, src, keyFile, "audit_events"); n != n0 {
			t.Errorf("a refused restore changed the target: %d audit rows, had %d", n, n0)
		}

		// 5. Restore the backup made under load into a fresh database and verify.
		dst := testdb.URL(t, d)
		out, err = runCmd(t, append([]string{"restore", "--from", backups, "--to", dst, "--verify"}, key...)...)
		if err != nil || !strings.Contains(out, "verified") || !strings.Contains(out, "audit trail intact") {
			t.Fatalf("restore: %v\n%s", err, out)
		}
		t.Logf("%s: %s", d, strings.TrimSpace(out))
		if got := countRows(t, dst, keyFile, "settlements") - countRows(t, src, keyFile, "settlements") + int64(total); got < int64(before) {
			t.Errorf("the restored database has %d of the settlements acknowledged before the backup, want at least %d", got, before)
		}
		if out, err := runCmd(t, "verify-audit", "--db", dst, "--audit-key-file", keyFile); err != nil {
			t.Errorf("verify-audit on the restored database: %v\n%s", err, out)
		}

		// 6. Differences in a restored database are found: a row gone, a stored file changed.
		st, err := store.Open(ctx, dst, store.Options{AuditKey: readKey(t, keyFile)})
		if err != nil {
			t.Fatal(err)
		}
		_, m, err := store.ReadBackup(first, readKey(t, keyFile))
		if err != nil {
			t.Fatal(err)
		}
		if err := st.ExecForTest(ctx, `DELETE FROM settlements WHERE id = (SELECT MAX(id) FROM settlements)`); err != nil {
			t.Fatal(err)
		}
		if err := st.ExecForTest(ctx, `UPDATE blobs SET data = data || data WHERE sha256 = (SELECT MIN(sha256) FROM blobs)`); err != nil {
			t.Fatal(err)
		}
		problems, err := st.VerifyRestore(ctx, m)
		st.Close()
		if err != nil {
			t.Fatal(err)
		}
		joined := strings.Join(problems, "\n")
		if !strings.Contains(joined, "table settlements has") || !strings.Contains(joined, "stored file blobs.data") || !strings.Contains(joined, "table audit_events has") {
			t.Errorf("VerifyRestore after deleting a settlement and changing a blob:\n%s", joined)
		}

		// 7. Altered backups are refused with exit status 1.
		tamper := func(name string, edit func(dir string)) {
			t.Helper()
			dir := filepath.Join(tmp, "tampered-"+name)
			if out, err := exec.Command("cp", "-a", first, dir).CombinedOutput(); err != nil {
				t.Fatalf("cp: %v %s", err, out)
			}
			edit(dir)
			out, err := runCmd(t, append([]string{"restore", "--from", dir, "--to", testdb.URL(t, d)}, key...)...)
			if exitCode(err) != 1 {
				t.Errorf("restore of a backup with %s: exit %d, want 1\n%s", name, exitCode(err), out)
			}
			t.Logf("%s: %s: %v", d, name, err)
		}
		tamper("a changed byte in the copy", func(dir string) {
			f := filepath.Join(dir, m.File)
			b, _ := os.ReadFile(f)
			b[len(b)/2] ^= 0xff
			os.WriteFile(f, b, 0o600)
		})
		tamper("a rewritten manifest", func(dir string) {
			f := filepath.Join(dir, store.ManifestFile)
			b, _ := os.ReadFile(f)
			os.WriteFile(f, bytes.Replace(b, []byte(`"settlements": `), []byte(`"settlements": 1`), 1), 0o600)
		})
		tamper("an edited blob list", func(dir string) {
			f := filepath.Join(dir, store.BlobListFile)
			b, _ := os.ReadFile(f)
			b[0] ^= 0x01
			os.WriteFile(f, b, 0o600)
		})

		// 8. A backup of a trail someone rewrote restores, and verification fails on the trail.
		st, err = store.Open(ctx, dst, store.Options{AuditKey: readKey(t, keyFile)})
		if err != nil {
			t.Fatal(err)
		}
		st.DropAuditGuardForTest(ctx, t)
		if err := st.ExecForTest(ctx, `UPDATE audit_events SET detail = 'edited' WHERE seq = 2`); err != nil {
			t.Fatal(err)
		}
		st.Close()
		second := filepath.Join(tmp, "second")
		if out, err := runCmd(t, "backup", "--db", dst, "--to", second, "--audit-key-file", keyFile); err != nil {
			t.Fatalf("backup of the restored database: %v\n%s", err, out)
		}
		out, err = runCmd(t, append([]string{"restore", "--from", second, "--to", testdb.URL(t, d)}, key...)...)
		if exitCode(err) != 1 || !strings.Contains(out, "PROBLEM") || !strings.Contains(err.Error(), "verification failed") {
			t.Errorf("restore of a backup with an edited audit row: exit %d, %v\n%s", exitCode(err), err, out)
		}
	})
}

// backupUnderLoad serves the database over HTTP in process while two
// clinicians settle bills and read records, calls backup once some
// settlements are acknowledged, and stops the load shortly after. It
// returns the settlements acknowledged before backup started, while it
// ran, and in all.
func backupUnderLoad(t *testing.T, dbURL, keyFile string, backup func()) (before, during, total int) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, dbURL, store.Options{AuditKey: readKey(t, keyFile)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := newApp(st, readKey(t, keyFile), log, account.DefaultConfig(), web.Config{}, points.DefaultRules(), referral.DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close(ctx)
	base, stop, err := serveLoopback(a.web.Handler())
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	accs, err := st.Accounts(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	officer := ""
	for _, x := range accs {
		if x.Role == care.RoleInsuranceOfficer {
			officer = x.Username
		}
	}
	insts, err := st.Institutions(ctx)
	if err != nil || len(insts) == 0 {
		t.Fatalf("institutions: %v", err)
	}
	sample, err := st.SampleResidents(ctx, insts[0].CountyCode, 200)
	if err != nil || len(sample) == 0 {
		t.Fatalf("residents: %v", err)
	}
	hosp := countyHospital(ctx, st)
	var acked atomic.Int64
	var failed atomic.Value
	done := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 2; w++ {
		cl, err := login(base, officer)
		if err != nil {
			t.Fatal(err)
		}
		csrf, err := cl.csrf()
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			nonce := fmt.Sprintf("drill%d-%d", w, time.Now().UnixNano())
			today := care.Today(time.Now()).String()
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				r := sample[(i*7+w)%len(sample)]
				if err := postSettlement(cl, csrf, r.ID, hosp, nonce, today, i); err != nil {
					failed.Store(err)
					return
				}
				acked.Add(1)
				if err := cl.get("/api/v1/residents/" + strconv.FormatInt(r.ID, 10)); err != nil {
					failed.Store(err)
					return
				}
			}
		}()
	}
	for acked.Load() < 20 && failed.Load() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	before = int(acked.Load())
	backup()
	during = int(acked.Load()) - before
	time.Sleep(100 * time.Millisecond)
	close(done)
	wg.Wait()
	if err := failed.Load(); err != nil {
		t.Fatalf("the load failed: %v", err)
	}
	return before, during, int(acked.Load())
}

func readKey(t *testing.T, keyFile string) []byte {
	t.Helper()
	k, err := readAuditKey(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func countRows(t *testing.T, dbURL, keyFile, table string) int64 {
	t.Helper()
	st, err := store.Open(context.Background(), dbURL, store.Options{AuditKey: readKey(t, keyFile)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var n int64
	if err := st.QueryRowForTest(context.Background(), `SELECT COUNT(*) FROM `+table, &n); err != nil {
		t.Fatal(err)
	}
	return n
}

// latestTarget is the backup dir/latest points at.
func latestTarget(t *testing.T, dir string) string {
	t.Helper()
	l, err := os.Readlink(filepath.Join(dir, store.LatestBackup))
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, l)
}

// readOnlyDir makes dir read-only for this process: by its mode for an
// ordinary user; as root (whom modes do not stop) by a read-only bind
// mount, else the immutable attribute. It fails rather than skips when
// none is possible.
func readOnlyDir(t *testing.T, dir string) {
	t.Helper()
	if os.Geteuid() != 0 {
		if err := os.Chmod(dir, 0o555); err != nil {
			t.Fatal(err)
		}
		return
	}
	if out, err := exec.Command("mount", "--bind", "-o", "ro", dir, dir).CombinedOutput(); err == nil {
		t.Cleanup(func() { exec.Command("umount", dir).Run() })
		return
	} else if out2, err2 := exec.Command("chattr", "+i", dir).CombinedOutput(); err2 != nil {
		t.Fatalf("cannot make %s read-only as root: mount: %v %s; chattr: %v %s", dir, err, out, err2, out2)
	}
	t.Cleanup(func() { exec.Command("chattr", "-i", dir).Run() })
}

// writableAgain undoes readOnlyDir.
func writableAgain(t *testing.T, dir string) {
	t.Helper()
	if os.Geteuid() != 0 {
		os.Chmod(dir, 0o750)
		return
	}
	if exec.Command("umount", dir).Run() != nil {
		exec.Command("chattr", "-i", dir).Run()
	}
}

// runChild runs a countycare command line in a child process whose files
// may not grow past fsize bytes (RLIMIT_FSIZE): a full disk, without one.
func runChild(t *testing.T, fsize int64, args ...string) (string, error) {
	t.Helper()
	b, _ := json.Marshal(args)
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), crashChildEnv+"="+string(b), fsizeChildEnv+"="+strconv.FormatInt(fsize, 10))
	out, err := child.CombinedOutput()
	return string(out), err
}

// TestBackupUsage: missing flags and a missing audit key exit 2 and say
// what to give; bench backup times both commands on a small county.
func TestBackupUsage(t *testing.T) {
	dir := t.TempDir()
	db := "sqlite://" + filepath.Join(dir, "c.db")
	if _, err := runCmd(t, "backup", "--db", db); exitCode(err) != 2 || !strings.Contains(err.Error(), "--to DIR is required") {
		t.Errorf("backup without --to: %v", err)
	}
	if _, err := runCmd(t, "restore", "--from", dir); exitCode(err) != 2 || !strings.Contains(err.Error(), "--to URL are required") {
		t.Errorf("restore without --to: %v", err)
	}
	if _, err := runCmd(t, "backup", "--db", db, "--to", filepath.Join(dir, "b")); exitCode(err) != 2 || !strings.Contains(err.Error(), "audit key") {
		t.Errorf("backup without an audit key: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "audit.key")); err == nil {
		t.Error("backup created an audit key")
	}
	os.WriteFile(filepath.Join(dir, "audit.key"), []byte(strings.Repeat("ab", 32)), 0o600)
	if _, err := runCmd(t, "backup", "--db", db, "--to", filepath.Join(dir, "b")); exitCode(err) != 1 || !strings.Contains(err.Error(), "no database to copy") {
		t.Errorf("backup of a missing database: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "c.db")); err == nil {
		t.Error("backup of a missing database created it")
	}
	os.Remove(filepath.Join(dir, "audit.key"))
	if out, err := runCmd(t, "demo", "--residents", "50", "--db", db, "--log-format", "text"); err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	other := filepath.Join(dir, "other.key")
	os.WriteFile(other, []byte(strings.Repeat("cd", 32)), 0o600)
	if _, err := runCmd(t, "backup", "--db", db, "--to", filepath.Join(dir, "b"), "--audit-key-file", other); exitCode(err) != 1 || !strings.Contains(err.Error(), "does not sign") {
		t.Errorf("backup with another database's key: %v", err)
	}
	if _, err := runCmd(t, "restore", "--from", dir, "--to", "sqlite://"+filepath.Join(dir, "r.db")); exitCode(err) != 1 || !strings.Contains(err.Error(), "holds no backup") {
		t.Errorf("restore from a directory without a backup: %v", err)
	}
	out, err := runCmd(t, "bench", "backup", "--db", db, "--runs", "2")
	if err != nil || !strings.Contains(out, "restore --verify into a fresh database:      median") {
		t.Errorf("bench backup: %v\n%s", err, out)
	}
}
