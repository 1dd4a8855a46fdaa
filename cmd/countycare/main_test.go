package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"countycare/audit"
	"countycare/internal/testdb"
	"countycare/store"
)

func runCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, &out, &errb)
	return out.String() + errb.String(), err
}

func TestHelpForEveryCommand(t *testing.T) {
	for _, c := range []string{"serve", "demo", "init", "migrate", "verify-audit", "bench"} {
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
