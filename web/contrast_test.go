package web

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// cssColor is an sRGB colour with alpha.
type cssColor struct{ r, g, b, a float64 }

var (
	cssRuleRe = regexp.MustCompile(`([^{}]+)\{([^{}]*)\}`)
	cssVarRe  = regexp.MustCompile(`--([a-z0-9-]+)\s*:\s*([^;]+)`)
	cssHexRe  = regexp.MustCompile(`^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$`)
	cssRGBARe = regexp.MustCompile(`^rgba?\(\s*([0-9.]+)\s*,\s*([0-9.]+)\s*,\s*([0-9.]+)\s*(?:,\s*([0-9.]+)\s*)?\)$`)
	cssCommRe = regexp.MustCompile(`(?s)/\*.*?\*/`)
)

// parseCSSColor reads #rgb, #rrggbb, rgb(), rgba() and var(--x) (resolved in vars).
func parseCSSColor(v string, vars map[string]string) (cssColor, bool) {
	v = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "!important"))
	for i := 0; i < 4 && strings.HasPrefix(v, "var(--"); i++ {
		v = strings.TrimSpace(vars[strings.TrimSuffix(strings.TrimPrefix(v, "var(--"), ")")])
	}
	if v == "#fff" || v == "#ffffff" || v == "white" {
		return cssColor{1, 1, 1, 1}, true
	}
	if m := cssHexRe.FindStringSubmatch(v); m != nil {
		h := m[1]
		if len(h) == 3 {
			h = string([]byte{h[0], h[0], h[1], h[1], h[2], h[2]})
		}
		n, _ := strconv.ParseUint(h, 16, 32)
		return cssColor{float64(n>>16&255) / 255, float64(n>>8&255) / 255, float64(n&255) / 255, 1}, true
	}
	if m := cssRGBARe.FindStringSubmatch(v); m != nil {
		c := cssColor{a: 1}
		c.r, _ = strconv.ParseFloat(m[1], 64)
		c.g, _ = strconv.ParseFloat(m[2], 64)
		c.b, _ = strconv.ParseFloat(m[3], 64)
		c.r, c.g, c.b = c.r/255, c.g/255, c.b/255
		if m[4] != "" {
			c.a, _ = strconv.ParseFloat(m[4], 64)
		}
		return c, true
	}
	return cssColor{}, false
}

// contrastRatio is WCAG 2.1's (L1 + 0.05) / (L2 + 0.05) of two opaque colours.
func contrastRatio(x, y cssColor) float64 {
	lum := func(c cssColor) float64 {
		f := func(v float64) float64 {
			if v <= 0.03928 {
				return v / 12.92
			}
			return math.Pow((v+0.055)/1.055, 2.4)
		}
		return 0.2126*f(c.r) + 0.7152*f(c.g) + 0.0722*f(c.b)
	}
	a, b := lum(x), lum(y)
	if a < b {
		a, b = b, a
	}
	return (a + 0.05) / (b + 0.05)
}

// TestPaletteContrast checks every text colour of app.css against the
// background it is drawn on (WCAG 2.1 SC 1.4.3: at least 4.5:1; we hold
// large text to the same ratio): a rule that sets both is checked as a
// pair; a rule that sets only a text colour is checked against the page
// (--bg) and the cards (#fff), or the header (--brand) for the header's
// parts. A translucent background behind text is refused: its contrast
// depends on what is below it, which is how the role badge in the header
// came out at 4.09:1.
func TestPaletteContrast(t *testing.T) {
	b, err := staticFS.ReadFile("static/app.css")
	if err != nil {
		t.Fatal(err)
	}
	css := cssCommRe.ReplaceAllString(string(b), "")
	vars := map[string]string{}
	for _, m := range cssVarRe.FindAllStringSubmatch(css, -1) {
		vars[m[1]] = strings.TrimSpace(m[2])
	}
	white, _ := parseCSSColor("#fff", vars)
	page, ok1 := parseCSSColor("var(--bg)", vars)
	brand, ok2 := parseCSSColor("var(--brand)", vars)
	if !ok1 || !ok2 {
		t.Fatalf("app.css has no --bg or --brand colour")
	}
	inHeader := regexp.MustCompile(`header|\.who|\.menu|\.brand|\.lang`)
	checked := 0
	for _, m := range cssRuleRe.FindAllStringSubmatch(css, -1) {
		sel := strings.TrimSpace(m[1])
		if i := strings.LastIndex(sel, "\n"); i >= 0 {
			sel = strings.TrimSpace(sel[i+1:])
		}
		var fgv, bgv string
		for _, d := range strings.Split(m[2], ";") {
			k, v, ok := strings.Cut(d, ":")
			if !ok {
				continue
			}
			switch strings.TrimSpace(k) {
			case "color":
				fgv = strings.TrimSpace(v)
			case "background", "background-color":
				bgv = strings.Fields(strings.TrimSpace(v) + " x")[0]
				if strings.HasPrefix(strings.TrimSpace(v), "rgb") {
					bgv = strings.TrimSpace(v[:strings.Index(v, ")")+1])
				}
			}
		}
		if fgv == "" {
			continue
		}
		fg, ok := parseCSSColor(fgv, vars)
		if !ok {
			continue // inherit, currentColor
		}
		var bgs []cssColor
		var names []string
		if bgv != "" && bgv != "none" && bgv != "transparent" {
			bg, ok := parseCSSColor(bgv, vars)
			if !ok {
				t.Errorf("%s: cannot read background %q", sel, bgv)
				continue
			}
			if bg.a < 1 {
				t.Errorf("%s: text on a translucent background (%s): use a solid colour so its contrast is known", sel, bgv)
				continue
			}
			bgs, names = []cssColor{bg}, []string{bgv}
		} else if inHeader.MatchString(sel) {
			bgs, names = []cssColor{brand}, []string{"var(--brand)"}
		} else {
			bgs, names = []cssColor{page, white}, []string{"var(--bg)", "#fff"}
		}
		for i, bg := range bgs {
			checked++
			if r := contrastRatio(fg, bg); r < 4.5 {
				t.Errorf("%s: %s on %s is %.2f:1, below 4.5:1", sel, fgv, names[i], r)
			}
		}
	}
	if checked < 20 {
		t.Fatalf("only %d colour pairs found in app.css; is the parser broken?", checked)
	}
	t.Log(fmt.Sprintf("%d text/background pairs checked", checked))
}
