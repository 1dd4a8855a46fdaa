package web

import (
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/xuri/excelize/v2"

	"countycare/care"
	"countycare/kpi"
)

// GET /dashboard/units/{id}/records/export?format=csv|xlsx&indicator=&period=
// [&missing=1][&direction=][&poor=1]: the whole list behind a figure —
// every record the viewer may see for that figure, unit and period, in the
// page's order, not only a page (issue 14 §1, "every table … as XLSX and
// CSV") — streamed: the store's rows are named and written a batch at a
// time (kpi.Service.RecordsExport), so the server holds a batch, not the
// list. Identity numbers masked as on the page, column headers from the
// message catalogue in the reader's language; scope and roles as the page
// (a unit outside the scope is 404, audited); one audit row with the row
// count (kpi.ActRecordsExport). docs/dashboard.md.
func (s *Server) dashboardRecordsExport(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	q := r.URL.Query()
	format, err := exportFormat(q)
	if err != nil {
		return err
	}
	unit, p, _, f, err := s.recordsQuery(r)
	if err != nil {
		return err
	}
	if q.Get("indicator") == "points" {
		return care.Invalid([]care.FieldError{{Field: "indicator", Key: "kpi.records.no_export"}})
	}
	var out recordWriter
	var columns func(recordRow) []string
	_, err = s.Dashboard.RecordsExport(r.Context(), rc.Actor, unit, q.Get("indicator"), p, f, func(rp *kpi.RecordPage, recs []kpi.Record) error {
		v := recordsViewOf(rp)
		if out == nil { // the first batch (an empty list: none): the list is in scope
			var head []string
			head, columns = s.recordColumns(rc.Lang, v)
			name := fmt.Sprintf("records-%d-%s-%s", rp.Unit.ID, rp.Indicator.ID, rp.Period)
			wr, err := newRecordWriter(w, format, name, s.msgs.T(rc.Lang, "kpi.records.title"))
			if err != nil {
				return err
			}
			if err := wr.row(head); err != nil {
				return err
			}
			out = wr
		}
		for _, rec := range recs {
			if err := out.row(columns(s.recordRowOf(rc.Lang, v, rec))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && out == nil {
		return err // nothing written yet: the error page (404, 422 …)
	}
	if err != nil {
		s.Log.Error("web: records export stopped", "err", err)
		return nil // the response has begun: the client sees a cut file
	}
	return out.close()
}

// recordColumns are the export's column headers for a kind of list (v's
// flags) and a record's cells under them: the page's columns, one fact a
// cell, in the reader's language.
func (s *Server) recordColumns(lang string, v *recordsView) ([]string, func(recordRow) []string) {
	t := func(k string, a ...any) string { return s.msgs.T(lang, k, a...) }
	yes := func(b bool) string {
		if b {
			return t("kpi.records.yes")
		}
		return t("kpi.records.no")
	}
	flag := func(b bool) string {
		if b {
			return t("kpi.records.flag_yes")
		}
		return t("kpi.records.flag_no")
	}
	head := []string{t("kpi.records.patient"), t("kpi.records.id_number")}
	var cells func(r recordRow) []string
	switch {
	case v.Rx:
		head = append(head, t("kpi.records.signed"), t("kpi.records.rx_status"), t("kpi.records.rx_classes"), t("kpi.records.counted"))
		cells = func(r recordRow) []string { return []string{tsOf(r.Sent), r.Status, r.Classes, yes(r.Counted)} }
	case v.TAT:
		head = append(head, t("kpi.records.tat_start"), t("kpi.records.tat_end"), t("kpi.records.modality"), t("kpi.records.tat_minutes"), t("kpi.records.in_time"), t("kpi.records.why"))
		cells = func(r recordRow) []string {
			return []string{tsOf(r.Sent), tsOf(r.Ended), r.Modality, strconv.Itoa(r.WaitMinutes), yes(r.Counted), r.Why}
		}
	case v.Contracts:
		head = append(head, t("kpi.records.contract_start"), t("kpi.records.contract_end"), t("kpi.records.key_group"))
		cells = func(r recordRow) []string {
			return []string{r.ContractStart.String(), r.ContractEnd.String(), flag(r.Key)}
		}
	case v.Services:
		head = append(head, t("kpi.records.service"), t("kpi.records.contract_start"), t("kpi.records.contract_end"), t("kpi.records.delivered_n"), t("kpi.records.due_n"), t("kpi.records.counted"), t("kpi.records.why"))
		cells = func(r recordRow) []string {
			return []string{r.Where, r.ContractStart.String(), r.ContractEnd.String(), strconv.FormatInt(r.Part, 10), strconv.FormatInt(r.Whole, 10), yes(r.Counted), r.Why}
		}
	case v.Bills:
		head = append(head, t("kpi.records.visit_date"), t("kpi.records.visit_kind"), t("kpi.records.bill_yuan"), t(v.P.Indicator.Numerator), t("kpi.records.share"))
		cells = func(r recordRow) []string {
			return []string{r.VisitDate.String(), r.Where, r.BillYuan, r.PartYuan, pctBP(r.ShareBP)}
		}
	case v.Alerts:
		head = append(head, t("kpi.records.raised"), t("kpi.records.finding"), t("kpi.records.ack_minutes"), t("kpi.records.late_minutes"), t("kpi.records.ack_in_time"), t("kpi.records.why"))
		cells = func(r recordRow) []string {
			ack := ""
			if r.WaitMinutes > 0 || r.Why == "" {
				ack = strconv.Itoa(r.WaitMinutes)
			}
			return []string{tsOf(r.Sent), r.Finding, ack, strconv.Itoa(r.LateMinutes), yes(r.Counted), r.Why}
		}
	case v.Referrals:
		head = append(head, t("kpi.records.first_sent"), t("kpi.records.col_direction"), t("kpi.records.receiver"), t("kpi.records.status"), t("kpi.records.out_of_county"), t("kpi.records.poor"), t("kpi.records.counted"))
		cells = func(r recordRow) []string {
			return []string{tsOf(r.Sent), r.Where, r.ToName, r.Status, flag(r.OutOfCounty), flag(r.Poor), yes(r.Counted)}
		}
	case v.Consult:
		head = append(head, t("kpi.records.sent"), t("kpi.records.wait_minutes"), t("kpi.records.in_time"), t("kpi.records.why"))
		cells = func(r recordRow) []string {
			wait := ""
			if r.WaitMinutes > 0 {
				wait = strconv.Itoa(r.WaitMinutes)
			}
			return []string{tsOf(r.Sent), wait, yes(r.Counted), r.Why}
		}
	default: // the chronic-care patients
		head = append(head, t("kpi.records.last_visit"), t("kpi.records.visits_n"), t("kpi.records.face_to_face_n"), t("kpi.records.last_bp"), t("kpi.records.last_fpg"), t("kpi.records.counted"), t("kpi.records.why"))
		cells = func(r recordRow) []string {
			last, bp, fpg := "", "", ""
			if !r.LastVisit.IsZero() {
				last = r.LastVisit.String()
			}
			if r.SBP > 0 {
				bp = fmt.Sprintf("%d/%d", r.SBP, r.DBP)
			}
			if r.FPG > 0 {
				fpg = axisValue(r.FPG, 10)
			}
			return []string{last, strconv.Itoa(r.Visits), strconv.Itoa(r.FaceToFace), bp, fpg, yes(r.Counted), r.Why}
		}
	}
	return head, func(r recordRow) []string { return append([]string{r.Name, r.IDMasked}, cells(r)...) }
}

// tsOf is an instant as the pages show it: China time to the minute.
func tsOf(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(care.Shanghai).Format("2006-01-02 15:04")
}

// recordWriter writes an export's rows as they come.
type recordWriter interface {
	row(cells []string) error
	close() error
}

// newRecordWriter starts an export's response: the headers, then a CSV
// (UTF-8 with a byte-order mark, which Excel needs) written to w row by
// row, or an XLSX workbook (one sheet) whose rows excelize's stream writer
// keeps in a temporary file past 16 MiB and writes to w at the end.
func newRecordWriter(w http.ResponseWriter, format, name, sheet string) (recordWriter, error) {
	if format == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.csv"`)
		if _, err := io.WriteString(w, "\ufeff"); err != nil {
			return nil, err
		}
		return &csvRecords{w: csv.NewWriter(w)}, nil
	}
	f := excelize.NewFile()
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		f.Close()
		return nil, err
	}
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		f.Close()
		return nil, err
	}
	w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.xlsx"`)
	return &xlsxRecords{w: w, f: f, sw: sw}, nil
}

// csvRecords writes an export as CSV.
type csvRecords struct {
	w *csv.Writer
	n int
}

func (c *csvRecords) row(cells []string) error {
	if err := c.w.Write(cells); err != nil {
		return err
	}
	if c.n++; c.n%exportFlushRows == 0 {
		c.w.Flush()
		return c.w.Error()
	}
	return nil
}

func (c *csvRecords) close() error {
	c.w.Flush()
	return c.w.Error()
}

// exportFlushRows is how often a CSV export is flushed to the client.
const exportFlushRows = 500

// xlsxRecords writes an export as an XLSX workbook; numbers (counts,
// yuan) are written as numbers, so that a spreadsheet sums them.
type xlsxRecords struct {
	w  io.Writer
	f  *excelize.File
	sw *excelize.StreamWriter
	n  int
}

func (x *xlsxRecords) row(cells []string) error {
	x.n++
	cell, _ := excelize.CoordinatesToCellName(1, x.n)
	return x.sw.SetRow(cell, xlsxCells(cells, x.n > 1))
}

func (x *xlsxRecords) close() error {
	defer x.f.Close()
	if err := x.sw.Flush(); err != nil {
		return err
	}
	return x.f.Write(x.w)
}
