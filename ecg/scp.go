package ecg

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strings"
)

// SCP-ECG (EN 1064:2005, ISO 11073-91064:2009): a record is a CRC, a
// length and numbered sections, each with a 16-byte header (CRC, id,
// length, versions, reserved). Section 0 points to the others; 1 holds the
// patient and acquisition tags; 2 the Huffman tables; 3 the leads; 4 and 5
// the reference beat (for its subtraction from the rhythm); 6 the rhythm
// data; 7 and 8 the machine's measurements and statements.

// MaxSCPBytes bounds an SCP-ECG record: section 6 holds each lead's bytes
// in a 16-bit length, so a 12-lead file is under 1 MiB; Holter extensions
// are larger, and 16 MiB leaves room for them.
const MaxSCPBytes = 16 << 20

const scpSectionHeader = 16

// CRCCCITT is the CRC of SCP-ECG (EN 1064 5.3.2): CRC-CCITT, polynomial
// x¹⁶+x¹²+x⁵+1 (0x1021), initial value 0xFFFF, bits taken most
// significant first, no final inversion (also called CRC-16/CCITT-FALSE).
func CRCCCITT(b []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, c := range b {
		crc = crc<<8 ^ crcTable[byte(crc>>8)^c]
	}
	return crc
}

// crcTable is CRCCCITT's byte-at-a-time table (read only).
var crcTable = func() (t [256]uint16) {
	for i := range t {
		crc := uint16(i) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
		t[i] = crc
	}
	return t
}()

// IsSCP reports whether b starts like an SCP-ECG record: section 0 at
// byte 6 with its "SCPECG" mark.
func IsSCP(b []byte) bool {
	return len(b) >= 6+scpSectionHeader && binary.LittleEndian.Uint16(b[8:]) == 0 && string(b[16:22]) == "SCPECG"
}

type scpSection struct {
	id   int
	data []byte // after the section header
}

// ReadSCP reads an SCP-ECG record: the leads of section 3 and the rhythm
// data of section 6, uncompressed or Huffman-coded with the default table
// (EN 1064 Annex C) and stored as values or first or second differences,
// and the patient fields of section 1. The CRC of the record and of each
// section is checked. A record using bimodal compression, reference beat
// subtraction with beats to add back, or its own Huffman tables is refused
// with an *UnsupportedError; malformed input with an error wrapping
// ErrFormat naming the section and byte; a record over the limits with a
// *LimitError.
func ReadSCP(r io.Reader) (*Record, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxSCPBytes+1))
	if err != nil {
		return nil, fmt.Errorf("ecg: reading SCP-ECG: %w", err)
	}
	if len(b) > MaxSCPBytes {
		return nil, formatError("SCP-ECG record larger than %d bytes", MaxSCPBytes)
	}
	if len(b) < 6+scpSectionHeader {
		return nil, formatError("SCP-ECG record of %d bytes is too short for its header and section 0", len(b))
	}
	if !IsSCP(b) {
		return nil, formatError("not an SCP-ECG record: section 0 with its SCPECG mark is missing at byte 6")
	}
	n := int(binary.LittleEndian.Uint32(b[2:]))
	if n != len(b) {
		return nil, formatError("SCP-ECG record says it is %d bytes long, the file has %d: it is truncated or padded", n, len(b))
	}
	if got, want := CRCCCITT(b[2:]), binary.LittleEndian.Uint16(b); got != want {
		return nil, formatError("SCP-ECG record CRC is %04X, the record says %04X: the file is corrupt", got, want)
	}
	s0, err := scpReadSection(b, 6, 0)
	if err != nil {
		return nil, err
	}
	sections := map[int]scpSection{}
	for p := 0; p+10 <= len(s0.data); p += 10 {
		id := int(binary.LittleEndian.Uint16(s0.data[p:]))
		length := int(binary.LittleEndian.Uint32(s0.data[p+2:]))
		index := int(binary.LittleEndian.Uint32(s0.data[p+6:]))
		if id == 0 || length == 0 {
			continue
		}
		if index < 1 || index-1 > len(b)-scpSectionHeader {
			return nil, formatError("SCP-ECG section 0 points section %d to byte %d, outside the %d-byte record", id, index, len(b))
		}
		s, err := scpReadSection(b, index-1, id)
		if err != nil {
			return nil, err
		}
		if len(s.data)+scpSectionHeader != length {
			return nil, formatError("SCP-ECG section %d is %d bytes, section 0 says %d", id, len(s.data)+scpSectionHeader, length)
		}
		sections[id] = s
	}
	rec := &Record{Name: "SCP-ECG", Info: &Info{}}
	if s, ok := sections[1]; ok {
		scpPatient(s.data, rec.Info)
	}
	if s, ok := sections[2]; ok && len(s.data) >= 2 {
		if nt := binary.LittleEndian.Uint16(s.data); nt != 19999 {
			return nil, &UnsupportedError{Format: "SCP-ECG", Feature: fmt.Sprintf("section 2 with %d own Huffman tables (only the default table is decoded)", nt)}
		}
	}
	huffman := false
	if _, ok := sections[2]; ok {
		huffman = true
	}
	s3, ok := sections[3]
	if !ok {
		return nil, formatError("SCP-ECG record has no section 3 (lead definition)")
	}
	if len(s3.data) < 2 {
		return nil, formatError("SCP-ECG section 3 is empty")
	}
	nLeads, flags := int(s3.data[0]), s3.data[1]
	if nLeads == 0 {
		return nil, formatError("SCP-ECG section 3 declares no leads")
	}
	if nLeads > MaxLeads {
		return nil, &LimitError{Limit: LimitLeads, Got: float64(nLeads), Max: MaxLeads}
	}
	if len(s3.data) < 2+9*nLeads {
		return nil, formatError("SCP-ECG section 3 declares %d leads but holds %d bytes", nLeads, len(s3.data))
	}
	if flags&1 != 0 {
		if s4, ok := sections[4]; !ok || len(s4.data) < 6 || binary.LittleEndian.Uint16(s4.data[4:]) != 0 {
			return nil, &UnsupportedError{Format: "SCP-ECG", Feature: "reference beat subtraction (sections 4 and 5)"}
		}
	}
	s6, ok := sections[6]
	if !ok {
		return nil, formatError("SCP-ECG record has no section 6 (rhythm data)")
	}
	if len(s6.data) < 6+2*nLeads {
		return nil, formatError("SCP-ECG section 6 of %d bytes is too short for %d leads", len(s6.data), nLeads)
	}
	avm := int(binary.LittleEndian.Uint16(s6.data))
	interval := int(binary.LittleEndian.Uint16(s6.data[2:]))
	diff, bimodal := s6.data[4], s6.data[5]
	if bimodal != 0 {
		return nil, &UnsupportedError{Format: "SCP-ECG", Feature: "bimodal compression"}
	}
	if diff > 2 {
		return nil, formatError("SCP-ECG section 6 difference encoding %d is not 0, 1 or 2", diff)
	}
	if avm == 0 || interval == 0 {
		return nil, formatError("SCP-ECG section 6 amplitude multiplier (%d nV) or sample interval (%d µs) is zero", avm, interval)
	}
	rec.Fs = 1e6 / float64(interval)
	// Each lead is decoded into as many samples as section 3 gives it.
	want := make([]int, nLeads)
	names := make([]string, nLeads)
	total := 0
	for i := range nLeads {
		p := 2 + 9*i
		start := int(binary.LittleEndian.Uint32(s3.data[p:]))
		end := int(binary.LittleEndian.Uint32(s3.data[p+4:]))
		if start < 1 || end < start {
			return nil, formatError("SCP-ECG section 3 lead %d spans samples %d to %d", i+1, start, end)
		}
		want[i] = end - start + 1
		if want[i] > MaxLeadSamples {
			return nil, &LimitError{Limit: LimitLeadSamples, Got: float64(want[i]), Max: MaxLeadSamples}
		}
		total += want[i]
		names[i] = SCPLeadName(int(s3.data[p+8]))
	}
	if total > MaxRecordSamples {
		return nil, &LimitError{Limit: LimitSamples, Got: float64(total), Max: MaxRecordSamples}
	}
	for i := 1; i < nLeads; i++ {
		if want[i] != want[0] {
			return nil, &UnsupportedError{Format: "SCP-ECG", Feature: "leads of different lengths"}
		}
	}
	data := s6.data[6+2*nLeads:]
	for i := range nLeads {
		size := int(binary.LittleEndian.Uint16(s6.data[6+2*i:]))
		if size > len(data) {
			return nil, formatError("SCP-ECG section 6 lead %d (%s) declares %d bytes, %d remain: the rhythm data is truncated", i+1, names[i], size, len(data))
		}
		var v []int32
		var err error
		if huffman {
			v, err = scpHuffman(data[:size], want[i])
		} else {
			v, err = scpRaw(data[:size], want[i])
		}
		if err != nil {
			return nil, fmt.Errorf("%w (SCP-ECG section 6, lead %d %s)", err, i+1, names[i])
		}
		data = data[size:]
		undiff(v, diff)
		lead := Lead{Name: names[i], Units: "mV", Gain: 1e6 / float64(avm), SamplesPerFrame: 1, Samples: make([]int16, len(v))}
		for k, x := range v {
			if x < math.MinInt16 || x > math.MaxInt16 {
				return nil, formatError("SCP-ECG lead %s sample %d (%d × %d nV) is out of range", names[i], k+1, x, avm)
			}
			lead.Samples[k] = int16(x)
		}
		rec.Leads = append(rec.Leads, lead)
	}
	if err := rec.CheckLimits(); err != nil {
		return nil, err
	}
	return rec, nil
}

// scpReadSection reads the section starting at byte off of b, checking its
// id, length and CRC.
func scpReadSection(b []byte, off, id int) (scpSection, error) {
	if off < 0 || off+scpSectionHeader > len(b) {
		return scpSection{}, formatError("SCP-ECG section %d header at byte %d runs past the end", id, off)
	}
	h := b[off:]
	gotID := int(binary.LittleEndian.Uint16(h[2:]))
	length := int(binary.LittleEndian.Uint32(h[4:]))
	if gotID != id {
		return scpSection{}, formatError("SCP-ECG byte %d holds section %d where section %d was expected", off, gotID, id)
	}
	if length < scpSectionHeader || length > len(h) {
		return scpSection{}, formatError("SCP-ECG section %d at byte %d declares %d bytes, %d remain", id, off, length, len(h))
	}
	if got, want := CRCCCITT(h[2:length]), binary.LittleEndian.Uint16(h); got != want {
		return scpSection{}, formatError("SCP-ECG section %d CRC is %04X, the section says %04X: the file is corrupt", id, got, want)
	}
	return scpSection{id: id, data: h[scpSectionHeader:length]}, nil
}

// scpRaw reads n little-endian 16-bit values.
func scpRaw(b []byte, n int) ([]int32, error) {
	if len(b) < 2*n {
		return nil, formatError("%d bytes hold %d of the %d samples", len(b), len(b)/2, n)
	}
	v := make([]int32, n)
	for i := range v {
		v[i] = int32(int16(binary.LittleEndian.Uint16(b[2*i:])))
	}
	return v, nil
}

// scpHuffman decodes n values with the default Huffman table of EN 1064
// (Annex C, table C.2): 0 is "0"; ±k for k = 1…8 is k ones, a zero and a
// sign bit (0 positive, 1 negative); "1111111110" is followed by an 8-bit
// and "1111111111" by a 16-bit two's complement value. Bits are taken most
// significant first.
func scpHuffman(b []byte, n int) ([]int32, error) {
	v := make([]int32, 0, min(n, 8*len(b)))
	pos, nbits := 0, 8*len(b)
	bit := func() int {
		c := int(b[pos>>3]>>(7-uint(pos&7))) & 1
		pos++
		return c
	}
	bits := func(k int) int {
		x := 0
		for range k {
			x = x<<1 | bit()
		}
		return x
	}
	for len(v) < n {
		ones := 0
		for ones < 10 {
			if pos >= nbits {
				return nil, formatError("Huffman data of %d bytes ends after %d of %d samples", len(b), len(v), n)
			}
			if bit() == 0 {
				break
			}
			ones++
		}
		switch {
		case ones == 0:
			v = append(v, 0)
		case ones <= 8:
			if pos >= nbits {
				return nil, formatError("Huffman data of %d bytes ends after %d of %d samples", len(b), len(v), n)
			}
			if bit() == 0 {
				v = append(v, int32(ones))
			} else {
				v = append(v, int32(-ones))
			}
		case ones == 9: // "1111111110": the zero was read; 8 bits follow
			if pos+8 > nbits {
				return nil, formatError("Huffman data of %d bytes ends inside an 8-bit value at sample %d", len(b), len(v)+1)
			}
			v = append(v, int32(int8(bits(8))))
		default: // "1111111111": 16 bits follow
			if pos+16 > nbits {
				return nil, formatError("Huffman data of %d bytes ends inside a 16-bit value at sample %d", len(b), len(v)+1)
			}
			v = append(v, int32(int16(bits(16))))
		}
	}
	return v, nil
}

// undiff turns first (1) or second (2) differences back into values
// (EN 1064 5.9.4: x₁ = d₁, x₂ = d₂ and x_n = d_n + 2x_{n−1} − x_{n−2}
// for second differences).
func undiff(v []int32, diff byte) {
	switch diff {
	case 1:
		for i := 1; i < len(v); i++ {
			v[i] += v[i-1]
		}
	case 2:
		for i := 2; i < len(v); i++ {
			v[i] += 2*v[i-1] - v[i-2]
		}
	}
}

// scpPatient reads the tags of section 1 it knows (EN 1064 5.5): 0 last
// name, 1 first name, 2 patient ID, 5 date of birth, 8 sex, 14 acquiring
// device, 25 date and 26 time of acquisition. A malformed tag ends the
// reading: section 1 is informative, the samples are what matter.
func scpPatient(b []byte, in *Info) {
	var last, first, date, clock string
	for p := 0; p+3 <= len(b); {
		tag := b[p]
		n := int(binary.LittleEndian.Uint16(b[p+1:]))
		if tag == 255 || p+3+n > len(b) {
			break
		}
		v := b[p+3 : p+3+n]
		text := strings.TrimRight(string(v), "\x00 ")
		switch tag {
		case 0:
			last = text
		case 1:
			first = text
		case 2:
			in.PatientID = text
		case 5:
			if n >= 4 && binary.LittleEndian.Uint16(v) > 0 {
				in.BirthDate = fmt.Sprintf("%04d-%02d-%02d", binary.LittleEndian.Uint16(v), v[2], v[3])
			}
		case 8:
			if n >= 1 {
				switch v[0] {
				case 1:
					in.Sex = "M"
				case 2:
					in.Sex = "F"
				}
			}
		case 14:
			if n >= 14 { // institution, department, device id, type, manufacturer, then the model (6 bytes)
				in.Device = strings.TrimRight(strings.SplitN(string(v[8:14]), "\x00", 2)[0], " ")
			}
		case 25:
			if n >= 4 {
				date = fmt.Sprintf("%04d-%02d-%02d", binary.LittleEndian.Uint16(v), v[2], v[3])
			}
		case 26:
			if n >= 3 {
				clock = fmt.Sprintf("%02d:%02d:%02d", v[0], v[1], v[2])
			}
		}
		p += 3 + n
	}
	in.PatientName = strings.TrimSpace(strings.Join([]string{last, first}, " "))
	in.Acquired = strings.TrimSpace(date + " " + clock)
}
