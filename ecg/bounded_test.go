package ecg

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"testing"

	"countycare/internal/memtest"
)

// holter212 is a WFDB record of nsig leads in format 212, seconds long at
// fs Hz, each lead a synthetic ECG at 75 bpm: its header and signal file.
func holter212(nsig int, fs, seconds float64) (hea, dat []byte) {
	times := rrTimes(0.4, constRR(int(seconds/0.8)-1, 0.8))
	amps := make([]float64, len(times))
	for i := range amps {
		amps[i] = 1
	}
	x, _ := synthECG(fs, times, amps, seconds, 7)
	n := len(x)
	dat = make([]byte, 0, (n*nsig+1)/2*3)
	var pend int
	have := false
	for i := 0; i < n; i++ {
		for k := 0; k < nsig; k++ {
			v := int(math.Round(x[i]*200)) & 0xfff // gain 200/mV, baseline 0
			if !have {
				pend, have = v, true
				continue
			}
			dat = append(dat, byte(pend), byte(pend>>8&0x0f|v>>4&0xf0), byte(v))
			have = false
		}
	}
	if have {
		dat = append(dat, byte(pend), byte(pend>>8&0x0f))
	}
	var h strings.Builder
	fmt.Fprintf(&h, "h %d %g %d\n", nsig, fs, n)
	for k := 0; k < nsig; k++ {
		fmt.Fprintf(&h, "h.dat 212 200(0)/mV\n") // no checksum, no description
	}
	return []byte(h.String()), dat
}

// TestReadAndPreReadBoundedMemory: reading and pre-reading a 1-hour
// 2-lead record in format 212 (2.7 MB, 1.8 M samples) allocates at most 2
// bytes per sample of every lead plus 9 per sample of the rhythm lead
// (int16 storage; one float64 band-pass buffer in the detector) plus
// 2 MiB, the bound docs/ecg.md "Limits" states (issue 18 §2: every parser
// of outside input works in bounded memory). Before, the file was read
// whole, each sample took an int (8 bytes), and the detector held the
// physical copy and four float64 arrays: about 31 bytes a sample here
// (57 MB).
func TestReadAndPreReadBoundedMemory(t *testing.T) {
	const fs, seconds, nsig = 250, 3600, 2
	hea, dat := holter212(nsig, fs, seconds)
	var res PreReadResult
	var err error
	n := memtest.AllocatedBy(func() {
		var h *Header
		if h, err = ParseHeader(bytes.NewReader(hea)); err != nil {
			return
		}
		var rec *Record
		rec, err = ReadRecord(h, func(string) (io.Reader, error) { return bytes.NewReader(dat), nil })
		if err != nil {
			return
		}
		res = DefaultPreReadConfig().PreReadRecord(rec)
	})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(res.HeartRate-75) > 1 || res.Abnormal {
		t.Errorf("pre-read of a regular 75 bpm record: HR %.1f, findings %v", res.HeartRate, res.Findings)
	}
	samples := uint64(fs * seconds)
	bound := 2*nsig*samples + 9*samples + 2<<20
	t.Logf("file %.1f MB, %d samples: allocated %.1f MB (%.1f bytes a sample), bound %.1f MB",
		float64(len(dat))/1e6, nsig*samples, float64(n)/1e6, float64(n)/float64(nsig*samples), float64(bound)/1e6)
	if n > bound {
		t.Errorf("allocated %d bytes, bound %d", n, bound)
	}
}

// TestLimits: a record over a limit of docs/ecg.md "Limits" is a
// *LimitError naming the limit (and ErrFormat), refused from the header
// before any sample is read: 17 leads, 49 hours, one lead of more than
// MaxLeadSamples, more than MaxRecordSamples in all; a CSV of 17 leads.
// The limits themselves are those the doc states (a 48-h Holter, 24 h at
// 500 Hz, 16 leads).
func TestLimits(t *testing.T) {
	if MaxLeads != 16 || MaxSeconds != 48*3600 || MaxLeadSamples < 24*3600*500 || MaxRecordSamples < 24*3600*3*360 {
		t.Fatalf("limits differ from docs/ecg.md: %d leads, %d s, %d, %d samples", MaxLeads, MaxSeconds, MaxLeadSamples, MaxRecordSamples)
	}
	signals := func(n int, format string) string {
		return strings.Repeat("r.dat "+format+" 200 12 0 0 0 0 x\n", n)
	}
	opened := false
	open := func(string) (io.Reader, error) { opened = true; return bytes.NewReader(nil), nil }
	for _, tc := range []struct {
		name, hea string
		limit     Limit
	}{
		{"17 leads", "r 17 500 5000\n" + signals(17, "16"), LimitLeads},
		{"49 hours", "r 2 128 22579200\n" + signals(2, "212"), LimitSeconds},
		{"one lead of 24 h at 1 kHz", "r 1 1000 86400000\n" + signals(1, "16"), LimitLeadSamples},
		{"a lead at 2 samples a frame", "r 1 500 43200000\nr.dat 16x2 200 12 0 0 0 0 x\n", LimitLeadSamples},
		{"12 leads × 24 h × 128 Hz", "r 12 128 11059200\n" + signals(12, "212"), LimitSamples},
	} {
		h, err := ParseHeader(strings.NewReader(tc.hea))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		opened = false
		_, err = ReadRecord(h, open)
		var le *LimitError
		if !errors.As(err, &le) || le.Limit != tc.limit || !errors.Is(err, ErrFormat) || opened {
			t.Errorf("%s: got %v (signal file opened: %v), want a %s limit before reading", tc.name, err, opened, tc.limit)
		}
	}
	// Just under: 16 leads, 48 h of 2 leads at 250 Hz are accepted by the
	// header check.
	for _, hea := range []string{"r 16 500 5000\n" + signals(16, "16"), "r 2 250 43200000\n" + signals(2, "212")} {
		h, _ := ParseHeader(strings.NewReader(hea))
		if err := h.CheckLimits(); err != nil {
			t.Errorf("%q: %v", hea[:20], err)
		}
	}
	csv := "t" + strings.Repeat(",I", 17) + "\n0" + strings.Repeat(",1", 17) + "\n"
	var le *LimitError
	if _, err := ReadCSV(strings.NewReader(csv)); !errors.As(err, &le) || le.Limit != LimitLeads || le.Got != 17 {
		t.Errorf("CSV of 17 leads: %v", err)
	}
	// A CSV value outside int16 at 1 µV is named.
	if _, err := ReadCSV(strings.NewReader("t,I\n0,1\n0.004,33\n")); err == nil || !strings.Contains(err.Error(), `line 3, column "I"`) {
		t.Errorf("33 mV: %v", err)
	}
}

// TestReadSamplesAllocatesForTheData: a header's samples per frame or
// number of samples buy no memory the file does not fill (a 10-byte file
// declaring 100 M samples a frame).
func TestReadSamplesAllocatesForTheData(t *testing.T) {
	n := memtest.AllocatedBy(func() {
		ReadSamples(bytes.NewReader(make([]byte, 10)), 16, []int{MaxRecordSamples}, 0)
		ReadSamples(bytes.NewReader(make([]byte, 10)), 212, []int{1, 1}, MaxSamples/2)
		ReadSamples(io.LimitReader(zeroReader{}, 10), 16, []int{MaxRecordSamples / 2}, 1)
	})
	if n > 1<<20 {
		t.Errorf("allocated %d bytes for 10-byte files", n)
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestReadSamplesUndeclaredLength: a header without the number of samples
// reads as many as the file holds, through a reader that cannot tell its
// length, the same as from a bytes.Reader.
func TestReadSamplesUndeclaredLength(t *testing.T) {
	_, dat := holter212(2, 250, 600)
	a, err := ReadSamples(bytes.NewReader(dat), 212, []int{1, 1}, 0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ReadSamples(io.MultiReader(bytes.NewReader(dat[:1000]), bytes.NewReader(dat[1000:])), 212, []int{1, 1}, 0)
	if err != nil || len(a[0]) != 250*600 || len(b[1]) != 250*600 {
		t.Fatalf("%v: %d and %d samples", err, len(a[0]), len(b[1]))
	}
	for k := range a {
		for i := range a[k] {
			if a[k][i] != b[k][i] {
				t.Fatalf("lead %d sample %d: %d and %d", k, i, a[k][i], b[k][i])
			}
		}
	}
}

// TestCSVTimeStepsWithoutKeepingTimes: the time column is checked from
// the extreme steps (the times are no longer kept): a gap and a repeat are
// both faults, the earlier one named by its line; rounded timestamps
// within 1 ms of the mean step pass (docs/ecg.md, CSV export).
func TestCSVTimeStepsWithoutKeepingTimes(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"t,I\n0,1\n0.004,1\n0.008,1\n0.020,1\n0.024,1\n0.024,1\n0.028,1\n", "line 5: time step"},
		{"t,I\n0,1\n0.004,1\n0.004,1\n0.008,1\n0.020,1\n0.024,1\n", "line 4: time step"},
	} {
		if _, err := ReadCSV(strings.NewReader(tc.in)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.in, err, tc.want)
		}
	}
	rec, err := ReadCSV(strings.NewReader("t,I\n0,1\n0.003,1\n0.007,1\n0.010,1\n0.013,1\n"))
	if err != nil || math.Abs(rec.Fs-1/0.00325) > 1e-6 {
		t.Errorf("rounded timestamps: %v, fs %v", err, rec)
	}
}
