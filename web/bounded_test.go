package web_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"countycare/care"
	"countycare/dicom"
	"countycare/reading"
	"countycare/store"
)

// MaxBombHeapGrowth is the bound on the live heap's growth while the
// server handles one upload of a 1 GiB deflate bomb (about 1 MB on the
// wire), on every upload path: docs/benchmarks.md and docs/dicom.md state
// it. Before the fix the same upload took 2.7 GB.
const MaxBombHeapGrowth = 64 << 20

// heapPeak runs f while a goroutine samples the heap every 200 µs; it
// returns the peak growth of heap object bytes over the level before f
// (after a GC) and the bytes allocated during f.
func heapPeak(f func()) (peak, allocated uint64) {
	samples := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/allocs:bytes"}}
	runtime.GC()
	metrics.Read(samples)
	base, alloc0 := samples[0].Value.Uint64(), samples[1].Value.Uint64()
	var max uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		tick := time.NewTicker(200 * time.Microsecond)
		defer tick.Stop()
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > max {
				max = v
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	f()
	close(stop)
	wg.Wait()
	metrics.Read(samples)
	if v := samples[0].Value.Uint64(); v > max {
		max = v
	}
	if max > base {
		peak = max - base
	}
	return peak, samples[1].Value.Uint64() - alloc0
}

// bombFor is a deflated DICOM file of the patient whose 1 GiB of zero
// pixel data (16384 × 16384, 16 bits, 2 frames) compresses to about 1 MB.
func bombFor(patientID, name, sop string) []byte {
	us := func(v uint16) []byte { return []byte{byte(v), byte(v >> 8)} }
	return dicom.DeflatedZeros([]*dicom.Element{
		{Tag: dicom.TagSOPClassUID, VR: "UI", Value: []byte("1.2.840.10008.5.1.4.1.1.7")},
		{Tag: dicom.TagSOPInstanceUID, VR: "UI", Value: []byte(sop)},
		{Tag: dicom.TagModality, VR: "CS", Value: []byte("OT")},
		{Tag: dicom.TagPatientName, VR: "PN", Value: []byte(name)},
		{Tag: dicom.TagPatientID, VR: "LO", Value: []byte(patientID)},
		{Tag: dicom.TagStudyInstanceUID, VR: "UI", Value: []byte(sop + ".0")},
		{Tag: dicom.TagSeriesInstanceUID, VR: "UI", Value: []byte(sop + ".1")},
		{Tag: dicom.TagSamplesPerPixel, VR: "US", Value: us(1)},
		{Tag: dicom.TagPhotometricInterpretation, VR: "CS", Value: []byte("MONOCHROME2")},
		{Tag: dicom.TagNumberOfFrames, VR: "IS", Value: []byte("2")},
		{Tag: dicom.TagRows, VR: "US", Value: us(16384)},
		{Tag: dicom.TagColumns, VR: "US", Value: us(16384)},
		{Tag: dicom.TagBitsAllocated, VR: "US", Value: us(16)},
		{Tag: dicom.TagBitsStored, VR: "US", Value: us(16)},
		{Tag: dicom.TagHighBit, VR: "US", Value: us(15)},
		{Tag: dicom.TagPixelRepresentation, VR: "US", Value: us(0)},
	}, 1<<30)
}

// TestUploadDeflateBomb: a village doctor uploads a 1 MB deflated DICOM
// that inflates to 1 GiB, from the imaging page (multipart) and the JSON
// API, and a gateway sends it by STOW-RS. Each is refused with the
// catalogue's reading.dicom_limit (STOW: failure A700), nothing is stored,
// and the server's heap grows by less than MaxBombHeapGrowth meanwhile.
func TestUploadDeflateBomb(t *testing.T) {
	e := newEnv(t, store.SQLite)
	f := newDWFixture(t, e)
	bomb := bombFor(f.idNumber, "Bomb^Test", "1.2.826.0.1.3680043.8.498.666")
	if len(bomb) > 2<<20 {
		t.Fatalf("bomb of %d bytes", len(bomb))
	}
	check := func(path string, peak, alloc uint64) {
		t.Helper()
		t.Logf("%s: peak heap growth %.1f MiB, allocated %.1f MiB", path, float64(peak)/(1<<20), float64(alloc)/(1<<20))
		if peak > MaxBombHeapGrowth {
			t.Errorf("%s: the heap grew by %d bytes for a deflate bomb; bound %d", path, peak, MaxBombHeapGrowth)
		}
	}

	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	mw.WriteField("csrf", f.vd.csrf)
	mw.WriteField("center_id", strconv.FormatInt(f.center, 10))
	w, _ := mw.CreateFormFile("files", "bomb.dcm")
	w.Write(bomb)
	mw.Close()
	var r response
	peak, alloc := heapPeak(func() {
		r = f.vd.do("POST", fmt.Sprintf("/residents/%d/imaging", f.resident), mw.FormDataContentType(), b.Bytes(), nil)
	})
	check("page", peak, alloc)
	if r.code != 422 || !strings.Contains(r.body, "exceeds a safety limit") && !strings.Contains(r.body, "超出安全限制") {
		t.Errorf("page upload of a bomb: %d %s", r.code, r.body)
	}

	js, _ := json.Marshal(map[string]any{"center_id": f.center, "files": []map[string]any{{"name": "bomb.dcm", "data": bomb}}})
	peak, alloc = heapPeak(func() {
		r = f.vd.do("POST", fmt.Sprintf("/api/v1/residents/%d/imaging", f.resident), "application/json", js, map[string]string{"X-CSRF-Token": f.vd.csrf})
	})
	check("API", peak, alloc)
	if r.code != 422 || !strings.Contains(r.body, `"key":"reading.dicom_limit"`) || !strings.Contains(r.body, `"code":"`+care.ETOOLARGE+`"`) {
		t.Errorf("API upload of a bomb: %d %s", r.code, r.body)
	}

	body, ctype := stowBody(bomb)
	peak, alloc = heapPeak(func() { r = f.gw.do("POST", "/dicomweb/studies", ctype, body, "") })
	check("STOW", peak, alloc)
	if r.code != 409 || !strings.Contains(r.body, strconv.Itoa(reading.FailureTooLarge)) || !strings.Contains(r.body, "inflates past") {
		t.Errorf("STOW of a bomb: %d %s", r.code, r.body)
	}
	if r := f.gw.do("GET", "/dicomweb/studies?PatientID="+f.idNumber, "", nil, ""); r.code != 200 || strings.Contains(r.body, "498.666") {
		t.Errorf("the bomb was stored: %d %s", r.code, r.body)
	}
}

// dwFixture: a village clinic's doctor, one of the clinic's residents (with
// the ID number a modality sends), the county's diagnosis center and a
// DICOMweb credential of the clinic.
type dwFixture struct {
	vd       *client
	gw       device
	resident int64
	name     string
	idNumber string
	center   int64
}

func newDWFixture(t testing.TB, e *env) *dwFixture {
	t.Helper()
	vd, rd, admin := e.as(care.RoleVillageDoctor), e.as(care.RoleReader), e.as(care.RoleAdmin)
	var me struct {
		Institution int64 `json:"institution_id"`
	}
	json.Unmarshal([]byte(vd.get("/api/v1/me").body), &me)
	clinic := me.Institution
	json.Unmarshal([]byte(rd.get("/api/v1/me").body), &me)
	f := &dwFixture{vd: vd, center: me.Institution}
	var cred struct {
		Name   string `json:"name"`
		Secret string `json:"secret"`
	}
	r := admin.postJSON("/api/v1/dicomweb/clients", map[string]any{"name": "fixture-gw", "institution_id": clinic, "center_id": f.center})
	if r.code != 201 || json.Unmarshal([]byte(r.body), &cred) != nil {
		t.Fatalf("create credential: %d %s", r.code, r.body)
	}
	f.gw = device{e, cred.Name, cred.Secret}
	var people struct {
		Residents []struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		} `json:"residents"`
	}
	json.Unmarshal([]byte(vd.get("/api/v1/residents?q=").body), &people)
	if len(people.Residents) == 0 {
		t.Fatal("no residents")
	}
	f.resident, f.name = people.Residents[0].ID, people.Residents[0].Name
	var idn struct {
		IDNumber string `json:"id_number"`
	}
	json.Unmarshal([]byte(vd.postJSON(fmt.Sprintf("/api/v1/residents/%d/reveal-id", f.resident), nil).body), &idn)
	if len(idn.IDNumber) != 18 {
		t.Fatalf("reveal: %+v", idn)
	}
	f.idNumber = idn.IDNumber
	return f
}

// BenchmarkUploadDeflateBomb measures the peak growth of the server's heap
// while a village doctor uploads a 1 GiB deflate bomb from the imaging
// page (docs/benchmarks.md):
//
//	go test ./web/ -run '^$' -bench UploadDeflateBomb -benchtime 5x
func BenchmarkUploadDeflateBomb(b *testing.B) {
	e := newEnv(b, store.SQLite)
	f := newDWFixture(b, e)
	bomb := bombFor(f.idNumber, "Bomb^Test", "1.2.826.0.1.3680043.8.498.666")
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("csrf", f.vd.csrf)
	mw.WriteField("center_id", strconv.FormatInt(f.center, 10))
	w, _ := mw.CreateFormFile("files", "bomb.dcm")
	w.Write(bomb)
	mw.Close()
	var worst, total uint64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var r response
		peak, _ := heapPeak(func() {
			r = f.vd.do("POST", fmt.Sprintf("/residents/%d/imaging", f.resident), mw.FormDataContentType(), buf.Bytes(), nil)
		})
		if r.code != 422 {
			b.Fatalf("bomb upload: %d", r.code)
		}
		worst, total = max(worst, peak), total+peak
	}
	b.ReportMetric(float64(worst)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(total)/float64(b.N)/(1<<20), "mean-heap-MiB")
	b.ReportMetric(float64(len(bomb))/(1<<20), "upload-MiB")
}

// TestUploadReadOnce: an uploaded file spills to a temporary file past
// 1 MiB of form and is then read into one buffer of its own size (the
// multipart header gives it), not grown by io.ReadAll's doubling: a
// 20 MiB file (not an image: refused after it is read) adds less than
// twice its size to the heap (72 MiB before).
func TestUploadReadOnce(t *testing.T) {
	e := newEnv(t, store.SQLite)
	f := newDWFixture(t, e)
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	mw.WriteField("csrf", f.vd.csrf)
	mw.WriteField("center_id", strconv.FormatInt(f.center, 10))
	mw.WriteField("kind", "fundus")
	w, _ := mw.CreateFormFile("file", "eye.jpg")
	const size = 20 << 20
	w.Write(bytes.Repeat([]byte{0x5A}, size))
	mw.Close()
	var r response
	peak, _ := heapPeak(func() {
		r = f.vd.do("POST", fmt.Sprintf("/residents/%d/photos", f.resident), mw.FormDataContentType(), b.Bytes(), nil)
	})
	t.Logf("peak heap growth %.1f MiB for a %d MiB file", float64(peak)/(1<<20), size>>20)
	if r.code != 422 || !strings.Contains(r.body, "JPEG") {
		t.Errorf("not an image: %d", r.code)
	}
	if peak > size*2 {
		t.Errorf("the heap grew by %d bytes for a %d-byte file; bound 2×", peak, size)
	}
}
