package reading

import (
	"testing"

	"countycare/ecg"
	"countycare/internal/testfiles"
)

// BenchmarkECGParseAndPreRead is the figure of docs/benchmarks.md: one
// 10-s 12-lead resting ECG (the ECG Toolkit's example, 500 Hz, the same
// tracing in the three formats) read from its bytes as an upload is and
// pre-read with the 12-lead measurements; "preread" is the pre-read alone.
//
//	go test ./reading -run '^$' -bench ECGParseAndPreRead -cpu 1
func BenchmarkECGParseAndPreRead(b *testing.B) {
	cfg := ecg.DefaultPreReadConfig()
	for _, f := range []struct{ name, file string }{
		{"dicom", "ecgtoolkit-Example.dcm"}, {"scp", "ecgtoolkit-Example.scp"}, {"aecg", "ecgtoolkit-Example.xml"},
	} {
		data := testfiles.Read(b, "ecg", "formats", f.file)
		format := DetectECGFormat(data)
		b.Run(f.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				rec, err := readOneFileECG(format, data)
				if err != nil {
					b.Fatal(err)
				}
				if cfg.PreReadRecord(rec).Intervals == nil {
					b.Fatal("no measurements")
				}
			}
		})
	}
	rec, err := readOneFileECG(FormatSCP, testfiles.Read(b, "ecg", "formats", "ecgtoolkit-Example.scp"))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("preread", func(b *testing.B) {
		for b.Loop() {
			cfg.PreReadRecord(rec)
		}
	})
}
