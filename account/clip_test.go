package account

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestClipKeepsCharactersWhole(t *testing.T) {
	for _, tt := range []struct {
		in   string
		n    int
		want string
	}{
		{"Mozilla", 3, "Moz"},
		{"中文浏览器", 2, "中文"},
		{"中文", 5, "中文"},
		{"a\xffb\xc3", 10, "a\uFFFDb\uFFFD"},
		{"a\x00b\nc", 10, "a b c"},
		{strings.Repeat("器", 300), 200, strings.Repeat("器", 200)},
	} {
		got := clip(tt.in, tt.n)
		if got != tt.want || !utf8.ValidString(got) {
			t.Errorf("clip(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}
