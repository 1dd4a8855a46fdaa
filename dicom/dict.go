package dicom

// Tag is a DICOM attribute tag, group<<16 | element.
type Tag uint32

// Group and Element split a tag.
func (t Tag) Group() uint16   { return uint16(t >> 16) }
func (t Tag) Element() uint16 { return uint16(t) }

// Tags the platform reads.
const (
	TagFileMetaInformationGroupLength Tag = 0x00020000
	TagMediaStorageSOPClassUID        Tag = 0x00020002
	TagMediaStorageSOPInstanceUID     Tag = 0x00020003
	TagTransferSyntaxUID              Tag = 0x00020010
	TagImplementationClassUID         Tag = 0x00020012
	TagSpecificCharacterSet           Tag = 0x00080005
	TagImageType                      Tag = 0x00080008
	TagSOPClassUID                    Tag = 0x00080016
	TagSOPInstanceUID                 Tag = 0x00080018
	TagStudyDate                      Tag = 0x00080020
	TagSeriesDate                     Tag = 0x00080021
	TagAcquisitionDate                Tag = 0x00080022
	TagContentDate                    Tag = 0x00080023
	TagStudyTime                      Tag = 0x00080030
	TagAccessionNumber                Tag = 0x00080050
	TagModality                       Tag = 0x00080060
	TagManufacturer                   Tag = 0x00080070
	TagInstitutionName                Tag = 0x00080080
	TagReferringPhysicianName         Tag = 0x00080090
	TagStationName                    Tag = 0x00081010
	TagStudyDescription               Tag = 0x00081030
	TagSeriesDescription              Tag = 0x0008103E
	TagPatientName                    Tag = 0x00100010
	TagPatientID                      Tag = 0x00100020
	TagPatientBirthDate               Tag = 0x00100030
	TagPatientSex                     Tag = 0x00100040
	TagBodyPartExamined               Tag = 0x00180015
	TagStudyInstanceUID               Tag = 0x0020000D
	TagSeriesInstanceUID              Tag = 0x0020000E
	TagStudyID                        Tag = 0x00200010
	TagSeriesNumber                   Tag = 0x00200011
	TagInstanceNumber                 Tag = 0x00200013
	TagSamplesPerPixel                Tag = 0x00280002
	TagPhotometricInterpretation      Tag = 0x00280004
	TagPlanarConfiguration            Tag = 0x00280006
	TagNumberOfFrames                 Tag = 0x00280008
	TagRows                           Tag = 0x00280010
	TagColumns                        Tag = 0x00280011
	TagPixelSpacing                   Tag = 0x00280030
	TagBitsAllocated                  Tag = 0x00280100
	TagBitsStored                     Tag = 0x00280101
	TagHighBit                        Tag = 0x00280102
	TagPixelRepresentation            Tag = 0x00280103
	TagWindowCenter                   Tag = 0x00281050
	TagWindowWidth                    Tag = 0x00281051
	TagRescaleIntercept               Tag = 0x00281052
	TagRescaleSlope                   Tag = 0x00281053
	TagRedPaletteLUTDescriptor        Tag = 0x00281101
	TagGreenPaletteLUTDescriptor      Tag = 0x00281102
	TagBluePaletteLUTDescriptor       Tag = 0x00281103
	TagRedPaletteLUTData              Tag = 0x00281201
	TagGreenPaletteLUTData            Tag = 0x00281202
	TagBluePaletteLUTData             Tag = 0x00281203
	TagPixelData                      Tag = 0x7FE00010
	TagItem                           Tag = 0xFFFEE000
	TagItemDelimitation               Tag = 0xFFFEE00D
	TagSequenceDelimitation           Tag = 0xFFFEE0DD
)

// dict gives the VR of the tags an implicit-VR file may carry that the
// platform reads, plus the common sequences (so their items are parsed).
// Other tags in implicit VR are kept as UN bytes (or parsed as a sequence
// when their length is undefined).
var dict = map[Tag]string{
	TagFileMetaInformationGroupLength: "UL",
	TagMediaStorageSOPClassUID:        "UI",
	TagMediaStorageSOPInstanceUID:     "UI",
	TagTransferSyntaxUID:              "UI",
	TagImplementationClassUID:         "UI",
	TagSpecificCharacterSet:           "CS",
	TagImageType:                      "CS",
	TagSOPClassUID:                    "UI",
	TagSOPInstanceUID:                 "UI",
	TagStudyDate:                      "DA",
	TagSeriesDate:                     "DA",
	TagAcquisitionDate:                "DA",
	TagContentDate:                    "DA",
	TagStudyTime:                      "TM",
	TagAccessionNumber:                "SH",
	TagModality:                       "CS",
	TagManufacturer:                   "LO",
	TagInstitutionName:                "LO",
	TagReferringPhysicianName:         "PN",
	TagStationName:                    "SH",
	TagStudyDescription:               "LO",
	TagSeriesDescription:              "LO",
	TagPatientName:                    "PN",
	TagPatientID:                      "LO",
	TagPatientBirthDate:               "DA",
	TagPatientSex:                     "CS",
	TagBodyPartExamined:               "CS",
	TagStudyInstanceUID:               "UI",
	TagSeriesInstanceUID:              "UI",
	TagStudyID:                        "SH",
	TagSeriesNumber:                   "IS",
	TagInstanceNumber:                 "IS",
	TagSamplesPerPixel:                "US",
	TagPhotometricInterpretation:      "CS",
	TagPlanarConfiguration:            "US",
	TagNumberOfFrames:                 "IS",
	TagRows:                           "US",
	TagColumns:                        "US",
	TagPixelSpacing:                   "DS",
	TagBitsAllocated:                  "US",
	TagBitsStored:                     "US",
	TagHighBit:                        "US",
	TagPixelRepresentation:            "US",
	TagWindowCenter:                   "DS",
	TagWindowWidth:                    "DS",
	TagRescaleIntercept:               "DS",
	TagRescaleSlope:                   "DS",
	TagRedPaletteLUTDescriptor:        "US",
	TagGreenPaletteLUTDescriptor:      "US",
	TagBluePaletteLUTDescriptor:       "US",
	TagRedPaletteLUTData:              "OW",
	TagGreenPaletteLUTData:            "OW",
	TagBluePaletteLUTData:             "OW",
	TagPixelData:                      "OW",
	// Waveform (PS3.3 C.10.9, C.10.10; waveform.go), so implicit-VR ECGs parse
	TagWaveformSequence:             "SQ",
	TagWaveformBitsAllocated:        "US",
	TagWaveformSampleInterpretation: "CS",
	TagWaveformData:                 "OW",
	TagNumberOfWaveformChannels:     "US",
	TagNumberOfWaveformSamples:      "UL",
	TagSamplingFrequency:            "DS",
	TagMultiplexGroupLabel:          "SH",
	TagChannelDefinitionSequence:    "SQ",
	TagWaveformChannelNumber:        "IS",
	TagChannelLabel:                 "SH",
	TagChannelSourceSequence:        "SQ",
	TagChannelSensitivity:           "DS",
	TagChannelSensitivityUnitsSeq:   "SQ",
	TagChannelSensitivityCorrection: "DS",
	TagChannelBaseline:              "DS",
	TagChannelTimeSkew:              "DS",
	TagWaveformBitsStored:           "US",
	TagCodeValue:                    "SH",
	TagCodingSchemeDesignator:       "SH",
	TagCodeMeaning:                  "LO",
	TagWaveformAnnotationSequence:   "SQ",
	TagUnformattedTextValue:         "ST",
	TagConceptNameCodeSequence:      "SQ",
	TagConceptCodeSequence:          "SQ",
	TagNumericValue:                 "DS",
	TagMeasurementUnitsCodeSequence: "SQ",
	TagAcquisitionDateTime:          "DT",
	TagContentTime:                  "TM",
	TagManufacturerModelName:        "LO",
	0x00081140:                      "SQ", // Referenced Image Sequence
	0x00081115:                      "SQ", // Referenced Series Sequence
	0x00082112:                      "SQ", // Source Image Sequence
	0x00400275:                      "SQ", // Request Attributes Sequence
	0x00540016:                      "SQ", // Radiopharmaceutical Information Sequence
	0x00880200:                      "SQ", // Icon Image Sequence
	0x00189346:                      "SQ", // CTDI Phantom Type Code Sequence
	0x00082218:                      "SQ", // Anatomic Region Sequence
}

// Transfer syntaxes.
const (
	ImplicitVRLittleEndian         = "1.2.840.10008.1.2"
	ExplicitVRLittleEndian         = "1.2.840.10008.1.2.1"
	DeflatedExplicitVRLittleEndian = "1.2.840.10008.1.2.1.99"
	ExplicitVRBigEndian            = "1.2.840.10008.1.2.2"
	JPEGBaseline                   = "1.2.840.10008.1.2.4.50"
	JPEGExtended                   = "1.2.840.10008.1.2.4.51"
)

var tsNames = map[string]string{
	ImplicitVRLittleEndian:         "Implicit VR Little Endian",
	ExplicitVRLittleEndian:         "Explicit VR Little Endian",
	DeflatedExplicitVRLittleEndian: "Deflated Explicit VR Little Endian",
	ExplicitVRBigEndian:            "Explicit VR Big Endian",
	JPEGBaseline:                   "JPEG Baseline (Process 1)",
	JPEGExtended:                   "JPEG Extended (Process 2 & 4)",
	JPEGLossless:                   "JPEG Lossless",
	JPEGLosslessSV1:                "JPEG Lossless SV1",
	JPEGLSLossless:                 "JPEG-LS Lossless",
	JPEGLSNearLossless:             "JPEG-LS Near-Lossless",
	JPEG2000Lossless:               "JPEG 2000 Lossless",
	JPEG2000:                       "JPEG 2000",
	HTJ2KLossless:                  "HTJ2K Lossless",
	HTJ2KLosslessRPCL:              "HTJ2K Lossless RPCL",
	HTJ2K:                          "HTJ2K",
	RLELossless:                    "RLE Lossless",
	DeflatedImageFrame:             "Deflated Image Frame Compression",
	"1.2.840.10008.1.2.4.100":      "MPEG2 Main Profile",
	"1.2.840.10008.1.2.4.102":      "MPEG-4 AVC/H.264",
	"1.2.840.10008.1.2.4.110":      "MPEG-4 AVC/H.264 High Profile",
	"1.2.840.10008.1.2.4.107":      "HEVC/H.265 Main Profile",
}

// TransferSyntaxName is the name of a transfer syntax UID, or "unknown transfer syntax".
func TransferSyntaxName(uid string) string {
	if n, ok := tsNames[uid]; ok {
		return n
	}
	return "unknown transfer syntax"
}
