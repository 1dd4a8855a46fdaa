package web

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"

	"countycare/audit"
	"countycare/care"
	"countycare/kpi"
)

// dashboardExport is GET /dashboard/export?format=csv|xlsx&period=&unit=:
// the dashboard's numbers for the analyst's spreadsheet (issue 14 §1,
// "every table … as XLSX and CSV"), in the reader's language, within the
// same scope as the page (a unit outside it is 404, audited by
// kpi.Service.Board). One row per unit and indicator: the unit itself
// first, then each unit below; the value, its numerator and denominator,
// the county's target and the light. XLSX has two sheets: that long table,
// and a wide one (a unit per row, an indicator per column) to chart.
// Each export is audited with its format, period, unit and row count.
func (s *Server) dashboardExport(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	q := r.URL.Query()
	format, err := exportFormat(q)
	if err != nil {
		return err
	}
	p, unit, err := s.dashQuery(q)
	if err != nil {
		return err
	}
	b, err := s.Dashboard.Board(r.Context(), rc.Actor, unit, p)
	if err != nil {
		return err
	}
	t := func(k string, a ...any) string { return s.msgs.T(rc.Lang, k, a...) }
	long := [][]string{{t("kpi.unit"), t("kpi.export_level"), t("kpi.export_group"), t("kpi.indicator"), t("kpi.value"),
		t("kpi.export_numerator"), t("kpi.export_denominator"), t("kpi.target"), t("kpi.status")}}
	units := append([]kpi.Child{{Unit: b.Unit, Rows: b.Rows}}, b.Children...)
	for _, c := range units {
		for _, row := range c.Rows {
			long = append(long, s.exportRow(rc.Lang, c, row))
		}
	}
	ev := audit.New(r.Context(), rc.Actor, kpi.ActExport, 0)
	ev.Detail = fmt.Sprintf("%s period=%s unit=%d rows=%d", format, p, b.Unit.ID, len(long)-1)
	s.Audit.Record(r.Context(), ev)
	name := fmt.Sprintf("dashboard-%d-%s", b.Unit.ID, p)
	if format == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.csv"`)
		io.WriteString(w, "\ufeff") // Excel reads UTF-8 only with a BOM
		cw := csv.NewWriter(w)
		cw.WriteAll(long)
		return cw.Error()
	}
	wide := [][]string{{t("kpi.unit")}}
	for _, row := range b.Rows {
		wide[0] = append(wide[0], t(row.Indicator.NameKey()))
	}
	for _, c := range units {
		line := []string{c.Unit.Name}
		for _, row := range b.Rows {
			line = append(line, s.valueLabel(rc.Lang, rowOf(c.Rows, row.Indicator.ID).Value))
		}
		wide = append(wide, line)
	}
	x, err := xlsxOf([]sheet{{t("kpi.export_sheet_long"), long}, {t("kpi.export_sheet_wide"), wide}})
	if err != nil {
		return care.Internal("web.dashboardExport", err)
	}
	w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.xlsx"`)
	_, err = w.Write(x)
	return err
}

// exportRow is one unit's indicator as the export writes it: text through
// the catalogue and formatters, counts as digits, nothing left as a code.
func (s *Server) exportRow(lang string, c kpi.Child, row kpi.Row) []string {
	t := func(k string, a ...any) string { return s.msgs.T(lang, k, a...) }
	num, den, target, light := "", "", "", ""
	if row.Value.State != kpi.NoData {
		num, den = strconv.Itoa(row.Value.Rate.Num), strconv.Itoa(row.Value.Rate.Den)
		if row.Value.Money { // fees: yuan, as the page shows them
			num, den = yuan(int64(row.Value.Rate.Num)), yuan(int64(row.Value.Rate.Den))
		}
		if row.Value.Index { // Σ relative weight, kept × 10000
			num = strconv.FormatFloat(float64(row.Value.Rate.Num)/10000, 'f', 4, 64)
		}
	}
	if row.HasTarget {
		target = s.targetLabel(lang, row)
	}
	if row.Light != kpi.LightNone {
		light = t("kpi.light." + string(row.Light))
	}
	return []string{csvSafe(c.Unit.Name), t("kind." + string(c.Unit.Kind)), t("kpi.group." + row.Indicator.Group), t(row.Indicator.NameKey()),
		s.valueLabel(lang, row.Value), num, den, target, light}
}

// sheet is one worksheet of an XLSX export: its name and rows of text.
type sheet struct {
	Name string
	Rows [][]string
}

// xlsxOf writes sheets as an XLSX workbook (excelize). Cells that read as
// numbers are written as numbers, so that a spreadsheet sums them.
func xlsxOf(sheets []sheet) ([]byte, error) {
	f := excelize.NewFile()
	defer f.Close()
	for i, sh := range sheets {
		if i == 0 {
			if err := f.SetSheetName("Sheet1", sh.Name); err != nil {
				return nil, err
			}
		} else if _, err := f.NewSheet(sh.Name); err != nil {
			return nil, err
		}
		sw, err := f.NewStreamWriter(sh.Name)
		if err != nil {
			return nil, err
		}
		for r, row := range sh.Rows {
			cell, _ := excelize.CoordinatesToCellName(1, r+1)
			if err := sw.SetRow(cell, xlsxCells(row, r > 0)); err != nil {
				return nil, err
			}
		}
		if err := sw.Flush(); err != nil {
			return nil, err
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// xlsxCells are a row's cells for excelize: in a row of data (not the
// headers), cells that read as numbers as numbers (counts, yuan); an empty
// cell empty, not an empty string.
func xlsxCells(row []string, data bool) []any {
	cells := make([]any, len(row))
	for c, v := range row {
		n, err := strconv.Atoi(v)
		x, ferr := strconv.ParseFloat(v, 64)
		switch {
		case v == "":
			cells[c] = nil
		case err == nil && data:
			cells[c] = n
		case ferr == nil && data && strings.Contains(v, "."): // yuan
			cells[c] = x
		default:
			cells[c] = v
		}
	}
	return cells
}

// exportFormat is an export's format=: csv or xlsx (EINVALID otherwise).
func exportFormat(q url.Values) (string, error) {
	if f := q.Get("format"); f == "csv" || f == "xlsx" {
		return f, nil
	}
	return "", care.Invalid([]care.FieldError{{Field: "format", Key: "kpi.export_format"}})
}
