package kpi

import (
	"context"
	"fmt"
	"strings"

	"countycare/audit"
	"countycare/care"
	"countycare/idcard"
)

// listPage sets rp's page of all (from 1; past the last: the last), names
// the residents of the page — who returns them by registration, or by
// resident when byResident — with their identity numbers masked, and
// audits the read (ActRecords, the residents listed).
func (s *Service) listPage(ctx context.Context, a care.Actor, rp *RecordPage, all []Record, page int,
	who func(ctx context.Context, county string, ids []int64) (map[int64]Registrant, error), byResident bool) error {
	rp.Listed = len(all)
	var lo, hi int
	rp.Page, rp.Pages, lo, hi = pageOf(len(all), page)
	rp.Records = all[lo:hi]
	ids := make([]int64, len(rp.Records))
	for i, rec := range rp.Records {
		ids[i] = rec.RegistrationID
		if byResident {
			ids[i] = rec.ResidentID
		}
	}
	named, err := who(ctx, a.CountyCode, ids)
	if err != nil {
		return err
	}
	var residents []string
	for i := range rp.Records {
		rec := &rp.Records[i]
		w := named[ids[i]]
		rec.ResidentID, rec.Name, rec.IDMasked = w.ResidentID, w.Name, idcard.Mask(w.IDNumber)
		residents = append(residents, fmt.Sprint(w.ResidentID))
	}
	ev := audit.New(ctx, a, ActRecords, 0)
	ev.Detail = fmt.Sprintf("records %s unit %d period %s page %d/%d listed %d residents %s", rp.Indicator.ID, rp.Unit.ID, rp.Period, rp.Page, rp.Pages,
		len(rp.Records), strings.Join(residents, ","))
	if f := rp.Filter; f.Direction != "" || f.Poor {
		ev.Detail += fmt.Sprintf(" direction %q poor %t", f.Direction, f.Poor)
	}
	s.Audit.Record(ctx, ev)
	return nil
}

// pageOf is page (clamped to 1…pages) of n records, RecordsPerPage a page:
// the page, the number of pages (at least 1) and the page's records
// [lo, hi).
func pageOf(n, page int) (p, pages, lo, hi int) {
	pages = max(1, (n+RecordsPerPage-1)/RecordsPerPage)
	p = min(max(page, 1), pages)
	lo = (p - 1) * RecordsPerPage
	return p, pages, lo, min(lo+RecordsPerPage, n)
}
