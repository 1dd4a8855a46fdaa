package settle

import (
	"fmt"
	"testing"
)

// BenchmarkSettle settles 20-line bills (issue #6: ≥ 200,000 visits per
// second on one core). Run: go test ./settle -bench Settle -cpu 1
func BenchmarkSettle(b *testing.B) {
	p := examplePolicy(b, "985-2026.json")
	claims := make([]*Claim, 64)
	types := []string{Inpatient, Outpatient, Chronic}
	pov := []string{"", "", "", "subsistence", "illness", "monitored"}
	for i := range claims {
		c := &Claim{VisitID: fmt.Sprint(i), Date: "2026-06-01", VisitType: types[i%3], Level: Levels[i%4], Referred: i%2 == 0,
			Poverty: pov[i%len(pov)], Insured: true}
		if c.VisitType == Chronic {
			c.ChronicCategory = "HT"
		}
		for j := 0; j < 20; j++ {
			c.Lines = append(c.Lines, Line{Code: fmt.Sprint(j), Class: []string{"drug", "material", "exam", "treatment"}[j%4],
				Category: []string{"A", "B", "C"}[j%3], Amount: Fen(1000 + 7919*i + 104729*j)})
		}
		claims[i] = c
	}
	accs := make([]Accumulators, len(claims))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := i % len(claims)
		r, err := Settle(p, claims[k], &accs[k])
		if err != nil {
			b.Fatal(err)
		}
		if i%len(claims) == 0 && i > 0 {
			accs[k] = Accumulators{} // keep the year young so every layer works
		} else {
			accs[k] = accs[k].Add(r.Delta, 1)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "visits/s")
}
