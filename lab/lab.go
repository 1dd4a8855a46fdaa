// Package lab is structured lab results (检验结果) recorded by a clinic for
// a resident — from a form, the JSON API or a CSV export of the analyser —
// checked (known analyte by local or LOINC code, a unit the analyte is
// reported in, converted to its SI unit; impossible values refused) and
// filed in the resident's record. A result at a critical limit raises a
// critical-value alert (package critical) in the same transaction.
package lab

import (
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"countycare/care"
)

// Abnormal flags, after HL7 v2 Table 0078 (Interpretation codes): N normal,
// L/H below/above the reference range, LL/HH at a critical limit.
const (
	FlagNone = ""
	FlagN    = "N"
	FlagL    = "L"
	FlagH    = "H"
	FlagLL   = "LL"
	FlagHH   = "HH"
)

// Result is one filed lab result.
type Result struct {
	ID          int64
	CountyCode  string
	ResidentID  int64
	ClinicID    int64  // the ordering clinic
	OrderedBy   int64  // account that recorded it
	Doctor      string // the ordering doctor's name, as on the request form
	Analyte     string // Analyte.Code
	LOINC       string
	LocalCode   string // the code as the clinic sent it
	Value       float64
	Unit        string
	ValueSI     float64 // Value in the analyte's SI unit
	UnitSI      string
	RefLow      *float64 // reference range as printed (in Unit)
	RefHigh     *float64
	Flag        string
	Specimen    string // serum, plasma, whole blood …
	Device      string // analyser or laboratory
	CollectedAt time.Time
	ResultedAt  time.Time
	CreatedAt   time.Time

	// SpecimenID is the specimen the result is of (0: none; package
	// specimen), SpecimenVersion the version it was read at.
	SpecimenID      int64
	SpecimenVersion int

	// Critical is the critical-value finding ("" if none); AlertID the
	// alert raised for it (filled after saving).
	Critical string
	AlertID  int64
}

// Input is one result as typed or imported: text fields, parsed by Check.
type Input struct {
	Code        string // local code or LOINC
	Value       string
	Unit        string
	RefRange    string // "3.5-5.1", "<5.2", ">1.0" or empty
	Flag        string // optional; computed from the range when one is given
	Specimen    string
	Device      string
	Doctor      string
	CollectedAt string // RFC 3339, or "2006-01-02 15:04" / "2006-01-02T15:04" in China time
	ResultedAt  string // as CollectedAt; empty: the time of recording
}

// ParseTime reads a result time: RFC 3339, or local China time.
func ParseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), true
	}
	for _, l := range []string{"2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006/01/02 15:04"} {
		if t, err := time.ParseInLocation(l, s, care.Shanghai); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// parseNumber reads a decimal number; NaN and infinities are refused.
func parseNumber(s string) (float64, bool) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}

// parseRange reads "low-high", "<high", "≤high", ">low" or "≥low".
func parseRange(s string) (lo, hi *float64, ok bool) {
	s = strings.TrimSpace(strings.ReplaceAll(s, " ", ""))
	if s == "" {
		return nil, nil, true
	}
	for _, p := range []string{"<=", "≤", "<"} {
		if strings.HasPrefix(s, p) {
			v, ok := parseNumber(s[len(p):])
			return nil, &v, ok
		}
	}
	for _, p := range []string{">=", "≥", ">"} {
		if strings.HasPrefix(s, p) {
			v, ok := parseNumber(s[len(p):])
			return &v, nil, ok
		}
	}
	for _, sep := range []string{"~", "–", "-"} {
		if i := strings.Index(s[1:], sep); i >= 0 {
			a, ok1 := parseNumber(s[:i+1])
			b, ok2 := parseNumber(s[i+1+len(sep):])
			if ok1 && ok2 && a <= b {
				return &a, &b, true
			}
			return nil, nil, false
		}
	}
	return nil, nil, false
}

// maxText bounds free-text fields.
const maxText = 100

// Check parses and validates an input as a result collected no later than
// now (plus 5 minutes of clock skew). The caller sets the resident, clinic
// and ordering account. Faults are field errors with prefix before each
// field name ("line 3: value" in an import).
func Check(in Input, now time.Time, prefix string) (*Result, []care.FieldError) {
	var fs []care.FieldError
	bad := func(field, key string, args ...any) {
		fs = append(fs, care.FieldError{Field: prefix + field, Key: key, Args: args})
	}
	r := &Result{LocalCode: strings.TrimSpace(in.Code), Unit: strings.TrimSpace(in.Unit), Specimen: strings.TrimSpace(in.Specimen),
		Device: strings.TrimSpace(in.Device), Doctor: strings.TrimSpace(in.Doctor)}
	an, ok := Lookup(in.Code)
	if !ok {
		bad("code", "lab.code_unknown", r.LocalCode)
	}
	v, okv := parseNumber(in.Value)
	if !okv {
		bad("value", "lab.value_number")
	}
	if an != nil {
		r.Analyte, r.LOINC, r.UnitSI = an.Code, an.LOINC, an.Unit
		si, oku := an.Convert(v, r.Unit)
		switch {
		case !oku:
			bad("unit", "lab.unit_wrong", r.Unit, an.Code, strings.Join(an.UnitNames(), ", "))
		case okv && (si < an.Min || si > an.Max):
			bad("value", "lab.value_impossible", in.Value, r.Unit, num(an.Min), num(an.Max), an.Unit)
		}
		r.Value, r.ValueSI = v, round(si, 4)
	}
	lo, hi, okr := parseRange(in.RefRange)
	if !okr {
		bad("ref_range", "lab.ref_range_bad")
	}
	r.RefLow, r.RefHigh = lo, hi
	r.Flag = strings.ToUpper(strings.TrimSpace(in.Flag))
	switch r.Flag {
	case FlagNone, FlagN, FlagL, FlagH, FlagLL, FlagHH:
	default:
		bad("flag", "lab.flag")
	}
	if okv && okr && (lo != nil || hi != nil) {
		r.Flag = FlagN
		if lo != nil && v < *lo {
			r.Flag = FlagL
		} else if hi != nil && v > *hi {
			r.Flag = FlagH
		}
	}
	for f, s := range map[string]string{"specimen": r.Specimen, "device": r.Device, "doctor": r.Doctor} {
		if utf8.RuneCountInString(s) > maxText || !utf8.ValidString(s) {
			bad(f, "lab.text_long", maxText)
		}
	}
	if r.Doctor == "" {
		bad("doctor", "field.required")
	}
	c, okc := ParseTime(in.CollectedAt)
	if !okc {
		bad("collected_at", "lab.time")
	}
	res := now.UTC()
	if strings.TrimSpace(in.ResultedAt) != "" {
		var okt bool
		if res, okt = ParseTime(in.ResultedAt); !okt {
			bad("resulted_at", "lab.time")
		}
	}
	limit := now.Add(5 * time.Minute)
	switch {
	case okc && c.After(limit):
		bad("collected_at", "lab.time_future")
	case res.After(limit):
		bad("resulted_at", "lab.time_future")
	case okc && res.Before(c):
		bad("resulted_at", "lab.resulted_before_collected")
	}
	r.CollectedAt, r.ResultedAt = c, res
	return r, fs
}

// RefRange returns the reference range as printed: "3.5–5.1", "<5.2",
// ">1.0", or "" when none was given.
func (r *Result) RefRange() string {
	switch {
	case r.RefLow != nil && r.RefHigh != nil:
		return num(*r.RefLow) + "–" + num(*r.RefHigh)
	case r.RefHigh != nil:
		return "<" + num(*r.RefHigh)
	case r.RefLow != nil:
		return ">" + num(*r.RefLow)
	}
	return ""
}

func round(v float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(v*p) / p
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
