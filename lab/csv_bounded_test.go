package lab_test

import (
	"countycare/internal/memtest"
	"errors"
	"strings"
	"testing"

	"countycare/lab"
)

// TestParseCSVLongLine: a 900 KiB line of commas is refused naming its
// line, after allocating less than 12 MiB (150 MiB as fields).
func TestParseCSVLongLine(t *testing.T) {
	var err error
	data := "code,value,unit,collected_at\n" + memtest.CommaLine(900<<10)
	n := memtest.AllocatedBy(func() { _, err = lab.ParseCSV(strings.NewReader(data)) })
	if !errors.Is(err, lab.ErrFormat) || !strings.Contains(err.Error(), "line 2 is longer than") {
		t.Errorf("a long line: %v", err)
	}
	if n > 12<<20 {
		t.Errorf("a long line: allocated %d bytes; bound 12 MiB", n)
	}
}
