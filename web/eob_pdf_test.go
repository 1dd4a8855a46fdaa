package web_test

import (
	"bytes"
	"compress/zlib"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode"

	"golang.org/x/image/font/sfnt"

	"countycare/care"
	"countycare/store"
)

// TestEOBPDFReadable: the explanation of benefits PDF prints its amounts,
// the ID number's last four digits, the dates and the visit ID — read back
// with poppler's pdftotext — and every character it prints has a glyph in
// a font embedded in the PDF. (pdftotext alone reads the text layer, which
// was right even when the only embedded font, a CJK one without Latin
// glyphs, drew every digit as an empty box: so the embedded fonts' own
// character maps are checked too.)
func TestEOBPDFReadable(t *testing.T) {
	pdftotext, err := exec.LookPath("pdftotext")
	if err != nil {
		t.Fatal("pdftotext not found: install Debian's poppler-utils (.ci/run does)")
	}
	e, office, rid, hosp, me := settleEnv(t, store.SQLite)
	today := care.Today(time.Now()).String()
	bill := map[string]any{"resident_id": rid, "institution_id": hosp, "visit_id": "ZY-PDF-7", "date": today, "visit_type": "inpatient",
		"lines": []map[string]string{{"code": "A1", "name": "药", "class": "drug", "category": "A", "amount": "12000.00"}, {"code": "C1", "name": "自费材料", "class": "material", "category": "C", "amount": "500"}}}
	r := office.do("POST", "/api/v1/settlements", "application/json", []byte(mustJSON(bill)), map[string]string{"X-CSRF-Token": office.csrf, "Idempotency-Key": "pdf-1"})
	if r.code != 201 {
		t.Fatalf("settle: %d %s", r.code, r.body)
	}
	var st struct {
		ID     int64 `json:"id"`
		Result struct {
			Total, Eligible, Patient string
			Layers                   []struct{ Paid string }
		} `json:"result"`
	}
	json.Unmarshal([]byte(r.body), &st)
	td := e.as(care.RoleTownshipDoctor)
	var idn struct {
		IDNumber string `json:"id_number"`
	}
	json.Unmarshal([]byte(td.do("POST", "/api/v1/residents/"+itoa(rid)+"/reveal-id", "", nil, map[string]string{"X-CSRF-Token": td.csrf}).body), &idn)
	if len(idn.IDNumber) != 18 {
		t.Fatalf("ID number %q", idn.IDNumber)
	}
	for _, who := range []struct {
		name string
		c    *client
	}{{"resident", me}, {"insurance officer", office}} {
		p := who.c.get("/settlements/" + itoa(st.ID) + "/pdf")
		if p.code != 200 || !strings.HasPrefix(p.body, "%PDF") {
			t.Fatalf("%s: PDF %d %.80q", who.name, p.code, p.body)
		}
		file := filepath.Join(t.TempDir(), "eob.pdf")
		os.WriteFile(file, []byte(p.body), 0o600)
		if d := os.Getenv("COUNTYCARE_ARTIFACTS"); d != "" { // to look at it
			os.WriteFile(filepath.Join(d, "eob-"+strings.ReplaceAll(who.name, " ", "-")+".pdf"), []byte(p.body), 0o644)
		}
		out, err := exec.Command(pdftotext, "-layout", file, "-").CombinedOutput()
		if err != nil {
			t.Fatalf("pdftotext: %v %s", err, out)
		}
		text := string(out)
		want := []string{st.Result.Total, st.Result.Eligible, st.Result.Patient, idn.IDNumber[14:], today, "ZY-PDF-7", "费用结算单"}
		for _, l := range st.Result.Layers {
			want = append(want, l.Paid)
		}
		for _, w := range want {
			if w == "" || !strings.Contains(text, w) {
				t.Errorf("%s: the PDF's text lacks %q:\n%s", who.name, w, text)
			}
		}
		fonts := embeddedFonts(t, []byte(p.body))
		if len(fonts) < 2 {
			t.Errorf("%s: %d embedded fonts, want a Latin and a CJK one", who.name, len(fonts))
		}
		var buf sfnt.Buffer
		boxes := map[rune]bool{}
		for _, c := range text {
			if unicode.IsSpace(c) || boxes[c] {
				continue
			}
			drawn := false
			for _, f := range fonts {
				if g, err := f.GlyphIndex(&buf, c); err == nil && g != 0 {
					drawn = true
				}
			}
			if !drawn {
				boxes[c] = true
			}
		}
		if len(boxes) > 0 {
			var s []string
			for c := range boxes {
				s = append(s, string(c))
			}
			t.Errorf("%s: characters printed as empty boxes (no glyph in any embedded font): %q", who.name, strings.Join(s, ""))
		}
	}
	if strings.Contains(e.logs.String(), "PDF text without a glyph") {
		t.Errorf("the server logged characters without glyphs: %s", e.logs.String())
	}
}

// embeddedFonts returns the TrueType fonts embedded in a PDF (FontFile2
// streams, which carry /Length1), parsed.
func embeddedFonts(t *testing.T, pdf []byte) []*sfnt.Font {
	t.Helper()
	var out []*sfnt.Font
	re := regexp.MustCompile(`(?s)<<([^>]*?/Length1[^>]*?)>>\s*stream\r?\n`)
	for _, m := range re.FindAllSubmatchIndex(pdf, -1) {
		rest := pdf[m[1]:]
		end := bytes.Index(rest, []byte("endstream"))
		if end < 0 {
			t.Fatal("unterminated font stream")
		}
		raw := rest[:end]
		if bytes.Contains(pdf[m[2]:m[3]], []byte("/FlateDecode")) {
			zr, err := zlib.NewReader(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			if raw, err = io.ReadAll(zr); err != nil {
				t.Fatal(err)
			}
		}
		f, err := sfnt.Parse(raw)
		if err != nil {
			t.Fatalf("embedded font: %v", err)
		}
		out = append(out, f)
	}
	return out
}
