package kpi

import (
	"testing"

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
