package web

import (
	"net/http"
	"strconv"
	"time"

	"countycare/care"
	"countycare/pharmacy"
	"countycare/rx"
)

// JSON API of the pharmacy (issue #7): formulary, stock, supply orders,
// dispensing from stock and the delivery or pick-up that follows.

type apiFormularyEntry struct {
	Code          string   `json:"code"`
	NameZH        string   `json:"name_zh"`
	NameEN        string   `json:"name_en"`
	Form          string   `json:"form"`
	Strength      float64  `json:"strength"`
	Unit          string   `json:"unit"`
	Route         string   `json:"route"`
	InsuranceCode string   `json:"insurance_code"`
	Essential     bool     `json:"essential"`
	Narcotic      bool     `json:"narcotic"`
	Psychotropic  bool     `json:"psychotropic"`
	Antimicrobial bool     `json:"antimicrobial"`
	Toxic         bool     `json:"toxic"`
	Classes       []string `json:"chronic_classes"`
	PriceFen      int64    `json:"unit_price_fen"`
	Category      string   `json:"insurance_category"`
}

// apiPharmacyFormulary lists what an institution level may stock, with
// prices and chronic-disease classes (?level=village|township|county).
func (s *Server) apiPharmacyFormulary(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	level := r.URL.Query().Get("level")
	if level != "village" && level != "township" && level != "county" {
		return care.Invalid([]care.FieldError{{Field: "level", Key: "pharmacy.level"}})
	}
	out := []apiFormularyEntry{}
	for _, e := range pharmacy.Formulary(s.Pharmacy.KB, s.Pharmacy.Prices, level) {
		d := e.Drug
		x := apiFormularyEntry{Code: d.Code, NameZH: d.NameZH, NameEN: d.NameEN, Form: d.Form, Strength: d.Strength, Unit: d.Unit, Route: d.Route,
			InsuranceCode: d.InsuranceCode, Essential: d.Flags&rx.Essential != 0, Narcotic: d.Flags&rx.Narcotic != 0, Psychotropic: d.Flags&rx.Psychotropic != 0,
			Antimicrobial: d.Flags&rx.Antimicrobial != 0, Toxic: d.Flags&rx.Toxic != 0, PriceFen: e.Price.UnitFen, Category: e.Price.Category, Classes: []string{}}
		for _, c := range e.Classes {
			x.Classes = append(x.Classes, string(c))
		}
		out = append(out, x)
	}
	writeJSON(w, http.StatusOK, map[string]any{"level": level, "drugs": out})
	return nil
}

type apiLot struct {
	ID       int64  `json:"id"`
	DrugCode string `json:"drug_code"`
	Batch    string `json:"batch"`
	Expiry   string `json:"expiry"`
	Quantity int64  `json:"quantity"`
	Expired  bool   `json:"expired"`
}

type apiLevel struct {
	DrugCode     string  `json:"drug_code"`
	OnHand       int64   `json:"on_hand"`
	Dispensed30d int64   `json:"dispensed_30d"`
	CoverDays    float64 `json:"cover_days"`
	MinUnits     int64   `json:"min_units"`
	MinCoverDays int     `json:"min_cover_days"`
	Low          bool    `json:"low"`
	Suggest      int64   `json:"suggest_order"`
}

type apiShortfall struct {
	Class   string   `json:"class"`
	Have    []string `json:"in_stock"`
	Need    int      `json:"need"`
	Missing int      `json:"missing"`
	Options []string `json:"options"`
}

type apiMovement struct {
	ID       int64     `json:"id"`
	LotID    int64     `json:"lot_id"`
	DrugCode string    `json:"drug_code"`
	Kind     string    `json:"kind"`
	Delta    int64     `json:"delta"`
	Reason   string    `json:"reason"`
	Ref      string    `json:"ref"`
	At       time.Time `json:"at"`
}

// stockInstitution is ?institution= or the actor's own.
func stockInstitution(r *http.Request, rc *reqCtx) (int64, error) {
	if v := r.URL.Query().Get("institution"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return 0, notFound()
		}
		return id, nil
	}
	return rc.Actor.InstitutionID, nil
}

func (s *Server) apiStock(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	inst, err := stockInstitution(r, rc)
	if err != nil {
		return err
	}
	v, err := s.Pharmacy.Stock(r.Context(), rc.Actor, inst)
	if err != nil {
		return err
	}
	out := map[string]any{"institution_id": v.Institution.ID, "level": string(v.Institution.Level), "day": v.Day.String(),
		"lots": []apiLot{}, "levels": []apiLevel{}, "shortfalls": []apiShortfall{}, "movements": []apiMovement{}}
	lots := []apiLot{}
	for _, l := range v.Lots {
		lots = append(lots, apiLot{l.ID, l.DrugCode, l.Batch, l.Expiry.String(), l.Quantity, l.Expiry.Before(v.Day)})
	}
	levels := []apiLevel{}
	for _, l := range v.Levels {
		levels = append(levels, apiLevel{l.DrugCode, l.OnHand, l.Dispensed, l.CoverDays, l.Threshold.MinUnits, l.Threshold.MinCoverDays, l.Low, l.SuggestQty})
	}
	sfs := []apiShortfall{}
	for _, sf := range v.Shortfalls {
		sfs = append(sfs, apiShortfall{string(sf.Class), nonNil(sf.Have), sf.Need, sf.Missing, nonNil(sf.Options)})
	}
	moves := []apiMovement{}
	for _, m := range v.Movements {
		moves = append(moves, apiMovement{m.ID, m.LotID, m.DrugCode, m.Kind, m.Delta, m.Reason, m.Ref, m.At})
	}
	out["lots"], out["levels"], out["shortfalls"], out["movements"] = lots, levels, sfs, moves
	writeJSON(w, http.StatusOK, out)
	return nil
}

// nonNil is s, or an empty slice for nil (JSON [] rather than null).
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

type apiStockIn struct {
	Kind     string `json:"kind"`
	DrugCode string `json:"drug_code"`
	LotID    int64  `json:"lot_id"`
	Batch    string `json:"batch"`
	Expiry   string `json:"expiry"`
	Delta    int64  `json:"delta"`
	Reason   string `json:"reason"`
}

func (in apiStockIn) input() (pharmacy.StockInput, error) {
	out := pharmacy.StockInput{Kind: in.Kind, DrugCode: in.DrugCode, LotID: in.LotID, Batch: in.Batch, Delta: in.Delta, Reason: in.Reason}
	if in.Expiry != "" {
		d, err := care.ParseDate(in.Expiry)
		if err != nil {
			return out, care.Invalid([]care.FieldError{{Field: "expiry", Key: "pharmacy.expiry_past"}})
		}
		out.Expiry = d
	}
	return out, nil
}

func (s *Server) apiStockMove(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in apiStockIn
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	si, err := in.input()
	if err != nil {
		return err
	}
	m, err := s.Pharmacy.MoveStock(r.Context(), rc.Actor, si)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, apiMovement{m.ID, m.LotID, m.DrugCode, m.Kind, m.Delta, m.Reason, m.Ref, m.At})
	return nil
}

func (s *Server) apiThreshold(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in struct {
		InstitutionID int64  `json:"institution_id"`
		DrugCode      string `json:"drug_code"`
		MinUnits      int64  `json:"min_units"`
		MinCoverDays  int    `json:"min_cover_days"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if in.InstitutionID == 0 {
		in.InstitutionID = rc.Actor.InstitutionID
	}
	t := pharmacy.Threshold{InstitutionID: in.InstitutionID, DrugCode: in.DrugCode, MinUnits: in.MinUnits, MinCoverDays: in.MinCoverDays}
	if err := s.Pharmacy.SetThreshold(r.Context(), rc.Actor, t); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, in)
	return nil
}

// apiLowStockAlerts checks the actor's institution (or ?institution= for
// a pharmacist) and queues the alerts due.
func (s *Server) apiLowStockAlerts(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	inst, err := stockInstitution(r, rc)
	if err != nil {
		return err
	}
	if _, err := s.Pharmacy.Stock(r.Context(), rc.Actor, inst); err != nil {
		return err
	}
	low, n, err := s.Pharmacy.AlertLowStock(r.Context(), rc.Actor, rc.Actor.CountyCode, inst)
	if err != nil {
		return err
	}
	codes := []string{}
	for _, l := range low {
		codes = append(codes, l.DrugCode)
	}
	writeJSON(w, http.StatusOK, map[string]any{"low": codes, "alerts_queued": n})
	return nil
}

type apiOrderLine struct {
	DrugCode  string        `json:"drug_code"`
	Requested int64         `json:"requested"`
	Approved  int64         `json:"approved"`
	Shipped   int64         `json:"shipped"`
	Shipments []apiShipment `json:"shipments"`
}

type apiShipment struct {
	Batch    string `json:"batch"`
	Expiry   string `json:"expiry"`
	Quantity int64  `json:"quantity"`
}

type apiEvent struct {
	Status   string    `json:"status"`
	At       time.Time `json:"at"`
	Username string    `json:"username,omitempty"`
	Note     string    `json:"note,omitempty"`
}

type apiTake struct {
	LotID    int64  `json:"lot_id"`
	DrugCode string `json:"drug_code"`
	Batch    string `json:"batch"`
	Expiry   string `json:"expiry"`
	Quantity int64  `json:"quantity"`
}

type apiOrder struct {
	ID         int64          `json:"id"`
	ClinicID   int64          `json:"clinic_id"`
	SupplierID int64          `json:"supplier_id,omitempty"`
	Status     string         `json:"status"`
	Partial    bool           `json:"partial"`
	Lines      []apiOrderLine `json:"lines"`
	Note       string         `json:"note"`
	History    []apiEvent     `json:"history"`
	CreatedAt  time.Time      `json:"created_at"`
	Version    int            `json:"version"`
}

func toAPIOrder(o *pharmacy.SupplyOrder) apiOrder {
	out := apiOrder{ID: o.ID, ClinicID: o.ClinicID, SupplierID: o.SupplierID, Status: string(o.Status), Note: o.Note, History: []apiEvent{},
		CreatedAt: o.CreatedAt, Version: o.Version, Partial: o.Status != pharmacy.OrderRequested && o.Partial()}
	for _, h := range o.History {
		out.History = append(out.History, apiEvent{string(h.Status), h.At, h.Username, h.Note})
	}
	for _, l := range o.Lines {
		sh := []apiShipment{}
		for _, x := range l.Shipments {
			sh = append(sh, apiShipment{x.Batch, x.Expiry.String(), x.Quantity})
		}
		out.Lines = append(out.Lines, apiOrderLine{l.DrugCode, l.Requested, l.Approved, l.Shipped, sh})
	}
	return out
}

func (s *Server) apiOrders(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	list, err := s.Pharmacy.Orders(r.Context(), rc.Actor, pharmacy.OrderStatus(r.URL.Query().Get("status")))
	if err != nil {
		return err
	}
	out := []apiOrder{}
	for i := range list {
		out = append(out, toAPIOrder(&list[i]))
	}
	writeJSON(w, http.StatusOK, map[string]any{"orders": out})
	return nil
}

func (s *Server) apiOrderCreate(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var in struct {
		Lines []struct {
			DrugCode string `json:"drug_code"`
			Quantity int64  `json:"quantity"`
		} `json:"lines"`
		Note string `json:"note"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	oi := pharmacy.OrderInput{Note: in.Note}
	for _, l := range in.Lines {
		oi.Lines = append(oi.Lines, pharmacy.OrderLine{DrugCode: l.DrugCode, Requested: l.Quantity})
	}
	o, err := s.Pharmacy.CreateOrder(r.Context(), rc.Actor, oi)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toAPIOrder(o))
	return nil
}

func (s *Server) apiOrderGet(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	o, err := s.Pharmacy.Order(r.Context(), rc.Actor, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toAPIOrder(o))
	return nil
}

func (s *Server) apiOrderAct(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in struct {
		Version  int              `json:"version"`
		Note     string           `json:"note"`
		Approved map[string]int64 `json:"approved"`
		Ship     map[string][]struct {
			Batch    string `json:"batch"`
			Expiry   string `json:"expiry"`
			Quantity int64  `json:"quantity"`
		} `json:"ship"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	act := pharmacy.OrderAction{Action: r.PathValue("action"), Version: in.Version, Note: in.Note, Approved: in.Approved, Ship: map[string][]pharmacy.Shipment{}}
	var fs []care.FieldError
	for code, list := range in.Ship {
		for _, sh := range list {
			d, err := care.ParseDate(sh.Expiry)
			if err != nil {
				fs = append(fs, care.FieldError{Field: "ship." + code, Key: "pharmacy.expiry_past"})
			}
			act.Ship[code] = append(act.Ship[code], pharmacy.Shipment{Batch: sh.Batch, Expiry: d, Quantity: sh.Quantity})
		}
	}
	if err := care.Invalid(fs); err != nil {
		return err
	}
	o, err := s.Pharmacy.Act(r.Context(), rc.Actor, id, act)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toAPIOrder(o))
	return nil
}

type apiFulfilment struct {
	PrescriptionID int64      `json:"prescription_id"`
	Mode           string     `json:"mode"`
	Status         string     `json:"status"`
	InstitutionID  int64      `json:"institution_id"`
	Address        string     `json:"address,omitempty"`
	Courier        string     `json:"courier,omitempty"`
	Tracking       string     `json:"tracking,omitempty"`
	ReceiverName   string     `json:"receiver_name,omitempty"`
	PickupClinicID int64      `json:"pickup_clinic_id,omitempty"`
	PickupCode     string     `json:"pickup_code,omitempty"`
	PickedUpBy     string     `json:"picked_up_by,omitempty"`
	TotalFen       int64      `json:"total_fen"`
	PatientFen     int64      `json:"patient_fen"`
	SettlementID   int64      `json:"settlement_id,omitempty"`  // the first of settlement_ids (kept for older clients)
	SettlementIDs  []int64    `json:"settlement_ids,omitempty"` // a chronic special-outpatient part and a plain outpatient part settle apart
	Lots           []apiTake  `json:"lots"`
	History        []apiEvent `json:"history"`
	Version        int        `json:"version"`
}

// toAPIFulfilment: the pick-up code is shown to the resident only (staff
// must ask for it: it is the proof of collection).
func toAPIFulfilment(f *pharmacy.Fulfilment, a care.Actor) apiFulfilment {
	out := apiFulfilment{PrescriptionID: f.PrescriptionID, Mode: string(f.Mode), Status: string(f.Status), InstitutionID: f.InstitutionID, Address: f.Address,
		Courier: f.Courier, Tracking: f.Tracking, ReceiverName: f.ReceiverName, PickupClinicID: f.PickupClinicID, PickedUpBy: f.PickedUpBy,
		TotalFen: f.TotalFen, PatientFen: f.PatientFen, SettlementID: f.SettlementID, SettlementIDs: f.Settlements(), Lots: []apiTake{}, History: []apiEvent{}, Version: f.Version}
	for _, t := range f.Takes {
		out.Lots = append(out.Lots, apiTake{t.LotID, t.DrugCode, t.Batch, t.Expiry.String(), t.Quantity})
	}
	for _, h := range f.History {
		out.History = append(out.History, apiEvent{Status: string(h.Status), At: h.At, Note: h.Note})
	}
	if a.Role == care.RoleResident {
		out.PickupCode = f.PickupCode
	}
	return out
}

func (s *Server) apiDispense(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in struct {
		Mode    string `json:"mode"`
		Address string `json:"address"`
		Phone   string `json:"phone"`
		Insured *bool  `json:"insured"`
	}
	if r.ContentLength != 0 {
		if err := decodeJSON(r, &in); err != nil {
			return err
		}
	}
	insured := in.Insured == nil || *in.Insured
	f, err := s.Pharmacy.Dispense(r.Context(), rc.Actor, id, pharmacy.DispenseInput{Mode: pharmacy.Mode(in.Mode), Address: in.Address, Phone: in.Phone, Insured: insured})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "dispensed", "fulfilment": toAPIFulfilment(f, rc.Actor)})
	return nil
}

func (s *Server) apiFulfilmentGet(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	f, err := s.Pharmacy.Fulfilment(r.Context(), rc.Actor, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toAPIFulfilment(f, rc.Actor))
	return nil
}

type apiFulfilIn struct {
	Status       string `json:"status"`
	Courier      string `json:"courier"`
	Tracking     string `json:"tracking"`
	ReceiverName string `json:"receiver_name"`
	ProofCode    string `json:"proof_code"`
	PickupCode   string `json:"pickup_code"`
	PickedUpBy   string `json:"picked_up_by"`
	Note         string `json:"note"`
	Version      int    `json:"version"`
}

func (in apiFulfilIn) action() pharmacy.FulfilAction {
	return pharmacy.FulfilAction{To: pharmacy.FulfilStatus(in.Status), Courier: in.Courier, Tracking: in.Tracking, ReceiverName: in.ReceiverName,
		ProofCode: in.ProofCode, PickupCode: in.PickupCode, PickedUpBy: in.PickedUpBy, Note: in.Note, Version: in.Version}
}

func (s *Server) apiFulfilmentAdvance(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in apiFulfilIn
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	f, err := s.Pharmacy.Advance(r.Context(), rc.Actor, id, in.action())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toAPIFulfilment(f, rc.Actor))
	return nil
}

func (s *Server) apiMyOrders(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	list, err := s.Pharmacy.Mine(r.Context(), rc.Actor)
	if err != nil {
		return err
	}
	out := []apiFulfilment{}
	for i := range list {
		out = append(out, toAPIFulfilment(&list[i], rc.Actor))
	}
	writeJSON(w, http.StatusOK, map[string]any{"orders": out})
	return nil
}
