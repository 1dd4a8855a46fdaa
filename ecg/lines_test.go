package ecg

import (
	"countycare/internal/memtest"
	"errors"
	"strings"
	"testing"
)

// TestCSVLongLine: a 3 MiB line of commas in an ECG or beats CSV is a
// format error naming the line, found before it becomes 3 million fields
// (which allocated hundreds of MiB): under 24 MiB allocated.
func TestCSVLongLine(t *testing.T) {
	commas := strings.Repeat(",", 3<<20)
	for name, read := range map[string]func(string) error{
		"time,I":     func(s string) error { _, err := ReadCSV(strings.NewReader(s)); return err },
		"sample,pvc": func(s string) error { _, err := ReadBeatsCSV(strings.NewReader(s)); return err },
	} {
		for _, c := range []struct {
			data string
			line string
		}{{commas + "\n1,2\n", "line 1 "}, {name + "\n0,1\n" + commas + "\n", "line 3 "}} {
			var err error
			n := memtest.AllocatedBy(func() { err = read(c.data) })
			if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), c.line) || !strings.Contains(err.Error(), "longer than") {
				t.Errorf("%s, %s: %v", name, c.line, err)
			}
			if n > 24<<20 {
				t.Errorf("%s, %s: allocated %d bytes; bound 24 MiB", name, c.line, n)
			}
		}
	}
}
