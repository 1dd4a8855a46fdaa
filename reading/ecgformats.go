package reading

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"countycare/dicom"
	"countycare/ecg"
)

// ECG file formats an upload may be in besides WFDB and CSV, told apart by
// content (DetectECGFormat), never by file name.
const (
	FormatDICOM = "dicom" // DICOM waveform: 12-lead, general or ambulatory ECG
	FormatAECG  = "aecg"  // HL7 v3 annotated ECG XML
	FormatSCP   = "scp"   // SCP-ECG (EN 1064)
)

// DetectECGFormat tells a one-file ECG upload's format from its content:
// "DICM" at byte 128 is DICOM Part 10, section 0 with its SCPECG mark at
// byte 6 is SCP-ECG, a document starting with "<" (after a byte order mark
// and white space) is aECG XML, anything else is read as a CSV export.
func DetectECGFormat(b []byte) string {
	switch {
	case len(b) >= 132 && string(b[128:132]) == "DICM":
		return FormatDICOM
	case ecg.IsSCP(b):
		return FormatSCP
	}
	t := bytes.TrimLeft(bytes.TrimPrefix(b, []byte("\xEF\xBB\xBF")), " \t\r\n")
	if len(t) > 0 && t[0] == '<' {
		return FormatAECG
	}
	return FormatCSV
}

// readOneFileECG reads a one-file upload in the given format.
func readOneFileECG(format string, b []byte) (*ecg.Record, error) {
	switch format {
	case FormatDICOM:
		return ECGFromDICOM(b)
	case FormatSCP:
		return ecg.ReadSCP(bytes.NewReader(b))
	case FormatAECG:
		return ecg.ReadAECG(bytes.NewReader(b))
	}
	return ecg.ReadCSV(bytes.NewReader(b))
}

// ECGFromDICOM reads a DICOM ECG waveform (12-lead, general or ambulatory
// ECG IOD) into a record: the rhythm multiplex group (labelled RHYTHM, else
// the first), each channel a lead named by its source code (SCPECG or MDC
// lead codes, else the code meaning or channel label) and calibrated to
// mV from its sensitivity, correction factor and baseline; the patient
// fields and the Waveform Annotation Sequence's statements and
// measurements go to Info. Errors wrap ecg.ErrFormat (or are an
// *ecg.LimitError).
func ECGFromDICOM(b []byte) (*ecg.Record, error) {
	f, err := dicom.Parse(b)
	if err != nil {
		return nil, dicomECGError(err)
	}
	switch sop := f.String(dicom.TagSOPClassUID); sop {
	case dicom.SOP12LeadECG, dicom.SOPGeneralECG, dicom.SOPAmbulatoryECG:
	default:
		return nil, fmt.Errorf("%w: the DICOM file is not an ECG waveform (SOP class %q; 12-lead, general and ambulatory ECG are read)", ecg.ErrFormat, sop)
	}
	groups, err := dicom.Waveforms(f.Dataset, ecg.MaxRecordSamples)
	if errors.Is(err, dicom.ErrLimit) {
		return nil, &ecg.LimitError{Limit: ecg.LimitSamples, Got: float64(declaredWaveformSamples(f.Dataset)), Max: ecg.MaxRecordSamples}
	}
	if err != nil {
		return nil, dicomECGError(err)
	}
	m := groups[0]
	for _, g := range groups {
		if strings.EqualFold(g.Label, "RHYTHM") {
			m = g
			break
		}
	}
	if len(m.Channels) > ecg.MaxLeads {
		return nil, &ecg.LimitError{Limit: ecg.LimitLeads, Got: float64(len(m.Channels)), Max: ecg.MaxLeads}
	}
	rec := &ecg.Record{Name: "DICOM", Fs: m.Fs, Info: &ecg.Info{}}
	for c, ch := range m.Channels {
		perUnit, err := ecg.Microvolts(ch.SensitivityUnit)
		if err != nil {
			return nil, fmt.Errorf("%w: DICOM waveform channel %d (%s): sensitivity %v", ecg.ErrFormat, c+1, ch.Label, err)
		}
		step := ch.Sensitivity * ch.Correction * perUnit // µV per sample unit
		if !(math.Abs(step) > 0) || math.IsInf(step, 0) {
			return nil, fmt.Errorf("%w: DICOM waveform channel %d (%s) has sensitivity %g × %g", ecg.ErrFormat, c+1, ch.Label, ch.Sensitivity, ch.Correction)
		}
		// physical = (stored + baseline) × step, stored = sample − Offset;
		// ecg: physical = (sample − Baseline) / Gain.
		rec.Leads = append(rec.Leads, ecg.Lead{Name: dicomLeadName(ch), Units: "mV", Gain: 1000 / step,
			Baseline: m.Offset - int(math.Round(ch.Baseline)), SamplesPerFrame: 1, Samples: m.Samples[c]})
	}
	in := rec.Info
	in.PatientID, in.PatientName = f.String(dicom.TagPatientID), f.PersonName(dicom.TagPatientName)
	if s := f.String(dicom.TagPatientSex); s == "M" || s == "F" {
		in.Sex = s
	}
	in.BirthDate = ecg.DigitsDate(f.String(dicom.TagPatientBirthDate))
	in.Acquired = ecg.DigitsTime(f.String(dicom.TagAcquisitionDateTime))
	if in.Acquired == "" {
		in.Acquired = ecg.DigitsTime(f.String(dicom.TagContentDate) + f.String(dicom.TagContentTime))
	}
	in.Device = strings.TrimSpace(f.String(dicom.TagManufacturer) + " " + f.String(dicom.TagManufacturerModelName))
	for _, a := range dicom.WaveformAnnotations(f.Dataset) {
		switch {
		case a.HasValue:
			in.AddMeasurement(ecg.Measurement{Code: cmp(a.Name.Meaning, a.Name.Value), Value: a.Value, Unit: a.Unit})
		case a.Text != "":
			in.AddStatement(a.Text)
		case a.Concept.Value != "":
			in.AddStatement(cmp(a.Concept.Meaning, a.Concept.Value))
		}
	}
	if err := rec.CheckLimits(); err != nil {
		return nil, err
	}
	return rec, nil
}

// cmp is the first non-empty string.
func cmp(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// dicomECGError turns a dicom parse error into ecg.ErrFormat, keeping its
// message.
func dicomECGError(err error) error {
	if errors.Is(err, dicom.ErrFormat) {
		return fmt.Errorf("%w: %s", ecg.ErrFormat, strings.TrimPrefix(err.Error(), dicom.ErrFormat.Error()+": "))
	}
	return err
}

// declaredWaveformSamples sums channels × samples over the multiplex
// groups, for the limit message.
func declaredWaveformSamples(ds *dicom.Dataset) int64 {
	var n int64
	if seq := ds.Get(dicom.TagWaveformSequence); seq != nil {
		for _, it := range seq.Items {
			c, _ := it.Int(dicom.TagNumberOfWaveformChannels)
			s, _ := it.Int(dicom.TagNumberOfWaveformSamples)
			n += int64(c) * int64(s)
		}
	}
	return n
}

// dicomLeadName names a channel by its source: SCPECG "5.6.3-9-n" and MDC
// "2:n" (PS3.16 CID 3001) by the lead table, an MDC_ECG_LEAD_* code by
// its name, else the code meaning without "Lead ", else the channel label.
func dicomLeadName(ch dicom.WaveformChannel) string {
	v := ch.Source.Value
	for _, prefix := range []string{"5.6.3-9-", "2:"} {
		if s, ok := strings.CutPrefix(v, prefix); ok {
			if n, err := strconv.Atoi(s); err == nil {
				return ecg.SCPLeadName(n)
			}
		}
	}
	if s, ok := ecg.MDCLeadName(v); ok {
		return s
	}
	if m := strings.TrimSpace(strings.TrimPrefix(ch.Source.Meaning, "Lead ")); m != "" {
		return m
	}
	if ch.Label != "" {
		return ch.Label
	}
	return "?"
}
