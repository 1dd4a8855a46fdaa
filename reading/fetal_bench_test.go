package reading

import (
	"strings"
	"testing"
)

// BenchmarkFetalHour parses and analyses a one-hour trace at 4 Hz (14,400
// samples), what a clinic's monitor exports for a long session.
//
//	go test ./reading -run '^$' -bench FetalHour
func BenchmarkFetalHour(b *testing.B) {
	data := ctgCSV(60, wobble(140))
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tr, err := ParseFetalCSV(strings.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		AnalyseFetal(tr)
	}
}
