package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"countycare/care"
	"countycare/rx"
)

// The prescriber's page (开具电子处方): a form for one e-prescription of up
// to five lines, reviewed before signing ("review") and signed ("sign"),
// with the review's findings shown before and after. The same page serves
// an online follow-up visit (/online/{id}/rx), where the prescription goes
// through the online channel.

// rxMaxFormLines is how many drug rows the form offers (2007 art. 6: ≤ 5).
const rxMaxFormLines = 5

// rxFormLine is one drug row of the form.
type rxFormLine struct {
	N                                          int // form row: field names drugN, doseN…
	Line                                       int // index among the prescription's lines
	Drug, Dose, Unit, Freq, Route, Days, Qty   string
	DrugErr, DoseErr, UnitErr, DaysErr, QtyErr string
}

// rxPageData is what rx_new.html shows.
type rxPageData struct {
	Action     string // form action
	Back       string // link back (resident or visit)
	ResidentID int64
	Name       string
	Online     bool
	VisitID    int64
	Diagnosis  string
	Lines      []rxFormLine
	Drugs      []rx.Drug
	Units      []string
	Freqs      []string
	Reviewed   bool            // findings of a draft (not stored)
	Findings   []rxFindingView // of the draft or of the signed prescription
	Outcome    string
	Signed     *apiSignedOut
	SignedText []string
}

var rxFormUnits = []string{"mg", "g", "ug", "IU", "wIU", "ml", "tab", "cap", "puff", "vial", "sachet"}
var rxFormFreqs = []string{"qd", "bid", "tid", "qid", "q6h", "q8h", "q12h", "qn", "qod", "qw", "prn", "st"}

func (s *Server) newRxPage(rc *reqCtx, action, back string) *rxPageData {
	d := &rxPageData{Action: action, Back: back, Drugs: s.Rx.KB.Drugs, Units: rxFormUnits, Freqs: rxFormFreqs}
	for i := 0; i < rxMaxFormLines; i++ {
		d.Lines = append(d.Lines, rxFormLine{N: i, Route: "po"})
	}
	return d
}

// rxFromForm reads the form: lines with a drug code count, the others are
// skipped. Numbers that do not parse are field errors with the line.
func rxFromForm(r *http.Request, lines []rxFormLine) (*rx.Prescription, []care.FieldError) {
	var fs []care.FieldError
	num := func(field, v string) float64 {
		v = strings.TrimSpace(v)
		if v == "" {
			return 0
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			fs = append(fs, care.FieldError{Field: field, Key: "field.number"})
		}
		return f
	}
	p := &rx.Prescription{Kind: rx.Kind(r.PostFormValue("kind")), Reason: r.PostFormValue("reason"), Stable: r.PostFormValue("stable") == "on"}
	if v := strings.TrimSpace(r.PostFormValue("valid_days")); v != "" {
		p.ValidDays = int(num("valid_days", v))
	}
	for _, dx := range strings.FieldsFunc(r.PostFormValue("diagnoses"), func(c rune) bool { return c == ',' || c == ' ' || c == '，' || c == ';' }) {
		p.Diagnoses = append(p.Diagnoses, strings.ToUpper(dx))
	}
	p.Patient.WeightKg = num("weight_kg", r.PostFormValue("weight_kg"))
	p.Patient.Pregnant, p.Patient.Lactating = r.PostFormValue("pregnant") == "on", r.PostFormValue("lactating") == "on"
	p.Patient.HepaticImpairment = r.PostFormValue("hepatic") == "on"
	p.Patient.EGFR = int(num("egfr", r.PostFormValue("egfr")))
	for _, a := range strings.FieldsFunc(r.PostFormValue("allergies"), func(c rune) bool { return c == ',' || c == ' ' || c == '，' }) {
		p.Patient.Allergies = append(p.Patient.Allergies, a)
	}
	for i := range lines {
		l := &lines[i]
		get := func(k string) string { return strings.TrimSpace(r.PostFormValue(fmt.Sprintf("%s%d", k, i))) }
		l.Drug, l.Dose, l.Unit, l.Freq, l.Route, l.Days, l.Qty = get("drug"), get("dose"), get("unit"), get("freq"), get("route"), get("days"), get("qty")
		if l.Drug == "" {
			continue
		}
		n := len(p.Lines)
		pre := fmt.Sprintf("lines[%d].", n)
		p.Lines = append(p.Lines, rx.Line{DrugCode: l.Drug, Dose: num(pre+"dose", l.Dose), DoseUnit: l.Unit, Frequency: l.Freq, Route: l.Route,
			Days: int(num(pre+"days", l.Days)), Quantity: num(pre+"quantity", l.Qty)})
		l.Line = n
	}
	return p, fs
}

// rxFieldErrors turns "lines[i].x" into "N:x" (N the 1-based line), which
// the page shows as "第 N 行 …", and marks the form rows.
func rxFieldErrors(ce *care.Error, lines []rxFormLine, lang string, s *Server) {
	rowOf := map[int]int{}
	for i, l := range lines {
		if l.Drug != "" {
			rowOf[l.Line] = i
		}
	}
	for i, f := range ce.Fields {
		var n int
		var field string
		if _, err := fmt.Sscanf(f.Field, "lines[%d].", &n); err != nil || !strings.HasPrefix(f.Field, "lines[") {
			continue
		}
		field = f.Field[strings.IndexByte(f.Field, '.')+1:]
		ce.Fields[i].Field = fmt.Sprintf("%d:%s", n+1, field)
		row, ok := rowOf[n]
		if !ok {
			continue
		}
		msg := s.msgs.T(lang, f.Key, f.Args...)
		switch field {
		case "drug_code":
			lines[row].DrugErr = msg
		case "dose":
			lines[row].DoseErr = msg
		case "dose_unit":
			lines[row].UnitErr = msg
		case "days":
			lines[row].DaysErr = msg
		case "quantity":
			lines[row].QtyErr = msg
		}
	}
}

// rxNew is the prescriber's page for a resident.
func (s *Server) rxNew(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	res, err := s.Residents.Get(r.Context(), rc.Actor, id)
	if err != nil {
		return err
	}
	base := "/residents/" + strconv.FormatInt(id, 10)
	d := s.newRxPage(rc, base+"/rx", base)
	d.ResidentID, d.Name = id, res.Name
	if v := r.URL.Query().Get("signed"); v != "" {
		if err := s.rxShowSigned(r, rc, d, v); err != nil {
			return err
		}
	}
	s.render(w, r, rc, http.StatusOK, "rx_new", pageData{Title: s.msgs.T(rc.Lang, "rx.new"), Data: d})
	return nil
}

func (s *Server) rxShowSigned(r *http.Request, rc *reqCtx, d *rxPageData, v string) error {
	pid, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return notFound()
	}
	sg, err := s.Prescriptions.Get(r.Context(), rc.Actor, pid)
	if err != nil {
		return err
	}
	if sg.ResidentID != d.ResidentID {
		return notFound()
	}
	out := s.apiSigned(rc.Lang, sg)
	d.Signed, d.Findings, d.Outcome = &out, out.Findings, out.Outcome
	for i := range sg.Prescription.Lines {
		d.SignedText = append(d.SignedText, s.rxLineText(rc.Lang, &sg.Prescription.Lines[i]))
	}
	return nil
}

// rxSubmit reviews (action=review) or signs (action=sign) the form's
// prescription for the resident. A review or a refused signature shows the
// form again with the findings; a signed prescription redirects to the
// page showing it with its status and findings.
func (s *Server) rxSubmit(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	res, err := s.Residents.Get(r.Context(), rc.Actor, id)
	if err != nil {
		return err
	}
	base := "/residents/" + strconv.FormatInt(id, 10)
	d := s.newRxPage(rc, base+"/rx", base)
	d.ResidentID, d.Name = id, res.Name
	review := func(p *rx.Prescription) ([]rx.Finding, error) {
		return s.Prescriptions.Preview(r.Context(), rc.Actor, id, p)
	}
	sign := func(p *rx.Prescription) (*rx.Signed, []rx.Finding, error) {
		return s.Prescriptions.Sign(r.Context(), rc.Actor, id, p)
	}
	return s.rxHandleForm(w, r, rc, d, review, sign, func(sg *rx.Signed) string { return base + "/rx/new?signed=" + strconv.FormatInt(sg.ID, 10) })
}

func (s *Server) rxHandleForm(w http.ResponseWriter, r *http.Request, rc *reqCtx, d *rxPageData,
	review func(*rx.Prescription) ([]rx.Finding, error), sign func(*rx.Prescription) (*rx.Signed, []rx.Finding, error), next func(*rx.Signed) string) error {
	p, fs := rxFromForm(r, d.Lines)
	page := pageData{Title: s.msgs.T(rc.Lang, "rx.new"), Data: d}
	fail := func(err error) error {
		if ce, ok := err.(*care.Error); ok {
			rxFieldErrors(ce, d.Lines, rc.Lang, s)
		}
		return s.formError(w, r, rc, "rx_new", page, err)
	}
	if err := care.Invalid(fs); err != nil {
		return fail(err)
	}
	if r.PostFormValue("action") != "sign" {
		findings, err := review(p)
		if err != nil {
			return fail(err)
		}
		d.Reviewed, d.Findings, d.Outcome = true, s.rxFindingViews(rc.Lang, &rx.Signed{Prescription: *p, Findings: findings}), wireOutcome(rx.Outcome(findings))
		page.Form = r.PostForm
		s.render(w, r, rc, http.StatusOK, "rx_new", page)
		return nil
	}
	sg, findings, err := sign(p)
	if err != nil {
		if len(findings) > 0 {
			d.Reviewed, d.Findings, d.Outcome = true, s.rxFindingViews(rc.Lang, &rx.Signed{Prescription: *p, Findings: findings}), wireOutcome(rx.Outcome(findings))
		}
		return fail(err)
	}
	http.Redirect(w, r, next(sg), http.StatusSeeOther)
	return nil
}

// apiFormulary searches the formulary by code or name (?q=, at most 20),
// for the prescription form's drug search.
func (s *Server) apiFormulary(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	q := strings.ToLower(strings.TrimSpace(r.URL.Query().Get("q")))
	type drug struct {
		Code     string   `json:"code"`
		NameZH   string   `json:"name_zh"`
		NameEN   string   `json:"name_en"`
		Form     string   `json:"form"`
		Strength float64  `json:"strength"`
		Unit     string   `json:"unit"`
		Route    string   `json:"route"`
		Classes  []string `json:"classes"`
	}
	out := []drug{}
	for i := range s.Rx.KB.Drugs {
		d := &s.Rx.KB.Drugs[i]
		if q != "" && !strings.Contains(strings.ToLower(d.Code), q) && !strings.Contains(d.NameZH, q) && !strings.Contains(strings.ToLower(d.NameEN), q) {
			continue
		}
		var cl []string
		for _, f := range []struct {
			f    rx.Flags
			name string
		}{{rx.Narcotic, "narcotic"}, {rx.Psychotropic, "psychotropic"}, {rx.Antimicrobial, "antimicrobial"}, {rx.Toxic, "toxic"}, {rx.Essential, "essential"}} {
			if d.Flags&f.f != 0 {
				cl = append(cl, f.name)
			}
		}
		out = append(out, drug{Code: d.Code, NameZH: d.NameZH, NameEN: d.NameEN, Form: d.Form, Strength: d.Strength, Unit: d.Unit, Route: d.Route, Classes: cl})
		if len(out) == 20 {
			break
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"drugs": out})
	return nil
}

// apiRxReview reviews a draft for the resident as signing would, storing
// nothing: {"outcome", "findings"}.
func (s *Server) apiRxReview(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in apiPrescription
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	in.Issued = care.Today(s.Now()).String()
	p, fs := in.prescription()
	if err := care.Invalid(fs); err != nil {
		return err
	}
	findings, err := s.Prescriptions.Preview(r.Context(), rc.Actor, id, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"outcome": wireOutcome(rx.Outcome(findings)),
		"findings": s.rxFindingViews(rc.Lang, &rx.Signed{Prescription: *p, Findings: findings})})
	return nil
}
