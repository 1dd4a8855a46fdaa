package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"countycare/internal/replay"
	"countycare/internal/testdb"
	"countycare/store"
)

// A short county-year replay (issue 15 §3) on SQLite with one server and
// on PostgreSQL with two replicas: no request fails, every request type
// is exercised, and every record the replay was told it created is in the
// database afterwards.
func TestBenchReplay(t *testing.T) {
	for _, c := range []struct {
		d        store.Dialect
		replicas int
	}{{store.SQLite, 1}, {store.Postgres, 2}} {
		t.Run(string(c.d), func(t *testing.T) {
			dbURL := testdb.URL(t, c.d)
			dir := t.TempDir()
			var out bytes.Buffer
			o := replayOptions{db: dbURL, keyFile: filepath.Join(dir, "audit.key"), replicas: c.replicas, residents: 20000,
				scale: 0.0006, clinicians: 4, seed: 7, spawn: func(args []string) *exec.Cmd {
					js, _ := json.Marshal(args)
					cmd := exec.Command(os.Args[0], "-test.run=^$")
					cmd.Env = append(os.Environ(), crashChildEnv+"="+string(js))
					return cmd
				}}
			res, err := runReplay(context.Background(), o, &out)
			if err != nil {
				t.Fatalf("replay: %v\n%s", err, out.String())
			}
			t.Log(out.String())
			if res.errors != 0 {
				t.Fatalf("%d requests failed:\n%s", res.errors, out.String())
			}
			for _, typ := range []string{"prescription.sign", "prescription.decide", "settlement.create", "chronic.enrol", "chronic.visit",
				"family.contract", "family.service", "consultation.create", "consultation.accept", "consultation.opinion", "referral.create", "referral.accept",
				"ecg.upload", "imaging.upload", "reading.worklist", "reading.claim", "reading.report"} {
				if s := res.perType[typ]; s == nil || len(s.lat) == 0 {
					t.Errorf("request type %s never sent", typ)
				}
			}
			if len(res.rssKB) != c.replicas || res.rssKB[0] == 0 || res.cpu[0] == 0 {
				t.Errorf("server figures missing: RSS %v KiB, CPU %v", res.rssKB, res.cpu)
			}
			if res.peakEvents == 0 || res.peakWall == 0 {
				t.Errorf("no busiest hour: %d events in %s", res.peakEvents, res.peakWall)
			}
			driver, dsn := "sqlite", "file:"+strings.TrimPrefix(dbURL, "sqlite://")+"?_pragma=busy_timeout(10000)"
			if c.d == store.Postgres {
				driver, dsn = "pgx", dbURL
			}
			db, err := sql.Open(driver, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			table := map[replay.Kind]string{replay.Prescription: "prescriptions", replay.Settlement: "settlements", replay.FollowUp: "chronic_visits",
				replay.Contract: "family_contracts", replay.HomeVisit: "family_services", replay.Checkup: "family_services",
				replay.Consultation: "consultations", replay.Referral: "referrals", replay.ECGRead: "ecg_studies", replay.ImagingRead: "imaging_instances"}
			for k, tab := range table {
				ids := res.created[k]
				if len(ids) == 0 {
					t.Errorf("%s: no record created", k)
					continue
				}
				var list []string
				for _, id := range ids {
					list = append(list, strconv.FormatInt(id, 10))
				}
				var n int
				if err := db.QueryRow("SELECT COUNT(*) FROM " + tab + " WHERE id IN (" + strings.Join(list, ",") + ")").Scan(&n); err != nil {
					t.Fatal(err)
				}
				if n != len(ids) {
					t.Errorf("%s: %d of the %d records the API answered are in %s", k, n, len(ids), tab)
				}
			}
		})
	}
}

// TestWaitIdle: the replay's wait for a started server's startup duties
// ends after one idle second for a process that does nothing, and at max
// for one that keeps cores busy (this one, spinning on four threads, so
// that it stays busy on a loaded machine).
func TestWaitIdle(t *testing.T) {
	idle := exec.Command("sleep", "30")
	if err := idle.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { idle.Process.Kill(); idle.Wait() }()
	if cpu, waited := waitIdle(idle.Process.Pid, 20*time.Second); waited > 10*time.Second || cpu > 50*time.Millisecond {
		t.Errorf("idle process: waited %s, CPU %s; want about a second, no CPU", waited, cpu)
	}
	var stop atomic.Bool
	for i := 0; i < 4; i++ {
		go func() {
			for n := 0; !stop.Load(); n++ {
			}
		}()
	}
	defer stop.Store(true)
	if cpu, waited := waitIdle(os.Getpid(), 3*time.Second); waited < 3*time.Second || cpu == 0 {
		t.Errorf("busy process: waited %s, CPU %s; want the whole 3 s, some CPU", waited, cpu)
	}
}
