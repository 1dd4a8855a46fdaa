package web

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"strconv"

	"github.com/go-pdf/fpdf"

	"countycare/care"
)

// DefaultFontPath is Debian's fonts-droid-fallback font, which covers
// Chinese and Latin; the PDF explanation of benefits needs it.
const DefaultFontPath = "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"

// loadFont reads the PDF font once; a missing font disables PDFs (the
// printable page still works) and says so in the log.
func (s *Server) loadFont() {
	path := s.cfg.FontPath
	if path == "" {
		path = DefaultFontPath
	}
	b, err := os.ReadFile(path)
	if err != nil {
		s.Log.Warn("web: no font for PDF explanations of benefits; install fonts-droid-fallback", "path", path, "err", err)
		return
	}
	s.font = b
}

// settlementPDF writes the explanation of benefits (费用结算单) as a PDF in
// the reader's language: header, the bill's totals, every layer with its
// explanation, the patient's share.
func (s *Server) settlementPDF(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	if s.font == nil {
		return care.Errorf(care.EUNSUPPORTED, "settle.pdf_unavailable")
	}
	ev, err := s.eobData(r, rc)
	if err != nil {
		return err
	}
	T := func(k string, a ...any) string { return s.msgs.T(rc.Lang, k, a...) }
	st := ev.S
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.AddUTF8FontFromBytes("cjk", "", s.font)
	pdf.SetTitle(T("settle.eob"), true)
	pdf.SetCreator("countycare", true)
	pdf.AddPage()
	pdf.SetFont("cjk", "", 16)
	pdf.CellFormat(0, 10, T("settle.eob"), "", 1, "C", false, 0, "")
	pdf.SetFont("cjk", "", 10)
	row := func(label, value string) {
		pdf.CellFormat(45, 7, label, "", 0, "L", false, 0, "")
		pdf.MultiCell(0, 7, value, "", "L", false)
	}
	row(T("resident.name"), ev.Resident.R.Name)
	row(T("resident.record_number"), ev.Resident.R.RecordNumber)
	row(T("resident.id_number"), ev.Resident.IDNumber)
	row(T("settle.institution"), ev.Institution)
	row(T("settle.visit_id"), st.VisitID+"  "+st.Claim.Date+"  "+T("settle.code.visit."+st.Claim.VisitType))
	if st.Claim.Poverty != "" {
		row(T("resident.poverty"), T("settle.code.poverty."+st.Claim.Poverty))
	}
	row(T("settle.status"), T("settle.status."+st.Status))
	pdf.Ln(3)
	pdf.SetFont("cjk", "", 12)
	pdf.CellFormat(0, 8, fmt.Sprintf("%s %s %s   %s %s %s", T("settle.total"), st.Result.Total, T("settle.yuan"), T("settle.eligible"), st.Result.Eligible, T("settle.yuan")), "", 1, "L", false, 0, "")
	for _, l := range st.Result.Layers {
		pdf.SetFont("cjk", "", 11)
		pdf.CellFormat(120, 8, T("settle.layer."+l.Layer), "T", 0, "L", false, 0, "")
		pdf.CellFormat(0, 8, l.Paid.String()+" "+T("settle.yuan"), "T", 1, "R", false, 0, "")
		pdf.SetFont("cjk", "", 9)
		for _, step := range l.Steps {
			pdf.SetX(18)
			pdf.MultiCell(0, 5, s.stepText(rc.Lang, step), "", "L", false)
		}
	}
	pdf.SetFont("cjk", "", 13)
	pdf.CellFormat(120, 10, T("settle.patient"), "TB", 0, "L", false, 0, "")
	pdf.CellFormat(0, 10, st.Result.Patient.String()+" "+T("settle.yuan"), "TB", 1, "R", false, 0, "")
	if ev.Receivable != nil {
		pdf.SetFont("cjk", "", 10)
		pdf.MultiCell(0, 6, T("settle.receivable_line", ev.Receivable.Amount.String(), ev.Receivable.Paid.String(), ev.Receivable.Owed().String()), "", "L", false)
	}
	pdf.SetFont("cjk", "", 8)
	pdf.Ln(4)
	pdf.MultiCell(0, 4, T("settle.pdf_footer", strconv.FormatInt(st.ID, 10), st.CreatedAt.In(care.Shanghai).Format("2006-01-02 15:04"), rc.RequestID), "", "L", false)
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return care.Internal("web.settlementPDF", err)
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`inline; filename="settlement-%d.pdf"`, st.ID))
	w.Write(buf.Bytes())
	return nil
}
