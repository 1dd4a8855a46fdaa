package web

import (
	"bytes"
	"fmt"
	"net/http"

	"countycare/audit"
	"countycare/care"
	"countycare/kpi"
)

// dashboardReport is GET /dashboard/report.pdf?period=&unit=: the printable
// report of a dashboard (issue 14 §1, "a printable monthly PDF report with
// the charts, in Chinese with correct fonts") — for a month, a quarter or a
// year; the unit's indicators by group with value, target and light, and a
// bar chart per indicator comparing the units below (the townships, when
// the unit has a single medical community below it), each bar coloured by
// its light and the target drawn as a line. Same scope as the page; the
// download is audited (kpi.export). Set in the fonts of the explanation of
// benefits (eob_pdf.go): Go Regular for Latin text and digits, the system
// CJK font for Chinese; without that font the report is 501 and says so.
func (s *Server) dashboardReport(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	if s.font == nil {
		return care.Errorf(care.EUNSUPPORTED, "settle.pdf_unavailable")
	}
	q := r.URL.Query()
	p, unit, err := s.dashQuery(q)
	if err != nil {
		return err
	}
	ctx := r.Context()
	b, err := s.Dashboard.Board(ctx, rc.Actor, unit, p)
	if err != nil {
		return err
	}
	below := b.Children
	if len(below) == 1 { // a county with one medical community: compare its townships
		if nb, err := s.Dashboard.Board(ctx, rc.Actor, below[0].Unit.ID, p); err == nil && len(nb.Children) > 0 {
			below = nb.Children
		}
	}
	T := func(k string, a ...any) string { return s.msgs.T(rc.Lang, k, a...) }
	t := newPDFText(s.font)
	pdf := t.pdf
	title := b.Unit.Name + " · " + T("kpi.report_title")
	pdf.SetTitle(title, true)
	pdf.SetCreator("countycare", true)
	pdf.SetAutoPageBreak(true, 15)
	pdf.AddPage()
	t.setSize(16)
	t.cell(0, 10, title, "", 1, "C")
	t.setSize(10)
	t.cell(0, 6, s.periodLabel(rc.Lang, p)+" · "+T("kpi.range", b.From.String(), b.To.String()), "", 1, "C")
	var green, amber, red int
	for _, row := range b.Rows {
		switch row.Light {
		case kpi.LightGreen:
			green++
		case kpi.LightAmber:
			amber++
		case kpi.LightRed:
			red++
		}
	}
	t.cell(0, 6, fmt.Sprintf("%s %d · %s %d · %s %d", T("kpi.light.green"), green, T("kpi.light.amber"), amber, T("kpi.light.red"), red), "", 1, "C")
	pdf.Ln(2)
	group := ""
	for _, row := range b.Rows {
		if row.Indicator.Group != group {
			group = row.Indicator.Group
			pdf.Ln(2)
			t.setSize(12)
			t.cell(0, 8, T("kpi.group."+group), "B", 1, "L")
			t.setSize(9)
			t.cell(80, 6, T("kpi.indicator"), "", 0, "L")
			t.cell(30, 6, T("kpi.value"), "", 0, "R")
			t.cell(30, 6, T("kpi.target"), "", 0, "R")
			t.cell(0, 6, T("kpi.status"), "", 1, "R")
		}
		t.setSize(10)
		target := T("kpi.no_target", b.Period.Year)
		if row.HasTarget {
			cmp := "≥ "
			if !row.Indicator.HigherIsBetter {
				cmp = "≤ "
			}
			target = cmp + s.targetLabel(rc.Lang, row)
		}
		light := ""
		if row.Light != kpi.LightNone {
			light = T("kpi.light." + string(row.Light))
		}
		t.cell(80, 6, T(row.Indicator.NameKey()), "", 0, "L")
		t.cell(30, 6, s.valueLabel(rc.Lang, row.Value), "", 0, "R")
		t.cell(30, 6, target, "", 0, "R")
		x, y := pdf.GetX(), pdf.GetY()
		t.cell(0, 6, light, "", 1, "R")
		if row.Light != kpi.LightNone {
			setLightFill(pdf.SetFillColor, row.Light)
			pdf.Rect(x+2, y+1.5, 3, 3, "F")
		}
	}
	if len(below) > 0 {
		pdf.AddPage()
		t.setSize(13)
		t.cell(0, 9, T("kpi.report_units"), "", 1, "L")
		for _, row := range b.Rows {
			if row.Indicator.Share() { // the bars are shares of 100 %; durations and the CMI are in the table
				s.reportBars(t, rc.Lang, row, below)
			}
		}
	}
	t.setSize(8)
	pdf.Ln(4)
	t.para(pdf.GetX(), 4, T("kpi.report_footer", s.Now().In(care.Shanghai).Format("2006-01-02 15:04"), rc.RequestID))
	if m := t.missingRunes(); m != "" {
		s.Log.Warn("web: PDF text without a glyph in either font (printed as boxes)", "runes", m, "request_id", rc.RequestID)
	}
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return care.Internal("web.dashboardReport", err)
	}
	ev := audit.New(ctx, rc.Actor, kpi.ActExport, 0)
	ev.Detail = fmt.Sprintf("pdf period=%s unit=%d units=%d", p, b.Unit.ID, len(below))
	s.Audit.Record(ctx, ev)
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`inline; filename="dashboard-%d-%s.pdf"`, b.Unit.ID, p))
	_, err = w.Write(buf.Bytes())
	return err
}

// reportBars draws one indicator across the units below as horizontal
// bars from 0 to 100 %: each unit's name, its bar in the colour of its
// light (grey without one), its value in words, and the target as a line.
func (s *Server) reportBars(t *pdfText, lang string, ind kpi.Row, below []kpi.Child) {
	pdf := t.pdf
	const nameW, barW, rowH = 45.0, 110.0, 5.5
	need := 10 + rowH*float64(len(below))
	if _, h := pdf.GetPageSize(); pdf.GetY()+need > h-20 {
		pdf.AddPage()
	}
	t.setSize(10)
	t.cell(0, 7, s.msgs.T(lang, ind.Indicator.NameKey()), "", 1, "L")
	t.setSize(8)
	left, top := pdf.GetX(), pdf.GetY()
	for i, c := range below {
		row := rowOf(c.Rows, ind.Indicator.ID)
		y := top + float64(i)*rowH
		pdf.SetXY(left, y)
		t.cell(nameW, rowH, c.Unit.Name, "", 0, "L")
		if row.Value.State == kpi.OK {
			setLightFill(pdf.SetFillColor, row.Light)
			pdf.Rect(left+nameW, y+1, barW*float64(min(row.Value.BP, 10000))/10000, rowH-2, "F")
		}
		pdf.SetXY(left+nameW+barW+2, y)
		t.cell(0, rowH, s.valueLabel(lang, row.Value), "", 0, "L")
	}
	pdf.SetDrawColor(120, 120, 120)
	pdf.Rect(left+nameW, top, barW, rowH*float64(len(below)), "D")
	if ind.HasTarget {
		x := left + nameW + barW*float64(ind.TargetBP)/10000
		pdf.SetDrawColor(30, 30, 30)
		pdf.SetDashPattern([]float64{1, 1}, 0)
		pdf.Line(x, top-1, x, top+rowH*float64(len(below))+1)
		pdf.SetDashPattern(nil, 0)
	}
	pdf.SetDrawColor(0, 0, 0)
	pdf.SetXY(left, top+rowH*float64(len(below))+2)
}

// setLightFill sets the fill colour of a traffic light (the page's
// palette; grey for none).
func setLightFill(set func(r, g, b int), l kpi.Light) {
	switch l {
	case kpi.LightGreen:
		set(46, 139, 87)
	case kpi.LightAmber:
		set(230, 160, 0)
	case kpi.LightRed:
		set(200, 50, 40)
	default:
		set(160, 160, 160)
	}
}
