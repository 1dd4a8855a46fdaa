// Package testdicom builds DICOM files for tests: large synthetic
// instances whose size a test chooses, which no real sample offers.
package testdicom

import (
	"fmt"

	"countycare/dicom"
)

// CT is an explicit-VR CT-like instance of the patient (patientID, name)
// with SOP Instance UID sop and frames frames of rows × cols 16-bit pixels
// (a ramp, so it previews): about rows·cols·2·frames bytes.
func CT(patientID, name, sop string, rows, cols, frames int) []byte {
	us := func(v uint16) []byte { return []byte{byte(v), byte(v >> 8)} }
	px := make([]byte, rows*cols*2*frames)
	for i := 0; i < len(px); i += 2 {
		px[i] = byte(i >> 4)
	}
	return dicom.Encode(dicom.ExplicitVRLittleEndian, []*dicom.Element{
		{Tag: dicom.TagSOPClassUID, VR: "UI", Value: []byte("1.2.840.10008.5.1.4.1.1.2")},
		{Tag: dicom.TagSOPInstanceUID, VR: "UI", Value: []byte(sop)},
		{Tag: dicom.TagModality, VR: "CS", Value: []byte("CT")},
		{Tag: dicom.TagPatientName, VR: "PN", Value: []byte(name)},
		{Tag: dicom.TagPatientID, VR: "LO", Value: []byte(patientID)},
		{Tag: dicom.TagStudyInstanceUID, VR: "UI", Value: []byte("1.2.826.0.1.3680043.8.498.77")},
		{Tag: dicom.TagSeriesInstanceUID, VR: "UI", Value: []byte("1.2.826.0.1.3680043.8.498.77.1")},
		{Tag: dicom.TagSamplesPerPixel, VR: "US", Value: us(1)},
		{Tag: dicom.TagPhotometricInterpretation, VR: "CS", Value: []byte("MONOCHROME2")},
		{Tag: dicom.TagNumberOfFrames, VR: "IS", Value: []byte(fmt.Sprint(frames))},
		{Tag: dicom.TagRows, VR: "US", Value: us(uint16(rows))},
		{Tag: dicom.TagColumns, VR: "US", Value: us(uint16(cols))},
		{Tag: dicom.TagBitsAllocated, VR: "US", Value: us(16)},
		{Tag: dicom.TagBitsStored, VR: "US", Value: us(16)},
		{Tag: dicom.TagHighBit, VR: "US", Value: us(15)},
		{Tag: dicom.TagPixelRepresentation, VR: "US", Value: us(0)},
		{Tag: dicom.TagPixelData, VR: "OW", Value: px},
	})
}
