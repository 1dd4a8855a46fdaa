package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"countycare/care"
	"countycare/critical"
	"countycare/internal/testdb"
	"countycare/lab"
	"countycare/org"
	"countycare/reading"
	"countycare/resident"
	"countycare/store"
)

// livePub records live events.
type livePub struct {
	mu     sync.Mutex
	events []string
	to     map[int64]int
}

func (p *livePub) Publish(ids []int64, kind string, id int64, text string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.to == nil {
		p.to = map[int64]int{}
	}
	p.events = append(p.events, kind)
	for _, i := range ids {
		p.to[i]++
	}
}

func (p *livePub) count(practitioner int64) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.to[practitioner]
}

func alertMessages(t *testing.T, st *store.Store) int {
	t.Helper()
	ms, err := st.PendingMessages(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range ms {
		if m.Purpose == critical.PurposeAlert {
			n++
		}
	}
	return n
}

// TestLabResultsRaiseCriticalAlerts: a village doctor files three results
// (one normal, K⁺ 6.8 mmol/L and glucose 40 mg/dL critical) in one
// transaction, which raises two alerts to the clinic (outbox + live);
// a batch with a wrong unit or an impossible value stores nothing; Raise
// is idempotent for another source; unacknowledged alerts escalate to the
// township and then the county, once per level; acknowledgement needs a
// read-back; the indicator counts it.
func TestLabResultsRaiseCriticalAlerts(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		ctx := context.Background()
		pub := &livePub{}
		rec := syncRecorder{f.st, t}
		crit := &critical.Service{Repo: f.st, Residents: f.res, Orgs: f.orgs, Staff: f.st, Audit: rec, Live: pub, Config: critical.DefaultConfig(), Now: f.clk.Now}
		labs := &lab.Service{Repo: f.st, Residents: f.res, Critical: crit, Thresholds: critical.DefaultThresholds(), Audit: rec, Now: f.clk.Now}
		vd, rd := f.actors[care.RoleVillageDoctor], f.actors[care.RoleReader]
		people, _, _ := f.res.Search(ctx, vd, "", resident.Filter{Limit: 2})
		if len(people) < 2 {
			t.Fatal("no residents in the demo village")
		}
		p, p2 := people[0], people[1]
		at := f.clk.Now().Add(-time.Hour).Format(time.RFC3339)
		ins := []lab.Input{
			{Code: "2345-7", Value: "5.6", Unit: "mmol/L", RefRange: "3.9-6.1", Doctor: "郭医生", CollectedAt: at, Specimen: "serum"},
			{Code: "K", Value: "6.8", Unit: "mmol/L", RefRange: "3.5-5.1", Doctor: "郭医生", CollectedAt: at},
			{Code: "GLU", Value: "40", Unit: "mg/dL", Doctor: "郭医生", CollectedAt: at},
		}
		msgsBefore := alertMessages(t, f.st)
		rs, err := labs.Record(ctx, vd, p.ID, ins, nil)
		if err != nil {
			t.Fatalf("record: %v", err)
		}
		if rs[0].Flag != lab.FlagN || rs[0].AlertID != 0 || rs[1].Flag != lab.FlagHH || rs[1].AlertID == 0 || rs[2].Flag != lab.FlagLL || rs[2].AlertID == 0 {
			t.Fatalf("flags/alerts: %+v %+v %+v", rs[0], rs[1], rs[2])
		}
		if got := rs[2].ValueSI; got < 2.21 || got > 2.23 {
			t.Errorf("40 mg/dL glucose = %v mmol/L, want 2.22", got)
		}
		if pub.count(vd.PractitionerID) != 2 {
			t.Errorf("live alerts to the ordering doctor: %d, want 2", pub.count(vd.PractitionerID))
		}
		ps, _ := f.st.Practitioners(ctx, org.PractitionerFilter{Institutions: []int64{vd.InstitutionID}})
		phones := 0
		for _, x := range ps {
			if x.Phone != "" && x.Active {
				phones++
			}
		}
		if phones == 0 {
			t.Fatal("no practitioner with a phone at the demo clinic")
		}
		if got := alertMessages(t, f.st) - msgsBefore; got != 2*phones {
			t.Errorf("alert messages %d, want %d (2 alerts × %d phones)", got, 2*phones, phones)
		}

		// All or nothing: a wrong unit and an impossible value.
		bad := []lab.Input{
			{Code: "NA", Value: "140", Unit: "mmol/L", Doctor: "郭医生", CollectedAt: at},
			{Code: "K", Value: "6.8", Unit: "mg/dL", Doctor: "郭医生", CollectedAt: at},
			{Code: "K", Value: "25", Unit: "mmol/L", Doctor: "郭医生", CollectedAt: at},
		}
		_, err = labs.Record(ctx, vd, p.ID, bad, func(i int) string { return "results." + string(rune('0'+i)) + "." })
		var ce *care.Error
		if !care.IsCode(err, care.EINVALID) {
			t.Fatalf("bad batch: %v", err)
		}
		ce = err.(*care.Error)
		keys := map[string]string{}
		for _, fe := range ce.Fields {
			keys[fe.Field] = fe.Key
		}
		if keys["results.1.unit"] != "lab.unit_wrong" || keys["results.2.value"] != "lab.value_impossible" || len(ce.Fields) != 2 {
			t.Errorf("faults %+v", ce.Fields)
		}
		_, list, err := labs.ForResident(ctx, vd, p.ID)
		if err != nil || len(list) != 3 {
			t.Fatalf("results filed %d, %v; want 3 (the bad batch stored nothing)", len(list), err)
		}
		crits := 0
		for _, r := range list {
			if r.Critical != "" && r.AlertID != 0 {
				crits++
			}
		}
		if crits != 2 {
			t.Errorf("critical results listed %d, want 2", crits)
		}

		first, err := crit.Get(ctx, vd, rs[1].AlertID)
		if err != nil || first.CountyID == 0 {
			t.Fatalf("alert: %v %+v", err, first)
		}
		csBefore := care.Actor{AccountID: 999998, Role: care.RoleCountySpecialist, InstitutionID: first.CountyID, CountyCode: vd.CountyCode, PractitionerID: 999998}
		if _, err := f.res.Get(ctx, csBefore, p.ID); !care.IsCode(err, care.ENOTFOUND) {
			t.Errorf("county hospital sees the resident before escalation: %v", err)
		}

		// Another source kind through Raise: scope-checked, idempotent.
		ecgAlert := critical.Alert{SourceKind: critical.SourceECGReport, SourceID: 77, ResidentID: p2.ID, ClinicID: vd.InstitutionID, Finding: "acute MI (STEMI)"}
		if _, err := crit.Raise(ctx, rd, ecgAlert); !care.IsCode(err, care.ENOTFOUND) {
			t.Fatalf("reader raises for a resident never sent to the center: %v", err)
		}
		exams := &reading.ExamService{Repo: f.st, Residents: f.res, Orgs: f.orgs, Audit: rec, Now: f.clk.Now}
		if _, err := exams.UploadPhoto(ctx, vd, p2.ID, reading.PhotoUpload{CenterID: rd.InstitutionID, Kind: reading.PhotoSkin, File: testJPEG(t)}); err != nil {
			t.Fatal(err)
		}
		al1, err := crit.Raise(ctx, rd, ecgAlert)
		if err != nil {
			t.Fatalf("raise: %v", err)
		}
		al2, err := crit.Raise(ctx, rd, ecgAlert)
		if err != nil || al2.ID != al1.ID || pub.count(vd.PractitionerID) != 3 {
			t.Fatalf("second raise: %v id %d vs %d, live %d (want one more)", err, al2.ID, al1.ID, pub.count(vd.PractitionerID))
		}
		if _, err := crit.Raise(ctx, f.actors[care.RoleAnalyst], critical.Alert{SourceKind: "x", SourceID: 1, ResidentID: p.ID, ClinicID: vd.InstitutionID, Finding: "x"}); !care.IsCode(err, care.EFORBIDDEN) {
			t.Errorf("analyst raise: %v", err)
		}

		open, err := crit.List(ctx, vd, true)
		if err != nil || len(open) != 3 {
			t.Fatalf("open alerts %d, %v", len(open), err)
		}
		tree, _ := f.orgs.Tree(ctx)
		var township int64
		for _, a := range tree.Ancestors(vd.InstitutionID) {
			if a.Kind == org.KindTownshipHC || a.Kind == org.KindCentralHC || a.Kind == org.KindSubCenter {
				township = a.ID
			}
		}
		if township == 0 || open[0].TownshipID != township || open[0].CountyID == 0 {
			t.Fatalf("escalation targets township %d county %d, want township %d", open[0].TownshipID, open[0].CountyID, township)
		}
		td := care.Actor{AccountID: 999999, Role: care.RoleTownshipDoctor, InstitutionID: township, CountyCode: vd.CountyCode, PractitionerID: 999999}
		if l, _ := crit.List(ctx, td, true); len(l) != 0 {
			t.Errorf("township sees %d alerts before escalation", len(l))
		}
		other := vd
		other.InstitutionID = township + 100000
		if _, err := crit.Get(ctx, other, rs[1].AlertID); !care.IsCode(err, care.ENOTFOUND) {
			t.Errorf("another clinic reads the alert: %v", err)
		}

		// Not due yet; then due: the township; then nothing twice.
		if n, err := crit.EscalateDue(ctx); err != nil || n != 0 {
			t.Fatalf("early escalation %d, %v", n, err)
		}
		f.clk.Add(16 * time.Minute)
		if n, err := crit.EscalateDue(ctx); err != nil || n != 3 {
			t.Fatalf("escalated %d, %v; want 3", n, err)
		}
		if n, _ := crit.EscalateDue(ctx); n != 0 {
			t.Errorf("second run escalated %d", n)
		}
		if l, _ := crit.List(ctx, td, true); len(l) != 3 {
			t.Errorf("township sees %d alerts after escalation, want 3", len(l))
		}

		// Acknowledge: a note without the value is refused.
		if _, err := crit.Acknowledge(ctx, vd, rs[1].AlertID, "收到"); !care.IsCode(err, care.EINVALID) {
			t.Errorf("ack without read-back: %v", err)
		}
		ack, err := crit.Acknowledge(ctx, vd, rs[1].AlertID, "读回：血钾 6.8 mmol/L，已通知患者复诊")
		if err != nil || ack.AckDuration() != 16*time.Minute {
			t.Fatalf("ack: %v %v", err, ack)
		}
		if _, err := crit.Acknowledge(ctx, td, rs[1].AlertID, "血钾 6.8"); !care.IsCode(err, care.ECONFLICT) {
			t.Errorf("second ack: %v", err)
		}
		f.clk.Add(15 * time.Minute)
		if n, err := crit.EscalateDue(ctx); err != nil || n != 2 {
			t.Fatalf("county escalation %d, %v; want the 2 open ones", n, err)
		}
		cs := care.Actor{AccountID: 999998, Role: care.RoleCountySpecialist, InstitutionID: open[0].CountyID, CountyCode: vd.CountyCode, PractitionerID: 999998}
		if _, err := f.res.Get(ctx, cs, p.ID); err != nil {
			t.Errorf("county duty doctor cannot open the resident after escalation: %v", err)
		}
		if l, _ := crit.List(ctx, cs, true); len(l) != 2 {
			t.Errorf("county sees %d open alerts, want 2", len(l))
		}
		got, _ := crit.Get(ctx, vd, rs[2].AlertID)
		if got.Level != critical.LevelCounty || !got.NextDueAt.IsZero() {
			t.Errorf("level %d next %v", got.Level, got.NextDueAt)
		}
		if n, _ := crit.EscalateDue(ctx); n != 0 {
			t.Errorf("escalated past the county: %d", n)
		}
		ind, err := crit.Indicators(ctx, vd, f.clk.Now().Add(-24*time.Hour), f.clk.Now().Add(time.Hour))
		if err != nil || ind.Raised != 3 || ind.Acknowledged != 1 || ind.Open != 2 || ind.Median != 16*time.Minute || ind.P90 != 16*time.Minute {
			t.Errorf("indicator %+v, %v", ind, err)
		}
	})
}
