package ecg

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Limits on what a header may declare, so a corrupt or hostile header
// cannot make a reader allocate without bound.
const (
	MaxSignals = 256
	// MaxSamples is the most samples per signal a record may declare
	// (24 h at 1 kHz is 86.4 M; Holter records fit).
	MaxSamples   = 200_000_000
	maxLineBytes = 64 << 10
)

// ErrFormat is wrapped by every error about malformed input, so callers can
// tell bad input (shown to the uploader) from I/O failures.
var ErrFormat = errors.New("ecg: malformed input")

// formatError names the fault in a parse error.
func formatError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrFormat, fmt.Sprintf(format, args...))
}

// Header is a parsed WFDB header (.hea): the record line and one Signal per
// signal line. Comment lines are kept in Comments.
type Header struct {
	Record string
	// Fs is the sampling frequency in frames per second (default 250).
	Fs float64
	// CounterFreq and BaseCounter are the optional counter frequency and
	// base counter value; zero when absent.
	CounterFreq, BaseCounter float64
	// NSamples is the number of samples per signal (frames); 0 means unknown,
	// and readers then take it from the signal file's length.
	NSamples int
	// BaseTime and BaseDate are kept as written (HH:MM:SS, DD/MM/YYYY).
	BaseTime, BaseDate string
	Signals            []Signal
	Comments           []string
}

// Signal is one signal line of a WFDB header.
type Signal struct {
	File   string
	Format int
	// SamplesPerFrame is the number of samples of this signal in each frame
	// (the "x" modifier of the format field; 1 when absent).
	SamplesPerFrame int
	// Skew and Offset are the format field's ":skew" and "+offset" modifiers.
	// Offset (bytes to skip at the start of the file) is honoured by the
	// readers; a non-zero Skew is refused by them.
	Skew, Offset int
	// Gain is in ADC units per physical unit (default 200 when 0 or absent).
	Gain float64
	// Baseline is the ADC value of physical zero (default ADCZero).
	Baseline int
	Units    string
	// ADCRes is the ADC resolution in bits (default 12 for 212, 16 for 16,
	// 8 for 80); ADCZero the ADC value mid-range.
	ADCRes, ADCZero int
	// InitialValue is the first sample's value (default ADCZero).
	InitialValue int
	// Checksum is the 16-bit sum of the signal's samples; HasChecksum is
	// false when the header omits it.
	Checksum    int16
	HasChecksum bool
	BlockSize   int
	Description string
}

// ParseHeader parses a WFDB header from r. Comment lines (#) and blank lines
// may appear anywhere; lines may end with LF or CRLF. It fails, naming the
// line and field, on a missing or malformed record line, a wrong number of
// signal lines, unsupported multi-segment records or values out of range.
func ParseHeader(r io.Reader) (*Header, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), maxLineBytes)
	h := &Header{}
	lineNo := 0
	seenRecord := false
	for sc.Scan() {
		lineNo++
		line := strings.TrimRight(sc.Text(), "\r")
		trimmed := strings.TrimSpace(line)
		if trimmed == "" {
			continue
		}
		if trimmed[0] == '#' {
			h.Comments = append(h.Comments, strings.TrimSpace(trimmed[1:]))
			continue
		}
		if i := strings.IndexByte(trimmed, '#'); i >= 0 && !seenRecord {
			trimmed = strings.TrimSpace(trimmed[:i])
		}
		fields := strings.Fields(trimmed)
		if !seenRecord {
			n, err := parseRecordLine(h, fields)
			if err != nil {
				return nil, fmt.Errorf("%w (line %d)", err, lineNo)
			}
			h.Signals = make([]Signal, 0, n)
			seenRecord = true
			continue
		}
		if len(h.Signals) == cap(h.Signals) {
			return nil, formatError("line %d: more signal lines than the %d the record line declares", lineNo, cap(h.Signals))
		}
		s, err := parseSignalLine(fields, trimmed)
		if err != nil {
			return nil, fmt.Errorf("%w (line %d, signal %d)", err, lineNo, len(h.Signals)+1)
		}
		h.Signals = append(h.Signals, s)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, formatError("line %d longer than %d bytes", lineNo+1, maxLineBytes)
		}
		return nil, fmt.Errorf("ecg: reading header: %w", err)
	}
	if !seenRecord {
		return nil, formatError("header has no record line")
	}
	if len(h.Signals) != cap(h.Signals) {
		return nil, formatError("header declares %d signals but has %d signal lines", cap(h.Signals), len(h.Signals))
	}
	return h, nil
}

func parseRecordLine(h *Header, f []string) (nsig int, err error) {
	if len(f) < 2 {
		return 0, formatError("record line needs a name and a number of signals")
	}
	name := f[0]
	if strings.Contains(name, "/") {
		return 0, formatError("record %q: multi-segment records are not supported", name)
	}
	h.Record = name
	nsig, err = strconv.Atoi(f[1])
	if err != nil || nsig < 0 || nsig > MaxSignals {
		return 0, formatError("record line: number of signals %q is not an integer in 0..%d", f[1], MaxSignals)
	}
	h.Fs = 250
	if len(f) > 2 {
		if err := parseFrequency(h, f[2]); err != nil {
			return 0, err
		}
	}
	if len(f) > 3 {
		n, err := strconv.Atoi(f[3])
		if err != nil || n < 0 || n > MaxSamples {
			return 0, formatError("record line: number of samples %q is not an integer in 0..%d", f[3], MaxSamples)
		}
		h.NSamples = n
	}
	if len(f) > 4 {
		h.BaseTime = f[4]
	}
	if len(f) > 5 {
		h.BaseDate = f[5]
	}
	return nsig, nil
}

// parseFrequency parses "fs[/counterfreq[(basecounter)]]".
func parseFrequency(h *Header, s string) error {
	fsText, rest, hasCounter := strings.Cut(s, "/")
	fs, err := strconv.ParseFloat(fsText, 64)
	if err != nil || !(fs > 0) || math.IsInf(fs, 0) || fs > 1e6 {
		return formatError("record line: sampling frequency %q is not a number in (0, 1e6]", fsText)
	}
	h.Fs = fs
	if !hasCounter {
		return nil
	}
	cf, base, hasBase := strings.Cut(rest, "(")
	if h.CounterFreq, err = strconv.ParseFloat(cf, 64); err != nil || math.IsNaN(h.CounterFreq) {
		return formatError("record line: counter frequency %q is not a number", cf)
	}
	if hasBase {
		b, ok := strings.CutSuffix(base, ")")
		if h.BaseCounter, err = strconv.ParseFloat(b, 64); !ok || err != nil || math.IsNaN(h.BaseCounter) {
			return formatError("record line: base counter %q is not a number in parentheses", "("+base)
		}
	}
	return nil
}

func parseSignalLine(f []string, line string) (Signal, error) {
	var s Signal
	if len(f) < 2 {
		return s, formatError("signal line needs a file name and a format")
	}
	s.File = f[0]
	if err := parseFormat(&s, f[1]); err != nil {
		return s, err
	}
	switch s.Format {
	case 212:
		s.ADCRes = 12
	case 16:
		s.ADCRes = 16
	case 80:
		s.ADCRes = 8
	}
	s.Gain = 200
	baselineGiven := false
	if len(f) > 2 {
		g := f[2]
		if i := strings.IndexByte(g, '/'); i >= 0 {
			s.Units = g[i+1:]
			g = g[:i]
		}
		if i := strings.IndexByte(g, '('); i >= 0 {
			b, ok := strings.CutSuffix(g[i+1:], ")")
			v, err := strconv.Atoi(b)
			if !ok || err != nil {
				return s, formatError("signal line: baseline %q is not an integer in parentheses", g[i:])
			}
			s.Baseline, baselineGiven = v, true
			g = g[:i]
		}
		v, err := strconv.ParseFloat(g, 64)
		if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
			return s, formatError("signal line: gain %q is not a non-negative number", g)
		}
		if v != 0 {
			s.Gain = v
		}
	}
	ints := []*int{&s.ADCRes, &s.ADCZero, &s.InitialValue}
	names := []string{"ADC resolution", "ADC zero", "initial value"}
	initGiven := false
	for k := range ints {
		if len(f) > 3+k {
			v, err := strconv.Atoi(f[3+k])
			if err != nil {
				return s, formatError("signal line: %s %q is not an integer", names[k], f[3+k])
			}
			if k == 0 {
				if v < 0 || v > 32 {
					return s, formatError("signal line: ADC resolution %d is not in 0..32", v)
				}
				if v == 0 {
					continue // 0 means the format's default
				}
			}
			*ints[k] = v
			if k == 2 {
				initGiven = true
			}
		}
	}
	if !baselineGiven {
		s.Baseline = s.ADCZero
	}
	if !initGiven {
		s.InitialValue = s.ADCZero
	}
	if len(f) > 6 {
		v, err := strconv.ParseInt(f[6], 10, 64)
		if err != nil || v < math.MinInt16 || v > math.MaxUint16 {
			return s, formatError("signal line: checksum %q is not a 16-bit integer", f[6])
		}
		s.Checksum, s.HasChecksum = int16(uint16(v)), true
	}
	if len(f) > 7 {
		v, err := strconv.Atoi(f[7])
		if err != nil || v < 0 {
			return s, formatError("signal line: block size %q is not a non-negative integer", f[7])
		}
		s.BlockSize = v
	}
	if len(f) > 8 {
		// The description is the rest of the line, spaces included.
		rest := line
		for k := 0; k < 8; k++ {
			rest = strings.TrimLeft(rest, " \t")
			rest = rest[len(f[k]):]
		}
		s.Description = strings.TrimSpace(rest)
	}
	return s, nil
}

// parseFormat parses "format[xspf][:skew][+offset]".
func parseFormat(s *Signal, t string) error {
	orig := t
	s.SamplesPerFrame = 1
	if i := strings.IndexByte(t, '+'); i >= 0 {
		v, err := strconv.Atoi(t[i+1:])
		if err != nil || v < 0 {
			return formatError("signal line: byte offset in %q is not a non-negative integer", orig)
		}
		s.Offset, t = v, t[:i]
	}
	if i := strings.IndexByte(t, ':'); i >= 0 {
		v, err := strconv.Atoi(t[i+1:])
		if err != nil || v < 0 {
			return formatError("signal line: skew in %q is not a non-negative integer", orig)
		}
		s.Skew, t = v, t[:i]
	}
	if i := strings.IndexByte(t, 'x'); i >= 0 {
		v, err := strconv.Atoi(t[i+1:])
		if err != nil || v < 1 || v > 1000 {
			return formatError("signal line: samples per frame in %q is not an integer in 1..1000", orig)
		}
		s.SamplesPerFrame, t = v, t[:i]
	}
	v, err := strconv.Atoi(t)
	if err != nil {
		return formatError("signal line: format %q is not a number", orig)
	}
	s.Format = v
	return nil
}
