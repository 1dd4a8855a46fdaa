package pharmacy

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"countycare/audit"
	"countycare/care"
	"countycare/org"
)

// OrderInput is a clinic's supply request: drug codes and quantities.
type OrderInput struct {
	Lines []OrderLine // DrugCode and Requested
	Note  string
}

// CreateOrder files a supply order from the actor's own village or
// township clinic to the county pharmacy. EINVALID names each fault: no
// lines, too many, an unknown drug, one the clinic's level may not stock,
// a drug twice, a quantity out of range.
func (s *Service) CreateOrder(ctx context.Context, a care.Actor, in OrderInput) (*SupplyOrder, error) {
	if !clinicStaff(a.Role) {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	inst, err := s.viewable(ctx, a, a.InstitutionID)
	if err != nil {
		return nil, err
	}
	if inst.Level != org.LevelVillage && inst.Level != org.LevelTownship {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	var fs []care.FieldError
	if len(in.Lines) == 0 || len(in.Lines) > MaxOrderLines {
		fs = append(fs, care.FieldError{Field: "lines", Key: "pharmacy.order_lines", Args: []any{MaxOrderLines}})
	}
	seen := map[string]bool{}
	o := &SupplyOrder{County: a.CountyCode, ClinicID: inst.ID, Status: OrderRequested, Note: strings.TrimSpace(in.Note)}
	for i, l := range in.Lines {
		field := fmt.Sprintf("lines[%d]", i)
		d := s.KB.Drug(l.DrugCode)
		switch {
		case d == nil:
			fs = append(fs, care.FieldError{Field: field + ".drug_code", Key: "pharmacy.unknown_drug", Args: []any{l.DrugCode}})
		case !MayStock(d, string(inst.Level)):
			fs = append(fs, care.FieldError{Field: field + ".drug_code", Key: "pharmacy.not_at_level", Args: []any{l.DrugCode}})
		case seen[l.DrugCode]:
			fs = append(fs, care.FieldError{Field: field + ".drug_code", Key: "pharmacy.duplicate_drug", Args: []any{l.DrugCode}})
		}
		seen[l.DrugCode] = true
		if l.Requested <= 0 || l.Requested > MaxOrderUnits {
			fs = append(fs, care.FieldError{Field: field + ".quantity", Key: "pharmacy.quantity_range", Args: []any{MaxOrderUnits}})
		}
		o.Lines = append(o.Lines, OrderLine{DrugCode: l.DrugCode, Requested: l.Requested})
	}
	if utf8.RuneCountInString(o.Note) > MaxReasonLen {
		fs = append(fs, care.FieldError{Field: "note", Key: "field.too_long", Args: []any{MaxReasonLen}})
	}
	if err := care.Invalid(fs); err != nil {
		return nil, err
	}
	now := s.Now().UTC()
	o.CreatedAt, o.UpdatedAt = now, now
	o.History = []OrderEvent{{Status: OrderRequested, At: now, AccountID: a.AccountID, Username: a.Username, Note: o.Note}}
	ev := audit.New(ctx, a, ActOrderCreate, 0)
	ev.Detail = fmt.Sprintf("institution %d lines=%d", inst.ID, len(o.Lines))
	if err := s.Repo.CreateSupplyOrder(ctx, o, ev); err != nil {
		return nil, err
	}
	return o, nil
}

// mayOrder: the clinic's own staff, a township doctor above it, or a
// county pharmacist. ENOTFOUND otherwise (another institution's order).
func (s *Service) order(ctx context.Context, a care.Actor, id int64) (*SupplyOrder, error) {
	o, err := s.Repo.SupplyOrder(ctx, id)
	if err != nil {
		return nil, err
	}
	if o.County != a.CountyCode {
		return nil, care.Errorf(care.ENOTFOUND, "error.not_found")
	}
	if _, err := s.viewable(ctx, a, o.ClinicID); err != nil {
		return nil, err
	}
	return o, nil
}

// Order returns a supply order the actor may see, audited.
func (s *Service) Order(ctx context.Context, a care.Actor, id int64) (*SupplyOrder, error) {
	o, err := s.order(ctx, a, id)
	if err != nil {
		return nil, err
	}
	ev := audit.New(ctx, a, ActOrderRead, 0)
	ev.Detail = fmt.Sprintf("supply order %d", o.ID)
	s.Audit.Record(ctx, ev)
	return o, nil
}

// Orders lists supply orders: a pharmacist sees the county's, clinic
// staff their institution's (a township doctor's includes the villages
// below), newest first.
func (s *Service) Orders(ctx context.Context, a care.Actor, status OrderStatus) ([]SupplyOrder, error) {
	var clinics []int64
	switch {
	case a.Role == care.RolePharmacist:
	case a.Role == care.RoleTownshipDoctor:
		t, err := s.tree(ctx)
		if err != nil {
			return nil, err
		}
		clinics = t.Subtree(a.InstitutionID)
	case a.Role == care.RoleVillageDoctor:
		clinics = []int64{a.InstitutionID}
	default:
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	list, err := s.Repo.SupplyOrders(ctx, a.CountyCode, clinics, status, 200)
	if err != nil {
		return nil, err
	}
	ev := audit.New(ctx, a, ActOrderRead, 0)
	ev.Detail = fmt.Sprintf("supply orders n=%d", len(list))
	s.Audit.Record(ctx, ev)
	return list, nil
}

// OrderAction is one step on a supply order.
type OrderAction struct {
	Action   string                // approve, reject, ship, receive, cancel
	Approved map[string]int64      // approve: units per drug (missing: all requested)
	Ship     map[string][]Shipment // ship: batches per drug
	Note     string
	Version  int
}

// Act moves a supply order one step. approve and reject (with a note) and
// ship are the county pharmacist's; receive and cancel the requesting
// clinic's own staff. Receiving adds every shipped batch to the clinic's
// stock in the same transaction. EINVALID for bad quantities (approved
// above requested, shipped above approved, a shipment without batch or
// with a past expiry); ECONFLICT when the order is not in a state that
// allows the step, or has changed since version.
func (s *Service) Act(ctx context.Context, a care.Actor, id int64, act OrderAction) (*SupplyOrder, error) {
	o, err := s.order(ctx, a, id)
	if err != nil {
		return nil, err
	}
	to := map[string]OrderStatus{"approve": OrderApproved, "reject": OrderRejected, "ship": OrderShipped, "receive": OrderReceived, "cancel": OrderCancelled}[act.Action]
	if to == "" {
		return nil, care.Invalid([]care.FieldError{{Field: "action", Key: "pharmacy.action"}})
	}
	county := to == OrderApproved || to == OrderRejected || to == OrderShipped
	if county && a.Role != care.RolePharmacist || !county && (!clinicStaff(a.Role) || a.InstitutionID != o.ClinicID) {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	if !o.Status.CanMove(to) || o.Version != act.Version {
		return nil, care.Errorf(care.ECONFLICT, "pharmacy.order_state")
	}
	act.Note = strings.TrimSpace(act.Note)
	var fs []care.FieldError
	if utf8.RuneCountInString(act.Note) > MaxReasonLen {
		fs = append(fs, care.FieldError{Field: "note", Key: "field.too_long", Args: []any{MaxReasonLen}})
	}
	today := care.Today(s.Now())
	switch to {
	case OrderApproved:
		o.SupplierID = a.InstitutionID
		some := false
		for i := range o.Lines {
			l := &o.Lines[i]
			l.Approved = l.Requested
			if q, ok := act.Approved[l.DrugCode]; ok {
				l.Approved = q
			}
			if l.Approved < 0 || l.Approved > l.Requested {
				fs = append(fs, care.FieldError{Field: "approved." + l.DrugCode, Key: "pharmacy.approved_range", Args: []any{l.Requested}})
			}
			some = some || l.Approved > 0
		}
		if !some {
			fs = append(fs, care.FieldError{Field: "approved", Key: "pharmacy.approve_nothing"})
		}
	case OrderRejected:
		if act.Note == "" {
			fs = append(fs, care.FieldError{Field: "note", Key: "pharmacy.reason_required"})
		}
	case OrderShipped:
		for i := range o.Lines {
			l := &o.Lines[i]
			l.Shipments, l.Shipped = nil, 0
			for _, sh := range act.Ship[l.DrugCode] {
				sh.Batch = strings.TrimSpace(sh.Batch)
				if sh.Quantity <= 0 {
					continue
				}
				if sh.Batch == "" || utf8.RuneCountInString(sh.Batch) > 40 {
					fs = append(fs, care.FieldError{Field: "ship." + l.DrugCode, Key: "pharmacy.batch_required"})
				}
				if sh.Expiry.IsZero() || sh.Expiry.Before(today) {
					fs = append(fs, care.FieldError{Field: "ship." + l.DrugCode, Key: "pharmacy.expiry_past"})
				}
				l.Shipments = append(l.Shipments, sh)
				l.Shipped += sh.Quantity
			}
			if l.Shipped > l.Approved {
				fs = append(fs, care.FieldError{Field: "ship." + l.DrugCode, Key: "pharmacy.shipped_range", Args: []any{l.Approved}})
			}
		}
		for code := range act.Ship {
			if !hasLine(o, code) {
				fs = append(fs, care.FieldError{Field: "ship." + code, Key: "pharmacy.not_on_order", Args: []any{code}})
			}
		}
		if shippedTotal(o) == 0 {
			fs = append(fs, care.FieldError{Field: "ship", Key: "pharmacy.ship_nothing"})
		}
	}
	if err := care.Invalid(fs); err != nil {
		return nil, err
	}
	from := o.Status
	now := s.Now().UTC()
	o.Status, o.UpdatedAt = to, now
	o.History = append(o.History, OrderEvent{Status: to, At: now, AccountID: a.AccountID, Username: a.Username, Note: act.Note})
	ev := audit.New(ctx, a, ActOrderMove, 0)
	ev.Detail = fmt.Sprintf("supply order %d %s→%s", o.ID, from, to)
	if err := s.Repo.UpdateSupplyOrder(ctx, o, from, to == OrderReceived, a.AccountID, ev); err != nil {
		return nil, err
	}
	return o, nil
}

func hasLine(o *SupplyOrder, code string) bool {
	for _, l := range o.Lines {
		if l.DrugCode == code {
			return true
		}
	}
	return false
}

func shippedTotal(o *SupplyOrder) int64 {
	var n int64
	for _, l := range o.Lines {
		n += l.Shipped
	}
	return n
}
