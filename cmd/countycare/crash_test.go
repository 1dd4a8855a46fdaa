package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/demo"
	"countycare/store"
)

// crashChildEnv makes the test binary a countycare server: TestMain runs
// the command line in it instead of the tests, so the crash test can kill
// a real server process with SIGKILL.
const crashChildEnv = "COUNTYCARE_TEST_CHILD_ARGS"

func TestMain(m *testing.M) {
	if v := os.Getenv(crashChildEnv); v != "" {
		var args []string
		if err := json.Unmarshal([]byte(v), &args); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		if v := os.Getenv(fsizeChildEnv); v != "" {
			// A full disk: writes past the limit fail with EFBIG (Go ignores SIGXFSZ).
			n, _ := strconv.ParseUint(v, 10, 64)
			if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: n, Max: n}); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(2)
			}
		}
		if err := run(context.Background(), args, os.Stdout, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// startServer starts `countycare args…` (serve) as a child process — the
// test binary, which TestMain turns into the command — and returns it
// with its base URL once it serves. Its stderr (the log) goes to the
// returned buffer; the caller kills and waits for it.
func startServer(t testing.TB, args []string) (*exec.Cmd, string, *syncBuffer) {
	t.Helper()
	js, _ := json.Marshal(args)
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), crashChildEnv+"="+string(js))
	stdout, _ := child.StdoutPipe()
	stderr := &syncBuffer{}
	child.Stderr = stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	base := ""
	sc := bufio.NewScanner(stdout)
	servingLine := regexp.MustCompile(`serving .* on (http://\S+)`)
	for sc.Scan() {
		if m := servingLine.FindStringSubmatch(sc.Text()); m != nil {
			base = m[1]
			break
		}
	}
	if base == "" {
		child.Process.Kill()
		child.Wait()
		t.Fatalf("the server did not start:\n%s", stderr.String())
	}
	go io.Copy(io.Discard, stdout)
	return child, base, stderr
}

// A server killed with SIGKILL while clients read records: every read
// the clients received in full has its audit row, and the chain verifies.
// Before, rows were queued in memory for up to 50 ms and such a kill lost
// some (16 of 2,960 in the run).
func TestKilledServerKeepsEveryAcknowledgedRead(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	dbURL := "sqlite://" + filepath.Join(dir, "c.db")
	keyFile := filepath.Join(dir, "audit.key")
	common := []string{"--db", dbURL, "--audit-key-file", keyFile, "--log-format", "text"}
	if out, err := runCmd(t, append([]string{"demo", "--residents", "300"}, common...)...); err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	hexKey, _ := os.ReadFile(keyFile)
	key, _ := hex.DecodeString(strings.TrimSpace(string(hexKey)))
	st, err := store.Open(ctx, dbURL, store.Options{AuditKey: key})
	if err != nil {
		t.Fatal(err)
	}
	user := ""
	accs, err := st.Accounts(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range accs {
		if a.Role == care.RoleInsuranceOfficer && user == "" {
			user = a.Username
		}
	}
	st.Close()

	child, base, stderr := startServer(t, append([]string{"serve", "--addr", "127.0.0.1:0", "--audit-anchor-every", "0"}, common...))
	killed := false
	defer func() {
		if !killed {
			child.Process.Kill()
			child.Wait()
		}
	}()

	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	body, _ := json.Marshal(map[string]string{"username": user, "password": demo.DefaultPassword})
	resp, err := hc.Post(base+"/api/v1/session", "application/json", bytes.NewReader(body))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("sign-in: %v %v", err, resp)
	}
	resp.Body.Close()

	// Four clients read records as fast as they can; the server is killed
	// in the middle of it.
	acked := loadThenKill(t, child, 1500*time.Millisecond, func(g, i int) ([]string, bool) {
		resp, err := hc.Get(fmt.Sprintf("%s/api/v1/residents/%d", base, 1+(g*97+i)%300))
		if err != nil {
			return nil, true // the server is gone
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || !json.Valid(b) {
			return nil, false // not acknowledged: the client did not get the record
		}
		return []string{resp.Header.Get("X-Request-Id")}, false
	})
	killed = true
	if len(acked) < 50 {
		t.Fatalf("only %d reads before the kill; the test needs load to mean anything\n%s", len(acked), stderr.String())
	}

	st, err = store.Open(ctx, dbURL, store.Options{AuditKey: key})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	countMissing := func() int {
		missing := 0
		for _, id := range acked {
			rows, err := st.SearchAudit(ctx, audit.Filter{RequestID: id, Action: audit.ActResidentRead})
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) == 0 {
				missing++
			}
		}
		return missing
	}
	if !strings.Contains(stderr.String(), `msg="audit journal"`) {
		t.Fatalf("the server did not journal its reads (serve's default beside an SQLite file):\n%s", stderr.String())
	}
	// The restart: serve replays the audit journal (beside the database
	// file) before serving; this is the same call.
	inJournal := countMissing()
	w := audit.NewWriter(st, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Now, 16)
	if err := w.OpenJournal(ctx, filepath.Join(dir, "c.db")+".audit-journal", audit.SyncBatch); err != nil {
		t.Fatal(err)
	}
	w.Start()
	w.Close(ctx)
	if missing := countMissing(); missing > 0 {
		t.Fatalf("%d of %d acknowledged reads have no audit row after the kill and the journal's replay", missing, len(acked))
	}
	t.Logf("%d acknowledged reads had their event only in the journal at the kill; replayed", inJournal)
	if out, err := runCmd(t, append([]string{"verify-audit"}, common...)...); err != nil || !strings.Contains(out, "audit trail intact") {
		t.Fatalf("verify-audit after the replay: %v\n%s", err, out)
	}
	v, err := st.VerifyAudit(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if !v.OK() {
		t.Fatalf("audit chain after the kill: %v", v.Problems)
	}
	t.Logf("%d acknowledged reads before SIGKILL, every one with its audit row; chain of %d rows verifies", len(acked), v.Rows)
}

// loadThenKill runs four clients calling one(g, i) for their g-th
// goroutine's i-th request, kills child with SIGKILL after d, and returns
// what the server acknowledged (one's first result) before it died. one
// returns gone when the server no longer answers.
func loadThenKill(t *testing.T, child *exec.Cmd, d time.Duration, one func(g, i int) (acked []string, gone bool)) []string {
	t.Helper()
	var mu sync.Mutex
	var acked []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				a, gone := one(g, i)
				if gone {
					return
				}
				mu.Lock()
				acked = append(acked, a...)
				mu.Unlock()
			}
		}(g)
	}
	time.Sleep(d)
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	child.Wait()
	close(stop)
	wg.Wait()
	return acked
}
