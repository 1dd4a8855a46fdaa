package web_test

import (
	"fmt"
	"strconv"
	"testing"

	"countycare/store"
)

// BenchmarkUpload50MB measures sending a 50 MiB DICOM instance on
// loopback (docs/benchmarks.md): in one multipart request from the
// imaging page (one-shot), as a resumable upload in the page's 4 MiB
// chunks (tus-4MiB), and cut at half and resumed (tus-cut-fin, tus-cut-rst:
// resent-B/op is what crossed the link twice). Each iteration stores a new
// instance through the same import path.
//
//	go test ./web/ -run '^$' -bench Upload50MB -benchtime 3x
func BenchmarkUpload50MB(b *testing.B) {
	e := newEnv(b, store.SQLite)
	f := newDWFixture(b, e)
	n := 0
	next := func() []byte {
		n++
		return bigDICOM(f.idNumber, f.name, fmt.Sprintf("1.2.826.0.1.3680043.8.498.77.50.%06d", n), 4096, 3200, 2)
	}
	size := int64(len(next()))
	path := "/residents/" + itoa(f.resident) + "/imaging"
	b.Run("one-shot", func(b *testing.B) {
		b.SetBytes(size)
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			body, ctype := multipartBody(map[string]string{"csrf": f.vd.csrf, "center_id": itoa(f.center)}, map[string][2]string{"files": {"ct.dcm", string(next())}})
			b.StartTimer()
			if r := f.vd.do("POST", path, ctype, body, nil); r.code != 200 {
				b.Fatalf("one-shot: %d", r.code)
			}
		}
	})
	b.Run("tus-4MiB", func(b *testing.B) {
		const chunk = 4 << 20
		b.SetBytes(size)
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			file := next()
			b.StartTimer()
			r := f.vd.tus("POST", "/api/v1/uploads", map[string]string{"Upload-Length": strconv.Itoa(len(file)),
				"Upload-Metadata": tusMeta("kind", "dicom", "resident_id", itoa(f.resident), "center_id", itoa(f.center), "filename", "ct.dcm")}, nil)
			loc := r.header.Get("Location")
			for off := 0; off < len(file); off += chunk {
				r = f.vd.tus("PATCH", loc, map[string]string{"Upload-Offset": strconv.Itoa(off)}, file[off:min(off+chunk, len(file))])
				if r.code != 204 {
					b.Fatalf("chunk at %d: %d %s", off, r.code, r.body)
				}
			}
			if r.header.Get("Upload-Result") == "" {
				b.Fatal("no result")
			}
		}
	})
	for _, reset := range []bool{false, true} {
		name := "tus-cut-fin"
		if reset {
			name = "tus-cut-rst"
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(size)
			var resent int64
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				file := next()
				b.StartTimer()
				r, _ := cutAndResume(b, e, f, file, reset)
				resent += r
			}
			b.ReportMetric(float64(resent)/float64(b.N), "resent-B/op")
		})
	}
}
