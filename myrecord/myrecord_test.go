package myrecord_test

import (
	"testing"

	"countycare/care"
	"countycare/chronic"
	"countycare/myrecord"
	"countycare/reading"
	"countycare/store"
)

var _ myrecord.Repository = (*store.Store)(nil)

func visit(day string, sbp, dbp, fpg int) chronic.StoredVisit {
	d, _ := care.ParseDate(day)
	return chronic.StoredVisit{Visit: chronic.Visit{Date: d, SBP: sbp, DBP: dbp, FPG: fpg}}
}

// TestTrendsAndNextVisit: the series are in date order across
// registrations, a value not measured adds no point, and the next visit is
// the earliest of the active registrations'.
func TestTrendsAndNextVisit(t *testing.T) {
	d := func(s string) care.Date { x, _ := care.ParseDate(s); return x }
	rec := &myrecord.Record{Chronic: []myrecord.Chronic{
		{Registration: chronic.Registration{Status: chronic.StatusActive, NextVisit: d("2026-12-20")},
			Visits: []chronic.StoredVisit{visit("2026-09-01", 150, 95, 0), visit("2026-11-01", 138, 88, 0)}},
		{Registration: chronic.Registration{Status: chronic.StatusActive, NextVisit: d("2026-12-10")},
			Visits: []chronic.StoredVisit{visit("2026-10-01", 0, 0, 72), visit("2026-12-01", 132, 84, 65)}},
		{Registration: chronic.Registration{Status: "transferred", NextVisit: d("2026-12-01")}},
	}}
	sbp, dbp, fpg := rec.Trends()
	var got []int
	for _, p := range sbp {
		got = append(got, p.Value)
	}
	if len(sbp) != 3 || len(dbp) != 3 || got[0] != 150 || got[1] != 138 || got[2] != 132 {
		t.Errorf("systolic %v (diastolic %d points), want 150 138 132", got, len(dbp))
	}
	if len(fpg) != 2 || fpg[0].Value != 72 || fpg[1].Value != 65 {
		t.Errorf("glucose %+v, want 7.2 then 6.5", fpg)
	}
	if n := rec.NextVisit(); n != d("2026-12-10") {
		t.Errorf("next visit %s, want 2026-12-10 (a transferred registration's does not count)", n)
	}
}

// TestPreviewInstance: an imaging study is previewed by the first stored
// of its own instances that the server renders; another study's instance,
// one that cannot be previewed, and a study that is not imaging give none.
func TestPreviewInstance(t *testing.T) {
	st := reading.Study{Kind: reading.KindImaging, SourceKey: "1.2.3"}
	ins := []reading.ImagingInstance{
		{ID: 9, StudyUID: "1.2.3"},
		{ID: 4, StudyUID: "1.2.3", NoPreview: "压缩格式无法预览"},
		{ID: 7, StudyUID: "1.2.3"},
		{ID: 2, StudyUID: "1.2.4"},
	}
	if got := myrecord.PreviewInstance(st, ins); got != 7 {
		t.Errorf("preview instance %d, want 7 (the lowest id of the study that renders)", got)
	}
	if got := myrecord.PreviewInstance(reading.Study{Kind: reading.KindImaging, SourceKey: "1.2.5"}, ins); got != 0 {
		t.Errorf("a study without instances: %d, want 0", got)
	}
	if got := myrecord.PreviewInstance(reading.Study{Kind: reading.KindECG, SourceKey: "1.2.3"}, ins); got != 0 {
		t.Errorf("an ECG study: %d, want 0", got)
	}
	if got := myrecord.PreviewInstance(st, ins[1:2]); got != 0 {
		t.Errorf("only an instance that cannot be previewed: %d, want 0", got)
	}
}
