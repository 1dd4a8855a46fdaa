package web

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"
)

var (
	tplTagRe   = regexp.MustCompile(`(?s)<(/?)(label|input|select|textarea)\b((?:[^>{]|\{\{.*?\}\})*)>`)
	tplTypeRe  = regexp.MustCompile(`\btype="(hidden|submit|button|reset|image)"`)
	tplIDRe    = regexp.MustCompile(`\bid="([^"]+)"`)
	tplForRe   = regexp.MustCompile(`\bfor="([^"]+)"`)
	tplNamedRe = regexp.MustCompile(`\b(aria-label|aria-labelledby|title)="[^"]+"`)
)

// TestTemplateFieldsHaveNames checks every form field of every template
// (WCAG 2.1 SC 1.3.1, 4.1.2): an <input> (other than hidden and buttons),
// <select> or <textarea> sits inside a <label>, or a <label for> names its
// id, or it has an aria-label, aria-labelledby or title. The browser check
// (e2e TestAccessibilityAxe) sees only the pages it visits; this sees them all.
func TestTemplateFieldsHaveNames(t *testing.T) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil || len(names) == 0 {
		t.Fatalf("no templates: %v", err)
	}
	fields := 0
	for _, name := range names {
		b, _ := templateFS.ReadFile(name)
		src := string(b)
		fors := map[string]bool{}
		for _, m := range tplForRe.FindAllStringSubmatch(src, -1) {
			fors[m[1]] = true
		}
		depth := 0
		for _, m := range tplTagRe.FindAllStringSubmatchIndex(src, -1) {
			closing, tag, attrs := src[m[2]:m[3]] == "/", src[m[4]:m[5]], src[m[6]:m[7]]
			if tag == "label" {
				if closing {
					depth--
				} else {
					depth++
				}
				continue
			}
			if closing || tplTypeRe.MatchString(attrs) {
				continue
			}
			fields++
			if depth > 0 || tplNamedRe.MatchString(attrs) {
				continue
			}
			if id := tplIDRe.FindStringSubmatch(attrs); id != nil && fors[id[1]] {
				continue
			}
			line := 1 + strings.Count(src[:m[0]], "\n")
			t.Errorf("%s:%d: <%s%s> has no label", name, line, tag, attrs)
		}
	}
	if fields < 100 {
		t.Fatalf("only %d fields found; is the scanner broken?", fields)
	}
}
