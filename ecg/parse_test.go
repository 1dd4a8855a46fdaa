package ecg

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseHeaderRecord100(t *testing.T) {
	f, err := os.Open(filepath.Join(mitdbDir(t), "100.hea"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, err := ParseHeader(f)
	if err != nil {
		t.Fatal(err)
	}
	if h.Record != "100" || h.Fs != 360 || h.NSamples != 650000 || len(h.Signals) != 2 {
		t.Fatalf("got %+v", h)
	}
	s := h.Signals[1]
	want := Signal{File: "100.dat", Format: 212, SamplesPerFrame: 1, Gain: 200, Baseline: 1024, ADCRes: 11, ADCZero: 1024,
		InitialValue: 1011, Checksum: 20052, HasChecksum: true, Description: "V5"}
	if s != want {
		t.Errorf("signal 2: got %+v, want %+v", s, want)
	}
	if len(h.Comments) != 3 || h.Comments[1] != "69 M 1085 1629 x1" {
		t.Errorf("comments %q", h.Comments)
	}
}

func TestParseHeaderFields(t *testing.T) {
	h, err := ParseHeader(strings.NewReader("rec 3 500/1000(20) 1000 12:00:00 01/02/2026\n" +
		"rec.dat 16x2+24 1000(-5)/uV 16 0 7 -3 0 lead I\n" +
		"rec.dat 16 0 12\n" +
		"other.dat 80\n"))
	if err != nil {
		t.Fatal(err)
	}
	if h.Fs != 500 || h.CounterFreq != 1000 || h.BaseCounter != 20 || h.BaseTime != "12:00:00" || h.BaseDate != "01/02/2026" {
		t.Errorf("record line: %+v", h)
	}
	s := h.Signals[0]
	if s.SamplesPerFrame != 2 || s.Offset != 24 || s.Gain != 1000 || s.Baseline != -5 || s.Units != "uV" ||
		s.InitialValue != 7 || s.Checksum != -3 || s.Description != "lead I" {
		t.Errorf("signal 1: %+v", s)
	}
	if s := h.Signals[1]; s.Gain != 200 || s.ADCRes != 12 || s.Baseline != 0 || s.HasChecksum {
		t.Errorf("signal 2 defaults: %+v", s)
	}
	if s := h.Signals[2]; s.Format != 80 || s.ADCRes != 8 {
		t.Errorf("signal 3: %+v", s)
	}
}

func TestParseHeaderErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "no record line"},
		{"# only a comment\n", "no record line"},
		{"rec\n", "name and a number of signals"},
		{"rec x\n", "number of signals"},
		{"rec 2 360 100\nrec.dat 212\n", "declares 2 signals but has 1"},
		{"rec 1 360 100\nrec.dat 212\nrec.dat 212\n", "more signal lines"},
		{"rec 1 -360\n", "sampling frequency"},
		{"rec 1 360 -5\n", "number of samples"},
		{"rec/2 1 360\n", "multi-segment"},
		{"rec 1 360 100\nrec.dat\n", "file name and a format"},
		{"rec 1 360 100\nrec.dat x212\n", "format"},
		{"rec 1 360 100\nrec.dat 212 abc\n", "gain"},
		{"rec 1 360 100\nrec.dat 212 200(x)\n", "baseline"},
		{"rec 1 360 100\nrec.dat 212 200 11 1024 5 99999\n", "checksum"},
	} {
		_, err := ParseHeader(strings.NewReader(tc.in))
		if err == nil || !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want an ErrFormat naming %q", tc.in, err, tc.want)
		}
	}
}

func TestReadRecord100(t *testing.T) {
	rec, ref := loadRecord(t, mitdbDir(t), "100")
	if len(rec.Leads) != 2 || len(rec.Leads[0].Samples) != 650000 || rec.Leads[0].Name != "MLII" {
		t.Fatalf("leads %d", len(rec.Leads))
	}
	if rec.Leads[0].Samples[0] != 995 || rec.Leads[1].Samples[0] != 1011 {
		t.Errorf("first samples %d %d, want the header's initial values 995 1011", rec.Leads[0].Samples[0], rec.Leads[1].Samples[0])
	}
	if d := rec.Duration(); d < 1805 || d > 1806 {
		t.Errorf("duration %v", d)
	}
	if len(ref) != 2273 || ref[0].Sample != 77 {
		t.Errorf("reference: %d beats, first at %d; want 2273 from 77", len(ref), ref[0].Sample)
	}
	pvc := 0
	for _, b := range ref {
		if b.PVC {
			pvc++
		}
	}
	if pvc != 1 {
		t.Errorf("record 100 has %d PVCs, want 1", pvc)
	}
}

func TestReadAnnotations100(t *testing.T) {
	f, err := os.Open(filepath.Join(mitdbDir(t), "100.atr"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	anns, err := ReadAnnotations(f)
	if err != nil {
		t.Fatal(err)
	}
	if a := anns[0]; a.Code != Rhythm || a.Sample != 18 || a.Aux != "(N" {
		t.Errorf("first annotation %+v, want a rhythm (N at 18", a)
	}
	counts := map[Code]int{}
	for _, a := range anns {
		counts[a.Code]++
	}
	if counts[Normal] != 2239 || counts[APC] != 33 || counts[PVC] != 1 {
		t.Errorf("counts %v, want N 2239, A 33, V 1", counts)
	}
}

// word packs an MIT annotation word.
func word(code, val int) []byte { return binary.LittleEndian.AppendUint16(nil, uint16(code<<10|val)) }

func TestReadAnnotationsSpecialCodes(t *testing.T) {
	var b []byte
	b = append(b, word(int(Normal), 100)...)
	b = append(b, word(codeSkip, 0)...)
	b = append(b, 0x01, 0x00, 0x00, 0x00) // +65536 (high word 1, low word 0)
	b = append(b, word(int(PVC), 10)...)
	b = append(b, word(codeSub, 3)...)
	b = append(b, word(codeChn, 1)...)
	b = append(b, word(codeNum, 1023)...) // -1
	b = append(b, word(codeAux, 5)...)
	b = append(b, "(AFIB"...)
	b = append(b, 0)
	b = append(b, word(int(Normal), 20)...)
	b = append(b, 0, 0)
	anns, err := ReadAnnotations(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	want := []Annotation{
		{Sample: 100, Code: Normal},
		{Sample: 65646, Code: PVC, Sub: 3, Chan: 1, Num: -1, Aux: "(AFIB"},
		{Sample: 65666, Code: Normal, Chan: 1, Num: -1},
	}
	if len(anns) != len(want) {
		t.Fatalf("got %+v", anns)
	}
	for i := range want {
		if anns[i] != want[i] {
			t.Errorf("annotation %d: got %+v, want %+v", i, anns[i], want[i])
		}
	}
	for _, tc := range []struct {
		in   []byte
		want string
	}{
		{[]byte{1}, "half a word"},
		{append(word(codeSkip, 0), 1, 0), "SKIP interval"},
		{append(word(int(Normal), 1), word(codeAux, 9)...), "AUX string"},
		{word(codeSub, 1), "before any annotation"},
		{word(55, 1), "not an annotation code"},
		{append(word(codeSkip, 0), 0xff, 0xff, 0xff, 0xff), "negative"},
	} {
		if _, err := ReadAnnotations(bytes.NewReader(tc.in)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("% x: got %v, want %q", tc.in, err, tc.want)
		}
	}
}

func TestReadSamplesFormats(t *testing.T) {
	// 212: samples 1, -1, 2047, -2048 for two signals, two frames.
	enc212 := func(vals []int) []byte {
		var out []byte
		for i := 0; i < len(vals); i += 2 {
			a := vals[i] & 0xfff
			b := 0
			if i+1 < len(vals) {
				b = vals[i+1] & 0xfff
			}
			out = append(out, byte(a), byte(a>>8)|byte(b>>8)<<4, byte(b))
		}
		return out
	}
	vals := []int{1, -1, 2047, -2048, 0, 5}
	got, err := Read212(bytes.NewReader(enc212(vals)), 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	if !equal(got[0], []int{1, 2047, 0}) || !equal(got[1], []int{-1, -2048, 5}) {
		t.Errorf("212: %v", got)
	}
	// Odd number of samples: the last pair is half used.
	got, err = Read212(bytes.NewReader(enc212([]int{3, 4, 5})), 1, 3)
	if err != nil || !equal(got[0], []int{3, 4, 5}) {
		t.Errorf("212 odd: %v %v", got, err)
	}
	var b16 []byte
	for _, v := range []int16{-32768, 32767, 7, -7} {
		b16 = binary.LittleEndian.AppendUint16(b16, uint16(v))
	}
	got, err = Read16(bytes.NewReader(b16), 2, 0)
	if err != nil || !equal(got[0], []int{-32768, 7}) || !equal(got[1], []int{32767, -7}) {
		t.Errorf("16: %v %v", got, err)
	}
	// Multi-frequency: signal 1 has 2 samples per frame.
	got, err = ReadSamples(bytes.NewReader([]byte{129, 130, 0, 131, 132, 255}), 80, []int{2, 1}, 2)
	if err != nil || !equal(got[0], []int{1, 2, 3, 4}) || !equal(got[1], []int{-128, 127}) {
		t.Errorf("80 multi-frequency: %v %v", got, err)
	}
	for _, tc := range []struct {
		data   []byte
		format int
		n      int
		want   string
	}{
		{b16[:7], 16, 2, "truncated"},
		{append(b16, 0, 0), 16, 2, "longer than the header"},
		{b16[:7], 16, 0, "whole number of frames"},
		{b16, 311, 2, "not supported"},
	} {
		if _, err := ReadSamples(bytes.NewReader(tc.data), tc.format, []int{1, 1}, tc.n); err == nil || !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("format %d, %d bytes: got %v, want %q", tc.format, len(tc.data), err, tc.want)
		}
	}
}

func TestReadRecordMismatch(t *testing.T) {
	dir := mitdbDir(t)
	data, err := os.ReadFile(filepath.Join(dir, "102.dat"))
	if err != nil {
		t.Fatal(err)
	}
	h, _ := ParseHeader(strings.NewReader("102 1 360 650000\n102.dat 16 200(1024)/mV 11 1024 984 -28574 0 MLII\n"))
	open := func(d []byte) func(string) (io.Reader, error) {
		return func(string) (io.Reader, error) { return bytes.NewReader(d), nil }
	}
	if _, err := ReadRecord(h, open(data[:len(data)-1000])); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("truncated file: %v", err)
	}
	bad := bytes.Clone(data)
	bad[5000] ^= 0x40
	if _, err := ReadRecord(h, open(bad)); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("corrupt file: %v", err)
	}
	h.NSamples = 600000
	if _, err := ReadRecord(h, open(data)); err == nil || !strings.Contains(err.Error(), "does not match its header") {
		t.Errorf("header shorter than file: %v", err)
	}
}

func TestReadBeatsCSV(t *testing.T) {
	got, err := ReadBeatsCSV(strings.NewReader("sample,pvc\n136,0\n410,1\r\n\n697,0\n"))
	if err != nil || len(got) != 3 || got[1] != (ReferenceBeat{410, true}) {
		t.Errorf("got %v %v", got, err)
	}
	for _, tc := range []struct{ in, want string }{
		{"", "empty"},
		{"time,pvc\n1,0\n", "no \"sample\" column"},
		{"sample,pvc\nx,0\n", "line 2: sample"},
		{"sample,pvc\n5,0\n3,0\n", "line 3: sample 3 comes before"},
		{"sample,pvc\n5,2\n", "pvc \"2\""},
		{"sample,pvc\n5\n", "1 fields"},
		{"sample,pvc\n\"5,0\n", "CSV line"},
	} {
		if _, err := ReadBeatsCSV(strings.NewReader(tc.in)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.in, err, tc.want)
		}
	}
}

func TestReadCSV(t *testing.T) {
	rec, err := ReadCSV(strings.NewReader("Time (s),I (mV),II [uV]\n0,0.1,100\n0.002,-0.25,-50\n0.004,0,0\n"))
	if err != nil {
		t.Fatal(err)
	}
	if rec.Fs != 500 || len(rec.Leads) != 2 || rec.Leads[0].Name != "I" || !equal(rec.Leads[0].Samples, []int{100, -250, 0}) ||
		!equal(rec.Leads[1].Samples, []int{100, -50, 0}) {
		t.Errorf("got fs %v, %+v", rec.Fs, rec.Leads)
	}
	if p := rec.Leads[0].Physical(); p[1] != -0.25 {
		t.Errorf("physical %v", p)
	}
	rec, err = ReadCSV(strings.NewReader("ms;V1\n0;1\n4;2\n8;3\n"))
	if err != nil || rec.Fs != 250 || rec.Leads[0].Name != "V1" {
		t.Errorf("ms and semicolons: %+v %v", rec, err)
	}
	for _, tc := range []struct{ in, want string }{
		{"", "empty"},
		{"time\n0\n", "at least one lead"},
		{"time,I\n0,1\n", "at least 2"},
		{"time,I\n0,1\n0.002\n", "line 3: 1 fields"},
		{"time,I\n0,1\n0.002,x\n", "line 3, column \"I\""},
		{"time,I\n0,1\nNaN,1\n", "time \"NaN\""},
		{"time,I\n0,1\n0.002,1\n0.010,1\n0.012,1\n", "time step"},
		{"time,I\n0,1\n0,1\n", "does not increase"},
		{"time,I (mmHg)\n0,1\n1,1\n", "unit"},
	} {
		if _, err := ReadCSV(strings.NewReader(tc.in)); err == nil || !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.in, err, tc.want)
		}
	}
}

func equal[T int | int16](a []T, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if int(a[i]) != b[i] {
			return false
		}
	}
	return true
}
