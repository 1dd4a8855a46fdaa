package pharmacy

import (
	"fmt"
	"testing"

	"countycare/rx"
)

// BenchmarkAllocateFEFO: a township clinic holding 3 lots of each of its
// formulary's drugs, a 5-line prescription.
func BenchmarkAllocateFEFO(b *testing.B) {
	kb := rx.MustLoad()
	var lots []Lot
	id := int64(0)
	for _, e := range Formulary(kb, nil, "township") {
		for k := 0; k < 3; k++ {
			id++
			lots = append(lots, Lot{ID: id, DrugCode: e.Drug.Code, Batch: fmt.Sprint(k), Expiry: day("2027-01-01").AddDays(90 * k), Quantity: 40})
		}
	}
	need := map[string]int64{}
	for _, l := range lots[:15:15] {
		need[l.DrugCode] = 100 // takes from all three lots
	}
	today := day("2026-11-30")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, shorts := AllocateFEFO(lots, need, today); shorts != nil {
			b.Fatal(shorts)
		}
	}
	b.ReportMetric(float64(len(lots)), "lots")
}

// BenchmarkShortfalls: the 5-drugs-per-class check of a village clinic.
func BenchmarkShortfalls(b *testing.B) {
	kb := rx.MustLoad()
	var lots []Lot
	for i, e := range Formulary(kb, nil, "village") {
		if i%2 == 0 {
			lots = append(lots, Lot{ID: int64(i + 1), DrugCode: e.Drug.Code, Expiry: day("2027-01-01"), Quantity: 10})
		}
	}
	today := day("2026-11-30")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		Shortfalls(kb, "village", lots, today, MinDrugsPerClass)
	}
}
