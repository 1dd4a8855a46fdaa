package web_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"countycare/internal/testdb"
	"countycare/store"
)

// peerSet is the peers' bench-dicomweb.sh request: the files of
// testdata/dicom (the shared DICOM set) in one multipart/related request,
// but for tcia-6, which is deflated (dicom.Rewrite cannot give it new UIDs;
// the script uses dcmtk): nine files, 1.7 MB.
var peerSet = []string{"pydicom-CR1.dcm", "pydicom-CT_small.dcm", "pydicom-MR_small.dcm", "pydicom-SC_rgb_jpeg_dcmd.dcm", "pydicom-chrX1.dcm",
	"pydicom-examples_palette.dcm", "tcia-1.dcm", "tcia-3.dcm", "tcia-5.dcm"}

// peerBody is the STOW-RS body of copy i of the peer set, with new UIDs
// and the fixture's resident as patient.
func peerBody(t testing.TB, f *dwFixture, files [][]byte, i int) ([]byte, string) {
	parts := make([][]byte, len(files))
	for j, b := range files {
		parts[j] = relabel(t, b, f.idNumber, f.name, fmt.Sprintf("2.25.99%d.%d", i, j%4), fmt.Sprintf("2.25.99%d.%d.1", i, j),
			fmt.Sprintf("2.25.99%d.%d.1.1", i, j))
	}
	return stowBody(parts...)
}

// TestStowRefusalsInsideOneCommit: the instances of a STOW-RS request
// are committed together (issue 16's group commit), each under its own
// savepoint: a duplicate of a stored instance and a duplicate within the
// request, which only the database finds, are refused alone (0111) and
// the instance between them is stored and retrievable (202), on both
// databases.
func TestStowRefusalsInsideOneCommit(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d)
		f := newDWFixture(t, e)
		ct := sharedDICOM(t, "pydicom-CT_small.dcm")
		first := relabel(t, ct, f.idNumber, f.name, "2.25.4241", "2.25.4241.1", "2.25.4241.1.1")
		body, ctype := stowBody(first)
		if r := f.gw.do("POST", "/dicomweb/studies", ctype, body, ""); r.code != 200 {
			t.Fatalf("STOW: %d %s", r.code, r.body)
		}
		next := relabel(t, ct, f.idNumber, f.name, "2.25.4242", "2.25.4242.1", "2.25.4242.1.1")
		body, ctype = stowBody(first, next, next)
		r := f.gw.do("POST", "/dicomweb/studies", ctype, body, "")
		if r.code != 202 || strings.Count(r.body, `"Value":[273]`) != 2 || !strings.Contains(r.body, "/instances/2.25.4242.1.1") {
			t.Fatalf("duplicates inside one commit: %d %s", r.code, r.body)
		}
		if r := f.gw.do("GET", "/dicomweb/studies/2.25.4242/series/2.25.4242.1/instances/2.25.4242.1.1", "", nil, `multipart/related; type="application/dicom"`); r.code != 200 {
			t.Fatalf("the instance stored between two refusals: %d %s", r.code, r.body)
		}
	})
}

// BenchmarkStowPeerSet: STOW-RS of the peers' request (ten files,
// 1.7 MB) through the whole server, one request at a time, as
// bench-dicomweb.sh sends them; instances/s is the figure it reports.
// Profile it: go test ./web -run '^$' -bench StowPeerSet -cpuprofile /tmp/stow.prof
func BenchmarkStowPeerSet(b *testing.B) {
	eachDialectB(b, func(b *testing.B, d store.Dialect) {
		e := newEnv(b, d)
		f := newDWFixture(b, e)
		files := make([][]byte, len(peerSet))
		for i, n := range peerSet {
			files[i] = sharedDICOM(b, n)
		}
		bodies, ctypes := make([][]byte, b.N), make([]string, b.N)
		for i := range bodies {
			bodies[i], ctypes[i] = peerBody(b, f, files, i)
		}
		b.ResetTimer()
		cpu0 := cpuNow()
		for i := 0; i < b.N; i++ {
			if r := f.gw.do("POST", "/dicomweb/studies", ctypes[i], bodies[i], "application/dicom+json"); r.code != 200 {
				b.Fatalf("STOW: %d %.300s", r.code, r.body)
			}
		}
		n := float64(b.N * len(files))
		b.ReportMetric(n/b.Elapsed().Seconds(), "instances/s")
		// The process's CPU (server and client: this is one process) per
		// instance: what a loaded machine changes least.
		b.ReportMetric((cpuNow()-cpu0).Seconds()*1e3/n, "cpu-ms/instance")
	})
}

// BenchmarkWADOInstance: WADO-RS of one instance through the whole
// server (Basic credential, scope, audit row, read, multipart), one
// request at a time over keep-alive, as bench-dicomweb.sh retrieves it:
// the 39 KB CT (pydicom-CT_small) and the 1 MB enhanced CT (tcia-5).
// p50-ms and p99-ms are the percentiles of the requests' times, the
// figures the script compares with Orthanc's (issue 16); cpu-ms/op is
// the process's CPU time a retrieve (server and client), which the
// machine's load does not inflate.
// Reads are audited as serve audits them: through the journal on SQLite
// ("journal"); on PostgreSQL both without it (each read waits for its
// row's commit, serve's default) and with --audit-journal.
func BenchmarkWADOInstance(b *testing.B) {
	eachDialectB(b, func(b *testing.B, d store.Dialect) {
		for _, journal := range []bool{true, false} {
			if !journal && d == store.SQLite {
				continue
			}
			b.Run(map[bool]string{true: "journal", false: "commit"}[journal], func(b *testing.B) {
				benchWADO(b, newEnvWith(b, d, envOptions{journal: journal}))
			})
		}
	})
}

func benchWADO(b *testing.B, e *env) {
	f := newDWFixture(b, e)
	for i, name := range []string{"pydicom-CT_small.dcm", "tcia-5.dcm"} {
		study := fmt.Sprintf("2.25.7%d", i)
		body, ctype := stowBody(relabel(b, sharedDICOM(b, name), f.idNumber, f.name, study, study+".1", study+".1.1"))
		if r := f.gw.do("POST", "/dicomweb/studies", ctype, body, ""); r.code != 200 {
			b.Fatalf("STOW: %d %.300s", r.code, r.body)
		}
		u := e.ts.URL + "/dicomweb/studies/" + study + "/series/" + study + ".1/instances/" + study + ".1.1"
		b.Run(strings.TrimSuffix(name, ".dcm"), func(b *testing.B) {
			req, _ := http.NewRequest("GET", u, nil)
			req.Header.Set("Accept", `multipart/related; type="application/dicom"`)
			req.SetBasicAuth(f.gw.user, f.gw.pass)
			lat := make([]time.Duration, b.N)
			b.ReportAllocs()
			cpu0 := cpuNow()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat[i] = time.Since(t0)
				if resp.StatusCode != 200 {
					b.Fatalf("WADO: %d", resp.StatusCode)
				}
			}
			b.StopTimer()
			reportP99(b, lat, cpu0)
		})
	}
}

// eachDialectB runs fn as a sub-benchmark on every dialect of the tests.
func eachDialectB(b *testing.B, fn func(b *testing.B, d store.Dialect)) {
	for _, d := range testdb.Dialects {
		b.Run(string(d), func(b *testing.B) { fn(b, d) })
	}
}
