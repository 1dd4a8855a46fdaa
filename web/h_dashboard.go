package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	"countycare/care"
	"countycare/kpi"
)

// The county dashboard (一张图, issue 14 §1): GET /dashboard is the
// viewer's own scope (the county for the health commission's analysts,
// their township for its staff), GET /dashboard/units/{id} a unit below it,
// GET /api/v1/dashboard/trend an indicator's months, which the page loads
// after first paint. docs/dashboard.md.

// dashView is the page's data.
type dashView struct {
	B       *kpi.Board
	Ind     kpi.Indicator // the indicator of the charts and the map
	Periods []periodOption
	Groups  []dashGroup
	Green   int
	Amber   int
	Red     int
	Bars    string // JSON for the bar chart: the units below with the chart indicator
	Map     []mapTile
	ViewBox string          // the outlines' SVG viewBox; "" without a boundary file or an outlined unit
	Shapes  []mapShape      // the units below with an outline (the others stay tiles in Map)
	Cols    []kpi.Indicator // every indicator of the board (the chart indicator's choices)
	// TableCols are the columns of the table of units below: the
	// indicators of the groups not collapsed.
	TableCols []kpi.Indicator
}

type periodOption struct {
	Value, Label string
	Selected     bool
}

type dashGroup struct {
	Key  string
	Rows []kpi.Row
	// OnDemand: the group is shown collapsed and its body fetched when
	// opened (collapsedGroups); its page is the no-script fallback.
	OnDemand bool
}

// collapsedGroups are the dashboard's groups shown collapsed, their rows
// fetched from GET /dashboard/groups/{group} when opened: the page at
// 360 px must stay within its 150 KB (docs/benchmarks.md), so a group
// added after the first seven comes this way. Their columns are not in the
// table of units below (the group's own page has them).
var collapsedGroups = map[string]bool{"reading": true, "casemix": true}

// mapTile is one unit below on the schematic map, coloured by its light.
type mapTile struct {
	ID    int64
	Name  string
	Row   kpi.Row
	Label string // the value as the page shows it
}

// mapShape is one unit below drawn from the county's boundary file.
type mapShape struct {
	mapTile
	D string // SVG path
}

// dashboard serves GET /dashboard and GET /dashboard/units/{id}.
func (s *Server) dashboard(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var unit int64
	if r.PathValue("id") != "" {
		var err error
		if unit, err = pathID(r); err != nil {
			return err
		}
	}
	today := care.Today(s.Now())
	p, perr := kpi.YearOf(today), error(nil)
	if v := r.URL.Query().Get("period"); v != "" {
		p, perr = kpi.ParsePeriod(v, today)
	}
	ind, ok := kpi.Catalogue[0], true
	if v := r.URL.Query().Get("indicator"); v != "" {
		if ind, ok = kpi.Lookup(v); !ok || !ind.Share() {
			perr = care.Invalid([]care.FieldError{{Field: "indicator", Key: "kpi.unknown_indicator", Args: []any{v}}})
		}
	}
	pd := pageData{Title: s.msgs.T(rc.Lang, "kpi.title"), Form: r.URL.Query()}
	if perr != nil {
		pd.Data = &dashView{Periods: s.periodOptions(rc.Lang, today, kpi.YearOf(today))}
		return s.formError(w, r, rc, "dashboard", pd, perr)
	}
	b, err := s.Dashboard.Board(r.Context(), rc.Actor, unit, p)
	if err != nil {
		return err
	}
	v := &dashView{B: b, Ind: ind, Periods: s.periodOptions(rc.Lang, today, p)}
	for _, row := range b.Rows {
		if n := len(v.Groups); n == 0 || v.Groups[n-1].Key != row.Indicator.Group {
			v.Groups = append(v.Groups, dashGroup{Key: row.Indicator.Group, OnDemand: collapsedGroups[row.Indicator.Group]})
		}
		v.Groups[len(v.Groups)-1].Rows = append(v.Groups[len(v.Groups)-1].Rows, row)
		if row.Indicator.Share() { // the charts are of shares
			v.Cols = append(v.Cols, row.Indicator)
		}
		if !collapsedGroups[row.Indicator.Group] {
			v.TableCols = append(v.TableCols, row.Indicator)
		}
		switch row.Light {
		case kpi.LightGreen:
			v.Green++
		case kpi.LightAmber:
			v.Amber++
		case kpi.LightRed:
			v.Red++
		}
	}
	// The family-doctor points per team: a collapsed group of its own.
	v.Groups = append(v.Groups, dashGroup{Key: pointsGroup, OnDemand: true})
	if b.Village() || !hasIndicator(b.Rows, ind.ID) {
		v.Ind = b.Rows[0].Indicator
	}
	type bar struct {
		ID    int64  `json:"id"`
		Name  string `json:"name"`
		BP    *int   `json:"bp"` // nil: no data
		Light string `json:"light"`
	}
	var bars []bar
	var codes []string
	for _, c := range b.Children {
		codes = append(codes, c.Unit.AreaCode)
	}
	vb, shapes := s.cfg.Boundaries.Map(codes)
	d := map[string]string{}
	for _, sh := range shapes {
		d[sh.Code] = sh.D
	}
	v.ViewBox = vb
	for _, c := range b.Children {
		row := rowOf(c.Rows, v.Ind.ID)
		t := mapTile{ID: c.Unit.ID, Name: c.Unit.Name, Row: row, Label: s.valueLabel(rc.Lang, row.Value)}
		if p, ok := d[c.Unit.AreaCode]; ok && c.Unit.AreaCode != "" {
			v.Shapes = append(v.Shapes, mapShape{mapTile: t, D: p})
		} else {
			v.Map = append(v.Map, t)
		}
		br := bar{ID: c.Unit.ID, Name: c.Unit.Name, Light: string(row.Light)}
		if row.Value.State == kpi.OK {
			bp := row.Value.BP
			br.BP = &bp
		}
		bars = append(bars, br)
	}
	js, _ := json.Marshal(bars)
	v.Bars = string(js)
	pd.Title = b.Unit.Name + " · " + s.msgs.T(rc.Lang, "kpi.title")
	pd.Data = v
	s.render(w, r, rc, http.StatusOK, "dashboard", pd)
	return nil
}

func hasIndicator(rows []kpi.Row, id string) bool { return rowOf(rows, id).Indicator.ID == id }

func rowOf(rows []kpi.Row, id string) kpi.Row {
	for _, r := range rows {
		if r.Indicator.ID == id {
			return r
		}
	}
	return kpi.Row{}
}

// valueLabel shows a value: "62.5%", "no data", or "data error".
func (s *Server) valueLabel(lang string, v kpi.Value) string {
	switch {
	case v.State == kpi.OK && v.Minutes:
		return s.msgs.T(lang, "kpi.minutes", v.Rate.Num)
	case v.State == kpi.OK && v.Index:
		return indexBP(v.BP)
	case v.State == kpi.OK:
		return pctBP(v.BP)
	case v.State == kpi.DataError:
		return s.msgs.T(lang, "kpi.data_error")
	}
	return s.msgs.T(lang, "kpi.no_data")
}

// targetLabel shows a row's target without its sign: "62.0%", "15 min".
func (s *Server) targetLabel(lang string, row kpi.Row) string {
	if row.Indicator.InMinutes() {
		return s.msgs.T(lang, "kpi.minutes", row.TargetMinutes())
	}
	if row.Indicator.InIndex() {
		return indexBP(row.TargetBP)
	}
	return pctBP(row.TargetBP)
}

// periodLabel names a period in the reader's language.
func (s *Server) periodLabel(lang string, p kpi.Period) string {
	switch p.Kind {
	case kpi.Quarter:
		return s.msgs.T(lang, "kpi.period.quarter", p.Year, p.N)
	case kpi.Month:
		return s.msgs.T(lang, "kpi.period.month", p.Year, p.N)
	}
	return s.msgs.T(lang, "kpi.period.year", p.Year)
}

// periodOptions are the periods offered: this year and last, this year's
// quarters and months to date.
func (s *Server) periodOptions(lang string, today care.Date, sel kpi.Period) []periodOption {
	ps := []kpi.Period{kpi.YearOf(today), {Kind: kpi.Year, Year: today.Year - 1}}
	for q := 1; q <= (int(today.Month)+2)/3; q++ {
		ps = append(ps, kpi.Period{Kind: kpi.Quarter, Year: today.Year, N: q})
	}
	for m := int(today.Month); m >= 1; m-- {
		ps = append(ps, kpi.Period{Kind: kpi.Month, Year: today.Year, N: m})
	}
	found := false
	var out []periodOption
	for _, p := range ps {
		found = found || p == sel
		out = append(out, periodOption{Value: p.String(), Label: s.periodLabel(lang, p), Selected: p == sel})
	}
	if !found { // a period typed into the address: offer it too
		out = append(out, periodOption{Value: sel.String(), Label: s.periodLabel(lang, sel), Selected: true})
	}
	return out
}

// apiDashboardTrend is GET /api/v1/dashboard/trend?unit=&indicator=&period=:
// the indicator's value in each month from January of the period's year.
func (s *Server) apiDashboardTrend(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	q := r.URL.Query()
	p, unit, err := s.dashQuery(q)
	if err != nil {
		return err
	}
	pts, err := s.Dashboard.Trend(r.Context(), rc.Actor, unit, q.Get("indicator"), p)
	if err != nil {
		return err
	}
	type point struct {
		Month string `json:"month"` // the last day counted: the trend is the year to this day
		Label string `json:"label"`
		BP    *int   `json:"bp"` // null: no data (or a data error)
		Text  string `json:"text"`
	}
	out := struct {
		Points []point `json:"points"`
	}{Points: []point{}}
	today := care.Today(s.Now())
	for _, pt := range pts {
		end := pt.Month.To(today)
		x := point{Month: end.String(), Label: s.msgs.T(rc.Lang, "kpi.month_short", int(end.Month)), Text: s.valueLabel(rc.Lang, pt.Value)}
		if pt.Value.State == kpi.OK {
			bp := pt.Value.BP
			x.BP = &bp
		}
		out.Points = append(out.Points, x)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// dashQuery reads the period (default: this year) and the unit (0: the
// viewer's own) of the dashboard's trend, export and report URLs.
// Errors: EINVALID (a bad period), ENOTFOUND (a malformed unit, answered as
// one out of scope would be).
func (s *Server) dashQuery(q url.Values) (kpi.Period, int64, error) {
	today := care.Today(s.Now())
	p := kpi.YearOf(today)
	if v := q.Get("period"); v != "" {
		var err error
		if p, err = kpi.ParsePeriod(v, today); err != nil {
			return p, 0, err
		}
	}
	var unit int64
	if v := q.Get("unit"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return p, 0, care.Errorf(care.ENOTFOUND, "error.not_found")
		}
		unit = id
	}
	return p, unit, nil
}

// Collapsed reports whether group is shown collapsed and fetched on demand.
func (v *dashView) Collapsed(group string) bool { return collapsedGroups[group] }
