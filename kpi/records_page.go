package kpi

import (
	"context"
	"fmt"
	"strings"

	"countycare/audit"
	"countycare/care"
	"countycare/idcard"
)

// listPage sets rp's page of all (from l.page; past the last: the last)
// and names and audits it (nameAndAudit), or, for an export (l.each),
// passes l.each all of it, exportBatch records at a time, named.
func (s *Service) listPage(ctx context.Context, a care.Actor, rp *RecordPage, all []Record, l *listing,
	who func(ctx context.Context, county string, ids []int64) (map[int64]Registrant, error), byResident bool) error {
	rp.Listed = len(all)
	if l.each != nil {
		for lo := 0; lo < len(all); lo += exportBatch {
			if err := s.pass(ctx, a, rp, all[lo:min(lo+exportBatch, len(all))], l, who, byResident); err != nil {
				return err
			}
		}
		return nil
	}
	var lo, hi int
	rp.Page, rp.Pages, lo, hi = pageOf(len(all), l.page)
	rp.Records = all[lo:hi]
	return s.nameAndAudit(ctx, a, rp, who, byResident)
}

// pass names a batch of an export's records and passes it to l.each.
func (s *Service) pass(ctx context.Context, a care.Actor, rp *RecordPage, recs []Record, l *listing,
	who func(ctx context.Context, county string, ids []int64) (map[int64]Registrant, error), byResident bool) error {
	rp.Records = recs
	if _, err := s.name(ctx, a, recs, who, byResident); err != nil {
		return err
	}
	l.rows += len(recs)
	return l.each(rp, recs)
}

// nameAndAudit names the residents of rp's page (name) and audits the
// read (ActRecords, the residents listed).
func (s *Service) nameAndAudit(ctx context.Context, a care.Actor, rp *RecordPage,
	who func(ctx context.Context, county string, ids []int64) (map[int64]Registrant, error), byResident bool) error {
	residents, err := s.name(ctx, a, rp.Records, who, byResident)
	if err != nil {
		return err
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

// name names the residents of recs — who returns them by registration,
// or by resident when byResident — with their identity numbers masked
// (idcard.Mask), and returns their ids.
func (s *Service) name(ctx context.Context, a care.Actor, recs []Record,
	who func(ctx context.Context, county string, ids []int64) (map[int64]Registrant, error), byResident bool) ([]string, error) {
	ids := make([]int64, len(recs))
	for i, rec := range recs {
		ids[i] = rec.RegistrationID
		if byResident {
			ids[i] = rec.ResidentID
		}
	}
	named, err := who(ctx, a.CountyCode, ids)
	if err != nil {
		return nil, err
	}
	residents := make([]string, len(recs))
	for i := range recs {
		rec := &recs[i]
		w := named[ids[i]]
		rec.ResidentID, rec.Name, rec.IDMasked = w.ResidentID, w.Name, idcard.Mask(w.IDNumber)
		residents[i] = fmt.Sprint(w.ResidentID)
	}
	return residents, nil
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
