package web

import (
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"countycare/appraisal"
	"countycare/care"
	"countycare/kpi"
	"countycare/org"
)

// The performance appraisal (绩效考核, issue 14 §2): GET /appraisal is the
// viewer's own scope for a year (the county for the health commission's
// analysts, their township for its staff), GET /appraisal/units/{id} a unit
// below — a village clinic is its doctors' appraisal — and
// GET /api/v1/appraisal the same as JSON. docs/appraisal.md.

// appraisalView is the page's data.
type appraisalView struct {
	R       *appraisal.Report
	Years   []periodOption
	Doctors []org.Practitioner // a village clinic's doctors, the people its appraisal is of
	// Teams are the family-doctor teams of a township (a village clinic's:
	// its township's, whose teams serve the village) with their points per
	// contracted resident over the year (kpi.Service.TeamPoints).
	Teams     []kpi.TeamPoints
	TeamsUnit *org.Institution
}

// appraisalYear reads ?year= (default: this year). Errors: EINVALID (field year).
func (s *Server) appraisalYear(r *http.Request) (int, error) {
	today := care.Today(s.Now())
	v := r.URL.Query().Get("year")
	if v == "" {
		return today.Year, nil
	}
	y, err := strconv.Atoi(v)
	if err != nil || y < 2000 || y > today.Year {
		return 0, care.Invalid([]care.FieldError{{Field: "year", Key: "appraisal.year_invalid"}})
	}
	return y, nil
}

// yearOptions are the years offered: this year and the two before.
func (s *Server) yearOptions(lang string, today care.Date, sel int) []periodOption {
	var out []periodOption
	for y := today.Year; y >= today.Year-2; y-- {
		out = append(out, periodOption{Value: strconv.Itoa(y), Label: s.periodLabel(lang, kpi.Period{Kind: kpi.Year, Year: y}), Selected: y == sel})
	}
	return out
}

// appraisalUnit reads the unit of the path (0: the viewer's root).
func appraisalUnit(r *http.Request) (int64, error) {
	if r.PathValue("id") == "" {
		return 0, nil
	}
	return pathID(r)
}

// appraisalPage serves GET /appraisal and GET /appraisal/units/{id}.
func (s *Server) appraisalPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	unit, err := appraisalUnit(r)
	if err != nil {
		return err
	}
	today := care.Today(s.Now())
	pd := pageData{Title: s.msgs.T(rc.Lang, "appraisal.title"), Form: r.URL.Query()}
	year, yerr := s.appraisalYear(r)
	v := &appraisalView{Years: s.yearOptions(rc.Lang, today, year)}
	pd.Data = v
	if yerr != nil {
		return s.formError(w, r, rc, "appraisal", pd, yerr)
	}
	if v.R, err = s.Appraisal.Appraise(r.Context(), rc.Actor, unit, year); err != nil {
		return err
	}
	if v.R.Set == appraisal.Doctors {
		if v.Doctors, err = s.Store.Practitioners(r.Context(), org.PractitionerFilter{Institutions: []int64{v.R.Unit.ID}, Limit: 50}); err != nil {
			return err
		}
	}
	if err := s.appraisalTeams(r, rc, v, year); err != nil {
		return err
	}
	pd.Title = v.R.Unit.Name + " · " + pd.Title
	s.render(w, r, rc, http.StatusOK, "appraisal", pd)
	return nil
}

// appraisalLine is one scored indicator in the API.
type appraisalLine struct {
	Indicator string `json:"indicator"`
	State     string `json:"state"` // ok, no_data, data_error
	Num       int    `json:"numerator"`
	Den       int    `json:"denominator"`
	BP        *int   `json:"value_bp"` // null unless state is ok
	TargetBP  int    `json:"target_bp"`
	Weight    int    `json:"weight"`
	Points    *int   `json:"points_centi"` // null unless state is ok
}

// appraisalScored is one unit's appraisal in the API.
type appraisalScored struct {
	Unit      int64           `json:"unit"`
	Name      string          `json:"name"`
	Set       string          `json:"appraisal"`
	Total     int             `json:"total"`
	Available int             `json:"available"`
	Score     *int            `json:"score_centi"` // null: no data
	Lines     []appraisalLine `json:"lines"`
}

func toAppraisalScored(sc appraisal.Scored) appraisalScored {
	out := appraisalScored{Unit: sc.Unit.ID, Name: sc.Unit.Name, Set: string(sc.Set), Total: sc.Score.Total, Available: sc.Score.Available, Lines: []appraisalLine{}}
	if sc.Score.HasData {
		v := sc.Score.Scaled
		out.Score = &v
	}
	for _, l := range sc.Score.Lines {
		al := appraisalLine{Indicator: l.Indicator.ID, State: "no_data", Num: l.Value.Rate.Num, Den: l.Value.Rate.Den, TargetBP: l.TargetBP, Weight: l.Weight}
		switch {
		case l.Scored():
			bp, pts := l.Value.BP, l.Points
			al.State, al.BP, al.Points = "ok", &bp, &pts
		case l.Value.Faulty():
			al.State = "data_error"
		}
		out.Lines = append(out.Lines, al)
	}
	return out
}

// apiAppraisal is GET /api/v1/appraisal?unit=&year=: a unit's appraisal and
// those of the units below it; scores and points in hundredths of a point,
// null for "no data".
func (s *Server) apiAppraisal(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var unit int64
	if v := r.URL.Query().Get("unit"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return care.Errorf(care.ENOTFOUND, "error.not_found")
		}
		unit = id
	}
	year, err := s.appraisalYear(r)
	if err != nil {
		return err
	}
	rep, err := s.Appraisal.Appraise(r.Context(), rc.Actor, unit, year)
	if err != nil {
		return err
	}
	out := struct {
		Year     int               `json:"year"`
		From     string            `json:"from"`
		To       string            `json:"to"`
		Unit     appraisalScored   `json:"unit"`
		Children []appraisalScored `json:"children"`
	}{Year: rep.Year, From: rep.From.String(), To: rep.To.String(), Unit: toAppraisalScored(rep.Scored), Children: []appraisalScored{}}
	for _, c := range rep.Children {
		out.Children = append(out.Children, toAppraisalScored(c))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// appraisalExport serves GET /appraisal/export.csv?unit=&year=: the unit's
// and the units below's appraisal, one row per unit and indicator, for a
// spreadsheet (UTF-8 with a BOM, the reader's language, formula-safe
// names); scope, refusals and the audit row are the page's.
func (s *Server) appraisalExport(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	return s.appraisalExportAs(w, r, rc, false)
}

// appraisalExportXLSX serves GET /appraisal/export.xlsx?unit=&year=: the
// same rows as an XLSX workbook (excelize; counts and weights as numbers).
func (s *Server) appraisalExportXLSX(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	return s.appraisalExportAs(w, r, rc, true)
}

func (s *Server) appraisalExportAs(w http.ResponseWriter, r *http.Request, rc *reqCtx, xlsx bool) error {
	var unit int64
	if v := r.URL.Query().Get("unit"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return care.Errorf(care.ENOTFOUND, "error.not_found")
		}
		unit = id
	}
	year, err := s.appraisalYear(r)
	if err != nil {
		return err
	}
	rep, err := s.Appraisal.Appraise(r.Context(), rc.Actor, unit, year)
	if err != nil {
		return err
	}
	t := func(k string, a ...any) string { return s.msgs.T(rc.Lang, k, a...) }
	name := csvSafe // a unit's name in a CSV must not run as a formula; an XLSX cell is text
	if xlsx {
		name = func(s string) string { return s }
	}
	rows := [][]string{{t("kpi.unit"), t("appraisal.set"), t("appraisal.score"), t("kpi.indicator"), t("appraisal.csv_numerator"), t("appraisal.csv_denominator"),
		t("kpi.value"), t("kpi.target"), t("appraisal.weight"), t("appraisal.points")}}
	for _, u := range append([]appraisal.Scored{rep.Scored}, rep.Children...) {
		score := t("kpi.no_data")
		if u.Score.HasData {
			score = centiPoints(u.Score.Scaled)
		}
		for _, l := range u.Score.Lines {
			points := t("appraisal.not_scored")
			if l.Scored() {
				points = centiPoints(l.Points)
			}
			rows = append(rows, []string{name(u.Unit.Name), t("appraisal.set." + string(u.Set)), score, t(l.Indicator.NameKey()),
				strconv.Itoa(l.Value.Rate.Num), strconv.Itoa(l.Value.Rate.Den), s.valueLabel(rc.Lang, l.Value), pctBP(l.TargetBP), strconv.Itoa(l.Weight), points})
		}
	}
	file := fmt.Sprintf("appraisal-%d-%d", rep.Unit.ID, year)
	if xlsx {
		b, err := xlsxOf([]sheet{{Name: t("appraisal.title"), Rows: rows}})
		if err != nil {
			return care.Internal("web.appraisalExportXLSX", err)
		}
		w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
		w.Header().Set("Content-Disposition", `attachment; filename="`+file+`.xlsx"`)
		w.Write(b)
		return nil
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+file+`.csv"`)
	io.WriteString(w, "\ufeff")
	cw := csv.NewWriter(w)
	cw.WriteAll(rows)
	return cw.Error()
}

// appraisalTeams fills the teams of a township's or a village clinic's
// appraisal: the township's own family-doctor teams with their points per
// contracted resident (docs/points.md), from the dashboard's kept figures.
// Above a township the dashboard's points group lists them per unit.
func (s *Server) appraisalTeams(r *http.Request, rc *reqCtx, v *appraisalView, year int) error {
	u := v.R.Unit
	if u.Kind == org.KindVillageClinic {
		t, err := s.Orgs.Tree(r.Context())
		if err != nil {
			return err
		}
		if u = t.Get(u.ParentID); u == nil {
			return nil
		}
	}
	if u.Kind != org.KindSubCenter && u.Kind != org.KindCentralHC && u.Kind != org.KindTownshipHC {
		return nil
	}
	pb, err := s.Dashboard.TeamPoints(r.Context(), rc.Actor, u.ID, kpi.Period{Kind: kpi.Year, Year: year})
	if err != nil {
		return err
	}
	v.TeamsUnit = u
	for _, ut := range pb.Units {
		if ut.Unit.ID == u.ID {
			v.Teams = ut.Teams
		}
	}
	return nil
}
