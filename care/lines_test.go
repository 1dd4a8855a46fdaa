package care

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestLineLimiter(t *testing.T) {
	ok := strings.Repeat("a", 10) + "\n" + strings.Repeat("b", 10) + "\nc"
	for _, r := range []io.Reader{strings.NewReader(ok), iotest.OneByteReader(strings.NewReader(ok))} {
		b, err := io.ReadAll(LineLimiter(r, 10))
		if err != nil || string(b) != ok {
			t.Errorf("lines of 10 bytes under a 10-byte limit: %q %v", b, err)
		}
	}
	long := "ok\n" + "fine\n" + strings.Repeat(",", 1000) + "\nmore"
	for _, r := range []io.Reader{strings.NewReader(long), iotest.OneByteReader(strings.NewReader(long))} {
		_, err := io.ReadAll(LineLimiter(r, 64))
		var le *LineTooLongError
		if !errors.As(err, &le) || le.Line != 3 || le.Max != 64 || !strings.Contains(err.Error(), "line 3") {
			t.Errorf("a 1000-byte third line under 64: %v", err)
		}
	}
}
