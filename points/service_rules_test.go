package points

// Tests of the ledger's service rules with in-memory fakes (issue 18 §6:
// mutation testing covered only the pure functions). Each pins a rule of
// the package documentation (seed 001 积分制, docs/points.md): an event
// earns points once; a zero-valued rule earns nothing; a resident reports
// their own steps or reading once a day; a redemption is 1–RedeemMax
// points with a reference (≤ 60 bytes) and a note (≤ 100 characters), by a
// village or township doctor, and never takes the balance below zero;
// every read is audited.

import (
	"context"
	"strings"
	"testing"
	"time"

	"countycare/access"
	"countycare/audit"
	"countycare/care"
	"countycare/org"
	"countycare/resident"
)

type fakeLedger struct {
	entries []Entry
	keys    map[string]bool
	events  []audit.Event
}

func (l *fakeLedger) key(e *Entry) string {
	return e.CountyCode + "|" + string(e.Rule) + "|" + e.EventRef + "|" + string(rune(e.ResidentID))
}

func (l *fakeLedger) AppendPoints(_ context.Context, e *Entry, ev audit.Event) (bool, error) {
	if l.keys[l.key(e)] {
		return false, nil
	}
	l.keys[l.key(e)] = true
	l.entries = append(l.entries, *e)
	l.events = append(l.events, ev)
	return true, nil
}

func (l *fakeLedger) RedeemPoints(ctx context.Context, e *Entry, ev audit.Event) error {
	if b, _ := l.PointsBalance(ctx, e.CountyCode, e.ResidentID); b+e.Points < 0 {
		return care.Errorf(care.EINVALID, "points.balance")
	}
	if ok, _ := l.AppendPoints(ctx, e, ev); !ok {
		return care.Errorf(care.ECONFLICT, "points.ref_used")
	}
	return nil
}

func (l *fakeLedger) PointsBalance(_ context.Context, county string, id int64) (int64, error) {
	var es []Entry
	for _, e := range l.entries {
		if e.CountyCode == county && e.ResidentID == id {
			es = append(es, e)
		}
	}
	return Balance(es), nil
}

func (l *fakeLedger) PointsLedger(_ context.Context, county string, id int64, limit int) ([]Entry, error) {
	var es []Entry
	for i := len(l.entries) - 1; i >= 0 && len(es) < limit; i-- {
		if e := l.entries[i]; e.CountyCode == county && e.ResidentID == id {
			es = append(es, e)
		}
	}
	return es, nil
}

// fakeResidents serves one resident, managed by village clinic 11.
type fakeResidents struct{ resident.Repository }

func (fakeResidents) ResidentScoped(_ context.Context, id int64, sc access.Scope, _ time.Time) (*resident.Resident, bool, error) {
	if id != 100 {
		return nil, false, care.Errorf(care.ENOTFOUND, "resident.not_found")
	}
	sub := access.Subject{ResidentID: 100, CountyCode: "411723", ManagedBy: 11}
	return &resident.Resident{ID: 100, CountyCode: "411723"}, sc.Allows(sub), nil
}

type fakeOrgs struct{}

func (fakeOrgs) Tree(context.Context) (*org.Tree, error) {
	return org.NewTree([]org.Institution{
		{ID: 1, Kind: org.KindCounty, CountyCode: "411723"},
		{ID: 10, ParentID: 1, Kind: org.KindTownshipHC, CountyCode: "411723"},
		{ID: 11, ParentID: 10, Kind: org.KindVillageClinic, CountyCode: "411723"},
	}), nil
}

type auditLog struct{ events []audit.Event }

func (a *auditLog) Record(_ context.Context, e audit.Event) { a.events = append(a.events, e) }

var (
	pointsNow = time.Date(2026, 11, 29, 10, 0, 0, 0, care.Shanghai)
	villageDr = care.Actor{AccountID: 7, Role: care.RoleVillageDoctor, InstitutionID: 11, CountyCode: "411723"}
	resident1 = care.Actor{AccountID: 8, Role: care.RoleResident, ResidentID: 100, CountyCode: "411723"}
)

func newPointsService() (*Service, *fakeLedger, *auditLog) {
	l := &fakeLedger{keys: map[string]bool{}}
	log := &auditLog{}
	now := func() time.Time { return pointsNow }
	rs := &resident.Service{Repo: fakeResidents{}, Orgs: fakeOrgs{}, Audit: log, Now: now}
	return &Service{Repo: l, Residents: rs, Rules: DefaultRules(), Audit: log, Now: now}, l, log
}

func errCode(err error) string {
	if ce, ok := err.(*care.Error); ok {
		return ce.Code
	}
	return ""
}

// TestAwardOncePerEvent: an event earns its rule's points once; a reference
// of 1–80 bytes is required; a zero-valued rule earns nothing; a resident
// out of scope is not found.
func TestAwardOncePerEvent(t *testing.T) {
	s, l, _ := newPointsService()
	ctx := context.Background()
	today := care.Today(pointsNow)
	e, ok, err := s.Award(ctx, villageDr, 100, Checkup, " family_service:1 ", today)
	if err != nil || !ok || e.Points != 10 || e.EventRef != "family_service:1" || e.CreatedBy != 7 || e.CountyCode != "411723" {
		t.Fatalf("first award: %+v %v %v", e, ok, err)
	}
	if len(l.events) != 1 || l.events[0].Action != ActAward || !strings.Contains(l.events[0].Detail, "+10") {
		t.Errorf("award audit %+v", l.events)
	}
	if _, ok, err := s.Award(ctx, villageDr, 100, Checkup, "family_service:1", today); ok || err != nil {
		t.Errorf("second award of the same event: added=%v %v", ok, err)
	}
	if b, _ := l.PointsBalance(ctx, "411723", 100); b != 10 {
		t.Errorf("balance %d after one event awarded twice, want 10", b)
	}
	for _, ref := range []string{"", "  ", strings.Repeat("r", 81)} {
		if _, _, err := s.Award(ctx, villageDr, 100, Checkup, ref, today); errCode(err) != care.EINVALID {
			t.Errorf("reference %q: %v", ref, err)
		}
	}
	if _, _, err := s.Award(ctx, villageDr, 100, Checkup, strings.Repeat("r", 80), today); err != nil {
		t.Errorf("an 80-byte reference: %v", err)
	}
	s.Rules.Education = 0
	if e, ok, err := s.Award(ctx, villageDr, 100, Education, "edu:1", today); e != nil || ok || err != nil {
		t.Errorf("zero-valued rule: %+v %v %v", e, ok, err)
	}
	other := care.Actor{AccountID: 9, Role: care.RoleVillageDoctor, InstitutionID: 12, CountyCode: "411723"}
	if _, _, err := s.Award(ctx, other, 100, Checkup, "family_service:2", today); errCode(err) != care.ENOTFOUND {
		t.Errorf("out of scope: %v", err)
	}
}

// TestReportOncePerDay: only a resident reports, for themself, once a day
// per kind; steps give ForSteps points, reading Rules.Reading.
func TestReportOncePerDay(t *testing.T) {
	s, _, _ := newPointsService()
	ctx := context.Background()
	today := care.Today(pointsNow)
	e, err := s.Report(ctx, resident1, Steps, 25000, today)
	if err != nil || e.Points != 2 || e.Note != "25000" || e.EventRef != "steps:"+today.String() {
		t.Fatalf("steps: %+v %v", e, err)
	}
	if _, err := s.Report(ctx, resident1, Steps, 30000, today); errCode(err) != care.ECONFLICT {
		t.Errorf("second steps report the same day: %v", err)
	}
	if e, err := s.Report(ctx, resident1, Reading, 0, today); err != nil || e.Points != 1 {
		t.Errorf("reading: %+v %v", e, err)
	}
	if _, err := s.Report(ctx, resident1, Steps, 100, today.AddDays(1)); errCode(err) != care.EINVALID {
		t.Errorf("tomorrow: %v", err)
	}
	if _, err := s.Report(ctx, villageDr, Steps, 100, today); errCode(err) != care.EFORBIDDEN {
		t.Errorf("a doctor reporting steps: %v", err)
	}
	if _, err := s.Report(ctx, care.Actor{Role: care.RoleResident}, Steps, 100, today); errCode(err) != care.EFORBIDDEN {
		t.Errorf("a resident account without a resident: %v", err)
	}
}

// TestRedeemLimits: 1–RedeemMax (1,000) points, a reference of 1–60 bytes,
// a note of 1–100 characters, by a registrar (village or township doctor),
// never below a zero balance; the ledger read is audited.
func TestRedeemLimits(t *testing.T) {
	s, l, log := newPointsService()
	ctx := context.Background()
	l.entries = append(l.entries, Entry{CountyCode: "411723", ResidentID: 100, Rule: Checkup, Points: 1000})
	for _, tt := range []struct {
		name      string
		n         int64
		ref, note string
		want      string
	}{
		{"zero points", 0, "f1", "毛巾", care.EINVALID},
		{"1,001 points", 1001, "f1", "毛巾", care.EINVALID},
		{"61-byte reference", 1, strings.Repeat("r", 61), "毛巾", care.EINVALID},
		{"no note", 1, "f1", " ", care.EINVALID},
		{"101-character note", 1, "f1", strings.Repeat("毛", 101), care.EINVALID},
		{"one point", 1, strings.Repeat("r", 60), strings.Repeat("毛", 100), ""},
		{"the rest, 999", 999, "f2", "米", ""},
		{"one more", 1, "f3", "米", care.EINVALID}, // balance 0
	} {
		e, err := s.Redeem(ctx, villageDr, 100, tt.n, tt.ref, tt.note)
		if errCode(err) != tt.want {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
		if err == nil && (e.Points != -tt.n || e.Rule != Redeem || e.On != care.Today(pointsNow)) {
			t.Errorf("%s: entry %+v", tt.name, e)
		}
	}
	if _, err := s.Redeem(ctx, care.Actor{AccountID: 5, Role: care.RoleCountySpecialist, InstitutionID: 1, CountyCode: "411723"}, 100, 1, "f4", "米"); errCode(err) != care.EFORBIDDEN {
		t.Errorf("a county specialist redeeming: %v", err)
	}
	n := len(log.events)
	acct, err := s.Ledger(ctx, villageDr, 100)
	if err != nil || acct.Balance != 0 || len(acct.Entries) != 3 || acct.Entries[0].Points != -999 {
		t.Errorf("ledger %+v %v", acct, err)
	}
	if len(log.events) != n+2 || log.events[len(log.events)-1].Action != ActRead {
		t.Errorf("ledger read not audited: %+v", log.events[n:])
	}
}

// TestRedeemTheMaximum pins Rules.RedeemMax (rules.json: 1,000): a
// redemption of exactly the maximum is allowed.
func TestRedeemTheMaximum(t *testing.T) {
	s, l, _ := newPointsService()
	l.entries = append(l.entries, Entry{CountyCode: "411723", ResidentID: 100, Rule: Checkup, Points: 1000})
	if e, err := s.Redeem(context.Background(), villageDr, 100, 1000, "max", "电饭煲"); err != nil || e.Points != -1000 {
		t.Errorf("redeem 1,000: %+v %v", e, err)
	}
}
