package web

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"unicode/utf8"

	"github.com/go-pdf/fpdf"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/sfnt"

	"countycare/care"
)

// DefaultFontPath is Debian's fonts-droid-fallback font: the PDF explanation
// of benefits takes its Chinese glyphs from it.
const DefaultFontPath = "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"

// The explanation of benefits is set in two TrueType fonts, because no
// TrueType-outline font in Debian covers Chinese, Latin letters and digits
// at once that fpdf can embed (fpdf embeds TrueType outlines only; Noto
// Sans CJK from fonts-noto-cjk is CFF/OpenType):
//
//   - Latin letters, digits and Western punctuation: Go Regular, compiled
//     into the binary (golang.org/x/image/font/gofont, BSD licence, 131 KB),
//     so amounts, ID and record numbers, dates and visit IDs always print;
//   - Chinese (and fullwidth punctuation): the system CJK font
//     (DefaultFontPath, or serve --font), which has no Latin glyphs at all —
//     set alone, it printed every digit as an empty box.
//
// Each string is cut into runs by the font that has its glyphs (pdfText).

// pdfFonts are the parsed fonts of the PDF, loaded once at start.
type pdfFonts struct {
	cjk    []byte // the system CJK font file
	latinF *sfnt.Font
	cjkF   *sfnt.Font
	buf    sfnt.Buffer
}

// loadFont reads the PDF's CJK font once; a missing or unreadable font
// disables PDFs (the printable page still works) and says so in the log.
func (s *Server) loadFont() {
	path := s.cfg.FontPath
	if path == "" {
		path = DefaultFontPath
	}
	f, err := newPDFFonts(path)
	if err != nil {
		s.Log.Warn("web: no CJK font for PDF explanations of benefits; install fonts-droid-fallback or pass serve --font", "path", path, "err", err)
		return
	}
	s.font = f
}

func newPDFFonts(path string) (*pdfFonts, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	cjk, err := sfnt.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s is not a TrueType font: %w", path, err)
	}
	latin, err := sfnt.Parse(goregular.TTF)
	if err != nil {
		return nil, err
	}
	f := &pdfFonts{cjk: b, latinF: latin, cjkF: cjk}
	if !f.has(cjk, '中') {
		return nil, fmt.Errorf("%s has no Chinese glyphs", path)
	}
	return f, nil
}

func (f *pdfFonts) has(font *sfnt.Font, r rune) bool {
	g, err := font.GlyphIndex(&f.buf, r)
	return err == nil && g != 0
}

// Font families registered in the PDF.
const (
	pdfLatin = "latin"
	pdfCJK   = "cjk"
)

// fontFor names the font that prints r: Go Regular for what it covers below
// the CJK blocks (letters, digits, Western punctuation, spaces), else the
// CJK font when it has the glyph, else whichever has it. ok is false when
// neither has a glyph (the rune would print as a box).
func (f *pdfFonts) fontFor(r rune) (family string, ok bool) {
	if r < 0x2E80 && f.has(f.latinF, r) {
		return pdfLatin, true
	}
	if f.has(f.cjkF, r) {
		return pdfCJK, true
	}
	if f.has(f.latinF, r) {
		return pdfLatin, true
	}
	return pdfCJK, r == ' ' || r == '\n'
}

// pdfRun is a piece of text in one font.
type pdfRun struct{ family, text string }

// runs cuts s into runs by font; missing collects runes no font covers.
func (f *pdfFonts) runs(s string, missing map[rune]bool) []pdfRun {
	var out []pdfRun
	for _, r := range s {
		fam, ok := f.fontFor(r)
		if !ok && missing != nil {
			missing[r] = true
		}
		if n := len(out); n > 0 && out[n-1].family == fam {
			out[n-1].text += string(r)
			continue
		}
		out = append(out, pdfRun{fam, string(r)})
	}
	return out
}

// pdfText writes mixed Chinese and Latin text with fpdf, switching fonts
// run by run. missing records any rune neither font covers.
type pdfText struct {
	pdf     *fpdf.Fpdf
	fonts   *pdfFonts
	size    float64
	missing map[rune]bool
}

func newPDFText(fonts *pdfFonts) *pdfText {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.AddUTF8FontFromBytes(pdfCJK, "", fonts.cjk)
	pdf.AddUTF8FontFromBytes(pdfLatin, "", goregular.TTF)
	return &pdfText{pdf: pdf, fonts: fonts, size: 10, missing: map[rune]bool{}}
}

func (t *pdfText) setSize(pt float64) {
	t.size = pt
	t.pdf.SetFont(pdfCJK, "", pt)
}

func (t *pdfText) width(rs []pdfRun) float64 {
	w := 0.0
	for _, r := range rs {
		t.pdf.SetFont(r.family, "", t.size)
		w += t.pdf.GetStringWidth(r.text)
	}
	return w
}

// cell is fpdf's CellFormat for mixed text: a w×h cell (w 0: to the right
// margin) with its border, the text aligned L or R, then ln as CellFormat.
func (t *pdfText) cell(w, h float64, text, border string, ln int, align string) {
	p := t.pdf
	x, y := p.GetXY()
	if w == 0 {
		pw, _ := p.GetPageSize()
		_, _, rm, _ := p.GetMargins()
		w = pw - rm - x
	}
	p.CellFormat(w, h, "", border, 0, "", false, 0, "")
	rs := t.fonts.runs(text, t.missing)
	cm := p.GetCellMargin()
	start := x + cm
	if align == "R" {
		start = x + w - cm - t.width(rs)
	} else if align == "C" {
		start = x + (w-t.width(rs))/2
	}
	p.SetXY(start, y)
	p.SetCellMargin(0) // the runs abut: the margin is kept once, at the cell's edge
	for _, r := range rs {
		p.SetFont(r.family, "", t.size)
		p.CellFormat(p.GetStringWidth(r.text), h, r.text, "", 0, "L", false, 0, "")
	}
	p.SetCellMargin(cm)
	switch ln {
	case 1:
		l, _, _, _ := p.GetMargins()
		p.SetXY(l, y+h)
	case 2:
		p.SetXY(x, y+h)
	default:
		p.SetXY(x+w, y)
	}
}

// para writes wrapping text from the current position with left edge
// left (mm), line height h, and ends on a new line.
func (t *pdfText) para(left, h float64, text string) {
	p := t.pdf
	l, tm, r, _ := p.GetMargins()
	p.SetMargins(left, tm, r)
	if p.GetX() < left {
		p.SetX(left)
	}
	for _, run := range t.fonts.runs(text, t.missing) {
		p.SetFont(run.family, "", t.size)
		p.Write(h, run.text)
	}
	p.Ln(h)
	p.SetMargins(l, tm, r)
	p.SetX(l)
}

// missingRunes lists the runes written that no font covers, for tests and logs.
func (t *pdfText) missingRunes() string {
	var b []byte
	for r := range t.missing {
		b = utf8.AppendRune(b, r)
	}
	return string(b)
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
	t := newPDFText(s.font)
	pdf := t.pdf
	pdf.SetTitle(T("settle.eob"), true)
	pdf.SetCreator("countycare", true)
	pdf.AddPage()
	t.setSize(16)
	t.cell(0, 10, T("settle.eob"), "", 1, "C")
	t.setSize(10)
	row := func(label, value string) {
		t.cell(45, 7, label, "", 0, "L")
		t.para(pdf.GetX(), 7, value)
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
	t.setSize(12)
	t.cell(0, 8, fmt.Sprintf("%s %s %s   %s %s %s", T("settle.total"), st.Result.Total, T("settle.yuan"), T("settle.eligible"), st.Result.Eligible, T("settle.yuan")), "", 1, "L")
	for _, l := range st.Result.Layers {
		t.setSize(11)
		t.cell(120, 8, T("settle.layer."+l.Layer), "T", 0, "L")
		t.cell(0, 8, l.Paid.String()+" "+T("settle.yuan"), "T", 1, "R")
		t.setSize(9)
		for _, step := range l.Steps {
			t.para(18, 5, s.stepText(rc.Lang, step))
		}
	}
	t.setSize(13)
	t.cell(120, 10, T("settle.patient"), "TB", 0, "L")
	t.cell(0, 10, st.Result.Patient.String()+" "+T("settle.yuan"), "TB", 1, "R")
	if len(st.Adjustments) > 0 {
		// Re-settlements that changed this bill after it was first settled
		// (a correction or reversal of an earlier bill of the year): the
		// amounts above are the current ones; each line says what moved.
		pdf.Ln(2)
		t.setSize(11)
		t.cell(0, 8, T("settle.adjustments"), "", 1, "L")
		t.setSize(9)
		for _, a := range st.Adjustments {
			t.para(18, 5, T("settle.adjust."+a.Cause, a.CreatedAt.In(care.Shanghai).Format("2006-01-02 15:04"), a.CauseID,
				a.InsurersBefore().String(), a.InsurersAfter().String(), a.PatientBefore().String(), a.PatientAfter().String()))
		}
	}
	if ev.Receivable != nil {
		t.setSize(10)
		t.para(pdf.GetX(), 6, T("settle.receivable_line", ev.Receivable.Amount.String(), ev.Receivable.Paid.String(), ev.Receivable.Owed().String()))
	}
	t.setSize(8)
	pdf.Ln(4)
	t.para(pdf.GetX(), 4, T("settle.pdf_footer", strconv.FormatInt(st.ID, 10), st.CreatedAt.In(care.Shanghai).Format("2006-01-02 15:04"), rc.RequestID))
	if m := t.missingRunes(); m != "" {
		s.Log.Warn("web: PDF text without a glyph in either font (printed as boxes)", "runes", m, "request_id", rc.RequestID)
	}
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return care.Internal("web.settlementPDF", err)
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`inline; filename="settlement-%d.pdf"`, st.ID))
	w.Write(buf.Bytes())
	return nil
}
