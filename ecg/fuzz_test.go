package ecg

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// seedFile adds a file of the shared MIT-BIH data (its first n bytes) to a
// fuzz corpus when the data is there.
func seedFile(f *testing.F, name string, n int, more ...any) {
	dir := mitdbDir(f)
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(append([]any{b[:min(n, len(b))]}, more...)...)
}

// checkErr fails unless err is nil or a format error (I/O cannot fail on
// a bytes.Reader).
func checkErr(t *testing.T, err error) {
	if err != nil && !errors.Is(err, ErrFormat) {
		t.Fatalf("error is not ErrFormat: %v", err)
	}
}

func FuzzParseHeader(f *testing.F) {
	seedFile(f, "100.hea", 1<<20)
	seedFile(f, "102.hea", 1<<20)
	f.Add([]byte("rec 3 500/1000(20) 1000 12:00:00 01/02/2026\nrec.dat 16x2:1+24 1000(-5)/uV 16 0 7 -3 0 lead I\nrec.dat 16 0 12\no.dat 80\n"))
	f.Add([]byte("r 1\r\n\r\nr.dat 212\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseHeader(bytes.NewReader(b))
		checkErr(t, err)
		if err == nil && (h.Fs <= 0 || len(h.Signals) > MaxSignals || h.NSamples < 0) {
			t.Fatalf("accepted an invalid header: %+v", h)
		}
	})
}

func FuzzReadAnnotations(f *testing.F) {
	seedFile(f, "100.atr", 400)
	f.Add([]byte{})
	f.Add(append(word(codeSkip, 0), 0, 1, 0, 0))
	f.Add(append(append(word(int(Normal), 3), word(codeAux, 3)...), 'a', 'b', 'c', 0))
	f.Fuzz(func(t *testing.T, b []byte) {
		anns, err := ReadAnnotations(bytes.NewReader(b))
		checkErr(t, err)
		for i, a := range anns {
			if a.Sample < 0 || (i > 0 && a.Sample < anns[i-1].Sample) {
				t.Fatalf("annotation %d at %d out of order", i, a.Sample)
			}
		}
	})
}

func fuzzSignal(f *testing.F, format int, seed string) {
	seedFile(f, seed, 3000, 1, 0)
	f.Add([]byte{1, 2, 3, 4, 5}, 1, 0)
	f.Add([]byte{1, 2, 3, 4, 5, 6}, 2, 2)
	f.Add(make([]byte, 48<<10+5), 1, 0) // past the reader's 48 KiB buffer, a partial unit left over
	f.Fuzz(func(t *testing.T, b []byte, nsig, nframes int) {
		nsig = 1 + abs(nsig)%4
		nframes = abs(nframes) % 4096
		out, err := ReadSamples(bytes.NewReader(b), format, ones(nsig), nframes)
		checkErr(t, err)
		if err == nil && nframes > 0 && len(out[0]) != nframes {
			t.Fatalf("%d samples, header says %d", len(out[0]), nframes)
		}
	})
}

func abs(v int) int {
	if v < 0 {
		if -v < 0 {
			return 0
		}
		return -v
	}
	return v
}

func FuzzRead212(f *testing.F) { fuzzSignal(f, 212, "100.dat") }

func FuzzRead16(f *testing.F) { fuzzSignal(f, 16, "102.dat") }

func FuzzReadBeatsCSV(f *testing.F) {
	seedFile(f, "102.beats.csv", 400)
	f.Add([]byte("sample,pvc\n1,0\n"))
	f.Add([]byte("pvc,sample,x\n1,5,a\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		beats, err := ReadBeatsCSV(bytes.NewReader(b))
		checkErr(t, err)
		for i := 1; i < len(beats); i++ {
			if beats[i].Sample < beats[i-1].Sample {
				t.Fatal("beats out of order")
			}
		}
	})
}

func FuzzReadCSV(f *testing.F) {
	f.Add([]byte("Time (s),I (mV),II [uV]\n0,0.1,100\n0.002,-0.25,-50\n0.004,0,0\n"))
	f.Add([]byte("ms;V1\n0;1\n4;2\n8;3\n"))
	f.Add([]byte("t\tI\n# comment\n0\t1\n1\t1e3\n"))
	// Over the limits (issue 18): 17 leads; a value past int16 at 1 µV.
	f.Add([]byte("t" + strings.Repeat(",I", 17) + "\n0" + strings.Repeat(",1", 17) + "\n"))
	f.Add([]byte("t,I\n0,32.767\n0.004,-32.768\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, err := ReadCSV(bytes.NewReader(b))
		checkErr(t, err)
		if err == nil && !(rec.Fs > 0) {
			t.Fatalf("fs %v", rec.Fs)
		}
	})
}

// FuzzDetectQRS feeds arbitrary samples (bytes as int8) at arbitrary rates:
// the detector must not panic and must return increasing indices in range.
func FuzzDetectQRS(f *testing.F) {
	x, _ := synthECG(250, rrTimes(0.5, constRR(5, 0.8)), []float64{1, 1, 1, 1, 1, 1}, 5, 1)
	seed := make([]byte, len(x))
	for i, v := range x {
		seed[i] = byte(int8(v * 100))
	}
	f.Add(seed, 250.0)
	f.Add([]byte(strings.Repeat("\x00\x7f", 600)), 100.0)
	f.Fuzz(func(t *testing.T, b []byte, fs float64) {
		x := make([]float64, len(b))
		for i, v := range b {
			x[i] = float64(int8(v))
		}
		if fs > 5000 {
			fs = 5000
		}
		det := DetectQRS(x, fs)
		for i, d := range det {
			if d < 0 || d >= len(x) || (i > 0 && d <= det[i-1]) {
				t.Fatalf("detection %d at %d out of order or range", i, d)
			}
		}
	})
}

// FuzzReadSCP: any bytes are read or refused with ErrFormat, never a panic;
// a record read has leads of one length within the limits. Seeded with
// the toolkit's example and a truncated copy (FuzzReadSCPUnchecked gets
// past the CRCs).
func FuzzReadSCP(f *testing.F) {
	b := exampleSCP(f)
	f.Add(b)
	f.Add(b[:len(b)/2])
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, err := ReadSCP(bytes.NewReader(b))
		checkErr(t, err)
		if err == nil && (len(rec.Leads) == 0 || len(rec.Leads) > MaxLeads || !(rec.Fs > 0)) {
			t.Fatalf("accepted %d leads at %v Hz", len(rec.Leads), rec.Fs)
		}
	})
}

// FuzzReadSCPUnchecked fuzzes the decoder behind the CRCs: the input is
// the example with bytes replaced from offset 22 on and every CRC made
// right, so mutations reach sections 1–6 rather than the CRC check.
func FuzzReadSCPUnchecked(f *testing.F) {
	orig := exampleSCP(f)
	f.Add(uint16(200), []byte{0x12, 0x34})
	f.Add(uint16(150), []byte{0xFF, 0xFF, 0xFF})
	f.Fuzz(func(t *testing.T, at uint16, patch []byte) {
		b := bytes.Clone(orig)
		copy(b[22+int(at)%(len(b)-22):], patch)
		fixCRCs(b)
		_, err := ReadSCP(bytes.NewReader(b))
		checkErr(t, err)
	})
}

// fixCRCs recomputes the CRC of each section section 0 points to that fits
// in b, then the record's.
func fixCRCs(b []byte) {
	n0 := int(binary.LittleEndian.Uint32(b[6+4:]))
	for p := 6 + 16; p+10 <= min(6+n0, len(b)); p += 10 {
		idx := int(binary.LittleEndian.Uint32(b[p+6:])) - 1
		if idx < 0 || idx+16 > len(b) {
			continue
		}
		if n := int(binary.LittleEndian.Uint32(b[idx+4:])); n >= 16 && idx+n <= len(b) {
			binary.LittleEndian.PutUint16(b[idx:], CRCCCITT(b[idx+2:idx+n]))
		}
	}
	if n0 >= 16 && 6+n0 <= len(b) {
		binary.LittleEndian.PutUint16(b[6:], CRCCCITT(b[8:6+n0]))
	}
	binary.LittleEndian.PutUint16(b, CRCCCITT(b[2:]))
}

// FuzzReadAECG: any document is read or refused with ErrFormat. Seeded
// with a minimal document, the start of the toolkit's example and the
// hostile documents of TestReadAECGHostile's kind.
func FuzzReadAECG(f *testing.F) {
	f.Add([]byte(aecgHead + aecgDoc("1 2 3", "-1 0 1")))
	f.Add(exampleAECG(f)[:40000])
	f.Add([]byte(`<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><AnnotatedECG>&xxe;</AnnotatedECG>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, err := ReadAECG(bytes.NewReader(b))
		checkErr(t, err)
		if err == nil && (len(rec.Leads) == 0 || !(rec.Fs > 0)) {
			t.Fatalf("accepted %d leads at %v Hz", len(rec.Leads), rec.Fs)
		}
	})
}

// FuzzMeasure runs the 12-lead measurements on arbitrary signals: bytes
// become the samples of 1–12 leads at 100–1000 Hz, with synthetic QRS
// positions; it must never panic and never return a negative duration.
func FuzzMeasure(f *testing.F) {
	f.Add(uint8(12), uint16(500), []byte{0, 10, 200, 30, 0, 0, 5}, uint16(400))
	f.Add(uint8(1), uint16(100), []byte{1}, uint16(3))
	f.Fuzz(func(t *testing.T, nlead uint8, rate uint16, data []byte, rr uint16) {
		fs := float64(100 + int(rate)%901)
		n := min(len(data)*40, 20000)
		rec := &Record{Fs: fs}
		for l := range 1 + int(nlead)%12 {
			lead := Lead{Name: []string{"I", "II", "III", "aVF"}[l%4], Gain: 1000, SamplesPerFrame: 1, Samples: make([]int16, n)}
			for k := range lead.Samples {
				lead.Samples[k] = int16(data[(k/40+l)%len(data)]) * 10
			}
			rec.Leads = append(rec.Leads, lead)
		}
		var beats []int
		for b := 0; b < n && rr > 0; b += 1 + int(rr)%n {
			beats = append(beats, b)
		}
		m, ok := DefaultMeasureConfig().Measure(rec, beats, fs, false)
		if ok && (m.QRS < 0 || m.PR < 0 || m.QT < 0 || math.IsNaN(m.Axis)) {
			t.Fatalf("measured %+v", m)
		}
	})
}
