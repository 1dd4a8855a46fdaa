package povertywatch

import (
	"context"
	"maps"
	"strings"
	"testing"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/notify"
	"countycare/settle"
)

// fakeRepo is an in-memory Repository: the households' costs, and what
// the service asked it to store.
type fakeRepo struct {
	costs    map[int64]Cost
	alerts   map[int64]Alert
	actions  []Action
	incomes  map[int64]settle.Fen
	members  map[int64][]int64
	audits   []audit.Event
	texts    []notify.Message // the texts of new alerts
	askedFor []Thresholds     // the thresholds WatchCandidates was called with
	bills    []BottomLineBill
	policies map[int64]*settle.StoredPolicy
}

func newFake() *fakeRepo {
	return &fakeRepo{costs: map[int64]Cost{}, alerts: map[int64]Alert{}, incomes: map[int64]settle.Fen{}, members: map[int64][]int64{}}
}

func (f *fakeRepo) WatchCandidates(_ context.Context, county string, year int, t Thresholds, limit int) ([]Cost, error) {
	f.askedFor = append(f.askedFor, t)
	var out []Cost
	for _, c := range f.costs {
		if c.County == county && c.Year == year && len(out) < limit {
			out = append(out, c)
		}
	}
	return out, nil
}
func (f *fakeRepo) HouseholdCost(_ context.Context, county string, id int64, year int) (*Cost, error) {
	c, ok := f.costs[id]
	if !ok || c.County != county {
		return nil, &care.Error{Code: care.ENOTFOUND}
	}
	return &c, nil
}
func (f *fakeRepo) HouseholdBills(context.Context, string, int64, int) ([]Bill, error) {
	return []Bill{{SettlementID: 1}}, nil
}
func (f *fakeRepo) SetHouseholdIncome(_ context.Context, _ string, id int64, _ int, income settle.Fen, _ int64, ev audit.Event) error {
	f.incomes[id] = income
	f.audits = append(f.audits, ev)
	return nil
}
func (f *fakeRepo) RaiseWatchAlerts(_ context.Context, as []Alert, msgs [][]notify.Message, ev audit.Event) (int, error) {
	n := 0
	for i, a := range as {
		if _, ok := f.alerts[a.HouseholdID]; !ok {
			f.alerts[a.HouseholdID] = a
			f.texts = append(f.texts, msgs[i]...)
			n++
		}
	}
	if n > 0 {
		f.audits = append(f.audits, ev)
	}
	return n, nil
}
func (f *fakeRepo) WatchAlerts(context.Context, string, int, int) ([]Alert, error) {
	var out []Alert
	for _, a := range f.alerts {
		out = append(out, a)
	}
	return out, nil
}
func (f *fakeRepo) HouseholdAlert(_ context.Context, _ string, id int64, _ int) (*Alert, error) {
	if a, ok := f.alerts[id]; ok {
		return &a, nil
	}
	return nil, nil
}
func (f *fakeRepo) RecordWatchAction(_ context.Context, act *Action, ev audit.Event) error {
	act.ID = int64(len(f.actions) + 1)
	f.actions = append(f.actions, *act)
	f.audits = append(f.audits, ev)
	return nil
}
func (f *fakeRepo) WatchActions(context.Context, string, int64, int) ([]Action, error) {
	return f.actions, nil
}
func (f *fakeRepo) HouseholdMemberIDs(_ context.Context, _ string, id int64) ([]int64, error) {
	return f.members[id], nil
}

type recorder struct{ events []audit.Event }

func (r *recorder) Record(_ context.Context, e audit.Event) { r.events = append(r.events, e) }

var officer = care.Actor{AccountID: 7, Role: care.RoleInsuranceOfficer, CountyCode: "411723", Username: "io"}

func newService() (*Service, *fakeRepo, *recorder) {
	f, r := newFake(), &recorder{}
	// Households 1 (crossed), 2 (approaching), 3 (below), and 4 of another county (crossed).
	f.costs[1] = Cost{County: "411723", HouseholdID: 1, Year: 2026, TotalOOP: 1_200_000, Number: "4117231010001"}
	f.costs[2] = Cost{County: "411723", HouseholdID: 2, Year: 2026, TotalOOP: 850_000}
	f.costs[3] = Cost{County: "411723", HouseholdID: 3, Year: 2026, TotalOOP: 100_000}
	f.costs[4] = Cost{County: "411724", HouseholdID: 4, Year: 2026, TotalOOP: 5_000_000}
	f.members[1] = []int64{11, 12, 13}
	at := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	s := &Service{Repo: f, Audit: r, Config: Config{Years: []Thresholds{lines}}, Now: func() time.Time { return at }}
	return s, f, r
}

func TestOnlyTheInsuranceOffice(t *testing.T) {
	s, f, _ := newService()
	ctx := context.Background()
	for _, role := range []care.Role{care.RoleVillageDoctor, care.RoleTownshipDoctor, care.RoleCountySpecialist, care.RoleAnalyst, care.RoleAdmin, care.RoleAuditor, care.RoleResident} {
		a := care.Actor{Role: role, CountyCode: "411723"}
		if _, _, err := s.List(ctx, a, Filter{Year: 2026}); !care.IsCode(err, care.EFORBIDDEN) {
			t.Errorf("%s list: %v", role, err)
		}
		if _, err := s.Household(ctx, a, 1, 2026); !care.IsCode(err, care.EFORBIDDEN) {
			t.Errorf("%s household: %v", role, err)
		}
		if err := s.SetIncome(ctx, a, 1, 2026, 1); !care.IsCode(err, care.EFORBIDDEN) {
			t.Errorf("%s income: %v", role, err)
		}
		if _, err := s.Record(ctx, a, 1, 2026, ActionFollowUp, ""); !care.IsCode(err, care.EFORBIDDEN) {
			t.Errorf("%s action: %v", role, err)
		}
		if _, err := s.Alerts(ctx, a, 2026); !care.IsCode(err, care.EFORBIDDEN) {
			t.Errorf("%s alerts: %v", role, err)
		}
	}
	// An insurance officer without a county is refused too.
	if _, _, err := s.List(ctx, care.Actor{Role: care.RoleInsuranceOfficer}, Filter{Year: 2026}); !care.IsCode(err, care.EFORBIDDEN) {
		t.Errorf("officer without a county: %v", err)
	}
	if len(f.actions) != 0 || len(f.incomes) != 0 {
		t.Error("a refused actor wrote")
	}
	// Another county's household does not exist for this officer.
	if _, err := s.Household(ctx, officer, 4, 2026); !care.IsCode(err, care.ENOTFOUND) {
		t.Errorf("other county's household: %v", err)
	}
}

func TestList(t *testing.T) {
	s, f, r := newService()
	ctx := context.Background()
	levels := func(rows []Row) map[int64]Level {
		m := map[int64]Level{}
		for _, x := range rows {
			m[x.HouseholdID] = x.Level
		}
		return m
	}
	rows, th, err := s.List(ctx, officer, Filter{Year: 2026})
	if err != nil || th != lines {
		t.Fatal(err, th)
	}
	if m := levels(rows); len(m) != 2 || m[1] != LevelCrossed || m[2] != LevelApproaching {
		t.Errorf("approaching and above: %v", m)
	}
	rows, _, _ = s.List(ctx, officer, Filter{Year: 2026, MinLevel: LevelCrossed})
	if m := levels(rows); len(m) != 1 || m[1] != LevelCrossed {
		t.Errorf("crossed only: %v", m)
	}
	// An unknown level lists from approaching.
	rows, _, _ = s.List(ctx, officer, Filter{Year: 2026, MinLevel: "below"})
	if len(rows) != 2 {
		t.Errorf("level below listed %d", len(rows))
	}
	if _, _, err := s.List(ctx, officer, Filter{Year: 2030}); !care.IsCode(err, care.EINVALID) {
		t.Errorf("unconfigured year: %v", err)
	}
	// Each list is one audit row of the officer's.
	if len(r.events) != 3 || r.events[0].Action != ActList || r.events[0].AccountID != officer.AccountID || !strings.Contains(r.events[0].Detail, "2 households") {
		t.Errorf("audit: %+v", r.events)
	}
	// The candidates are asked for with the year's lines.
	if f.askedFor[0] != lines {
		t.Errorf("asked with %+v", f.askedFor[0])
	}
}

func TestListLimit(t *testing.T) {
	s, _, _ := newService()
	f := newFake()
	s.Repo = f
	for i := int64(1); i <= 1500; i++ {
		f.costs[i] = Cost{County: "411723", HouseholdID: i, Year: 2026, TotalOOP: 2_000_000}
	}
	for _, tt := range []struct{ limit, want int }{{0, 200}, {-1, 200}, {1, 1}, {1000, 1000}, {1001, 200}} {
		rows, _, err := s.List(context.Background(), officer, Filter{Year: 2026, Limit: tt.limit})
		if err != nil || len(rows) != tt.want {
			t.Errorf("limit %d: %d rows, want %d (%v)", tt.limit, len(rows), tt.want, err)
		}
	}
}

func TestHouseholdAuditsEveryMember(t *testing.T) {
	s, _, r := newService()
	h, err := s.Household(context.Background(), officer, 1, 2026)
	if err != nil {
		t.Fatal(err)
	}
	if h.Level != LevelCrossed || h.Thresholds != lines || len(h.Bills) != 1 {
		t.Errorf("household %+v", h)
	}
	if len(r.events) != 3 {
		t.Fatalf("audit rows %d, want one per member", len(r.events))
	}
	for i, ev := range r.events {
		if ev.Action != ActRead || ev.ResidentID != []int64{11, 12, 13}[i] || !strings.Contains(ev.Detail, "household 1 year 2026") {
			t.Errorf("audit %d: %+v", i, ev)
		}
	}
	if _, err := s.Household(context.Background(), officer, 1, 2030); !care.IsCode(err, care.EINVALID) {
		t.Errorf("unconfigured year: %v", err)
	}
	if _, err := s.Household(context.Background(), officer, 99, 2026); !care.IsCode(err, care.ENOTFOUND) {
		t.Errorf("unknown household: %v", err)
	}
}

func TestSetIncome(t *testing.T) {
	s, f, _ := newService()
	ctx := context.Background()
	for _, tt := range []struct {
		income settle.Fen
		ok     bool
	}{{-1, false}, {0, true}, {MaxIncome, true}, {MaxIncome + 1, false}} {
		err := s.SetIncome(ctx, officer, 1, 2026, tt.income)
		if tt.ok != (err == nil) {
			t.Errorf("income %d: %v", tt.income, err)
		}
		if !tt.ok {
			if ce, _ := err.(*care.Error); ce == nil || ce.Code != care.EINVALID || ce.Fields[0].Field != "income" {
				t.Errorf("income %d: %v", tt.income, err)
			}
		}
	}
	if f.incomes[1] != MaxIncome || len(f.audits) != 2 || f.audits[0].Action != ActIncome {
		t.Errorf("stored %v, audits %+v", f.incomes, f.audits)
	}
	if err := s.SetIncome(ctx, officer, 99, 2026, 1); !care.IsCode(err, care.ENOTFOUND) {
		t.Errorf("unknown household: %v", err)
	}
	if err := s.SetIncome(ctx, officer, 1, 2030, 1); !care.IsCode(err, care.EINVALID) {
		t.Errorf("unconfigured year: %v", err)
	}
	if MaxIncome != 10_000_000_000 {
		t.Errorf("MaxIncome %d fen, want ¥100 million", MaxIncome)
	}
}

func TestRecord(t *testing.T) {
	s, f, _ := newService()
	ctx := context.Background()
	bad := func(kind ActionKind, note, field, key string) {
		t.Helper()
		_, err := s.Record(ctx, officer, 1, 2026, kind, note)
		ce, _ := err.(*care.Error)
		if ce == nil || ce.Code != care.EINVALID || len(ce.Fields) != 1 || ce.Fields[0].Field != field || ce.Fields[0].Key != key {
			t.Errorf("%s %q: %v, want %s %s", kind, note, err, field, key)
		}
	}
	bad("", "x", "kind", "povertywatch.action_kind")
	bad(ActionNoneNeeded, "", "note", "povertywatch.note_required")
	bad(ActionNoneNeeded, "   ", "note", "povertywatch.note_required")
	bad(ActionFollowUp, strings.Repeat("字", MaxNote+1), "note", "povertywatch.note_long")
	if len(f.actions) != 0 {
		t.Fatal("a refused action was stored")
	}
	// At the limit, and without a note where none is needed.
	if _, err := s.Record(ctx, officer, 1, 2026, ActionFollowUp, strings.Repeat("字", MaxNote)); err != nil {
		t.Errorf("note at the limit: %v", err)
	}
	a, err := s.Record(ctx, officer, 1, 2026, ActionAssistance, "  已申请  ")
	if err != nil {
		t.Fatal(err)
	}
	want := Action{ID: 2, County: "411723", HouseholdID: 1, Year: 2026, Kind: ActionAssistance, Note: "已申请", By: 7, At: time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)}
	if *a != want {
		t.Errorf("action %+v, want %+v", *a, want)
	}
	if len(f.audits) != 2 || f.audits[1].Action != ActRecord || !strings.Contains(f.audits[1].Detail, string(ActionAssistance)) {
		t.Errorf("audits %+v", f.audits)
	}
	if _, err := s.Record(ctx, officer, 99, 2026, ActionFollowUp, ""); !care.IsCode(err, care.ENOTFOUND) {
		t.Errorf("unknown household: %v", err)
	}
	if _, err := s.Record(ctx, officer, 1, 2030, ActionFollowUp, ""); !care.IsCode(err, care.EINVALID) {
		t.Errorf("unconfigured year: %v", err)
	}
}

func TestScan(t *testing.T) {
	s, f, _ := newService()
	ctx := context.Background()
	n, err := s.Scan(ctx, "411723", 2026)
	if err != nil || n != 1 {
		t.Fatalf("scan: %d %v, want the one crossed household", n, err)
	}
	a := f.alerts[1]
	if a.Spent != 1_200_000 || a.Threshold != 1_000_000 || a.ByIncome || a.County != "411723" || a.Year != 2026 || !a.RaisedAt.Equal(s.Now()) {
		t.Errorf("alert %+v", a)
	}
	// Only the households past the line are asked for.
	if got := f.askedFor[0]; got.Approach != settle.Full || got.AbsoluteOOP != lines.AbsoluteOOP {
		t.Errorf("asked with %+v", got)
	}
	if n, _ := s.Scan(ctx, "411723", 2026); n != 0 {
		t.Errorf("second scan raised %d", n)
	}
	if len(f.audits) != 1 || f.audits[0].Action != ActAlert || f.audits[0].CountyCode != "411723" {
		t.Errorf("audits %+v", f.audits)
	}
	if len(f.texts) != 0 {
		t.Errorf("texts %+v without office phones", f.texts)
	}
	// A year without lines watches nothing and is no error.
	if n, err := s.Scan(ctx, "411723", 2030); n != 0 || err != nil {
		t.Errorf("unconfigured year: %d %v", n, err)
	}
	// Nobody crossed: nothing stored, nothing audited.
	s2, f2, _ := newService()
	delete(f2.costs, 1)
	if n, err := s2.Scan(ctx, "411723", 2026); n != 0 || err != nil || len(f2.audits) != 0 {
		t.Errorf("nobody crossed: %d %v %d", n, err, len(f2.audits))
	}
	if got, _ := s.Alerts(ctx, officer, 2026); len(got) != 1 {
		t.Errorf("alerts %d", len(got))
	}
}

func TestAlertOpen(t *testing.T) {
	if !(Alert{}).Open() || (Alert{HandledAt: time.Now()}).Open() {
		t.Error("Open")
	}
}

func (f *fakeRepo) BottomLineBills(context.Context, string, int) ([]BottomLineBill, error) {
	return f.bills, nil
}
func (f *fakeRepo) SettlementPolicy(_ context.Context, id int64) (*settle.StoredPolicy, error) {
	p, ok := f.policies[id]
	if !ok {
		return nil, &care.Error{Code: care.ENOTFOUND}
	}
	return p, nil
}

// TestScanTextsTheOffices (issue 14 §3: "an alert when one crosses"): a
// new alert is texted to each office phone of the configuration, once —
// the household's number, year, spending and line in yuan, no name; a
// second scan texts nobody.
func TestScanTextsTheOffices(t *testing.T) {
	s, f, _ := newService()
	s.Config.OfficePhones = []string{"13900001111", "13900002222"}
	if n, err := s.Scan(context.Background(), "411723", 2026); n != 1 || err != nil {
		t.Fatalf("scan: %d %v", n, err)
	}
	if len(f.texts) != 2 || f.texts[0].Recipient != "13900001111" || f.texts[1].Recipient != "13900002222" {
		t.Fatalf("texts %+v", f.texts)
	}
	m := f.texts[0]
	want := map[string]string{"household": "4117231010001", "year": "2026", "spent": "12000.00", "line": "10000.00"}
	if !maps.Equal(m.Params, want) || m.Purpose != PurposeCrossed || m.Channel != notify.ChannelSMS || m.County != "411723" || m.Ref != "poverty:1:2026" {
		t.Errorf("text %+v", m)
	}
	if err := m.Valid(); err != nil || !strings.Contains(m.Body, "4117231010001") || !strings.Contains(m.Body, "12000.00") || !strings.Contains(m.Body, "10000.00") {
		t.Errorf("body %q: %v", m.Body, err)
	}
	if n, _ := s.Scan(context.Background(), "411723", 2026); n != 0 || len(f.texts) != 2 {
		t.Errorf("a second scan: %d new, %d texts", n, len(f.texts))
	}
}
