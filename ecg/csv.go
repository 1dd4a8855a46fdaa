package ecg

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// ReadBeatsCSV reads the reference-beat CSV of the shared MIT-BIH data: a
// header "sample,pvc" (column order free, other columns ignored), then one
// row per annotated beat of any type: sample index (non-negative integer,
// non-decreasing) and pvc (1 for a premature ventricular contraction, else
// 0). It fails naming the line for a missing column, a bad number or
// samples out of order.
func ReadBeatsCSV(r io.Reader) ([]ReferenceBeat, error) {
	cr := csv.NewReader(bufio.NewReader(limitLines(r, maxLineBytes)))
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err == io.EOF {
		return nil, formatError("beats CSV is empty: it needs a header sample,pvc")
	}
	if err != nil {
		return nil, csvError(err)
	}
	head = slices.Clone(head) // the reader reuses its record
	si, pi := -1, -1
	for i, h := range head {
		switch strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))) {
		case "sample":
			si = i
		case "pvc":
			pi = i
		}
	}
	if si < 0 {
		return nil, formatError("beats CSV line 1: no \"sample\" column in the header %q", strings.Join(head, ","))
	}
	var out []ReferenceBeat
	last := int64(-1)
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, csvError(err)
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if si >= len(rec) || (pi >= 0 && pi >= len(rec)) {
			return nil, formatError("beats CSV line %d: %d fields, the header has %d", line, len(rec), len(head))
		}
		s, err := strconv.ParseInt(strings.TrimSpace(rec[si]), 10, 64)
		if err != nil || s < 0 {
			return nil, formatError("beats CSV line %d: sample %q is not a non-negative integer", line, rec[si])
		}
		if s < last {
			return nil, formatError("beats CSV line %d: sample %d comes before the previous beat's %d", line, s, last)
		}
		last = s
		b := ReferenceBeat{Sample: s}
		if pi >= 0 {
			switch strings.TrimSpace(rec[pi]) {
			case "1":
				b.PVC = true
			case "0", "":
			default:
				return nil, formatError("beats CSV line %d: pvc %q is not 0 or 1", line, rec[pi])
			}
		}
		if len(out) >= maxAnnotations {
			return nil, formatError("beats CSV holds more than %d beats", maxAnnotations)
		}
		out = append(out, b)
	}
}

func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return formatError("CSV line %d: %v", pe.Line, pe.Err)
	}
	if errors.Is(err, ErrFormat) {
		return err // a line too long
	}
	return fmt.Errorf("ecg: reading CSV: %w", err)
}

// maxCSVSamples bounds the rows of a CSV export (2 h at 1 kHz).
const maxCSVSamples = 7_200_000

// ReadCSV reads a plain CSV ECG export: a header row naming the columns,
// the first being time and the others one lead each ("time,I,II,V1" or
// "Time (s),MLII (mV)"); then one row per sample. Time is in seconds, or in
// milliseconds when the first header says "ms"; values are in millivolts
// unless the header gives another unit in parentheses or brackets ("(uV)").
// The sampling frequency is derived from the time column, which must
// increase evenly (within 1 % of the median step or 1 ms, whichever is larger, so
// rounded timestamps are accepted). Separators "," ";" and tab are
// recognised from the header. Samples are stored as int16 at 1 µV
// resolution (gain 1000 per mV), so a value must be within ±32.767 mV (a
// surface ECG is within ±10 mV); at most MaxLeads leads and maxCSVSamples
// rows (*LimitError).
//
// It fails naming the line and column for a missing or extra field, a value
// that is not a number, time that goes backwards or jumps, or fewer than two
// rows.
func ReadCSV(r io.Reader) (*Record, error) {
	br := bufio.NewReader(limitLines(r, maxLineBytes))
	first, err := br.Peek(4096)
	if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, csvError(err)
	}
	headLine, _, _ := strings.Cut(string(first), "\n")
	sep := ','
	if strings.Count(headLine, ";") > strings.Count(headLine, ",") {
		sep = ';'
	}
	if strings.Count(headLine, "\t") > strings.Count(headLine, string(sep)) {
		sep = '\t'
	}
	cr := csv.NewReader(br)
	cr.Comma = sep
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err == io.EOF {
		return nil, formatError("ECG CSV is empty")
	}
	if err != nil {
		return nil, csvError(err)
	}
	head = slices.Clone(head) // the reader reuses its record
	if len(head) < 2 {
		return nil, formatError("ECG CSV line 1: the header needs a time column and at least one lead, got %q", strings.Join(head, string(sep)))
	}
	if len(head) > MaxLeads+1 {
		return nil, &LimitError{Limit: LimitLeads, Got: float64(len(head) - 1), Max: MaxLeads}
	}
	timeScale := 1.0
	if name, unit := splitUnit(head[0]); strings.EqualFold(unit, "ms") || strings.EqualFold(name, "ms") {
		timeScale = 1e-3
	}
	rec := &Record{Name: "csv", Leads: make([]Lead, len(head)-1)}
	scale := make([]float64, len(head)-1) // to µV
	for i, h := range head[1:] {
		name, unit := splitUnit(h)
		if name == "" {
			name = fmt.Sprintf("lead %d", i+1)
		}
		switch strings.ToLower(unit) {
		case "", "mv":
			scale[i] = 1000
		case "uv", "µv", "μv":
			scale[i] = 1
		case "v":
			scale[i] = 1e6
		default:
			return nil, formatError("ECG CSV line 1: unit %q of column %q is not mV, uV or V", unit, h)
		}
		rec.Leads[i] = Lead{Name: name, Units: "mV", Gain: 1000, SamplesPerFrame: 1}
	}
	// Time is checked from the first and last times and the smallest and
	// largest steps, not kept: every step is within the tolerance of the
	// mean step exactly when these two are (issue 18: 8 bytes a row less).
	rows := 0
	var t0, prev float64
	var minD, maxD = math.Inf(1), math.Inf(-1)
	minAt, maxAt := 0, 0 // row index of the later sample of each step
	for line := 2; ; line++ {
		row, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, csvError(err)
		}
		if len(row) == 1 && strings.TrimSpace(row[0]) == "" {
			continue
		}
		if len(row) != len(head) {
			return nil, formatError("ECG CSV line %d: %d fields, the header has %d", line, len(row), len(head))
		}
		if rows >= maxCSVSamples {
			return nil, &LimitError{Limit: LimitLeadSamples, Got: float64(rows + 1), Max: maxCSVSamples}
		}
		if (rows+1)*len(rec.Leads) > MaxRecordSamples {
			return nil, &LimitError{Limit: LimitSamples, Got: float64((rows + 1) * len(rec.Leads)), Max: MaxRecordSamples}
		}
		t, err := parseFinite(row[0])
		if err != nil {
			return nil, formatError("ECG CSV line %d: time %q is not a number", line, row[0])
		}
		t *= timeScale
		if rows == 0 {
			t0 = t
		} else {
			d := t - prev
			if d < minD {
				minD, minAt = d, rows
			}
			if d > maxD {
				maxD, maxAt = d, rows
			}
		}
		prev = t
		rows++
		for i := range rec.Leads {
			v, err := parseFinite(row[i+1])
			if err != nil || math.Abs(math.Round(v*scale[i])) > math.MaxInt16 {
				return nil, formatError("ECG CSV line %d, column %q: %q is not a number in range (±32.767 mV)", line, head[i+1], row[i+1])
			}
			rec.Leads[i].Samples = append(rec.Leads[i].Samples, int16(math.Round(v*scale[i])))
		}
	}
	if rows < 2 {
		return nil, formatError("ECG CSV has %d sample rows, at least 2 are needed", rows)
	}
	step := (prev - t0) / float64(rows-1)
	if !(step > 0) {
		return nil, formatError("ECG CSV: time does not increase (first %g s, last %g s)", t0, prev)
	}
	tol := math.Max(0.01*step, 1e-3)
	bad, badAt := 0.0, -1
	if math.Abs(minD-step) > tol {
		bad, badAt = minD, minAt
	}
	if math.Abs(maxD-step) > tol && (badAt < 0 || maxAt < badAt) {
		bad, badAt = maxD, maxAt
	}
	if badAt >= 0 {
		return nil, formatError("ECG CSV line %d: time step %.6g s differs from the record's %.6g s (missing or repeated samples)", badAt+2, bad, step)
	}
	rec.Fs = 1 / step
	if rec.Fs > 1e6 {
		return nil, formatError("ECG CSV: sampling frequency %.0f Hz is implausible", rec.Fs)
	}
	if err := rec.CheckLimits(); err != nil {
		return nil, err
	}
	return rec, nil
}

// splitUnit splits "MLII (mV)" or "V1[uV]" into name and unit.
func splitUnit(h string) (name, unit string) {
	h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
	for _, p := range [][2]string{{"(", ")"}, {"[", "]"}} {
		if i := strings.LastIndex(h, p[0]); i >= 0 && strings.HasSuffix(h, p[1]) {
			return strings.TrimSpace(h[:i]), strings.TrimSpace(h[i+1 : len(h)-1])
		}
	}
	return h, ""
}

func parseFinite(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, errors.New("not a finite number")
	}
	return v, nil
}
