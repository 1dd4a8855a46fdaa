package store_test

import (
	"context"
	"encoding/binary"
	"io"
	"math"
	"strconv"
	"syscall"
	"testing"
	"time"

	"countycare/access"
	"countycare/audit"
	"countycare/care"
	"countycare/demo"
	"countycare/dicom"
	"countycare/internal/testdb"
	"countycare/reading"
	"countycare/resident"
	"countycare/store"
)

// discard drops audit rows: the server queues them to audit.Writer,
// off the request's path, so the benchmarks leave them out.
type discard struct{}

func (discard) Record(context.Context, audit.Event) {}

// cpuTime is the process's user and system CPU time: on this shared
// machine wall times swing with the load, CPU time much less.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, cpu time.Duration) {
	b.ReportMetric(float64(cpu)/1e6/float64(b.N), "cpu-ms/op")
}

func le16(v int) []byte { return binary.LittleEndian.AppendUint16(nil, uint16(v)) }

// benchCT is a 512×512 CT, 16 bits allocated, 12 stored, rescale −1024.
func benchCT(sop string) []byte {
	px := make([]byte, 0, 2*512*512)
	seed := uint32(1)
	for y := 0; y < 512; y++ {
		for x := 0; x < 512; x++ {
			r := math.Hypot(float64(x-256)/256, float64(y-256)/256)
			v := 0
			switch {
			case r < 0.8:
				v = 1064
			case r < 0.88:
				v = 2224
			}
			seed = seed*1664525 + 1013904223
			px = binary.LittleEndian.AppendUint16(px, uint16(max(0, min(4095, v+int(seed>>28)-8))))
		}
	}
	return dicom.Encode(dicom.ExplicitVRLittleEndian, []*dicom.Element{
		{Tag: dicom.TagSOPInstanceUID, VR: "UI", Value: []byte(sop)}, {Tag: dicom.TagStudyInstanceUID, VR: "UI", Value: []byte(sop + ".1")},
		{Tag: dicom.TagModality, VR: "CS", Value: []byte("CT")},
		{Tag: dicom.TagSamplesPerPixel, VR: "US", Value: le16(1)}, {Tag: dicom.TagPhotometricInterpretation, VR: "CS", Value: []byte("MONOCHROME2")},
		{Tag: dicom.TagRows, VR: "US", Value: le16(512)}, {Tag: dicom.TagColumns, VR: "US", Value: le16(512)},
		{Tag: dicom.TagBitsAllocated, VR: "US", Value: le16(16)}, {Tag: dicom.TagBitsStored, VR: "US", Value: le16(12)},
		{Tag: dicom.TagHighBit, VR: "US", Value: le16(11)}, {Tag: dicom.TagPixelRepresentation, VR: "US", Value: le16(0)},
		{Tag: dicom.TagWindowCenter, VR: "DS", Value: []byte("40")}, {Tag: dicom.TagWindowWidth, VR: "DS", Value: []byte("400")},
		{Tag: dicom.TagRescaleIntercept, VR: "DS", Value: []byte("-1024")}, {Tag: dicom.TagRescaleSlope, VR: "DS", Value: []byte("1")},
		{Tag: dicom.TagPixelData, VR: "OW", Value: px},
	})
}

// benchCine is a 30-frame 600×800 RGB ultrasound cine (43 MB), speckle in a fan.
func benchCine(sop string) []byte {
	const rows, cols, n = 600, 800, 30
	frame := 3 * rows * cols
	px := make([]byte, n*frame)
	seed := uint32(7)
	for k := 0; k < n; k++ {
		for y := 0; y < rows; y++ {
			for x := 0; x < cols; x++ {
				seed = seed*1664525 + 1013904223
				if y > 20 && math.Abs(float64(x-cols/2)/cols) < float64(y)/rows*0.6 {
					v := byte((seed >> 25) + uint32((y+k*4)%64))
					i := k*frame + 3*(y*cols+x)
					px[i], px[i+1], px[i+2] = v, v, v
				}
			}
		}
	}
	return dicom.Encode(dicom.ExplicitVRLittleEndian, []*dicom.Element{
		{Tag: dicom.TagSOPInstanceUID, VR: "UI", Value: []byte(sop)}, {Tag: dicom.TagStudyInstanceUID, VR: "UI", Value: []byte(sop + ".1")},
		{Tag: dicom.TagModality, VR: "CS", Value: []byte("US")},
		{Tag: dicom.TagSamplesPerPixel, VR: "US", Value: le16(3)}, {Tag: dicom.TagPhotometricInterpretation, VR: "CS", Value: []byte("RGB")},
		{Tag: dicom.TagPlanarConfiguration, VR: "US", Value: le16(0)}, {Tag: dicom.TagNumberOfFrames, VR: "IS", Value: []byte(strconv.Itoa(n))},
		{Tag: dicom.TagRows, VR: "US", Value: le16(rows)}, {Tag: dicom.TagColumns, VR: "US", Value: le16(cols)},
		{Tag: dicom.TagBitsAllocated, VR: "US", Value: le16(8)}, {Tag: dicom.TagBitsStored, VR: "US", Value: le16(8)},
		{Tag: dicom.TagHighBit, VR: "US", Value: le16(7)}, {Tag: dicom.TagPixelRepresentation, VR: "US", Value: le16(0)},
		{Tag: dicom.TagPixelData, VR: "OB", Value: px},
	})
}

// viewerBench is a SQLite database with a small demo county, the two
// synthetic files stored for the demo resident, and an ECG study of
// MIT-BIH record 100.
type viewerBench struct {
	st            *store.Store
	f             *fixture
	ct, cine, ecg int64
}

func newViewerBench(b *testing.B) *viewerBench {
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 11, 22, 2, 0, 0, 0, time.UTC)}
	st := testdb.Open(b, store.SQLite, clk.Now)
	res, err := demo.Generate(ctx, st, demo.Config{Residents: 500, Villages: 5, VillageDoctors: 10, Now: clk.Now(), ECGReads: 1, ImagingReads: 1}, quiet)
	if err != nil {
		b.Fatal(err)
	}
	f := &fixture{st: st, clk: clk, demo: res, actors: map[care.Role]care.Actor{}}
	loginAll(b, f)
	vb := &viewerBench{st: st, f: f}
	vd, me := f.actors[care.RoleVillageDoctor], f.actors[care.RoleResident]
	for i, file := range [][]byte{benchCT("2.25.1"), benchCine("2.25.2")} {
		in, err := reading.ReadDICOM(file)
		if err != nil {
			b.Fatal(err)
		}
		in.CountyCode, in.ResidentID, in.ClinicID, in.CenterID, in.Status, in.UploadedAt = vd.CountyCode, me.ResidentID, vd.InstitutionID, vd.InstitutionID, reading.StatusWaiting, clk.Now()
		ev := audit.Event{Action: reading.ActDICOMUpload, Outcome: audit.OutcomeOK, ResidentID: me.ResidentID, CountyCode: vd.CountyCode, Purpose: care.PurposeTreatment}
		if err := st.SaveImagingInstance(ctx, in, &access.CareLink{CountyCode: vd.CountyCode, ResidentID: me.ResidentID, InstitutionID: vd.InstitutionID, Kind: access.LinkStudy}, ev); err != nil {
			b.Fatal(err)
		}
		if i == 0 {
			vb.ct = in.ID
		} else {
			vb.cine = in.ID
		}
	}
	studies, err := st.ECGStudies(ctx, vd.CountyCode, me.ResidentID)
	if err != nil || len(studies) == 0 {
		b.Fatal("no ECG study", err)
	}
	vb.ecg = studies[0].ID
	return vb
}

func (vb *viewerBench) viewer() *reading.Viewer {
	res := &resident.Service{Repo: vb.st, Orgs: vb.f.orgs, Audit: discard{}, Now: vb.f.clk.Now}
	return &reading.Viewer{Repo: vb.st, Residents: res, Audit: discard{}}
}

// BenchmarkViewerFrame measures GET …/frames/N as the handler does it
// (scope check, file, render with a window, PNG) without HTTP: "warm"
// with the parsed file cached (a window/level drag), "cold" with a new
// viewer each time (the file read from the database and parsed), and the
// first frame of a 43 MB cine, cold and after the page has parsed it.
func BenchmarkViewerFrame(b *testing.B) {
	vb := newViewerBench(b)
	ctx := context.Background()
	vd := vb.f.actors[care.RoleVillageDoctor]
	frame := func(b *testing.B, v *reading.Viewer, id int64, win *dicom.Window) {
		img, err := v.ImagingFrame(ctx, vd, id, 0, win)
		if err != nil {
			b.Fatal(err)
		}
		if err := dicom.EncodePNG(io.Discard, img); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("ct512-warm", func(b *testing.B) {
		v := vb.viewer()
		frame(b, v, vb.ct, nil)
		b.ResetTimer()
		c0 := cpuTime()
		for i := 0; i < b.N; i++ {
			frame(b, v, vb.ct, &dicom.Window{Center: float64(i % 200), Width: 400})
		}
		reportCPU(b, cpuTime()-c0)
	})
	b.Run("ct512-cold", func(b *testing.B) {
		c0 := cpuTime()
		for i := 0; i < b.N; i++ {
			frame(b, vb.viewer(), vb.ct, &dicom.Window{Center: 40, Width: 400})
		}
		reportCPU(b, cpuTime()-c0)
	})
	b.Run("cine-first-frame-cold", func(b *testing.B) {
		c0 := cpuTime()
		for i := 0; i < b.N; i++ {
			frame(b, vb.viewer(), vb.cine, nil)
		}
		reportCPU(b, cpuTime()-c0)
	})
	// The page (GET /imaging/instances/{id}) has already read and parsed the
	// file when the browser asks for the first frame.
	b.Run("cine-first-frame-after-page", func(b *testing.B) {
		var cpu time.Duration
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			v := vb.viewer()
			if _, err := v.Imaging(ctx, vd, vb.cine); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			c0 := cpuTime()
			frame(b, v, vb.cine, nil)
			cpu += cpuTime() - c0
		}
		reportCPU(b, cpu)
	})
	b.Run("cine-page", func(b *testing.B) {
		c0 := cpuTime()
		for i := 0; i < b.N; i++ {
			if _, err := vb.viewer().Imaging(ctx, vd, vb.cine); err != nil {
				b.Fatal(err)
			}
		}
		reportCPU(b, cpuTime()-c0)
	})
}

// BenchmarkViewerECGSegment measures a 10-s segment (the demo's excerpts are 10 s) of a study with its
// beats (GET …/samples), warm.
func BenchmarkViewerECGSegment(b *testing.B) {
	vb := newViewerBench(b)
	ctx := context.Background()
	rd := vb.f.actors[care.RoleReader]
	v := vb.viewer()
	b.ResetTimer()
	c0 := cpuTime()
	for i := 0; i < b.N; i++ {
		if _, err := v.ECGSamples(ctx, rd, vb.ecg, 0, 10); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpuTime()-c0)
}
