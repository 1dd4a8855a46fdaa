package web

import (
	"net/http"
	"net/url"
	"strconv"

	"countycare/care"
	"countycare/kpi"
)

// The dashboard's points group (issue 14 §1: points): the family-doctor
// points awarded per team, kept per team and month (kpi.TeamPoints), shown
// collapsed on the board (pointsGroup) and fetched on demand from
// GET /dashboard/groups/points like the other collapsed groups; each
// team's figure opens the awards behind it,
// GET /dashboard/units/{id}/records?indicator=points&team=&period=.
// docs/dashboard.md.

// pointsGroup is the points group's key: a collapsed group of its own,
// not an indicator of the catalogue (a count per team, with no target).
const pointsGroup = "points"

// pointsView is the points group's data.
type pointsView struct {
	P *kpi.PointsBoard
}

// dashboardPoints serves GET /dashboard/groups/points (part=1: the fragment).
func (s *Server) dashboardPoints(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	q := r.URL.Query()
	p, unit, err := s.dashQuery(q)
	if err != nil {
		return err
	}
	pb, err := s.Dashboard.TeamPoints(r.Context(), rc.Actor, unit, p)
	if err != nil {
		return err
	}
	pd := pageData{Title: pb.Unit.Name + " · " + s.msgs.T(rc.Lang, "kpi.group.points"), Data: &pointsView{P: pb}}
	if q.Get("part") == "1" {
		s.renderBlock(w, r, rc, "dashboard_points", "dashpoints", pd)
		return nil
	}
	s.render(w, r, rc, http.StatusOK, "dashboard_points", pd)
	return nil
}

// pointsRecordsView is the page of the awards behind a team's figure.
type pointsRecordsView struct {
	P          *kpi.TeamAwardsPage
	Prev, Next url.Values
}

// dashboardPointsRecords serves the records page for indicator=points: the
// awards behind one team's figure (team=), within the unit.
func (s *Server) dashboardPointsRecords(w http.ResponseWriter, r *http.Request, rc *reqCtx, unit int64, p kpi.Period, page int) error {
	q := r.URL.Query()
	team, err := strconv.ParseInt(q.Get("team"), 10, 64)
	if err != nil || team <= 0 {
		return care.Errorf(care.ENOTFOUND, "error.not_found")
	}
	ap, err := s.Dashboard.TeamAwards(r.Context(), rc.Actor, unit, team, p, page)
	if err != nil {
		return err
	}
	v := &pointsRecordsView{P: ap}
	at := func(n int) url.Values {
		return url.Values{"indicator": {"points"}, "team": {q.Get("team")}, "period": {p.String()}, "page": {strconv.Itoa(n)}}
	}
	if ap.Page > 1 {
		v.Prev = at(ap.Page - 1)
	}
	if ap.Page < ap.Pages {
		v.Next = at(ap.Page + 1)
	}
	s.render(w, r, rc, http.StatusOK, "dashboard_points_records", pageData{Title: ap.Team.Name + " · " + s.msgs.T(rc.Lang, "kpi.points.title"), Data: v})
	return nil
}
