package appraisal

import (
	"strings"
	"testing"

	"countycare/kpi"
)

// TestRulesBoundaries pins the edges of the rules file (LoadRules): the
// years 2000 and 2100 are years, a year written with a leading zero is
// not one (it would be a second 2026); a target of 0 % and of 100 % are
// targets; a weight of one point is a weight; a file of one year runs
// from it to it.
func TestRulesBoundaries(t *testing.T) {
	inst := func(target string, weight string) string {
		return `{"total":` + weight + `,"items":{"in_county":{"weight":` + weight + `,"target":` + target + `}}}`
	}
	for _, c := range []struct {
		name, year, target, weight, str string
		bp                              int
	}{
		{"year 2000", "2000", "90", "1", "appraisal rules v1: 2000–2000", 9000},
		{"year 2100", "2100", "90", "1", "appraisal rules v1: 2100–2100", 9000},
		{"target 0", "2026", "0", "5", "appraisal rules v1: 2026–2026", 0},
		{"target 100", "2026", "100", "5", "appraisal rules v1: 2026–2026", 10000},
		{"target 0.01", "2026", "0.01", "5", "appraisal rules v1: 2026–2026", 1},
	} {
		r, err := LoadRules(strings.NewReader(one(map[string]string{c.year: inst(c.target, c.weight)})))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if r.String() != c.str {
			t.Errorf("%s: %s", c.name, r)
		}
		if sc, _ := r.Scheme(r.first, Institutions); sc.Items[0].TargetBP != c.bp || sc.Items[0].Weight != sc.Total {
			t.Errorf("%s: %+v", c.name, sc)
		}
	}
	if _, err := LoadRules(strings.NewReader(one(map[string]string{"02026": okInst}))); err == nil {
		t.Error("year 02026 accepted")
	}
}

// TestPointsCeilingZero: a ceiling of 0 % (lower is better) is met by 0 %
// only — the full weight, and no division by zero.
func TestPointsCeilingZero(t *testing.T) {
	v := kpi.Of(ind("out_of_county"), kpi.Rate{Num: 0, Den: 40})
	if got := Points(ind("out_of_county"), v, 10, 0); got != 1000 {
		t.Errorf("got %d, want 1000", got)
	}
}
