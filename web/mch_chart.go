package web

import (
	"fmt"
	"html/template"
	"math"
	"strings"

	"countycare/childhealth"
)

// growthChart is a child's growth chart: weight-for-age and
// length/height-for-age against the WHO curves at −3, −2, 0, +2 and +3 SD,
// drawn as inline SVG that scales to the page's width.
type growthChart struct {
	Weight, Length template.HTML
}

// chartDays is the x-axis in days for a child: to 2 years, or to half a
// year past the last check, at most 6 years.
func chartDays(checks []childhealth.Check) float64 {
	max := 730.0
	for _, k := range checks {
		if d := float64(k.AgeDays) + 183; d > max {
			max = d
		}
	}
	return math.Min(max, 2191)
}

func (s *Server) growthChart(lang string, c *childhealth.Child, checks []childhealth.Check) *growthChart {
	days := chartDays(checks)
	var wpts, lpts [][2]float64
	for _, k := range checks {
		if k.WeightG > 0 {
			wpts = append(wpts, [2]float64{float64(k.AgeDays), float64(k.WeightG) / 1000})
		}
		if k.LengthMM > 0 {
			lpts = append(lpts, [2]float64{float64(k.AgeDays), float64(k.LengthMM) / 10})
		}
	}
	t := func(k string) string { return s.msgs.T(lang, k) }
	return &growthChart{
		Weight: svgChart(childhealth.WeightForAge, c.Sex, days, wpts, t("mch.chart_weight"), t("mch.chart_months"), "kg"),
		Length: svgChart(childhealth.HeightForAge, c.Sex, days, lpts, t("mch.chart_length"), t("mch.chart_months"), "cm"),
	}
}

// svgChart draws ind's SD curves for sex over [0, days] with the child's
// points. Text is escaped; the SVG has a title for screen readers.
func svgChart(ind childhealth.Indicator, sex childhealth.Sex, days float64, pts [][2]float64, title, xLabel, unit string) template.HTML {
	const w, h, left, right, top, bottom = 360.0, 240.0, 34.0, 8.0, 10.0, 30.0
	step := math.Max(1, math.Round(days/90))
	zs := []float64{-3, -2, 0, 2, 3}
	curves := make([][][2]float64, len(zs))
	ymin, ymax := math.Inf(1), math.Inf(-1)
	for i, z := range zs {
		curves[i] = childhealth.Curve(ind, sex, z, 0, days, step)
		for _, p := range curves[i] {
			ymin, ymax = math.Min(ymin, p[1]), math.Max(ymax, p[1])
		}
	}
	for _, p := range pts {
		ymin, ymax = math.Min(ymin, p[1]), math.Max(ymax, p[1])
	}
	if math.IsInf(ymin, 0) {
		return ""
	}
	ymin, ymax = math.Floor(ymin), math.Ceil(ymax)
	px := func(x float64) float64 { return left + x/days*(w-left-right) }
	py := func(y float64) float64 { return h - bottom - (y-ymin)/(ymax-ymin)*(h-top-bottom) }
	var b strings.Builder
	esc := template.HTMLEscapeString
	fmt.Fprintf(&b, `<svg class="growth" viewBox="0 0 %g %g" role="img" aria-label="%s"><title>%s</title>`, w, h, esc(title), esc(title))
	fmt.Fprintf(&b, `<rect x="%g" y="%g" width="%g" height="%g" class="frame"/>`, left, top, w-left-right, h-top-bottom)
	// y ticks: about five
	yStep := math.Max(1, math.Round((ymax-ymin)/5))
	for y := ymin; y <= ymax+1e-9; y += yStep {
		fmt.Fprintf(&b, `<line x1="%g" x2="%g" y1="%.1f" y2="%.1f" class="grid"/><text x="%g" y="%.1f" class="tick" text-anchor="end">%g</text>`,
			left, w-right, py(y), py(y), left-3, py(y)+3, y)
	}
	// x ticks every 6 months (12 past 3 years)
	mStep := 6.0
	if days > 1100 {
		mStep = 12
	}
	for m := 0.0; m*30.4375 <= days+1; m += mStep {
		x := px(m * 30.4375)
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%g" y2="%g" class="grid"/><text x="%.1f" y="%g" class="tick" text-anchor="middle">%g</text>`,
			x, x, top, h-bottom, x, h-bottom+11, m)
	}
	fmt.Fprintf(&b, `<text x="%g" y="%g" class="axis" text-anchor="middle">%s</text>`, (left+w-right)/2, h-4, esc(xLabel))
	fmt.Fprintf(&b, `<text x="4" y="%g" class="axis">%s</text>`, top+8, esc(unit))
	for i, c := range curves {
		var d strings.Builder
		for j, p := range c {
			if j == 0 {
				d.WriteString("M")
			} else {
				d.WriteString(" L")
			}
			fmt.Fprintf(&d, "%.1f %.1f", px(p[0]), py(p[1]))
		}
		cls := "sd"
		switch math.Abs(zs[i]) {
		case 0:
			cls = "sd0"
		case 2:
			cls = "sd2"
		}
		fmt.Fprintf(&b, `<path d="%s" class="%s"/>`, d.String(), cls)
	}
	var d strings.Builder
	for j, p := range pts {
		if j > 0 {
			d.WriteString(" L")
		} else {
			d.WriteString("M")
		}
		fmt.Fprintf(&d, "%.1f %.1f", px(p[0]), py(p[1]))
	}
	if len(pts) > 1 {
		fmt.Fprintf(&b, `<path d="%s" class="child"/>`, d.String())
	}
	for _, p := range pts {
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" class="point"/>`, px(p[0]), py(p[1]))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
