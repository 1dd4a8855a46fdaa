package reading_test

import (
	"countycare/internal/memtest"
	"errors"
	"strings"
	"testing"

	"countycare/reading"
)

// TestFetalCSVLongLine: a 3 MiB line of commas is refused naming its
// line, after allocating less than 24 MiB (480 MiB as fields).
func TestFetalCSVLongLine(t *testing.T) {
	var err error
	data := "time,fhr\n0,140\n" + memtest.CommaLine(3<<20)
	n := memtest.AllocatedBy(func() { _, err = reading.ParseFetalCSV(strings.NewReader(data)) })
	if !errors.Is(err, reading.ErrFetalFormat) || !strings.Contains(err.Error(), "line 3 is longer than") {
		t.Errorf("a long line: %v", err)
	}
	if n > 24<<20 {
		t.Errorf("a long line: allocated %d bytes; bound 24 MiB", n)
	}
}
