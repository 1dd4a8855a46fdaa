package web

import (
	"net/http"

	"countycare/care"
	"countycare/kpi"
)

// GET /dashboard/groups/{group}?unit=&period=[&part=1]: one group of a
// board — its indicators at the unit and at each unit below — as a page of
// its own (the no-script way to a collapsed group, and a link to share), or
// with part=1 as the fragment the dashboard fetches when the group's
// <details> is opened (collapsedGroups). Read from the same (scope, period)
// snapshot as the board; scope, 404 and audit as the board's.
// docs/dashboard.md.

// groupView is the group page's data.
type groupView struct {
	B     *kpi.Board
	Group dashGroup
	Cols  []kpi.Indicator
	// Below are the units below with the group's rows only.
	Below []kpi.Child
}

func (s *Server) dashboardGroup(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	key := r.PathValue("group")
	if key == pointsGroup {
		return s.dashboardPoints(w, r, rc)
	}
	if !kpi.HasGroup(key) {
		return care.Errorf(care.ENOTFOUND, "error.not_found")
	}
	q := r.URL.Query()
	p, unit, err := s.dashQuery(q)
	if err != nil {
		return err
	}
	b, err := s.Dashboard.Board(r.Context(), rc.Actor, unit, p)
	if err != nil {
		return err
	}
	v := &groupView{B: b, Group: dashGroup{Key: key, Rows: groupRows(b.Rows, key)}}
	for _, row := range v.Group.Rows {
		v.Cols = append(v.Cols, row.Indicator)
	}
	for _, c := range b.Children {
		v.Below = append(v.Below, kpi.Child{Unit: c.Unit, Rows: groupRows(c.Rows, key)})
	}
	pd := pageData{Title: b.Unit.Name + " · " + s.msgs.T(rc.Lang, "kpi.group."+key), Data: v}
	if q.Get("part") == "1" {
		s.renderBlock(w, r, rc, "dashboard_group", "dashgroup", pd)
		return nil
	}
	s.render(w, r, rc, http.StatusOK, "dashboard_group", pd)
	return nil
}

// groupRows are the rows of one group.
func groupRows(rows []kpi.Row, group string) []kpi.Row {
	var out []kpi.Row
	for _, row := range rows {
		if row.Indicator.Group == group {
			out = append(out, row)
		}
	}
	return out
}
