package ecg

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// HL7 aECG (HL7 v3 Annotated ECG, ANSI/HL7 V3 ECG R1-2004; the format
// the FDA takes for thorough QT studies): AnnotatedECG → component →
// series → component → sequenceSet → component → sequence, each sequence
// a code (TIME_ABSOLUTE or TIME_RELATIVE for the time axis,
// MDC_ECG_LEAD_* for a lead) and a value: GLIST_TS or GLIST_PQ (head and
// increment) for time, SLIST_PQ (origin, scale and space-separated
// integer digits; value = origin + scale × digit) for a lead.

// Limits of an aECG document. XML costs far more bytes per sample than a
// binary format (about 4 per digit), so a 10-s 12-lead ECG is 0.3–0.6 MB;
// 64 MiB holds a few minutes of 12 leads at 500 Hz.
const (
	MaxAECGBytes = 64 << 20
	maxAECGDepth = 64
)

// ReadAECG reads an HL7 aECG document: the first sequence set of the first
// rhythm series (a derived series — representative beats — is skipped),
// its time increment as the sampling rate and each SLIST_PQ lead in µV,
// with the subject's demographics, the acquisition time and the machine's
// measurements (PQ annotations) and statements (CE and ST annotations).
//
// The reader is safe on hostile XML: a DOCTYPE (the only way to declare
// entities, hence external entities — XXE — and entity expansion bombs)
// is refused before anything is expanded; Go's encoding/xml fetches
// nothing and expands only the five predefined entities. The document is
// bounded to MaxAECGBytes and a nesting depth of 64. Errors wrap ErrFormat
// (or are a *LimitError).
func ReadAECG(r io.Reader) (*Record, error) { return readAECG(r, MaxAECGBytes) }

// readAECG is ReadAECG with a document size limit of maxBytes.
func readAECG(r io.Reader, maxBytes int64) (*Record, error) {
	src := &readErr{r: r}
	lr := &io.LimitedReader{R: src, N: maxBytes + 1}
	d := xml.NewDecoder(lr)
	d.Strict = true
	d.Entity = nil
	p := aecgParser{rec: &Record{Name: "aECG", Info: &Info{}}}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if lr.N <= 0 {
			return nil, formatError("aECG document larger than %d bytes", maxBytes)
		}
		if err != nil {
			if src.err != nil {
				return nil, fmt.Errorf("ecg: reading aECG: %w", src.err)
			}
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return nil, formatError("aECG XML line %d: %s", se.Line, se.Msg)
			}
			return nil, formatError("aECG XML: %v", err) // e.g. an XML version or encoding it does not take
		}
		switch t := tok.(type) {
		case xml.Directive:
			if bytes.HasPrefix(bytes.TrimSpace(t), []byte("DOCTYPE")) {
				return nil, formatError("aECG document has a DOCTYPE: document type definitions (which can declare external entities or entity expansions) are not accepted")
			}
		case xml.StartElement:
			if len(p.path) >= maxAECGDepth {
				return nil, formatError("aECG XML nested deeper than %d elements", maxAECGDepth)
			}
			p.path = append(p.path, t.Name.Local)
			if err := p.start(t); err != nil {
				return nil, err
			}
		case xml.EndElement:
			if err := p.end(t.Name.Local); err != nil {
				return nil, err
			}
			p.path = p.path[:len(p.path)-1]
		case xml.CharData:
			p.text(t)
		}
	}
	if lr.N <= 0 {
		return nil, formatError("aECG document larger than %d bytes", maxBytes)
	}
	if !p.sawRoot {
		return nil, formatError("not an aECG document: the root element is not AnnotatedECG")
	}
	if len(p.rec.Leads) == 0 {
		return nil, formatError("aECG document has no lead sequences (SLIST_PQ with an MDC_ECG_LEAD_* code)")
	}
	if !(p.rec.Fs > 0) {
		return nil, formatError("aECG sequence set has no time sequence with a positive increment")
	}
	n := len(p.rec.Leads[0].Samples)
	for _, l := range p.rec.Leads[1:] {
		if len(l.Samples) != n {
			return nil, formatError("aECG lead %s has %d samples, lead %s has %d: the leads must be of one length", l.Name, len(l.Samples), p.rec.Leads[0].Name, n)
		}
	}
	if err := p.rec.CheckLimits(); err != nil {
		return nil, err
	}
	return p.rec, nil
}

// readErr remembers a failure of the reader itself, so that it is told
// from malformed XML.
type readErr struct {
	r   io.Reader
	err error
}

func (e *readErr) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}

// aecgParser follows the element path of an aECG document.
type aecgParser struct {
	rec     *Record
	path    []string
	sawRoot bool
	// seq is the sequence being read, setDone once the first sequence set
	// of a rhythm series has ended (later sets and series are ignored).
	seq     *aecgSequence
	inSet   bool
	setDone bool
	samples int // all leads so far
	// annotations being read (they nest)
	anns    []*aecgAnnotation
	digits  []byte
	textDst *string
}

type aecgSequence struct {
	code, typ                      string
	increment, origin, scale       float64
	incUnit, originUnit, scaleUnit string
	hasIncrement, hasScale, isLead bool
	name                           string
}

type aecgAnnotation struct {
	code, valueType, valueCode, display, unit, text string
	value                                           float64
	hasValue                                        bool
}

func attr(t xml.StartElement, name string) string {
	for _, a := range t.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// in reports whether the element path contains name.
func (p *aecgParser) in(name string) bool {
	for _, s := range p.path {
		if s == name {
			return true
		}
	}
	return false
}

func (p *aecgParser) parent() string {
	if len(p.path) < 2 {
		return ""
	}
	return p.path[len(p.path)-2]
}

func (p *aecgParser) start(t xml.StartElement) error {
	name := t.Name.Local
	if len(p.path) == 1 {
		if name != "AnnotatedECG" {
			return formatError("not an aECG document: the root element is %s, not AnnotatedECG", name)
		}
		p.sawRoot = true
		return nil
	}
	in := p.rec.Info
	switch {
	case name == "sequenceSet" && !p.setDone && !p.in("derivation") && p.in("series"):
		p.inSet = true
	case name == "sequence" && p.inSet:
		p.seq = &aecgSequence{}
	case p.seq != nil && name == "code" && p.parent() == "sequence":
		p.seq.code = attr(t, "code")
	case p.seq != nil && name == "value" && p.parent() == "sequence":
		p.seq.typ = attr(t, "type")
	case p.seq != nil && name == "increment":
		v, err := aecgNumber(attr(t, "value"), "increment")
		if err != nil {
			return err
		}
		p.seq.increment, p.seq.incUnit, p.seq.hasIncrement = v, attr(t, "unit"), true
	case p.seq != nil && name == "origin":
		v, err := aecgNumber(attr(t, "value"), "origin")
		if err != nil {
			return err
		}
		p.seq.origin, p.seq.originUnit = v, attr(t, "unit")
	case p.seq != nil && name == "scale":
		v, err := aecgNumber(attr(t, "value"), "scale")
		if err != nil {
			return err
		}
		p.seq.scale, p.seq.scaleUnit, p.seq.hasScale = v, attr(t, "unit"), true
	case p.seq != nil && name == "digits":
		p.digits = p.digits[:0]
		p.textDst = nil
	case name == "annotation":
		p.anns = append(p.anns, &aecgAnnotation{})
	case len(p.anns) > 0 && name == "code" && p.parent() == "annotation":
		p.anns[len(p.anns)-1].code = attr(t, "code")
	case len(p.anns) > 0 && name == "value" && p.parent() == "annotation":
		a := p.anns[len(p.anns)-1]
		a.valueType = attr(t, "type")
		a.valueCode, a.display, a.unit = attr(t, "code"), attr(t, "displayName"), attr(t, "unit")
		if v := attr(t, "value"); v != "" {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				a.value, a.hasValue = f, true
			}
		}
		if a.valueType == "ST" {
			p.textDst = &a.text
		}
	case p.in("subjectDemographicPerson") && name == "name":
		p.textDst = &in.PatientName
	case p.in("subjectDemographicPerson") && name == "administrativeGenderCode":
		if c := attr(t, "code"); c == "M" || c == "F" {
			in.Sex = c
		}
	case p.in("subjectDemographicPerson") && name == "birthTime":
		in.BirthDate = DigitsDate(attr(t, "value"))
	case name == "id" && p.parent() == "trialSubject" && in.PatientID == "":
		in.PatientID = attr(t, "extension")
	case (name == "center" || name == "low") && len(p.path) == 3 && p.path[1] == "effectiveTime" && in.Acquired == "":
		in.Acquired = DigitsTime(attr(t, "value"))
	case name == "manufacturerModelName" && in.Device == "":
		p.textDst = &in.Device
	}
	return nil
}

func (p *aecgParser) text(b []byte) {
	if p.seq != nil && len(p.path) > 0 && p.path[len(p.path)-1] == "digits" {
		if len(p.digits)+len(b) <= MaxAECGBytes {
			p.digits = append(p.digits, b...)
		}
		return
	}
	if p.textDst != nil && len(*p.textDst) < 256 {
		*p.textDst += strings.TrimSpace(string(b))
	}
}

func (p *aecgParser) end(name string) error {
	switch {
	case name == "digits" && p.seq != nil:
		return p.leadDigits()
	case name == "sequence" && p.seq != nil:
		return p.endSequence()
	case name == "sequenceSet" && p.inSet:
		p.inSet, p.setDone = false, true
	case name == "annotation" && len(p.anns) > 0:
		p.endAnnotation(p.anns[len(p.anns)-1])
		p.anns = p.anns[:len(p.anns)-1]
	}
	if name != "digits" {
		p.textDst = nil
	}
	return nil
}

// leadDigits turns a lead's digits into samples.
func (p *aecgParser) leadDigits() error {
	s := p.seq
	lead, ok := MDCLeadName(s.code)
	if !ok || s.typ != "SLIST_PQ" {
		return nil // a sequence of another kind (e.g. a calibration pulse)
	}
	if !s.hasScale || s.scale == 0 {
		return formatError("aECG lead %s has no scale", lead)
	}
	if len(p.rec.Leads) >= MaxLeads {
		return &LimitError{Limit: LimitLeads, Got: float64(len(p.rec.Leads) + 1), Max: MaxLeads}
	}
	toUV, err := Microvolts(s.scaleUnit)
	if err != nil {
		return formatError("aECG lead %s scale: %v", lead, err)
	}
	oUV, err := Microvolts(s.originUnit)
	if err != nil {
		oUV = toUV // an origin without its own unit is in the scale's
	}
	// Samples are kept as the file's digits; the gain and baseline carry
	// the scale and origin, so nothing is rounded.
	l := Lead{Name: lead, Units: "mV", Gain: 1000 / (s.scale * toUV), SamplesPerFrame: 1}
	base := -s.origin * oUV / (s.scale * toUV)
	if base != math.Trunc(base) || math.Abs(base) > math.MaxInt32 {
		return formatError("aECG lead %s origin %g %s is not a whole number of its scale %g %s", lead, s.origin, s.originUnit, s.scale, s.scaleUnit)
	}
	l.Baseline = int(base)
	f := bytes.Fields(p.digits)
	if len(f) > MaxLeadSamples {
		return &LimitError{Limit: LimitLeadSamples, Got: float64(len(f)), Max: MaxLeadSamples}
	}
	if p.samples+len(f) > MaxRecordSamples {
		return &LimitError{Limit: LimitSamples, Got: float64(p.samples + len(f)), Max: MaxRecordSamples}
	}
	l.Samples = make([]int16, len(f))
	for i, w := range f {
		v, err := strconv.ParseInt(string(w), 10, 16)
		if err != nil {
			return formatError("aECG lead %s digit %d %q is not an integer within ±32767", lead, i+1, w)
		}
		l.Samples[i] = int16(v)
	}
	p.samples += len(f)
	p.rec.Leads = append(p.rec.Leads, l)
	s.isLead = true
	return nil
}

func (p *aecgParser) endSequence() error {
	s := p.seq
	p.seq = nil
	if s.isLead || !strings.HasPrefix(s.code, "TIME_") {
		return nil
	}
	if !s.hasIncrement || !(s.increment > 0) {
		return formatError("aECG time sequence %s has no positive increment", s.code)
	}
	inc := s.increment
	switch s.incUnit {
	case "s", "":
	case "ms":
		inc /= 1000
	case "us":
		inc /= 1e6
	default:
		return formatError("aECG time increment unit %q is not s, ms or us", s.incUnit)
	}
	p.rec.Fs = 1 / inc
	if p.rec.Fs > 100_000 || p.rec.Fs < 1 {
		return formatError("aECG time increment %g s is out of range", inc)
	}
	return nil
}

func (p *aecgParser) endAnnotation(a *aecgAnnotation) {
	in := p.rec.Info
	switch {
	case a.valueType == "PQ" && a.hasValue:
		in.AddMeasurement(Measurement{Code: a.code, Value: a.value, Unit: a.unit})
	case a.valueType == "CE" && a.valueCode != "" && aecgStatementCode(a.code):
		s := a.display
		if s == "" {
			s = a.valueCode
		}
		in.AddStatement(s)
	case a.valueType == "ST" && aecgStatementCode(a.code):
		in.AddStatement(a.text)
	}
}

// aecgStatementCode reports whether an annotation code is a statement
// (rhythm, interpretation) rather than a wave or beat mark
// (MDC_ECG_WAVC_*, MDC_ECG_BEAT_*), which are not read.
func aecgStatementCode(code string) bool {
	return strings.HasPrefix(code, "MDC_ECG_RHY") || strings.Contains(code, "INTERPRETATION") || strings.Contains(code, "STATEMENT")
}

func aecgNumber(s, what string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, formatError("aECG %s %q is not a number", what, s)
	}
	return v, nil
}

// Microvolts is how many µV one unit of voltage (UCUM: uV, mV, nV, V) is;
// another unit is an error.
func Microvolts(unit string) (float64, error) {
	switch unit {
	case "uV":
		return 1, nil
	case "mV":
		return 1000, nil
	case "nV":
		return 0.001, nil
	case "V":
		return 1e6, nil
	}
	return 0, fmt.Errorf("unit %q is not a voltage (uV, mV, nV, V)", unit)
}

// DigitsDate turns a date written as digits, YYYYMMDD… (HL7 TS, DICOM DA
// and DT), into YYYY-MM-DD; "" when shorter.
func DigitsDate(v string) string {
	if len(v) < 8 {
		return ""
	}
	return v[:4] + "-" + v[4:6] + "-" + v[6:8]
}

// DigitsTime turns a timestamp written as digits, YYYYMMDDhhmmss… (HL7
// TS, DICOM DT), into "YYYY-MM-DD hh:mm:ss" (the date alone when shorter).
func DigitsTime(v string) string {
	if len(v) < 14 {
		return DigitsDate(v)
	}
	return DigitsDate(v) + " " + v[8:10] + ":" + v[10:12] + ":" + v[12:14]
}
