package kpi

import (
	"context"
	"sort"
	"strings"
	"time"

	"countycare/care"
	"countycare/org"
)

// TurnaroundRow is a report behind a turnaround figure: a signed study
// (ECG, imaging) or a lab result, with when it started (uploaded,
// collected) and ended (signed, resulted).
type TurnaroundRow struct {
	ID, ResidentID, Institution int64
	Modality                    string // ECG, DR, CT …; the analyte for a lab result
	From, To                    time.Time
}

// TurnaroundRecordSource is what the turnaround's drill-down needs of the
// store (store.Store; the Service's RecordStore when it has it): the
// reports of kind (TATECG, TATImaging, TATLab) by the institutions that
// ended in [from, to).
type TurnaroundRecordSource interface {
	TurnaroundReports(ctx context.Context, county, kind string, institutions []int64, from, to time.Time) ([]TurnaroundRow, error)
}

// turnaroundKind is the kind of a turnaround indicator (tat_ecg_p90: ecg).
func turnaroundKind(id string) string {
	return strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(id, "tat_"), "_median"), "_p90")
}

// turnaroundRecords is Records for a turnaround indicator at unit u: the
// reports its institutions signed (resulted) in the period, slowest first,
// each with its turnaround in minutes, counted when within the year's
// target (Flagged: over it; missing lists only those); the page's Figure
// is the indicator read from these reports' histogram — the board's value.
func (s *Service) turnaroundRecords(ctx context.Context, a care.Actor, t *org.Tree, r, u *org.Institution, in Indicator, p Period, missing bool, l *listing) (*RecordPage, error) {
	src, ok := s.RecordStore.(TurnaroundRecordSource)
	if !ok {
		return nil, care.Errorf(care.EINTERNAL, "kpi: no store for the turnaround's reports")
	}
	today := care.Today(s.Now())
	from, to := p.From(), p.To(today)
	if from.After(today) {
		return nil, care.Invalid([]care.FieldError{{Field: "period", Key: "kpi.period.future"}})
	}
	// Whole months, as the kept histograms count them.
	start := time.Date(from.Year, from.Month, 1, 0, 0, 0, 0, care.Shanghai)
	end := time.Date(to.Year, to.Month, 1, 0, 0, 0, 0, care.Shanghai).AddDate(0, 1, 0)
	rows, err := src.TurnaroundReports(ctx, a.CountyCode, turnaroundKind(in.ID), t.Subtree(u.ID), start, end)
	if err != nil {
		return nil, err
	}
	target, hasTarget := 0, false
	if bp, err := s.Targets.Target(in.ID, p.Year); err == nil {
		target, hasTarget = bp/100, true
	}
	rp := &RecordPage{Unit: u, Path: path(t, r, u), Indicator: in, Period: p, From: from, To: to, Missing: missing}
	h := make(Histogram, TurnaroundBuckets)
	var all []Record
	for _, row := range rows {
		m := int(row.To.Sub(row.From) / time.Minute)
		h[TurnaroundBucket(m)]++
		rec := Record{StudyID: row.ID, ResidentID: row.ResidentID, Modality: row.Modality, Sent: row.From, Ended: row.To, WaitMinutes: max(m, 0),
			FromInstitution: row.Institution, Counted: !hasTarget || m <= target}
		rec.Flagged = !rec.Counted
		if !rec.Counted {
			rec.Why, rec.WhyArgs = "kpi.records.tat_over", []any{max(m, 0), target}
		}
		rp.Total++
		if rec.Counted {
			rp.Counted++
		}
		if rec.Flagged || !missing {
			all = append(all, rec)
		}
	}
	q := 50
	if strings.HasSuffix(in.ID, "_p90") {
		q = 90
	}
	v := Of(in, Rate{})
	if m, ok := h.Quantile(q); ok {
		v = Of(in, Rate{m, h.Count()})
	}
	rp.Figure = &v
	sort.SliceStable(all, func(i, j int) bool {
		if all[i].WaitMinutes != all[j].WaitMinutes {
			return all[i].WaitMinutes > all[j].WaitMinutes
		}
		return all[i].StudyID < all[j].StudyID
	})
	return rp, s.listPage(ctx, a, rp, all, l, s.RecordStore.ResidentsByID, true)
}
