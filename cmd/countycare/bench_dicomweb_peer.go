package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"countycare/account"
	"countycare/demo"
	"countycare/points"
	"countycare/referral"
	"countycare/web"
)

// cmdBenchDICOMwebPeer: countycare bench dicomweb-peer. The side-by-side of
// issue 16 in one command: the peers' bench-dicomweb.sh against Orthanc
// (their orthanc.sh) and against countycare, on the same files, in
// alternating rounds, each server started empty for its round; then the
// STOW-RS rate and WADO-RS p50/p99 of both and their ratios. The peers'
// scripts are not part of the repository: --peers names their directory,
// and the command says so when it is absent.
func cmdBenchDICOMwebPeer(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench dicomweb-peer", "Run the peers' bench-dicomweb.sh against Orthanc (orthanc.sh) and against countycare,\n"+
		"alternating, --rounds rounds each, every server empty at the start of its round, on the same files; print\n"+
		"STOW-RS instances/s and WADO-RS p50/p99 of both and their ratios. countycare serves in process on loopback\n"+
		"from a new database per round: a temporary SQLite file, or with --db postgres://… a new database created\n"+
		"beside that one (and dropped afterwards), each with a demo county of --residents residents and a device\n"+
		"credential of a village clinic whose resident is the files' Patient ID. Needs curl, jq, hey, dcmtk,\n"+
		"Orthanc and the DICOMweb plugin (see the peers' README).", stderr)
	var c common
	c.register(fs)
	peers := fs.String("peers", "", "directory of the peers' orthanc.sh and bench-dicomweb.sh (required; not part of the repository: make bench-dicomweb passes PEERS)")
	rounds := fs.Int("rounds", 2, "rounds per server, alternating (countycare first in the first round)")
	residents := fs.Int("residents", 500, "residents of each round's demo county")
	port := fs.Int("orthanc-port", 8142, "Orthanc's HTTP port (ORTHANC_PORT of orthanc.sh)")
	n := fs.Int("requests", 200, "requests per latency run (N of the script)")
	only := fs.String("only", "", "run only one side: orthanc or countycare")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of countycare's rounds to this file (one per round: FILE.0, FILE.1 …)")
	journal := fs.String("audit-journal", "", "as serve --audit-journal: the read audit journal (default: beside each round's SQLite file; none for PostgreSQL, whose reads then wait for the audit rows' commit)")
	work := fs.String("work", filepath.Join(os.TempDir(), "countycare-dicomweb-peer"), "where the script's rewritten copies of the files are kept between runs (one folder per Patient ID; delete it to rebuild)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dbSet := false
	fs.Visit(func(f *flag.Flag) { dbSet = dbSet || f.Name == "db" })
	if *rounds < 1 || *n < 1 {
		return &exitError{2, "bench dicomweb-peer: --rounds ≥ 1, --requests ≥ 1"}
	}
	if *peers == "" {
		return &exitError{2, "bench dicomweb-peer: --peers is required: the directory of the peers' orthanc.sh and bench-dicomweb.sh, which are not part of the repository"}
	}
	script := filepath.Join(*peers, "bench-dicomweb.sh")
	orthanc := filepath.Join(*peers, "orthanc.sh")
	for _, f := range []string{script, orthanc} {
		if _, err := os.Stat(f); err != nil {
			return &exitError{1, fmt.Sprintf("bench dicomweb-peer: %s is absent: the peers' scripts are not part of the repository; "+
				"give their directory with --peers (the shared peers folder of the project)", f)}
		}
	}
	tmp, err := os.MkdirTemp("", "countycare-dicomweb-peer-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	src := "sqlite://" + filepath.Join(tmp, "c.db")
	if dbSet {
		src = c.db
	}
	var cc, oc []peerFigures
	patid := "" // the demo resident the files are rewritten for, on both sides (byte-identical input)
	for r := 0; r < *rounds; r++ {
		order := []string{"countycare", "orthanc"}
		if r%2 == 1 {
			order = []string{"orthanc", "countycare"}
		}
		for _, side := range order {
			if *only != "" && side != *only {
				continue
			}
			var f peerFigures
			var err error
			if side == "orthanc" {
				f, err = orthancRound(ctx, orthanc, script, *port, *n, tmp, *work, patid, stdout, stderr)
				oc = append(oc, f)
			} else {
				f, patid, err = countycareRound(ctx, src, script, *residents, *n, tmp, *work, *journal, r, *cpuprofile, stdout, stderr)
				cc = append(cc, f)
			}
			if err != nil {
				return err
			}
		}
	}
	fmt.Fprintf(stdout, "\nside by side (%d rounds, alternating; load %s):\n", *rounds, loadAvg())
	fmt.Fprintf(stdout, "  %-28s %-24s %-24s %s\n", "measure", "Orthanc", "countycare", "ratio")
	for i := 0; i < *rounds && i < len(cc) && i < len(oc); i++ {
		o, k := oc[i], cc[i]
		fmt.Fprintf(stdout, "  round %d\n", i+1)
		fmt.Fprintf(stdout, "  %-28s %-24s %-24s %.2f×\n", "STOW-RS instances/s", fmt.Sprintf("%.1f", o.stow), fmt.Sprintf("%.1f", k.stow), k.stow/o.stow)
		for j := range k.wado {
			if j >= len(o.wado) {
				break
			}
			fmt.Fprintf(stdout, "  %-28s %-24s %-24s %.2f× (p50 %.2f×)\n", "WADO-RS "+k.wado[j].label+" p50/p99",
				fmt.Sprintf("%.1f / %.1f ms", o.wado[j].p50, o.wado[j].p99), fmt.Sprintf("%.1f / %.1f ms", k.wado[j].p50, k.wado[j].p99),
				k.wado[j].p99/o.wado[j].p99, k.wado[j].p50/o.wado[j].p50)
		}
	}
	return nil
}

// peerFigures are what one run of bench-dicomweb.sh measured.
type peerFigures struct {
	stow float64 // instances per second
	wado []latFigure
}

type latFigure struct {
	label    string
	p50, p99 float64 // ms
}

var (
	stowLine = regexp.MustCompile(`\(a\) STOW-RS .*stored (\d+), failed (\d+).* -> ([0-9.]+) instances/s`)
	latLine  = regexp.MustCompile(`^\s+(\S+) \(\d+ B\)\s+p50\s+([0-9.]+) ms\s+p99\s+([0-9.]+) ms`)
)

// runPeerScript runs bench-dicomweb.sh against base, echoing its output,
// and reads the STOW-RS rate and the WADO-RS latencies from it.
func runPeerScript(ctx context.Context, script, base string, env []string, stdout, stderr io.Writer) (peerFigures, error) {
	var f peerFigures
	cmd := exec.CommandContext(ctx, script, base)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout = io.MultiWriter(&out, stdout)
	cmd.Stderr = stderr
	if err := cmd.Run(); err != nil {
		return f, fmt.Errorf("bench dicomweb-peer: %s %s: %w", filepath.Base(script), base, err)
	}
	inWADO := false
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		line := sc.Text()
		if m := stowLine.FindStringSubmatch(line); m != nil {
			if m[2] != "0" {
				return f, fmt.Errorf("bench dicomweb-peer: %s refused %s instances", base, m[2])
			}
			f.stow, _ = strconv.ParseFloat(m[3], 64)
		}
		switch {
		case strings.HasPrefix(line, "(c) WADO-RS"):
			inWADO = true
		case strings.HasPrefix(line, "("):
			inWADO = false
		case inWADO:
			if m := latLine.FindStringSubmatch(line); m != nil {
				p50, _ := strconv.ParseFloat(m[2], 64)
				p99, _ := strconv.ParseFloat(m[3], 64)
				f.wado = append(f.wado, latFigure{m[1], p50, p99})
			}
		}
	}
	if f.stow == 0 || len(f.wado) == 0 {
		return f, fmt.Errorf("bench dicomweb-peer: no STOW-RS or WADO-RS figure in the output of %s", filepath.Base(script))
	}
	return f, nil
}

// orthancRound starts an empty Orthanc, runs the script against it, stops it
// and removes its data.
func orthancRound(ctx context.Context, orthanc, script string, port, n int, tmp, work, patid string, stdout, stderr io.Writer) (peerFigures, error) {
	dir, err := os.MkdirTemp(tmp, "orthanc-")
	if err != nil {
		return peerFigures{}, err
	}
	defer os.RemoveAll(dir)
	start := exec.CommandContext(ctx, orthanc)
	start.Env = append(os.Environ(), "ORTHANC_PORT="+strconv.Itoa(port), "ORTHANC_DIR="+dir)
	start.Stderr = io.Discard
	out, err := start.Output()
	if err != nil {
		return peerFigures{}, fmt.Errorf("bench dicomweb-peer: %s: %w", filepath.Base(orthanc), err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		return peerFigures{}, fmt.Errorf("bench dicomweb-peer: %s printed no PID: %q", filepath.Base(orthanc), out)
	}
	defer func() {
		if p, err := os.FindProcess(pid); err == nil {
			p.Kill()
			p.Wait()
		}
		time.Sleep(200 * time.Millisecond) // the port is free again for the next round
	}()
	fmt.Fprintf(stdout, "\n== Orthanc (pid %d, data %s)\n", pid, dir)
	return runPeerScript(ctx, script, fmt.Sprintf("http://127.0.0.1:%d/dicom-web", port),
		peerEnv(n, work, patid), stdout, stderr)
}

// countycareRound makes a new database with a demo county and a device
// credential, serves it on loopback and runs the script against it.
func countycareRound(ctx context.Context, src, script string, residents, n int, tmp, work, journal string, round int, cpuprofile string, stdout, stderr io.Writer) (peerFigures, string, error) {
	url, drop, err := freshTarget(ctx, src, tmp, round)
	if err != nil {
		return peerFigures{}, "", err
	}
	defer drop()
	c := common{db: url, keyFile: filepath.Join(tmp, "audit.key"), reconnectWait: 15 * time.Second}
	st, key, err := c.open(ctx)
	if err != nil {
		return peerFigures{}, "", err
	}
	defer st.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if _, err := demo.Generate(ctx, st, demo.Config{Residents: residents}, log); err != nil {
		return peerFigures{}, "", err
	}
	if journal != "" {
		journal = fmt.Sprintf("%s.%d", journal, round) // each round's database its own journal
	}
	aj, err := c.auditJournalFor(journal, "batch", log) // as serve
	if err != nil {
		return peerFigures{}, "", err
	}
	a, err := newApp(st, key, log, account.DefaultConfig(), web.Config{}, points.DefaultRules(), referral.DefaultConfig(), nil, aj)
	if err != nil {
		return peerFigures{}, "", err
	}
	defer a.close(context.Background())
	center, sample, admin, err := benchCounty(ctx, a, st, 1)
	if err != nil {
		return peerFigures{}, "", err
	}
	pusher := sample[0]
	gw, secret, err := a.dicomweb.CreateClient(ctx, admin, "bench-peer-gw", pusher.VillageID, center.ID)
	if err != nil {
		return peerFigures{}, "", err
	}
	base, stop, err := serveLoopback(a.web.Handler())
	if err != nil {
		return peerFigures{}, "", err
	}
	defer stop()
	if cpuprofile != "" {
		stopProf, err := startCPUProfile(fmt.Sprintf("%s.%d", cpuprofile, round))
		if err != nil {
			return peerFigures{}, "", err
		}
		defer stopProf()
	}
	fmt.Fprintf(stdout, "\n== countycare (%s, resident %s)\n", st.Redacted(), pusher.IDNumber)
	patid := string(pusher.IDNumber)
	f, err := runPeerScript(ctx, script, base+"/dicomweb", append(peerEnv(n, work, patid), "AUTH="+gw.Name+":"+secret), stdout, stderr)
	return f, patid, err
}

// peerEnv is the script's environment for both servers: the same copies
// of the files, rewritten for the same Patient ID (the script caches its
// copies in WORK without keying them by PATID, hence one WORK per ID).
func peerEnv(n int, work, patid string) []string {
	return []string{"N=" + strconv.Itoa(n), "PATID=" + patid, "WORK=" + filepath.Join(work, patid)}
}

func startCPUProfile(path string) (func(), error) {
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

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
