package pharmacy

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"countycare/audit"
	"countycare/care"
	"countycare/rx"
	"countycare/settle"
)

// DispenseInput says how a dispensed prescription reaches the resident
// and whether the resident is enrolled in basic medical insurance this
// year (the dispenser checks the insurance card, as the window does).
type DispenseInput struct {
	Mode    Mode
	Address string // delivery; empty: the address on the resident's record
	Phone   string // delivery; empty: the phone on the record
	Insured bool
}

// Dispense dispenses a reviewed prescription from the actor's
// institution's stock (调配发药) and starts its delivery or pick-up.
//
// Order of work, and why: (1) the prescription must be passed or approved
// and still valid (互联网诊疗监管细则 2022: no drugs before a reviewed
// prescription; 处方管理办法 2007 art. 18) — otherwise ECONFLICT
// (rx.not_reviewed, rx.expired); (2) the lots are chosen first expiry
// first out; a drug short is ECONFLICT (pharmacy.stock_short) naming the
// drug, units needed and on hand, and nothing happens; (3) the bill is
// priced and checked for the one-stop settlement engine (a county without
// a policy for the day is refused here, before anything is written); (4)
// ONE transaction settles the bill — payment at dispensing, not at
// pick-up, because a delivered order has no cashier at the door and the
// settled amount is exactly what was dispensed — moves the prescription to
// dispensed, takes the units from the lots (re-checked: a lot emptied
// meanwhile fails the whole transaction), writes the ledger and the
// fulfilment with its audit rows. Payment and the drugs leaving the shelf
// happen together or not at all (issue 18: they were two transactions,
// and a crash between them left a paid, undispensed prescription).
func (s *Service) Dispense(ctx context.Context, a care.Actor, id int64, in DispenseInput) (*Fulfilment, error) {
	if !clinicStaff(a.Role) && a.Role != care.RolePharmacist {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	sg, err := s.Rx.Get(ctx, a, id)
	if err != nil {
		return nil, err
	}
	if !sg.Status.Reviewed() {
		ev := audit.New(ctx, a, ActDispense, sg.ResidentID)
		ev.CountyCode, ev.Outcome, ev.Detail = sg.CountyCode, audit.OutcomeDenied, fmt.Sprintf("prescription %d is %s", sg.ID, sg.Status)
		s.Audit.Record(ctx, ev)
		return nil, care.Errorf(care.ECONFLICT, "rx.not_reviewed")
	}
	today := care.Today(s.Now())
	if !rx.PrescriptionValidOn(s.Config, sg.Prescription.Issued, sg.Prescription.ValidDays, today) {
		return nil, care.Errorf(care.ECONFLICT, "rx.expired")
	}
	res, err := s.Residents.Get(ctx, a, sg.ResidentID)
	if err != nil {
		return nil, err
	}
	f := &Fulfilment{PrescriptionID: sg.ID, County: sg.CountyCode, ResidentID: sg.ResidentID, InstitutionID: a.InstitutionID, Mode: in.Mode}
	var fs []care.FieldError
	switch in.Mode {
	case ModeDelivery:
		f.Status = FulPacked
		f.Address, f.Phone = strings.TrimSpace(in.Address), strings.TrimSpace(in.Phone)
		if f.Address == "" {
			f.Address = res.Address
		}
		if f.Phone == "" {
			f.Phone = res.Phone
		}
		if f.Address == "" || utf8.RuneCountInString(f.Address) > 200 {
			fs = append(fs, care.FieldError{Field: "address", Key: "pharmacy.address_required"})
		}
		if utf8.RuneCountInString(f.Phone) > 20 {
			fs = append(fs, care.FieldError{Field: "phone", Key: "field.too_long", Args: []any{20}})
		}
	case ModePickup:
		// At the resident's village clinic (预约取药); a resident managed
		// by no clinic collects where the drugs were dispensed.
		f.Status, f.PickupCode = FulReady, pickupCode()
		f.PickupClinicID = res.VillageID
		if f.PickupClinicID == 0 {
			f.PickupClinicID = a.InstitutionID
		}
	default:
		fs = append(fs, care.FieldError{Field: "mode", Key: "pharmacy.mode"})
	}
	if err := care.Invalid(fs); err != nil {
		return nil, err
	}
	need := map[string]int64{}
	for _, l := range sg.Prescription.Lines {
		need[l.DrugCode] += Units(l.Quantity)
	}
	lots, err := s.Repo.Lots(ctx, a.CountyCode, a.InstitutionID, "")
	if err != nil {
		return nil, err
	}
	takes, shorts := AllocateFEFO(lots, need, today)
	if len(shorts) > 0 {
		return nil, s.shortError(shorts)
	}
	f.Takes = takes
	bill := &Bill{PrescriptionID: sg.ID, ResidentID: sg.ResidentID, InstitutionID: a.InstitutionID, Date: today, Insured: in.Insured,
		County: sg.CountyCode}
	codes := make([]string, 0, len(need))
	for c := range need {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	for _, c := range codes {
		p, ok := s.Prices[c]
		if !ok {
			fs = append(fs, care.FieldError{Field: "prices", Key: "pharmacy.no_price", Args: []any{c}})
			continue
		}
		name, atc := c, ""
		if d := s.KB.Drug(c); d != nil {
			name = d.NameZH
			if len(d.ATC) > 0 {
				atc = d.ATC[0]
			}
		}
		bill.Lines = append(bill.Lines, BillLine{DrugCode: c, Name: name, Category: p.Category, AmountFen: p.UnitFen * need[c],
			ATC: atc, Diagnoses: lineDiagnoses(&sg.Prescription, c)})
	}
	if err := care.Invalid(fs); err != nil {
		return nil, err
	}
	f.TotalFen, f.PatientFen = bill.Total(), bill.Total()
	// Everything that can fail before the write is done before paying.
	alerts, err := s.alertsAfter(ctx, a.CountyCode, a.InstitutionID, lots, takes, today)
	if err != nil {
		return nil, err
	}
	var pays []*settle.Pending
	if s.Payer != nil {
		if pays, err = s.Payer.Prepare(ctx, a, bill); err != nil {
			return nil, err
		}
	}
	now := s.Now().UTC()
	f.CreatedAt, f.UpdatedAt = now, now
	f.History = []FulfilEvent{{Status: f.Status, At: now, AccountID: a.AccountID}}
	from := sg.Status
	sg.Status, sg.DispensedBy, sg.DispensedAt = rx.StatusDispensed, a.AccountID, now
	ev := audit.New(ctx, a, ActDispense, sg.ResidentID)
	ev.CountyCode, ev.Detail = sg.CountyCode, fmt.Sprintf("prescription %d lots=%d %s total=%d fen", sg.ID, len(takes), f.Mode, f.TotalFen)
	// One transaction pays and dispenses: if anything fails, nothing is
	// paid and nothing leaves the shelf; a retry starts clean.
	if err := s.Repo.DispenseTx(ctx, sg, from, f, alerts, now.Add(-AlertEvery), pays, ev); err != nil {
		sg.Status = from
		return nil, err
	}
	return f, nil
}

// lineDiagnoses returns the ICD-10 diagnoses drug was prescribed for in
// p: those of its lines, or the prescription's when a line names none.
func lineDiagnoses(p *rx.Prescription, drug string) []string {
	var out []string
	for _, l := range p.Lines {
		if l.DrugCode != drug {
			continue
		}
		if l.Diagnosis == "" {
			out = append(out, p.Diagnoses...)
		} else {
			out = append(out, l.Diagnosis)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// alertsAfter returns the low-stock alerts of the drugs taken, as their
// levels will be once takes leave the lots (and counted as dispensed).
func (s *Service) alertsAfter(ctx context.Context, county string, inst int64, lots []Lot, takes []Take, day care.Date) ([]Alert, error) {
	after := make([]Lot, len(lots))
	copy(after, lots)
	taken := map[string]int64{}
	for _, t := range takes {
		taken[t.DrugCode] += t.Quantity
		for i := range after {
			if after[i].ID == t.LotID {
				after[i].Quantity -= t.Quantity
			}
		}
	}
	levels, err := s.levels(ctx, county, inst, after, day)
	if err != nil {
		return nil, err
	}
	var low []Level
	for _, l := range levels {
		if n, ok := taken[l.DrugCode]; ok {
			l.Dispensed += n
			CheckLevel(&l)
			if l.Low {
				low = append(low, l)
			}
		}
	}
	if len(low) == 0 {
		return nil, nil
	}
	staff, err := s.staff(ctx, inst)
	if err != nil {
		return nil, err
	}
	out := make([]Alert, 0, len(low))
	for _, l := range low {
		out = append(out, Alert{DrugCode: l.DrugCode, Messages: s.alertMessages(county, inst, l, staff)})
	}
	return out, nil
}

func (s *Service) shortError(shorts []Short) error {
	e := care.Errorf(care.ECONFLICT, "pharmacy.stock_short")
	for _, sh := range shorts {
		name := sh.DrugCode
		if d := s.KB.Drug(sh.DrugCode); d != nil {
			name = d.NameZH
		}
		e.Fields = append(e.Fields, care.FieldError{Field: sh.DrugCode, Key: "pharmacy.short_line", Args: []any{name, sh.Need, sh.Have}})
	}
	return e
}

// mayFulfil: the resident themself; staff of the dispensing institution
// or of the pick-up clinic; a county pharmacist. ENOTFOUND otherwise.
func (s *Service) mayFulfil(ctx context.Context, a care.Actor, f *Fulfilment) error {
	switch {
	case a.Role == care.RoleResident && a.ResidentID == f.ResidentID:
		return nil
	case a.CountyCode != f.County:
	case a.Role == care.RolePharmacist:
		return nil
	case clinicStaff(a.Role) && (a.InstitutionID == f.InstitutionID || a.InstitutionID == f.PickupClinicID):
		return nil
	}
	return care.Errorf(care.ENOTFOUND, "error.not_found")
}

// Fulfilment returns a prescription's delivery or pick-up, audited as a
// read of the resident's data.
func (s *Service) Fulfilment(ctx context.Context, a care.Actor, prescriptionID int64) (*Fulfilment, error) {
	f, err := s.Repo.Fulfilment(ctx, prescriptionID)
	if err == nil {
		err = s.mayFulfil(ctx, a, f)
	}
	if err != nil {
		return nil, err
	}
	ev := audit.New(ctx, a, ActFulfilRead, f.ResidentID)
	ev.CountyCode, ev.Detail = f.County, fmt.Sprintf("prescription %d", f.PrescriptionID)
	s.Audit.Record(ctx, ev)
	return f, nil
}

// Mine lists the resident's own orders (residents only), audited.
func (s *Service) Mine(ctx context.Context, a care.Actor) ([]Fulfilment, error) {
	if a.Role != care.RoleResident || a.ResidentID == 0 {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	res, err := s.Residents.Get(ctx, a, a.ResidentID)
	if err != nil {
		return nil, err
	}
	list, err := s.Repo.Fulfilments(ctx, res.CountyCode, res.ID, nil, 50)
	if err != nil {
		return nil, err
	}
	ev := audit.New(ctx, a, ActFulfilRead, res.ID)
	ev.CountyCode, ev.Detail = res.CountyCode, fmt.Sprintf("own orders n=%d", len(list))
	s.Audit.Record(ctx, ev)
	return list, nil
}

// Open lists the fulfilments at the actor's institution (dispensed there
// or to be picked up there), newest first; each row is a resident's data,
// so the list is audited.
func (s *Service) Open(ctx context.Context, a care.Actor) ([]Fulfilment, error) {
	if !clinicStaff(a.Role) && a.Role != care.RolePharmacist {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	list, err := s.Repo.Fulfilments(ctx, a.CountyCode, 0, []int64{a.InstitutionID}, 200)
	if err != nil {
		return nil, err
	}
	ev := audit.New(ctx, a, ActFulfilRead, 0)
	ev.Detail = fmt.Sprintf("institution %d orders n=%d", a.InstitutionID, len(list))
	s.Audit.Record(ctx, ev)
	return list, nil
}

// FulfilAction is one step of a delivery or pick-up.
type FulfilAction struct {
	To           FulfilStatus
	Courier      string
	Tracking     string
	ReceiverName string // delivered: who signed
	ProofCode    string // delivered: the code the resident gave, or a photo reference
	PickupCode   string // picked_up: must match
	PickedUpBy   string
	Note         string
	Version      int
}

// Advance moves a fulfilment one step. Courier steps are the dispensing
// institution's; pick-up is the pick-up clinic's and needs the resident's
// code; returning (undeliverable, never collected, or the prescription
// cancelled) puts the drugs back on their lots and reverses the payment.
// EINVALID names a missing receiver, proof, code or reason; ECONFLICT a
// step the state machine does not allow, or a stale version.
func (s *Service) Advance(ctx context.Context, a care.Actor, prescriptionID int64, act FulfilAction) (*Fulfilment, error) {
	if !clinicStaff(a.Role) && a.Role != care.RolePharmacist {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	f, err := s.Repo.Fulfilment(ctx, prescriptionID)
	if err == nil {
		err = s.mayFulfil(ctx, a, f)
	}
	if err != nil {
		return nil, err
	}
	if !CanMove(f.Mode, f.Status, act.To) || f.Version != act.Version {
		return nil, care.Errorf(care.ECONFLICT, "pharmacy.fulfil_state")
	}
	own := a.InstitutionID == f.InstitutionID
	if act.To == FulPickedUp || (f.Mode == ModePickup && act.To == FulReturned) {
		own = a.InstitutionID == f.PickupClinicID || own
	}
	if !own {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	trim := func(p *string, field string, max int, fs *[]care.FieldError) {
		*p = strings.TrimSpace(*p)
		if utf8.RuneCountInString(*p) > max {
			*fs = append(*fs, care.FieldError{Field: field, Key: "field.too_long", Args: []any{max}})
		}
	}
	var fs []care.FieldError
	trim(&act.Courier, "courier", 40, &fs)
	trim(&act.Tracking, "tracking", 40, &fs)
	trim(&act.ReceiverName, "receiver_name", 40, &fs)
	trim(&act.ProofCode, "proof_code", 200, &fs)
	trim(&act.PickedUpBy, "picked_up_by", 40, &fs)
	trim(&act.Note, "note", MaxReasonLen, &fs)
	switch act.To {
	case FulShipped:
		if act.Courier == "" {
			fs = append(fs, care.FieldError{Field: "courier", Key: "pharmacy.courier_required"})
		}
		f.Courier, f.Tracking = act.Courier, act.Tracking
	case FulDelivered:
		if act.ReceiverName == "" {
			fs = append(fs, care.FieldError{Field: "receiver_name", Key: "pharmacy.receiver_required"})
		}
		if act.ProofCode == "" {
			fs = append(fs, care.FieldError{Field: "proof_code", Key: "pharmacy.proof_required"})
		}
		f.ReceiverName, f.ProofCode = act.ReceiverName, act.ProofCode
	case FulPickedUp:
		if strings.TrimSpace(act.PickupCode) != f.PickupCode {
			fs = append(fs, care.FieldError{Field: "pickup_code", Key: "pharmacy.pickup_code"})
		}
		if act.PickedUpBy == "" {
			fs = append(fs, care.FieldError{Field: "picked_up_by", Key: "pharmacy.receiver_required"})
		}
		f.PickedUpBy = act.PickedUpBy
	case FulFailed, FulReturned:
		if act.Note == "" {
			fs = append(fs, care.FieldError{Field: "note", Key: "pharmacy.reason_required"})
		}
	}
	if err := care.Invalid(fs); err != nil {
		return nil, err
	}
	from := f.Status
	now := s.Now().UTC()
	f.Status, f.UpdatedAt = act.To, now
	f.History = append(f.History, FulfilEvent{Status: act.To, At: now, AccountID: a.AccountID, Note: act.Note})
	ev := audit.New(ctx, a, ActFulfilMove, f.ResidentID)
	ev.CountyCode, ev.Detail = f.County, fmt.Sprintf("prescription %d %s→%s", f.PrescriptionID, from, act.To)
	restock := act.To == FulReturned
	if restock && s.Payer != nil {
		// Refund first: if a reversal fails, nothing is returned to the
		// shelf and the order stays where it was, to be tried again (a
		// settlement already reversed counts as refunded).
		for _, id := range f.Settlements() {
			if err := s.Payer.Refund(ctx, a, id, "returned: "+act.Note); err != nil {
				return nil, err
			}
		}
	}
	if err := s.Repo.UpdateFulfilment(ctx, f, from, restock, a.AccountID, ev); err != nil {
		return nil, err
	}
	return f, nil
}
