package pharmacy

import (
	"context"
	"fmt"

	"countycare/care"
	"countycare/settle"
)

// SettlePayer pays dispensed prescriptions through the one-stop settlement
// engine (package settle): each prescription is an outpatient visit of the
// resident at the dispensing institution's level (visit number "RX" + the
// prescription's ID, idempotency key "rx-dispense-" + ID), settled under
// the county's policy in force that day — basic insurance by level, then
// the layers the policy has for the resident's poverty category. A retry
// returns the first settlement; a visit cannot be paid twice.
type SettlePayer struct {
	Settle *settle.Service
}

// VisitID is the settlement visit number of a prescription.
func VisitID(prescriptionID int64) string { return fmt.Sprintf("RX%d", prescriptionID) }

// Pay settles b and returns the settlement, the patient's share and
// whether this call created the settlement (false: a retry found the
// first one). A settlement found reversed (an earlier attempt failed and
// was refunded) is not reused: the next key in the chain
// "rx-dispense-<id>-after-<reversed id>" settles the visit afresh, so a
// prescription dispensed after a refund is paid, and a retry of that
// attempt still finds its settlement.
func (p SettlePayer) Pay(ctx context.Context, a care.Actor, b *Bill) (int64, int64, bool, error) {
	in := settle.Input{ResidentID: b.ResidentID, InstitutionID: b.InstitutionID, VisitID: VisitID(b.PrescriptionID), Date: b.Date.String(),
		VisitType: settle.Outpatient, Insured: b.Insured}
	for _, l := range b.Lines {
		in.Lines = append(in.Lines, settle.Line{Code: l.DrugCode, Name: l.Name, Class: settle.ClassDrug, Category: l.Category, Amount: settle.Fen(l.AmountFen)})
	}
	key := fmt.Sprintf("rx-dispense-%d", b.PrescriptionID)
	for range maxPayAttempts {
		st, replay, err := p.Settle.Settle(ctx, a, in, key, 0)
		if err != nil {
			return 0, 0, false, err
		}
		if !replay || st.Status != settle.StatusReversed {
			return st.ID, int64(st.Result.Patient), !replay, nil
		}
		key = fmt.Sprintf("rx-dispense-%d-after-%d", b.PrescriptionID, st.ID)
	}
	return 0, 0, false, care.Errorf(care.ECONFLICT, "pharmacy.too_many_payments")
}

// maxPayAttempts bounds the chain of refunded attempts to pay one
// prescription.
const maxPayAttempts = 20

// Refund reverses settlement id; a settlement already reversed counts as
// refunded, so a retried return does not fail.
func (p SettlePayer) Refund(ctx context.Context, a care.Actor, id int64, reason string) error {
	st, err := p.Settle.Get(ctx, a, id)
	if err != nil {
		return err
	}
	if st.Status == settle.StatusReversed {
		return nil
	}
	_, err = p.Settle.Reverse(ctx, a, id, reason)
	return err
}
