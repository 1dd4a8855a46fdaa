package web_test

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"testing"

	"countycare/internal/testdicom"
	"countycare/reading"
	"countycare/store"
)

// zeros reads as zero bytes without holding them.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// bigDICOM is testdicom.CT: a CT-like instance of about rows·cols·2·frames bytes.
var bigDICOM = testdicom.CT

// TestStowBoundedHeap: STOW-RS holds one part at a time, read into a
// buffer of its exact size (a part over 1 MiB is copied to a temporary
// file first) instead of io.ReadAll's growing copies (issue 18 §2). The
// heap grows by at most the largest part plus 32 MiB (the frame-0 preview
// check renders an 8-bit image of a frame, 12 MiB here, and its garbage
// waits for the collector): a 48 MiB instance, and 20 instances of
// 2.3 MiB in one request, which also allocate less than their own size in
// all (the parts are not copied). Before: 123 MiB for the 48 MiB part,
// 122 MiB for the 20 parts (6.1 MiB allocated per part).
func TestStowBoundedHeap(t *testing.T) {
	if testing.Short() {
		t.Skip("uploads 100 MB")
	}
	e := newEnv(t, store.SQLite)
	f := newDWFixture(t, e)
	const allowance = 32 << 20

	big := bigDICOM(f.idNumber, f.name, "1.2.826.0.1.3680043.8.498.77.1.1", 4096, 3072, 2)
	body, ctype := stowBody(big)
	var r response
	peak, alloc := heapPeak(func() { r = f.gw.do("POST", "/dicomweb/studies", ctype, body, "") })
	t.Logf("one part of %.1f MiB: peak heap growth %.1f MiB, allocated %.1f MiB", float64(len(big))/(1<<20), float64(peak)/(1<<20), float64(alloc)/(1<<20))
	if r.code != 200 {
		t.Fatalf("STOW of a %d-byte instance: %d %s", len(big), r.code, r.body)
	}
	if bound := uint64(len(big)) + allowance; peak > bound {
		t.Errorf("one part of %d bytes: the heap grew by %d bytes, bound %d", len(big), peak, bound)
	}
	body, big = nil, nil

	var parts [][]byte
	for i := range 20 {
		parts = append(parts, bigDICOM(f.idNumber, f.name, fmt.Sprintf("1.2.826.0.1.3680043.8.498.77.1.%d", 100+i), 1024, 1200, 1))
	}
	body, ctype = stowBody(parts...)
	peak, alloc = heapPeak(func() { r = f.gw.do("POST", "/dicomweb/studies", ctype, body, "") })
	t.Logf("20 parts of %.1f MiB: peak heap growth %.1f MiB, allocated %.1f MiB", float64(len(parts[0]))/(1<<20), float64(peak)/(1<<20), float64(alloc)/(1<<20))
	if r.code != 200 || strings.Count(r.body, "00081155") != 20 {
		t.Fatalf("STOW of 20 instances: %d %.300s", r.code, r.body)
	}
	if bound := uint64(len(parts[0])) + allowance; peak > bound || alloc > uint64(20*len(parts[0])) {
		t.Errorf("20 parts of %d bytes: the heap grew by %d bytes (bound %d), %d allocated (bound %d)", len(parts[0]), peak, bound, alloc, 20*len(parts[0]))
	}
	body, parts = nil, nil

	// A part 1 MiB over reading.MaxDICOMBytes, streamed, then a small
	// instance: the first is refused (A700, too large) without being held,
	// the second stored (202).
	small := bigDICOM(f.idNumber, f.name, "1.2.826.0.1.3680043.8.498.77.1.999", 64, 64, 1)
	var head, tail bytes.Buffer
	mw := multipart.NewWriter(&head)
	mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"application/dicom"}})
	boundary := mw.Boundary()
	tw := multipart.NewWriter(&tail)
	tw.SetBoundary(boundary)
	w, _ := tw.CreatePart(textproto.MIMEHeader{"Content-Type": {"application/dicom"}})
	w.Write(small)
	tw.Close()
	stream := io.MultiReader(&head, io.LimitReader(zeros{}, reading.MaxDICOMBytes+1<<20), strings.NewReader("\r\n"), &tail)
	peak, alloc = heapPeak(func() {
		req, _ := http.NewRequest("POST", e.ts.URL+"/dicomweb/studies", stream)
		req.Header.Set("Content-Type", `multipart/related; type="application/dicom"; boundary=`+boundary)
		req.SetBasicAuth(f.gw.user, f.gw.pass)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		r = response{code: resp.StatusCode, body: string(b)}
	})
	t.Logf("a part of %d MiB: peak heap growth %.1f MiB, allocated %.1f MiB", (reading.MaxDICOMBytes+1<<20)>>20, float64(peak)/(1<<20), float64(alloc)/(1<<20))
	if r.code != 202 || !strings.Contains(r.body, strconv.Itoa(reading.FailureTooLarge)) || !strings.Contains(r.body, "498.77.1.999") {
		t.Errorf("STOW of an oversized part and a small one: %d %.400s", r.code, r.body)
	}
	if peak > allowance {
		t.Errorf("an oversized part: the heap grew by %d bytes, bound %d", peak, allowance)
	}
}
