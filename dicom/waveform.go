package dicom

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
)

// Waveform SOP classes (PS3.4 B.5): the ECG IODs of PS3.3 A.34.
const (
	SOP12LeadECG     = "1.2.840.10008.5.1.4.1.1.9.1.1"
	SOPGeneralECG    = "1.2.840.10008.5.1.4.1.1.9.1.2"
	SOPAmbulatoryECG = "1.2.840.10008.5.1.4.1.1.9.1.3"
)

// Waveform attributes (PS3.3 C.10.9 Waveform Module, C.10.10 Waveform
// Annotation Module).
const (
	TagWaveformSequence             Tag = 0x54000100
	TagWaveformBitsAllocated        Tag = 0x54001004
	TagWaveformSampleInterpretation Tag = 0x54001006
	TagWaveformData                 Tag = 0x54001010
	TagNumberOfWaveformChannels     Tag = 0x003A0005
	TagNumberOfWaveformSamples      Tag = 0x003A0010
	TagSamplingFrequency            Tag = 0x003A001A
	TagMultiplexGroupLabel          Tag = 0x003A0020
	TagChannelDefinitionSequence    Tag = 0x003A0200
	TagWaveformChannelNumber        Tag = 0x003A0202
	TagChannelLabel                 Tag = 0x003A0203
	TagChannelSourceSequence        Tag = 0x003A0208
	TagChannelSensitivity           Tag = 0x003A0210
	TagChannelSensitivityUnitsSeq   Tag = 0x003A0211
	TagChannelSensitivityCorrection Tag = 0x003A0212
	TagChannelBaseline              Tag = 0x003A0213
	TagChannelTimeSkew              Tag = 0x003A0214
	TagWaveformBitsStored           Tag = 0x003A021A
	TagCodeValue                    Tag = 0x00080100
	TagCodingSchemeDesignator       Tag = 0x00080102
	TagCodeMeaning                  Tag = 0x00080104
	TagWaveformAnnotationSequence   Tag = 0x0040B020
	TagUnformattedTextValue         Tag = 0x00700006
	TagConceptNameCodeSequence      Tag = 0x0040A043
	TagConceptCodeSequence          Tag = 0x0040A168
	TagNumericValue                 Tag = 0x0040A30A
	TagMeasurementUnitsCodeSequence Tag = 0x004008EA
	TagAcquisitionDateTime          Tag = 0x0008002A
	TagContentTime                  Tag = 0x00080033
	TagManufacturerModelName        Tag = 0x00081090
)

// Code is a coded entry (code value, scheme, meaning).
type Code struct{ Value, Scheme, Meaning string }

// WaveformChannel is one channel definition of a multiplex group.
type WaveformChannel struct {
	Label  string
	Source Code // the lead, e.g. 5.6.3-9-1 (SCPECG) "Lead I"
	// Sensitivity × Correction is the physical value of one sample unit
	// in SensitivityUnit (a UCUM code such as "uV" or "mV"); Baseline is
	// added to a sample first (PS3.3 C.10.9.1.4.3).
	Sensitivity, Correction, Baseline float64
	SensitivityUnit                   string
	Skew                              float64 // seconds
}

// Multiplex is one multiplex group of a waveform: channels sampled
// together. Samples[c] holds channel c; a stored value is Samples + Offset
// (Offset is −32768 for unsigned 16-bit data, held in int16, 0 otherwise).
type Multiplex struct {
	Label          string
	Fs             float64
	Channels       []WaveformChannel
	BitsAllocated  int
	Interpretation string // SS, US, SB, UB, MB (µ-law), AB (A-law)
	Offset         int
	Samples        [][]int16
}

// WaveformAnnotation is one item of the Waveform Annotation Sequence: a
// statement (Text, or a Concept coded entry) or a measurement (Name,
// Value, Unit).
type WaveformAnnotation struct {
	Text     string
	Name     Code
	Concept  Code
	Value    float64
	HasValue bool
	Unit     string
}

// Waveforms decodes the multiplex groups of the Waveform Sequence
// (5400,0100). maxSamples bounds the samples of all groups together
// (channels × samples), checked from the headers before anything is
// decoded. Errors wrap ErrFormat: no Waveform Sequence, a group without
// channels, samples or a sampling frequency, an unsupported bits
// allocated/interpretation pair, or Waveform Data shorter than its header
// says (ErrTruncated); ErrLimit when over maxSamples.
func Waveforms(ds *Dataset, maxSamples int) ([]Multiplex, error) {
	seq := ds.Get(TagWaveformSequence)
	if seq == nil || len(seq.Items) == 0 {
		return nil, waveformError(nil, "no Waveform Sequence (5400,0100): not a waveform object")
	}
	total := 0
	for i, it := range seq.Items {
		ch, _ := it.Int(TagNumberOfWaveformChannels)
		n, _ := it.Int(TagNumberOfWaveformSamples)
		if ch <= 0 || n <= 0 {
			return nil, waveformError(nil, fmt.Sprintf("waveform multiplex group %d declares %d channels and %d samples", i+1, ch, n))
		}
		if ch > maxSamples || n > maxSamples || ch*n > maxSamples-total {
			return nil, waveformError(ErrLimit, fmt.Sprintf("waveform multiplex groups hold more than %d samples", maxSamples))
		}
		total += ch * n
	}
	out := make([]Multiplex, 0, len(seq.Items))
	for i, it := range seq.Items {
		m, err := multiplex(it)
		if err != nil {
			return nil, fmt.Errorf("%w (waveform multiplex group %d)", err, i+1)
		}
		out = append(out, m)
	}
	return out, nil
}

func multiplex(it *Dataset) (Multiplex, error) {
	nch, _ := it.Int(TagNumberOfWaveformChannels)
	n, _ := it.Int(TagNumberOfWaveformSamples)
	m := Multiplex{Label: it.String(TagMultiplexGroupLabel), Interpretation: strings.TrimSpace(it.String(TagWaveformSampleInterpretation))}
	m.Fs, _ = it.Float(TagSamplingFrequency)
	if !(m.Fs > 0) || m.Fs > 1e6 {
		return m, waveformError(nil, fmt.Sprintf("sampling frequency %q is not a positive number up to 1 MHz", it.String(TagSamplingFrequency)))
	}
	m.BitsAllocated, _ = it.Int(TagWaveformBitsAllocated)
	switch {
	case m.BitsAllocated == 16 && (m.Interpretation == "SS" || m.Interpretation == "US"):
	case m.BitsAllocated == 8 && (m.Interpretation == "SB" || m.Interpretation == "UB" || m.Interpretation == "MB" || m.Interpretation == "AB"):
	default:
		return m, waveformError(nil, fmt.Sprintf("waveform bits allocated %d with sample interpretation %q is not supported (16 SS/US, 8 SB/UB/MB/AB are)", m.BitsAllocated, m.Interpretation))
	}
	defs := it.Get(TagChannelDefinitionSequence)
	if defs == nil || len(defs.Items) != nch {
		got := 0
		if defs != nil {
			got = len(defs.Items)
		}
		return m, waveformError(nil, fmt.Sprintf("%d channel definitions for %d channels", got, nch))
	}
	for _, d := range defs.Items {
		c := WaveformChannel{Label: d.String(TagChannelLabel), Sensitivity: 1, Correction: 1}
		if src := d.Get(TagChannelSourceSequence); src != nil && len(src.Items) > 0 {
			c.Source = code(src.Items[0])
		}
		if v, ok := d.Float(TagChannelSensitivity); ok {
			c.Sensitivity = v
		}
		if v, ok := d.Float(TagChannelSensitivityCorrection); ok {
			c.Correction = v
		}
		c.Baseline, _ = d.Float(TagChannelBaseline)
		c.Skew, _ = d.Float(TagChannelTimeSkew)
		if u := d.Get(TagChannelSensitivityUnitsSeq); u != nil && len(u.Items) > 0 {
			c.SensitivityUnit = u.Items[0].String(TagCodeValue)
		}
		if c.Sensitivity == 0 || c.Correction == 0 {
			return m, waveformError(nil, fmt.Sprintf("channel %q has a zero sensitivity or correction factor", c.Label))
		}
		m.Channels = append(m.Channels, c)
	}
	data := it.Get(TagWaveformData)
	if data == nil {
		return m, waveformError(nil, "no Waveform Data (5400,1010)")
	}
	bytesPer := m.BitsAllocated / 8
	need := nch * n * bytesPer
	if len(data.Value) < need {
		return m, waveformError(ErrTruncated, fmt.Sprintf("Waveform Data holds %d bytes, %d channels × %d samples × %d bytes need %d (%.1f%% of the samples)",
			len(data.Value), nch, n, bytesPer, need, 100*float64(len(data.Value))/float64(need)))
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if it.BigEndian && data.VR != "OB" {
		bo = binary.BigEndian
	}
	m.Samples = make([][]int16, nch)
	for c := range m.Samples {
		m.Samples[c] = make([]int16, n)
	}
	if m.Interpretation == "US" {
		m.Offset = -32768
	}
	v := data.Value
	for s := range n {
		for c := range nch {
			k := s*nch + c
			var x int16
			switch m.Interpretation {
			case "SS":
				x = int16(bo.Uint16(v[2*k:]))
			case "US":
				x = int16(int(bo.Uint16(v[2*k:])) - 32768)
			case "SB":
				x = int16(int8(v[k]))
			case "UB":
				x = int16(v[k])
			case "MB":
				x = ulaw(v[k])
			case "AB":
				x = alaw(v[k])
			}
			m.Samples[c][s] = x
		}
	}
	return m, nil
}

// Physical returns the value of sample s of channel c in the channel's
// sensitivity unit: (stored + baseline) × sensitivity × correction.
func (m Multiplex) Physical(c, s int) float64 {
	ch := m.Channels[c]
	return (float64(int(m.Samples[c][s])-m.Offset) + ch.Baseline) * ch.Sensitivity * ch.Correction
}

func code(ds *Dataset) Code {
	return Code{Value: ds.String(TagCodeValue), Scheme: ds.String(TagCodingSchemeDesignator), Meaning: ds.String(TagCodeMeaning)}
}

// WaveformAnnotations reads the Waveform Annotation Sequence (0040,B020):
// text statements, coded statements and numeric measurements, in order.
// Items that are none of these are skipped.
func WaveformAnnotations(ds *Dataset) []WaveformAnnotation {
	seq := ds.Get(TagWaveformAnnotationSequence)
	if seq == nil {
		return nil
	}
	var out []WaveformAnnotation
	for _, it := range seq.Items {
		a := WaveformAnnotation{Text: it.String(TagUnformattedTextValue)}
		if s := it.Get(TagConceptNameCodeSequence); s != nil && len(s.Items) > 0 {
			a.Name = code(s.Items[0])
		}
		if s := it.Get(TagConceptCodeSequence); s != nil && len(s.Items) > 0 {
			a.Concept = code(s.Items[0])
		}
		if v, ok := it.Float(TagNumericValue); ok && !math.IsNaN(v) {
			a.Value, a.HasValue = v, true
		}
		if s := it.Get(TagMeasurementUnitsCodeSequence); s != nil && len(s.Items) > 0 {
			a.Unit = s.Items[0].String(TagCodeValue)
		}
		if a.Text != "" || a.Concept.Value != "" || a.HasValue {
			out = append(out, a)
		}
	}
	return out
}

// ulaw decodes a G.711 µ-law byte to 14-bit linear PCM (ITU-T G.711).
func ulaw(b byte) int16 {
	b = ^b
	t := (int(b&0x0f)<<3 + 0x84) << (uint(b&0x70) >> 4)
	if b&0x80 != 0 {
		return int16(0x84 - t)
	}
	return int16(t - 0x84)
}

// alaw decodes a G.711 A-law byte to 13-bit linear PCM (ITU-T G.711).
func alaw(b byte) int16 {
	b ^= 0x55
	t := int(b&0x0f) << 4
	seg := int(b&0x70) >> 4
	switch seg {
	case 0:
		t += 8
	case 1:
		t += 0x108
	default:
		t += 0x108
		t <<= seg - 1
	}
	if b&0x80 != 0 {
		return int16(t)
	}
	return int16(-t)
}

// waveformError is a malformed waveform: it matches ErrFormat and kind
// (ErrLimit, ErrTruncated) when not nil. Waveform faults are about
// attributes, not byte offsets, so they are not *FormatError.
func waveformError(kind error, msg string) error {
	if kind != nil {
		return fmt.Errorf("%w: %w: %s", ErrFormat, kind, msg)
	}
	return fmt.Errorf("%w: %s", ErrFormat, msg)
}
