package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/chronic"
	"countycare/internal/testdb"
	"countycare/kpi"
	"countycare/settle"
	"countycare/store"
)

func runCmd(t testing.TB, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, &out, &errb)
	return out.String() + errb.String(), err
}

func TestHelpForEveryCommand(t *testing.T) {
	for _, c := range []string{"serve", "demo", "init", "migrate", "verify-audit", "bench", "backup", "restore", "drill-writes"} {
		out, err := runCmd(t, c, "--help")
		if exitCode(err) != 0 || !strings.Contains(out, "Usage: countycare "+c) {
			t.Errorf("%s --help: exit %d, %q", c, exitCode(err), out)
		}
	}
	if out, err := runCmd(t, "version"); err != nil || !strings.HasPrefix(out, "countycare ") {
		t.Errorf("version: %q %v", out, err)
	}
	if _, err := runCmd(t, "frobnicate"); exitCode(err) != 2 {
		t.Errorf("unknown command exit %d, want 2", exitCode(err))
	}
}

// TestDemoMigrateVerify runs the commands an operator runs, on both
// databases, and checks verify-audit fails after tampering.
func TestDemoMigrateVerify(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		url := testdb.URL(t, d)
		key := filepath.Join(t.TempDir(), "audit.key")
		common := []string{"--db", url, "--audit-key-file", key, "--log-format", "text"}
		out, err := runCmd(t, append([]string{"demo", "--residents", "500"}, common...)...)
		if err != nil || !strings.Contains(out, "500 residents") || !strings.Contains(out, "village_doctor") {
			t.Fatalf("demo: %v\n%s", err, out)
		}
		if out, err := runCmd(t, append([]string{"demo", "--residents", "5"}, common...)...); err == nil {
			t.Errorf("demo into a full database succeeded: %s", out)
		}
		if out, err := runCmd(t, append([]string{"migrate"}, common...)...); err != nil || !strings.Contains(out, "schema version") {
			t.Errorf("migrate: %v %s", err, out)
		}
		if out, err := runCmd(t, append([]string{"verify-audit"}, common...)...); err != nil || !strings.Contains(out, "intact") {
			t.Errorf("verify-audit: %v %s", err, out)
		}
		st, err := store.Open(context.Background(), url, store.Options{AuditKey: testdb.AuditKey})
		if err != nil {
			t.Fatal(err)
		}
		st.DropAuditGuardForTest(context.Background(), t)
		if err := st.ExecForTest(context.Background(), `UPDATE audit_events SET detail = 'edited' WHERE seq = 1`); err != nil {
			t.Fatal(err)
		}
		st.Close()
		out, err = runCmd(t, append([]string{"verify-audit"}, common...)...)
		if exitCode(err) != 1 || !strings.Contains(out, "PROBLEM") {
			t.Errorf("verify-audit after tampering: exit %d\n%s", exitCode(err), out)
		}
	})
}

func TestInit(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("COUNTYCARE_ADMIN_PASSWORD", "Init-Admin-Passw0rd")
	common := []string{"--db", "sqlite://" + filepath.Join(dir, "c.db"), "--log-format", "text"}
	out, err := runCmd(t, append([]string{"init", "--county-code", "411723", "--county-name", "平舆县", "--admin-username", "it.zhangsan", "--admin-name", "张三"}, common...)...)
	if err != nil || !strings.Contains(out, "sign in as it.zhangsan") {
		t.Fatalf("init: %v %s", err, out)
	}
	if _, err := runCmd(t, append([]string{"init", "--county-code", "411723", "--county-name", "平舆县", "--admin-username", "it.lisi", "--admin-name", "李四"}, common...)...); err == nil {
		t.Error("second init succeeded")
	}
	t.Setenv("COUNTYCARE_ADMIN_PASSWORD", "short")
	out, err = runCmd(t, "init", "--county-code", "411724", "--county-name", "x县", "--admin-username", "admin", "--admin-name", "王五", "--db", "sqlite://"+filepath.Join(dir, "d.db"))
	if err == nil || !strings.Contains(err.Error(), "nothing written") {
		t.Errorf("init with a weak password and a shared username: %v %s", err, out)
	}
	st, err := store.Open(context.Background(), "sqlite://"+filepath.Join(dir, "d.db"), store.Options{AuditKey: testdb.AuditKey})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if empty, _ := st.Empty(context.Background()); !empty {
		t.Error("a refused init wrote institutions")
	}
}

func TestSettleCommand(t *testing.T) {
	out, err := runCmd(t, "settle", "--policy", "builtin:985-2026.json", "--bill", "../../settle/testdata/bill-985.json")
	if err != nil || !strings.Contains(out, `"patient": "2000.00"`) || !strings.Contains(out, `"bottom_line"`) {
		t.Fatalf("settle: %v\n%s", err, out)
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"visit_id":"x","date":"2026-04-01","visit_type":"inpatient","level":"county","insured":true,"lines":[{"code":"a","category":"A","amount":12.5}]}`), 0o644)
	if _, err := runCmd(t, "settle", "--policy", "builtin:985-2026.json", "--bill", bad); err == nil || !strings.Contains(err.Error(), "strings in yuan") {
		t.Errorf("a numeric amount: %v", err)
	}
	if _, err := runCmd(t, "settle", "--bill", bad); exitCode(err) != 2 {
		t.Errorf("missing --policy: exit %d", exitCode(err))
	}
}

// TestResettleReproduces settles a demo year, then settles it again from
// the stored bills: nothing may change, and --apply keeps the trail intact.
func TestResettleReproduces(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		url := testdb.URL(t, d)
		key := filepath.Join(t.TempDir(), "audit.key")
		common := []string{"--db", url, "--audit-key-file", key, "--log-format", "text"}
		if out, err := runCmd(t, append([]string{"demo", "--residents", "800", "--visits", "1500"}, common...)...); err != nil || !strings.Contains(out, "1500 settled visits") {
			t.Fatalf("demo: %v %s", err, out)
		}
		for _, apply := range []bool{false, true} {
			args := append([]string{"resettle"}, common...)
			if apply {
				args = append(args, "--apply")
			}
			out, err := runCmd(t, args...)
			if err != nil || !strings.Contains(out, `"visits": 1500`) || !strings.Contains(out, `"changed": 0`) {
				t.Fatalf("resettle apply=%v: %v\n%s", apply, err, out)
			}
		}
		// A retroactive version 2 with a higher county inpatient ratio changes
		// the splits; after --apply the books reproduce under it.
		hexKey, _ := os.ReadFile(key)
		k, _ := hex.DecodeString(strings.TrimSpace(string(hexKey)))
		st, err := store.Open(context.Background(), url, store.Options{AuditKey: k})
		if err != nil {
			t.Fatal(err)
		}
		ps, _ := st.Policies(context.Background(), "411723")
		v1 := ps[0]
		body := strings.Replace(string(v1.Body), `"county": {
          "deductible": "600",
          "ratio": "70"`, `"county": {
          "deductible": "600",
          "ratio": "75"`, 1)
		if body == string(v1.Body) {
			t.Fatal("could not edit the policy")
		}
		v2 := v1
		v2.ID, v2.Version, v2.Body = 0, 2, []byte(body)
		if err := st.SavePolicy(context.Background(), &v2, audit.Event{Action: "test.policy", Outcome: audit.OutcomeOK}); err != nil {
			t.Fatal(err)
		}
		st.Close()
		out, err := runCmd(t, append([]string{"resettle", "--apply"}, common...)...)
		if err != nil || strings.Contains(out, `"changed": 0`) || !strings.Contains(out, `"policy_version": 2`) {
			t.Fatalf("resettle under v2: %v\n%s", err, out)
		}
		out, err = runCmd(t, append([]string{"resettle"}, common...)...)
		if err != nil || !strings.Contains(out, `"changed": 0`) {
			t.Fatalf("after applying v2: %v\n%s", err, out)
		}
		if out, err := runCmd(t, append([]string{"verify-audit"}, common...)...); err != nil {
			t.Errorf("verify-audit after resettle: %v %s", err, out)
		}
	})
}

var anchorLine = regexp.MustCompile(`msg="audit anchor" seq=(\d+) hash=([0-9a-f]{64}) anchor=(\d+:[0-9a-f]{64})`)

// serveUntil runs serve with args until the log holds n lines matching
// want (or 20 s pass), then stops it and returns the log.
func serveUntil(t *testing.T, want *regexp.Regexp, n int, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, logs syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0", "--log-format", "text"}, args...), &out, &logs)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for len(want.FindAllString(logs.String(), -1)) < n && time.Now().Before(deadline) {
		select {
		case err := <-done:
			t.Fatalf("serve ended: %v\n%s%s", err, out.String(), logs.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v\n%s", err, logs.String())
	}
	return logs.String()
}

// TestServeLogsAuditAnchors: serve logs the audit head at startup, every
// --audit-anchor-every and at shutdown, at INFO, as an anchor that
// verify-audit --expect accepts; 0 turns it off.
func TestServeLogsAuditAnchors(t *testing.T) {
	dir := t.TempDir()
	common := []string{"--db", "sqlite://" + filepath.Join(dir, "c.db"), "--audit-key-file", filepath.Join(dir, "audit.key"), "--log-format", "text"}
	if out, err := runCmd(t, append([]string{"demo", "--residents", "200"}, common...)...); err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	logs := serveUntil(t, regexp.MustCompile(`msg="audit anchor"`), 3, append([]string{"--audit-anchor-every", "50ms"}, common...)...)
	found := anchorLine.FindAllStringSubmatch(logs, -1)
	if len(found) < 4 { // startup, two ticks, shutdown
		t.Fatalf("audit anchors logged: %d, want at least 4\n%s", len(found), logs)
	}
	for _, m := range found {
		if !strings.Contains(m[0], m[1]+":"+m[2]) || m[1] == "0" {
			t.Errorf("anchor line %q", m[0])
		}
	}
	if !strings.Contains(logs, `level=INFO msg="audit anchor"`) {
		t.Errorf("anchors not at INFO:\n%s", logs)
	}
	last := found[len(found)-1][3]
	if out, err := runCmd(t, append([]string{"verify-audit", "--expect", found[0][3], "--expect", last}, common...)...); err != nil || !strings.Contains(out, "anchors matched: 2") {
		t.Errorf("verify-audit with the logged anchors: %v\n%s", err, out)
	}

	logs = serveUntil(t, regexp.MustCompile(`msg=serving`), 1, append([]string{"--audit-anchor-every", "0"}, common...)...)
	if strings.Contains(logs, "audit anchor") {
		t.Errorf("--audit-anchor-every 0 still logs anchors:\n%s", logs)
	}
}

// TestVerifyAuditExpect: someone holding the audit key can cut rows off
// the end of the trail and sign the shortened head, which the chain alone
// cannot tell; an anchor taken before can.
func TestVerifyAuditExpect(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		url := testdb.URL(t, d)
		keyFile := filepath.Join(t.TempDir(), "audit.key")
		common := []string{"--db", url, "--audit-key-file", keyFile, "--log-format", "text"}
		if out, err := runCmd(t, append([]string{"demo", "--residents", "200"}, common...)...); err != nil {
			t.Fatalf("demo: %v\n%s", err, out)
		}
		hexKey, _ := os.ReadFile(keyFile)
		key, _ := hex.DecodeString(strings.TrimSpace(string(hexKey)))
		st, err := store.Open(ctx, url, store.Options{AuditKey: key})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		for i := 0; i < 5; i++ {
			if err := st.AppendAudit(ctx, []audit.Event{{Action: "test.event", Outcome: audit.OutcomeOK, Detail: fmt.Sprint(i)}}); err != nil {
				t.Fatal(err)
			}
		}
		seq, hash, err := st.AuditHead(ctx)
		if err != nil || seq < 3 {
			t.Fatalf("head %d %q %v", seq, hash, err)
		}
		anchor := fmt.Sprintf("%d:%s", seq, hash)
		if out, err := runCmd(t, append([]string{"verify-audit", "--expect", anchor}, common...)...); err != nil || !strings.Contains(out, "anchors matched: 1") {
			t.Fatalf("verify-audit --expect the current head: %v\n%s", err, out)
		}
		for _, bad := range []string{"12", "x:" + hash, "0:" + hash, fmt.Sprint(seq) + ":abc"} {
			if out, err := runCmd(t, append([]string{"verify-audit", "--expect", bad}, common...)...); exitCode(err) != 2 || !strings.Contains(out, "SEQ:HASH") {
				t.Errorf("--expect %q: exit %d\n%s", bad, exitCode(err), out)
			}
		}
		// Another row's hash at that number: rewritten.
		prev, _ := st.AuditRowHash(ctx, seq-1)
		out, err := runCmd(t, append([]string{"verify-audit", "--expect", fmt.Sprintf("%d:%s", seq, prev)}, common...)...)
		if exitCode(err) != 1 || !strings.Contains(out, "rewritten") {
			t.Errorf("verify-audit with a wrong hash: exit %d\n%s", exitCode(err), out)
		}

		// Cut the last two rows and sign the shortened head with the key.
		keep := seq - 2
		keepHash, _ := st.AuditRowHash(ctx, keep)
		st.DropAuditGuardForTest(ctx, t)
		for _, q := range []string{
			fmt.Sprintf(`DELETE FROM audit_events WHERE seq > %d`, keep),
			fmt.Sprintf(`UPDATE audit_head SET seq = %d, hash = '%s', mac = '%s' WHERE id = 1`, keep, keepHash, audit.HeadMAC(key, keep, keepHash)),
		} {
			if err := st.ExecForTest(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		if out, err := runCmd(t, append([]string{"verify-audit"}, common...)...); err != nil {
			t.Fatalf("the re-signed short chain should verify without an anchor: %v\n%s", err, out)
		}
		out, err = runCmd(t, append([]string{"verify-audit", "--expect", anchor}, common...)...)
		if exitCode(err) != 1 || !strings.Contains(out, fmt.Sprintf("row %d is missing", seq)) {
			t.Errorf("verify-audit --expect after truncation: exit %d\n%s", exitCode(err), out)
		}
	})
}

// TestChronicConfigFile: `chronic defaults` prints a file chronic.LoadConfig
// reads back unchanged, and a recompute with an impossible file fails
// naming the field.
func TestChronicConfigFile(t *testing.T) {
	out, err := runCmd(t, "chronic", "defaults")
	if err != nil {
		t.Fatal(err)
	}
	c, err := chronic.LoadConfig(strings.NewReader(out))
	if err != nil || !reflect.DeepEqual(c, chronic.DefaultConfig()) {
		t.Fatalf("defaults do not round-trip: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"RoutineDays": -1}`), 0o600)
	if _, err := runCmd(t, "chronic", "recompute", "--config", bad, "--db", "sqlite://"+filepath.Join(t.TempDir(), "x.db")); err == nil || !strings.Contains(err.Error(), "RoutineDays") {
		t.Errorf("bad config: %v", err)
	}
}

func TestParseResponseMinutes(t *testing.T) {
	m, err := parseResponseMinutes("routine=15,emergency=3")
	if err != nil || m["routine"] != 15 || m["emergency"] != 3 || m["urgent"] != 10 {
		t.Errorf("%v %v", m, err)
	}
	for _, bad := range []string{"routine=0", "fast=5", "routine", "urgent=abc", "emergency=2000"} {
		if _, err := parseResponseMinutes(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := runCmd(t, "serve", "--consult-grace", "90m", "--db", "sqlite://"+filepath.Join(t.TempDir(), "x.db")); err == nil || !strings.Contains(err.Error(), "whole hours") {
		t.Errorf("--consult-grace 90m: %v", err)
	}
	// A county's drug price list is read and checked at start: a bad line stops serve with its number.
	dir := t.TempDir()
	prices := filepath.Join(dir, "prices.psv")
	if err := os.WriteFile(prices, []byte("# county prices\namlodipine-5t|0.35|A\nno-such-drug|1.00|A\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := runCmd(t, "serve", "--drug-prices", prices, "--db", "sqlite://"+filepath.Join(dir, "x.db"), "--audit-key-file", filepath.Join(dir, "k")); err == nil ||
		!strings.Contains(err.Error(), "--drug-prices") || !strings.Contains(err.Error(), "3") {
		t.Errorf("--drug-prices with an unknown drug: %v", err)
	}
}

// TestOnlinePurgeChat: the chat purge refuses a day less than 3 years ago
// (chat kept ≥ 3 years) and runs for an older one.
func TestOnlinePurgeChat(t *testing.T) {
	url := testdb.URL(t, store.SQLite)
	key := filepath.Join(t.TempDir(), "audit.key")
	common := []string{"--db", url, "--audit-key-file", key, "--log-format", "text"}
	if out, err := runCmd(t, append([]string{"demo", "--residents", "200"}, common...)...); err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	recent := time.Now().AddDate(-2, 0, 0).Format("2006-01-02")
	if out, err := runCmd(t, append([]string{"online", "purge-chat", "--before", recent}, common...)...); err == nil || !strings.Contains(err.Error(), "at least 3 years") {
		t.Errorf("purge under 3 years: %v %s", err, out)
	}
	old := time.Now().AddDate(-3, 0, -2).Format("2006-01-02")
	if out, err := runCmd(t, append([]string{"online", "purge-chat", "--before", old}, common...)...); err != nil || !strings.Contains(out, "deleted 0 chat messages") {
		t.Errorf("purge: %v %s", err, out)
	}
}

// TestTopLevelHelpListsEveryBench: every bench subcommand cmdBench
// dispatches is in the top-level help.
func TestTopLevelHelpListsEveryBench(t *testing.T) {
	out, err := runCmd(t, "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"ecg", "dicom", "dicomweb", "rx", "backup", "fhir-ingest"} {
		if !regexp.MustCompile(`(?m)^  bench ` + sub + `\s`).MatchString(out) {
			t.Errorf("top-level help omits 'bench %s':\n%s", sub, out)
		}
	}
}

// TestChronicDefaultsHelp: --help describes the command instead of
// printing the JSON; the plain command still prints the JSON.
func TestChronicDefaultsHelp(t *testing.T) {
	out, err := runCmd(t, "chronic", "defaults", "--help")
	if exitCode(err) != 0 || !strings.Contains(out, "Usage: countycare chronic defaults") || strings.Contains(out, "{") {
		t.Errorf("chronic defaults --help: exit %d\n%s", exitCode(err), out)
	}
	out, err = runCmd(t, "chronic", "defaults")
	if err != nil || !strings.HasPrefix(strings.TrimSpace(out), "{") {
		t.Errorf("chronic defaults: %v\n%.200s", err, out)
	}
	if _, err := runCmd(t, "chronic", "defaults", "extra"); exitCode(err) != 2 {
		t.Errorf("chronic defaults with an argument: exit %d, want 2", exitCode(err))
	}
}

// TestDemoPrescriptionsDefault: the default of demo --prescriptions is the
// scaled volume its help describes (as for every other volume flag, and as
// serve --demo writes), and --help shows it.
func TestDemoPrescriptionsDefault(t *testing.T) {
	out, err := runCmd(t, "demo", "--help")
	if exitCode(err) != 0 {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)-prescriptions int\n\s+(.*?)\n  -`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no --prescriptions in demo --help:\n%s", out)
	}
	if !strings.Contains(m[1], "-1: the seeds'") || !strings.Contains(m[1], "(default -1)") {
		t.Errorf("demo --prescriptions help and default disagree: %q", m[1])
	}
}

// TestBadFlagPrintsOneLineAndHint: a mistyped flag prints one line naming
// the fault and a hint to --help, not the command's whole flag list.
func TestBadFlagPrintsOneLineAndHint(t *testing.T) {
	for _, c := range [][]string{{"serve", "--bogus"}, {"demo", "--residents", "many"}, {"chronic", "recompute", "--nope"}} {
		var out, errb bytes.Buffer
		err := run(context.Background(), c, &out, &errb)
		if err == nil {
			t.Fatalf("%v: no error", c)
		}
		lines := strings.Split(strings.TrimSpace(errb.String()), "\n")
		name := strings.Join(c[:len(c)-1], " ")
		if c[0] == "demo" {
			name = "demo"
		}
		if len(lines) != 2 || !strings.HasPrefix(lines[0], "countycare "+name+": ") || !strings.Contains(lines[0], strings.TrimLeft(c[len(c)-1], "-")) ||
			lines[1] != "run 'countycare "+name+" --help' for its flags" || out.Len() != 0 {
			t.Errorf("%v printed %d lines:\n%s%s", c, len(lines), out.String(), errb.String())
		}
		if err.Error() != shownFlagError {
			t.Errorf("%v: main would print the error again: %v", c, err)
		}
	}
	// --help still prints every flag.
	var errb bytes.Buffer
	run(context.Background(), []string{"serve", "--help"}, io.Discard, &errb)
	if n := strings.Count(errb.String(), "\n"); n < 20 || !strings.Contains(errb.String(), "-addr") {
		t.Errorf("serve --help printed %d lines", n)
	}
}

// TestSettleUnknownBuiltinPolicyListsNames: a wrong builtin: name lists the
// built-in policies.
func TestSettleUnknownBuiltinPolicyListsNames(t *testing.T) {
	bill := filepath.Join(t.TempDir(), "bill.json")
	os.WriteFile(bill, []byte(`{}`), 0o600)
	_, err := runCmd(t, "settle", "--policy", "builtin:nosuch.json", "--bill", bill)
	if err == nil || exitCode(err) != 2 {
		t.Fatalf("unknown builtin policy: exit %d %v", exitCode(err), err)
	}
	for _, n := range settle.ExampleNames() {
		if !strings.Contains(err.Error(), n) {
			t.Errorf("the error does not list %s: %v", n, err)
		}
	}
	if len(settle.ExampleNames()) == 0 {
		t.Fatal("no built-in policies")
	}
}

// TestServeMetricsAddr: with --metrics-addr, /metrics is served on that
// address and not on the main listener (no token configured).
func TestServeMetricsAddr(t *testing.T) {
	t.Setenv("COUNTYCARE_ADMIN_PASSWORD", "Metrics-Test-Pass-2026")
	dir := t.TempDir()
	common := []string{"--db", "sqlite://" + filepath.Join(dir, "c.db"), "--audit-key-file", filepath.Join(dir, "audit.key"), "--log-format", "text"}
	if out, err := runCmd(t, append([]string{"init", "--county-code", "411723", "--county-name", "平舆县", "--admin-username", "it.zhangsan", "--admin-name", "张三"}, common...)...); err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, logs syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--audit-anchor-every", "0"}, common...), &out, &logs)
	}()
	urlRe := regexp.MustCompile(`msg=serving url=(\S+)`)
	metricsRe := regexp.MustCompile(`msg="serving metrics" url=(\S+)`)
	deadline := time.Now().Add(20 * time.Second)
	for (urlRe.FindStringSubmatch(logs.String()) == nil || metricsRe.FindStringSubmatch(logs.String()) == nil) && time.Now().Before(deadline) {
		select {
		case err := <-done:
			t.Fatalf("serve ended: %v\n%s", err, logs.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	m, mm := urlRe.FindStringSubmatch(logs.String()), metricsRe.FindStringSubmatch(logs.String())
	if m == nil || mm == nil {
		t.Fatalf("no serving lines:\n%s", logs.String())
	}
	get := func(u string) int {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := get(m[1] + "/metrics"); c != 404 {
		t.Errorf("main listener /metrics: %d, want 404", c)
	}
	if c := get(m[1] + "/healthz"); c != 200 {
		t.Errorf("main listener /healthz: %d", c)
	}
	if c := get(mm[1]); c != 200 {
		t.Errorf("metrics listener: %d", c)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
}

// TestServeScheduledJobs (issue 18): serve runs the low-stock scan of
// every institution with stock and purges online-visit chat past the 3
// years the rules keep it (互联网诊疗监管细则 2022: chat ≥ 3 years), each at
// its configured period (default daily); a period of 0 turns a job off.
func TestServeScheduledJobs(t *testing.T) {
	dir := t.TempDir()
	url := "sqlite://" + filepath.Join(dir, "c.db")
	common := []string{"--db", url, "--audit-key-file", filepath.Join(dir, "audit.key"), "--log-format", "text"}
	if out, err := runCmd(t, append([]string{"demo", "--residents", "200"}, common...)...); err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	key, err := os.ReadFile(filepath.Join(dir, "audit.key"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), url, store.Options{AuditKey: key})
	if err != nil {
		t.Fatal(err)
	}
	old := time.Now().AddDate(-3, 0, -1).UTC().Format("2006-01-02T15:04:05.000000Z")
	recent := time.Now().AddDate(-2, 0, 0).UTC().Format("2006-01-02T15:04:05.000000Z")
	for _, at := range []string{old, recent} {
		if err := st.ExecForTest(context.Background(), `INSERT INTO online_messages (county_code, visit_id, account_id, sender, body, at) VALUES ('411723', 1, 1, 'doctor', 'x', '`+at+`')`); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	logs := serveUntil(t, regexp.MustCompile(`msg="(low-stock scan|chat purge)"`), 4,
		append([]string{"--low-stock-scan-every", "50ms", "--chat-purge-every", "50ms", "--audit-anchor-every", "0", "--dashboard-figures-every", "0"}, common...)...)
	if m := regexp.MustCompile(`msg="low-stock scan" institutions=(\d+)`).FindStringSubmatch(logs); m == nil || m[1] == "0" {
		t.Errorf("no low-stock scan of the demo's stocked institutions:\n%s", logs)
	}
	if !regexp.MustCompile(`msg="chat purge" deleted=1 `).MatchString(logs) {
		t.Errorf("the chat purge did not delete the one message past 3 years:\n%s", logs)
	}
	if strings.Contains(logs, "level=ERROR") {
		t.Errorf("a scheduled job failed:\n%s", logs)
	}
	st, err = store.Open(context.Background(), url, store.Options{AuditKey: key})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := st.QueryRowForTest(context.Background(), `SELECT COUNT(*) FROM online_messages WHERE at = '`+recent+`'`, &n); err != nil || n != 1 {
		t.Errorf("the message under 3 years old: %d left, %v", n, err)
	}
	st.Close()

	// The dashboard figures (issue 14 §1): a duty that never ran runs at
	// start, not an hour later, and keeps the family figures of today and 24
	// month ends, and the dashboards of the periods a viewer can pick.
	logs = serveUntil(t, regexp.MustCompile(`msg="dashboard figures"`), 1,
		append([]string{"--dashboard-figures-every", "1h", "--low-stock-scan-every", "0", "--chat-purge-every", "0", "--audit-anchor-every", "0"}, common...)...)
	m := regexp.MustCompile(`msg="dashboard figures" family_days=25 periods=(\d+)`).FindStringSubmatch(logs)
	if m == nil || strings.Contains(logs, "level=ERROR") {
		t.Fatalf("the family figures were not kept for today and 24 month ends:\n%s", logs)
	}
	if want := len(kpi.KeptDue(care.Today(time.Now()), nil)); m[1] != strconv.Itoa(want) {
		t.Errorf("dashboards kept for %s periods, want %d", m[1], want)
	}
	if st, err = store.Open(context.Background(), url, store.Options{AuditKey: key}); err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var days, villages int
	if err := st.QueryRowForTest(context.Background(), `SELECT COUNT(*), COALESCE(SUM(villages), 0) FROM family_snapshot_days`, &days, &villages); err != nil || days != 25 || villages == 0 {
		t.Errorf("family_snapshot_days: %d days, %d village rows, %v", days, villages, err)
	}
	var kept int
	if err := st.QueryRowForTest(context.Background(), `SELECT COUNT(*) FROM kpi_snapshots WHERE body LIKE '%htn_controlled%'`, &kept); err != nil || strconv.Itoa(kept) != m[1] {
		t.Errorf("kpi_snapshots: %d rows, %v", kept, err)
	}
	if jobs := scheduledJobs(nil, 0, 0, 0, 0, 0, 0, time.Now); len(jobs) != 0 {
		t.Errorf("jobs with period 0: %d", len(jobs))
	}
	if jobs := scheduledJobs(nil, 24*time.Hour, 24*time.Hour, 15*time.Minute, time.Hour, 10*time.Minute, 5*time.Minute, time.Now); len(jobs) != 6 {
		t.Errorf("jobs: %d, want the upload sweep, the low-stock scan, the chat purge, the poverty watch, the dashboard figures and the specimen sweep", len(jobs))
	}
	if jobs := scheduledJobs(&app{outreachRemindEvery: 15 * time.Minute}, 0, 0, 0, 0, 0, 0, time.Now); len(jobs) != 1 || jobs[0].name != "outreach reminders" {
		t.Errorf("jobs with the outreach reminders only: %d", len(jobs))
	}
}

// TestServeSMSConfig: serve --sms-config with the documented example
// starts sending through the provider; a configuration missing a purpose's
// template, or whose secret is not in the environment, stops the start
// with a message naming what is missing.
func TestServeSMSConfig(t *testing.T) {
	dir := t.TempDir()
	common := []string{"--db", "sqlite://" + filepath.Join(dir, "c.db"), "--audit-key-file", filepath.Join(dir, "audit.key"), "--audit-anchor-every", "0"}
	example := filepath.Join("testdata", "sms-aliyun.json")
	if _, err := runCmd(t, append([]string{"serve", "--sms-config", example}, common...)...); err == nil || !strings.Contains(err.Error(), "COUNTYCARE_SMS_SECRET") {
		t.Errorf("without the secret: %v", err)
	}
	t.Setenv("COUNTYCARE_SMS_SECRET", "example-secret-value")
	logs := serveUntil(t, regexp.MustCompile(`msg="text messages go out through the provider" provider=aliyun templates=14`), 1, append([]string{"--sms-config", example}, common...)...)
	if strings.Contains(logs, "example-secret-value") {
		t.Errorf("the log holds the secret:\n%s", logs)
	}
	// sms check prints what the file configures, without the secret.
	out, err := runCmd(t, "sms", "check", "--sms-config", example)
	if err != nil || !regexp.MustCompile(`template critical.alert +SMS_460001 \(finding, value, stage\)`).MatchString(out) || !strings.Contains(out, "139******01") ||
		strings.Contains(out, "example-secret-value") || strings.Contains(out, "13900000001") || !strings.HasSuffix(out, "ok\n") {
		t.Errorf("sms check: %v\n%s", err, out)
	}
	b, _ := os.ReadFile(example)
	wrongParam := filepath.Join(dir, "param.json")
	os.WriteFile(wrongParam, bytes.Replace(b, []byte(`["finding", "value", "stage"]`), []byte(`["finding", "patient"]`), 1), 0o600)
	if _, err := runCmd(t, "sms", "check", "--sms-config", wrongParam); err == nil || !strings.Contains(err.Error(), "critical.alert messages have no parameter patient") {
		t.Errorf("a parameter the purpose does not carry: %v", err)
	}
	partial := filepath.Join(dir, "partial.json")
	os.WriteFile(partial, bytes.Replace(b, []byte(`"notify.duty"`), []byte(`"notify.other"`), 1), 0o600)
	if _, err := runCmd(t, append([]string{"serve", "--sms-config", partial}, common...)...); err == nil || !strings.Contains(err.Error(), "no template for the purpose notify.duty") {
		t.Errorf("a purpose without a template: %v", err)
	}
}

// TestDemoVillagesFlag: demo --villages and --village-doctors shape the
// county (one village of 1,250 residents for the village app's sync
// figures), and a county without villages or with a clinic without a
// doctor is refused before anything is written.
func TestDemoVillagesFlag(t *testing.T) {
	for _, bad := range [][]string{{"--villages", "0"}, {"--villages", "3", "--village-doctors", "2"}} {
		db := "sqlite://" + filepath.Join(t.TempDir(), "c.db")
		out, err := runCmd(t, append([]string{"demo", "--db", db, "--residents", "10"}, bad...)...)
		if err == nil || !strings.Contains(err.Error(), "--villages must be at least 1") {
			t.Errorf("demo %v: %v\n%s", bad, err, out)
		}
	}
	institutions := func(villages string) int {
		db := "sqlite://" + filepath.Join(t.TempDir(), "c.db")
		out, err := runCmd(t, "demo", "--db", db, "--residents", "200", "--villages", villages, "--village-doctors", "2", "--followups", "0",
			"--consultations", "0", "--referrals", "0", "--prescriptions", "0", "--ecg-reads", "0", "--imaging-reads", "0", "--supply-orders", "0", "--specimens", "0")
		m := regexp.MustCompile(`: (\d+) institutions`).FindStringSubmatch(out)
		if err != nil || m == nil {
			t.Fatalf("demo --villages %s: %v\n%s", villages, err, out)
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
	if one, two := institutions("1"), institutions("2"); two != one+1 {
		t.Errorf("--villages 1 made %d institutions, --villages 2 made %d: want one more clinic", one, two)
	}
}
