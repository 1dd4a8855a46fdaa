package reading

import (
	"context"
	"testing"

	"countycare/dicom"
)

// studyRepo serves the previous-study candidates and their files.
type studyRepo struct {
	ViewerRepository
	cands []ImagingInstance
	files map[int64][]byte
}

func (r *studyRepo) PreviousImagingStudies(_ context.Context, in *ImagingInstance, limit int) ([]ImagingInstance, error) {
	return r.cands, nil
}

func (r *studyRepo) ImagingFileHash(_ context.Context, _ string, id int64) ([]byte, string, error) {
	return r.files[id], "", nil
}

func ctFile(bodyPart, description string) []byte {
	var es []*dicom.Element
	es = append(es, &dicom.Element{Tag: dicom.TagModality, VR: "CS", Value: []byte("CT")},
		&dicom.Element{Tag: dicom.TagSpecificCharacterSet, VR: "CS", Value: []byte("ISO_IR 192")}) // Chinese descriptions in UTF-8
	if bodyPart != "" {
		es = append(es, &dicom.Element{Tag: dicom.TagBodyPartExamined, VR: "CS", Value: []byte(bodyPart)})
	}
	if description != "" {
		es = append(es, &dicom.Element{Tag: dicom.TagStudyDescription, VR: "LO", Value: []byte(description)})
	}
	return dicom.Encode(dicom.ExplicitVRLittleEndian, es)
}

// TestPreviousSameBodyPart: beside a head CT goes the latest earlier head
// CT, not the spine CT taken in between; Body Part Examined decides, else
// the study description; a study that does not say its body part is never
// put beside one, nor one beside it (issue 16: the old rule fell back to
// such a study, and the demo county showed a spine CT beside a head CT).
func TestPreviousSameBodyPart(t *testing.T) {
	type study struct {
		id          int64
		part, descr string
	}
	for _, tt := range []struct {
		name    string
		current study
		earlier []study // newest first
		want    int64
	}{
		{"body part examined", study{1, "HEAD", "CT HEAD W/O"}, []study{{2, "LSPINE", "CT L-SPINE"}, {3, "HEAD", "CT HEAD W/O"}}, 3},
		{"head, not spine (the reported case)", study{1, "HEAD", ""}, []study{{2, "SPINE", ""}}, 0},
		{"description when no body part", study{1, "", "头颅CT平扫"}, []study{{2, "", "腰椎CT平扫"}, {3, "", "颅脑 CT"}}, 3},
		{"body part against description", study{1, "BRAIN", ""}, []study{{2, "", "胸部CT"}, {3, "", "头颅平扫"}}, 3},
		{"cervical spine is not lumbar spine", study{1, "CSPINE", ""}, []study{{2, "LSPINE", ""}, {3, "", "颈椎CT"}}, 3},
		{"an unknown is not a match", study{1, "HEAD", ""}, []study{{2, "", ""}, {3, "CHEST", ""}}, 0},
		{"a known match beats a later unknown", study{1, "HEAD", ""}, []study{{2, "", "e+1"}, {3, "HEAD", ""}}, 3},
		{"the current study does not say", study{1, "", ""}, []study{{2, "CHEST", ""}}, 0},
		{"neither says (the demo's spine and head CTs)", study{1, "", ""}, []study{{2, "", "e+1"}}, 0},
	} {
		repo := &studyRepo{files: map[int64][]byte{tt.current.id: ctFile(tt.current.part, tt.current.descr)}}
		for _, s := range tt.earlier {
			repo.cands = append(repo.cands, ImagingInstance{ID: s.id, CountyCode: "411723", Modality: "CT"})
			repo.files[s.id] = ctFile(s.part, s.descr)
		}
		v := &Viewer{Repo: repo}
		got, err := v.previous(context.Background(), &ImagingInstance{ID: tt.current.id, CountyCode: "411723", Modality: "CT"})
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var id int64
		if got != nil {
			id = got.ID
		}
		if id != tt.want {
			t.Errorf("%s: previous %d, want %d", tt.name, id, tt.want)
		}
	}
}

func TestBodyPart(t *testing.T) {
	for _, tt := range []struct{ examined, descr, want string }{
		{"HEAD", "", "HEAD"}, {"brain", "", "HEAD"}, {"", "头颅CT平扫", "HEAD"}, {"", "腰椎间盘CT", "LSPINE"},
		{"", "胸椎 MR", "TSPINE"}, {"", "胸部正位", "CHEST"}, {"CSPINE", "XR C Spine", "CSPINE"}, {"HAND", "", "HAND"},
		{"", "e+1", ""}, {"", "", ""},
	} {
		if got := BodyPart(tt.examined, tt.descr); got != tt.want {
			t.Errorf("BodyPart(%q, %q) = %q, want %q", tt.examined, tt.descr, got, tt.want)
		}
	}
}
