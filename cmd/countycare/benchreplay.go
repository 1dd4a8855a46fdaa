package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"countycare/account"
	"countycare/audit"
	"countycare/care"
	"countycare/chronic"
	"countycare/demo"
	"countycare/internal/replay"
	"countycare/org"
	"countycare/resident"
	"countycare/store"
)

// replayVolumes is the county-year of the seeds for a county of
// demo.SeedPopulation people (docs/benchmarks.md, "county-year replay").
func replayVolumes() []replay.Volume {
	return []replay.Volume{
		{Kind: replay.Prescription, PerYear: demo.SeedPrescriptionReviews, Source: "seed 001: 498,600 prescriptions reviewed a year"},
		{Kind: replay.Settlement, PerYear: 200000, Source: "about 100,000 county-hospital admissions a year (docs/referral.md) and as many chronic special-outpatient settlements; the seeds give no count"},
		{Kind: replay.FollowUp, PerYear: demo.SeedFollowUps, Source: "seed 001: 48,963 follow-ups a year"},
		{Kind: replay.HomeVisit, PerYear: demo.SeedHomeVisits, Source: "seed 001: 28,932 home visits a year"},
		{Kind: replay.Checkup, PerYear: 80000, Source: "seed 002: 80,000 free check-ups a year"},
		{Kind: replay.Contract, PerYear: 80000, Source: "new and renewed family doctor contracts; the seeds give coverage (48 %), not a yearly count"},
		{Kind: replay.Consultation, PerYear: demo.SeedConsultations, Source: "seed 000: 32,000 consultations a year"},
		{Kind: replay.Referral, PerYear: demo.ScaledReferrals(demo.SeedPopulation), Source: "15 up-referrals per 1,000 residents (docs/referral.md)"},
		{Kind: replay.ECGRead, PerYear: demo.SeedECGReads, Source: "seed 001: 71,296 ECGs read a year"},
		{Kind: replay.ImagingRead, PerYear: demo.SeedImagingReads, Source: "seed 001: 26,322 imaging studies read a year"},
	}
}

// replayOptions are the flags of `countycare bench replay`.
type replayOptions struct {
	db, keyFile string
	urls        []string // servers to target instead of starting them
	replicas    int
	residents   int
	scale       float64
	fromDay     int // the window's first day of the year (0: 364 days ago); -1: the window ends today
	clinicians  int
	desks       int // village doctors' sessions the clinicians take turns at (0: one per village clinic)
	seed        uint64
	cpuprofile  string        // the (first) server's CPU profile
	sqliteArgs  []string      // the started servers' SQLite memory flags (--sqlite-mmap-mb, --sqlite-cache-mb)
	settleMax   time.Duration // the longest wait for the started servers' startup duties (0: none)
	// spawn makes the command that runs `countycare <args>` (serve): this
	// binary, or the test binary in tests.
	spawn func(args []string) *exec.Cmd
}

func cmdBenchReplay(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newFlags("bench replay", "Replay a county-year of clinical work through the HTTP JSON API (issue 15 §3): prescriptions signed and\n"+
		"reviewed, settlements, chronic follow-ups, family doctor contracts and services, consultations, referrals, ECG and\n"+
		"imaging reads, in the seeds' yearly volumes and a working day's rhythm, sent by --clinicians simulated clinicians\n"+
		"(each its own signed-in session and role) with no think time. It writes a demo county into an empty --db first, starts the servers itself\n"+
		"(--replicas, PostgreSQL for more than one) unless --url names them, and reports wall time, throughput, p50/p99\n"+
		"per request type, errors (each with its body), the servers' peak RSS and CPU, and the wall time of the busiest hour.\n"+
		"Give it an empty database each time: a second replay on the same one meets the first's contracts and registrations.\n"+
		"The whole year on a 1 M-resident county:\n"+
		"  countycare bench replay --db sqlite:///tmp/year.db --residents 1000000 --scale 1", stderr)
	c.register(fs)
	o := replayOptions{}
	urls := fs.String("url", "", "comma-separated base URLs of running servers on --db (default: start them)")
	fs.IntVar(&o.replicas, "replicas", 1, "servers to start, requests spread round-robin (more than one needs PostgreSQL)")
	fs.IntVar(&o.residents, "residents", 1000000, "residents of the demo county written into an empty --db")
	fs.Float64Var(&o.scale, "scale", 0.05, "fraction of the year replayed: round(365 × scale) days at a full day's volume (1: the whole year)")
	fs.IntVar(&o.fromDay, "from-day", -1, "first day of the replayed window, 0–364 counted from the year's first day (364 days ago), so that any part of the year\n"+
		"can be replayed alone (--from-day 0 --scale 0.01: the year's first 4 days); default: the window ends today")
	fs.IntVar(&o.clinicians, "clinicians", 32, "simulated clinicians sending requests at once; each takes turns at the village doctors' desks (--desks) it owns")
	fs.IntVar(&o.desks, "desks", 0, "village doctors signed in, each at a clinic with its share of the residents (0: one at every village clinic of the county)")
	fs.Uint64Var(&o.seed, "seed", 2026, "random seed of the event plan")
	fs.DurationVar(&o.settleMax, "settle", 3*time.Minute, "wait at most this long for the started servers' startup duties to finish before the replay, so that their CPU is not counted as the requests' (0: do not wait)")
	fs.StringVar(&o.cpuprofile, "cpuprofile", "", "write the (first) started server's CPU profile over the replay to this file (serve --cpuprofile, restarted when the replay begins: its start, startup duties and sign-in left out)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *urls != "" {
		o.urls = strings.Split(*urls, ",")
	}
	o.db, o.keyFile = c.db, c.auditKeyPath()
	o.sqliteArgs = []string{"--sqlite-mmap-mb", strconv.Itoa(c.sqliteMmapMiB), "--sqlite-cache-mb", strconv.Itoa(c.sqliteCache)}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	o.spawn = func(args []string) *exec.Cmd { return exec.Command(exe, args...) }
	res, err := runReplay(ctx, o, stdout)
	if err != nil {
		return err
	}
	if res.errors > 0 {
		return fmt.Errorf("replay: %d requests failed", res.errors)
	}
	return nil
}

// replayResult is what a replay measured.
type replayResult struct {
	requests, errors int
	perType          map[string]*replayStats
	wall             time.Duration
	peakEvents       int
	peakWall         time.Duration
	rssKB            []int64         // each server's VmHWM
	mem              []procMemory    // each server's peaks of RssAnon and RssFile, sampled
	cpu              []time.Duration // each server's user+system CPU
	clientCPU        time.Duration   // the replay's own (the simulated clinicians')
	created          map[replay.Kind][]int64
	events           int
	dbGrowth         int64 // bytes the SQLite database grew by (0: unknown)
}

// fileSizes is the total size of the files that exist among paths.
func fileSizes(paths ...string) int64 {
	var n int64
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil && p != "" {
			n += fi.Size()
		}
	}
	return n
}

// replayStats are one request type's latencies.
type replayStats struct {
	lat  []time.Duration
	errs int
}

// replayServer is one started `countycare serve`.
type replayServer struct {
	cmd  *exec.Cmd
	base string
	log  *syncBuffer
}

func runReplay(ctx context.Context, o replayOptions, stdout io.Writer) (*replayResult, error) {
	if o.clinicians < 1 || o.replicas < 1 {
		return nil, fmt.Errorf("replay: --clinicians and --replicas must be at least 1")
	}
	if days := max(1, int(365*o.scale+0.5)); o.fromDay < -1 || o.fromDay+days > 365 {
		return nil, fmt.Errorf("replay: --from-day %d with --scale %g (%d days) is not a window of the year's days 0–364", o.fromDay, o.scale, days)
	}
	if o.replicas > 1 && !strings.HasPrefix(o.db, "postgres") {
		return nil, fmt.Errorf("replay: --replicas %d needs a PostgreSQL --db (replicas share one database)", o.replicas)
	}
	key, err := (&common{keyFile: o.keyFile}).auditKey()
	if err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, o.db, store.Options{AuditKey: key})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	setup, err := replaySetup(ctx, st, o, stdout)
	if err != nil {
		return nil, err
	}
	bases := o.urls
	var servers []*replayServer
	defer func() {
		for _, s := range servers {
			s.stop()
		}
	}()
	if len(bases) == 0 {
		for i := 0; i < o.replicas; i++ {
			args := append([]string{"serve", "--db", o.db, "--audit-key-file", o.keyFile, "--addr", "127.0.0.1:0", "--log-format", "text", "--log-level", "warn"}, o.sqliteArgs...)
			if i == 0 && o.cpuprofile != "" {
				args = append(args, "--cpuprofile", o.cpuprofile)
			}
			sv, err := startReplayServer(o.spawn(args))
			if err != nil {
				return nil, err
			}
			servers = append(servers, sv)
			bases = append(bases, sv.base)
		}
	}
	for i, s := range servers {
		if o.settleMax <= 0 {
			break
		}
		cpu, waited := waitIdle(s.cmd.Process.Pid, o.settleMax)
		fmt.Fprintf(stdout, "replay: server %d's startup duties (the first run of every duty on a new database) took %s of CPU in %s (not counted)\n",
			i+1, cpu, waited.Round(time.Second))
	}
	first, days := replayWindow(care.Today(time.Now()), o.fromDay, o.scale)
	events, err := replay.Plan(replay.Config{Volumes: replayVolumes(), Rhythm: replay.DefaultRhythm(), Scale: o.scale, Seed: o.seed, FirstDay: first.Time().Weekday()})
	if err != nil {
		return nil, err
	}
	r := &replayer{setup: setup, bases: bases, stats: map[string]*replayStats{}, created: map[replay.Kind][]int64{}, out: stdout, first: first}
	if err := r.signIn(len(bases)); err != nil {
		return nil, err
	}
	if len(r.clinicians) < o.clinicians {
		return nil, fmt.Errorf("replay: %d village clinics have a doctor, adult residents and a family doctor team, fewer than the %d clinicians (--clinicians, --desks)", len(r.clinicians), o.clinicians)
	}
	pools := make([]int, len(r.clinicians))
	for i, cl := range r.clinicians {
		pools[i] = len(cl.v.residents)
	}
	if err := replayShortfall(events, o.clinicians, pools, stdout); err != nil {
		return nil, err
	}
	fmt.Fprintf(stdout, "replay: %d events over %d days (scale %g) from %s, %d clinicians, %d server(s) on %s, %s\n",
		len(events), days, o.scale, first, o.clinicians, len(bases), st.Redacted(), loadAverage())
	cpu0 := make([]time.Duration, len(servers))
	for i, s := range servers {
		cpu0[i] = processCPUOf(s.cmd.Process.Pid)
	}
	res := &replayResult{perType: r.stats, created: r.created, events: len(events)}
	dbFile := ""
	if strings.HasPrefix(o.db, "sqlite://") {
		dbFile = strings.TrimPrefix(strings.SplitN(o.db, "?", 2)[0], "sqlite://")
	}
	size0 := fileSizes(dbFile, dbFile+"-wal")
	stopSampling := make(chan struct{})
	var peaks []<-chan procMemory
	for _, s := range servers {
		peaks = append(peaks, sampleMemory(s.cmd.Process.Pid, 200*time.Millisecond, stopSampling))
	}
	if o.cpuprofile != "" && len(servers) > 0 && restartProfileSignal != nil {
		servers[0].cmd.Process.Signal(restartProfileSignal) // the profile: the replay's requests only
	}
	start, client0 := time.Now(), processCPU()
	for _, hour := range replay.ByHour(events) {
		t := time.Now()
		r.runHour(hour, o.clinicians)
		if d := time.Since(t); len(hour) > res.peakEvents {
			res.peakEvents, res.peakWall = len(hour), d
		}
	}
	res.wall, res.clientCPU = time.Since(start), processCPU()-client0
	close(stopSampling)
	for _, p := range peaks {
		res.mem = append(res.mem, <-p)
	}
	for i, s := range servers {
		res.cpu = append(res.cpu, processCPUOf(s.cmd.Process.Pid)-cpu0[i])
		res.rssKB = append(res.rssKB, vmHWM(s.cmd.Process.Pid))
	}
	for _, s := range r.stats {
		res.requests += len(s.lat)
		res.errors += s.errs
	}
	if dbFile != "" && len(servers) > 0 {
		for _, s := range servers {
			s.stop() // the last connection's close checkpoints the WAL into the file
		}
		res.dbGrowth = fileSizes(dbFile, dbFile+"-wal") - size0
	}
	r.report(res)
	if res.errors > 0 {
		for i, s := range servers {
			fmt.Fprintf(stdout, "server %d's log (warnings and errors), last lines:\n%s\n", i+1, lastLines(s.log.String(), 20))
		}
	}
	return res, nil
}

// startReplayServer starts cmd (serve on port 0) and waits for its URL.
func startReplayServer(cmd *exec.Cmd) (*replayServer, error) {
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	s := &replayServer{cmd: cmd, log: &syncBuffer{}}
	cmd.Stderr = s.log
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(stdout)
	serving := regexp.MustCompile(`serving .* on (http://\S+)`)
	for sc.Scan() {
		if m := serving.FindStringSubmatch(sc.Text()); m != nil {
			s.base = m[1]
			break
		}
	}
	if s.base == "" {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("replay: the server did not start: %s", s.log)
	}
	go io.Copy(io.Discard, stdout)
	return s, nil
}

// stop ends the server gracefully (SIGTERM: it writes its CPU profile).
func (s *replayServer) stop() {
	if s.cmd.ProcessState != nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
}

// syncBuffer is a bytes.Buffer safe for a server's goroutines (its log).
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitIdle waits until process pid has been idle (at most 5 % of a core)
// for three seconds running, or max has passed: a started server runs each scheduled
// duty at once on a new database (the dashboard figures of every kept day
// took 3–5 s of the server's CPU on the 100,000-resident county, 72 s on
// the 1 M demo county), work a serving county did long before, which the
// figures of the replay's requests should not carry. The duties start
// once the server holds the scheduler lease (serve --lease, 2 s), so one
// quiet second is not enough: a server that had not taken it yet was
// taken for idle and ran the duties during the replay. It returns the CPU
// the process used and how long it waited.
func waitIdle(pid int, max time.Duration) (cpu, waited time.Duration) {
	const window, idle, quiet = time.Second, 50 * time.Millisecond, 3
	start, cpu0 := time.Now(), processCPUOf(pid)
	last, still := cpu0, 0
	for time.Since(start) < max {
		time.Sleep(window)
		now := processCPUOf(pid)
		if still++; now-last > idle {
			still = 0
		}
		if still == quiet {
			break
		}
		last = now
	}
	return processCPUOf(pid) - cpu0, time.Since(start)
}

// vmHWM is a process's peak resident set in KiB (/proc/PID/status), 0 if unknown.
func vmHWM(pid int) int64 { return procStatus(pid)["VmHWM"] }

// procStatus is the KiB figures of /proc/PID/status by name (VmHWM,
// RssAnon, RssFile…), empty if unknown.
func procStatus(pid int) map[string]int64 {
	b, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	out := map[string]int64{}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[2] == "kB" {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			out[strings.TrimSuffix(f[0], ":")] = n
		}
	}
	return out
}

// procMemory is a process's memory in KiB, split as /proc/PID/status
// splits its resident set: RssAnon is its own (the Go heap, SQLite's page
// caches, stacks), RssFile the pages of files it maps (the SQLite
// database's memory map: the kernel's page cache, shared and reclaimable,
// which VmHWM counts with the heap).
type procMemory struct{ anon, file int64 }

// sampleMemory samples process pid's RssAnon and RssFile every interval
// until stop is closed, and sends their peaks (not necessarily at the same
// moment) on the returned channel.
func sampleMemory(pid int, interval time.Duration, stop <-chan struct{}) <-chan procMemory {
	out := make(chan procMemory, 1)
	go func() {
		var peak procMemory
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			st := procStatus(pid)
			peak.anon, peak.file = max(peak.anon, st["RssAnon"]), max(peak.file, st["RssFile"])
			select {
			case <-stop:
				out <- peak
				return
			case <-t.C:
			}
		}
	}()
	return out
}

// processCPUOf is a process's user and system CPU time (/proc/PID/stat,
// in clock ticks of 1/100 s), 0 if unknown.
func processCPUOf(pid int) time.Duration {
	b, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state); utime is field 14, stime 15
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	k, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+k) * 10 * time.Millisecond
}

// replaySample is how many residents of the county the replay draws its
// patients from (an even sample; all of a smaller county). The whole 1 M
// county: only the 60 of its 206 village clinics that have a family
// doctor team member sign contracts, so a desk there signs up to 2,500 of
// the year's 80,000 contracts, one a year per resident — more than a
// 400,000 sample leaves it (1,774 adults at the smallest desk).
const replaySample = 1000000

// replaySetupData is the county the replay works in: who signs in and
// which residents each clinician cares for.
type replaySetupData struct {
	county     string
	hospital   int64 // the lead county hospital
	cardiology int64 // its cardiology department
	villages   []replayVillage
	pharmacist string
	cashier    string
	specialist string           // the county hospital's cardiologist who receives referrals
	byPract    map[int64]string // practitioner → username, of the cardiologists (consultations are routed to one)
	ecgCenter  int64            // the ECG diagnosis center
	readers    []string         // its readers
	imgCenter  int64            // the imaging diagnosis center
	radiology  []string         // its readers
	// registered are the residents the county already has in its
	// hypertension register: the platform refuses a second registration
	// ("already registered"), so the replay enrols others.
	registered map[int64]bool
}

// replayVillage is one simulated village doctor and their residents.
type replayVillage struct {
	username  string
	clinic    *org.Institution
	residents []int64 // adults managed by the clinic
}

// replaySetup writes the demo county into an empty database and gives each
// simulated clinician an account (the setup is not timed).
func replaySetup(ctx context.Context, st *store.Store, o replayOptions, stdout io.Writer) (*replaySetupData, error) {
	insts, err := st.Institutions(ctx)
	if err != nil {
		return nil, err
	}
	if len(insts) == 0 {
		t := time.Now()
		res, err := demo.Generate(ctx, st, demo.Config{Residents: o.residents, Seed: o.seed}, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(stdout, "replay: demo county of %d residents written in %s (not timed)\n", res.Residents, time.Since(t).Round(time.Second))
		if insts, err = st.Institutions(ctx); err != nil {
			return nil, err
		}
	}
	d := &replaySetupData{county: insts[0].CountyCode, byPract: map[int64]string{}}
	var clinics []*org.Institution
	for i := range insts {
		switch insts[i].Kind {
		case org.KindCountyHospital:
			if d.hospital == 0 {
				d.hospital = insts[i].ID
			}
		case org.KindVillageClinic:
			clinics = append(clinics, &insts[i])
		}
	}
	accs, err := st.Accounts(ctx, 100000)
	if err != nil {
		return nil, err
	}
	userOf := map[int64]string{}
	for _, a := range accs {
		if a.PractitionerID != 0 {
			userOf[a.PractitionerID] = a.Username
		}
		switch a.Role {
		case care.RolePharmacist:
			d.pharmacist = a.Username
		case care.RoleInsuranceOfficer:
			d.cashier = a.Username
		case care.RoleCountySpecialist:
			d.specialist = a.Username
		}
	}
	if d.hospital == 0 || len(clinics) == 0 || d.pharmacist == "" || d.cashier == "" || d.specialist == "" {
		return nil, fmt.Errorf("replay: %s is not a demo county (countycare demo writes one into an empty database)", st.Redacted())
	}
	hash, err := account.HashPassword(demo.DefaultPassword)
	if err != nil {
		return nil, err
	}
	ensure := func(p org.Practitioner, role care.Role) (string, error) {
		if u := userOf[p.ID]; u != "" {
			return u, nil
		}
		a := &account.Account{Username: "replay." + strconv.FormatInt(p.ID, 10), Role: role, InstitutionID: p.InstitutionID, PractitionerID: p.ID, PasswordHash: hash}
		if err := st.CreateAccount(ctx, a, audit.New(ctx, care.Actor{Username: "bench replay", CountyCode: d.county}, audit.ActAccountCreate, 0)); err != nil {
			return "", err
		}
		userOf[p.ID] = a.Username
		return a.Username, nil
	}
	cardio, err := st.Practitioners(ctx, org.PractitionerFilter{Institutions: []int64{d.hospital}, Specialty: "cardiology", Limit: 500})
	if err != nil {
		return nil, err
	}
	for _, p := range cardio {
		d.cardiology = p.DepartmentID
		if d.byPract[p.ID], err = ensure(p, care.RoleCountySpecialist); err != nil {
			return nil, err
		}
	}
	ecg, err := st.Practitioners(ctx, org.PractitionerFilter{Specialty: "ecg", Limit: 500})
	if err != nil {
		return nil, err
	}
	for _, p := range ecg {
		if d.ecgCenter == 0 {
			d.ecgCenter = p.InstitutionID
		}
		if p.InstitutionID != d.ecgCenter {
			continue
		}
		u, err := ensure(p, care.RoleReader)
		if err != nil {
			return nil, err
		}
		d.readers = append(d.readers, u)
	}
	if len(d.readers) == 0 {
		return nil, fmt.Errorf("replay: the county has no ECG diagnosis center with readers")
	}
	rad, err := st.Practitioners(ctx, org.PractitionerFilter{Specialty: "radiology", Limit: 500})
	if err != nil {
		return nil, err
	}
	for _, p := range rad {
		if d.imgCenter == 0 {
			d.imgCenter = p.InstitutionID
		}
		if p.InstitutionID != d.imgCenter {
			continue
		}
		u, err := ensure(p, care.RoleReader)
		if err != nil {
			return nil, err
		}
		d.radiology = append(d.radiology, u)
	}
	if len(d.radiology) == 0 {
		return nil, fmt.Errorf("replay: the county has no imaging diagnosis center with readers")
	}
	// Residents by village: an even sample of the county (adults only).
	sample, err := st.SampleResidents(ctx, d.county, replaySample)
	if err != nil {
		return nil, err
	}
	today := care.Today(time.Now())
	// A county that has run for a while (a copy of a live one) has residents
	// under contract already: a county signs them again only when the
	// contract ends, so the replay leaves them out.
	var clinicIDs []int64
	for _, c := range clinics {
		clinicIDs = append(clinicIDs, c.ID)
	}
	facts, err := st.ContractFacts(ctx, d.county, clinicIDs, today.AddDays(-366), today)
	if err != nil {
		return nil, err
	}
	signed := map[int64]bool{}
	for _, f := range facts {
		signed[f.ResidentID] = true
	}
	facts = nil
	if d.registered, err = st.RegisteredFor(ctx, d.county, chronic.Hypertension); err != nil {
		return nil, err
	}
	byVillage := map[int64][]int64{}
	for _, x := range sample {
		if x.Age(today) >= 18 && x.Status == resident.StatusActive && !signed[x.ID] {
			byVillage[x.VillageID] = append(byVillage[x.VillageID], x.ID)
		}
	}
	sample = nil
	// One village doctor's desk per clinic (or per --desks), at least one
	// per simulated clinician: the county's contracts and check-ups are
	// signed all over the county, and a contract or a check-up is once a
	// year per resident, so the 32 clinicians of the whole-year run worked
	// through 32 clinics' residents by spring (115,422 contracts refused
	// as "every one of the residents … has one").
	desks := o.desks
	if desks <= 0 {
		desks = len(clinics)
	}
	desks = max(desks, o.clinicians)
	for i := 0; i < desks; i++ {
		cl := clinics[i%len(clinics)]
		// Desks of one clinic share its residents out, so no two
		// enrol or sign the same person.
		share, k := (desks-i%len(clinics)+len(clinics)-1)/len(clinics), i/len(clinics)
		var mine []int64
		for j, id := range byVillage[cl.ID] {
			if j%share == k {
				mine = append(mine, id)
			}
		}
		ps, err := st.Practitioners(ctx, org.PractitionerFilter{Institutions: []int64{cl.ID}, Limit: 500})
		if err != nil {
			return nil, err
		}
		if len(ps) == 0 || len(mine) == 0 {
			continue // a clinic without a village doctor (or residents) signs nothing
		}
		p := ps[k%len(ps)]
		u, err := ensure(p, care.RoleVillageDoctor)
		if err != nil {
			return nil, err
		}
		d.villages = append(d.villages, replayVillage{username: u, clinic: cl, residents: mine})
	}
	if len(d.villages) < o.clinicians {
		return nil, fmt.Errorf("replay: %d village clinics have a doctor and adult residents, fewer than the %d clinicians (--clinicians, --desks)", len(d.villages), o.clinicians)
	}
	return d, nil
}

// replayer sends the events and keeps the figures.
type replayer struct {
	setup *replaySetupData
	bases []string
	out   io.Writer
	first care.Date // the window's first day

	clinicians []*replayClinician
	pharmacist []*replayClient // one session per server
	cashier    []*replayClient
	specialist []*replayClient
	cardio     map[int64][]*replayClient // practitioner → one session per server
	readers    []*replayClient           // the ECG center's readers, each on every server
	ecgs       [][]byte                  // ECG recordings to send (CSV)
	radiology  []*replayClient           // the imaging center's readers, each on every server
	dicom      *replayDICOM              // the DR file sent, with new UIDs each time
	templates  map[string]replayTemplate // report templates by modality
	teams      []replayTeam
	pkg        int64

	mu      sync.Mutex
	stats   map[string]*replayStats
	errs    replayErrors
	created map[replay.Kind][]int64
}

type replayTeam struct {
	ID      int64 `json:"id"`
	Active  bool  `json:"active"`
	Members []struct {
		InstitutionID int64 `json:"institution_id"`
	} `json:"members"`
}

// replayClinician is one simulated village doctor's state.
type replayClinician struct {
	c       *replayClient
	v       replayVillage
	team    int64
	next    int            // next resident to take
	fresh   map[string]int // per purpose (chronic, contract): residents taken once so far
	chronic []replayRegistration
	signed  []int64 // residents with a contract signed in the replay
	served  map[int64]care.Date
	checked map[int64]bool
}

type replayRegistration struct {
	id   int64
	last care.Date
}

// replayClient is one signed-in session on one server.
type replayClient struct {
	base, csrf string
	hc         *http.Client
}

func replayLogin(base, username string) (*replayClient, error) {
	cl, err := login(base, username)
	if err != nil {
		return nil, err
	}
	csrf, err := cl.csrf()
	if err != nil {
		return nil, err
	}
	return &replayClient{base: base, csrf: csrf, hc: cl.hc}, nil
}

// signIn signs every simulated clinician in (real sessions, real roles),
// spreading them over the servers.
func (r *replayer) signIn(n int) error {
	d := r.setup
	for i, b := range r.bases {
		for _, x := range []struct {
			user string
			to   *[]*replayClient
		}{{d.pharmacist, &r.pharmacist}, {d.cashier, &r.cashier}, {d.specialist, &r.specialist}} {
			c, err := replayLogin(b, x.user)
			if err != nil {
				return err
			}
			*x.to = append(*x.to, c)
		}
		_ = i
	}
	r.cardio = map[int64][]*replayClient{}
	for p, u := range d.byPract {
		for _, b := range r.bases {
			c, err := replayLogin(b, u)
			if err != nil {
				return err
			}
			r.cardio[p] = append(r.cardio[p], c)
		}
	}
	for _, u := range d.readers {
		for _, b := range r.bases {
			c, err := replayLogin(b, u)
			if err != nil {
				return err
			}
			r.readers = append(r.readers, c)
		}
	}
	for _, u := range d.radiology {
		for _, b := range r.bases {
			c, err := replayLogin(b, u)
			if err != nil {
				return err
			}
			r.radiology = append(r.radiology, c)
		}
	}
	var tpl struct {
		Templates map[string]replayTemplate `json:"templates"`
	}
	if _, err := r.radiology[0].call("GET", "/api/v1/reading/templates", nil, http.StatusOK, &tpl); err != nil {
		return err
	}
	r.templates = tpl.Templates
	dcm, err := newReplayDICOM("pydicom-CR1.dcm")
	if err != nil {
		return err
	}
	r.dicom = dcm
	for _, rr := range [][]float64{{0.85, 0.85, 0.85, 0.85, 0.85, 0.85, 0.85, 0.85, 0.85, 0.85, 0.85},
		{0.7, 0.72, 0.7, 0.69, 0.71, 0.7, 0.72, 0.7, 0.71, 0.7, 0.7, 0.72, 0.7, 0.7},
		{1.0, 1.02, 0.98, 1.0, 1.01, 0.99, 1.0, 1.0, 1.02}} {
		r.ecgs = append(r.ecgs, syntheticECG(rr))
	}
	for i, v := range d.villages {
		c, err := replayLogin(r.bases[i%n], v.username)
		if err != nil {
			return err
		}
		r.clinicians = append(r.clinicians, &replayClinician{c: c, v: v, served: map[int64]care.Date{}, checked: map[int64]bool{}, fresh: map[string]int{}})
	}
	// The family doctor teams and the basic package.
	var teams struct {
		Teams []replayTeam `json:"teams"`
	}
	if _, err := r.clinicians[0].c.call("GET", "/api/v1/family/teams", nil, 200, &teams); err != nil {
		return err
	}
	var pkgs struct {
		Packages []struct {
			ID   int64  `json:"id"`
			Kind string `json:"kind"`
		} `json:"packages"`
	}
	if _, err := r.clinicians[0].c.call("GET", "/api/v1/family/packages", nil, 200, &pkgs); err != nil {
		return err
	}
	if len(teams.Teams) == 0 || len(pkgs.Packages) == 0 {
		return fmt.Errorf("replay: the county has no family doctor team or package")
	}
	r.pkg = pkgs.Packages[0].ID
	for _, k := range pkgs.Packages {
		if k.Kind == "basic" {
			r.pkg = k.ID
			break
		}
	}
	var served []*replayClinician
	for _, cl := range r.clinicians {
		for _, t := range teams.Teams {
			for _, m := range t.Members {
				if t.Active && m.InstitutionID == cl.v.clinic.ID {
					cl.team = t.ID
				}
			}
		}
		if cl.team != 0 { // a clinic no family doctor team serves signs no contract
			served = append(served, cl)
		}
	}
	r.clinicians = served
	return nil
}

// call sends one request and decodes a JSON answer into out. A status
// other than want is an error carrying the body.
func (c *replayClient) call(method, path string, body any, want int, out any) (time.Duration, error) {
	return c.callWith(method, path, nil, body, want, out)
}

// callWith is call with extra request headers.
func (c *replayClient) callWith(method, path string, hdr map[string]string, body any, want int, out any) (time.Duration, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if method != "GET" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	t := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		return time.Since(t), err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	lat := time.Since(t)
	if err != nil {
		return lat, err
	}
	if resp.StatusCode != want {
		return lat, fmt.Errorf("%s %s: %s %s", method, path, resp.Status, clip(bytes.TrimSpace(b)))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return lat, fmt.Errorf("%s %s: %v in %s", method, path, err, clip(b))
		}
	}
	return lat, nil
}

// do is call with the request's latency and outcome recorded under typ.
func (r *replayer) do(typ string, c *replayClient, method, path string, body any, want int, out any, check func() error) error {
	return r.doWith(typ, c, method, path, nil, body, want, out, check)
}

// doWith is do with extra request headers.
func (r *replayer) doWith(typ string, c *replayClient, method, path string, hdr map[string]string, body any, want int, out any, check func() error) error {
	lat, err := c.callWith(method, path, hdr, body, want, out)
	if err == nil && check != nil {
		err = check()
	}
	r.mu.Lock()
	s := r.stats[typ]
	if s == nil {
		s = &replayStats{}
		r.stats[typ] = s
	}
	s.lat = append(s.lat, lat)
	if err != nil {
		s.errs++
		r.errs.add(typ, err)
	}
	r.mu.Unlock()
	return err
}

func (r *replayer) record(k replay.Kind, id int64) {
	r.mu.Lock()
	r.created[k] = append(r.created[k], id)
	r.mu.Unlock()
}

// runHour sends one hour's events: each clinician its share, in order,
// all at once; it returns when all are done.
func (r *replayer) runHour(evs []replay.Event, workers int) {
	queues := make([][]replay.Event, workers)
	for _, e := range evs {
		i := e.Seq % workers
		queues[i] = append(queues[i], e)
	}
	var wg sync.WaitGroup
	for i, q := range queues {
		if len(q) == 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, e := range q {
				r.event(r.desk(i, workers, e), i, e)
			}
		}()
	}
	wg.Wait()
}

// desk is the village doctor's session worker w of workers sends event e
// as: the worker owns the desks w, w+workers, w+2×workers… (so no two
// workers share a desk's state) and takes turns at them.
func (r *replayer) desk(w, workers int, e replay.Event) *replayClinician {
	return r.clinicians[deskOf(e.Seq, workers, len(r.clinicians))]
}

// deskOf is the desk (of desks ≥ workers) that sends the event numbered
// seq of its kind: worker seq mod workers sends it, at one of its desks
// in turn.
func deskOf(seq, workers, desks int) int {
	w := seq % workers
	n := (desks - w + workers - 1) / workers // desks the worker owns
	return w + workers*((seq/workers)%n)
}

// replayShortfall checks before a replay that every desk has residents
// enough for the family doctor contracts it will sign, one a year per
// resident (pools[d] residents at desk d): an error names the first desk
// that would run out. Check-ups, also once a year and under a contract,
// may need more; warn reports those desks.
func replayShortfall(events []replay.Event, workers int, pools []int, warn io.Writer) error {
	contracts, checkups := make([]int, len(pools)), make([]int, len(pools))
	for _, e := range events {
		switch e.Kind {
		case replay.Contract:
			contracts[deskOf(e.Seq, workers, len(pools))]++
		case replay.Checkup:
			checkups[deskOf(e.Seq, workers, len(pools))]++
		}
	}
	short := 0
	for d, n := range pools {
		if contracts[d] > n {
			return fmt.Errorf("replay: desk %d would sign %d family doctor contracts among its %d residents (one a year each): replay a larger county (--residents), more desks (--desks) or fewer days", d, contracts[d], n)
		}
		if contracts[d]+checkups[d] > n {
			short++
		}
	}
	if short > 0 {
		fmt.Fprintf(warn, "replay: warning: %d of %d desks have fewer residents than their contracts and check-ups together; check-ups of residents without a contract need new ones\n", short, len(pools))
	}
	return nil
}

// wantID checks that a created record came back with its ID.
func wantID(id *int64) func() error {
	return func() error {
		if *id <= 0 {
			return errors.New("the answer carries no ID")
		}
		return nil
	}
}

// date is the event's day in the replayed window.
func (r *replayer) date(e replay.Event) care.Date {
	return r.first.AddDays(e.Day())
}

// replayWindow is the first date and the number of days of the window of
// the year (its last day today, its first 364 days before) that starts on
// the year's day fromDay (-1: the window ends today) and lasts
// round(365 × scale) days.
func replayWindow(today care.Date, fromDay int, scale float64) (care.Date, int) {
	days := max(1, int(365*scale+0.5))
	if fromDay < 0 {
		fromDay = 365 - days
	}
	return today.AddDays(fromDay - 364), days
}

// resident is the clinician's next resident (round robin over the village).
func (cl *replayClinician) resident() int64 {
	id := cl.v.residents[cl.next%len(cl.v.residents)]
	cl.next++
	return id
}

// freshResident is a resident of the clinician's not yet taken for
// purpose (a registration or a contract is once per person), passing over
// those in skip (already registered); 0 and an error once the village has
// none left.
func (cl *replayClinician) freshResident(purpose string, skip map[int64]bool) (int64, error) {
	for i := cl.fresh[purpose]; i < len(cl.v.residents); i++ {
		if id := cl.v.residents[i]; !skip[id] {
			cl.fresh[purpose] = i + 1
			return id, nil
		}
	}
	cl.fresh[purpose] = len(cl.v.residents)
	return 0, fmt.Errorf("%s: every one of the %d residents of %s in the replay has one; replay a larger county (--residents) or fewer days", purpose, len(cl.v.residents), cl.v.clinic.Name)
}

// fail records a request that could not be sent.
func (r *replayer) fail(typ string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.stats[typ]
	if s == nil {
		s = &replayStats{}
		r.stats[typ] = s
	}
	s.errs++
	r.errs.add(typ, err)
}

// event sends one event's requests as clinician cl (worker w).
func (r *replayer) event(cl *replayClinician, w int, e replay.Event) {
	srv := w % len(r.bases)
	switch e.Kind {
	case replay.Prescription:
		r.prescription(cl, srv, e)
	case replay.Settlement:
		var out struct {
			ID int64 `json:"id"`
		}
		rid := cl.resident()
		body := replaySettlement(rid, r.setup.hospital, r.date(e), e.Seq)
		key := map[string]string{"Idempotency-Key": body["visit_id"].(string)}
		r.doWith("settlement.create", r.cashier[srv], "POST", "/api/v1/settlements", key, body, http.StatusCreated, &out, wantID(&out.ID))
		r.record(e.Kind, out.ID)
	case replay.FollowUp:
		r.followUp(cl, e)
	case replay.Contract:
		r.contract(cl, e)
	case replay.HomeVisit, replay.Checkup:
		r.service(cl, e)
	case replay.Consultation:
		r.consultation(cl, srv, e)
	case replay.Referral:
		r.referral(cl, srv, e)
	case replay.ECGRead:
		r.ecgRead(cl, w, e)
	case replay.ImagingRead:
		r.imagingRead(cl, w, e)
	}
}

// report prints the figures.
func (r *replayer) report(res *replayResult) {
	w := r.out
	fmt.Fprintf(w, "wall %s, %d requests, %.0f requests/s, %d errors, %s\n", res.wall.Round(time.Millisecond), res.requests,
		float64(res.requests)/res.wall.Seconds(), res.errors, loadAverage())
	types := make([]string, 0, len(res.perType))
	for t := range res.perType {
		types = append(types, t)
	}
	sort.Strings(types)
	for _, t := range types {
		s := res.perType[t]
		l := loadResult{lat: s.lat}
		fmt.Fprintf(w, "  %-22s n=%-7d p50 %-9s p99 %-9s max %-9s errors %d\n", t, len(s.lat), l.pct(50).Round(10*time.Microsecond),
			l.pct(99).Round(10*time.Microsecond), l.pct(100).Round(10*time.Microsecond), s.errs)
	}
	fmt.Fprintf(w, "busiest hour: %d events in %s (real time 1 h)\n", res.peakEvents, res.peakWall.Round(time.Millisecond))
	for i := range res.rssKB {
		fmt.Fprintf(w, "server %d: peak RSS (VmHWM) %d MB: own memory (RssAnon) %d MB, mapped database pages (RssFile) %d MB at their peaks; CPU %s (%.0f %% of one core over the replay, %.3f ms a request of its share)\n",
			i+1, res.rssKB[i]/1024, res.mem[i].anon/1024, res.mem[i].file/1024, res.cpu[i].Round(10*time.Millisecond),
			100*res.cpu[i].Seconds()/res.wall.Seconds(), 1000*res.cpu[i].Seconds()/float64(max(1, res.requests/len(res.cpu))))
	}
	fmt.Fprintf(w, "the clients (this process): CPU %s, %.3f ms a request\n", res.clientCPU.Round(10*time.Millisecond), 1000*res.clientCPU.Seconds()/float64(max(1, res.requests)))
	if res.dbGrowth > 0 {
		fmt.Fprintf(w, "database grew by %.1f MB, %.0f bytes per event (audit rows, indexes and search tokens included)\n",
			float64(res.dbGrowth)/1e6, float64(res.dbGrowth)/float64(res.events))
	}
	r.errs.report(w)
}

// replayErrors are the failed requests grouped by request type and
// reason, with a count and the first example of each: a run of a
// million requests can fail in a hundred thousand ways that are one.
type replayErrors struct {
	groups map[string]*replayErrorGroup
	order  []string // keys, in order of first occurrence
}

type replayErrorGroup struct {
	typ, example string
	n            int
}

// maxErrorGroups bounds the groups kept; later new reasons count under one.
const maxErrorGroups = 100

// varying are the parts of an error message that differ between errors of
// one reason: the request's ID in the answer, then any number (IDs,
// dates; the status stays, "409" and "422" alike become "N" with the text
// beside them telling them apart).
var varying = []*regexp.Regexp{regexp.MustCompile(`"request_id":"[^"]*"`), regexp.MustCompile(`[0-9]+`)}

// add counts one failed request of type typ.
func (e *replayErrors) add(typ string, err error) {
	msg := err.Error()
	key := msg
	for _, re := range varying {
		key = re.ReplaceAllString(key, "N")
	}
	key = typ + ": " + key
	if e.groups == nil {
		e.groups = map[string]*replayErrorGroup{}
	}
	g := e.groups[key]
	if g == nil && len(e.order) >= maxErrorGroups {
		key = typ + ": (other reasons)"
		g = e.groups[key]
	}
	if g == nil {
		g = &replayErrorGroup{typ: typ, example: msg}
		e.groups[key] = g
		e.order = append(e.order, key)
	}
	g.n++
}

// total is the number of failed requests counted.
func (e *replayErrors) total() int {
	n := 0
	for _, g := range e.groups {
		n += g.n
	}
	return n
}

// report prints the groups, the largest first, each with one example.
func (e *replayErrors) report(w io.Writer) {
	keys := append([]string(nil), e.order...)
	sort.SliceStable(keys, func(i, j int) bool { return e.groups[keys[i]].n > e.groups[keys[j]].n })
	for _, k := range keys {
		g := e.groups[k]
		fmt.Fprintf(w, "ERRORS %-22s %7d  e.g. %s\n", g.typ, g.n, g.example)
	}
}

// lastLines is the last n lines of text.
func lastLines(text string, n int) string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// clip is at most 500 bytes of an answer's body, for an error message.
func clip(b []byte) string {
	if len(b) > 500 {
		return string(b[:500]) + "…"
	}
	return string(b)
}
