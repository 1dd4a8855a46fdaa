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

var (
	tplScrollRe = regexp.MustCompile(`<(div|pre)\b[^>]*\bclass="(?:[^"]*\s)?(scroll|sample)(?:\s[^"]*)?"[^>]*>`)
	tplRegionRe = regexp.MustCompile(`\btabindex="0"`)
	tplRoleRe   = regexp.MustCompile(`\brole="region"`)
	tplLabelRe  = regexp.MustCompile(`\baria-label(ledby)?="[^"]+"`)
)

// TestScrollRegionsReachableByKeyboard checks that every container that
// scrolls sideways (class "scroll" around wide tables, "sample" around
// preformatted text) can be focused and scrolled with the arrow keys and is
// announced: tabindex="0", role="region" and an aria-label (WCAG 2.1 SC
// 2.1.1; axe's scrollable-region-focusable finds only the ones that
// overflow on the screen it runs on).
func TestScrollRegionsReachableByKeyboard(t *testing.T) {
	names, _ := fs.Glob(templateFS, "templates/*.html")
	found := 0
	for _, name := range names {
		b, _ := templateFS.ReadFile(name)
		for _, tag := range tplScrollRe.FindAllString(string(b), -1) {
			found++
			if !tplRegionRe.MatchString(tag) || !tplRoleRe.MatchString(tag) || !tplLabelRe.MatchString(tag) {
				t.Errorf("%s: %s needs tabindex=\"0\" role=\"region\" and an aria-label", name, tag)
			}
		}
	}
	if found < 20 {
		t.Fatalf("only %d scroll containers found; is the scanner broken?", found)
	}
}

// TestFieldErrorsUseThePartial keeps every per-field message on the shared
// "field-error" partial, which gives it the id its field's aria-describedby
// points to ({{$.Invalid "field"}} in the field's tag); a hand-written
// <p class="field-error"> after {{with index .Fields …}} has no id. The
// prescription lines' own errors (.DrugErr …) carry ids by hand instead.
func TestFieldErrorsUseThePartial(t *testing.T) {
	raw := regexp.MustCompile(`\{\{(?:with index \$?\.Fields[^}]*|(?:with|if) \.\w+Err)\}\}\s*<[a-z]+ class="field-error">`)
	names, _ := fs.Glob(templateFS, "templates/*.html")
	partials := 0
	for _, name := range names {
		b, _ := templateFS.ReadFile(name)
		src := string(b)
		partials += strings.Count(src, `{{template "field-error"`)
		for _, m := range raw.FindAllStringIndex(src, -1) {
			t.Errorf("%s:%d: a field message without the \"field-error\" partial", name, 1+strings.Count(src[:m[0]], "\n"))
		}
	}
	if partials < 100 {
		t.Fatalf("only %d uses of the partial", partials)
	}
}
