package resident_test

import (
	"countycare/internal/memtest"
	"strings"
	"testing"

	"countycare/care"
	"countycare/resident"
)

// TestImportLongLine: a 3 MiB line of commas (in the header or a row) is
// refused naming its line, after allocating less than 16 MiB (it took
// hundreds of MiB as 3 million fields).
func TestImportLongLine(t *testing.T) {
	for _, c := range []struct {
		data string
		line int
	}{
		{"name,household\n" + memtest.CommaLine(3<<20), 2},
		{memtest.CommaLine(3<<20) + "张三,1\n", 1},
	} {
		var fs []care.FieldError
		var err error
		n := memtest.AllocatedBy(func() { _, fs, err = resident.ParseImport(strings.NewReader(c.data)) })
		if err != nil || len(fs) != 1 || fs[0].Key != "import.line_too_long" || fs[0].Args[0] != c.line || fs[0].Field != "file" {
			t.Errorf("line %d of commas: %v %+v", c.line, err, fs)
		}
		if n > 16<<20 {
			t.Errorf("line %d of commas: allocated %d bytes; bound 16 MiB", c.line, n)
		}
	}
}
