package web

import (
	"net/http"
	"strconv"
	"time"

	"countycare/care"
	"countycare/sterile"
)

// sterileView is the sterile supply page: the center's or the clinic's board.
type sterileView struct {
	Board      *sterile.Board
	Packagings []sterile.Packaging
	ShelfLife  map[sterile.Packaging]int
	Created    []*sterile.Pack // after a cycle: its packs' labels
	Recalled   int             // after an indicator: packs recalled
	Today      care.Date
}

func (s *Server) sterileData(r *http.Request, rc *reqCtx) (*sterileView, error) {
	b, err := s.Sterile.BoardFor(r.Context(), rc.Actor)
	if err != nil {
		return nil, err
	}
	return &sterileView{Board: b, Packagings: sterile.Packagings, ShelfLife: s.Sterile.Config.ShelfLifeDays, Today: care.Today(s.Now())}, nil
}

func (s *Server) sterileRender(w http.ResponseWriter, r *http.Request, rc *reqCtx, status int, flash string, edit func(*sterileView), err error) error {
	v, verr := s.sterileData(r, rc)
	if verr != nil {
		return verr
	}
	if edit != nil {
		edit(v)
	}
	d := pageData{Title: s.msgs.T(rc.Lang, "sterile.title"), Data: v, Flash: flash}
	if err != nil {
		return s.formError(w, r, rc, "sterile", d, err)
	}
	s.render(w, r, rc, status, "sterile", d)
	return nil
}

func (s *Server) sterilePage(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	return s.sterileRender(w, r, rc, http.StatusOK, "", nil, nil)
}

// sterileTypeAdd: POST /sterile/types (code, name, packaging).
func (s *Server) sterileTypeAdd(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	_, err := s.Sterile.AddPackType(r.Context(), rc.Actor, r.PostFormValue("code"), r.PostFormValue("name"), sterile.Packaging(r.PostFormValue("packaging")))
	if err != nil {
		return s.sterileRender(w, r, rc, 0, "", nil, err)
	}
	http.Redirect(w, r, "/sterile?ok=sterile_saved", http.StatusSeeOther)
	return nil
}

// sterileOrder: POST /sterile/orders (pack_type_id, quantity).
func (s *Server) sterileOrder(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var fs []care.FieldError
	typeID := formInt(r.PostFormValue("pack_type_id"), "pack_type_id", &fs)
	q := formInt(r.PostFormValue("quantity"), "quantity", &fs)
	err := care.Invalid(fs)
	if err == nil {
		_, err = s.Sterile.PlaceOrder(r.Context(), rc.Actor, typeID, int(q))
	}
	if err != nil {
		return s.sterileRender(w, r, rc, 0, "", nil, err)
	}
	http.Redirect(w, r, "/sterile?ok=sterile_saved", http.StatusSeeOther)
	return nil
}

// sterileCycle: POST /sterile/cycles (cycle_no, sterilizer, count_<type id>).
func (s *Server) sterileCycle(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	b, err := s.Sterile.BoardFor(r.Context(), rc.Actor)
	if err != nil {
		return err
	}
	var lines []sterile.Line
	var fs []care.FieldError
	for _, t := range b.Types {
		if v := r.PostFormValue("count_" + strconv.FormatInt(t.ID, 10)); v != "" {
			lines = append(lines, sterile.Line{TypeID: t.ID, Count: int(formInt(v, "lines", &fs))})
		}
	}
	err = care.Invalid(fs)
	var packs []*sterile.Pack
	if err == nil {
		_, packs, err = s.Sterile.StartCycle(r.Context(), rc.Actor, r.PostFormValue("cycle_no"), r.PostFormValue("sterilizer"), lines)
	}
	if err != nil {
		return s.sterileRender(w, r, rc, 0, "", nil, err)
	}
	return s.sterileRender(w, r, rc, http.StatusCreated, "sterile.cycle_started", func(v *sterileView) { v.Created = packs }, nil)
}

// sterileIndicator: POST /sterile/cycles/{id}/indicators (indicator, result).
func (s *Server) sterileIndicator(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	c, n, err := s.Sterile.Indicate(r.Context(), rc.Actor, id, sterile.Indicator(r.PostFormValue("indicator")), sterile.Result(r.PostFormValue("result")))
	if err != nil {
		return s.sterileRender(w, r, rc, 0, "", nil, err)
	}
	flash := "sterile.indicator_saved"
	if c.Status == sterile.CycleRecalled {
		flash = "sterile.cycle_recalled_now"
	}
	return s.sterileRender(w, r, rc, http.StatusOK, flash, func(v *sterileView) { v.Recalled = n }, nil)
}

// sterileScan: POST /sterile/scan (barcode, step, resident_id).
func (s *Server) sterileScan(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var rid int64
	if v := r.PostFormValue("resident_id"); v != "" {
		var fs []care.FieldError
		if rid = formInt(v, "resident_id", &fs); len(fs) > 0 {
			return s.sterileRender(w, r, rc, 0, "", nil, care.Invalid(fs))
		}
	}
	_, err := s.Sterile.Scan(r.Context(), rc.Actor, sterile.ScanInput{Barcode: r.PostFormValue("barcode"), Step: r.PostFormValue("step"), ResidentID: rid})
	if err != nil {
		return s.sterileRender(w, r, rc, 0, "", nil, err)
	}
	return s.sterileRender(w, r, rc, http.StatusOK, "sterile.scanned_"+r.PostFormValue("step"), nil, nil)
}

// sterileCycleView is a cycle's page: its packs, where they went, and
// the patients the used ones touched (a recall's list).
type sterileCycleView struct {
	Cycle *sterile.Cycle
	Packs []sterile.Pack
}

// sterileCyclePage: GET /sterile/cycles/{id}.
func (s *Server) sterileCyclePage(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	c, ps, err := s.Sterile.CyclePatients(r.Context(), rc.Actor, id)
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "sterile_cycle", pageData{Title: s.msgs.T(rc.Lang, "sterile.cycle_title", c.CycleNo), Data: sterileCycleView{Cycle: c, Packs: ps}})
	return nil
}

// residentPacksView is a resident's sterile packs: patient → pack → cycle.
type residentPacksView struct {
	ResidentID int64
	Packs      []sterile.Pack
}

// residentPacksPage: GET /residents/{id}/sterile-packs.
func (s *Server) residentPacksPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	ps, err := s.Sterile.ResidentPacks(r.Context(), rc.Actor, id)
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "resident_packs", pageData{Title: s.msgs.T(rc.Lang, "sterile.resident_title"), Data: residentPacksView{ResidentID: id, Packs: ps}})
	return nil
}

type apiPack struct {
	ID          int64      `json:"id"`
	Barcode     string     `json:"barcode"`
	Type        string     `json:"type"`
	Cycle       string     `json:"cycle"`
	CycleID     int64      `json:"cycle_id"`
	CycleStatus string     `json:"cycle_status"`
	Packaging   string     `json:"packaging"`
	ExpiresOn   care.Date  `json:"expires_on"`
	Status      string     `json:"status"`
	ClinicID    int64      `json:"clinic_id,omitempty"`
	ResidentID  int64      `json:"resident_id,omitempty"`
	UsedAt      *time.Time `json:"used_at,omitempty"`
}

func toAPIPack(p *sterile.Pack) apiPack {
	return apiPack{ID: p.ID, Barcode: p.Barcode, Type: p.TypeName, Cycle: p.CycleNo, CycleID: p.CycleID, CycleStatus: string(p.CycleStatus),
		Packaging: string(p.Packaging), ExpiresOn: p.ExpiresOn, Status: string(p.Status), ClinicID: p.ClinicID, ResidentID: p.ResidentID, UsedAt: optTime(p.UsedAt)}
}

type apiPackType struct {
	ID        int64  `json:"id"`
	Code      string `json:"code"`
	Name      string `json:"name"`
	Packaging string `json:"packaging"`
	CenterID  int64  `json:"center_id"`
}

func toAPIPackType(t *sterile.PackType) apiPackType {
	return apiPackType{ID: t.ID, Code: t.Code, Name: t.Name, Packaging: string(t.Packaging), CenterID: t.CenterID}
}

type apiSterileOrderOut struct {
	ID         int64     `json:"id"`
	ClinicID   int64     `json:"clinic_id"`
	Clinic     string    `json:"clinic,omitempty"`
	PackTypeID int64     `json:"pack_type_id"`
	Type       string    `json:"type"`
	Quantity   int       `json:"quantity"`
	Delivered  int       `json:"delivered"`
	Status     string    `json:"status"`
	OrderedAt  time.Time `json:"ordered_at"`
}

func toAPISterileOrder(o *sterile.Order) apiSterileOrderOut {
	return apiSterileOrderOut{ID: o.ID, ClinicID: o.ClinicID, Clinic: o.ClinicName, PackTypeID: o.PackTypeID, Type: o.TypeName, Quantity: o.Quantity,
		Delivered: o.Delivered, Status: o.Status, OrderedAt: o.OrderedAt}
}

type apiCycle struct {
	ID         int64      `json:"id"`
	CycleNo    string     `json:"cycle_no"`
	Sterilizer string     `json:"sterilizer"`
	StartedAt  time.Time  `json:"started_at"`
	Physical   string     `json:"physical"`
	Chemical   string     `json:"chemical"`
	Biological string     `json:"biological"`
	Status     string     `json:"status"`
	RecalledAt *time.Time `json:"recalled_at,omitempty"`
	Packs      int        `json:"packs"`
}

func toAPICycle(c *sterile.Cycle) apiCycle {
	return apiCycle{ID: c.ID, CycleNo: c.CycleNo, Sterilizer: c.Sterilizer, StartedAt: c.StartedAt, Physical: string(c.Physical), Chemical: string(c.Chemical),
		Biological: string(c.Biological), Status: string(c.Status), RecalledAt: optTime(c.RecalledAt), Packs: c.Packs}
}

type apiRefusal struct {
	PackID     int64     `json:"pack_id"`
	At         time.Time `json:"at"`
	Place      string    `json:"place"`
	ResidentID int64     `json:"resident_id"`
	Reason     string    `json:"reason"`
}

func apiPacks(ps []sterile.Pack) []apiPack {
	out := make([]apiPack, len(ps))
	for i := range ps {
		out[i] = toAPIPack(&ps[i])
	}
	return out
}

// apiSterile: GET /api/v1/sterile — the actor's board.
func (s *Server) apiSterile(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	b, err := s.Sterile.BoardFor(r.Context(), rc.Actor)
	if err != nil {
		return err
	}
	types, orders, cycles, refusals := []apiPackType{}, []apiSterileOrderOut{}, []apiCycle{}, []apiRefusal{}
	for i := range b.Types {
		types = append(types, toAPIPackType(&b.Types[i]))
	}
	for i := range b.Orders {
		orders = append(orders, toAPISterileOrder(&b.Orders[i]))
	}
	for i := range b.Cycles {
		cycles = append(cycles, toAPICycle(&b.Cycles[i]))
	}
	for _, e := range b.Refusals {
		refusals = append(refusals, apiRefusal{PackID: e.PackID, At: e.At, Place: e.PlaceName, ResidentID: e.ResidentID, Reason: e.Detail})
	}
	writeJSON(w, http.StatusOK, map[string]any{"center": b.Center, "types": types, "orders": orders, "cycles": cycles,
		"packs": apiPacks(b.Packs), "refusals": refusals, "expiring": b.Expiring})
	return nil
}

// apiSterileType: POST /api/v1/sterile/types {"code","name","packaging"}.
func (s *Server) apiSterileType(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in struct {
		Code      string `json:"code"`
		Name      string `json:"name"`
		Packaging string `json:"packaging"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	t, err := s.Sterile.AddPackType(r.Context(), rc.Actor, in.Code, in.Name, sterile.Packaging(in.Packaging))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toAPIPackType(t))
	return nil
}

// apiSterileOrder: POST /api/v1/sterile/orders {"pack_type_id","quantity"}.
func (s *Server) apiSterileOrder(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in struct {
		PackTypeID int64 `json:"pack_type_id"`
		Quantity   int   `json:"quantity"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	o, err := s.Sterile.PlaceOrder(r.Context(), rc.Actor, in.PackTypeID, in.Quantity)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toAPISterileOrder(o))
	return nil
}

// apiSterileCycle: POST /api/v1/sterile/cycles {"cycle_no","sterilizer","lines":[{"pack_type_id","count"}]}.
func (s *Server) apiSterileCycle(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in struct {
		CycleNo    string `json:"cycle_no"`
		Sterilizer string `json:"sterilizer"`
		Lines      []struct {
			PackTypeID int64 `json:"pack_type_id"`
			Count      int   `json:"count"`
		} `json:"lines"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	lines := make([]sterile.Line, len(in.Lines))
	for i, l := range in.Lines {
		lines[i] = sterile.Line{TypeID: l.PackTypeID, Count: l.Count}
	}
	c, packs, err := s.Sterile.StartCycle(r.Context(), rc.Actor, in.CycleNo, in.Sterilizer, lines)
	if err != nil {
		return err
	}
	ps := make([]apiPack, len(packs))
	for i, p := range packs {
		ps[i] = toAPIPack(p)
	}
	writeJSON(w, http.StatusCreated, map[string]any{"cycle": toAPICycle(c), "packs": ps})
	return nil
}

// apiSterileIndicator: POST /api/v1/sterile/cycles/{id}/indicators {"indicator","result"}.
func (s *Server) apiSterileIndicator(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in struct {
		Indicator string `json:"indicator"`
		Result    string `json:"result"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	c, n, err := s.Sterile.Indicate(r.Context(), rc.Actor, id, sterile.Indicator(in.Indicator), sterile.Result(in.Result))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"cycle": toAPICycle(c), "recalled_packs": n})
	return nil
}

// apiSterileCyclePatients: GET /api/v1/sterile/cycles/{id} — the cycle,
// its packs and the patients they touched.
func (s *Server) apiSterileCyclePatients(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	c, ps, err := s.Sterile.CyclePatients(r.Context(), rc.Actor, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"cycle": toAPICycle(c), "packs": apiPacks(ps)})
	return nil
}

// apiSterileScan: POST /api/v1/sterile/scan {"barcode","step","resident_id"}.
func (s *Server) apiSterileScan(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in struct {
		Barcode    string `json:"barcode"`
		Step       string `json:"step"`
		ResidentID int64  `json:"resident_id"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	p, err := s.Sterile.Scan(r.Context(), rc.Actor, sterile.ScanInput{Barcode: in.Barcode, Step: in.Step, ResidentID: in.ResidentID})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"pack": toAPIPack(p)})
	return nil
}

// apiResidentPacks: GET /api/v1/residents/{id}/sterile-packs.
func (s *Server) apiResidentPacks(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	ps, err := s.Sterile.ResidentPacks(r.Context(), rc.Actor, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"packs": apiPacks(ps)})
	return nil
}
