package lab

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkImportFile parses and checks a full import file (MaxImportRows
// results).
//
//	go test ./lab -run '^$' -bench ImportFile
func BenchmarkImportFile(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("code,value,unit,ref_range,collected_at,doctor,device\n")
	codes := []string{"K,4.%d,mmol/L,3.5-5.1", "GLU,%d2,mg/dL,70-110", "2951-2,14%d,mmol/L,137-147", "HGB,1%d.5,g/dL,11-15"}
	for i := 0; i < MaxImportRows; i++ {
		fmt.Fprintf(&sb, codes[i%4]+",2026-11-29 08:%02d,王医生,Mindray BS-240\n", i%10, i%60)
	}
	data := sb.String()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rows, err := ParseCSV(strings.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range rows {
			if _, fs := Check(r.Input, now, ""); len(fs) != 0 {
				b.Fatal(fs)
			}
		}
	}
}
