package web

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"countycare/dicom"
)

// QIDO-RS includefield (PS3.18 §8.3.4.3): the attributes a search returns
// beyond its default set. Each value is "all", a tag (8 hex digits) or a
// keyword, repeated or comma-separated. Attributes the study, series and
// instance rows keep are always returned; others are read from the
// stored file (the study's or series' first instance, or the instance
// itself) and returned when it holds them, absent otherwise. "all" adds
// every attribute of the level's modules that the file holds: at study
// level the patient (group 0010) and general study module, at series
// level the general series and equipment modules, at instance level every
// top-level attribute but bulk data (pixel data, OB/OW/… values) and the
// file meta group.

// includeKeywords maps the keywords includefield understands to tags.
var includeKeywords = map[string]dicom.Tag{
	"SpecificCharacterSet": 0x00080005, "ImageType": 0x00080008, "SOPClassUID": 0x00080016, "SOPInstanceUID": 0x00080018,
	"StudyDate": 0x00080020, "SeriesDate": 0x00080021, "AcquisitionDate": 0x00080022, "ContentDate": 0x00080023,
	"StudyTime": 0x00080030, "SeriesTime": 0x00080031, "AcquisitionTime": 0x00080032, "ContentTime": 0x00080033,
	"AccessionNumber": 0x00080050, "Modality": 0x00080060, "ModalitiesInStudy": 0x00080061, "Manufacturer": 0x00080070,
	"InstitutionName": 0x00080080, "ReferringPhysicianName": 0x00080090, "StationName": 0x00081010, "StudyDescription": 0x00081030,
	"SeriesDescription": 0x0008103E, "InstitutionalDepartmentName": 0x00081040, "PerformingPhysicianName": 0x00081050,
	"NameOfPhysiciansReadingStudy": 0x00081060, "OperatorsName": 0x00081070, "AdmittingDiagnosesDescription": 0x00081080,
	"ManufacturerModelName": 0x00081090, "PatientName": 0x00100010, "PatientID": 0x00100020, "IssuerOfPatientID": 0x00100021,
	"PatientBirthDate": 0x00100030, "PatientSex": 0x00100040, "OtherPatientIDs": 0x00101000, "PatientAge": 0x00101010,
	"PatientSize": 0x00101020, "PatientWeight": 0x00101030, "EthnicGroup": 0x00102160, "PatientComments": 0x00104000,
	"BodyPartExamined": 0x00180015, "ProtocolName": 0x00181030, "StudyInstanceUID": 0x0020000D, "SeriesInstanceUID": 0x0020000E,
	"StudyID": 0x00200010, "SeriesNumber": 0x00200011, "InstanceNumber": 0x00200013, "Laterality": 0x00200060,
	"ImageComments": 0x00204000, "NumberOfFrames": 0x00280008, "Rows": 0x00280010, "Columns": 0x00280011,
	"PhotometricInterpretation": 0x00280004, "BitsAllocated": 0x00280100, "WindowCenter": 0x00281050, "WindowWidth": 0x00281051,
}

// studyAllTags and seriesAllTags are the level's module attributes for
// includefield=all (besides the whole patient group at study level).
var (
	studyAllTags = []dicom.Tag{0x00080020, 0x00080030, 0x00080050, 0x00080090, 0x00081030, 0x00081060, 0x00081080,
		0x0020000D, 0x00200010, 0x00081032}
	seriesAllTags = []dicom.Tag{0x00080060, 0x0020000E, 0x00200011, 0x0008103E, 0x00080021, 0x00080031, 0x00180015,
		0x00181030, 0x00080070, 0x00080080, 0x00081010, 0x00081040, 0x00081090, 0x00200060, 0x00081050, 0x00081070}
)

var hexTag = regexp.MustCompile(`^[0-9A-Fa-f]{8}$`)

// includeFields is a parsed includefield: all, and the tags asked.
type includeFields struct {
	all  bool
	tags []dicom.Tag
}

func (f includeFields) none() bool { return !f.all && len(f.tags) == 0 }

// parseIncludeFields reads the includefield parameters; values it does
// not know are returned to be named in the Warning header.
func parseIncludeFields(r *http.Request) (includeFields, []string) {
	var f includeFields
	var unknown []string
	for _, v := range r.URL.Query()["includefield"] {
		for _, x := range strings.Split(v, ",") {
			x = strings.TrimSpace(x)
			var t uint32
			switch {
			case x == "":
			case strings.EqualFold(x, "all"):
				f.all = true
			case hexTag.MatchString(x):
				fmt.Sscanf(x, "%08x", &t)
				f.tags = append(f.tags, dicom.Tag(t))
			case includeKeywords[x] != 0:
				f.tags = append(f.tags, includeKeywords[x])
			default:
				unknown = append(unknown, "includefield="+x)
			}
		}
	}
	return f, unknown
}

type qidoLevel int

const (
	levelStudy qidoLevel = iota
	levelSeries
	levelInstance
)

// include adds to out the attributes f asks for that file holds and out
// does not have yet. No file (nil), or one that cannot be parsed, adds
// nothing: every stored file parsed when it was stored.
func (f includeFields) include(out map[string]any, file []byte, level qidoLevel) {
	if file == nil {
		return
	}
	df, err := dicom.Parse(file)
	if err != nil {
		return
	}
	full := dicom.JSON(df.Dataset, func(dicom.Tag) string { return "" })
	add := func(key string) {
		if _, ok := out[key]; ok {
			return
		}
		if v, ok := full[key]; ok {
			out[key] = v
		}
	}
	for _, t := range f.tags {
		add(fmt.Sprintf("%08X", uint32(t)))
	}
	if !f.all {
		return
	}
	switch level {
	case levelStudy:
		for key := range full {
			if strings.HasPrefix(key, "0010") {
				add(key)
			}
		}
		for _, t := range studyAllTags {
			add(fmt.Sprintf("%08X", uint32(t)))
		}
	case levelSeries:
		for _, t := range seriesAllTags {
			add(fmt.Sprintf("%08X", uint32(t)))
		}
	case levelInstance:
		for _, e := range df.Elements {
			switch e.VR {
			case "OB", "OW", "OF", "OD", "OL", "OV", "UN":
				continue
			}
			if e.Tag == dicom.TagPixelData {
				continue
			}
			add(fmt.Sprintf("%08X", uint32(e.Tag)))
		}
	}
}
