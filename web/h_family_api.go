package web

import (
	"net/http"
	"time"

	"countycare/care"
	"countycare/family"
)

// Wire types of the family doctor API.
type apiDue struct {
	Kind    string `json:"kind"`
	PerYear int    `json:"per_year"`
}

func apiDues(ds family.Dues) []apiDue {
	out := []apiDue{}
	for _, d := range ds {
		out = append(out, apiDue{string(d.Kind), d.PerYear})
	}
	return out
}

type apiContractOut struct {
	ID             int64     `json:"id"`
	ResidentID     int64     `json:"resident_id"`
	TeamID         int64     `json:"team_id"`
	PackageID      int64     `json:"package_id"`
	Services       []apiDue  `json:"services"`
	FeeFen         int64     `json:"fee_fen"`
	Start          care.Date `json:"start"`
	End            care.Date `json:"end"`
	Status         string    `json:"status"`
	PreviousID     int64     `json:"previous_id,omitempty"`
	EndedOn        care.Date `json:"ended_on,omitzero"`
	EndReason      string    `json:"end_reason,omitempty"`
	ConsentBy      string    `json:"consent_by"`
	ConsentName    string    `json:"consent_name,omitempty"`
	ConsentMethod  string    `json:"consent_method"`
	ConsentWitness string    `json:"consent_witness,omitempty"`
	ConsentAt      time.Time `json:"consent_at"`
}

func apiContract(c *family.Contract) apiContractOut {
	return apiContractOut{ID: c.ID, ResidentID: c.ResidentID, TeamID: c.TeamID, PackageID: c.PackageID, Services: apiDues(c.Services), FeeFen: c.FeeFen,
		Start: c.Start, End: c.End, Status: c.Status, PreviousID: c.PreviousID, EndedOn: c.EndedOn, EndReason: c.EndReason, ConsentBy: c.Consent.By,
		ConsentName: c.Consent.Name, ConsentMethod: c.Consent.Method, ConsentWitness: c.Consent.Witness, ConsentAt: c.Consent.At}
}

type apiTermsIn struct {
	TeamID         int64     `json:"team_id"`
	PackageID      int64     `json:"package_id"`
	Start          care.Date `json:"start"`
	End            care.Date `json:"end"`
	ConsentBy      string    `json:"consent_by"`
	ConsentName    string    `json:"consent_name"`
	ConsentMethod  string    `json:"consent_method"`
	ConsentWitness string    `json:"consent_witness"`
	ConsentAt      time.Time `json:"consent_at"`
	Household      bool      `json:"household"` // sign every member of the resident's household
	Reason         string    `json:"reason"`    // switch
}

func (in apiTermsIn) terms() family.Terms {
	return family.Terms{TeamID: in.TeamID, PackageID: in.PackageID, Start: in.Start, End: in.End,
		Consent: family.Consent{By: in.ConsentBy, Name: in.ConsentName, Method: in.ConsentMethod, Witness: in.ConsentWitness, At: in.ConsentAt}}
}

func (s *Server) apiFamilyTeams(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	teams, err := s.Family.Teams(r.Context(), rc.Actor)
	if err != nil {
		return err
	}
	type member struct {
		PractitionerID int64  `json:"practitioner_id"`
		Name           string `json:"name"`
		Role           string `json:"role"`
		InstitutionID  int64  `json:"institution_id"`
	}
	type team struct {
		ID            int64    `json:"id"`
		Name          string   `json:"name"`
		InstitutionID int64    `json:"institution_id"`
		LeaderID      int64    `json:"leader_id"`
		Active        bool     `json:"active"`
		Members       []member `json:"members"`
	}
	out := []team{}
	for _, t := range teams {
		x := team{ID: t.ID, Name: t.Name, InstitutionID: t.InstitutionID, LeaderID: t.LeaderID, Active: t.Active, Members: []member{}}
		for _, m := range t.Members {
			x.Members = append(x.Members, member{m.PractitionerID, m.Name, m.Role, m.InstitutionID})
		}
		out = append(out, x)
	}
	writeJSON(w, http.StatusOK, map[string]any{"teams": out})
	return nil
}

type apiPackage struct {
	ID       int64    `json:"id"`
	Code     string   `json:"code"`
	Name     string   `json:"name"`
	Kind     string   `json:"kind"`
	FeeFen   int64    `json:"fee_fen"`
	Services []apiDue `json:"services"`
	Active   bool     `json:"active"`
}

func (s *Server) apiFamilyPackages(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	pkgs, err := s.Family.Packages(r.Context(), rc.Actor)
	if err != nil {
		return err
	}
	out := []apiPackage{}
	for _, p := range pkgs {
		out = append(out, apiPackage{p.ID, p.Code, p.Name, p.Kind, p.FeeFen, apiDues(p.Services), p.Active})
	}
	writeJSON(w, http.StatusOK, map[string]any{"packages": out})
	return nil
}

// apiFamilyPackageCreate creates a service package (administrators): the
// fee of a personalised package is configured here, in fen.
func (s *Server) apiFamilyPackageCreate(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in apiPackage
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	p := &family.Package{Code: in.Code, Name: in.Name, Kind: in.Kind, FeeFen: in.FeeFen, Active: true}
	for _, d := range in.Services {
		p.Services = append(p.Services, family.Due{Kind: family.Kind(d.Kind), PerYear: d.PerYear})
	}
	if err := s.Family.SavePackage(r.Context(), rc.Actor, p); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, apiPackage{p.ID, p.Code, p.Name, p.Kind, p.FeeFen, apiDues(p.Services), p.Active})
	return nil
}

func (s *Server) apiFamilyPanel(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	p, err := s.Family.Panel(r.Context(), rc.Actor, id)
	if err != nil {
		return err
	}
	type line struct {
		Kind      string `json:"kind"`
		Due       int    `json:"due"`
		Delivered int    `json:"delivered"`
		Counted   int    `json:"counted"`
	}
	type delivery struct {
		ID             int64     `json:"id"`
		Kind           string    `json:"kind"`
		Date           care.Date `json:"date"`
		ContractID     int64     `json:"contract_id"`
		PractitionerID int64     `json:"practitioner_id,omitempty"`
		Note           string    `json:"note,omitempty"`
	}
	out := map[string]any{"contracts": []apiContractOut{}, "key_population": p.Key, "services_this_year": p.Services,
		"key_population_minimum": family.KeyGroupMinServices}
	var cs []apiContractOut
	for i := range p.Contracts {
		cs = append(cs, apiContract(&p.Contracts[i]))
	}
	if cs != nil {
		out["contracts"] = cs
	}
	if p.Current != nil {
		out["current_id"] = p.Current.ID
		out["year_from"], out["year_to"] = p.YearFrom, p.YearTo
		ls := []line{}
		for _, l := range p.Lines {
			ls = append(ls, line{string(l.Kind), l.Due, l.Delivered, l.Counted()})
		}
		out["lines"] = ls
	}
	ds := []delivery{}
	for _, d := range p.Deliveries {
		ds = append(ds, delivery{d.ID, string(d.Kind), d.Date, d.ContractID, d.PractitionerID, d.Note})
	}
	out["deliveries"] = ds
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) apiFamilySign(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in apiTermsIn
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if in.Household {
		res, err := s.Residents.Get(r.Context(), rc.Actor, id)
		if err != nil {
			return err
		}
		made, skipped, err := s.Family.SignHousehold(r.Context(), rc.Actor, res.HouseholdID, in.terms())
		if err != nil {
			return err
		}
		out := []apiContractOut{}
		for _, c := range made {
			out = append(out, apiContract(c))
		}
		sk := []int64{}
		for _, x := range skipped {
			sk = append(sk, x.ID)
		}
		writeJSON(w, http.StatusCreated, map[string]any{"contracts": out, "skipped_resident_ids": sk})
		return nil
	}
	c, err := s.Family.Sign(r.Context(), rc.Actor, id, in.terms())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, apiContract(c))
	return nil
}

func (s *Server) apiContractAction(w http.ResponseWriter, r *http.Request, act func(id int64, in apiTermsIn) (*family.Contract, error)) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in apiTermsIn
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	c, err := act(id, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apiContract(c))
	return nil
}

func (s *Server) apiFamilyRenew(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	return s.apiContractAction(w, r, func(id int64, in apiTermsIn) (*family.Contract, error) {
		return s.Family.Renew(r.Context(), rc.Actor, id, in.terms())
	})
}

func (s *Server) apiFamilySwitch(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	return s.apiContractAction(w, r, func(id int64, in apiTermsIn) (*family.Contract, error) {
		return s.Family.Switch(r.Context(), rc.Actor, id, in.terms(), in.Reason)
	})
}

func (s *Server) apiFamilyEnd(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	return s.apiContractAction(w, r, func(id int64, in apiTermsIn) (*family.Contract, error) {
		return s.Family.End(r.Context(), rc.Actor, id, in.End, in.Reason)
	})
}

func (s *Server) apiFamilyService(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in struct {
		Kind string    `json:"kind"`
		Date care.Date `json:"date"`
		Note string    `json:"note"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	d, err := s.Family.Record(r.Context(), rc.Actor, id, family.Kind(in.Kind), in.Date, in.Note)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": d.ID, "resident_id": d.ResidentID, "contract_id": d.ContractID, "kind": d.Kind, "date": d.Date})
	return nil
}

type apiRate struct {
	Num  int     `json:"numerator"`
	Den  int     `json:"denominator"`
	Rate float64 `json:"rate"` // 0–1, rounded to 0.001; -1 without a denominator
}

func rateOut(r family.Rate) apiRate {
	pm := r.PerMille()
	if pm < 0 {
		return apiRate{r.Num, r.Den, -1}
	}
	return apiRate{r.Num, r.Den, float64(pm) / 1000}
}

func (s *Server) apiFamilyIndicators(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	from, to := s.periodFrom(r.URL.Query())
	rep, err := s.Family.Indicators(r.Context(), rc.Actor, from, to)
	if err != nil {
		return err
	}
	rows, err := s.familyRows(r, rc, rep)
	if err != nil {
		return err
	}
	type unit struct {
		Name        string  `json:"name"`
		Coverage    apiRate `json:"coverage"`
		KeyCoverage apiRate `json:"key_coverage"`
		Renewal     apiRate `json:"renewal"`
		Fulfilment  apiRate `json:"fulfilment"`
	}
	conv := func(name string, in family.Indicators) unit {
		return unit{name, rateOut(in.Coverage), rateOut(in.KeyCoverage), rateOut(in.Renewal), rateOut(in.Fulfilment)}
	}
	units := []unit{}
	for _, x := range rows {
		units = append(units, conv(x.Name, x.Indicators))
	}
	writeJSON(w, http.StatusOK, map[string]any{"from": rep.From, "to": rep.To, "units": units, "total": conv("", rep.Total)})
	return nil
}
