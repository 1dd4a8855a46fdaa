package pharmacy

import (
	"context"
	"fmt"

	"countycare/care"
	"countycare/settle"
)

// SettlePayer pays dispensed prescriptions through the one-stop settlement
// engine (package settle): a prescription is a visit of the resident at
// the dispensing institution's level, settled under the county's policy
// in force that day — basic insurance by level, then the layers the policy
// has for the resident's poverty category.
//
// A drug prescribed for a disease an active certification of the resident
// covers, and inside that category's drug range, settles in the chronic
// special-outpatient layer (门诊慢特病: the category's own deductible,
// ratio and annual limit); every other drug as plain outpatient care
// (settle.Service.ChronicSplit; issue 18). When a prescription has both
// kinds, each part is a visit of its own: visit "RX<id>-<category>" or
// "RX<id>-OP" under key "rx-dispense-<id>-<category>" or
// "rx-dispense-<id>-OP"; a prescription of one kind is visit "RX<id>"
// under key "rx-dispense-<id>". A retry returns the first settlements; a
// visit cannot be paid twice.
type SettlePayer struct {
	Settle *settle.Service
}

// VisitID is the settlement visit number of a prescription settled as one visit.
func VisitID(prescriptionID int64) string { return fmt.Sprintf("RX%d", prescriptionID) }

// outpatientPart names the plain outpatient part of a split prescription.
const outpatientPart = "OP"

// Prepare checks and prices b's settlements for the dispensing
// transaction: one per part (chronic category, or plain outpatient), in
// the order the parts first appear on the bill. A settlement found
// reversed under a part's key (an attempt refunded by an earlier version,
// which paid and dispensed in two transactions) is not reused: the next
// key in the chain "<key>-after-<reversed id>" settles the part afresh.
func (p SettlePayer) Prepare(ctx context.Context, a care.Actor, b *Bill) ([]*settle.Pending, error) {
	items := make([]settle.BillItem, len(b.Lines))
	for i, l := range b.Lines {
		items[i] = settle.BillItem{ATC: l.ATC, Diagnoses: l.Diagnoses}
	}
	cats, err := p.Settle.ChronicSplit(ctx, b.County, b.ResidentID, b.Date, items)
	if err != nil {
		return nil, err
	}
	var parts []string
	lines := map[string][]settle.Line{}
	for i, l := range b.Lines {
		if _, ok := lines[cats[i]]; !ok {
			parts = append(parts, cats[i])
		}
		lines[cats[i]] = append(lines[cats[i]], settle.Line{Code: l.DrugCode, Name: l.Name, Class: settle.ClassDrug, Category: l.Category, Amount: settle.Fen(l.AmountFen)})
	}
	var out []*settle.Pending
	for _, cat := range parts {
		in := settle.Input{ResidentID: b.ResidentID, InstitutionID: b.InstitutionID, VisitID: VisitID(b.PrescriptionID), Date: b.Date.String(),
			VisitType: settle.Outpatient, Insured: b.Insured, Lines: lines[cat]}
		if cat != "" {
			in.VisitType, in.ChronicCategory = settle.Chronic, cat
		}
		key := fmt.Sprintf("rx-dispense-%d", b.PrescriptionID)
		if len(parts) > 1 {
			suffix := cat
			if cat == "" {
				suffix = outpatientPart
			}
			in.VisitID += "-" + suffix
			key += "-" + suffix
		}
		pend, err := p.Settle.Prepare(ctx, a, in, key)
		if err != nil {
			return nil, err
		}
		pend.NextKey = func(reversed int64) string { return fmt.Sprintf("%s-after-%d", key, reversed) }
		out = append(out, pend)
	}
	return out, nil
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
