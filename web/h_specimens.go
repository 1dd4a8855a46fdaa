package web

import (
	"bytes"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"countycare/care"
	"countycare/code128"
	"countycare/lab"
	"countycare/org"
	"countycare/specimen"
)

// specimensView is the specimen board: a clinic's or a lab's working list.
type specimensView struct {
	Board    *specimen.Board
	Lab      bool // the viewer is lab staff
	Overdue  map[int64]bool
	Late     map[int64]bool // received past the tube's stability
	Reasons  []specimen.Reason
	Packable []specimen.Specimen // a clinic's collected specimens
	Scanned  *specimen.Specimen  // after a scan: what was scanned
	Warn     bool                // the scanned specimen came past its stability
}

func (s *Server) specimensData(r *http.Request, rc *reqCtx) (*specimensView, error) {
	b, err := s.Specimens.List(r.Context(), rc.Actor)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	v := &specimensView{Board: b, Lab: specimen.LabStaff(rc.Actor), Overdue: map[int64]bool{}, Late: map[int64]bool{}, Reasons: specimen.Reasons}
	for i := range b.Open {
		sp := &b.Open[i]
		v.Overdue[sp.ID] = s.Specimens.Config.IsOverdue(sp, now)
		if !sp.CollectedAt.IsZero() && sp.Status.Open() && s.Specimens.Config.StabilityLeft(sp.Tube, sp.CollectedAt, now) <= 0 {
			v.Late[sp.ID] = true
		}
		if sp.Status == specimen.StatusCollected {
			v.Packable = append(v.Packable, *sp)
		}
	}
	return v, nil
}

func (s *Server) specimensPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	v, err := s.specimensData(r, rc)
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "specimens", pageData{Title: s.msgs.T(rc.Lang, "specimen.title"), Data: v})
	return nil
}

func (s *Server) specimensFormError(w http.ResponseWriter, r *http.Request, rc *reqCtx, err error) error {
	v, perr := s.specimensData(r, rc)
	if perr != nil {
		return perr
	}
	return s.formError(w, r, rc, "specimens", pageData{Title: s.msgs.T(rc.Lang, "specimen.title"), Data: v}, err)
}

// specimensScan is POST /specimens/scan: a scanned label (field barcode)
// and the step (collect at the clinic; receive or reject at the lab).
func (s *Server) specimensScan(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	res, err := s.Specimens.Scan(r.Context(), rc.Actor, specimen.ScanInput{Barcode: r.PostFormValue("barcode"),
		Step: specimen.Step(r.PostFormValue("step")), Reason: specimen.Reason(r.PostFormValue("reason")), Note: r.PostFormValue("note")})
	if err != nil {
		return s.specimensFormError(w, r, rc, err)
	}
	v, err := s.specimensData(r, rc)
	if err != nil {
		return err
	}
	v.Scanned, v.Warn = res.Specimen, res.Late
	s.render(w, r, rc, http.StatusOK, "specimens", pageData{Title: s.msgs.T(rc.Lang, "specimen.title"), Flash: "specimen.scanned_" + string(r.PostFormValue("step")), Data: v})
	return nil
}

// tenthsOf reads a temperature in °C ("4.5", "4,5") as tenths.
func tenthsOf(v string) (int, bool) {
	f, err := strconv.ParseFloat(strings.ReplaceAll(strings.TrimSpace(v), ",", "."), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1000 {
		return 0, false
	}
	return int(math.Round(f * 10)), true
}

// specimensPack is POST /specimens/boxes: the checked specimens (field
// barcode, repeated, or scanned into barcodes) into a new box at temp °C.
func (s *Server) specimensPack(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	t, ok := tenthsOf(r.PostFormValue("temp"))
	if !ok {
		return s.specimensFormError(w, r, rc, care.Invalid([]care.FieldError{{Field: "temp", Key: "specimen.temp_number"}}))
	}
	codes := append(r.PostForm["barcode"], r.PostFormValue("barcodes"))
	if _, err := s.Specimens.Pack(r.Context(), rc.Actor, codes, t); err != nil {
		return s.specimensFormError(w, r, rc, err)
	}
	http.Redirect(w, r, "/specimens?ok=specimen_packed", http.StatusSeeOther)
	return nil
}

// specimensHandOver is POST /specimens/boxes/{id}/hand-over.
func (s *Server) specimensHandOver(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, err := s.Specimens.HandOver(r.Context(), rc.Actor, id, r.PostFormValue("courier"), r.PostFormValue("route")); err != nil {
		return s.specimensFormError(w, r, rc, err)
	}
	http.Redirect(w, r, "/specimens?ok=specimen_handed", http.StatusSeeOther)
	return nil
}

// specimenView is one specimen's page.
type specimenView struct {
	S       *specimen.Specimen
	Events  []specimen.Event
	Tests   []lab.Analyte
	Lab     bool // the viewer is its lab's staff
	Overdue bool
	Late    bool
	Results []*lab.Result // after filing
}

func (s *Server) specimenData(r *http.Request, rc *reqCtx) (*specimenView, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	sp, evs, err := s.Specimens.Get(r.Context(), rc.Actor, id)
	if err != nil {
		return nil, err
	}
	v := &specimenView{S: sp, Events: evs, Lab: specimen.LabStaff(rc.Actor) && rc.Actor.InstitutionID == sp.LabID,
		Overdue: s.Specimens.Config.IsOverdue(sp, s.Now())}
	v.Late = !sp.CollectedAt.IsZero() && sp.Status.Open() && s.Specimens.Config.StabilityLeft(sp.Tube, sp.CollectedAt, s.Now()) <= 0
	for _, c := range strings.Split(sp.Tests, ",") {
		if an, ok := lab.Lookup(c); ok {
			v.Tests = append(v.Tests, *an)
		}
	}
	return v, nil
}

func (s *Server) specimenPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	v, err := s.specimenData(r, rc)
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "specimen", pageData{Title: s.msgs.T(rc.Lang, "specimen.one"), Data: v})
	return nil
}

// specimenResults is POST /specimens/{id}/results: one value and unit per
// ordered test (fields value.CODE, unit.CODE; an empty value is left out).
func (s *Server) specimenResults(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	v, err := s.specimenData(r, rc)
	if err != nil {
		return err
	}
	var ins []lab.Input
	for _, an := range v.Tests {
		val := strings.TrimSpace(r.PostFormValue("value." + an.Code))
		if val == "" {
			continue
		}
		ins = append(ins, lab.Input{Code: an.Code, Value: val, Unit: r.PostFormValue("unit." + an.Code), Device: r.PostFormValue("device")})
	}
	saved, err := s.Specimens.Result(r.Context(), rc.Actor, v.S.ID, ins, func(i int) string { return "value." + ins[i].Code + ":" })
	if err != nil {
		return s.formError(w, r, rc, "specimen", pageData{Title: s.msgs.T(rc.Lang, "specimen.one"), Data: v}, err)
	}
	http.Redirect(w, r, fmt.Sprintf("/specimens/%d?ok=specimen_resulted&n=%d", v.S.ID, len(saved)), http.StatusSeeOther)
	return nil
}

// specimenLabel is GET /specimens/{id}/label.svg: the tube label to print,
// its Code 128 barcode with the text under it, the resident, tube and
// tests.
func (s *Server) specimenLabel(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	sp, _, err := s.Specimens.Get(r.Context(), rc.Actor, id)
	if err != nil {
		return err
	}
	line := s.msgs.T(rc.Lang, "specimen.tube."+string(sp.Tube)) + " · " + sp.Tests
	return writeLabel(w, sp.Barcode, sp.ResidentName, line)
}

// specimenBoxLabel is GET /specimens/boxes/{id}/label.svg: a box's label.
func (s *Server) specimenBoxLabel(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	b, err := s.Specimens.BoxFor(r.Context(), rc.Actor, id)
	if err != nil {
		return err
	}
	return writeLabel(w, b.Code, s.msgs.T(rc.Lang, "specimen.box_label", b.Specimens), fmt.Sprintf("%.1f °C · %s", b.Temp(), b.PackedAt.In(care.Shanghai).Format("2006-01-02 15:04")))
}

// writeLabel draws a label: the barcode (2 px a module, 10 modules of quiet
// zone either side), its text, and two lines under it.
func writeLabel(w http.ResponseWriter, code, line1, line2 string) error {
	ws, err := code128.Widths(code)
	if err != nil {
		return care.Internal("web.label", err)
	}
	const mod, quiet, bar = 2, 10, 60
	n := 0
	for _, x := range ws {
		n += x
	}
	width := (n + 2*quiet) * mod
	if width < 260 {
		width = 260
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s">`, width, bar+64, width, bar+64, template.HTMLEscapeString(code))
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/>`, width, bar+64)
	x := quiet * mod
	for i, wd := range ws {
		if i%2 == 0 {
			fmt.Fprintf(&b, `<rect x="%d" y="4" width="%d" height="%d" fill="#000"/>`, x, wd*mod, bar)
		}
		x += wd * mod
	}
	for i, t := range []string{code, line1, line2} {
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-family="monospace, sans-serif" font-size="13" fill="#000">%s</text>`, quiet*mod, bar+20+i*16, template.HTMLEscapeString(t))
	}
	b.WriteString(`</svg>`)
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Write(b.Bytes())
	return nil
}

// specimenOrderView is the order form for a resident.
type specimenOrderView struct {
	ResidentID   int64
	ResidentName string
	Labs         []*org.Institution
	Analytes     []lab.Analyte
	Tubes        []specimen.Tube
}

func (s *Server) specimenOrderData(r *http.Request, rc *reqCtx) (*specimenOrderView, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	res, err := s.Residents.Get(r.Context(), rc.Actor, id)
	if err != nil {
		return nil, err
	}
	labs, err := s.Specimens.LabsFor(r.Context(), rc.Actor)
	if err != nil {
		return nil, err
	}
	return &specimenOrderView{ResidentID: res.ID, ResidentName: res.Name, Labs: labs, Analytes: lab.Analytes(), Tubes: specimen.Tubes}, nil
}

func (s *Server) specimenOrderPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	v, err := s.specimenOrderData(r, rc)
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "specimen_order", pageData{Title: s.msgs.T(rc.Lang, "specimen.order"), Data: v})
	return nil
}

func (s *Server) specimenOrderSubmit(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	v, err := s.specimenOrderData(r, rc)
	if err != nil {
		return err
	}
	labID, _ := strconv.ParseInt(r.PostFormValue("lab_id"), 10, 64)
	sp, err := s.Specimens.Order(r.Context(), rc.Actor, v.ResidentID, specimen.OrderInput{LabID: labID, Tests: r.PostForm["tests"],
		Tube: specimen.Tube(r.PostFormValue("tube")), Note: r.PostFormValue("note")})
	if err != nil {
		return s.formError(w, r, rc, "specimen_order", pageData{Title: s.msgs.T(rc.Lang, "specimen.order"), Data: v}, err)
	}
	http.Redirect(w, r, fmt.Sprintf("/specimens/%d?ok=specimen_ordered", sp.ID), http.StatusSeeOther)
	return nil
}

// specimenIndicators is GET /specimens/indicators: turnaround and
// rejection rates per clinic.
func (s *Server) specimenIndicators(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	from, to, err := s.indicatorPeriod(r)
	if err != nil {
		return err
	}
	rates, err := s.Specimens.Indicators(r.Context(), rc.Actor, from, to)
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "specimen_indicators", pageData{Title: s.msgs.T(rc.Lang, "specimen.indicators"), Data: map[string]any{
		"Rates": rates, "From": from.In(care.Shanghai).Format(time.DateOnly), "To": to.Add(-time.Second).In(care.Shanghai).Format(time.DateOnly)}})
	return nil
}

// Permille formats a rate in per mille as a percentage with one decimal
// (91 → 9.1%), "—" when there is no rate.
func (p pageData) Permille(c specimen.ClinicRate) string {
	n, ok := c.RejectionRate()
	if !ok {
		return "—"
	}
	return fmt.Sprintf("%d.%d%%", n/10, n%10)
}

// --- JSON API ---

type apiSpecimen struct {
	ID          int64      `json:"id"`
	Barcode     string     `json:"barcode"`
	ResidentID  int64      `json:"resident_id"`
	Resident    string     `json:"resident_name"`
	ClinicID    int64      `json:"clinic_id"`
	Clinic      string     `json:"clinic_name"`
	LabID       int64      `json:"lab_id"`
	Lab         string     `json:"lab_name"`
	Tests       []string   `json:"tests"`
	Tube        string     `json:"tube"`
	Status      string     `json:"status"`
	Box         string     `json:"box,omitempty"`
	Reason      string     `json:"reason,omitempty"`
	OrderedAt   time.Time  `json:"ordered_at"`
	CollectedAt *time.Time `json:"collected_at,omitempty"`
	ReceivedAt  *time.Time `json:"received_at,omitempty"`
	ClosedAt    *time.Time `json:"closed_at,omitempty"`
	LastScanAt  time.Time  `json:"last_scan_at"`
	Overdue     bool       `json:"overdue"`
	Label       string     `json:"label_url"`
}

func (s *Server) toAPISpecimen(sp *specimen.Specimen) apiSpecimen {
	return apiSpecimen{ID: sp.ID, Barcode: sp.Barcode, ResidentID: sp.ResidentID, Resident: sp.ResidentName, ClinicID: sp.ClinicID, Clinic: sp.ClinicName,
		LabID: sp.LabID, Lab: sp.LabName, Tests: strings.Split(sp.Tests, ","), Tube: string(sp.Tube), Status: string(sp.Status), Box: sp.BoxCode,
		Reason: string(sp.Reason), OrderedAt: sp.OrderedAt, CollectedAt: optTime(sp.CollectedAt), ReceivedAt: optTime(sp.ReceivedAt),
		ClosedAt: optTime(sp.ClosedAt), LastScanAt: sp.LastScanAt, Overdue: s.Specimens.Config.IsOverdue(sp, s.Now()),
		Label: fmt.Sprintf("/specimens/%d/label.svg", sp.ID)}
}

// apiSpecimenOrder: POST /api/v1/residents/{id}/specimens with {"lab_id",
// "tests": ["GLU", …], "tube", "note"}.
func (s *Server) apiSpecimenOrder(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in struct {
		LabID int64    `json:"lab_id"`
		Tests []string `json:"tests"`
		Tube  string   `json:"tube"`
		Note  string   `json:"note"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if len(in.Tests) > specimen.MaxTests {
		return care.Invalid([]care.FieldError{{Field: "tests", Key: "specimen.tests_many", Args: []any{specimen.MaxTests}}})
	}
	sp, err := s.Specimens.Order(r.Context(), rc.Actor, id, specimen.OrderInput{LabID: in.LabID, Tests: in.Tests, Tube: specimen.Tube(in.Tube), Note: in.Note})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, s.toAPISpecimen(sp))
	return nil
}

// apiSpecimenScan: POST /api/v1/specimens/scan with {"barcode", "step"
// (collect, receive, reject), "reason", "note"}.
func (s *Server) apiSpecimenScan(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in struct {
		Barcode string `json:"barcode"`
		Step    string `json:"step"`
		Reason  string `json:"reason"`
		Note    string `json:"note"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	res, err := s.Specimens.Scan(r.Context(), rc.Actor, specimen.ScanInput{Barcode: in.Barcode, Step: specimen.Step(in.Step), Reason: specimen.Reason(in.Reason), Note: in.Note})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"specimen": s.toAPISpecimen(res.Specimen), "past_stability": res.Late})
	return nil
}

type apiBox struct {
	ID        int64      `json:"id"`
	Code      string     `json:"code"`
	LabID     int64      `json:"lab_id"`
	TempC     float64    `json:"temp_c"`
	Courier   string     `json:"courier,omitempty"`
	Route     string     `json:"route,omitempty"`
	PackedAt  time.Time  `json:"packed_at"`
	HandedAt  *time.Time `json:"handed_at,omitempty"`
	Specimens int        `json:"specimens"`
	Label     string     `json:"label_url"`
}

func toAPIBox(b *specimen.Box) apiBox {
	return apiBox{ID: b.ID, Code: b.Code, LabID: b.LabID, TempC: b.Temp(), Courier: b.Courier, Route: b.Route, PackedAt: b.PackedAt,
		HandedAt: optTime(b.HandedAt), Specimens: b.Specimens, Label: fmt.Sprintf("/specimens/boxes/%d/label.svg", b.ID)}
}

// apiSpecimenPack: POST /api/v1/specimens/boxes with {"barcodes": […],
// "temp_c": 4.5}.
func (s *Server) apiSpecimenPack(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in struct {
		Barcodes []string `json:"barcodes"`
		TempC    *float64 `json:"temp_c"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if in.TempC == nil || math.Abs(*in.TempC) > 1000 {
		return care.Invalid([]care.FieldError{{Field: "temp_c", Key: "specimen.temp_number"}})
	}
	if len(in.Barcodes) > specimen.MaxPerBox {
		return care.Invalid([]care.FieldError{{Field: "barcodes", Key: "specimen.box_full", Args: []any{specimen.MaxPerBox}}})
	}
	b, err := s.Specimens.Pack(r.Context(), rc.Actor, in.Barcodes, int(math.Round(*in.TempC*10)))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toAPIBox(b))
	return nil
}

// apiSpecimenHandOver: POST /api/v1/specimens/boxes/{id}/hand-over with
// {"courier", "route"}.
func (s *Server) apiSpecimenHandOver(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in struct {
		Courier string `json:"courier"`
		Route   string `json:"route"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	b, err := s.Specimens.HandOver(r.Context(), rc.Actor, id, in.Courier, in.Route)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toAPIBox(b))
	return nil
}

// apiSpecimens: GET /api/v1/specimens — the board (open, boxes, closed).
func (s *Server) apiSpecimens(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	b, err := s.Specimens.List(r.Context(), rc.Actor)
	if err != nil {
		return err
	}
	open, done, boxes := []apiSpecimen{}, []apiSpecimen{}, []apiBox{}
	for i := range b.Open {
		open = append(open, s.toAPISpecimen(&b.Open[i]))
	}
	for i := range b.Done {
		done = append(done, s.toAPISpecimen(&b.Done[i]))
	}
	for i := range b.Boxes {
		boxes = append(boxes, toAPIBox(&b.Boxes[i]))
	}
	writeJSON(w, http.StatusOK, map[string]any{"open": open, "boxes": boxes, "closed": done})
	return nil
}

type apiSpecimenEvent struct {
	Step        string    `json:"step"`
	At          time.Time `json:"at"`
	Institution int64     `json:"institution_id"`
	Place       string    `json:"institution_name"`
	Account     int64     `json:"account_id"`
	Detail      string    `json:"detail,omitempty"`
}

// apiSpecimen: GET /api/v1/specimens/{id} with its steps.
func (s *Server) apiSpecimen(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	sp, evs, err := s.Specimens.Get(r.Context(), rc.Actor, id)
	if err != nil {
		return err
	}
	out := []apiSpecimenEvent{}
	for _, e := range evs {
		out = append(out, apiSpecimenEvent{string(e.Step), e.At, e.InstitutionID, e.PlaceName, e.AccountID, e.Detail})
	}
	writeJSON(w, http.StatusOK, map[string]any{"specimen": s.toAPISpecimen(sp), "events": out})
	return nil
}

// apiSpecimenResults: POST /api/v1/specimens/{id}/results with
// {"results": [...]} as POST /api/v1/residents/{id}/labs.
func (s *Server) apiSpecimenResults(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	return postLabResults(w, r, func(ins []lab.Input, prefix func(int) string) ([]*lab.Result, error) {
		return s.Specimens.Result(r.Context(), rc.Actor, id, ins, prefix)
	})
}

type apiClinicRate struct {
	ClinicID         int64   `json:"clinic_id"`
	Clinic           string  `json:"clinic_name"`
	Ordered          int     `json:"ordered"`
	Received         int     `json:"received"`
	Rejected         int     `json:"rejected"`
	Resulted         int     `json:"resulted"`
	Overdue          int     `json:"overdue"`
	RejectionPermill *int    `json:"rejection_permille"`
	TurnaroundMedian float64 `json:"turnaround_median_minutes"`
	TurnaroundP90    float64 `json:"turnaround_p90_minutes"`
}

// apiSpecimenIndicators: GET /api/v1/specimens/indicators?from=&to=.
func (s *Server) apiSpecimenIndicators(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	from, to, err := s.indicatorPeriod(r)
	if err != nil {
		return err
	}
	rates, err := s.Specimens.Indicators(r.Context(), rc.Actor, from, to)
	if err != nil {
		return err
	}
	out := []apiClinicRate{}
	for _, c := range rates {
		x := apiClinicRate{ClinicID: c.ClinicID, Clinic: c.ClinicName, Ordered: c.Ordered, Received: c.Received, Rejected: c.Rejected,
			Resulted: c.Resulted, Overdue: c.Overdue, TurnaroundMedian: c.TurnaroundMedian.Minutes(), TurnaroundP90: c.TurnaroundP90.Minutes()}
		if p, ok := c.RejectionRate(); ok {
			x.RejectionPermill = &p
		}
		out = append(out, x)
	}
	writeJSON(w, http.StatusOK, map[string]any{"clinics": out})
	return nil
}
