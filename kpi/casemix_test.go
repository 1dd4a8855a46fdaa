package kpi

import (
	"context"
	"strings"
	"testing"
	"time"

	"countycare/care"
)

// fakeCaseMix: in-patient cases settled by the village 5 (which never
// admits, but the sum must not care), the township 4 and the county
// hospital 7.
type fakeCaseMix struct{ from, to *care.Date }

func (f fakeCaseMix) InpatientDRGCases(ctx context.Context, county string, from, to care.Date) (map[int64]map[string]int, error) {
	*f.from, *f.to = from, to
	return map[int64]map[string]int{
		5: {"GZ13": 2},
		4: {"ES33": 1, "": 3},
		7: {"BR21": 3, "ES31": 2, "XX99": 1},
	}, nil
}

// TestCaseMixIndex: policy-rules.md §6, CMI = Σ(RW_g × n_g) / Σ n_g over
// the cases whose DRG has a weight (settle.CostIndicators), worked by hand
// with the shipped example weights (GZ13 0.55, ES33 0.62, ES31 1.05, BR21
// 1.40):
//
//	village 5:  2 × 0.55                         = 1.10 / 2 = 0.55
//	township 4: 1 × 0.62; 3 without a DRG        = 0.62 / 1 = 0.62
//	hospital 7: 3 × 1.40 + 2 × 1.05; XX99 unknown = 6.30 / 5 = 1.26
//	county:     1.10 + 0.62 + 6.30 = 8.02 / 8    = 1.0025 → 1.00
//
// the cases without a weight counted, summed up the tree, and no data —
// never 0 — without a table, or where no case has a weight.
func TestCaseMixIndex(t *testing.T) {
	w := map[string]float64{"GZ13": 0.55, "ES33": 0.62, "ES31": 1.05, "BR21": 1.40, "FR21": 0.95}
	if m := CaseMixOf(map[string]int{"BR21": 3, "ES31": 2, "XX99": 1, "": 4}, w); m != (CaseMix{RW: 63000, Weighted: 5, Unweighted: 5}) {
		t.Errorf("CaseMixOf %+v", m)
	}
	// A weight of "" in a table weighs nothing: a case without a DRG is never weighted.
	if m := CaseMixOf(map[string]int{"": 2}, map[string]float64{"": 1}); m != (CaseMix{Unweighted: 2}) {
		t.Errorf("no DRG: %+v", m)
	}
	now := time.Date(2026, 8, 15, 4, 0, 0, 0, time.UTC)
	s, _, _ := newTestService(&now)
	var from, to care.Date
	s.CaseMix, s.DRGWeights = fakeCaseMix{&from, &to}, w
	ctx := context.Background()
	analyst := care.Actor{AccountID: 1, Role: care.RoleAnalyst, CountyCode: "411723"}
	p := Period{Kind: Month, Year: 2026, N: 7}
	for unit, c := range map[int64]struct {
		r          Rate
		bp         int
		unweighted int
		state      State
	}{
		0: {Rate{80200, 8}, 10025, 4, OK},
		2: {Rate{80200, 8}, 10025, 4, OK},
		3: {Rate{11000, 2}, 5500, 0, OK},
		5: {Rate{11000, 2}, 5500, 0, OK},
		4: {Rate{6200, 1}, 6200, 3, OK},
		6: {Rate{}, 0, 0, NoData},
	} {
		b, err := s.Board(ctx, analyst, unit, p)
		if err != nil {
			t.Fatal(err)
		}
		row := rowByID(b, CMI)
		if v := row.Value; v.Rate != c.r || v.BP != c.bp || v.Unweighted != c.unweighted || v.State != c.state || !v.Index || v.Money {
			t.Errorf("unit %d: CMI %+v, want %v bp %d unweighted %d", unit, v, c.r, c.bp, c.unweighted)
		}
		if row.Indicator.Group != "casemix" || !row.Indicator.HigherIsBetter || row.Indicator.Bounded || row.Indicator.Share() {
			t.Errorf("CMI indicator %+v", row.Indicator)
		}
	}
	if from.String() != "2026-07-01" || to.String() != "2026-07-31" {
		t.Errorf("the store was asked for %s..%s", from, to)
	}
	// No weight table configured: no data everywhere, and the store is not asked.
	s2, _, _ := newTestService(&now)
	var f2, t2 care.Date
	s2.CaseMix = fakeCaseMix{&f2, &t2}
	b, err := s2.Board(ctx, analyst, 0, p)
	if err != nil {
		t.Fatal(err)
	}
	if v := rowByID(b, CMI).Value; v.State != NoData || v.Unweighted != 0 || !f2.IsZero() {
		t.Errorf("no weight table: %+v (store asked for %s)", v, f2)
	}
	// Only cases without a weight: no data, with their number.
	s2.Invalidate()
	s2.DRGWeights = map[string]float64{"ZZ00": 1}
	b, err = s2.Board(ctx, analyst, 4, p)
	if err != nil {
		t.Fatal(err)
	}
	if v := rowByID(b, CMI).Value; v.State != NoData || v.Unweighted != 4 {
		t.Errorf("no case with a weight: %+v, want no data with 4 cases left out", v)
	}
}

// TestIndexValue: an index is no data without a weighted case, a data
// error with a negative count, and otherwise the mean rounded half up in
// ten-thousandths (never bounded by 100 %).
func TestIndexValue(t *testing.T) {
	in, _ := Lookup(CMI)
	for _, c := range []struct {
		r     Rate
		state State
		bp    int
	}{
		{Rate{0, 0}, NoData, 0}, {Rate{5, 0}, NoData, 0}, {Rate{-1, 2}, DataError, 0}, {Rate{1, -1}, DataError, 0},
		{Rate{25001, 2}, OK, 12501}, {Rate{25000, 2}, OK, 12500}, {Rate{24999, 2}, OK, 12500}, {Rate{24997, 2}, OK, 12499},
		{Rate{120000, 4}, OK, 30000},
	} {
		if v := Of(in, c.r); v.State != c.state || v.BP != c.bp || !v.Index {
			t.Errorf("Of(CMI, %v) = %+v, want state %d bp %d", c.r, v, c.state, c.bp)
		}
	}
}

// TestIndexTargets: a CMI target is the index itself in the targets file
// (1.05, two decimals at most), kept × 10000 like the value, from 0 to
// MaxIndexTarget; the amber band's points are hundredths of the index.
func TestIndexTargets(t *testing.T) {
	file := func(v string) string {
		return `{"version": 1, "amber_points": 5, "targets": {"settle_cmi": {"2026": ` + v + `}}}`
	}
	for v, want := range map[string]int{"1.05": 10500, "0": 0, "10": 100000, "0.01": 100} {
		tg, err := LoadTargets(strings.NewReader(file(v)))
		if err != nil {
			t.Errorf("%s: %v", v, err)
			continue
		}
		if bp, err := tg.Target(CMI, 2026); err != nil || bp != want {
			t.Errorf("%s: target %d %v, want %d", v, bp, err, want)
		}
	}
	for _, v := range []string{"10.01", "-0.01", "1.055"} {
		ce, ok := asInvalid(LoadTargets(strings.NewReader(file(v))))
		if !ok || len(ce.Fields) != 1 || ce.Fields[0].Field != "targets.settle_cmi.2026" || ce.Fields[0].Key != "kpi.targets.range" {
			t.Errorf("%s: %v, want targets.settle_cmi.2026 out of range", v, ce)
		}
	}
	in, _ := Lookup(CMI)
	for bp, want := range map[int]Light{10500: LightGreen, 11000: LightGreen, 10000: LightAmber, 9999: LightRed} {
		if got := Judge(in, Of(in, Rate{bp, 1}), 10500, 500); got != want {
			t.Errorf("CMI %d against 1.05 (amber 0.05): %s, want %s", bp, got, want)
		}
	}
}

func asInvalid(_ *Targets, err error) (*care.Error, bool) {
	ce, ok := err.(*care.Error)
	return ce, ok
}

func rowByID(b *Board, id string) Row {
	for _, r := range b.Rows {
		if r.Indicator.ID == id {
			return r
		}
	}
	return Row{}
}
