package store_test

import (
	"bytes"
	"context"
	"countycare/internal/testfiles"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"countycare/audit"
	"countycare/care"
	"countycare/dicom"
	"countycare/internal/testdb"
	"countycare/reading"
	"countycare/resident"
	"countycare/store"
)

// withPatient rewrites a DICOM file's Patient Name in place (padded to the
// same length, so the file stays valid) and its character set to UTF-8.
func withPatient(t *testing.T, b []byte, name string) []byte {
	t.Helper()
	f, err := dicom.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	old := f.Get(dicom.TagPatientName).Value
	if len(name) > len(old) {
		t.Fatalf("name %q longer than %d bytes", name, len(old))
	}
	padded := []byte(name + strings.Repeat(" ", len(old)-len(name)))
	b = bytes.Replace(b, old, padded, 1)
	// The resident's name is Chinese: declare UTF-8 (same length as ISO_IR 100).
	return bytes.Replace(b, []byte("ISO_IR 100"), []byte("ISO_IR 192"), 1)
}

// TestDICOMUpload: a village doctor sends DICOM files for a resident to the
// county imaging center: a CT that previews, a file of another patient
// (refused unless confirmed, then flagged), a duplicate (ECONFLICT), a
// truncated file (EINVALID naming the fault, nothing stored) and a file the
// server cannot preview (stored with the notice).
func TestDICOMUpload(t *testing.T) {
	dir := testfiles.Path(t, "dicom")
	ct, err := os.ReadFile(filepath.Join(dir, "pydicom-CT_small.dcm"))
	if err != nil {
		t.Fatalf("shared DICOM files (testdata/README.md): %v", err)
	}
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f, svc, vd, rd := imagingFixture(t, d)
		ctx := context.Background()
		people, _, _ := f.res.Search(ctx, vd, "", resident.Filter{Limit: 2})
		if len(people) < 2 {
			t.Fatal("no residents in the demo village")
		}
		p := people[0]
		mine := withPatient(t, ct, p.Name)
		in, err := svc.UploadDICOM(ctx, vd, p.ID, reading.DICOMUpload{CenterID: rd.InstitutionID, Name: "ct.dcm", File: mine})
		if err != nil {
			t.Fatal(err)
		}
		if in.Modality != "CT" || in.Rows != 128 || in.NoPreview != "" || in.Mismatch != "" || in.SOPUID == "" {
			t.Errorf("CT: %+v", in)
		}
		// The same instance again: conflict.
		if _, err := svc.UploadDICOM(ctx, vd, p.ID, reading.DICOMUpload{CenterID: rd.InstitutionID, File: mine}); care.ErrorCode(err) != care.ECONFLICT {
			t.Errorf("duplicate: %v", err)
		}
		// Another patient's file (the original CT names CompressedSamples^CT1).
		mr, _ := os.ReadFile(filepath.Join(dir, "pydicom-MR_small.dcm"))
		_, err = svc.UploadDICOM(ctx, vd, p.ID, reading.DICOMUpload{CenterID: rd.InstitutionID, File: mr})
		var ce *care.Error
		if care.ErrorCode(err) != care.EINVALID || !asCare(err, &ce) || ce.Key != "reading.dicom_patient_mismatch" {
			t.Fatalf("mismatch: %v", err)
		}
		flagged, err := svc.UploadDICOM(ctx, vd, p.ID, reading.DICOMUpload{CenterID: rd.InstitutionID, File: mr, ConfirmMismatch: true})
		if err != nil || !strings.Contains(flagged.Mismatch, "CompressedSamples^MR1") {
			t.Fatalf("confirmed mismatch: %v %+v", err, flagged)
		}
		// Truncated: EINVALID naming the fault, nothing stored.
		_, err = svc.UploadDICOM(ctx, vd, p.ID, reading.DICOMUpload{CenterID: rd.InstitutionID, File: mine[:len(mine)/2]})
		if care.ErrorCode(err) != care.EINVALID || !asCare(err, &ce) || !strings.Contains(ce.Args[0].(string), "truncated") {
			t.Errorf("truncated: %v", err)
		}
		// A JPEG 2000 file: stored, with the cannot-preview notice.
		j2k := dicom.Encode("1.2.840.10008.1.2.4.90", []*dicom.Element{
			{Tag: dicom.TagSpecificCharacterSet, VR: "CS", Value: []byte("ISO_IR 192")},
			{Tag: dicom.TagSOPInstanceUID, VR: "UI", Value: []byte("1.2.826.0.1.3680043.99.1")},
			{Tag: dicom.TagModality, VR: "CS", Value: []byte("DX")},
			{Tag: dicom.TagPatientName, VR: "PN", Value: []byte(p.Name)},
			{Tag: dicom.TagStudyInstanceUID, VR: "UI", Value: []byte("1.2.826.0.1.3680043.99.2")},
			{Tag: dicom.TagRows, VR: "US", Value: []byte{4, 0}},
			{Tag: dicom.TagColumns, VR: "US", Value: []byte{4, 0}},
			{Tag: dicom.TagBitsAllocated, VR: "US", Value: []byte{16, 0}},
			{Tag: dicom.TagPixelData, VR: "OB", Fragments: [][]byte{nil, {0xFF, 0x4F, 0xFF, 0x51}}},
		})
		np, err := svc.UploadDICOM(ctx, vd, p.ID, reading.DICOMUpload{CenterID: rd.InstitutionID, File: j2k})
		if err != nil || !strings.Contains(np.NoPreview, "JPEG 2000") {
			t.Fatalf("JPEG 2000: %v %+v", err, np)
		}
		list, err := f.st.ImagingInstances(ctx, p.CountyCode, p.ID)
		if err != nil || len(list) != 3 || list[0].ID != np.ID || list[2].ID != in.ID || list[1].Mismatch == "" {
			t.Fatalf("instances: %v %+v", err, list)
		}
		b, err := f.st.ImagingFile(ctx, p.CountyCode, np.ID)
		if err != nil || !bytes.Equal(b, j2k) {
			t.Errorf("stored file differs: %v", err)
		}
		if _, err := f.st.ImagingFile(ctx, p.CountyCode, 1<<40); care.ErrorCode(err) != care.ENOTFOUND {
			t.Errorf("missing file: %v", err)
		}
		// The reader may open the resident (care link of kind study).
		if _, err := f.res.Get(ctx, rd, p.ID); err != nil {
			t.Errorf("reader opens the resident: %v", err)
		}
		ups, _ := f.st.SearchAudit(ctx, audit.Filter{Action: reading.ActDICOMUpload})
		if len(ups) != 3 {
			t.Errorf("audit: %d uploads", len(ups))
		}
	})
}
