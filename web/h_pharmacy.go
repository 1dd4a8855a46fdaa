package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"countycare/care"
	"countycare/pharmacy"
)

// Pages of the pharmacy (issue #7): stock with the chronic-class
// shortfall list and low-stock levels, supply orders, dispensing from
// stock with delivery or pick-up, and the resident's own orders.

// yuan formats fen as yuan with two decimals.
func yuan(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return fmt.Sprintf("%s%d.%02d", sign, fen/100, fen%100)
}

func (s *Server) drugName(lang, code string) string {
	if d := s.Pharmacy.KB.Drug(code); d != nil {
		if lang == "en" {
			return d.NameEN
		}
		return d.NameZH
	}
	return code
}

type stockPage struct {
	View        *pharmacy.StockView
	Institution int64
	Own         bool
	Lots        []stockLotRow
	Levels      []stockLevelRow
	Shortfalls  []shortfallRow
	Moves       []moveRow
	Drugs       []drugOption // the level's formulary, for the receipt form
}

type stockLotRow struct {
	pharmacy.Lot
	Name    string
	Expired bool
}

type stockLevelRow struct {
	pharmacy.Level
	Name  string
	Cover string
}

type shortfallRow struct {
	Class   string
	Have    []string
	Missing int
	Options []string
}

type moveRow struct {
	pharmacy.Movement
	Name string
}

type drugOption struct{ Code, Name string }

func (s *Server) stockData(r *http.Request, rc *reqCtx) (pageData, error) {
	inst, err := stockInstitution(r, rc)
	if err != nil {
		return pageData{}, err
	}
	v, err := s.Pharmacy.Stock(r.Context(), rc.Actor, inst)
	if err != nil {
		return pageData{}, err
	}
	p := stockPage{View: v, Institution: inst, Own: inst == rc.Actor.InstitutionID}
	for _, l := range v.Lots {
		p.Lots = append(p.Lots, stockLotRow{l, s.drugName(rc.Lang, l.DrugCode), l.Expiry.Before(v.Day)})
	}
	for _, l := range v.Levels {
		c := "—"
		if l.CoverDays >= 0 {
			c = strconv.FormatFloat(l.CoverDays, 'f', 0, 64)
		}
		p.Levels = append(p.Levels, stockLevelRow{l, s.drugName(rc.Lang, l.DrugCode), c})
	}
	for _, sf := range v.Shortfalls {
		row := shortfallRow{Class: string(sf.Class), Missing: sf.Missing}
		for _, c := range sf.Have {
			row.Have = append(row.Have, s.drugName(rc.Lang, c))
		}
		for _, c := range sf.Options {
			row.Options = append(row.Options, s.drugName(rc.Lang, c))
		}
		p.Shortfalls = append(p.Shortfalls, row)
	}
	for _, m := range v.Movements {
		p.Moves = append(p.Moves, moveRow{m, s.drugName(rc.Lang, m.DrugCode)})
	}
	for _, e := range pharmacy.Formulary(s.Pharmacy.KB, nil, string(v.Institution.Level)) {
		p.Drugs = append(p.Drugs, drugOption{e.Drug.Code, s.drugName(rc.Lang, e.Drug.Code)})
	}
	return pageData{Title: s.msgs.T(rc.Lang, "pharmacy.stock"), Data: p}, nil
}

func (s *Server) stockPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	d, err := s.stockData(r, rc)
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "pharmacy_stock", d)
	return nil
}

func (s *Server) stockMove(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var fs []care.FieldError
	in := apiStockIn{Kind: r.PostFormValue("kind"), DrugCode: r.PostFormValue("drug_code"), Batch: r.PostFormValue("batch"),
		Expiry: r.PostFormValue("expiry"), Reason: r.PostFormValue("reason")}
	in.LotID = formInt(r.PostFormValue("lot_id"), "lot_id", &fs)
	in.Delta = formInt(r.PostFormValue("delta"), "delta", &fs)
	err := care.Invalid(fs)
	if err == nil {
		var si pharmacy.StockInput
		if si, err = in.input(); err == nil {
			_, err = s.Pharmacy.MoveStock(r.Context(), rc.Actor, si)
		}
	}
	if err != nil {
		d, derr := s.stockData(r, rc)
		if derr != nil {
			return derr
		}
		return s.formError(w, r, rc, "pharmacy_stock", d, err)
	}
	http.Redirect(w, r, "/pharmacy/stock?ok=saved", http.StatusSeeOther)
	return nil
}

func (s *Server) stockThreshold(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var fs []care.FieldError
	t := pharmacy.Threshold{InstitutionID: rc.Actor.InstitutionID, DrugCode: r.PostFormValue("drug_code")}
	t.MinUnits = formInt(r.PostFormValue("min_units"), "min_units", &fs)
	t.MinCoverDays = int(formInt(r.PostFormValue("min_cover_days"), "min_cover_days", &fs))
	err := care.Invalid(fs)
	if err == nil {
		err = s.Pharmacy.SetThreshold(r.Context(), rc.Actor, t)
	}
	if err != nil {
		d, derr := s.stockData(r, rc)
		if derr != nil {
			return derr
		}
		return s.formError(w, r, rc, "pharmacy_stock", d, err)
	}
	http.Redirect(w, r, "/pharmacy/stock?ok=saved", http.StatusSeeOther)
	return nil
}

func (s *Server) stockAlerts(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	if _, _, err := s.Pharmacy.AlertLowStock(r.Context(), rc.Actor, rc.Actor.CountyCode, rc.Actor.InstitutionID); err != nil {
		return err
	}
	http.Redirect(w, r, "/pharmacy/stock?ok=saved", http.StatusSeeOther)
	return nil
}

type orderRow struct {
	*pharmacy.SupplyOrder
	Clinic  string
	Lines   []orderLineRow
	Partial bool
	Mine    bool // the actor's own clinic
}

type orderLineRow struct {
	pharmacy.OrderLine
	Name string
}

func (s *Server) orderRow(r *http.Request, rc *reqCtx, o *pharmacy.SupplyOrder) orderRow {
	row := orderRow{SupplyOrder: o, Partial: o.Status != pharmacy.OrderRequested && o.Partial(), Mine: o.ClinicID == rc.Actor.InstitutionID}
	if t, err := s.Orgs.Tree(r.Context()); err == nil {
		if inst := t.Get(o.ClinicID); inst != nil {
			row.Clinic = inst.Name
		}
	}
	for _, l := range o.Lines {
		row.Lines = append(row.Lines, orderLineRow{l, s.drugName(rc.Lang, l.DrugCode)})
	}
	return row
}

type ordersPage struct {
	Orders []orderRow
	Drugs  []drugOption
	Slots  []int
}

func (s *Server) ordersData(r *http.Request, rc *reqCtx) (pageData, error) {
	list, err := s.Pharmacy.Orders(r.Context(), rc.Actor, pharmacy.OrderStatus(r.URL.Query().Get("status")))
	if err != nil {
		return pageData{}, err
	}
	p := ordersPage{Slots: []int{0, 1, 2, 3, 4}}
	for i := range list {
		p.Orders = append(p.Orders, s.orderRow(r, rc, &list[i]))
	}
	if t, err := s.Orgs.Tree(r.Context()); err == nil && rc.Actor.Role != care.RolePharmacist {
		if inst := t.Get(rc.Actor.InstitutionID); inst != nil {
			for _, e := range pharmacy.Formulary(s.Pharmacy.KB, nil, string(inst.Level)) {
				p.Drugs = append(p.Drugs, drugOption{e.Drug.Code, s.drugName(rc.Lang, e.Drug.Code)})
			}
		}
	}
	return pageData{Title: s.msgs.T(rc.Lang, "pharmacy.orders"), Data: p}, nil
}

func (s *Server) ordersPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	d, err := s.ordersData(r, rc)
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "pharmacy_orders", d)
	return nil
}

func (s *Server) orderCreate(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var fs []care.FieldError
	in := pharmacy.OrderInput{Note: r.PostFormValue("note")}
	for i := 0; i < 5; i++ {
		code := strings.TrimSpace(r.PostFormValue(fmt.Sprintf("drug_%d", i)))
		if code == "" {
			continue
		}
		q := formInt(r.PostFormValue(fmt.Sprintf("qty_%d", i)), fmt.Sprintf("qty_%d", i), &fs)
		in.Lines = append(in.Lines, pharmacy.OrderLine{DrugCode: code, Requested: q})
	}
	err := care.Invalid(fs)
	var o *pharmacy.SupplyOrder
	if err == nil {
		o, err = s.Pharmacy.CreateOrder(r.Context(), rc.Actor, in)
	}
	if err != nil {
		d, derr := s.ordersData(r, rc)
		if derr != nil {
			return derr
		}
		return s.formError(w, r, rc, "pharmacy_orders", d, err)
	}
	http.Redirect(w, r, "/pharmacy/orders/"+strconv.FormatInt(o.ID, 10)+"?ok=saved", http.StatusSeeOther)
	return nil
}

func (s *Server) orderData(r *http.Request, rc *reqCtx, id int64) (pageData, error) {
	o, err := s.Pharmacy.Order(r.Context(), rc.Actor, id)
	if err != nil {
		return pageData{}, err
	}
	return pageData{Title: s.msgs.T(rc.Lang, "pharmacy.order", o.ID), Data: s.orderRow(r, rc, o)}, nil
}

func (s *Server) orderPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	d, err := s.orderData(r, rc, id)
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "pharmacy_order", d)
	return nil
}

// orderAct: approve takes approved_<code>, ship takes one batch per line
// (batch_<code>, expiry_<code>, qty_<code>).
func (s *Server) orderAct(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var fs []care.FieldError
	act := pharmacy.OrderAction{Action: r.PathValue("action"), Note: r.PostFormValue("note"), Approved: map[string]int64{}, Ship: map[string][]pharmacy.Shipment{}}
	act.Version = int(formInt(r.PostFormValue("version"), "version", &fs))
	for k, v := range r.PostForm {
		switch {
		case strings.HasPrefix(k, "approved_"):
			act.Approved[strings.TrimPrefix(k, "approved_")] = formInt(v[0], k, &fs)
		case strings.HasPrefix(k, "qty_"):
			code := strings.TrimPrefix(k, "qty_")
			q := formInt(v[0], k, &fs)
			if q == 0 {
				continue
			}
			exp, perr := care.ParseDate(r.PostFormValue("expiry_" + code))
			if perr != nil {
				fs = append(fs, care.FieldError{Field: "expiry_" + code, Key: "pharmacy.expiry_past"})
			}
			act.Ship[code] = append(act.Ship[code], pharmacy.Shipment{Batch: r.PostFormValue("batch_" + code), Expiry: exp, Quantity: q})
		}
	}
	err = care.Invalid(fs)
	if err == nil {
		_, err = s.Pharmacy.Act(r.Context(), rc.Actor, id, act)
	}
	if err != nil {
		d, derr := s.orderData(r, rc, id)
		if derr != nil {
			return derr
		}
		return s.formError(w, r, rc, "pharmacy_order", d, err)
	}
	http.Redirect(w, r, "/pharmacy/orders/"+strconv.FormatInt(id, 10)+"?ok=saved", http.StatusSeeOther)
	return nil
}

type fulfilRow struct {
	*pharmacy.Fulfilment
	Name     string // the resident (staff pages)
	Total    string
	Patient  string
	Next     []string
	Drugs    []string
	Pickup   bool
	ShowCode bool
}

func (s *Server) fulfilRow(r *http.Request, rc *reqCtx, f *pharmacy.Fulfilment) fulfilRow {
	row := fulfilRow{Fulfilment: f, Total: yuan(f.TotalFen), Patient: yuan(f.PatientFen), Pickup: f.Mode == pharmacy.ModePickup,
		ShowCode: rc.Actor.Role == care.RoleResident}
	seen := map[string]bool{}
	for _, t := range f.Takes {
		if !seen[t.DrugCode] {
			seen[t.DrugCode] = true
			row.Drugs = append(row.Drugs, s.drugName(rc.Lang, t.DrugCode))
		}
	}
	if rc.Actor.Role != care.RoleResident {
		if res, err := s.Residents.Get(r.Context(), rc.Actor, f.ResidentID); err == nil {
			row.Name = res.Name
		}
		for _, to := range []pharmacy.FulfilStatus{pharmacy.FulShipped, pharmacy.FulOut, pharmacy.FulDelivered, pharmacy.FulFailed, pharmacy.FulPickedUp, pharmacy.FulReturned} {
			if pharmacy.CanMove(f.Mode, f.Status, to) {
				row.Next = append(row.Next, string(to))
			}
		}
	}
	return row
}

func (s *Server) dispensingData(r *http.Request, rc *reqCtx) (pageData, error) {
	list, err := s.Pharmacy.Open(r.Context(), rc.Actor)
	if err != nil {
		return pageData{}, err
	}
	var rows []fulfilRow
	for i := range list {
		rows = append(rows, s.fulfilRow(r, rc, &list[i]))
	}
	return pageData{Title: s.msgs.T(rc.Lang, "pharmacy.dispensing"), Data: rows}, nil
}

func (s *Server) dispensingPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	d, err := s.dispensingData(r, rc)
	if err != nil {
		return err
	}
	s.render(w, r, rc, http.StatusOK, "pharmacy_dispensing", d)
	return nil
}

func (s *Server) dispenseForm(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var fs []care.FieldError
	id := formInt(r.PostFormValue("prescription_id"), "prescription_id", &fs)
	if id <= 0 {
		fs = append(fs, care.FieldError{Field: "prescription_id", Key: "pharmacy.prescription_required"})
	}
	err := care.Invalid(fs)
	if err == nil {
		_, err = s.Pharmacy.Dispense(r.Context(), rc.Actor, id, pharmacy.DispenseInput{Mode: pharmacy.Mode(r.PostFormValue("mode")),
			Address: r.PostFormValue("address"), Phone: r.PostFormValue("phone"), Insured: r.PostFormValue("insured") == "on"})
	}
	if err != nil {
		d, derr := s.dispensingData(r, rc)
		if derr != nil {
			return derr
		}
		return s.formError(w, r, rc, "pharmacy_dispensing", d, err)
	}
	http.Redirect(w, r, "/pharmacy/dispensing?ok=saved", http.StatusSeeOther)
	return nil
}

func (s *Server) fulfilForm(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var fs []care.FieldError
	in := apiFulfilIn{Status: r.PostFormValue("status"), Courier: r.PostFormValue("courier"), Tracking: r.PostFormValue("tracking"),
		ReceiverName: r.PostFormValue("receiver_name"), ProofCode: r.PostFormValue("proof_code"), PickupCode: r.PostFormValue("pickup_code"),
		PickedUpBy: r.PostFormValue("picked_up_by"), Note: r.PostFormValue("note")}
	in.Version = int(formInt(r.PostFormValue("version"), "version", &fs))
	err = care.Invalid(fs)
	if err == nil {
		_, err = s.Pharmacy.Advance(r.Context(), rc.Actor, id, in.action())
	}
	if err != nil {
		d, derr := s.dispensingData(r, rc)
		if derr != nil {
			return derr
		}
		return s.formError(w, r, rc, "pharmacy_dispensing", d, err)
	}
	http.Redirect(w, r, "/pharmacy/dispensing?ok=saved", http.StatusSeeOther)
	return nil
}

func (s *Server) myOrdersPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	list, err := s.Pharmacy.Mine(r.Context(), rc.Actor)
	if err != nil {
		return err
	}
	var rows []fulfilRow
	for i := range list {
		rows = append(rows, s.fulfilRow(r, rc, &list[i]))
	}
	s.render(w, r, rc, http.StatusOK, "my_orders", pageData{Title: s.msgs.T(rc.Lang, "pharmacy.my_orders"), Data: rows})
	return nil
}
