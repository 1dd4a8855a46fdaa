package appraisal

import (
	"testing"

	"countycare/kpi"
)

func ind(id string) kpi.Indicator {
	in, ok := Lookup(id)
	if !ok {
		panic(id)
	}
	return in
}

func val(num, den int) kpi.Value { return kpi.Of(ind("in_county"), kpi.Rate{Num: num, Den: den}) }

// TestPoints: the scoring rule (按完成比例计分, docs/appraisal.md [U]),
// hand-computed in hundredths of a point.
func TestPoints(t *testing.T) {
	for _, c := range []struct {
		name        string
		id          string
		v           kpi.Value
		weight, tgt int
		want        int
	}{
		// Higher is better: 县域内就诊率 81 % against 90 %, weight 15 →
		// 15 × 81/90 = 13.5 points.
		{"below target", "in_county", val(81, 100), 15, 9000, 1350},
		{"at target", "in_county", val(90, 100), 15, 9000, 1500},
		{"above target: capped", "in_county", val(99, 100), 15, 9000, 1500},
		// 2/3 = 6667 bp against 70 %, weight 10: 1000 × 6667 / 7000 = 952.43 → 952.
		{"rounds half up (down)", "in_county", val(2, 3), 10, 7000, 952},
		// 1 % against 3 %, weight 1: 100 × 100 / 300 = 33.3 → 33; 2 % → 66.7 → 67.
		{"rounds down", "in_county", val(1, 100), 1, 300, 33},
		{"rounds up", "in_county", val(2, 100), 1, 300, 67},
		{"half rounds up", "in_county", val(1, 100), 1, 200, 50},
		{"target 0 met by anything", "in_county", val(0, 100), 5, 0, 500},
		// Lower is better: 县外转诊率 20 % against a 10 % ceiling, weight 10 →
		// 10 × 10/20 = 5 points; at or under the ceiling, all 10.
		{"ceiling exceeded", "out_of_county", kpi.Of(ind("out_of_county"), kpi.Rate{Num: 20, Den: 100}), 10, 1000, 500},
		{"at ceiling", "out_of_county", kpi.Of(ind("out_of_county"), kpi.Rate{Num: 10, Den: 100}), 10, 1000, 1000},
		{"under ceiling", "out_of_county", kpi.Of(ind("out_of_county"), kpi.Rate{Num: 0, Den: 100}), 10, 1000, 1000},
		// 30 % against 20 %: 1000 × 2000/3000 = 666.7 → 667; 70 % → 285.7 → 286.
		{"ceiling rounds up", "out_of_county", kpi.Of(ind("out_of_county"), kpi.Rate{Num: 30, Den: 100}), 10, 2000, 667},
		{"ceiling rounds", "out_of_county", kpi.Of(ind("out_of_county"), kpi.Rate{Num: 70, Den: 100}), 10, 2000, 286},
		{"ceiling 0 missed", "out_of_county", kpi.Of(ind("out_of_county"), kpi.Rate{Num: 1, Den: 100}), 10, 0, 0},
		{"no data", "in_county", val(0, 0), 15, 9000, 0},
		{"data error", "in_county", val(5, 2), 15, 9000, 0},
	} {
		if got := Points(ind(c.id), c.v, c.weight, c.tgt); got != c.want {
			t.Errorf("%s: got %d, want %d", c.name, got, c.want)
		}
	}
}

// TestEvaluate: a hand-computed institution score. Scheme (total 100):
// in_county 60 (target 90 %), out_of_county 30 (ceiling 10 %),
// satisfaction 10 (target 90 %).
//
//	in_county 72/80 = 90 %      → 60 points (met)
//	out_of_county 3/12 = 25 %   → 30 × 10/25 = 12 points
//	satisfaction: no answers    → no data, left out
//
// Points 72 of the 90 available; scaled to 100: 72 × 100 / 90 = 80.
func TestEvaluate(t *testing.T) {
	sc := Scheme{Total: 100, Items: []Item{{"in_county", 60, 9000}, {"out_of_county", 30, 1000}, {"satisfaction", 10, 9000}}}
	s := Evaluate(sc, map[string]kpi.Rate{"in_county": {Num: 72, Den: 80}, "out_of_county": {Num: 3, Den: 12}})
	if !s.HasData || s.Points != 7200 || s.Available != 90 || s.Scaled != 8000 || s.Total != 100 {
		t.Errorf("score %+v", s)
	}
	if len(s.Lines) != 3 || s.Lines[0].Points != 6000 || s.Lines[1].Points != 1200 || s.Lines[2].Scored() || s.Lines[2].Value.State != kpi.NoData || s.Lines[2].Points != 0 {
		t.Errorf("lines %+v", s.Lines)
	}
	if s.Lines[1].Weight != 30 || s.Lines[1].TargetBP != 1000 || s.Lines[1].Indicator.ID != "out_of_county" || s.Lines[0].Value.BP != 9000 {
		t.Errorf("line %+v", s.Lines[1])
	}
	// Scaling rounds half up: 2 of 3 points available (1 point at 2/3):
	// in_county 60/90 of 1 point = 66.67 → 67 hundredths; × 100 / 1 → 6700.
	s = Evaluate(Scheme{Total: 100, Items: []Item{{"in_county", 1, 9000}, {"satisfaction", 2, 9000}}}, map[string]kpi.Rate{"in_county": {Num: 60, Den: 100}})
	if s.Points != 67 || s.Available != 1 || s.Scaled != 6700 {
		t.Errorf("scaled %+v", s)
	}
	// 1.5 of 3: (150 × 10 + 1) / 3 = 500.33 → 500; 2 of 3 → 666.67 → 667.
	s = Evaluate(Scheme{Total: 10, Items: []Item{{"in_county", 3, 10000}}}, map[string]kpi.Rate{"in_county": {Num: 2, Den: 3}})
	if s.Points != 200 || s.Scaled != 667 {
		t.Errorf("scaled rounding %+v", s)
	}
}

// TestEvaluateNoData: a unit with no data at all shows "no data", never 0
// and never a division by zero; a data error is left out likewise.
func TestEvaluateNoData(t *testing.T) {
	sc := Scheme{Total: 100, Items: []Item{{"in_county", 60, 9000}, {"primary_share", 40, 6500}}}
	s := Evaluate(sc, map[string]kpi.Rate{"primary_share": {Num: 7, Den: 5}})
	if s.HasData || s.Scaled != 0 || s.Available != 0 || s.Points != 0 || s.Lines[1].Value.State != kpi.DataError {
		t.Errorf("no data: %+v", s)
	}
}
