package fhir_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"runtime"
	"sort"
	"strconv"
	"syscall"
	"testing"
	"time"

	"countycare/care"
	"countycare/store"
)

// BenchmarkTransactionSynthea: issue 12's ingest figure on the CPU. The
// copied Synthea bundles (testdata/fhir/synthea) go through POST /fhir
// as transactions, as a village doctor, on SQLite: read and checked,
// every held record through its domain service, audited, committed (one
// op is one round of every bundle, its patients' identifiers made new).
// Reported per bundle entry: wall time (ns/entry), the process's CPU
// time (cpu-ns/entry: the server and its client, as bench fhir-ingest's
// entries per CPU-second; the figure to trust on a loaded machine) and
// heap allocations (allocs/entry, B/entry). Making each round's bodies
// is outside the timer.
func BenchmarkTransactionSynthea(b *testing.B) {
	e := newEnvOn(b, store.SQLite)
	vd := e.writer(care.RoleVillageDoctor)
	type file struct {
		name    string
		body    []byte
		entries int
		ids     []string // the Patient's identifier values
	}
	var files []file
	entries := 0
	for name, body := range synthea(b) {
		var in struct {
			Entry []struct {
				Resource struct {
					ResourceType string
					Identifier   []struct{ Value string }
				}
			}
		}
		if err := json.Unmarshal([]byte(body), &in); err != nil {
			b.Fatal(name, err)
		}
		f := file{name: name, body: []byte(body), entries: len(in.Entry)}
		for _, x := range in.Entry {
			if x.Resource.ResourceType == "Patient" {
				for _, id := range x.Resource.Identifier {
					f.ids = append(f.ids, id.Value)
				}
			}
		}
		files = append(files, f)
		entries += len(in.Entry)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].name < files[j].name })
	post := func(body []byte) (int, []byte) {
		req, _ := http.NewRequest("POST", e.ts.URL+"/fhir", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/fhir+json")
		req.Header.Set("X-CSRF-Token", vd.csrf)
		resp, err := vd.hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, out
	}
	bodies := make([][]byte, len(files))
	round := func(tag string) {
		for k, f := range files {
			body := f.body
			for _, v := range f.ids {
				body = bytes.ReplaceAll(body, []byte(`"`+v+`"`), []byte(`"`+v+"-"+tag+`"`))
			}
			bodies[k] = body
		}
	}
	// A round before the timer (statements prepared, caches warm), and
	// the county's garbage collected, so that the rounds timed pay for
	// their own work only.
	round("warm")
	for _, body := range bodies {
		if code, out := post(body); code != 200 {
			b.Fatalf("warm-up: %d %.400s", code, out)
		}
	}
	runtime.GC()
	var mallocs, bytesAlloc uint64
	var cpu time.Duration
	var ms runtime.MemStats
	b.ResetTimer()
	b.StopTimer()
	for i := 0; i < b.N; i++ {
		round("b" + strconv.Itoa(i))
		runtime.ReadMemStats(&ms)
		m0, b0, c0 := ms.Mallocs, ms.TotalAlloc, processCPU()
		b.StartTimer()
		for k, body := range bodies {
			code, out := post(body)
			if code != 200 {
				b.Fatalf("%s: %d %.400s", files[k].name, code, out)
			}
			if i == 0 && bytes.Count(out, []byte(`"201 Created"`)) == 0 {
				b.Fatalf("%s: nothing held: %.400s", files[k].name, out)
			}
		}
		b.StopTimer()
		cpu += processCPU() - c0
		runtime.ReadMemStats(&ms)
		mallocs += ms.Mallocs - m0
		bytesAlloc += ms.TotalAlloc - b0
	}
	n := float64(b.N * entries)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/entry")
	b.ReportMetric(float64(cpu.Nanoseconds())/n, "cpu-ns/entry")
	b.ReportMetric(float64(mallocs)/n, "allocs/entry")
	b.ReportMetric(float64(bytesAlloc)/n, "B/entry")
}

// processCPU is the user and system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
