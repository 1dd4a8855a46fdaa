package care

import (
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// SafeFileName makes an uploaded file's name safe to store and show: the
// base name only, valid UTF-8 (PostgreSQL refuses anything else), no
// control characters, at most 100 characters, never empty.
func SafeFileName(name string) string {
	name = strings.ToValidUTF8(filepath.Base(strings.TrimSpace(name)), "\uFFFD")
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, name)
	if utf8.RuneCountInString(name) > 100 {
		name = string([]rune(name)[:100])
	}
	if name == "" || name == "." || name == "/" || name == ".." {
		name = "file"
	}
	return name
}
