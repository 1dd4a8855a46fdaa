package web

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"countycare/care"
	"countycare/org"
	"countycare/resident"
)

// pathID parses the {id} path value; a malformed one is not found.
func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, notFound()
	}
	return id, nil
}

// formInt parses an optional integer field, adding a field error if malformed.
func formInt(v, field string, fs *[]care.FieldError) int64 {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		*fs = append(*fs, care.FieldError{Field: field, Key: "field.number"})
		return 0
	}
	return n
}

// orgNode is one node of the tree page, with its labels translated
// (a recursive template sees only its node).
type orgNode struct {
	In        *org.Institution
	KindLabel string
	Children  []orgNode
	Collapse  string // non-empty: show children folded, with this summary
}

// collapseAbove is the number of children above which a node's children
// are folded (a township's villages).
const collapseAbove = 6

func (s *Server) buildNodes(lang string, t *org.Tree, parent int64) []orgNode {
	var out []orgNode
	for _, c := range t.Children(parent) {
		n := orgNode{In: c, KindLabel: s.msgs.T(lang, "kind."+string(c.Kind)), Children: s.buildNodes(lang, t, c.ID)}
		if len(n.Children) > collapseAbove {
			n.Collapse = s.msgs.T(lang, "org.children", len(n.Children))
		}
		out = append(out, n)
	}
	return out
}

func (s *Server) orgTree(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	t, err := s.Orgs.Tree(r.Context())
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "org_tree", pageData{Title: s.msgs.T(rc.Lang, "org.title"), Data: s.buildNodes(rc.Lang, t, 0)})
	return nil
}

type instView struct {
	In            *org.Institution
	Parent        *org.Institution
	Ancestors     []*org.Institution
	Children      []*org.Institution
	Departments   []org.Department
	Practitioners []org.Practitioner
	ChildKinds    []org.Kind
	Lead          *org.Institution
	Hospitals     []*org.Institution
	Today         care.Date
}

func (s *Server) institutionView(r *http.Request, id int64) (*instView, error) {
	t, err := s.Orgs.Tree(r.Context())
	if err != nil {
		return nil, err
	}
	in := t.Get(id)
	if in == nil {
		return nil, notFound()
	}
	v := &instView{In: in, Parent: t.Get(in.ParentID), Ancestors: t.Ancestors(id), Children: t.Children(id), Today: care.Today(s.Now())}
	if v.Departments, err = s.Store.Departments(r.Context(), id); err != nil {
		return nil, err
	}
	if v.Practitioners, err = s.Store.Practitioners(r.Context(), org.PractitionerFilter{Institutions: []int64{id}, Limit: 500}); err != nil {
		return nil, err
	}
	for _, k := range org.Kinds {
		if org.CanParent(in.Kind, k) {
			v.ChildKinds = append(v.ChildKinds, k)
		}
	}
	if in.LeadID != 0 {
		v.Lead = t.Get(in.LeadID)
	}
	if in.Kind == org.KindCommunity {
		v.Hospitals = t.OfKind(in.ID, org.KindCountyHospital)
	}
	return v, nil
}

func (s *Server) orgInstitution(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	v, err := s.institutionView(r, id)
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "org_institution", pageData{Title: v.In.Name, Data: v})
	return nil
}

func (s *Server) orgCreate(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var fs []care.FieldError
	in := &org.Institution{
		ParentID: formInt(r.PostFormValue("parent_id"), "parent_id", &fs), Kind: org.Kind(r.PostFormValue("kind")),
		Name: r.PostFormValue("name"), Code: r.PostFormValue("code"), AreaCode: r.PostFormValue("area_code"), Level: org.Level(r.PostFormValue("level")),
	}
	err := care.Invalid(fs)
	if err == nil {
		err = s.Orgs.CreateInstitution(r.Context(), rc.Actor, in)
	}
	if err != nil {
		if in.ParentID == 0 {
			return err
		}
		v, verr := s.institutionView(r, in.ParentID)
		if verr != nil {
			return verr
		}
		return s.formError(w, r, rc, "org_institution", pageData{Title: v.In.Name, Data: v}, err)
	}
	http.Redirect(w, r, "/org/"+strconv.FormatInt(in.ID, 10)+"?ok=saved", http.StatusSeeOther)
	return nil
}

func (s *Server) orgUpdate(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	v, err := s.institutionView(r, id)
	if err != nil {
		return err
	}
	var fs []care.FieldError
	in := &org.Institution{ID: id, Name: r.PostFormValue("name"), AreaCode: r.PostFormValue("area_code"), Level: org.Level(r.PostFormValue("level")),
		LeadID: formInt(r.PostFormValue("lead_id"), "lead_id", &fs), Active: r.PostFormValue("active") != ""}
	err = care.Invalid(fs)
	if err == nil {
		err = s.Orgs.UpdateInstitution(r.Context(), rc.Actor, in)
	}
	if err != nil {
		return s.formError(w, r, rc, "org_institution", pageData{Title: v.In.Name, Data: v}, err)
	}
	http.Redirect(w, r, "/org/"+strconv.FormatInt(id, 10)+"?ok=saved", http.StatusSeeOther)
	return nil
}

func (s *Server) departmentCreate(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	v, err := s.institutionView(r, id)
	if err != nil {
		return err
	}
	d := &org.Department{InstitutionID: id, Name: r.PostFormValue("dept_name"), Specialty: r.PostFormValue("dept_specialty")}
	if err := s.Orgs.CreateDepartment(r.Context(), rc.Actor, d); err != nil {
		if ce, ok := err.(*care.Error); ok {
			for i := range ce.Fields {
				ce.Fields[i].Field = "dept_" + ce.Fields[i].Field
			}
		}
		return s.formError(w, r, rc, "org_institution", pageData{Title: v.In.Name, Data: v}, err)
	}
	http.Redirect(w, r, "/org/"+strconv.FormatInt(id, 10)+"?ok=saved", http.StatusSeeOther)
	return nil
}

type practitionerView struct {
	P           *org.Practitioner
	Institution *org.Institution
	Departments []org.Department
	Titles      []org.Title
}

func (s *Server) practitionerForm(r *http.Request, p *org.Practitioner) (*practitionerView, error) {
	t, err := s.Orgs.Tree(r.Context())
	if err != nil {
		return nil, err
	}
	in := t.Get(p.InstitutionID)
	if in == nil {
		return nil, notFound()
	}
	deps, err := s.Store.Departments(r.Context(), in.ID)
	if err != nil {
		return nil, err
	}
	return &practitionerView{P: p, Institution: in, Departments: deps, Titles: org.Titles}, nil
}

func (s *Server) practitionerNew(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	inst, _ := strconv.ParseInt(r.URL.Query().Get("institution"), 10, 64)
	v, err := s.practitionerForm(r, &org.Practitioner{InstitutionID: inst})
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "practitioner_form", pageData{Title: s.msgs.T(rc.Lang, "practitioner.new"), Data: v})
	return nil
}

func (s *Server) practitionerEdit(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	p, err := s.Store.Practitioner(r.Context(), id)
	if err != nil {
		return err
	}
	v, err := s.practitionerForm(r, p)
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "practitioner_form", pageData{Title: p.Name, Data: v})
	return nil
}

func (s *Server) practitionerSave(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var fs []care.FieldError
	p := &org.Practitioner{
		InstitutionID: formInt(r.PostFormValue("institution_id"), "institution_id", &fs),
		DepartmentID:  formInt(r.PostFormValue("department_id"), "department_id", &fs),
		Name:          r.PostFormValue("name"), Sex: r.PostFormValue("sex"), Title: org.Title(r.PostFormValue("title")),
		Specialty: strings.TrimSpace(r.PostFormValue("specialty")), LicenseNumber: strings.TrimSpace(r.PostFormValue("license_number")),
		Phone: strings.TrimSpace(r.PostFormValue("phone")), Active: r.PostFormValue("active") != "" || r.PathValue("id") == "",
	}
	if r.PathValue("id") != "" {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		if _, err := s.Store.Practitioner(r.Context(), id); err != nil {
			return err
		}
		p.ID = id
	}
	if v := strings.TrimSpace(r.PostFormValue("practice_since")); v != "" {
		d, err := care.ParseDate(v)
		if err != nil {
			fs = append(fs, care.FieldError{Field: "practice_since", Key: "field.date"})
		}
		p.PracticeSince = d
	}
	err := care.Invalid(fs)
	if err == nil {
		err = s.Orgs.SavePractitioner(r.Context(), rc.Actor, p)
	}
	if err != nil {
		v, verr := s.practitionerForm(r, p)
		if verr != nil {
			return err
		}
		return s.formError(w, r, rc, "practitioner_form", pageData{Title: s.msgs.T(rc.Lang, "practitioner.new"), Data: v}, err)
	}
	http.Redirect(w, r, "/org/"+strconv.FormatInt(p.InstitutionID, 10)+"?ok=saved", http.StatusSeeOther)
	return nil
}

// statsRow is one line of the aggregate page: a township (or village) and its counts.
type statsRow struct {
	Name   string
	Counts resident.VillageCounts
}

// aggregateRows sums village counts per township (for the county) or per
// village (for a township), within what the actor may see.
func (s *Server) aggregateRows(r *http.Request, a care.Actor) ([]statsRow, resident.VillageCounts, error) {
	t, err := s.Orgs.Tree(r.Context())
	if err != nil {
		return nil, resident.VillageCounts{}, err
	}
	counts, err := s.countsOf(r.Context(), a.CountyCode)
	if err != nil {
		return nil, resident.VillageCounts{}, err
	}
	group := func(v int64) *org.Institution { // the township above a village
		in := t.Get(v)
		for in != nil && in.Kind == org.KindVillageClinic {
			in = t.Get(in.ParentID)
		}
		return in
	}
	byKey := map[int64]*statsRow{}
	var order []int64
	var total resident.VillageCounts
	for _, c := range counts {
		key := group(c.VillageID)
		if a.Role == care.RoleTownshipDoctor {
			if !t.IsWithin(c.VillageID, a.InstitutionID) {
				continue
			}
			key = t.Get(c.VillageID)
		}
		if key == nil {
			continue
		}
		row, ok := byKey[key.ID]
		if !ok {
			row = &statsRow{Name: key.Name}
			byKey[key.ID] = row
			order = append(order, key.ID)
		}
		addCounts(&row.Counts, c)
		addCounts(&total, c)
	}
	out := make([]statsRow, len(order))
	for i, id := range order {
		out[i] = *byKey[id]
	}
	return out, total, nil
}

func addCounts(a *resident.VillageCounts, c resident.VillageCounts) {
	a.Total += c.Total
	a.Elderly += c.Elderly
	a.Children += c.Children
	a.Pregnant += c.Pregnant
	a.Disabled += c.Disabled
	a.Poor += c.Poor
}

// cell shows a count, suppressing small non-zero counts (resident.SmallCell).
func cell(n int) string {
	if n > 0 && n < resident.SmallCell {
		return "<5"
	}
	return strconv.Itoa(n)
}

func (s *Server) stats(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	rows, total, err := s.aggregateRows(r, rc.Actor)
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "stats", pageData{Title: s.msgs.T(rc.Lang, "stats.title"), Data: map[string]any{"Rows": rows, "Total": total}})
	return nil
}

// statsTTL is how long aggregate counts are reused: counting a million
// residents takes a second or two, and the figures move slowly.
const statsTTL = time.Minute

type statsEntry struct {
	at     time.Time
	counts []resident.VillageCounts
}

// countsOf returns the county's per-village counts, cached for statsTTL.
func (s *Server) countsOf(ctx context.Context, county string) ([]resident.VillageCounts, error) {
	now := s.Now()
	s.statsMu.Lock()
	e, ok := s.statsCache[county]
	s.statsMu.Unlock()
	if ok && now.Sub(e.at) < statsTTL && !now.Before(e.at) {
		return e.counts, nil
	}
	counts, err := s.Store.ResidentCounts(ctx, county, care.Today(now))
	if err != nil {
		return nil, err
	}
	s.statsMu.Lock()
	if s.statsCache == nil {
		s.statsCache = map[string]statsEntry{}
	}
	s.statsCache[county] = statsEntry{at: now, counts: counts}
	s.statsMu.Unlock()
	return counts, nil
}
