package store_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"countycare/care"
	"countycare/internal/testdb"
	"countycare/internal/testfiles"
	"countycare/reading"
	"countycare/resident"
	"countycare/store"
)

// TestImagingFileAppendNoCopy: ImagingFileAppend reads an instance's
// bytes, kept in its row and kept in blobs by content hash, straight into
// the caller's buffer (issue 16: database/sql copied each value into a
// new file-sized slice, whose garbage made the collector the tail of a
// WADO-RS retrieve): the same bytes, and with a buffer large enough less
// than a tenth of the file allocated per read. A missing id, or an id of
// another county, is ENOTFOUND; on both databases.
func TestImagingFileAppendNoCopy(t *testing.T) {
	file, err := os.ReadFile(filepath.Join(testfiles.Path(t, "dicom"), "tcia-5.dcm")) // 1 MB enhanced CT
	if err != nil {
		t.Fatalf("shared DICOM files (testdata/README.md): %v", err)
	}
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f, svc, vd, rd := imagingFixture(t, d)
		ctx := context.Background()
		people, _, _ := f.res.Search(ctx, vd, "", resident.Filter{Limit: 1})
		if len(people) == 0 {
			t.Fatal("no residents in the demo village")
		}
		p := people[0]
		in, err := svc.UploadDICOM(ctx, vd, p.ID, reading.DICOMUpload{CenterID: rd.InstitutionID, File: file, ConfirmMismatch: true})
		if err != nil {
			t.Fatal(err)
		}
		read := func(what string, want []byte) {
			t.Helper()
			buf := make([]byte, 0, 2<<20)
			got, err := f.st.ImagingFileAppend(ctx, p.CountyCode, in.ID, buf)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("%s: %v, %d bytes, want %d", what, err, len(got), len(want))
			}
			const n = 50 // pgconn's pooled buffer may be dropped by a collection and made again: once in n reads
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			for range n {
				if got, err = f.st.ImagingFileAppend(ctx, p.CountyCode, in.ID, got); err != nil {
					t.Fatal(err)
				}
			}
			runtime.ReadMemStats(&m1)
			if per := (m1.TotalAlloc - m0.TotalAlloc) / n; per > uint64(len(want)/10) {
				t.Errorf("%s: %d bytes allocated a read of %d, want < a tenth", what, per, len(want))
			}
		}
		read("in its row", file)
		// The demo county keeps files in blobs, by hash: move this one there.
		q := fmt.Sprintf(`INSERT INTO blobs (county_code, sha256, type, size, data, created_at)
			SELECT county_code, 'wado-test', 'application/dicom', size, file, uploaded_at FROM imaging_instances WHERE id = %d`, in.ID)
		if err := f.st.ExecForTest(ctx, q); err != nil {
			t.Fatal(err)
		}
		if err := f.st.ExecForTest(ctx, fmt.Sprintf(`UPDATE imaging_instances SET file_hash = 'wado-test', file = substr(file, 1, 0) WHERE id = %d`, in.ID)); err != nil {
			t.Fatal(err)
		}
		read("in blobs", file)
		for _, c := range []struct {
			county string
			id     int64
		}{{p.CountyCode, 1 << 40}, {"999999", in.ID}} {
			if _, err := f.st.ImagingFileAppend(ctx, c.county, c.id, nil); care.ErrorCode(err) != care.ENOTFOUND {
				t.Errorf("county %s id %d: %v, want ENOTFOUND", c.county, c.id, err)
			}
		}
	})
}

// imagingFixture is a fixture with the imaging service and the village
// doctor who uploads and the reader whose center reads.
func imagingFixture(t *testing.T, d store.Dialect) (*fixture, *reading.ImagingService, care.Actor, care.Actor) {
	f := newFixture(t, d)
	svc := &reading.ImagingService{Repo: f.st, Residents: f.res, Orgs: f.orgs, Now: f.clk.Now}
	return f, svc, f.actors[care.RoleVillageDoctor], f.actors[care.RoleReader]
}
