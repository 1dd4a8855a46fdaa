package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"countycare/account"
	"countycare/audit"
	"countycare/bulkdata"
	"countycare/care"
	"countycare/fhir"
	"countycare/points"
	"countycare/referral"
	"countycare/smart"
	"countycare/web"
)

// cmdBenchFHIRExport measures a system-level FHIR Bulk Data $export of
// the whole county end to end (issue 12: ≥ 50,000 resources/s, RSS growth
// ≤ 100 MB): a SMART Backend Services client signs in at the token
// endpoint, kicks the export off, the export duty writes the NDJSON files
// (as the lease holder would), and the client polls the status and
// downloads every file; resources/s is the resources downloaded over the
// time from kick-off to the last byte. RSS is sampled every 20 ms.
func cmdBenchFHIRExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newFlags("bench fhir-export", "Time a FHIR $export of a demo county (system level, every type the server exports) end to end,\n"+
		"through the token endpoint, the kick-off, the export duty, status polling and the downloads; report resources/s and RSS growth.\n"+
		"The 1 M-resident figure: countycare demo --db sqlite:///tmp/x1m.db --residents 1000000, then\n"+
		"countycare bench fhir-export --db sqlite:///tmp/x1m.db", stderr)
	c.register(fs)
	types := fs.String("type", "", "_type of the kick-off (default: every type)")
	runs := fs.Int("runs", 2, "exports, one after the other: the first fills the database's page caches (bounded), the later ones show the growth that is the export's own")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the exports to this file")
	memprofile := fs.String("memprofile", "", "write a heap profile (allocations of the first export, live heap at its end) to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := c.logger(io.Discard)
	st, key, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	a, err := newApp(st, key, log, account.DefaultConfig(), web.Config{}, points.DefaultRules(), referral.DefaultConfig(), nil)
	if err != nil {
		return err
	}
	defer a.close(context.Background())
	base, stop, err := serveLoopback(a.web.Handler())
	if err != nil {
		return err
	}
	defer stop()
	insts, err := st.Institutions(ctx)
	if err != nil || len(insts) == 0 {
		return fmt.Errorf("bench fhir-export needs a demo database (countycare demo --db … --residents N)")
	}
	county := insts[0].CountyCode
	var residents int
	if counts, err := st.ResidentCounts(ctx, county, care.Today(time.Now())); err == nil {
		for _, c := range counts {
			residents += c.Total
		}
	}
	// A county-wide client with a fresh ES384 key, registered as an
	// administrator would (straight into the store: the bench measures
	// the export, not the page).
	k, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	jwks, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &k.PublicKey, KeyID: "bench", Algorithm: "ES384", Use: "sig"}}})
	keys, err := smart.ParseKeys(string(jwks))
	if err != nil {
		return err
	}
	clientID := "bench-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	cl := &smart.Client{ClientID: clientID, Name: "bench", CountyCode: county, Scopes: []string{"system/*.read"}, JWKS: keys, Active: true,
		CreatedAt: time.Now()}
	if err := st.CreateSystemClient(ctx, cl, audit.Event{Username: "cli:bench-fhir-export", Role: care.RoleAdmin,
		Action: smart.ActClientRegister, Outcome: audit.OutcomeOK, CountyCode: county, Detail: clientID}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "countycare bench fhir-export: %s, %d active residents, %s\n", st.Redacted(), residents, loadAverage())

	stopProfile, err := cpuProfile(*cpuprofile)
	if err != nil {
		return err
	}
	defer stopProfile()
	for i := 1; i <= *runs; i++ {
		fmt.Fprintf(stdout, "run %d (%s):\n", i, loadAverage())
		if err := benchExportRun(ctx, a, base, clientID, k, *types, stdout); err != nil {
			return err
		}
		if i == 1 && *memprofile != "" {
			if err := writeHeapProfile(*memprofile); err != nil {
				return err
			}
		}
	}
	return nil
}

// benchExportRun is one export, from the token to the last file downloaded.
func benchExportRun(ctx context.Context, a *app, base, clientID string, k *ecdsa.PrivateKey, types string, stdout io.Writer) error {
	rss0 := rssNow()
	var peakAnon, peakFile, peakHeap atomic.Int64
	peakAnon.Store(rss0.anon)
	peakFile.Store(rss0.file)
	cpu0 := processCPU()
	heap0 := goHeap()
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				r := rssNow()
				if r.anon > peakAnon.Load() {
					peakAnon.Store(r.anon)
				}
				if r.file > peakFile.Load() {
					peakFile.Store(r.file)
				}
				if h := goHeap(); h > peakHeap.Load() {
					peakHeap.Store(h)
				}
			}
		}
	}()
	start := time.Now()
	tok, err := benchToken(base, clientID, k)
	if err != nil {
		return err
	}
	kick := base + "/fhir/$export"
	if types != "" {
		kick += "?_type=" + url.QueryEscape(types)
	}
	// do is benchDo with the token renewed on a 401, as a client does when
	// its access token expires during a long export.
	do := func(method, u string, hdr map[string]string) (*http.Response, error) {
		resp, err := benchDo(method, u, tok, hdr)
		if err != nil || resp.StatusCode != http.StatusUnauthorized {
			return resp, err
		}
		resp.Body.Close()
		if tok, err = benchToken(base, clientID, k); err != nil {
			return nil, err
		}
		return benchDo(method, u, tok, hdr)
	}
	resp, err := do("GET", kick, map[string]string{"Prefer": "respond-async"})
	if err != nil {
		return err
	}
	resp.Body.Close()
	loc := resp.Header.Get("Content-Location")
	if resp.StatusCode != 202 || loc == "" {
		return fmt.Errorf("bench fhir-export: kick-off answered %s", resp.Status)
	}
	// The lease holder's duty, in process (serve runs it every few seconds).
	dutyErr := make(chan error, 1)
	go func() { _, err := a.fhir.RunExports(ctx, time.Hour); dutyErr <- err }()
	var m fhir.Manifest
	for {
		resp, err := do("GET", loc, nil)
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 {
			if err := json.Unmarshal(b, &m); err != nil {
				return err
			}
			break
		}
		if resp.StatusCode != 202 {
			return fmt.Errorf("bench fhir-export: status answered %s: %s", resp.Status, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := <-dutyErr; err != nil {
		return err
	}
	written := time.Since(start)
	counts := map[string]int64{}
	var total, size int64
	for _, o := range m.Output {
		resp, err := do("GET", o.URL, nil)
		if err != nil {
			return err
		}
		n, lines, err := countLines(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if lines != o.Count {
			return fmt.Errorf("bench fhir-export: %s has %d lines, the manifest says %d", o.URL, lines, o.Count)
		}
		counts[o.Type] += lines
		total += lines
		size += n
	}
	elapsed := time.Since(start)
	cpu := processCPU() - cpu0
	close(done)
	// The client is done with the files: DELETE them now (as a client
	// may) rather than after the expiry, so that runs on a county's copy
	// do not pile up the county's size in export files.
	if resp, err := do("DELETE", loc, nil); err != nil {
		return err
	} else if resp.Body.Close(); resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("bench fhir-export: DELETE of the export answered %s", resp.Status)
	}
	var parts []string
	for _, t := range bulkdata.Types {
		parts = append(parts, fmt.Sprintf("%s %d", t, counts[t]))
	}
	fmt.Fprintf(stdout, "  %s in %d files, %.1f MB\n", strings.Join(parts, ", "), len(m.Output), float64(size)/1e6)
	fmt.Fprintf(stdout, "  files written in %s, downloaded by %s: %.0f resources/s end to end\n",
		written.Round(time.Millisecond), elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds())
	fmt.Fprintf(stdout, "  CPU %s (server and client in this process): %.0f resources per CPU-second\n", cpu.Round(time.Millisecond), float64(total)/cpu.Seconds())
	fmt.Fprintf(stdout, "  RSS anonymous %.0f MB before, peak %.0f MB: growth %.0f MB; file-backed (database pages mapped) %.0f → %.0f MB\n",
		float64(rss0.anon)/1e6, float64(peakAnon.Load())/1e6, float64(peakAnon.Load()-rss0.anon)/1e6, float64(rss0.file)/1e6, float64(peakFile.Load())/1e6)
	fmt.Fprintf(stdout, "  of which the Go heap (live and garbage) %.0f → peak %.0f MB; the rest, on SQLite, is its page caches (bounded: cache_size per connection)\n",
		float64(heap0)/1e6, float64(peakHeap.Load())/1e6)
	return nil
}

// writeHeapProfile writes the heap profile (go tool pprof -sample_index=alloc_space
// shows where the export allocated).
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// benchToken signs an assertion and exchanges it for an access token.
func benchToken(base, clientID string, k *ecdsa.PrivateKey) (string, error) {
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES384, Key: k}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "bench"))
	if err != nil {
		return "", err
	}
	raw, err := jwt.Signed(sig).Claims(jwt.Claims{Issuer: clientID, Subject: clientID, Audience: jwt.Audience{base + "/fhir/auth/token"},
		Expiry: jwt.NewNumericDate(time.Now().Add(4 * time.Minute)), ID: strconv.FormatInt(time.Now().UnixNano(), 36)}).Serialize()
	if err != nil {
		return "", err
	}
	resp, err := http.PostForm(base+"/fhir/auth/token", url.Values{"grant_type": {"client_credentials"},
		"client_assertion_type": {smart.AssertionType}, "client_assertion": {raw}, "scope": {"system/*.read"}})
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.AccessToken == "" {
		return "", fmt.Errorf("bench fhir-export: token endpoint answered %s", resp.Status)
	}
	return out.AccessToken, nil
}

func benchDo(method, u, tok string, hdr map[string]string) (*http.Response, error) {
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	return http.DefaultClient.Do(req)
}

// countLines reads r to the end: its bytes and newlines.
func countLines(r io.Reader) (n, lines int64, err error) {
	buf := make([]byte, 256<<10)
	for {
		m, err := r.Read(buf)
		n += int64(m)
		lines += int64(bytes.Count(buf[:m], []byte{'\n'}))
		if err == io.EOF {
			return n, lines, nil
		} else if err != nil {
			return n, lines, err
		}
	}
}

// goHeap is the Go heap's in-use bytes (runtime/metrics: no stop of the world).
func goHeap() int64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64() + s[1].Value.Uint64())
}

// rss is the process's resident memory (Linux /proc/self/status; zero
// elsewhere): anonymous (the heap, stacks: what the export itself holds)
// and file-backed (on SQLite, the database file pages its mmap touched —
// the OS page cache, shared and reclaimable, growing with what is read).
type rss struct{ anon, file int64 }

func rssNow() rss {
	var r rss
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return r
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "RssAnon:":
			r.anon = kb << 10
		case "RssFile:", "RssShmem:":
			r.file += kb << 10
		}
	}
	return r
}
