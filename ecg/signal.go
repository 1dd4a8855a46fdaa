package ecg

import (
	"encoding/binary"
	"fmt"
	"io"
)

// maxSignalBytes bounds how much a signal reader reads when the header does
// not give the number of samples.
const maxSignalBytes = 1 << 30

// Record is a decoded recording: its sampling frequency and leads.
type Record struct {
	Name string
	Fs   float64
	// Leads hold the samples of each signal. In a multi-frequency record a
	// lead has SamplesPerFrame samples per frame, so its rate is
	// Fs × SamplesPerFrame.
	Leads []Lead
}

// Lead is one signal: its samples in ADC units and the calibration to turn
// them into physical units.
type Lead struct {
	Name            string
	Units           string
	Gain            float64 // ADC units per physical unit
	Baseline        int     // ADC value of physical zero
	SamplesPerFrame int
	Samples         []int
}

// Physical returns the lead's samples in physical units ((v − baseline) / gain).
func (l Lead) Physical() []float64 {
	out := make([]float64, len(l.Samples))
	g := l.Gain
	if g == 0 {
		g = 200
	}
	for i, v := range l.Samples {
		out[i] = float64(v-l.Baseline) / g
	}
	return out
}

// Duration is the record's length in seconds (0 without leads).
func (r *Record) Duration() float64 {
	if len(r.Leads) == 0 || r.Fs <= 0 {
		return 0
	}
	l := r.Leads[0]
	return float64(len(l.Samples)) / (r.Fs * float64(max(1, l.SamplesPerFrame)))
}

// ReadRecord reads every signal a header declares. open returns the content
// of a signal file named in the header (the caller decides where files
// live; each distinct file is opened once). It fails when a file's length
// does not match the header's number of samples, a format is unsupported,
// or a signal's checksum does not match the header.
func ReadRecord(h *Header, open func(file string) (io.Reader, error)) (*Record, error) {
	rec := &Record{Name: h.Record, Fs: h.Fs, Leads: make([]Lead, len(h.Signals))}
	for i := 0; i < len(h.Signals); {
		// Signals of one file are consecutive lines (WFDB signal groups).
		file := h.Signals[i].File
		j := i
		for j < len(h.Signals) && h.Signals[j].File == file {
			j++
		}
		group := h.Signals[i:j]
		spf := make([]int, len(group))
		for k, s := range group {
			if s.Format != group[0].Format {
				return nil, formatError("file %s: signals %d and %d have different formats (%d, %d)", file, i+1, i+k+1, group[0].Format, s.Format)
			}
			if s.Skew != 0 {
				return nil, formatError("file %s: signal %d has a skew (%d), which is not supported", file, i+k+1, s.Skew)
			}
			spf[k] = s.SamplesPerFrame
		}
		r, err := open(file)
		if err != nil {
			return nil, fmt.Errorf("ecg: opening signal file %s: %w", file, err)
		}
		if off := group[0].Offset; off > 0 {
			if n, err := io.CopyN(io.Discard, r, int64(off)); err != nil {
				return nil, formatError("file %s: shorter (%d bytes) than its byte offset %d", file, n, off)
			}
		}
		sig, err := ReadSamples(r, group[0].Format, spf, h.NSamples)
		if err != nil {
			return nil, fmt.Errorf("%w (file %s)", err, file)
		}
		for k, s := range group {
			if s.HasChecksum && h.NSamples > 0 {
				var sum int16
				for _, v := range sig[k] {
					sum += int16(v)
				}
				if sum != s.Checksum {
					return nil, formatError("file %s: signal %d (%s) checksum is %d, the header says %d: the file is corrupt or belongs to another record", file, i+k+1, s.Description, sum, s.Checksum)
				}
			}
			rec.Leads[i+k] = Lead{Name: s.Description, Units: s.Units, Gain: s.Gain, Baseline: s.Baseline, SamplesPerFrame: s.SamplesPerFrame, Samples: sig[k]}
			if rec.Leads[i+k].Name == "" {
				rec.Leads[i+k].Name = fmt.Sprintf("signal %d", i+k+1)
			}
		}
		i = j
	}
	return rec, nil
}

// Read212 reads nframes frames of nsig interleaved signals in WFDB format
// 212 (pairs of 12-bit two's complement samples packed in 3 bytes). With
// nframes 0 the number of frames is taken from the length.
func Read212(r io.Reader, nsig, nframes int) ([][]int, error) {
	return ReadSamples(r, 212, ones(nsig), nframes)
}

// Read16 reads nframes frames of nsig interleaved signals in WFDB format 16
// (16-bit little-endian two's complement).
func Read16(r io.Reader, nsig, nframes int) ([][]int, error) {
	return ReadSamples(r, 16, ones(nsig), nframes)
}

func ones(n int) []int {
	s := make([]int, max(n, 0))
	for i := range s {
		s[i] = 1
	}
	return s
}

// ReadSamples reads a WFDB signal file of format 212, 16 or 80 holding
// len(spf) signals, signal k having spf[k] samples per frame. nframes is
// the header's number of samples per signal; 0 takes it from the length.
// The file's length must match exactly (format 212 may end with the unused
// half of a 3-byte pair): a shorter file is truncated, a longer one does not
// belong to this header.
func ReadSamples(r io.Reader, format int, spf []int, nframes int) ([][]int, error) {
	if len(spf) == 0 {
		return nil, formatError("no signals to read")
	}
	perFrame := 0
	for _, n := range spf {
		if n < 1 {
			return nil, formatError("samples per frame %d is not positive", n)
		}
		perFrame += n
	}
	if nframes < 0 || nframes > MaxSamples {
		return nil, formatError("number of samples %d is out of range", nframes)
	}
	var bytesFor func(total int) (lo, hi int)
	switch format {
	case 212:
		bytesFor = func(t int) (int, int) { return (t*3 + 1) / 2, (t + 1) / 2 * 3 }
	case 16:
		bytesFor = func(t int) (int, int) { return 2 * t, 2 * t }
	case 80:
		bytesFor = func(t int) (int, int) { return t, t }
	default:
		return nil, formatError("signal format %d is not supported (212, 16 and 80 are)", format)
	}
	var data []byte
	var err error
	total := nframes * perFrame
	if nframes > 0 {
		lo, hi := bytesFor(total)
		data, err = io.ReadAll(io.LimitReader(r, int64(hi)+1))
		if err != nil {
			return nil, fmt.Errorf("ecg: reading signal: %w", err)
		}
		switch {
		case len(data) < lo:
			return nil, formatError("signal file is truncated: the header's %d samples × %d signals in format %d need %d bytes, the file has %d (%.1f%% of the samples)",
				nframes, len(spf), format, lo, len(data), 100*float64(len(data))/float64(lo))
		case len(data) > hi:
			return nil, formatError("signal file is longer than the header's %d samples × %d signals in format %d (%d bytes): it does not match its header", nframes, len(spf), format, hi)
		}
	} else {
		data, err = io.ReadAll(io.LimitReader(r, maxSignalBytes+1))
		if err != nil {
			return nil, fmt.Errorf("ecg: reading signal: %w", err)
		}
		if len(data) > maxSignalBytes {
			return nil, formatError("signal file is larger than %d bytes", maxSignalBytes)
		}
		switch format {
		case 212:
			total = len(data) * 2 / 3
		case 16:
			total = len(data) / 2
		default:
			total = len(data)
		}
		if lo, hi := bytesFor(total - total%perFrame); total%perFrame != 0 || len(data) < lo || len(data) > hi {
			return nil, formatError("signal file of %d bytes does not hold a whole number of frames of %d samples in format %d", len(data), perFrame, format)
		}
		nframes = total / perFrame
	}
	out := make([][]int, len(spf))
	for k, n := range spf {
		out[k] = make([]int, nframes*n)
	}
	// Decode sample by sample in file order, dealing them to the signals.
	k, j, f := 0, 0, 0 // signal, sample within frame for signal k, frame
	put := func(v int) {
		out[k][f*spf[k]+j] = v
		j++
		if j == spf[k] {
			j = 0
			k++
			if k == len(spf) {
				k = 0
				f++
			}
		}
	}
	switch format {
	case 16:
		for i := 0; i < total; i++ {
			put(int(int16(binary.LittleEndian.Uint16(data[2*i:]))))
		}
	case 80:
		for i := 0; i < total; i++ {
			put(int(data[i]) - 128)
		}
	case 212:
		for i := 0; i < total; i += 2 {
			b := data[i/2*3:]
			v0 := int(b[0]) | int(b[1]&0x0f)<<8
			put(sign12(v0))
			if i+1 < total {
				v1 := int(b[2]) | int(b[1]&0xf0)<<4
				put(sign12(v1))
			}
		}
	}
	return out, nil
}

// sign12 sign-extends a 12-bit two's complement value.
func sign12(v int) int { return int(int16(uint16(v)<<4)) >> 4 }
