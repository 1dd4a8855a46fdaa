package ecg

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNotSupported is wrapped by an *UnsupportedError: a well-formed file
// using a feature of its format this package does not decode.
var ErrNotSupported = errors.New("ecg: not supported")

// UnsupportedError is a valid file using a feature that is not decoded
// (SCP-ECG bimodal compression, reference beat subtraction, a custom
// Huffman table). It matches both ErrNotSupported and ErrFormat, so an
// upload is refused with its reason like any unreadable file.
type UnsupportedError struct {
	Format  string // "SCP-ECG", "aECG", "DICOM waveform"
	Feature string // what the file uses
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("%v: %s: %s is not supported", ErrFormat, e.Format, e.Feature)
}

// Unwrap lets errors.Is match ErrFormat and ErrNotSupported.
func (e *UnsupportedError) Unwrap() []error { return []error{ErrFormat, ErrNotSupported} }

// Info is what a file says about the tracing besides the samples: the
// patient and acquisition fields and the machine's own interpretation,
// kept for the reader (a machine statement is never a signed report).
type Info struct {
	PatientID, PatientName string
	Sex                    string // "M", "F" or "" (unknown)
	BirthDate              string // YYYY-MM-DD, or "" when absent
	Acquired               string // YYYY-MM-DD hh:mm:ss as written by the device (its local time)
	Device                 string
	// Statements are the machine's interpretation statements, in order,
	// without duplicates.
	Statements []string
	// Measurements are the machine's global measurements (PR, QRS, QT,
	// axes, heart rate), the first of each code.
	Measurements []Measurement
}

// Measurement is one machine measurement as the file codes it.
type Measurement struct {
	Code  string // e.g. MDC_ECG_TIME_PD_QT, or a DICOM concept code meaning
	Value float64
	Unit  string // e.g. "ms", "deg", "bpm"
	// Kind is what the code measures, for display: "pr", "qrs", "qt",
	// "qtc", "p_axis", "qrs_axis", "t_axis", "rr" or "hr"; "" for a code
	// not recognised.
	Kind string
}

// MeasurementKinds lists the kinds of machine measurement recognised.
var MeasurementKinds = []string{"pr", "qrs", "qt", "qtc", "p_axis", "qrs_axis", "t_axis", "rr", "hr"}

// measurementKinds maps the MDC codes of aECG (ISO/IEEE 11073-10101) and
// the code meanings of DICOM (PS3.16 CID 3678 ECG global measurements) to
// a Measurement's Kind.
var measurementKinds = map[string]string{
	"MDC_ECG_TIME_PD_PR": "pr", "PR Interval": "pr",
	"MDC_ECG_TIME_PD_QRS": "qrs", "QRS Duration": "qrs",
	"MDC_ECG_TIME_PD_QT": "qt", "QT Interval": "qt",
	"MDC_ECG_TIME_PD_QTc": "qtc", "QTc Interval": "qtc",
	"MDC_ECG_ANGLE_P_FRONT": "p_axis", "P Axis": "p_axis",
	"MDC_ECG_ANGLE_QRS_FRONT": "qrs_axis", "QRS Axis": "qrs_axis",
	"MDC_ECG_ANGLE_T_FRONT": "t_axis", "T Axis": "t_axis",
	"MDC_ECG_TIME_PD_RR": "rr", "RR Interval": "rr",
	"MDC_ECG_HEART_RATE": "hr", "Heart Rate": "hr",
}

// AddStatement appends s unless empty, already present or over 64
// statements.
func (in *Info) AddStatement(s string) {
	s = strings.TrimSpace(s)
	if s == "" || len(in.Statements) >= maxStatements {
		return
	}
	for _, x := range in.Statements {
		if x == s {
			return
		}
	}
	in.Statements = append(in.Statements, s)
}

// AddMeasurement appends m unless its code is empty or already present,
// or there are 64 measurements.
func (in *Info) AddMeasurement(m Measurement) {
	if m.Code == "" || len(in.Measurements) >= maxStatements {
		return
	}
	for _, x := range in.Measurements {
		if x.Code == m.Code {
			return
		}
	}
	m.Kind = measurementKinds[m.Code]
	in.Measurements = append(in.Measurements, m)
}

// maxStatements bounds the statements and measurements kept from a file.
const maxStatements = 64

// scpLeads names the leads of the SCP-ECG lead identification table
// (EN 1064:2005 / ISO 11073-91064 section 3, table 13 "lead
// identification"); the same numbers are the MDC ECG lead codes
// (ISO/IEEE 11073-10101, MDC_ECG_LEAD_*, code 2:n) and the SCPECG coding
// scheme of DICOM (PS3.16 CID 3001, code value "5.6.3-9-n").
var scpLeads = map[int]string{
	1: "I", 2: "II", 3: "V1", 4: "V2", 5: "V3", 6: "V4", 7: "V5", 8: "V6", 9: "V7",
	10: "V2R", 11: "V3R", 12: "V4R", 13: "V5R", 14: "V6R", 15: "V7R",
	16: "X", 17: "Y", 18: "Z", 19: "CC5", 20: "CM5", 21: "LA", 22: "RA", 23: "LL",
	61: "III", 62: "aVR", 63: "aVL", 64: "aVF", 65: "-aVR", 66: "V8", 67: "V9", 68: "V8R", 69: "V9R",
	86: "V10", 87: "V10R",
}

// SCPLeadName is the name of SCP-ECG lead n (also MDC code 2:n and
// SCPECG 5.6.3-9-n), or "lead n" for a code outside the table.
func SCPLeadName(n int) string {
	if s, ok := scpLeads[n]; ok {
		return s
	}
	return fmt.Sprintf("lead %d", n)
}

// MDCLeadName turns an MDC lead code (MDC_ECG_LEAD_AVR) into the usual
// name (aVR); ok is false when code is not an MDC lead code.
func MDCLeadName(code string) (name string, ok bool) {
	s, ok := strings.CutPrefix(code, "MDC_ECG_LEAD_")
	if !ok || s == "" {
		return "", false
	}
	switch s {
	case "AVR", "AVL", "AVF":
		return "aV" + s[2:], true
	case "-AVR":
		return "-aVR", true
	}
	return s, true
}
