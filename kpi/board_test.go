package kpi

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/chronic"
	"countycare/consult"
	"countycare/critical"
	"countycare/family"
	"countycare/org"
	"countycare/referral"
)

// A county (1) with one community (2), two townships (3, 4) and a village
// under each (5, 6); a county hospital (7) has no dashboard.
func testTree() *org.Tree {
	return org.NewTree([]org.Institution{
		{ID: 1, Kind: org.KindCounty, CountyCode: "411723", Name: "县"},
		{ID: 2, ParentID: 1, Kind: org.KindCommunity, CountyCode: "411723", Name: "医共体", Code: "12411723MB0001"},
		{ID: 3, ParentID: 2, Kind: org.KindTownshipHC, CountyCode: "411723", Name: "甲乡"},
		{ID: 4, ParentID: 2, Kind: org.KindCentralHC, CountyCode: "411723", Name: "乙镇"},
		{ID: 5, ParentID: 3, Kind: org.KindVillageClinic, CountyCode: "411723", Name: "甲村"},
		{ID: 6, ParentID: 4, Kind: org.KindVillageClinic, CountyCode: "411723", Name: "乙村"},
		{ID: 7, ParentID: 2, Kind: org.KindCountyHospital, CountyCode: "411723", Name: "县医院"},
	})
}

type fakeReports struct {
	t     *org.Tree
	calls atomic.Int32 // chronic reports computed
}

func (f *fakeReports) Tree(context.Context) (*org.Tree, error) { return f.t, nil }

func (f *fakeReports) chronicReport() *chronic.Report {
	cell := func(num, den int) map[chronic.Disease]chronic.Indicators {
		return map[chronic.Disease]chronic.Indicators{chronic.Hypertension: {Managed: den, Controlled: chronic.Rate{Num: num, Den: den}}}
	}
	return &chronic.Report{Units: []chronic.UnitReport{
		{Unit: f.t.Get(1), Cells: cell(30, 50)}, {Unit: f.t.Get(3), Cells: cell(20, 30)}, {Unit: f.t.Get(5), Cells: cell(20, 30)},
		{Unit: f.t.Get(4), Cells: cell(10, 20)}, {Unit: f.t.Get(6), Cells: cell(10, 20)},
	}}
}

type fakeChronic struct{ *fakeReports }

func (f fakeChronic) Indicators(ctx context.Context, a care.Actor, from, to care.Date) (*chronic.Report, error) {
	f.calls.Add(1)
	return f.chronicReport(), nil
}

type fakeFamily struct{ *fakeReports }

func (f fakeFamily) PointIndicators(ctx context.Context, a care.Actor, day care.Date) (*family.Report, error) {
	r := &family.Report{ByVillage: map[int64]family.Indicators{
		5: {Coverage: family.Rate{Num: 40, Den: 100}},
		6: {Coverage: family.Rate{Num: 60, Den: 100}},
	}}
	for _, in := range r.ByVillage {
		r.Total = r.Total.Add(in)
	}
	return r, nil
}

type fakeReferral struct{ *fakeReports }

func (f fakeReferral) Indicators(ctx context.Context, a care.Actor, from, to care.Date) (*referral.Report, error) {
	ind := func(n, d int) *referral.Indicators {
		return &referral.Indicators{OutOfCounty: referral.Rate{Num: n, Den: d}}
	}
	return &referral.Report{Units: []referral.UnitReport{
		{Unit: f.t.Get(1), Depth: 0, Ind: ind(5, 40)}, // county senders included
		{Unit: f.t.Get(3), Depth: 1, Ind: ind(1, 10)},
		{Unit: f.t.Get(4), Depth: 1, Ind: ind(3, 20)},
	}}, nil
}

// fakeConsult: cases sent by the village 5 (8 of 10 in time, 1 of 12
// escalated), the township 4 (3 of 4; 2 of 5) and the county hospital 7
// (1 of 2; 0 of 2), for the actor's scope as consult.UnitReport gives it.
type fakeConsult struct{ *fakeReports }

func (f fakeConsult) UnitReport(ctx context.Context, a care.Actor, from, to time.Time) (map[int64]consult.UnitFigures, error) {
	all := map[int64]consult.UnitFigures{
		5: {SLA: consult.Rate{Num: 8, Den: 10}, Escalated: consult.Rate{Num: 1, Den: 12}},
		4: {SLA: consult.Rate{Num: 3, Den: 4}, Escalated: consult.Rate{Num: 2, Den: 5}},
		7: {SLA: consult.Rate{Num: 1, Den: 2}, Escalated: consult.Rate{Num: 0, Den: 2}},
	}
	if a.Role == care.RoleTownshipDoctor {
		for id := range all {
			if !f.t.IsWithin(id, a.InstitutionID) {
				delete(all, id)
			}
		}
	}
	return all, nil
}

// fakeCritical: alerts ordered by the village 6 (3 of 4 acknowledged in
// time) and the county hospital 7 (1 of 1).
type fakeCritical struct{ *fakeReports }

func (f fakeCritical) UnitAcks(ctx context.Context, a care.Actor, from, to time.Time) (map[int64]critical.UnitAck, error) {
	all := map[int64]critical.UnitAck{6: {InTime: 3, Judged: 4}, 7: {InTime: 1, Judged: 1}}
	if a.Role == care.RoleTownshipDoctor {
		for id := range all {
			if !f.t.IsWithin(id, a.InstitutionID) {
				delete(all, id)
			}
		}
	}
	return all, nil
}

type nopAudit struct{ evs []audit.Event }

func (n *nopAudit) Record(_ context.Context, e audit.Event) { n.evs = append(n.evs, e) }

func newTestService(now *time.Time) (*Service, *fakeReports, *nopAudit) {
	f := &fakeReports{t: testTree()}
	au := &nopAudit{}
	s := &Service{Chronic: fakeChronic{f}, Family: fakeFamily{f}, Referral: fakeReferral{f}, Consult: fakeConsult{f}, Critical: fakeCritical{f}, Orgs: f, Targets: DefaultTargets(), Audit: au,
		Now: func() time.Time { return *now }, CacheTTL: time.Minute}
	return s, f, au
}

func pathIDs(p []*org.Institution) string {
	var ids []int64
	for _, in := range p {
		ids = append(ids, in.ID)
	}
	return fmt.Sprint(ids)
}

func rate(b *Board, id string) Rate {
	for _, r := range b.Rows {
		if r.Indicator.ID == id {
			return r.Value.Rate
		}
	}
	return Rate{-1, -1}
}

// TestBoard: the county board's figures, the community's sums of its
// townships (never the county's own referral figure), drill-down
// children, a village without referral rows, scope and cache.
func TestBoard(t *testing.T) {
	now := time.Date(2026, 8, 15, 4, 0, 0, 0, time.UTC)
	s, f, au := newTestService(&now)
	ctx := context.Background()
	analyst := care.Actor{AccountID: 1, Role: care.RoleAnalyst, CountyCode: "411723"}
	p := YearOf(care.Today(now))
	b, err := s.Board(ctx, analyst, 0, p)
	if err != nil {
		t.Fatal(err)
	}
	if b.Unit.ID != 1 || len(b.Children) != 1 || b.Children[0].Unit.ID != 2 {
		t.Fatalf("county board %+v", b)
	}
	for id, want := range map[string]Rate{"htn_controlled": {30, 50}, "family_coverage": {100, 200}, "out_of_county": {5, 40}, "in_county": {}} {
		if got := rate(b, id); got != want {
			t.Errorf("county %s = %v, want %v", id, got, want)
		}
	}
	c, err := s.Board(ctx, analyst, 2, p)
	if err != nil {
		t.Fatal(err)
	}
	if got := rate(c, "out_of_county"); got != (Rate{4, 30}) {
		t.Errorf("community out_of_county = %v, want the townships' sum 4/30", got)
	}
	if len(c.Children) != 2 || len(c.Path) != 1 || c.Path[0].ID != 1 {
		t.Errorf("community children %d path %v", len(c.Children), c.Path)
	}
	v, err := s.Board(ctx, analyst, 5, p)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Village() || rate(v, "out_of_county") != (Rate{-1, -1}) || rate(v, "family_coverage") != (Rate{40, 100}) {
		t.Errorf("village rows %+v", v.Rows)
	}
	// Breadcrumbs from the viewer's root down: county › community › township.
	if ids := pathIDs(v.Path); ids != "[1 2 3]" {
		t.Errorf("village breadcrumbs %s, want [1 2 3]", ids)
	}
	if f.calls.Load() != 1 {
		t.Errorf("the period was computed %d times within the cache's lifetime", f.calls.Load())
	}
	// Past its lifetime: served as it was while computed again in the background.
	now = now.Add(2 * time.Minute)
	if b, err := s.Board(ctx, analyst, 0, p); err != nil || rate(b, "htn_controlled") != (Rate{30, 50}) {
		t.Errorf("stale board: %v", err)
	}
	refreshing := func() int { s.mu.Lock(); defer s.mu.Unlock(); return len(s.refreshing) }
	for deadline := time.Now().Add(5 * time.Second); refreshing() != 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if f.calls.Load() != 2 || refreshing() != 0 {
		t.Errorf("after the cache's lifetime: %d computations, want 2 (one in the background); %d still running", f.calls.Load(), refreshing())
	}
	// Older than MaxStale lifetimes: computed for the view.
	now = now.Add(MaxStale * time.Minute)
	if _, err := s.Board(ctx, analyst, 0, p); err != nil || f.calls.Load() != 3 {
		t.Errorf("long after: %d computations, %v", f.calls.Load(), err)
	}

	// A township's staff: their township and its village, nothing else.
	td := care.Actor{AccountID: 2, Role: care.RoleTownshipDoctor, InstitutionID: 3, CountyCode: "411723"}
	if b, err := s.Board(ctx, td, 0, p); err != nil || b.Unit.ID != 3 || len(b.Path) != 0 {
		t.Errorf("township board: %v", err)
	} else if got := rate(b, "family_coverage"); got != (Rate{40, 100}) {
		// Its village's figures sum to the township (Ancestors lists from the
		// county down; the walk goes up from the village and stops at the scope).
		t.Errorf("township staff's own board: family_coverage %v, want its village's 40/100", got)
	}
	if b, err := s.Board(ctx, td, 5, p); err != nil || pathIDs(b.Path) != "[3]" {
		t.Errorf("own village: %v, breadcrumbs %v", err, b)
	}
	n := len(au.evs)
	for _, u := range []int64{1, 2, 4, 6, 7, 99} {
		if _, err := s.Board(ctx, td, u, p); !care.IsCode(err, care.ENOTFOUND) {
			t.Errorf("township doctor, unit %d: %v", u, err)
		}
	}
	if len(au.evs)-n != 6 || au.evs[n].Action != ActOutOfScope || au.evs[n].Outcome != audit.OutcomeDenied {
		t.Errorf("out-of-scope reads audited: %d", len(au.evs)-n)
	}
	for _, a := range []care.Actor{{Role: care.RoleVillageDoctor, InstitutionID: 5}, {Role: care.RoleAdmin}, {Role: care.RoleTownshipDoctor, InstitutionID: 5}} {
		if _, err := s.Board(ctx, a, 0, p); !care.IsCode(err, care.EFORBIDDEN) {
			t.Errorf("%s at %d: %v", a.Role, a.InstitutionID, err)
		}
	}
	if _, err := s.Trend(ctx, analyst, 0, "nope", p); !care.IsCode(err, care.EINVALID) {
		t.Errorf("trend of an unknown indicator: %v", err)
	}
	pts, err := s.Trend(ctx, analyst, 3, "htn_controlled", p)
	if err != nil || len(pts) != 8 || pts[7].Value.BP != 6667 {
		t.Errorf("trend: %v %+v", err, pts)
	}
}

// TestBoardConsultations: the 10-minute promise is counted where the
// request came from and summed up the tree — the village's own cases, the
// township's with its village's, the community's with the county
// hospital's, and the county all of them once; a township's staff see
// their own cases only.
func TestBoardConsultations(t *testing.T) {
	now := time.Date(2026, 8, 15, 4, 0, 0, 0, time.UTC)
	s, _, _ := newTestService(&now)
	ctx := context.Background()
	analyst := care.Actor{AccountID: 1, Role: care.RoleAnalyst, CountyCode: "411723"}
	p := YearOf(care.Today(now))
	for unit, want := range map[int64][2]Rate{
		0: {{12, 16}, {3, 19}}, // the county: 8+3+1 of 10+4+2; 1+2+0 of 12+5+2
		2: {{12, 16}, {3, 19}}, // the community holds every sender here
		3: {{8, 10}, {1, 12}},  // 甲乡: its village's cases
		4: {{3, 4}, {2, 5}},    // 乙镇: its own; its village sent none
		5: {{8, 10}, {1, 12}},
		6: {{}, {}},
	} {
		b, err := s.Board(ctx, analyst, unit, p)
		if err != nil {
			t.Fatal(err)
		}
		if got := [2]Rate{rate(b, "consult_sla"), rate(b, "consult_escalated")}; got != want {
			t.Errorf("unit %d: consult_sla, consult_escalated = %v, want %v", unit, got, want)
		}
	}
	b, _ := s.Board(ctx, analyst, 6, p)
	for _, r := range b.Rows {
		if r.Indicator.ID == "consult_sla" && (r.Value.State != NoData || r.Light != LightNone) {
			t.Errorf("a village that sent no request: %+v, want no data and no light", r)
		}
	}
	// Critical values: the village's, its township's, the county's with the hospital's.
	for unit, want := range map[int64]Rate{0: {4, 5}, 4: {3, 4}, 6: {3, 4}, 3: {}} {
		if b, err := s.Board(ctx, analyst, unit, p); err != nil || rate(b, "critical_ack_in_time") != want {
			t.Errorf("unit %d critical_ack_in_time = %v, want %v (%v)", unit, rate(b, "critical_ack_in_time"), want, err)
		}
	}
	td := care.Actor{AccountID: 2, Role: care.RoleTownshipDoctor, InstitutionID: 4, CountyCode: "411723"}
	if b, err := s.Board(ctx, td, 0, p); err != nil || rate(b, "consult_sla") != (Rate{3, 4}) || rate(b, "critical_ack_in_time") != (Rate{3, 4}) {
		t.Errorf("乙镇's staff: %v %v %v", rate(b, "consult_sla"), rate(b, "critical_ack_in_time"), err)
	}
	in, _ := Lookup("consult_escalated")
	if in.HigherIsBetter || !in.Bounded {
		t.Errorf("escalations are a share where lower is better: %+v", in)
	}
}

// fakeSettle: visits settled by the village 5 and the county hospital 7.
type fakeSettle struct{ from, to *care.Date }

func (f fakeSettle) SettlementSums(ctx context.Context, county string, from, to care.Date) (map[int64]Fees, error) {
	*f.from, *f.to = from, to
	return map[int64]Fees{5: {Total: 10000, Patient: 3000, Drugs: 4000, Materials: 500, Basic: 4000}, 7: {Total: 90000, Patient: 20000, Drugs: 26000, Materials: 9500, Basic: 50000}}, nil
}

// TestBoardSettlement: the fees' shares per institution that settled the
// visits, summed up the tree (the county holds the hospital's too), as
// money, with no data where nothing was settled; the period's days reach
// the store.
func TestBoardSettlement(t *testing.T) {
	now := time.Date(2026, 8, 15, 4, 0, 0, 0, time.UTC)
	s, _, _ := newTestService(&now)
	var from, to care.Date
	s.Settle = fakeSettle{&from, &to}
	ctx := context.Background()
	analyst := care.Actor{AccountID: 1, Role: care.RoleAnalyst, CountyCode: "411723"}
	p := Period{Kind: Quarter, Year: 2026, N: 2}
	for unit, want := range map[int64][3]Rate{
		0: {{23000, 100000}, {30000, 100000}, {10000, 100000}},
		2: {{23000, 100000}, {30000, 100000}, {10000, 100000}},
		3: {{3000, 10000}, {4000, 10000}, {500, 10000}},
		5: {{3000, 10000}, {4000, 10000}, {500, 10000}},
		4: {},
	} {
		b, err := s.Board(ctx, analyst, unit, p)
		if err != nil {
			t.Fatal(err)
		}
		if got := [3]Rate{rate(b, "settle_oop_share"), rate(b, "settle_drug_share"), rate(b, "settle_material_share")}; got != want {
			t.Errorf("unit %d: settlement shares %v, want %v", unit, got, want)
		}
		for _, r := range b.Rows {
			if r.Indicator.Group == "settle" && (!r.Value.Money || r.Indicator.HigherIsBetter) {
				t.Errorf("unit %d %s: %+v is not a money share where lower is better", unit, r.Indicator.ID, r.Value)
			}
			if r.Indicator.ID == "settle_drug_share" && unit == 0 && (r.Value.BP != 3000 || r.Light != LightGreen) {
				t.Errorf("county drug share %+v light %s, want 30.00 %% meeting the ≤ 30 %% example target", r.Value, r.Light)
			}
			if r.Indicator.Group == "settle" && unit == 4 && r.Value.State != NoData {
				t.Errorf("a township that settled nothing: %+v, want no data", r.Value)
			}
		}
	}
	if from.String() != "2026-04-01" || to.String() != "2026-06-30" {
		t.Errorf("the store was asked for %s..%s", from, to)
	}
}

// fakePrescriptions: prescriptions signed at the village 5 and the county
// hospital 7.
type fakePrescriptions struct{ from, to *time.Time }

func (f fakePrescriptions) PrescriptionSums(ctx context.Context, county string, from, to time.Time) (map[int64]RxCounts, error) {
	*f.from, *f.to = from, to
	return map[int64]RxCounts{
		5: {Signed: 100, Decided: 90, Passed: 80, Returned: 8, Rejected: 2, Classified: 100, Antimicrobial: 30, Injection: 5},
		7: {Signed: 300, Decided: 300, Passed: 290, Returned: 6, Rejected: 4, Classified: 200, Antimicrobial: 30, Injection: 45},
	}, nil
}

// TestBoardPrescriptions: the review outcomes are shares of the
// prescriptions whose review is over (pending ones are not judged yet); the
// antibiotic and injection rates shares of the prescriptions classified by
// the formulary (抗菌药物临床应用管理办法 2012: 门诊患者抗菌药物处方比例 —
// prescriptions with an antimicrobial over prescriptions); each per
// prescribing institution, summed up the tree (the county holds the
// hospital's too); lower is better but for the passed share; the
// antibiotic rate is judged against the shipped ≤ 20 % ceiling; a township
// that prescribed nothing has no data; the store is asked for the period's
// days in China time.
func TestBoardPrescriptions(t *testing.T) {
	now := time.Date(2026, 8, 15, 4, 0, 0, 0, time.UTC)
	s, _, _ := newTestService(&now)
	var from, to time.Time
	s.Prescriptions = fakePrescriptions{&from, &to}
	ctx := context.Background()
	analyst := care.Actor{AccountID: 1, Role: care.RoleAnalyst, CountyCode: "411723"}
	p := Period{Kind: Month, Year: 2026, N: 7}
	ids := [5]string{"rx_passed", "rx_returned", "rx_rejected", "rx_antibiotic", "rx_injection"}
	for unit, want := range map[int64][5]Rate{
		0: {{370, 390}, {14, 390}, {6, 390}, {60, 300}, {50, 300}},
		2: {{370, 390}, {14, 390}, {6, 390}, {60, 300}, {50, 300}},
		3: {{80, 90}, {8, 90}, {2, 90}, {30, 100}, {5, 100}},
		5: {{80, 90}, {8, 90}, {2, 90}, {30, 100}, {5, 100}},
		4: {},
	} {
		b, err := s.Board(ctx, analyst, unit, p)
		if err != nil {
			t.Fatal(err)
		}
		var got [5]Rate
		for i, id := range ids {
			got[i] = rate(b, id)
		}
		if got != want {
			t.Errorf("unit %d: prescribing rates %v, want %v", unit, got, want)
		}
		for _, r := range b.Rows {
			if r.Indicator.Group != "rx" {
				continue
			}
			if r.Indicator.HigherIsBetter != (r.Indicator.ID == "rx_passed") || !r.Indicator.Bounded || r.Value.Money {
				t.Errorf("%s: %+v", r.Indicator.ID, r.Indicator)
			}
			if unit == 4 && r.Value.State != NoData {
				t.Errorf("a township that prescribed nothing: %s %+v, want no data", r.Indicator.ID, r.Value)
			}
			if r.Indicator.ID == "rx_antibiotic" && unit == 0 && (r.Value.BP != 2000 || r.Light != LightGreen) {
				t.Errorf("county antibiotic rate %+v light %s, want 20.00 %% meeting the ≤ 20 %% ceiling", r.Value, r.Light)
			}
			if r.Indicator.ID == "rx_antibiotic" && unit == 5 && r.Light != LightRed {
				t.Errorf("village antibiotic rate 30 %%: light %s, want red (more than 5 points over 20 %%)", r.Light)
			}
		}
	}
	wantFrom := time.Date(2026, 7, 1, 0, 0, 0, 0, care.Shanghai)
	if !from.Equal(wantFrom) || !to.Equal(wantFrom.AddDate(0, 1, 0)) {
		t.Errorf("the store was asked for [%s, %s)", from, to)
	}
}
