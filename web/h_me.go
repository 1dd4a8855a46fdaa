package web

import (
	"bytes"
	"fmt"
	"html/template"
	"image"
	"image/jpeg"
	"net/http"
	"strconv"
	"strings"
	"time"

	"countycare/care"
	"countycare/dicom"
	"countycare/elderly"
	"countycare/family"
	"countycare/lab"
	"countycare/myrecord"
	"countycare/org"
	"countycare/points"
	"countycare/proxy"
	"countycare/reading"
	"countycare/resident"
	"countycare/survey"

	"golang.org/x/image/draw"
)

// meView is /me: the record the resident (or their proxy) views, and
// whose records they may switch to.
type meView struct {
	R         residentView
	Own       bool          // viewing their own record (not a ward's)
	OwnID     int64         // the account's own resident, to switch back to
	Wards     []proxy.Grant // records the account may switch to
	Grants    []proxy.Grant // proxies on the account's own record (Own only)
	Record    *myrecord.Record
	BPChart   template.HTML // inline SVG, "" without readings
	FPGChart  template.HTML
	NextVisit care.Date
	Family    *meFamily
	Reports   []meReport
	Labs      []meLab
	Points    *points.Account
	MaxSteps  int
	Surveys   []survey.Invitation // the account's own open surveys (Own only)
	// The last elderly check-up (ElderlyShown: the resident is 65+ this
	// year) with its TCM guidance.
	ElderlyShown  bool
	Elderly       *elderly.Checkup
	ElderlyAdvice []tcmAdvice
	// Settlements and the open balances (kept as before).
	Settlements any
	Receivables any
}

// meReport is a signed diagnosis-center report as the resident reads it.
type meReport struct {
	Study    int64 // the reading study
	Preview  bool  // its image is previewed beside the signed report (not beside addenda)
	Modality string
	SignedAt time.Time
	Signer   string
	Summary  string
	Addendum bool
	Critical bool
}

// meLab is a lab result in the reader's language.
type meLab struct {
	Name, Value, Unit, Flag string
	Critical                bool
	At                      time.Time
}

// meReports lists the record's signed reports with their conclusions.
func (s *Server) meReports(rec *myrecord.Record) []meReport {
	var out []meReport
	for _, st := range rec.Studies {
		for _, rep := range st.Reports {
			sum := rep.Fields["text"]
			if rep.Kind == reading.ReportSigned && s.ReadFlow != nil {
				sum = rep.Fields[s.ReadFlow.Templates.For(rep.Template).Summary]
			}
			out = append(out, meReport{Study: st.ID, Preview: st.Preview != 0 && rep.Kind == reading.ReportSigned, Modality: st.Modality, SignedAt: rep.SignedAt, Signer: rep.SignerName, Summary: sum,
				Addendum: rep.Kind == reading.ReportAddendum, Critical: rep.Critical})
		}
	}
	return out
}

// mePreviewSide is the longest side, in pixels, of a report's preview on
// /me: a thumbnail for a 360-px phone on a weak link, so that a
// radiograph thousands of pixels a side costs kilobytes, not megabytes
// (the 512×512 CTs in testdata/dicom: 9.6 and 13.6 KB as JPEG).
const mePreviewSide = 320

// mePreview: GET /me/reports/{id}/preview, the first frame of a signed
// imaging report's study of the record the resident views, as a JPEG
// thumbnail; 404 for a study the page does not list or the server cannot
// render. Audited as the record's access (myrecord.ActPreview).
func (s *Server) mePreview(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	b, err := s.MyRecord.Preview(r.Context(), rc.Actor, id)
	if err != nil {
		return err
	}
	f, err := dicom.Parse(b)
	if err != nil {
		return notFound()
	}
	img, err := dicom.Render(f, 0, nil)
	if err != nil {
		return notFound()
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, thumbnail(img, mePreviewSide), &jpeg.Options{Quality: 80}); err != nil {
		return care.Internal("web.mePreview", err)
	}
	w.Header().Set("Content-Type", "image/jpeg")
	w.Header().Set("Cache-Control", "private, no-store")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.Write(buf.Bytes())
	return nil
}

// thumbnail scales img down (Catmull-Rom) so that its longer side is at
// most side pixels, keeping its aspect ratio; a smaller image is returned
// as it is. A grey image stays grey.
func thumbnail(img image.Image, side int) image.Image {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= side && h <= side {
		return img
	}
	if w >= h {
		w, h = side, max(1, h*side/w)
	} else {
		w, h = max(1, w*side/h), side
	}
	r := image.Rect(0, 0, w, h)
	var dst draw.Image = image.NewRGBA(r)
	if _, grey := img.(*image.Gray); grey {
		dst = image.NewGray(r)
	}
	draw.CatmullRom.Scale(dst, r, img, b, draw.Src, nil)
	return dst
}

// meLabs names the record's lab results in lang.
func meLabs(rec *myrecord.Record, lang string) []meLab {
	var out []meLab
	for _, r := range rec.Labs {
		name := r.Analyte
		if an, ok := lab.Lookup(r.Analyte); ok {
			name = an.Name
			if lang == "zh" {
				name = an.NameZh
			}
		}
		out = append(out, meLab{Name: name, Value: strconv.FormatFloat(r.Value, 'g', -1, 64), Unit: r.Unit, Flag: r.Flag,
			Critical: r.Critical != "", At: r.CollectedAt})
	}
	return out
}

// meFamily is the family-doctor contract in force and how to reach the team.
type meFamily struct {
	Contract *family.Contract
	Team     string
	Clinic   string
	Members  []meMember
}

type meMember struct {
	Name, Role, Phone string
}

// mePage gathers the resident's own page: their care, contract, bills,
// points and proxies. Every section is read as the resident's own access
// (or the proxy's), audited.
func (s *Server) mePage(r *http.Request, rc *reqCtx) (pageData, error) {
	ctx := r.Context()
	a := rc.Actor
	rec, err := s.MyRecord.Of(ctx, a)
	if err != nil {
		return pageData{}, err
	}
	res := rec.Resident
	t, err := s.Orgs.Tree(ctx)
	if err != nil {
		return pageData{}, err
	}
	v := &meView{R: s.viewOf(t, a, res), Own: a.Proxy == 0, OwnID: a.ResidentID, Record: rec, NextVisit: rec.NextVisit()}
	// Identity numbers are masked on /me too: a shared or borrowed phone
	// must not show them in full.
	v.R.IDNumber, v.R.Unmasked = res.MaskedIDNumber(), false
	if a.Proxy != 0 {
		v.OwnID = a.Proxy
		v.R.Phone = res.MaskedPhone()
	}
	v.Reports, v.Labs = s.meReports(rec), meLabs(rec, rc.Lang)
	sbp, dbp, fpg := rec.Trends()
	v.BPChart = trendSVG(s.msgs.T(rc.Lang, "me.bp_chart"), "mmHg", 1, []trendSeries{
		{s.msgs.T(rc.Lang, "me.sbp"), "sbp", sbp}, {s.msgs.T(rc.Lang, "me.dbp"), "dbp", dbp}})
	v.FPGChart = trendSVG(s.msgs.T(rc.Lang, "me.fpg_chart"), "mmol/L", 10, []trendSeries{{s.msgs.T(rc.Lang, "me.fpg"), "fpg", fpg}})
	if s.Proxies != nil {
		if v.Wards, err = s.Proxies.Wards(ctx, a); err != nil {
			return pageData{}, err
		}
		if v.Own {
			if v.Grants, err = s.Proxies.OfWard(ctx, a, res); err != nil {
				return pageData{}, err
			}
		}
	}
	if s.Family != nil {
		if v.Family, err = s.meFamily(r, rc, t, res); err != nil {
			return pageData{}, err
		}
	}
	if v.Settlements, v.Receivables, err = s.mySettlements(r, rc); err != nil {
		return pageData{}, err
	}
	if s.Points != nil {
		if v.Points, err = s.Points.LedgerOf(ctx, a, res); err != nil {
			return pageData{}, err
		}
		v.MaxSteps = points.MaxSteps
	}
	if s.Elderly != nil && s.Elderly.Config.Eligible(res.BirthDate, care.Today(s.Now()).Year) {
		ks, err := s.Elderly.OfResident(ctx, a, res)
		if err != nil {
			return pageData{}, err
		}
		if v.ElderlyShown = true; len(ks) > 0 {
			v.Elderly, v.ElderlyAdvice = &ks[0], s.adviceFor(rc.Lang, ks[0].TCM)
		}
	}
	if s.Surveys != nil && v.Own {
		if v.Surveys, err = s.Surveys.Mine(ctx, a); err != nil {
			return pageData{}, err
		}
	}
	return pageData{Title: s.msgs.T(rc.Lang, "me.title"), Data: v, Form: map[string][]string{"date": {care.Today(s.Now()).String()}}}, nil
}

// meFamily is the contract in force with the team's names and phones.
func (s *Server) meFamily(r *http.Request, rc *reqCtx, t *org.Tree, res *resident.Resident) (*meFamily, error) {
	p, err := s.Family.PanelOf(r.Context(), rc.Actor, res)
	if err != nil || p.Current == nil {
		return nil, err
	}
	f := &meFamily{Contract: p.Current}
	tm, err := s.Family.Team(r.Context(), rc.Actor, p.Current.TeamID)
	if care.IsCode(err, care.ENOTFOUND) {
		return f, nil
	}
	if err != nil {
		return nil, err
	}
	f.Team = tm.Name
	if in := t.Get(tm.InstitutionID); in != nil {
		f.Clinic = in.Name
	}
	for _, m := range tm.Members {
		mm := meMember{Name: m.Name, Role: m.Role}
		if pr, err := s.Store.Practitioner(r.Context(), m.PractitionerID); err == nil {
			mm.Phone = pr.Phone
		}
		f.Members = append(f.Members, mm)
	}
	return f, nil
}

// trendSeries is one line of a trend chart.
type trendSeries struct {
	Label string
	Class string // CSS class of the line (colour)
	Pts   []myrecord.Point
}

// trendSVG draws series as an inline SVG line chart (no script: it works
// in WeChat's in-app browser and at 360 px, scaling to the width).
// Values are divided by scale for the axis labels (glucose is kept in
// tenths). The chart is "" when no series has a point.
func trendSVG(title, unit string, scale int, series []trendSeries) template.HTML {
	const w, h, left, right, top, bottom = 320.0, 170.0, 34.0, 8.0, 10.0, 24.0
	var all []myrecord.Point
	for _, s := range series {
		all = append(all, s.Pts...)
	}
	if len(all) == 0 {
		return ""
	}
	lo, hi := all[0].Value, all[0].Value
	first, last := all[0].On, all[0].On
	for _, p := range all {
		lo, hi = min(lo, p.Value), max(hi, p.Value)
		if p.On.Before(first) {
			first = p.On
		}
		if p.On.After(last) {
			last = p.On
		}
	}
	pad := max((hi-lo)/10, scale)
	lo, hi = max(lo-pad, 0), hi+pad
	days := last.Time().Sub(first.Time()).Hours() / 24
	x := func(d care.Date) float64 {
		if days == 0 {
			return left + (w-left-right)/2
		}
		return left + (w-left-right)*d.Time().Sub(first.Time()).Hours()/24/days
	}
	y := func(v int) float64 { return top + (h-top-bottom)*float64(hi-v)/float64(hi-lo) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="trend" viewBox="0 0 %.0f %.0f" role="img" aria-label="%s" preserveAspectRatio="xMidYMid meet"><title>%s</title>`,
		w, h, template.HTMLEscapeString(title), template.HTMLEscapeString(title))
	for i := 0; i <= 4; i++ {
		v := lo + (hi-lo)*i/4
		fmt.Fprintf(&b, `<line class="grid" x1="%.0f" x2="%.0f" y1="%.1f" y2="%.1f"/><text class="axis" x="%.0f" y="%.1f" text-anchor="end">%s</text>`,
			left, w-right, y(v), y(v), left-3, y(v)+3, axisValue(v, scale))
	}
	fmt.Fprintf(&b, `<text class="axis" x="%.0f" y="%.0f">%s</text><text class="axis" x="%.0f" y="%.0f" text-anchor="end">%s</text>`,
		left, h-6, first, w-right, h-6, last)
	fmt.Fprintf(&b, `<text class="axis" x="2" y="%.0f">%s</text>`, top-1, unit)
	for _, s := range series {
		if len(s.Pts) == 0 {
			continue
		}
		var pts []string
		for _, p := range s.Pts {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(p.On), y(p.Value)))
		}
		fmt.Fprintf(&b, `<polyline class="line %s" points="%s"/>`, s.Class, strings.Join(pts, " "))
		for _, p := range s.Pts {
			fmt.Fprintf(&b, `<circle class="dot %s" cx="%.1f" cy="%.1f" r="2.5"><title>%s %s %s</title></circle>`, s.Class, x(p.On), y(p.Value),
				template.HTMLEscapeString(s.Label), p.On, axisValue(p.Value, scale))
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// axisValue prints v/scale with one decimal when scale is 10.
func axisValue(v, scale int) string {
	if scale == 10 {
		return fmt.Sprintf("%d.%d", v/10, v%10)
	}
	return fmt.Sprint(v)
}
