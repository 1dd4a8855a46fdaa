package reading

import (
	"countycare/internal/testfiles"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"countycare/care"
	"countycare/resident"
)

func TestPatientMismatch(t *testing.T) {
	r := &resident.Resident{Name: "王小东", IDNumber: "11010519491231002X"}
	for _, c := range []struct {
		name, id string
		match    bool
	}{
		{"Wang^XiaoDong=王^小东=", "", true},
		{"王小东", "", true},
		{"Other^Person", "11010519491231002x", true}, // the ID number decides
		{"Wang^XiaoDong=王^小東=", "", false},           // traditional 東: another name
		{"Other^Person", "12345", false},
		{"", "", false},
	} {
		if got := patientMismatch(c.name, c.id, r) == ""; got != c.match {
			t.Errorf("%q %q: match %v", c.name, c.id, got)
		}
	}
}

func TestReadDICOMShared(t *testing.T) {
	dir := testfiles.Path(t, "dicom")
	b, err := os.ReadFile(filepath.Join(dir, "pydicom-chrX1.dcm"))
	if err != nil {
		t.Fatalf("test DICOM files (testdata/README.md): %v", err)
	}
	in, err := ReadDICOM(b)
	if err != nil {
		t.Fatal(err)
	}
	if in.FilePatientName != "Wang^XiaoDong=王^小東=" || in.NoPreview != "" || in.SOPUID == "" {
		t.Errorf("%+v", in)
	}
	_, err = ReadDICOM(b[:300])
	var ce *care.Error
	if !errors.As(err, &ce) || ce.Code != care.EINVALID || !strings.Contains(ce.Args[0].(string), "truncated") {
		t.Errorf("truncated: %v", err)
	}
}
