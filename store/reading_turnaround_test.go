package store_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"countycare/care"
	"countycare/critical"
	"countycare/ecg"
	"countycare/internal/testdb"
	"countycare/kpi"
	"countycare/lab"
	"countycare/reading"
	"countycare/resident"
	"countycare/store"
)

// TestTurnaroundRebuild: the reading centers' turnaround is kept as it
// happens — an ECG signed 7 min 40 s after its upload adds one report to
// the center's bucket of 7 minutes, lab results collected 4 min 59 s, 47
// min, 2 h 13 min and 30 h before their result one each to the clinic's
// buckets 4, 47, 60 + 73/5 and 136 + 360/240 = 137 (kpi.TurnaroundBucket) — and
// building the table afresh from the rows in SQL, as migration 0055 and a
// bulk load do, gives the same counts: the SQL's buckets and months are
// Go's. Both databases.
func TestTurnaroundRebuild(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		ctx := context.Background()
		county := f.actors[care.RoleVillageDoctor].CountyCode
		from, to := care.Date{Year: 2000, Month: 1, Day: 1}, care.Date{Year: 2100, Month: 12, Day: 31}
		before, err := f.st.TurnaroundSums(ctx, county, from, to)
		if err != nil {
			t.Fatal(err)
		}
		rec := syncRecorder{f.st, t}
		vd, rd := f.actors[care.RoleVillageDoctor], f.actors[care.RoleReader]
		people, _, _ := f.res.Search(ctx, vd, "", resident.Filter{Limit: 1})
		if len(people) == 0 {
			t.Fatal("no residents in the demo village")
		}
		// An ECG through the workflow: uploaded, claimed, signed 7 min 40 s later.
		svc := &reading.Service{Repo: f.st, Residents: f.res, Orgs: f.orgs, Audit: rec, PreRead: ecg.DefaultPreReadConfig(), Now: f.clk.Now}
		wf := &reading.Workflow{Repo: f.st, Audit: rec, Targets: reading.DefaultTargets(), Templates: reading.DefaultTemplates(), Critical: &criticalSpy{},
			Now: f.clk.Now, OnError: func(err error) { t.Error(err) }}
		up, err := svc.UploadECG(ctx, vd, people[0].ID, reading.ECGUpload{CenterID: rd.InstitutionID, SignalName: "e.csv", Signal: csvECG(repeatRR(11, 0.85))})
		if err != nil {
			t.Fatal(err)
		}
		var studyID int64
		list, err := wf.Worklist(ctx, rd, "ECG", 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range list {
			if s.SourceKey == fmt.Sprint(up.ID) {
				studyID = s.ID
			}
		}
		if _, err := wf.Claim(ctx, rd, studyID); err != nil {
			t.Fatal(err)
		}
		f.clk.t = f.clk.t.Add(7*time.Minute + 40*time.Second)
		good := reading.ReportDraft{Fields: map[string]string{"rhythm": "窦性心律", "rate": "72", "qrs": "90", "pr": "160", "st_t": "无异常", "conclusion": "正常心电图"}}
		if _, _, err := wf.Sign(ctx, rd, studyID, good); err != nil {
			t.Fatal(err)
		}
		// Lab results with their collection times.
		crit := &critical.Service{Repo: f.st, Residents: f.res, Orgs: f.orgs, Staff: f.st, Audit: rec, Live: &livePub{}, Config: critical.DefaultConfig(), Now: f.clk.Now}
		labs := &lab.Service{Repo: f.st, Residents: f.res, Critical: crit, Thresholds: critical.DefaultThresholds(), Audit: rec, Now: f.clk.Now}
		wantLab := map[int]int{}
		for _, ago := range []time.Duration{4*time.Minute + 59*time.Second, 47 * time.Minute, 2*time.Hour + 13*time.Minute, 30 * time.Hour} {
			at := f.clk.Now().Add(-ago).Format(time.RFC3339)
			if _, err := labs.Record(ctx, vd, people[0].ID, []lab.Input{{Code: "2345-7", Value: "5.6", Unit: "mmol/L", RefRange: "3.9-6.1", Doctor: "郭医生", CollectedAt: at}}, nil); err != nil {
				t.Fatal(err)
			}
			wantLab[kpi.TurnaroundBucket(int(ago/time.Minute))]++
		}
		if fmt.Sprint(wantLab) != fmt.Sprint(map[int]int{4: 1, 47: 1, 74: 1, 137: 1}) {
			t.Fatalf("buckets %v", wantLab)
		}
		after, err := f.st.TurnaroundSums(ctx, county, from, to)
		if err != nil {
			t.Fatal(err)
		}
		if got := after[rd.InstitutionID][kpi.TATECG][7] - before[rd.InstitutionID][kpi.TATECG].At(7); got != 1 {
			t.Errorf("the ECG signed after 7 min 40 s: %d more in bucket 7, want 1", got)
		}
		gotLab := map[int]int{}
		for b, n := range after[vd.InstitutionID][kpi.TATLab] {
			if n -= before[vd.InstitutionID][kpi.TATLab].At(b); n != 0 {
				gotLab[b] = n
			}
		}
		if !reflect.DeepEqual(gotLab, wantLab) {
			t.Errorf("lab buckets kept %v, want %v", gotLab, wantLab)
		}
		// Only this month's: the months before have none of these.
		now := care.Today(f.clk.Now())
		month, err := f.st.TurnaroundSums(ctx, county, care.Date{Year: now.Year, Month: now.Month, Day: 1}, now)
		if err != nil || month[vd.InstitutionID][kpi.TATLab].Count() < 4 {
			t.Errorf("this month's lab results: %v %v", month[vd.InstitutionID], err)
		}

		if err := f.st.RebuildTurnaround(ctx); err != nil {
			t.Fatal(err)
		}
		rebuilt, err := f.st.TurnaroundSums(ctx, county, from, to)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(rebuilt, after) {
			for inst, c := range after {
				for k, h := range c {
					if !reflect.DeepEqual(rebuilt[inst][k], h) {
						t.Errorf("institution %d %s: kept %v, rebuilt in SQL %v", inst, k, h, rebuilt[inst][k])
					}
				}
			}
			t.Fatalf("rebuilt %d institutions, kept %d", len(rebuilt), len(after))
		}
	})
}
