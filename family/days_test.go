package family

import (
	"fmt"
	"testing"

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
