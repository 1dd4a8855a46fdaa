package pharmacy

import (
	"context"
	"fmt"

	"countycare/care"
	"countycare/settle"
)

// SettlePayer pays dispensed prescriptions through the one-stop settlement
// engine (package settle): each prescription is a visit of the resident at
// the dispensing institution's level (visit number "RX" + the
// prescription's ID, idempotency key "rx-dispense-" + ID), settled under
// the county's policy in force that day — basic insurance by level, then
// the layers the policy has for the resident's poverty category. It is a
// chronic special-outpatient visit (门诊慢特病: the category's own
// deductible, ratio and annual limit) when an active certification of the
// resident covers one of the prescription's diagnoses that day, and a
// plain outpatient visit otherwise (issue 18). A retry
// returns the first settlement; a visit cannot be paid twice.
type SettlePayer struct {
	Settle *settle.Service
}

// VisitID is the settlement visit number of a prescription.
func VisitID(prescriptionID int64) string { return fmt.Sprintf("RX%d", prescriptionID) }

// Prepare checks and prices b's settlement for the dispensing
// transaction, under key "rx-dispense-<id>". A settlement found reversed
// under it (an attempt refunded by an earlier version, which paid and
// dispensed in two transactions) is not reused: the next key in the chain
// "rx-dispense-<id>-after-<reversed id>" settles the visit afresh.
func (p SettlePayer) Prepare(ctx context.Context, a care.Actor, b *Bill) (*settle.Pending, error) {
	in := settle.Input{ResidentID: b.ResidentID, InstitutionID: b.InstitutionID, VisitID: VisitID(b.PrescriptionID), Date: b.Date.String(),
		VisitType: settle.Outpatient, Insured: b.Insured}
	cat, err := p.Settle.ChronicFor(ctx, b.County, b.ResidentID, b.Date, b.Diagnoses)
	if err != nil {
		return nil, err
	}
	if cat != "" {
		in.VisitType, in.ChronicCategory = settle.Chronic, cat
	}
	for _, l := range b.Lines {
		in.Lines = append(in.Lines, settle.Line{Code: l.DrugCode, Name: l.Name, Class: settle.ClassDrug, Category: l.Category, Amount: settle.Fen(l.AmountFen)})
	}
	pend, err := p.Settle.Prepare(ctx, a, in, fmt.Sprintf("rx-dispense-%d", b.PrescriptionID))
	if err != nil {
		return nil, err
	}
	pend.NextKey = func(reversed int64) string { return fmt.Sprintf("rx-dispense-%d-after-%d", b.PrescriptionID, reversed) }
	return pend, nil
}

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
