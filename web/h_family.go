package web

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"countycare/access"
	"countycare/care"
	"countycare/family"
	"countycare/org"
	"countycare/resident"
)

// familyRole reports whether the role signs contracts and records
// services: village and township doctors (access.Registrars).
func familyRole(r care.Role) bool { return slices.Contains(access.Registrars, r) }

// familyView is the contract panel of the resident page.
type familyView struct {
	Panel    *family.Panel
	Teams    []family.Team // the teams that serve the resident's village
	Packages []family.Package
	TeamName map[int64]string
	PkgName  map[int64]string
	Kinds    []family.Kind
	Parties  []string
	Methods  []string
	Min      int
}

func (s *Server) familyData(r *http.Request, rc *reqCtx, t *org.Tree, res *resident.Resident) (*familyView, error) {
	p, err := s.Family.PanelOf(r.Context(), rc.Actor, res)
	if err != nil {
		return nil, err
	}
	teams, err := s.Family.Teams(r.Context(), rc.Actor)
	if err != nil {
		return nil, err
	}
	pkgs, err := s.Family.Packages(r.Context(), rc.Actor)
	if err != nil {
		return nil, err
	}
	v := &familyView{Panel: p, TeamName: map[int64]string{}, PkgName: map[int64]string{}, Kinds: family.Kinds,
		Parties: family.ConsentParties, Methods: family.ConsentMethods, Min: family.KeyGroupMinServices}
	for _, tm := range teams {
		v.TeamName[tm.ID] = tm.Name
		if tm.Active && t.IsWithin(res.VillageID, tm.InstitutionID) {
			v.Teams = append(v.Teams, tm)
		}
	}
	for _, pk := range pkgs {
		v.PkgName[pk.ID] = pk.Name
		if pk.Active {
			v.Packages = append(v.Packages, pk)
		}
	}
	return v, nil
}

// consentFrom reads the consent fields of a contract form; consent_at is
// local time (Asia/Shanghai) from a datetime-local input.
func consentFrom(get func(string) string) family.Consent {
	c := family.Consent{By: get("consent_by"), Name: get("consent_name"), Method: get("consent_method"), Witness: get("consent_witness")}
	if t, err := time.ParseInLocation("2006-01-02T15:04", strings.TrimSpace(get("consent_at")), care.Shanghai); err == nil {
		c.At = t
	}
	return c
}

func formID(get func(string) string, k string) int64 {
	n, _ := strconv.ParseInt(strings.TrimSpace(get(k)), 10, 64)
	return n
}

func formDate(get func(string) string, k string) care.Date {
	d, _ := care.ParseDate(strings.TrimSpace(get(k)))
	return d
}

func termsFrom(get func(string) string, endField string) family.Terms {
	return family.Terms{TeamID: formID(get, "team_id"), PackageID: formID(get, "package_id"), Start: formDate(get, "start"),
		End: formDate(get, endField), Consent: consentFrom(get)}
}

// familyFormError re-renders the resident page with the error of one of its family forms.
func (s *Server) familyFormError(w http.ResponseWriter, r *http.Request, rc *reqCtx, residentID int64, err error) error {
	d, perr := s.residentPage(r, rc, residentID, "")
	if perr != nil {
		return perr
	}
	return s.formError(w, r, rc, "resident", d, err)
}

func (s *Server) backToResident(w http.ResponseWriter, r *http.Request, id int64, flash string) {
	http.Redirect(w, r, "/residents/"+strconv.FormatInt(id, 10)+"?ok="+flash+"#family", http.StatusSeeOther)
}

func (s *Server) familySign(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	terms := termsFrom(r.PostFormValue, "end")
	if r.PostFormValue("household") != "" {
		res, gerr := s.Residents.Get(r.Context(), rc.Actor, id)
		if gerr != nil {
			return gerr
		}
		_, _, err = s.Family.SignHousehold(r.Context(), rc.Actor, res.HouseholdID, terms)
	} else {
		_, err = s.Family.Sign(r.Context(), rc.Actor, id, terms)
	}
	if err != nil {
		return s.familyFormError(w, r, rc, id, err)
	}
	s.backToResident(w, r, id, "contract_signed")
	return nil
}

// contractAction runs a renew/switch/end form on a contract and returns to its resident.
func (s *Server) contractAction(w http.ResponseWriter, r *http.Request, rc *reqCtx, act func(id int64) (*family.Contract, error)) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	c, err := act(id)
	if err != nil {
		resID := formID(r.PostFormValue, "resident_id")
		if resID == 0 || care.IsCode(err, care.ENOTFOUND) || care.IsCode(err, care.EFORBIDDEN) {
			return err
		}
		return s.familyFormError(w, r, rc, resID, err)
	}
	s.backToResident(w, r, c.ResidentID, "saved")
	return nil
}

func (s *Server) familyRenew(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	return s.contractAction(w, r, rc, func(id int64) (*family.Contract, error) {
		return s.Family.Renew(r.Context(), rc.Actor, id, termsFrom(r.PostFormValue, "renew_end"))
	})
}

func (s *Server) familySwitch(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	return s.contractAction(w, r, rc, func(id int64) (*family.Contract, error) {
		return s.Family.Switch(r.Context(), rc.Actor, id, termsFrom(r.PostFormValue, "end"), r.PostFormValue("reason"))
	})
}

func (s *Server) familyEnd(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	return s.contractAction(w, r, rc, func(id int64) (*family.Contract, error) {
		return s.Family.End(r.Context(), rc.Actor, id, formDate(r.PostFormValue, "ended_on"), r.PostFormValue("reason"))
	})
}

func (s *Server) familyService(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	on, derr := care.ParseDate(strings.TrimSpace(r.PostFormValue("date")))
	if derr != nil {
		return s.familyFormError(w, r, rc, id, care.Invalid([]care.FieldError{{Field: "date", Key: "field.date"}}))
	}
	if _, err := s.Family.Record(r.Context(), rc.Actor, id, family.Kind(r.PostFormValue("kind")), on, r.PostFormValue("note")); err != nil {
		return s.familyFormError(w, r, rc, id, err)
	}
	s.backToResident(w, r, id, "service_recorded")
	return nil
}

func (s *Server) familyShortfall(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	list, err := s.Family.Shortfalls(r.Context(), rc.Actor)
	if err != nil {
		return err
	}
	t, err := s.Orgs.Tree(r.Context())
	if err != nil {
		return err
	}
	names := map[int64]string{}
	for _, x := range list {
		if in := t.Get(x.VillageID); in != nil {
			names[x.VillageID] = in.Name
		}
	}
	s.render(w, r, rc, http.StatusOK, "family_shortfall", pageData{Title: s.msgs.T(rc.Lang, "family.shortfall"),
		Data: map[string]any{"List": list, "Villages": names, "Min": family.KeyGroupMinServices}})
	return nil
}

// indicatorRow is one unit (village or township) of the indicators page.
type indicatorRow struct {
	Name string
	family.Indicators
}

// periodFrom reads from/to (default: this year to date).
func (s *Server) periodFrom(q url.Values) (care.Date, care.Date) {
	today := care.Today(s.Now())
	from, to := formDate(q.Get, "from"), formDate(q.Get, "to")
	if from.IsZero() {
		from = care.Date{Year: today.Year, Month: time.January, Day: 1}
	}
	if to.IsZero() {
		to = today
	}
	return from, to
}

// familyRows sums the report per township (for the county) or per
// village (for a township doctor).
func (s *Server) familyRows(r *http.Request, rc *reqCtx, rep *family.Report) ([]indicatorRow, error) {
	t, err := s.Orgs.Tree(r.Context())
	if err != nil {
		return nil, err
	}
	byKey := map[int64]*indicatorRow{}
	var order []int64
	for vid, ind := range rep.ByVillage {
		key := t.Get(vid)
		if rc.Actor.Role != care.RoleTownshipDoctor && key != nil {
			key = t.Get(key.ParentID)
		}
		if key == nil {
			continue
		}
		row, ok := byKey[key.ID]
		if !ok {
			row = &indicatorRow{Name: key.Name}
			byKey[key.ID] = row
			order = append(order, key.ID)
		}
		row.Indicators = row.Indicators.Add(ind)
	}
	slices.Sort(order)
	out := make([]indicatorRow, 0, len(order))
	for _, id := range order {
		out = append(out, *byKey[id])
	}
	return out, nil
}

func (s *Server) familyIndicators(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	from, to := s.periodFrom(r.URL.Query())
	rep, err := s.Family.Indicators(r.Context(), rc.Actor, from, to)
	if err != nil {
		return err
	}
	rows, err := s.familyRows(r, rc, rep)
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "family_indicators", pageData{Title: s.msgs.T(rc.Lang, "family.indicators"),
		Data: map[string]any{"Rows": rows, "Total": rep.Total, "From": rep.From, "To": rep.To}})
	return nil
}

// Teams.

type teamsView struct {
	Teams      []family.Team
	Insts      map[int64]string
	CanManage  map[int64]bool
	ManageSome bool
}

func (s *Server) familyTeams(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	teams, err := s.Family.Teams(r.Context(), rc.Actor)
	if err != nil {
		return err
	}
	t, err := s.Orgs.Tree(r.Context())
	if err != nil {
		return err
	}
	v := teamsView{Insts: map[int64]string{}, CanManage: map[int64]bool{}, ManageSome: rc.Actor.Role == care.RoleAdmin || rc.Actor.Role == care.RoleTownshipDoctor}
	for _, tm := range teams {
		// Village doctors see the teams serving their village; others the county's (township: their own first).
		if rc.Actor.Role == care.RoleVillageDoctor && !t.IsWithin(rc.Actor.InstitutionID, tm.InstitutionID) {
			continue
		}
		v.Teams = append(v.Teams, tm)
		if in := t.Get(tm.InstitutionID); in != nil {
			v.Insts[tm.InstitutionID] = in.Name
		}
		v.CanManage[tm.ID] = family.CanManageTeam(rc.Actor, t, tm.InstitutionID)
	}
	s.render(w, r, rc, http.StatusOK, "family_teams", pageData{Title: s.msgs.T(rc.Lang, "family.teams"), Data: v})
	return nil
}

// teamForm is the team edit page: the owner, then the candidates for
// membership (staff of the owner's township subtree and of the county hospitals).
type teamForm struct {
	Team       *family.Team
	Owners     []*org.Institution
	Owner      *org.Institution
	Candidates []org.Practitioner
	Rows       []family.Member // existing members plus empty rows
	Roles      []string
}

func (s *Server) teamFormData(r *http.Request, rc *reqCtx, tm *family.Team) (*teamForm, error) {
	t, err := s.Orgs.Tree(r.Context())
	if err != nil {
		return nil, err
	}
	f := &teamForm{Team: tm, Roles: family.MemberRoles}
	root := int64(0)
	if rc.Actor.Role == care.RoleTownshipDoctor {
		root = rc.Actor.InstitutionID
	}
	for _, k := range []org.Kind{org.KindSubCenter, org.KindCentralHC, org.KindTownshipHC, org.KindVillageClinic} {
		for _, in := range t.OfKind(root, k) {
			if family.CanManageTeam(rc.Actor, t, in.ID) {
				f.Owners = append(f.Owners, in)
			}
		}
	}
	if root != 0 {
		if in := t.Get(root); in != nil && !slices.Contains(f.Owners, in) {
			f.Owners = append([]*org.Institution{in}, f.Owners...)
		}
	}
	if tm.InstitutionID == 0 {
		return f, nil
	}
	f.Owner = t.Get(tm.InstitutionID)
	if f.Owner == nil {
		return nil, notFound()
	}
	township := f.Owner
	if township.Kind == org.KindVillageClinic {
		if p := t.Get(township.ParentID); p != nil {
			township = p
		}
	}
	insts := t.Subtree(township.ID)
	if c := t.Community(township.ID); c != nil {
		for _, h := range t.OfKind(c.ID, org.KindCountyHospital) {
			insts = append(insts, h.ID)
		}
	}
	f.Candidates, err = s.Store.Practitioners(r.Context(), org.PractitionerFilter{Institutions: insts, Limit: 500})
	if err != nil {
		return nil, err
	}
	f.Rows = append(slices.Clone(tm.Members), make([]family.Member, 4)...)
	return f, nil
}

func (s *Server) familyTeamNew(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	tm := &family.Team{Active: true, InstitutionID: formID(r.URL.Query().Get, "owner")}
	f, err := s.teamFormData(r, rc, tm)
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "family_team", pageData{Title: s.msgs.T(rc.Lang, "family.team.new"), Data: f})
	return nil
}

func (s *Server) familyTeamEdit(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	tm, err := s.Family.Team(r.Context(), rc.Actor, id)
	if err != nil {
		return err
	}
	f, err := s.teamFormData(r, rc, tm)
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "family_team", pageData{Title: s.msgs.T(rc.Lang, "family.team.edit"), Data: f})
	return nil
}

func (s *Server) familyTeamSave(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	tm := &family.Team{Name: r.PostFormValue("name"), InstitutionID: formID(r.PostFormValue, "institution_id"), LeaderID: formID(r.PostFormValue, "leader_id"),
		Active: r.PostFormValue("active") != ""}
	if r.PathValue("id") != "" {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		old, err := s.Family.Team(r.Context(), rc.Actor, id)
		if err != nil {
			return err
		}
		tm.ID, tm.Version = old.ID, old.Version
		if v, err := strconv.Atoi(r.PostFormValue("version")); err == nil {
			tm.Version = v
		}
	}
	ids, roles := r.PostForm["member_id"], r.PostForm["member_role"]
	for i, x := range ids {
		pid, _ := strconv.ParseInt(x, 10, 64)
		if pid == 0 || i >= len(roles) {
			continue
		}
		tm.Members = append(tm.Members, family.Member{PractitionerID: pid, Role: roles[i]})
	}
	if err := s.Family.SaveTeam(r.Context(), rc.Actor, tm); err != nil {
		f, ferr := s.teamFormData(r, rc, tm)
		if ferr != nil {
			return err
		}
		return s.formError(w, r, rc, "family_team", pageData{Title: s.msgs.T(rc.Lang, "family.team.edit"), Data: f}, err)
	}
	http.Redirect(w, r, "/family/teams?ok=saved", http.StatusSeeOther)
	return nil
}
