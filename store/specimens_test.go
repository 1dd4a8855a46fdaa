package store_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"countycare/care"
	"countycare/critical"
	"countycare/internal/testdb"
	"countycare/lab"
	"countycare/org"
	"countycare/resident"
	"countycare/specimen"
	"countycare/store"
)

// specimenFixture is the demo county with the specimen service, a village
// doctor and a reader of the county lab (县域医学检验中心).
type specimenFixture struct {
	*fixture
	svc    *specimen.Service
	vd, lb care.Actor
	labID  int64
	people []resident.Resident
}

func newSpecimenFixture(t *testing.T, d store.Dialect) *specimenFixture {
	f := newFixture(t, d)
	ctx := context.Background()
	rec := syncRecorder{f.st, t}
	crit := &critical.Service{Repo: f.st, Residents: f.res, Orgs: f.orgs, Staff: f.st, Audit: rec, Live: &livePub{}, Config: critical.DefaultConfig(), Now: f.clk.Now}
	labs := &lab.Service{Repo: f.st, Residents: f.res, Critical: crit, Thresholds: critical.DefaultThresholds(), Audit: rec, Now: f.clk.Now}
	svc := &specimen.Service{Repo: f.st, Residents: f.res, Orgs: f.orgs, Labs: labs, Audit: rec, Config: specimen.DefaultConfig(), Now: f.clk.Now}
	tree, err := f.orgs.Tree(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var labID int64
	for _, in := range tree.OfKind(0, org.KindDiagnosis) {
		if in.Name == "县域医学检验中心" || (labID == 0 && in.Name != "") {
			labID = in.ID
		}
	}
	vd := f.actors[care.RoleVillageDoctor]
	lb := f.actors[care.RoleReader]
	lb.InstitutionID = labID
	people, _, _ := f.res.Search(ctx, vd, "", resident.Filter{Limit: 3})
	if len(people) < 3 || labID == 0 {
		t.Fatalf("demo: %d residents, lab %d", len(people), labID)
	}
	return &specimenFixture{fixture: f, svc: svc, vd: vd, lb: lb, labID: labID, people: people}
}

func (f *specimenFixture) order(t *testing.T, p resident.Resident, tube specimen.Tube) *specimen.Specimen {
	t.Helper()
	sp, err := f.svc.Order(context.Background(), f.vd, p.ID, specimen.OrderInput{LabID: f.labID, Tests: []string{"GLU", "K"}, Tube: tube})
	if err != nil {
		t.Fatalf("order: %v", err)
	}
	return sp
}

// inTransit orders a specimen, collects it, packs it alone and hands its
// box to a courier.
func (f *specimenFixture) inTransit(t *testing.T, p resident.Resident, tube specimen.Tube) *specimen.Specimen {
	t.Helper()
	ctx := context.Background()
	sp := f.order(t, p, tube)
	if _, err := f.svc.Scan(ctx, f.vd, specimen.ScanInput{Barcode: sp.Barcode, Step: specimen.StepCollect}); err != nil {
		t.Fatalf("collect: %v", err)
	}
	box, err := f.svc.Pack(ctx, f.vd, []string{sp.Barcode}, 50)
	if err != nil {
		t.Fatalf("pack: %v", err)
	}
	if _, err := f.svc.HandOver(ctx, f.vd, box.ID, "王师傅", "西线"); err != nil {
		t.Fatalf("hand over: %v", err)
	}
	return sp
}

func wantCode(t *testing.T, what string, err error, code, key string) {
	t.Helper()
	ce, ok := err.(*care.Error)
	if !ok || ce.Code != code || (key != "" && !strings.HasPrefix(ce.Key, key) && !hasField(ce, key)) {
		t.Errorf("%s: got %v, want %s %s", what, err, code, key)
	}
}

func hasField(ce *care.Error, key string) bool {
	for _, f := range ce.Fields {
		if f.Key == key {
			return true
		}
	}
	return false
}

// TestSpecimenJourney: a village doctor orders a specimen (barcode label),
// scans it collected, packs it into a box at 4.5 °C, hands the box to a
// courier; the county lab scans it in and files results, which land in
// the resident's lab results for the ordering clinic; every step is an
// event and an audit row. Out-of-order steps, an unknown barcode, a scan
// at the wrong place and a box outside the cold chain are refused with
// nothing written.
func TestSpecimenJourney(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newSpecimenFixture(t, d)
		ctx := context.Background()
		sp := f.order(t, f.people[0], specimen.TubeSerum)
		if want := specimen.BarcodeFor(f.vd.CountyCode, sp.ID); sp.Barcode != want || len(sp.Barcode) != 16 {
			t.Fatalf("barcode %q, want %q", sp.Barcode, want)
		}
		// Out of order: the lab cannot receive an ordered tube; packing an
		// uncollected one is refused.
		_, err := f.svc.Scan(ctx, f.lb, specimen.ScanInput{Barcode: sp.Barcode, Step: specimen.StepReceive})
		wantCode(t, "receive before hand-over", err, care.ECONFLICT, "specimen.out_of_order")
		_, err = f.svc.Pack(ctx, f.vd, []string{sp.Barcode}, 45)
		wantCode(t, "pack before collect", err, care.ECONFLICT, "specimen.out_of_order_at")
		// Unknown barcodes: not a label, another county's, no such tube.
		for _, bc := range []string{"hello", "9999990000000001", f.vd.CountyCode + "0009999999"} {
			_, err = f.svc.Scan(ctx, f.vd, specimen.ScanInput{Barcode: bc, Step: specimen.StepCollect})
			wantCode(t, "unknown "+bc, err, care.EINVALID, "specimen.barcode_unknown")
		}
		// The lab may not collect; the clinic collects.
		_, err = f.svc.Scan(ctx, f.lb, specimen.ScanInput{Barcode: sp.Barcode, Step: specimen.StepCollect})
		wantCode(t, "lab collects", err, care.EFORBIDDEN, "specimen.not_here")
		f.clk.Add(time.Minute)
		if _, err := f.svc.Scan(ctx, f.vd, specimen.ScanInput{Barcode: " " + sp.Barcode + "\n", Step: specimen.StepCollect}); err != nil {
			t.Fatalf("collect: %v", err)
		}
		// Outside the cold chain: refused, nothing packed.
		_, err = f.svc.Pack(ctx, f.vd, []string{sp.Barcode}, 150)
		wantCode(t, "15 °C box", err, care.EINVALID, "specimen.temp_range")
		if bs, _ := f.st.WaitingBoxes(ctx, f.vd.CountyCode, f.vd.InstitutionID); len(bs) != 0 {
			t.Fatalf("a refused pack left %d boxes", len(bs))
		}
		f.clk.Add(30 * time.Minute)
		box, err := f.svc.Pack(ctx, f.vd, []string{sp.Barcode}, 45)
		if err != nil || box.Code != specimen.BoxCodeFor(box.ID) {
			t.Fatalf("pack: %v %+v", err, box)
		}
		_, err = f.svc.HandOver(ctx, f.vd, box.ID, "", "")
		wantCode(t, "hand-over without courier", err, care.EINVALID, "field.required")
		f.clk.Add(10 * time.Minute)
		if _, err := f.svc.HandOver(ctx, f.vd, box.ID, "李师傅", "东线 1 号"); err != nil {
			t.Fatalf("hand over: %v", err)
		}
		_, err = f.svc.HandOver(ctx, f.vd, box.ID, "李师傅", "东线 1 号")
		wantCode(t, "second hand-over", err, care.ECONFLICT, "specimen.box_handed")
		// Results before receipt are out of order.
		_, err = f.svc.Result(ctx, f.lb, sp.ID, []lab.Input{{Code: "GLU", Value: "5.4", Unit: "mmol/L"}}, nil)
		wantCode(t, "result in transit", err, care.ECONFLICT, "specimen.out_of_order_at")
		f.clk.Add(2 * time.Hour)
		r, err := f.svc.Scan(ctx, f.lb, specimen.ScanInput{Barcode: sp.Barcode, Step: specimen.StepReceive})
		if err != nil || r.Late || r.Specimen.Status != specimen.StatusReceived {
			t.Fatalf("receive: %v %+v", err, r)
		}
		_, err = f.svc.Scan(ctx, f.lb, specimen.ScanInput{Barcode: sp.Barcode, Step: specimen.StepReceive})
		wantCode(t, "second receipt", err, care.ECONFLICT, "specimen.out_of_order")
		// A bad result stores nothing and leaves the specimen received.
		_, err = f.svc.Result(ctx, f.lb, sp.ID, []lab.Input{{Code: "GLU", Value: "5.4", Unit: "mmol/L"}, {Code: "K", Value: "25", Unit: "mmol/L"}}, nil)
		wantCode(t, "impossible K", err, care.EINVALID, "")
		f.clk.Add(time.Hour)
		rs, err := f.svc.Result(ctx, f.lb, sp.ID, []lab.Input{{Code: "GLU", Value: "5.4", Unit: "mmol/L"}, {Code: "K", Value: "4.1", Unit: "mmol/L"}}, nil)
		if err != nil || len(rs) != 2 {
			t.Fatalf("result: %v", err)
		}
		got, evs, err := f.svc.Get(ctx, f.vd, sp.ID)
		if err != nil || got.Status != specimen.StatusResulted || got.ClosedAt.Sub(got.CollectedAt) != 3*time.Hour+40*time.Minute {
			t.Fatalf("after results: %v %+v", err, got)
		}
		var steps []specimen.Step
		for _, e := range evs {
			steps = append(steps, e.Step)
		}
		want := []specimen.Step{specimen.StepOrder, specimen.StepCollect, specimen.StepPack, specimen.StepHandOver, specimen.StepReceive, specimen.StepResult}
		if len(steps) != len(want) {
			t.Fatalf("events %v, want %v", steps, want)
		}
		for i := range want {
			if steps[i] != want[i] {
				t.Fatalf("events %v, want %v", steps, want)
			}
		}
		// The results are the ordering clinic's, in the resident's record.
		all, err := f.st.LabResults(ctx, f.vd.CountyCode, f.people[0].ID, 10)
		if err != nil || len(all) != 2 || all[0].ClinicID != f.vd.InstitutionID || all[0].Specimen != "serum" {
			t.Fatalf("lab results %v %+v", err, all)
		}
		// Another village's doctor cannot see it; the lab can.
		other := f.vd
		other.InstitutionID = f.labID + 100000
		if _, _, err := f.svc.Get(ctx, other, sp.ID); care.ErrorCode(err) != care.ENOTFOUND {
			t.Errorf("stranger read: %v", err)
		}
		if _, _, err := f.svc.Get(ctx, f.lb, sp.ID); err != nil {
			t.Errorf("lab read: %v", err)
		}
		var audits int
		if err := f.st.QueryForTest(ctx, `SELECT COUNT(*) FROM audit_events WHERE action IN ('specimen.order', 'specimen.scan') AND outcome = 'ok'`, &audits); err != nil || audits != 5 {
			t.Errorf("audit rows %d (%v), want 5 (order, collect, pack, hand over, receive)", audits, err)
		}
		var denied int
		f.st.QueryForTest(ctx, `SELECT COUNT(*) FROM audit_events WHERE action = 'specimen.scan' AND outcome = 'denied'`, &denied)
		if denied != 1 {
			t.Errorf("denied scans audited %d, want 1", denied)
		}
		// Indicators: one specimen, resulted, turnaround 3 h 40 min.
		today := care.Today(f.clk.Now())
		rates, err := f.svc.Indicators(ctx, f.lb, today.AddDays(-1).Time(), today.AddDays(1).Time())
		if err != nil || len(rates) != 1 || rates[0].Resulted != 1 || rates[0].TurnaroundMedian != 3*time.Hour+40*time.Minute {
			t.Errorf("indicators %v %+v", err, rates)
		}
	})
}

// TestSpecimenScannedTwiceAtOnce: two scans of one tube at the same moment
// (two lab benches) move it once; the other gets a conflict naming where
// it was scanned, and writes nothing.
func TestSpecimenScannedTwiceAtOnce(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newSpecimenFixture(t, d)
		ctx := context.Background()
		sp := f.inTransit(t, f.people[1], specimen.TubeEDTA)
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = f.svc.Scan(ctx, f.lb, specimen.ScanInput{Barcode: sp.Barcode, Step: specimen.StepReceive})
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case care.ErrorCode(err) != care.ECONFLICT:
				t.Errorf("concurrent scan: %v", err)
			}
		}
		var events int
		f.st.QueryForTest(ctx, `SELECT COUNT(*) FROM specimen_events WHERE step = 'receive'`, &events)
		if ok != 1 || events != 1 {
			t.Errorf("%d scans succeeded, %d receive events; want 1 and 1", ok, events)
		}
	})
}

// TestSpecimenOverdueAlert: a box handed to the courier and not scanned in
// at the lab within the configured 6 h raises one alert — text messages
// to the clinic's and the lab's staff, the specimen marked — and not a
// second one at the next sweep; a rejection as too_late needs the tube's
// stability to be past.
func TestSpecimenOverdueAlert(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newSpecimenFixture(t, d)
		ctx := context.Background()
		sp := f.inTransit(t, f.people[2], specimen.TubeCitrate)
		f.clk.Add(5 * time.Hour)
		if n, err := f.svc.Sweep(ctx); err != nil || n != 0 {
			t.Fatalf("sweep at 5 h: %d %v", n, err)
		}
		f.clk.Add(time.Hour + time.Minute)
		if n, err := f.svc.Sweep(ctx); err != nil || n != 1 {
			t.Fatalf("sweep at 6 h: %d %v", n, err)
		}
		if n, err := f.svc.Sweep(ctx); err != nil || n != 0 {
			t.Fatalf("second sweep: %d %v", n, err)
		}
		msgs, _ := f.st.MessagesTo(ctx, f.vd.CountyCode, 0, specimen.PurposeOverdue, 100)
		places := map[int64]bool{}
		for _, m := range msgs {
			places[m.Institution] = true
		}
		if len(msgs) == 0 || !places[f.vd.InstitutionID] || !places[f.labID] {
			t.Errorf("overdue messages to %v (%d), want the clinic %d and the lab %d", places, len(msgs), f.vd.InstitutionID, f.labID)
		}
		got, _, _ := f.svc.Get(ctx, f.lb, sp.ID)
		if got.AlertedAt.IsZero() || !f.svc.Config.IsOverdue(got, f.clk.Now()) {
			t.Errorf("not marked overdue: %+v", got)
		}
		// Citrate keeps 4 h: at 6 h the lab may reject it as too late.
		if _, err := f.svc.Scan(ctx, f.lb, specimen.ScanInput{Barcode: sp.Barcode, Step: specimen.StepReject, Reason: specimen.ReasonTooLate}); err != nil {
			t.Fatalf("reject too late: %v", err)
		}
		// A fresh one cannot be called late.
		sp2 := f.inTransit(t, f.people[0], specimen.TubeEDTA)
		_, err := f.svc.Scan(ctx, f.lb, specimen.ScanInput{Barcode: sp2.Barcode, Step: specimen.StepReject, Reason: specimen.ReasonTooLate})
		wantCode(t, "fresh too_late", err, care.EINVALID, "specimen.not_late")
		if _, err := f.svc.Scan(ctx, f.lb, specimen.ScanInput{Barcode: sp2.Barcode, Step: specimen.StepReject, Reason: specimen.ReasonHaemolysed}); err != nil {
			t.Fatalf("reject haemolysed: %v", err)
		}
		today := care.Today(f.clk.Now())
		rates, err := f.svc.Indicators(ctx, f.lb, today.AddDays(-1).Time(), today.AddDays(1).Time())
		if err != nil || len(rates) != 1 || rates[0].Rejected != 2 || rates[0].Overdue != 1 {
			t.Fatalf("indicators %v %+v", err, rates)
		}
		if r, ok := rates[0].RejectionRate(); !ok || r != 1000 {
			t.Errorf("rejection rate %d‰", r)
		}
	})
}
