package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"countycare/account"
	"countycare/audit"
	"countycare/care"
	"countycare/demo"
	"countycare/org"
	"countycare/points"
	"countycare/referral"
	"countycare/resident"
	"countycare/store"
	"countycare/web"
)

func describeAuditJournal(aj auditJournal) string {
	if aj.path == "" {
		return "no journal: each read waits for its row's database commit (group commit)"
	}
	return "journal " + aj.path + ", --audit-sync " + aj.mode.String()
}

// discardAudit is the recorder of the bench's comparison server only: it
// measures what a read costs without its audit row. serve never uses it.
type discardAudit struct{}

func (discardAudit) Record(context.Context, audit.Event) {}

func webConfigQuiet() web.Config { return web.Config{} }

func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "ecg" {
		return cmdBenchECG(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "dicom" {
		return cmdBenchDICOM(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "dicomweb-peer" {
		return cmdBenchDICOMwebPeer(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "dicomweb" {
		return cmdBenchDICOMweb(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "rx" {
		return cmdBenchRx(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "replay" {
		return cmdBenchReplay(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "backup" {
		return cmdBenchBackup(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "fhir-ingest" {
		return cmdBenchFHIRIngest(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "fhir-export" {
		return cmdBenchFHIRExport(ctx, args[1:], stdout, stderr)
	}
	var c common
	fs := newFlags("bench", "Measure the foundation's figures over HTTP on loopback against a demo database:\n"+
		"  lookup  resident lookup by ID number (GET /api/v1/residents?q=<ID number>)\n"+
		"  search  name / pinyin-initials search (GET /api/v1/residents?q=…), township and county scope\n"+
		"  audit   read and lookup latency with the audit trail (each row durable before the response: journaled, or committed without a journal) vs. without it, interleaved\n"+
		"  settle  POST /api/v1/settlements: settle new 10-line visits (writes to the database)\n"+
		"  consult a new consultation request to the specialist's browser with --streams event streams open;\n"+
		"          escalation lateness of --timers open consultations across a simulated restart (writes)\n"+
		"  chronic recompute every tier and the county's indicators (in process, dry run); record follow-ups\n"+
		"          (POST /api/v1/chronic/{id}/visits, writes) and read the village's indicators after each; a\n"+
		"          township's overdue list (GET /api/v1/chronic/overdue)\n"+
		"  dashboard the analyst's county dashboard (GET /dashboard): a view served from the (scope, period)\n"+
		"          cache, and a view that computes the period (cache emptied first), for the year to date and a month\n"+
		"  specimens --requests tubes ordered, scanned collected at the village, packed and handed over; the\n"+
		"          county lab's in-transit list (API and page) and its receipt scans (writes)\n"+
		"  mch     a township's overdue maternal visits and overdue child checks (each through its service, both\n"+
		"          over HTTP: GET /api/v1/mch/overdue, and the page GET /mch)\n"+
		"  screening a township's pending and overdue screening confirmations (through its service, over HTTP:\n"+
		"          GET /api/v1/screening/follow-ups, and the page GET /screening/follow-ups)\n"+
		"  elderly a township's 65+ roster (done/due/overdue, overdue first) and suspected cases through the service,\n"+
		"          and over HTTP (GET /api/v1/elderly/roster?status=overdue, the page GET /elderly)\n"+
		"  dashboard-records the records behind the dashboard's referral, critical-value, settlement and family figures\n"+
		"          (GET /dashboard/units/{id}/records, first page, year to date and last month, each at its heaviest unit;\n"+
		"          the year's bills at page 20; each year's list exported whole as CSV and XLSX), with the CPU a request\n"+
		"Latencies are measured by the client, per request, with keep-alive connections.\n"+
		"'countycare bench ecg --dir DIR' scores the QRS detector on WFDB records instead (see its --help);\n"+
		"countycare bench rx [flags] measures the prescription review engine in process (no database);\n"+
		"countycare bench dicom [--file F] times DICOM parse, render and PNG encode in process (see its --help);\n"+
		"countycare bench replay [flags] replays a county-year through the HTTP API (see its --help);\n"+
		"countycare bench fhir-ingest [--peer URL] loads Synthea bundles through POST /fhir against a FHIR peer (see its --help).", stderr)
	c.register(fs)
	what := fs.String("what", "lookup,search,audit", "comma-separated workloads")
	n := fs.Int("requests", 4000, "requests per workload (per scope for search)")
	conc := fs.Int("concurrency", 4, "concurrent clients")
	streams := fs.Int("streams", 500, "consult: connected clinicians (event streams)")
	timers := fs.Int("timers", 10000, "consult: open consultations with running deadlines")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the whole run (server and clients) to this file")
	memprofile := fs.String("memprofile", "", "write an allocation profile of the whole run to this file")
	auditJournalPath := fs.String("audit-journal", "", "as serve --audit-journal: the read audit journal (default <db file>.audit-journal beside an SQLite database; none for PostgreSQL)")
	auditSync := fs.String("audit-sync", "batch", "as serve --audit-sync: batch or always")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if *memprofile != "" {
		runtime.MemProfileRate = 64 << 10
		defer func() {
			if f, err := os.Create(*memprofile); err == nil {
				pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}
		}()
	}
	log := c.logger(io.Discard)
	st, key, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	aj, err := c.auditJournalFor(*auditJournalPath, *auditSync, log)
	if err != nil {
		return err
	}
	a, err := newApp(st, key, log, account.DefaultConfig(), web.Config{}, points.DefaultRules(), referral.DefaultConfig(), nil, aj)
	if err != nil {
		return err
	}
	defer a.close(context.Background())
	fmt.Fprintf(stdout, "audit: %s\n", describeAuditJournal(aj))
	base, stop, err := serveLoopback(a.web.Handler())
	if err != nil {
		return err
	}
	defer stop()

	accs, err := st.Accounts(ctx, 100)
	if err != nil {
		return err
	}
	user := map[care.Role]string{}
	for _, x := range accs {
		user[x.Role] = x.Username
	}
	if user[care.RoleTownshipDoctor] == "" || user[care.RoleInsuranceOfficer] == "" {
		return fmt.Errorf("bench needs a demo database (countycare demo --db … --residents N)")
	}
	county := ""
	if insts, err := st.Institutions(ctx); err == nil && len(insts) > 0 {
		county = insts[0].CountyCode
	}
	var total int
	if counts, err := st.ResidentCounts(ctx, county, care.Today(time.Now())); err == nil {
		for _, c := range counts {
			total += c.Total
		}
	}
	fmt.Fprintf(stdout, "countycare bench: %s, %d active residents, %d requests per workload, %d clients, %s\n", st.Redacted(), total, *n, *conc, loadAverage())

	// Keys: residents the county-wide insurance officer may see (everyone).
	sample, err := st.SampleResidents(ctx, county, 2000)
	if err != nil {
		return err
	}
	var ids, names, initials []string
	for _, r := range sample {
		if r.IDNumber != "" {
			ids = append(ids, string(r.IDNumber))
		}
		names = append(names, r.Name)
		toks := resident.SearchTokens(r.Name)
		for _, t := range toks {
			if len(t) == len([]rune(r.Name)) && t[0] < 0x80 { // the initials token
				initials = append(initials, t)
				break
			}
		}
	}
	for _, w := range strings.Split(*what, ",") {
		switch strings.TrimSpace(w) {
		case "lookup":
			cl, err := login(base, user[care.RoleInsuranceOfficer])
			if err != nil {
				return err
			}
			res := runLoad(*n, *conc, func(i int) error {
				return cl.get("/api/v1/residents?q=" + ids[i%len(ids)])
			})
			report(stdout, "lookup by ID number (county scope, 1 result)", res)
		case "search":
			for _, who := range []care.Role{care.RoleTownshipDoctor, care.RoleInsuranceOfficer} {
				cl, err := login(base, user[who])
				if err != nil {
					return err
				}
				res := runLoad(*n, *conc, func(i int) error {
					q := initials[i%len(initials)]
					if i%2 == 1 {
						q = names[i%len(names)]
					}
					return cl.get("/api/v1/residents?q=" + url.QueryEscape(q))
				})
				report(stdout, "name / pinyin-initials search as "+string(who), res)
			}
		case "audit":
			// Same store, same handler code; the only difference is the recorder.
			quiet, err := web.New(web.Config{}, web.Deps{Residents: &resident.Service{Repo: st, Orgs: a.orgs, Audit: discardAudit{}, Now: time.Now},
				Orgs: a.orgs, Accounts: a.accounts, Store: st, Audit: discardAudit{}, AuditKey: key, Log: log, Now: time.Now})
			if err != nil {
				return err
			}
			qbase, qstop, err := serveLoopback(quiet.Handler())
			if err != nil {
				return err
			}
			ca, err := login(base, user[care.RoleInsuranceOfficer])
			if err != nil {
				qstop()
				return err
			}
			cq, err := login(qbase, user[care.RoleInsuranceOfficer])
			if err != nil {
				qstop()
				return err
			}
			// Rounds in ABBA order cancel drift (caches warming, the
			// machine's other load); the overhead is the median of the
			// rounds' ratios, robust to a noisy round. Each request of the
			// real server waits for its audit row to be durable before its
			// response is sent: written to the audit journal (serve's
			// default with SQLite) or committed to the database (group
			// commit; PostgreSQL without --audit-journal).
			compare := func(label string, path func(i, round int) string) error {
				var with, without []time.Duration
				var ratios []float64
				var cpuWith, cpuWithout time.Duration
				rounds := 20
				per := max(*n/rounds/2, 50)
				for r := 0; r < rounds; r++ {
					// A WITH block ends when its rows are in the database
					// (Flush, untimed): the background insert is charged to
					// WITH, in CPU time and in the latency of its own block,
					// rather than spilling into the next WITHOUT block.
					runA := func() loadResult {
						c0 := processCPU()
						l := runLoad(per, *conc, func(i int) error { return ca.get(path(i, r)) })
						a.audit.Flush(ctx)
						cpuWith += processCPU() - c0
						return l
					}
					runB := func() loadResult {
						c0 := processCPU()
						l := runLoad(per, *conc, func(i int) error { return cq.get(path(i, r)) })
						cpuWithout += processCPU() - c0
						return l
					}
					var x1, y1, y2, x2 loadResult
					if r%2 == 0 {
						x1, y1, y2, x2 = runA(), runB(), runB(), runA()
					} else {
						y1, x1, x2, y2 = runB(), runA(), runA(), runB()
					}
					for _, l := range []loadResult{x1, x2, y1, y2} {
						if l.err != nil {
							return fmt.Errorf("audit bench: %v", l.err)
						}
					}
					x := loadResult{lat: append(x1.lat, x2.lat...)}
					y := loadResult{lat: append(y1.lat, y2.lat...)}
					with = append(with, x.lat...)
					without = append(without, y.lat...)
					ratios = append(ratios, float64(x.mean())/float64(y.mean()))
				}
				fmt.Fprintln(stdout, auditLine(label, loadResult{lat: with}, loadResult{lat: without}, ratios))
				if cpuWithout > 0 {
					pw, po := cpuWith/time.Duration(len(with)), cpuWithout/time.Duration(len(without))
					fmt.Fprintf(stdout, "%-13s CPU of the process (server, clients, audit loops) per request: WITH %s | WITHOUT %s | %+.1f%% (+%s)\n",
						"", pw.Round(100*time.Nanosecond), po.Round(100*time.Nanosecond), 100*(float64(pw)/float64(po)-1), (pw - po).Round(100*time.Nanosecond))
				}
				return nil
			}
			fmt.Fprintf(stdout, "audit overhead, %d ABBA rounds of %d requests a side, %d clients, %s; overhead = mean latency WITH / WITHOUT - 1 per round:\n",
				20, 2*max(*n/20/2, 50), *conc, loadAverage())
			err = compare("resident read", func(i, r int) string {
				return "/api/v1/residents/" + strconv.FormatInt(sample[(i+r*97)%len(sample)].ID, 10)
			})
			if err == nil {
				err = compare("lookup by ID", func(i, r int) string {
					return "/api/v1/residents?q=" + ids[(i+r*97)%len(ids)]
				})
			}
			qstop()
			a.audit.Flush(ctx)
			if err != nil {
				return err
			}
		case "settle":
			cl, err := login(base, user[care.RoleInsuranceOfficer])
			if err != nil {
				return err
			}
			hosp := countyHospital(ctx, st)
			csrf, err := cl.csrf()
			if err != nil {
				return err
			}
			nonce := strconv.FormatInt(time.Now().UnixNano(), 36)
			today := care.Today(time.Now()).String()
			res := runLoad(*n, *conc, func(i int) error {
				return postSettlement(cl, csrf, sample[(i*7919)%len(sample)].ID, hosp, nonce, today, i)
			})
			report(stdout, "settle a 10-line visit over HTTP (one transaction, accumulators, audit row)", res)
		case "consult":
			if err := benchConsult(ctx, stdout, a, base, user, county, *n, *streams, *timers); err != nil {
				return err
			}
		case "dashboard":
			if err := benchDashboard(stdout, a, base, user, *n, *conc); err != nil {
				return err
			}
		case "dashboard-records":
			if err := benchDashboardRecords(stdout, a, base, user, *n, *conc); err != nil {
				return err
			}
		case "chronic":
			if err := benchChronic(ctx, stdout, a, base, user, county, *n, *conc); err != nil {
				return err
			}
		case "fhir":
			if err := benchFHIR(stdout, base, user, ids, names, *n, *conc); err != nil {
				return err
			}
		case "mch":
			if err := benchMCH(ctx, stdout, a, base, user, county, *n, *conc); err != nil {
				return err
			}
		case "screening":
			if err := benchScreening(ctx, stdout, a, base, user, county, *n, *conc); err != nil {
				return err
			}
		case "elderly":
			if err := benchElderly(ctx, stdout, a, base, user, county, *n, *conc); err != nil {
				return err
			}
		case "specimens":
			if err := benchSpecimens(ctx, stdout, a, base, user, labSignIn(ctx, a), county, *n, *conc); err != nil {
				return err
			}
		default:
			return fmt.Errorf("unknown workload %q", w)
		}
	}
	return nil
}

// countyHospital is the ID of the first county hospital (0 if none).
func countyHospital(ctx context.Context, st *store.Store) int64 {
	if insts, err := st.Institutions(ctx); err == nil {
		for _, in := range insts {
			if in.Kind == org.KindCountyHospital {
				return in.ID
			}
		}
	}
	return 0
}

// postSettlement settles the i-th generated 10-line visit of resident at
// hospital hosp over HTTP (POST /api/v1/settlements); nonce makes the
// visit IDs and idempotency keys of one run unique.
func postSettlement(cl *client, csrf string, residentID, hosp int64, nonce, today string, i int) error {
	lines := make([]map[string]string, 10)
	for j := range lines {
		lines[j] = map[string]string{"code": fmt.Sprintf("X%02d", j), "name": "item", "class": []string{"drug", "exam", "material", "treatment"}[j%4],
			"category": []string{"A", "A", "B", "C"}[j%4], "amount": fmt.Sprintf("%d.%02d", 50+(i*31+j*97)%900, j)}
	}
	body, _ := json.Marshal(map[string]any{"resident_id": residentID, "institution_id": hosp, "visit_id": "B" + nonce + "-" + strconv.Itoa(i),
		"date": today, "visit_type": []string{"inpatient", "outpatient"}[i%2], "lines": lines})
	return cl.post("/api/v1/settlements", body, map[string]string{"X-CSRF-Token": csrf, "Idempotency-Key": nonce + strconv.Itoa(i)}, http.StatusCreated)
}

// auditLine is the audit workload's result on one line: the latencies
// with the durable audit row and without, and the overhead as the median
// (and quartiles) of the rounds' ratios of mean latency.
func auditLine(label string, with, without loadResult, ratios []float64) string {
	r := append([]float64(nil), ratios...)
	sort.Float64s(r)
	q := func(p float64) float64 { return 100 * (r[int(float64(len(r)-1)*p)] - 1) }
	lat := func(l loadResult) string {
		return fmt.Sprintf("p50 %s p99 %s mean %s", l.pct(50).Round(time.Microsecond), l.pct(99).Round(time.Microsecond), l.mean().Round(time.Microsecond))
	}
	return fmt.Sprintf("%-13s WITH %s | WITHOUT %s | overhead median %+.1f%% (quartiles %+.1f%% … %+.1f%%)",
		label+":", lat(with), lat(without), q(0.5), q(0.25), q(0.75))
}

// loadAverage is the machine's load as uptime shows it ("load average 1.02
// 0.87 0.91"), or "" where /proc/loadavg cannot be read.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return "load average " + strings.Join(f[:3], " ")
	}
	return "load average unknown"
}

func serveLoopback(h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), func() { srv.Close() }, nil
}

type client struct {
	base string
	hc   *http.Client
}

func login(base, username string) (*client, error) {
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 30 * time.Second}
	body, _ := json.Marshal(map[string]string{"username": username, "password": demo.DefaultPassword})
	resp, err := hc.Post(base+"/api/v1/session", "application/json", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return nil, fmt.Errorf("login %s: %s %s", username, resp.Status, b)
	}
	return &client{base: base, hc: hc}, nil
}

// csrf returns the session's CSRF token (GET /api/v1/me).
func (c *client) csrf() (string, error) {
	resp, err := c.hc.Get(c.base + "/api/v1/me")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var me struct {
		CSRF string `json:"csrf_token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&me)
	return me.CSRF, err
}

func (c *client) post(path string, body []byte, hdr map[string]string, want int) error {
	req, _ := http.NewRequest("POST", c.base+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		return fmt.Errorf("POST %s: %s %s", path, resp.Status, b)
	}
	return nil
}

func (c *client) get(path string) error {
	resp, err := c.hc.Get(c.base + path)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return err
}

type loadResult struct {
	lat  []time.Duration
	wall time.Duration
	err  error
}

func runLoad(n, conc int, f func(i int) error) loadResult {
	var mu sync.Mutex
	var res loadResult
	var wg sync.WaitGroup
	next := make(chan int, n)
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	start := time.Now()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, n/conc+1)
			for i := range next {
				t := time.Now()
				err := f(i)
				local = append(local, time.Since(t))
				if err != nil {
					mu.Lock()
					if res.err == nil {
						res.err = err
					}
					mu.Unlock()
				}
			}
			mu.Lock()
			res.lat = append(res.lat, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.wall = time.Since(start)
	return res
}

func (r loadResult) pct(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), r.lat...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(float64(len(s)-1) * p / 100)
	return s[i]
}

func (r loadResult) mean() time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	var t time.Duration
	for _, d := range r.lat {
		t += d
	}
	return t / time.Duration(len(r.lat))
}

func report(w io.Writer, name string, r loadResult) {
	if r.err != nil {
		fmt.Fprintf(w, "%s: ERROR %v\n", name, r.err)
		return
	}
	rate := ""
	if r.wall > 0 {
		rate = fmt.Sprintf(", %.0f req/s", float64(len(r.lat))/r.wall.Seconds())
	}
	fmt.Fprintf(w, "%s: n=%d p50=%s p90=%s p99=%s max=%s mean=%s%s\n", name, len(r.lat),
		r.pct(50).Round(time.Microsecond), r.pct(90).Round(time.Microsecond), r.pct(99).Round(time.Microsecond), r.pct(100).Round(time.Microsecond), r.mean().Round(time.Microsecond), rate)
}
