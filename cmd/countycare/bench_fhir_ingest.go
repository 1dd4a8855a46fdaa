package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"time"

	"countycare/account"
	"countycare/care"
	"countycare/demo"
	"countycare/points"
	"countycare/referral"
	"countycare/web"
)

// ingestFile is one Synthea bundle of the ingest benchmark.
type ingestFile struct {
	name    string
	body    []byte
	entries int
	patient []string // the Patient's identifier values, none for the hospital and practitioner files
}

// cmdBenchFHIRIngest: countycare bench fhir-ingest — issue 12's figure:
// Synthea transaction bundles loaded through POST /fhir (each a
// transaction: checked, every held record through its domain service,
// audited, on the database given) against a FHIR peer (Medplum's
// fhir-router with validation, started by the peers folder's medplum.sh,
// docs/benchmarks.md) in the same run, rounds alternating between the two. The rate is the peer script's
// (bench-fhir.sh): entries of accepted bundles per second of time inside
// the requests.
func cmdBenchFHIRIngest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench fhir-ingest", "Load the Synthea R4 transaction bundles of --dir through POST /fhir on loopback (as a village\n"+
		"doctor: checked, held records through the domain services, audited) --rounds times, and, with --peer,\n"+
		"the same files to that FHIR server's base URL in alternating rounds (Medplum: VALIDATE=1\n"+
		"the peers' medplum.sh, then --peer http://127.0.0.1:8143). Rate: entries of accepted bundles per\n"+
		"second inside the requests (as the peers' bench-fhir.sh). Each countycare round imports new\n"+
		"patients (their Synthea ids made unique per round). Without --db a temporary SQLite database with a\n"+
		"demo county of --residents residents is used.", stderr)
	var c common
	c.register(fs)
	dir := fs.String("dir", "testdata/fhir/synthea", "directory of Synthea transaction bundles (*.json); the 20 bundles of the peer figures are the shared data set's fhir/synthea, not in a clone")
	peer := fs.String("peer", "", "base URL of a FHIR server to load the same bundles into, in alternating rounds")
	rounds := fs.Int("rounds", 3, "rounds per server")
	peerPID := fs.Int("peer-pid", 0, "the peer's process ID (medplum.sh prints it): its CPU time per round from /proc, for entries per CPU-second on both sides")
	residents := fs.Int("residents", 2000, "residents of the demo county made in an empty database")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the rounds to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dbSet := false
	fs.Visit(func(f *flag.Flag) { dbSet = dbSet || f.Name == "db" })
	if *rounds < 1 {
		return &exitError{2, "bench fhir-ingest: --rounds ≥ 1"}
	}
	files, err := ingestFiles(*dir)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if !dbSet {
		tmp, err := os.MkdirTemp("", "countycare-bench-fhir-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		c.db, c.keyFile = "sqlite://"+filepath.Join(tmp, "bench.db"), filepath.Join(tmp, "audit.key")
	}
	st, key, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	res, err := st.Institutions(ctx)
	if err != nil {
		return err
	}
	if len(res) == 0 {
		if _, err := demo.Generate(ctx, st, demo.Config{Residents: *residents}, log); err != nil {
			return err
		}
	}
	aj, err := c.auditJournalFor("", "batch", log) // as serve: read rows journaled beside an SQLite database
	if err != nil {
		return err
	}
	a, err := newApp(st, key, log, account.DefaultConfig(), web.Config{}, points.DefaultRules(), referral.DefaultConfig(), nil, aj)
	if err != nil {
		return err
	}
	defer a.close(context.Background())
	base, stop, err := serveLoopback(a.web.Handler())
	if err != nil {
		return err
	}
	defer stop()
	accs, err := st.Accounts(ctx, 100)
	if err != nil {
		return err
	}
	vd := ""
	for _, x := range accs {
		if x.Role == care.RoleVillageDoctor && vd == "" {
			vd = x.Username
		}
	}
	if vd == "" {
		return fmt.Errorf("bench fhir-ingest needs a demo database (a village doctor's login)")
	}
	stopProfile, err := cpuProfile(*cpuprofile)
	if err != nil {
		return err
	}
	defer stopProfile()
	cl, err := login(base, vd)
	if err != nil {
		return err
	}
	csrf, err := cl.csrf()
	if err != nil {
		return err
	}
	total := 0
	for _, f := range files {
		total += f.entries
	}
	fmt.Fprintf(stdout, "bench fhir-ingest: %d bundles, %d entries, %s; countycare on %s (%s)\n", len(files), total, loadAverage(), st.Redacted(), st.Dialect())
	var ours, theirs, oursCPU, theirsCPU []float64
	// Every round's bodies before the first round: the copies are the
	// client's work, and their garbage would be collected inside rounds.
	nonce := strconv.FormatInt(time.Now().UnixNano(), 36)
	roundBodies := make([][][]byte, *rounds)
	for r := range roundBodies {
		roundBodies[r] = make([][]byte, len(files))
		for i, f := range files {
			b := f.body
			for _, v := range f.patient {
				b = bytes.ReplaceAll(b, []byte(`"`+v+`"`), []byte(`"`+v+"-"+nonce+strconv.Itoa(r)+`"`))
			}
			roundBodies[r][i] = b
		}
	}
	runtime.GC()
	for r := 0; r < *rounds; r++ {
		bodies := roundBodies[r]
		// CPU of this process (server and its client) over the round.
		c0 := processCPU()
		rate, held, err := ingestRound(base+"/fhir", files, bodies, map[string]string{"X-CSRF-Token": csrf}, cl.hc)
		if err != nil {
			return fmt.Errorf("countycare round %d: %w", r+1, err)
		}
		cpu := processCPU() - c0
		ours = append(ours, rate)
		perCPU := float64(total) / cpu.Seconds()
		oursCPU = append(oursCPU, perCPU)
		fmt.Fprintf(stdout, "  round %d countycare: %.0f entries/s, %.0f entries per CPU-second (%d records held)\n", r+1, rate, perCPU, held)
		if *peer != "" {
			p0 := procCPU(*peerPID)
			orig := make([][]byte, len(files))
			for i, f := range files {
				orig[i] = f.body
			}
			rate, _, err := ingestRound(strings.TrimRight(*peer, "/")+"/", files, orig, nil, &http.Client{Timeout: 5 * time.Minute})
			if err != nil {
				return fmt.Errorf("peer round %d: %w", r+1, err)
			}
			theirs = append(theirs, rate)
			line := fmt.Sprintf("  round %d peer:       %.0f entries/s", r+1, rate)
			if *peerPID > 0 {
				perCPU := float64(total) / (procCPU(*peerPID) - p0).Seconds()
				theirsCPU = append(theirsCPU, perCPU)
				line += fmt.Sprintf(", %.0f entries per CPU-second", perCPU)
			}
			fmt.Fprintln(stdout, line)
		}
	}
	mo := median(ours)
	fmt.Fprintf(stdout, "countycare: median %.0f entries/s, %.0f per CPU-second, over %d rounds\n", mo, median(oursCPU), len(ours))
	if len(theirs) > 0 {
		mt := median(theirs)
		fmt.Fprintf(stdout, "peer %s: median %.0f entries/s; ratio %.1f× (%s at the end)\n", *peer, mt, mo/mt, loadAverage())
	}
	if len(theirsCPU) > 0 {
		fmt.Fprintf(stdout, "per CPU-second: peer median %.0f; ratio %.1f×\n", median(theirsCPU), median(oursCPU)/median(theirsCPU))
	}
	return a.audit.Flush(ctx)
}

// ingestFiles reads the bundles of dir, the hospital and practitioner
// files first (as the peer script).
func ingestFiles(dir string) ([]ingestFile, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(names) == 0 {
		return nil, fmt.Errorf("bench fhir-ingest: no *.json bundles in %s", dir)
	}
	first := func(n string) bool {
		b := filepath.Base(n)
		return strings.HasPrefix(b, "hospitalInformation") || strings.HasPrefix(b, "practitionerInformation")
	}
	sort.SliceStable(names, func(i, j int) bool { return first(names[i]) && !first(names[j]) })
	var out []ingestFile
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			return nil, err
		}
		var bundle struct {
			Entry []struct {
				Resource struct {
					ResourceType string
					Identifier   []struct{ Value string }
				}
			}
		}
		if err := json.Unmarshal(b, &bundle); err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		f := ingestFile{name: filepath.Base(n), body: b, entries: len(bundle.Entry)}
		for _, e := range bundle.Entry {
			if e.Resource.ResourceType == "Patient" {
				for _, id := range e.Resource.Identifier {
					f.patient = append(f.patient, id.Value)
				}
			}
		}
		out = append(out, f)
	}
	return out, nil
}

// ingestRound posts every file to url and returns the entries of the
// accepted bundles per second inside the requests, and how many entries
// were answered 201 (held as new records).
func ingestRound(url string, files []ingestFile, bodies [][]byte, hdr map[string]string, hc *http.Client) (float64, int, error) {
	var inside time.Duration
	accepted, held := 0, 0
	for i, f := range files {
		b := bodies[i]
		req, _ := http.NewRequest("POST", url, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/fhir+json")
		req.Header.Set("Accept", "application/fhir+json")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		t0 := time.Now()
		resp, err := hc.Do(req)
		if err != nil {
			return 0, 0, err
		}
		out, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		inside += time.Since(t0)
		if err != nil {
			return 0, 0, err
		}
		if resp.StatusCode/100 != 2 {
			return 0, 0, fmt.Errorf("%s: %s %.300s", f.name, resp.Status, out)
		}
		var tr struct {
			Entry []struct{ Response struct{ Status string } }
		}
		json.Unmarshal(out, &tr)
		for _, e := range tr.Entry {
			if strings.HasPrefix(e.Response.Status, "2") {
				accepted++
			}
			if strings.HasPrefix(e.Response.Status, "201") {
				held++
			}
		}
	}
	return float64(accepted) / inside.Seconds(), held, nil
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// procCPU is the CPU time (user and system) process pid has used, from
// /proc/PID/stat (clock ticks of 10 ms); 0 if it cannot be read.
func procCPU(pid int) time.Duration {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// Fields after the command (which may hold spaces) in parentheses.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+s) * 10 * time.Millisecond
}

// cpuProfile starts a CPU profile into path ("": none) and returns what
// stops it and closes the file.
func cpuProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
