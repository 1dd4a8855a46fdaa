package family

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"countycare/care"
)

// TestDayFigures: the figures kept for a day are the counts behind the
// coverage, key coverage and fulfilment rates of any period ending that day
// (policy-rules.md §2; the same fixture as TestIndicatorsFixture, by hand):
// village 1 on 2026-12-31 has 3 of 10 residents and 1 of 4 key members
// under contract and 6 of 12 services delivered; village 2 none.
func TestDayFigures(t *testing.T) {
	basic := Dues{{FollowUp, 4}, {Checkup, 1}}
	pops := []Population{{VillageID: 1, Residents: 10, Key: 4}, {VillageID: 2, Residents: 5, Key: 1}}
	cs := []ContractFact{
		{Contract: Contract{ID: 2, ResidentID: 100, Services: basic, Start: d("2026-06-01"), End: d("2027-05-31"), Status: StatusActive}, VillageID: 1, Key: true,
			Done: []Done{{FollowUp, d("2026-06-10")}, {FollowUp, d("2026-08-01")}, {FollowUp, d("2026-09-01")}, {FollowUp, d("2026-10-01")}, {FollowUp, d("2026-11-01")}}},
		{Contract: Contract{ID: 3, ResidentID: 101, Services: basic, Start: d("2026-02-01"), End: d("2027-01-31"), Status: StatusActive}, VillageID: 1,
			Done: []Done{{Checkup, d("2026-03-01")}}},
		{Contract: Contract{ID: 6, ResidentID: 103, Services: Dues{{HomeVisit, 2}}, Start: d("2026-07-01"), End: d("2027-06-30"), Status: StatusActive}, VillageID: 1,
			Done: []Done{{HomeVisit, d("2026-08-01")}}},
		{Contract: Contract{ID: 7, ResidentID: 200, Services: basic, Start: d("2026-01-01"), End: d("2026-12-31"), Status: StatusEnded, EndedOn: d("2026-11-15")}, VillageID: 2, Key: true},
	}
	got := DayFigures(pops, cs, d("2026-12-31"))
	want := []VillageDay{
		{VillageID: 1, Residents: 10, Key: 4, Covered: 3, CoveredKey: 1, FulfilNum: 6, FulfilDen: 12},
		{VillageID: 2, Residents: 5, Key: 1},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	in := got[0].Indicators()
	if in != (Indicators{Coverage: Rate{3, 10}, KeyCoverage: Rate{1, 4}, Fulfilment: Rate{6, 12}}) {
		t.Errorf("village 1 as rates: %+v", in)
	}
	if (VillageDay{}).Indicators().Renewal != (Rate{}) || got[1].Indicators().Fulfilment.String() != "—" {
		t.Errorf("a day without services must show no fulfilment, not 0 %%: %+v", got[1].Indicators())
	}
}

// TestSnapshotDue: today is always kept again; the last month end is kept
// again for RestateDays after it (late entries), then it stands; every other
// month end of the last SnapshotBackMonths is kept once.
func TestSnapshotDue(t *testing.T) {
	monthEnds := func(today care.Date, n int) []care.Date {
		var out []care.Date
		first := care.Date{Year: today.Year, Month: today.Month, Day: 1}
		for range n {
			end := first.AddDays(-1)
			out = append(out, end)
			first = care.Date{Year: end.Year, Month: end.Month, Day: 1}
		}
		return out
	}
	today := d("2026-12-07")
	all := monthEnds(today, SnapshotBackMonths)
	if len(all) != 24 || all[0] != d("2026-11-30") || all[23] != d("2024-12-31") {
		t.Fatalf("fixture month ends %v", all)
	}
	got := SnapshotDue(today, nil)
	if len(got) != 25 || got[0] != today || got[1] != d("2026-11-30") || got[24] != d("2024-12-31") {
		t.Errorf("nothing kept: %v", got)
	}
	// Everything kept: today, and 30 November while within 7 days of it.
	for _, c := range []struct {
		today string
		want  string
	}{
		{"2026-12-07", "[2026-12-07 2026-11-30]"},
		{"2026-12-08", "[2026-12-08]"}, // 8 days after: 30 November stands
		{"2026-12-01", "[2026-12-01 2026-11-30]"},
		{"2027-03-01", "[2027-03-01 2027-02-28]"},
	} {
		td := d(c.today)
		have := append([]care.Date{td}, monthEnds(td, SnapshotBackMonths)...)
		if got := fmt.Sprint(SnapshotDue(td, have)); got != c.want {
			t.Errorf("%s, all kept: %s, want %s", c.today, got, c.want)
		}
	}
	// One old month end missing: it is filled in; one older than 24 months is not.
	have := monthEnds(d("2026-12-20"), SnapshotBackMonths)
	missing := have[10]
	have = append(have[:10], have[11:]...)
	if got := fmt.Sprint(SnapshotDue(d("2026-12-20"), have)); got != fmt.Sprintf("[2026-12-20 %s]", missing) {
		t.Errorf("one missing: %s", got)
	}
}

// memDays is an in-memory DayStore.
type memDays struct {
	rows map[care.Date][]VillageDay
	at   map[care.Date]time.Time
	err  error
}

func (m *memDays) SaveVillageDays(_ context.Context, county string, day care.Date, days []VillageDay, at time.Time) error {
	if m.err != nil {
		return m.err
	}
	m.rows[day], m.at[day] = days, at
	return nil
}

func (m *memDays) VillageDays(_ context.Context, county string, clinics []int64, day care.Date) ([]VillageDay, bool, error) {
	if m.err != nil {
		return nil, false, m.err
	}
	rows, ok := m.rows[day]
	var out []VillageDay
	for _, r := range rows {
		if slices.Contains(clinics, r.VillageID) {
			out = append(out, r)
		}
	}
	return out, ok, nil
}

func (m *memDays) SnapshotDays(context.Context, string, care.Date, care.Date) ([]care.Date, error) {
	return nil, nil
}

// TestSnapshotAndPointIndicators pins the service side of the kept figures
// (docs/dashboard.md): the duty keeps every village clinic of the county
// for a day; a view reads them for its scope (the analyst's county, a
// township doctor's villages; nobody else) and audits whether they were
// kept or computed; a day after today is refused; without a store the
// figures are computed and the duty refuses.
func TestSnapshotAndPointIndicators(t *testing.T) {
	ctx := context.Background()
	h := newFamily()
	h.r.pops = []Population{{VillageID: 11, Residents: 10, Key: 4}, {VillageID: 12, Residents: 5, Key: 1}, {VillageID: 21, Residents: 20, Key: 2}}
	h.r.facts = []ContractFact{
		{Contract: Contract{ID: 1, ResidentID: 100, Start: d("2026-01-01"), End: d("2026-12-31"), Status: StatusActive}, VillageID: 11, Key: true},
		{Contract: Contract{ID: 3, ResidentID: 200, Start: d("2026-01-01"), End: d("2026-12-31"), Status: StatusActive}, VillageID: 21, Key: true},
	}
	if _, err := h.s.SnapshotDay(ctx, county, famToday); code(err) != care.EINTERNAL {
		t.Errorf("no store: %v", err)
	}
	computed, err := h.s.PointIndicators(ctx, analyst, famToday) // no store: computed
	if err != nil || computed.Total.Coverage != (Rate{2, 35}) || !strings.HasSuffix(h.log.events[len(h.log.events)-1].Detail, "computed") {
		t.Fatalf("computed without a store: %+v %v", computed, err)
	}
	mem := &memDays{rows: map[care.Date][]VillageDay{}, at: map[care.Date]time.Time{}}
	h.s.Days = mem
	n, err := h.s.SnapshotDay(ctx, county, famToday)
	if err != nil || n != 3 || len(mem.rows[famToday]) != 3 || !mem.at[famToday].Equal(h.s.Now()) {
		t.Fatalf("snapshot: %d %v %+v", n, err, mem.rows)
	}
	h.r.pops[0].Residents = 1000 // a later change: a view reads what was kept
	r, err := h.s.PointIndicators(ctx, analyst, famToday)
	if err != nil || r.Total.Coverage != (Rate{2, 35}) || r.Total.KeyCoverage != (Rate{2, 7}) || r.From != famToday || r.To != famToday || len(r.ByVillage) != 3 {
		t.Errorf("kept, analyst: %+v %v", r, err)
	}
	if e := h.log.events[len(h.log.events)-1]; e.Action != ActIndicators || e.Detail != fmt.Sprintf("family point indicators %s villages=3 kept", famToday) {
		t.Errorf("audit %+v", e)
	}
	r, err = h.s.PointIndicators(ctx, townshipDr, famToday)
	if err != nil || len(r.ByVillage) != 2 || r.Total.Coverage != (Rate{1, 15}) {
		t.Errorf("kept, township 10: %+v %v", r, err)
	}
	for _, a := range []care.Actor{villageDr, specialist, admin} {
		if _, err := h.s.PointIndicators(ctx, a, famToday); code(err) != care.EFORBIDDEN {
			t.Errorf("%s: %v", a.Role, err)
		}
	}
	for _, day := range []care.Date{{}, famToday.AddDays(1)} {
		if _, err := h.s.PointIndicators(ctx, analyst, day); fields(err) != "to:family.period" {
			t.Errorf("day %v: %v", day, err)
		}
	}
	if r, err := h.s.PointIndicators(ctx, analyst, famToday.AddDays(-1)); err != nil || r.Total.Coverage.Den != 1025 { // not kept: computed now
		t.Errorf("a day not kept: %+v %v", r, err)
	}
	mem.err = errors.New("store down")
	if _, err := h.s.PointIndicators(ctx, analyst, famToday); !errors.Is(err, mem.err) {
		t.Errorf("store fails on read: %v", err)
	}
	if _, err := h.s.SnapshotDay(ctx, county, famToday); !errors.Is(err, mem.err) {
		t.Errorf("store fails on save: %v", err)
	}
}
