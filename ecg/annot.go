package ecg

import (
	"encoding/binary"
	"fmt"
	"io"
)

// Code is an MIT/WFDB annotation code (ecgcodes.h).
type Code int

// Annotation codes of the WFDB library (ecgcodes.h); the letters are the
// mnemonics used by the MIT-BIH database documentation.
const (
	NotQRS   Code = 0  // not a QRS complex
	Normal   Code = 1  // N normal beat
	LBBB     Code = 2  // L left bundle branch block beat
	RBBB     Code = 3  // R right bundle branch block beat
	Aberr    Code = 4  // a aberrated atrial premature beat
	PVC      Code = 5  // V premature ventricular contraction
	Fusion   Code = 6  // F fusion of ventricular and normal beat
	NPC      Code = 7  // J nodal (junctional) premature beat
	APC      Code = 8  // A atrial premature contraction
	SVPB     Code = 9  // S premature or ectopic supraventricular beat
	VEsc     Code = 10 // E ventricular escape beat
	NEsc     Code = 11 // j nodal (junctional) escape beat
	Pace     Code = 12 // / paced beat
	Unknown  Code = 13 // Q unclassifiable beat
	Noise    Code = 14 // ~ signal quality change
	Artifact Code = 16 // | isolated QRS-like artifact
	STChange Code = 18 // s ST change
	TChange  Code = 19 // T T-wave change
	Systole  Code = 20
	Diastole Code = 21
	Note     Code = 22 // " comment annotation
	Measure  Code = 23
	PWave    Code = 24 // p P-wave peak
	BBB      Code = 25 // B bundle branch block beat (unspecified)
	PaceSP   Code = 26 // ^ non-conducted pacer spike
	TWave    Code = 27 // t T-wave peak
	Rhythm   Code = 28 // + rhythm change (the rhythm is in Aux, e.g. "(AFIB")
	UWave    Code = 29
	Learn    Code = 30 // ? learning
	FlutterW Code = 31 // ! ventricular flutter wave
	VFOn     Code = 32 // [ start of ventricular flutter/fibrillation
	VFOff    Code = 33 // ] end of ventricular flutter/fibrillation
	AEsc     Code = 34 // e atrial escape beat
	SVEsc    Code = 35 // n supraventricular escape beat
	Link     Code = 36
	NAPC     Code = 37 // x non-conducted P wave (blocked APC)
	PFus     Code = 38 // f fusion of paced and normal beat
	WFOn     Code = 39
	WFOff    Code = 40
	RonT     Code = 41 // r R-on-T premature ventricular contraction
	maxCode  Code = 49
)

// Special codes in the MIT annotation format: they modify the annotation
// they follow (SUB, CHN, NUM, AUX) or advance the time (SKIP).
const (
	codeSkip = 59
	codeNum  = 60
	codeSub  = 61
	codeChn  = 62
	codeAux  = 63
)

// IsBeat reports whether the code labels a QRS complex, as the WFDB library's
// isqrs table does (the beat labels ANSI/AAMI EC57 scores).
func (c Code) IsBeat() bool {
	switch c {
	case Normal, LBBB, RBBB, Aberr, PVC, Fusion, NPC, APC, SVPB, VEsc, NEsc, Pace, Unknown,
		BBB, AEsc, SVEsc, PFus, RonT:
		return true
	}
	return false
}

// IsVentricularEctopic reports whether the code is a ventricular ectopic beat
// (AAMI class V: V, E, r).
func (c Code) IsVentricularEctopic() bool { return c == PVC || c == VEsc || c == RonT }

// Annotation is one MIT annotation.
type Annotation struct {
	Sample int64 // sample number (frame) the annotation marks
	Code   Code
	Sub    int // subtype
	Chan   int // signal it applies to
	Num    int
	Aux    string
}

// maxAnnotations bounds the annotations one file may hold (a 7-day Holter
// has about 1 M beats).
const maxAnnotations = 20_000_000

// ReadAnnotations reads an annotation file in MIT format: 16-bit
// little-endian words with a 6-bit code and a 10-bit time difference, SKIP
// (32-bit interval), NUM, SUB, CHN and AUX (length-prefixed text, padded to
// an even length) words, ended by a zero word or the end of the file. CHN and
// NUM carry over to later annotations, as in the WFDB library. It fails,
// naming the byte offset, on a truncated word, SKIP or AUX string, a modifier
// before any annotation, a time that goes negative, or a code above 49.
func ReadAnnotations(r io.Reader) ([]Annotation, error) {
	data, err := io.ReadAll(io.LimitReader(r, 8*maxAnnotations+1))
	if err != nil {
		return nil, fmt.Errorf("ecg: reading annotations: %w", err)
	}
	if len(data) > 8*maxAnnotations {
		return nil, formatError("annotation file larger than %d bytes", 8*maxAnnotations)
	}
	var out []Annotation
	var t int64
	chn, num := 0, 0
	for off := 0; ; {
		if off == len(data) {
			return out, nil // WFDB tolerates a missing end word
		}
		if off+2 > len(data) {
			return nil, formatError("annotation file truncated at byte %d: half a word", off)
		}
		w := binary.LittleEndian.Uint16(data[off:])
		code, val := int(w>>10), int(w&0x3ff)
		at := off
		off += 2
		if code == 0 && val == 0 {
			return out, nil
		}
		switch code {
		case codeSkip:
			if off+4 > len(data) {
				return nil, formatError("annotation file truncated at byte %d: SKIP interval", at)
			}
			// PDP-11 long: high 16-bit word first, each word little-endian.
			hi := binary.LittleEndian.Uint16(data[off:])
			lo := binary.LittleEndian.Uint16(data[off+2:])
			off += 4
			t += int64(int32(uint32(hi)<<16 | uint32(lo)))
			if t < 0 {
				return nil, formatError("annotation at byte %d: SKIP makes the time negative", at)
			}
			continue
		case codeNum, codeSub, codeChn, codeAux:
			if len(out) == 0 {
				return nil, formatError("annotation file: modifier code %d at byte %d before any annotation", code, at)
			}
			a := &out[len(out)-1]
			switch code {
			case codeNum:
				num = val
				if val >= 512 {
					num = val - 1024 // signed 10-bit
				}
				a.Num = num
			case codeSub:
				a.Sub = val
				if val >= 512 {
					a.Sub = val - 1024
				}
			case codeChn:
				chn = val
				a.Chan = chn
			case codeAux:
				if off+val > len(data) {
					return nil, formatError("annotation file truncated at byte %d: AUX string of %d bytes", at, val)
				}
				aux := data[off : off+val]
				for len(aux) > 0 && aux[len(aux)-1] == 0 {
					aux = aux[:len(aux)-1]
				}
				a.Aux = string(aux)
				off += val + val&1
				if off > len(data) {
					off = len(data) // odd AUX at the very end: padding missing
				}
			}
			continue
		}
		if Code(code) > maxCode {
			return nil, formatError("annotation at byte %d: code %d is not an annotation code (0..49, 59..63)", at, code)
		}
		t += int64(val)
		if len(out) >= maxAnnotations {
			return nil, formatError("annotation file holds more than %d annotations", maxAnnotations)
		}
		// A negative SKIP may move the time back, but not before the
		// previous annotation: annotations are in time order.
		if len(out) > 0 && t < out[len(out)-1].Sample {
			return nil, formatError("annotation at byte %d: at sample %d, before the previous annotation (%d)", at, t, out[len(out)-1].Sample)
		}
		out = append(out, Annotation{Sample: t, Code: Code(code), Chan: chn, Num: num})
	}
}

// ReferenceBeat is a reference beat: where it is and whether it is a
// premature ventricular contraction.
type ReferenceBeat struct {
	Sample int64
	PVC    bool
}

// Beats returns the beat annotations (Code.IsBeat) as reference beats,
// PVC true for ventricular ectopic beats.
func Beats(anns []Annotation) []ReferenceBeat {
	var out []ReferenceBeat
	for _, a := range anns {
		if a.Code.IsBeat() {
			out = append(out, ReferenceBeat{Sample: a.Sample, PVC: a.Code.IsVentricularEctopic()})
		}
	}
	return out
}
