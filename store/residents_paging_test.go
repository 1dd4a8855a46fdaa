package store_test

import (
	"context"
	"testing"

	"countycare/care"
	"countycare/internal/testdb"
	"countycare/resident"
	"countycare/store"
)

// TestBrowsePages: a browse (a search without text) continues after a
// record number (Filter.AfterRecord, the FHIR next link): pages of 40 are
// the one-page list cut in order, with no resident twice, on both engines.
func TestBrowsePages(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		ctx := context.Background()
		td := f.actors[care.RoleTownshipDoctor]
		whole, more, err := f.res.Search(ctx, td, "", resident.Filter{Limit: 100})
		if err != nil || !more || len(whole) != 100 {
			t.Fatalf("first 100: %d more=%v %v", len(whole), more, err)
		}
		var got []resident.Resident
		after := ""
		for len(got) < 100 {
			page, _, err := f.res.Search(ctx, td, "", resident.Filter{Limit: 40, AfterRecord: after})
			if err != nil || len(page) == 0 {
				t.Fatalf("page after %q: %d %v", after, len(page), err)
			}
			got = append(got, page...)
			after = page[len(page)-1].RecordNumber
		}
		for i := 0; i < 100; i++ {
			if got[i].ID != whole[i].ID {
				t.Fatalf("resident %d of the pages is %d, of one search %d", i, got[i].ID, whole[i].ID)
			}
			if i > 0 && got[i].RecordNumber <= got[i-1].RecordNumber {
				t.Fatalf("record numbers out of order at %d", i)
			}
		}
	})
}
