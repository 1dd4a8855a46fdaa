package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"countycare/care"
	"countycare/chronic"
	"countycare/demo"
	"countycare/internal/replay"
	"countycare/internal/testdb"
	"countycare/store"
)

// A short county-year replay (issue 15 §3) on SQLite with one server and
// on PostgreSQL with two replicas: no request fails, every request type
// is exercised, and every record the replay was told it created is in the
// database afterwards. The SQLite run replays the year's first day (364
// days back, last year's insurance policy: the whole-year run's 13,382
// settlements failed there), the PostgreSQL run today. The county is
// written before the replay with its chronic registers filled, as a live
// county's (the default 1 M demo county's): the replay must enrol residents
// not yet registered (48 enrolments were refused "already registered" on a
// 4-day slice of that county).
func TestBenchReplay(t *testing.T) {
	for _, c := range []struct {
		d        store.Dialect
		replicas int
		fromDay  int
	}{{store.SQLite, 1, 0}, {store.Postgres, 2, -1}} {
		t.Run(string(c.d), func(t *testing.T) {
			dbURL := testdb.URL(t, c.d)
			dir := t.TempDir()
			var out bytes.Buffer
			o := replayOptions{db: dbURL, keyFile: filepath.Join(dir, "audit.key"), replicas: c.replicas, residents: 20000,
				scale: 0.0006, fromDay: c.fromDay, clinicians: 4, desks: 8, seed: 7, spawn: func(args []string) *exec.Cmd {
					js, _ := json.Marshal(args)
					cmd := exec.Command(os.Args[0], "-test.run=^$")
					cmd.Env = append(os.Environ(), crashChildEnv+"="+string(js))
					return cmd
				}}
			if n := writeRegisteredCounty(t, o); n == 0 {
				t.Fatal("the county has no hypertension register to leave out")
			}
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

// writeRegisteredCounty writes the replay's demo county into o.db with
// its chronic registers and a year of follow-ups; it returns the number
// of residents in the hypertension register.
func writeRegisteredCounty(t *testing.T, o replayOptions) int {
	t.Helper()
	ctx := context.Background()
	key, err := (&common{keyFile: o.keyFile}).auditKey()
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, o.db, store.Options{AuditKey: key})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := demo.Generate(ctx, st, demo.Config{Residents: o.residents, Seed: o.seed, FollowUps: demo.ScaledFollowUps(o.residents)},
		slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	insts, err := st.Institutions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := st.RegisteredFor(ctx, insts[0].CountyCode, chronic.Hypertension)
	if err != nil {
		t.Fatal(err)
	}
	return len(reg)
}

// TestWaitIdle: the replay's wait for a started server's startup duties
// ends after three idle seconds for a process that does nothing, and at max
// for one that keeps cores busy (this one, spinning on four threads, so
// that it stays busy on a loaded machine).
func TestWaitIdle(t *testing.T) {
	idle := exec.Command("sleep", "30")
	if err := idle.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { idle.Process.Kill(); idle.Wait() }()
	if cpu, waited := waitIdle(idle.Process.Pid, 20*time.Second); waited > 10*time.Second || cpu > 50*time.Millisecond {
		t.Errorf("idle process: waited %s, CPU %s; want about three seconds, no CPU", waited, cpu)
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

// TestWaitIdleLateStart: a server takes the scheduler lease and starts its
// startup duties a moment after it starts serving; a process that is quiet
// for a second and a half and then busy is not taken for idle (the wait
// needs three quiet seconds running: with one, the 1 M county's first
// dashboard-figures run fell inside the replay and counted as its CPU).
func TestWaitIdleLateStart(t *testing.T) {
	var stop atomic.Bool
	defer stop.Store(true)
	go func() {
		time.Sleep(1500 * time.Millisecond)
		for i := 0; i < 4; i++ {
			go func() {
				for n := 0; !stop.Load(); n++ {
				}
			}()
		}
	}()
	if cpu, waited := waitIdle(os.Getpid(), 5*time.Second); waited < 5*time.Second || cpu == 0 {
		t.Errorf("late-busy process: waited %s, CPU %s; want the whole 5 s, some CPU", waited, cpu)
	}
}

// The replay's window of the year: by default it ends today; --from-day 0
// starts it 364 days back; a window past the year's end is refused.
func TestReplayWindow(t *testing.T) {
	today := care.Date{Year: 2026, Month: 12, Day: 7}
	for _, c := range []struct {
		from  int
		scale float64
		first string
		days  int
	}{{-1, 0.01, "2026-12-04", 4}, {0, 0.01, "2025-12-08", 4}, {-1, 1, "2025-12-08", 365}, {100, 0.1, "2026-03-18", 37}} {
		first, days := replayWindow(today, c.from, c.scale)
		if first.String() != c.first || days != c.days {
			t.Errorf("from %d scale %v: %s, %d days; want %s, %d days", c.from, c.scale, first, days, c.first, c.days)
		}
	}
	_, err := runReplay(context.Background(), replayOptions{clinicians: 1, replicas: 1, scale: 0.1, fromDay: 340}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--from-day 340") {
		t.Errorf("a window past the year's end: %v", err)
	}
}

// The whole year's contracts need residents all over the county: 32 desks
// at 32 clinics (the run that refused 115,422 contracts) are short, one
// desk at each of the 1 M county's 206 clinics with its share of a
// 400,000 sample is not. Every event goes to a desk of the worker that
// sends it (Seq mod workers), and every desk is used.
func TestReplayShortfall(t *testing.T) {
	events, err := replay.Plan(replay.Config{Volumes: replayVolumes(), Rhythm: replay.DefaultRhythm(), Scale: 1, Seed: 2026, FirstDay: time.Tuesday})
	if err != nil {
		t.Fatal(err)
	}
	pools := func(desks, each int) []int {
		p := make([]int, desks)
		for i := range p {
			p[i] = each
		}
		return p
	}
	if err := replayShortfall(events, 32, pools(32, 730), io.Discard); err == nil {
		t.Errorf("32 desks of 730 adults (a 200,000 sample of the 1 M county): no shortfall reported for %d events", len(events))
	}
	var warn bytes.Buffer
	if err := replayShortfall(events, 32, pools(206, 400000*3/4/206), &warn); err != nil || warn.Len() > 0 {
		t.Errorf("206 desks of %d adults: %v %s", 400000*3/4/206, err, warn.String())
	}
	used := map[int]bool{}
	for seq := 0; seq < 10000; seq++ {
		d := deskOf(seq, 32, 206)
		if d%32 != seq%32 || d >= 206 {
			t.Fatalf("event %d at desk %d: not one of worker %d's", seq, d, seq%32)
		}
		used[d] = true
	}
	if len(used) != 206 {
		t.Errorf("%d of 206 desks used", len(used))
	}
}

// Failed requests are reported grouped by request type and reason (the
// numbers in a message aside), with counts and one example each, the
// largest group first.
func TestReplayErrorsGrouped(t *testing.T) {
	var e replayErrors
	for i := 0; i < 5; i++ {
		e.add("family.contract", fmt.Errorf(`POST /api/v1/residents/%d/family/contracts: 409 Conflict {"error":{"key":"family.contract.already_active"},"request_id":"%x"}`, 100+i, 0xadc465da0f0b+i))
	}
	e.add("settlement.create", errors.New("POST /api/v1/settlements: 422 no policy for 2025-12-08"))
	var out bytes.Buffer
	e.report(&out)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if e.total() != 6 || len(lines) != 2 || !strings.Contains(lines[0], "family.contract") || !strings.Contains(lines[0], " 5 ") ||
		!strings.Contains(lines[0], "residents/100/") || !strings.Contains(lines[1], "no policy for 2025-12-08") {
		t.Errorf("report:\n%s", out.String())
	}
	for i := 0; i < 2*maxErrorGroups; i++ {
		e.add("x", errors.New(strings.Repeat("a", i+1)))
	}
	if len(e.groups) != maxErrorGroups+1 || e.total() != 6+2*maxErrorGroups {
		t.Errorf("%d groups, %d errors; want at most %d groups and every error counted", len(e.groups), e.total(), maxErrorGroups+1)
	}
}
