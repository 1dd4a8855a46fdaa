package care

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSafeFileName(t *testing.T) {
	for in, want := range map[string]string{"../../etc/passwd": "passwd", "a\xffb.csv": "a\uFFFDb.csv", "心电图\n.png": "心电图.png", "": "file", "..": "file"} {
		if got := SafeFileName(in); got != want {
			t.Errorf("SafeFileName(%q) = %q, want %q", in, got, want)
		}
	}
	if got := SafeFileName(strings.Repeat("长", 300)); utf8.RuneCountInString(got) != 100 || !utf8.ValidString(got) {
		t.Errorf("long name: %d runes", utf8.RuneCountInString(got))
	}
}
