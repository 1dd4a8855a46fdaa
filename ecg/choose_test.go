package ecg

import "testing"

// TestChoose checks the selection rule of the cross-validation on given
// scores: the highest worst min(Se, +P), then the fewest errors, then the
// earlier configuration; the left-out record takes no part.
func TestChoose(t *testing.T) {
	sc := func(tp, fn, fp int) Score { return Score{Beats: tp + fn, TP: tp, FN: fn, FP: fp} }
	for _, tc := range []struct {
		name   string
		scores [][]Score
		out    int
		want   int
	}{
		{"worst decides", [][]Score{{sc(100, 0, 0), sc(90, 10, 0)}, {sc(98, 2, 0), sc(97, 3, 0)}}, -1, 1},
		{"ties: fewest errors", [][]Score{{sc(98, 2, 0), sc(99, 0, 1)}, {sc(98, 2, 0), sc(100, 0, 0)}}, -1, 1},
		{"full tie: the earlier", [][]Score{{sc(98, 2, 0)}, {sc(98, 2, 0)}}, -1, 0},
		{"left out takes no part", [][]Score{{sc(100, 0, 0), sc(50, 50, 0)}, {sc(99, 1, 0), sc(100, 0, 0)}}, 1, 0},
		{"all worst zero: the fewest errors", [][]Score{{sc(0, 5, 0)}, {sc(0, 3, 0)}}, -1, 1},
		{"all worst zero, tie: the first", [][]Score{{sc(0, 3, 0)}, {sc(0, 3, 0)}}, -1, 0},
	} {
		if got := choose(tc.scores, tc.out); got != tc.want {
			t.Errorf("%s: chose %d, want %d", tc.name, got, tc.want)
		}
	}
}

// TestChooseQRSConfig checks the choice on all records, and that the grid
// holds 24 distinct configurations, the published detector first, the
// rhythm rule off in the first 12 and on in the last 12.
func TestChooseQRSConfig(t *testing.T) {
	x, ref := synthECG(360, rrTimes(0.5, constRR(30, 0.8)), constRR(31, 1), 26, 3)
	bad := PublishedQRSConfig()
	bad.ThresholdCoeff = 5 // above every peak: no beat
	rec := CVRecord{Name: "s", X: x, Fs: 360, Ref: ref}
	if g, c := ChooseQRSConfig([]CVRecord{rec}, []QRSConfig{bad, PublishedQRSConfig()}); g != 1 || c != PublishedQRSConfig() {
		t.Errorf("chose %d (%+v), want 1, the published detector", g, c)
	}
	grid := QRSGrid()
	if len(grid) != 24 || grid[0] != PublishedQRSConfig() {
		t.Fatalf("grid of %d, first %+v; want 24, the published detector first", len(grid), grid[0])
	}
	seen := map[QRSConfig]bool{}
	for i, c := range grid {
		if seen[c] {
			t.Errorf("configuration %d repeated: %+v", i, c)
		}
		seen[c] = true
		if on := c.NoiseLevel > 0; on != (i >= 12) {
			t.Errorf("configuration %d: rhythm rule on = %v", i, on)
		}
	}
	if !seen[DefaultQRSConfig()] {
		t.Error("the detector's defaults are not in the grid")
	}
}
