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
	// Info holds the patient, acquisition and machine-interpretation
	// fields of formats that carry them (SCP-ECG, aECG, DICOM); nil for
	// WFDB and CSV.
	Info *Info
}

// Lead is one signal: its samples in ADC units and the calibration to turn
// them into physical units.
type Lead struct {
	Name            string
	Units           string
	Gain            float64 // ADC units per physical unit
	Baseline        int     // ADC value of physical zero
	SamplesPerFrame int
	// Samples are ADC units, 2 bytes each (WFDB formats hold at most 16
	// bits; a CSV export is kept at 1 µV, ±32.767 mV).
	Samples []int16
}

// Physical returns the lead's samples in physical units ((v − baseline) / gain).
func (l Lead) Physical() []float64 {
	out := make([]float64, len(l.Samples))
	g := l.Gain
	if g == 0 {
		g = 200
	}
	for i, v := range l.Samples {
		out[i] = float64(int(v)-l.Baseline) / g
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
// or a signal's checksum does not match the header, and with a
// *LimitError for a record over the limits (limits.go), before reading
// any sample when the header gives the number of samples.
func ReadRecord(h *Header, open func(file string) (io.Reader, error)) (*Record, error) {
	if err := h.CheckLimits(); err != nil {
		return nil, err
	}
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
	if err := rec.CheckLimits(); err != nil {
		return nil, err
	}
	return rec, nil
}

// Read212 reads nframes frames of nsig interleaved signals in WFDB format
// 212 (pairs of 12-bit two's complement samples packed in 3 bytes). With
// nframes 0 the number of frames is taken from the length.
func Read212(r io.Reader, nsig, nframes int) ([][]int16, error) {
	return ReadSamples(r, 212, ones(nsig), nframes)
}

// Read16 reads nframes frames of nsig interleaved signals in WFDB format 16
// (16-bit little-endian two's complement).
func Read16(r io.Reader, nsig, nframes int) ([][]int16, error) {
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
//
// The file is decoded as it is read, through a 48 KiB buffer, into one
// int16 per sample (every format holds at most 16 bits): the heap holds 2
// bytes per sample and never the file itself (issue 18). Storage for the
// samples grows with the data actually read, so a header declaring more
// samples than the file has costs nothing; a reader with a Len method (a
// bytes.Reader of an upload) sizes it exactly. More than MaxRecordSamples
// samples are refused with a *LimitError as soon as they are declared or read.
func ReadSamples(r io.Reader, format int, spf []int, nframes int) ([][]int16, error) {
	if len(spf) == 0 {
		return nil, formatError("no signals to read")
	}
	perFrame := 0
	for _, n := range spf {
		if n < 1 || n > MaxRecordSamples {
			return nil, formatError("samples per frame %d is not positive", n)
		}
		perFrame += n
	}
	if perFrame > MaxRecordSamples {
		return nil, formatError("%d samples per frame is out of range", perFrame)
	}
	if nframes < 0 || nframes > MaxSamples {
		return nil, formatError("number of samples %d is out of range", nframes)
	}
	var unit, perUnit int // bytes and samples of one decoding unit
	var bytesFor func(total int) (lo, hi int)
	switch format {
	case 212:
		unit, perUnit = 3, 2
		bytesFor = func(t int) (int, int) { return (t*3 + 1) / 2, (t + 1) / 2 * 3 }
	case 16:
		unit, perUnit = 2, 1
		bytesFor = func(t int) (int, int) { return 2 * t, 2 * t }
	case 80:
		unit, perUnit = 1, 1
		bytesFor = func(t int) (int, int) { return t, t }
	default:
		return nil, formatError("signal format %d is not supported (212, 16 and 80 are)", format)
	}
	total := nframes * perFrame // samples wanted; 0: as many as the file holds
	if total > MaxRecordSamples {
		return nil, &LimitError{Limit: LimitSamples, Got: float64(total), Max: MaxRecordSamples}
	}
	maxBytes := int64(maxSignalBytes)
	if total > 0 {
		_, hi := bytesFor(total)
		maxBytes = int64(hi)
	}
	// Size the output by what the reader holds when it can say so; else
	// let it grow with the data.
	want := total
	if l, ok := r.(interface{ Len() int }); ok {
		n := l.Len() / unit * perUnit
		if l.Len()%unit == 2 { // a half-used 212 triple
			n++
		}
		if want == 0 || n < want {
			want = min(n, MaxRecordSamples)
		}
	} else if want > 1<<16 {
		want = 1 << 16 // grown as the data arrives
	}
	out := make([][]int16, len(spf))
	for k, n := range spf {
		out[k] = make([]int16, 0, min(want, want/perFrame*n+n))
	}
	// Deal samples in file order to the signals.
	k, j, got := 0, 0, 0 // signal, sample within the frame for signal k, samples dealt
	put := func(v int16) {
		if total > 0 && got == total {
			return // the unused half of the last 212 pair
		}
		out[k] = append(out[k], v)
		got++
		if j++; j == spf[k] {
			j = 0
			if k++; k == len(spf) {
				k = 0
			}
		}
	}
	buf := make([]byte, 48<<10) // a multiple of 3 and 2
	var read int64
	have := 0 // bytes in buf not yet decoded
	for {
		n, err := io.ReadFull(r, buf[have:])
		have += n
		read += int64(n)
		if read > maxBytes {
			if total > 0 {
				return nil, formatError("signal file is longer than the header's %d samples × %d signals in format %d (%d bytes): it does not match its header", nframes, len(spf), format, maxBytes)
			}
			return nil, formatError("signal file is larger than %d bytes", maxSignalBytes)
		}
		whole := have / unit * unit
		b := buf[:whole]
		switch format {
		case 16:
			for i := 0; i < len(b); i += 2 {
				put(int16(binary.LittleEndian.Uint16(b[i:])))
			}
		case 80:
			for _, c := range b {
				put(int16(int(c) - 128))
			}
		case 212:
			for i := 0; i < len(b); i += 3 {
				put(sign12(int(b[i]) | int(b[i+1]&0x0f)<<8))
				put(sign12(int(b[i+2]) | int(b[i+1]&0xf0)<<4))
			}
		}
		if total == 0 && got > MaxRecordSamples {
			return nil, &LimitError{Limit: LimitSamples, Got: float64(got), Max: MaxRecordSamples}
		}
		have = copy(buf, buf[whole:have])
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("ecg: reading signal: %w", err)
		}
	}
	if format == 212 && have == 2 { // the first sample of a half-used pair
		put(sign12(int(buf[0]) | int(buf[1]&0x0f)<<8))
	}
	size := int(read)
	if total > 0 {
		lo, hi := bytesFor(total)
		switch {
		case size < lo:
			return nil, formatError("signal file is truncated: the header's %d samples × %d signals in format %d need %d bytes, the file has %d (%.1f%% of the samples)",
				nframes, len(spf), format, lo, size, 100*float64(size)/float64(lo))
		case size > hi:
			return nil, formatError("signal file is longer than the header's %d samples × %d signals in format %d (%d bytes): it does not match its header", nframes, len(spf), format, hi)
		}
		return out, nil
	}
	if lo, hi := bytesFor(got - got%perFrame); got%perFrame != 0 || size < lo || size > hi {
		return nil, formatError("signal file of %d bytes does not hold a whole number of frames of %d samples in format %d", size, perFrame, format)
	}
	return out, nil
}

// sign12 sign-extends a 12-bit two's complement value.
func sign12(v int) int16 { return int16(uint16(v)<<4) >> 4 }
