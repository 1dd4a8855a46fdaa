package kpi

import (
	"context"
	"fmt"
	"testing"
	"time"

	"countycare/care"
	"countycare/org"
)

// TestPointsPerResident: points per contracted resident in tenths, rounded
// half up; no figure without residents under contract.
func TestPointsPerResident(t *testing.T) {
	u := &org.Institution{Kind: org.KindTownshipHC}
	for _, c := range []struct {
		points     int64
		contracted int
		want       string
	}{{95, 40, "2.4"}, {5, 100, "0.1"}, {4, 100, "0.0"}, {120, 12, "10.0"}, {7, 0, ""}} {
		if got := (UnitTeams{Unit: u, Points: c.points, Contracted: c.contracted}).PerResidentText(); got != c.want {
			t.Errorf("%d points, %d contracted: %q, want %q", c.points, c.contracted, got, c.want)
		}
	}
}

// fakeTeamPoints: two teams of the township 3 — one of 2,000 residents
// under contract, one of 500 — and one of the township 4 with none.
type fakeTeamPoints struct{ day *care.Date }

func (f fakeTeamPoints) TeamPointsSums(ctx context.Context, county string, from, to care.Date) ([]TeamPoints, error) {
	return []TeamPoints{
		{TeamID: 11, Institution: 3, Name: "甲一队", Awards: 900, Points: 5000},
		{TeamID: 12, Institution: 3, Name: "甲二队", Awards: 300, Points: 1500},
		{TeamID: 21, Institution: 4, Name: "乙一队", Awards: 10, Points: 70},
	}, nil
}

func (f fakeTeamPoints) TeamAwards(ctx context.Context, county string, team int64, from, to care.Date) ([]TeamAward, error) {
	return nil, nil
}

func (f fakeTeamPoints) TeamContracts(ctx context.Context, county string, day care.Date) ([]TeamContracted, error) {
	*f.day = day
	return []TeamContracted{{TeamID: 11, Institution: 3, Residents: 2000}, {TeamID: 12, Institution: 3, Residents: 500}, {TeamID: 99, Institution: 42, Residents: 7}}, nil
}

// TestTeamPointsPerContractedResident (docs/points.md, "per contracted
// resident"): each team's points over its residents under contract at the
// period's end, kept with the dashboard by the figures duty — by hand,
// 5,000 points over 2,000 residents is 2.5 a resident and 1,500 over 500
// is 3.0, so the smaller team earned more per resident though less in
// all; a team without residents under contract has no figure (never 0,
// never a division by zero); the count is of the period's last day.
func TestTeamPointsPerContractedResident(t *testing.T) {
	now := time.Date(2026, 8, 15, 4, 0, 0, 0, time.UTC)
	s, _, _ := newTestService(&now)
	var day care.Date
	s.Points = fakeTeamPoints{&day}
	analyst := care.Actor{AccountID: 1, Role: care.RoleAnalyst, CountyCode: "411723"}
	pb, err := s.TeamPoints(context.Background(), analyst, 2, Period{Kind: Quarter, Year: 2026, N: 2})
	if err != nil {
		t.Fatal(err)
	}
	got := map[int64]string{}
	contracted := map[int64]int{}
	for _, u := range pb.Units {
		for _, tp := range u.Teams {
			got[tp.TeamID], contracted[tp.TeamID] = tp.PerResidentText(), tp.Contracted
		}
	}
	want := map[int64]string{11: "2.5", 12: "3.0", 21: ""}
	if fmt.Sprint(got) != fmt.Sprint(want) || contracted[11] != 2000 || contracted[12] != 500 || contracted[21] != 0 {
		t.Errorf("per contracted resident %v (contracted %v), want %v", got, contracted, want)
	}
	if day.String() != "2026-06-30" {
		t.Errorf("residents under contract counted on %s, want the quarter's last day", day)
	}
	// The same figures from the kept dashboard (the duty's snapshot as stored).
	k := &memKept{}
	s2, _, _ := newTestService(&now)
	s2.Points, s2.Kept = fakeTeamPoints{&day}, k
	if _, err := s2.Keep(context.Background(), analyst, care.Today(now)); err != nil {
		t.Fatal(err)
	}
	s2.Points = keptOnly{fakeTeamPoints{new(care.Date)}} // a view counts no contract
	pb, err = s2.TeamPoints(context.Background(), analyst, 3, Period{Kind: Quarter, Year: 2026, N: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(pb.Units) != 1 || len(pb.Units[0].Teams) != 2 || pb.Units[0].Teams[0].PerResidentText() != "2.5" || pb.Units[0].Teams[1].PerResidentText() != "3.0" {
		t.Errorf("from the kept dashboard: %+v", pb.Units)
	}
}

type keptOnly struct{ fakeTeamPoints }

func (keptOnly) TeamContracts(context.Context, string, care.Date) ([]TeamContracted, error) {
	return nil, fmt.Errorf("a view must read the kept figures")
}
