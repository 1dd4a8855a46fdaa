package fhir

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"countycare/care"
	"countycare/org"
	"countycare/settle"
	"countycare/web"
)

// Code systems of settlements.
const (
	// SystemPayerLayer: the payer layers of a settlement (settle.Layer*:
	// basic, critical, assistance, supplementary, bottom_line), each one
	// adjudication of the ExplanationOfBenefit.
	SystemPayerLayer = "http://countycare.cn/fhir/CodeSystem/payer-layer"
	// SystemChargeItem: the hospital's charge item codes of a bill line.
	SystemChargeItem = "http://countycare.cn/fhir/CodeSystem/charge-item"
	// SystemVisitType: settle's visit types (outpatient, inpatient, chronic).
	SystemVisitType = "http://countycare.cn/fhir/CodeSystem/visit-type"

	systemClaimType       = "http://terminology.hl7.org/CodeSystem/claim-type"
	systemAdjudication    = "http://terminology.hl7.org/CodeSystem/adjudication"
	systemCoverageClass   = "http://terminology.hl7.org/CodeSystem/coverage-class"
	systemProcessPriority = "http://terminology.hl7.org/CodeSystem/processpriority"
)

// Money is an amount in yuan with its currency. The value is written from
// integer fen as a decimal with exactly two places (json.Number), so no
// binary floating point comes between the ledger and the wire.
type Money struct {
	Value    json.Number `json:"value"`
	Currency string      `json:"currency"`
}

// CNY writes fen as Money in yuan: 123456 fen is 1234.56 CNY.
func CNY(f settle.Fen) *Money {
	sign, v := "", int64(f)
	if v < 0 {
		sign, v = "-", -v
	}
	return &Money{Value: json.Number(sign + strconv.FormatInt(v/100, 10) + "." + leftPad2(v%100)), Currency: "CNY"}
}

func leftPad2(n int64) string {
	if n < 10 {
		return "0" + strconv.FormatInt(n, 10)
	}
	return strconv.FormatInt(n, 10)
}

// EOBItem is one line of the bill.
type EOBItem struct {
	Sequence         int              `json:"sequence"`
	Category         *CodeableConcept `json:"category,omitempty"`
	ProductOrService CodeableConcept  `json:"productOrService"`
	Net              *Money           `json:"net,omitempty"`
}

// EOBInsurance is the coverage the settlement was made under.
type EOBInsurance struct {
	Focal    bool      `json:"focal"`
	Coverage Reference `json:"coverage"`
}

// EOBTotal is one total of the settlement: what was billed, what was
// within the policy's scope, what one payer layer paid, what all of them
// paid, what is left to the patient.
type EOBTotal struct {
	Category CodeableConcept `json:"category"`
	Amount   Money           `json:"amount"`
}

// Coverage is the resident's basic medical insurance (基本医疗保险) of a
// year: contained in a settlement's ExplanationOfBenefit, and on its own
// (Coverage/{resident}-{year}) with the payer layers that paid that year.
type Coverage struct {
	ResourceType string           `json:"resourceType"`
	ID           string           `json:"id"`
	Meta         *Meta            `json:"meta,omitempty"`
	Status       string           `json:"status"`
	Type         *CodeableConcept `json:"type,omitempty"`
	Beneficiary  Reference        `json:"beneficiary"`
	Period       *Period          `json:"period,omitempty"`
	Payor        []Reference      `json:"payor"`
	Class        []CoverageClass  `json:"class,omitempty"`
}

// CoverageClass is a plan of a Coverage.
type CoverageClass struct {
	Type  CodeableConcept `json:"type"`
	Value string          `json:"value"`
	Name  string          `json:"name,omitempty"`
}

// Bill is what a settlement's Claim and ExplanationOfBenefit share (the
// JSON of both has its elements inline): the visit's bill.
type Bill struct {
	ResourceType   string           `json:"resourceType"`
	ID             string           `json:"id"`
	Meta           *Meta            `json:"meta,omitempty"`
	Contained      []Coverage       `json:"contained,omitempty"`
	Identifier     []Identifier     `json:"identifier,omitempty"`
	Status         string           `json:"status"`
	Type           CodeableConcept  `json:"type"`
	SubType        *CodeableConcept `json:"subType,omitempty"`
	Use            string           `json:"use"`
	Patient        Reference        `json:"patient"`
	BillablePeriod *Period          `json:"billablePeriod,omitempty"`
	Created        string           `json:"created"`
	Insurer        Reference        `json:"insurer"`
	Provider       Reference        `json:"provider"`
	Item           []EOBItem        `json:"item,omitempty"`
}

// ExplanationOfBenefit is a settlement (一站式结算): the bill, what each
// payer layer paid and what is left to the patient.
type ExplanationOfBenefit struct {
	Bill
	Claim     *Reference     `json:"claim,omitempty"`
	Outcome   string         `json:"outcome"`
	Insurance []EOBInsurance `json:"insurance"`
	Total     []EOBTotal     `json:"total,omitempty"`
}

// SystemVisitID: the hospital's visit number of a settlement.
const SystemVisitID = "http://countycare.cn/fhir/sid/visit"

// ExplanationOfBenefitOf maps a settlement: status active (cancelled once
// reversed), type institutional for an inpatient stay and professional
// otherwise, the visit type as subType, the bill lines as items (their
// amounts in CNY from fen), and the totals: submitted (the bill), eligible
// (政策范围内), one per payer layer with what it paid (category
// SystemPayerLayer, the layer's code), benefit (all layers) and the
// patient's share (SystemPayerLayer "patient"). The layers are totals, not
// a header-level adjudication: R4's ExplanationOfBenefit.adjudication is
// refused by the fhir npm validator's model (4.12), one of the two the
// tests require, while total is in both. The coverage — the resident's basic
// medical insurance of the year with the insurance office as payor — is
// contained. insurer is the county's insurance office (0: unknown, given
// as a display only); t names codes in the reader's language.
func ExplanationOfBenefitOf(st *settle.Settlement, insurer int64, t func(key string, args ...any) string) ExplanationOfBenefit {
	eob := ExplanationOfBenefit{Outcome: "complete", Bill: Bill{ResourceType: "ExplanationOfBenefit", ID: strconv.FormatInt(st.ID, 10), Status: "active",
		Use: "claim", Patient: patientRef(st.ResidentID), Created: instant(st.CreatedAt),
		Provider: Reference{Reference: "Organization/" + strconv.FormatInt(st.InstitutionID, 10)}}}
	if st.Status == settle.StatusReversed {
		eob.Status = "cancelled"
	}
	eob.Claim = &Reference{Reference: "Claim/" + eob.ID}
	eob.Meta = &Meta{LastUpdated: instant(st.CreatedAt)}
	if !st.ReversedAt.IsZero() {
		eob.Meta.LastUpdated = instant(st.ReversedAt)
	}
	if st.VisitID != "" {
		eob.Identifier = []Identifier{{System: SystemVisitID, Value: st.VisitID}}
	}
	ct := "professional"
	if st.Claim.VisitType == settle.Inpatient {
		ct = "institutional"
	}
	eob.Type = CodeableConcept{Coding: []Coding{{System: systemClaimType, Code: ct}}}
	vt := t("settle.code.visit." + st.Claim.VisitType)
	eob.SubType = &CodeableConcept{Coding: []Coding{{System: SystemVisitType, Code: st.Claim.VisitType, Display: vt}}, Text: vt}
	if st.Claim.Date != "" {
		eob.BillablePeriod = &Period{Start: st.Claim.Date, End: st.Claim.Date}
	}
	eob.Insurer = Reference{Display: t("fhir.insurer")}
	if insurer != 0 {
		eob.Insurer.Reference = "Organization/" + strconv.FormatInt(insurer, 10)
	}
	cov := coverageOf("coverage", st.ResidentID, st.County, st.Year, eob.Insurer, nil, t)
	eob.Contained = []Coverage{cov}
	eob.Insurance = []EOBInsurance{{Focal: true, Coverage: Reference{Reference: "#coverage"}}}
	for i, l := range st.Claim.Lines {
		it := EOBItem{Sequence: i + 1, Net: CNY(l.Amount), ProductOrService: CodeableConcept{Text: l.Name}}
		if l.Code != "" {
			it.ProductOrService.Coding = []Coding{{System: SystemChargeItem, Code: l.Code, Display: l.Name}}
		}
		if l.Category != "" {
			it.Category = &CodeableConcept{Text: l.Category}
		}
		eob.Item = append(eob.Item, it)
	}
	total := func(system, code, text string, f settle.Fen) EOBTotal {
		return EOBTotal{Category: CodeableConcept{Coding: []Coding{{System: system, Code: code}}, Text: text}, Amount: *CNY(f)}
	}
	eob.Total = []EOBTotal{
		total(systemAdjudication, "submitted", t("fhir.total.submitted"), st.Result.Total),
		total(systemAdjudication, "eligible", t("fhir.total.eligible"), st.Result.Eligible),
	}
	for _, l := range st.Result.Layers {
		eob.Total = append(eob.Total, total(SystemPayerLayer, l.Layer, t("settle.layer."+l.Layer), l.Paid))
	}
	eob.Total = append(eob.Total,
		total(systemAdjudication, "benefit", t("fhir.total.benefit"), st.Result.Insurers),
		total(SystemPayerLayer, "patient", t("fhir.total.patient"), st.Result.Patient))
	return eob
}

// ClaimInsurance is the coverage a claim is made under.
type ClaimInsurance struct {
	Sequence int       `json:"sequence"`
	Focal    bool      `json:"focal"`
	Coverage Reference `json:"coverage"`
}

// Claim is the bill of a settlement as submitted (the visit's charges),
// before adjudication: the ExplanationOfBenefit of the same id says what
// each payer layer paid.
type Claim struct {
	Bill
	Priority  CodeableConcept  `json:"priority"`
	Insurance []ClaimInsurance `json:"insurance"`
	Total     *Money           `json:"total,omitempty"`
}

// ClaimOf is the claim of a settlement: its ExplanationOfBenefit's bill —
// the same id, status, type, patient, provider, insurer, coverage and
// items — with priority normal and the billed total.
func ClaimOf(st *settle.Settlement, eob ExplanationOfBenefit) Claim {
	c := Claim{Bill: eob.Bill, Priority: CodeableConcept{Coding: []Coding{{System: systemProcessPriority, Code: "normal"}}},
		Insurance: []ClaimInsurance{{Sequence: 1, Focal: true, Coverage: eob.Insurance[0].Coverage}}, Total: CNY(st.Result.Total)}
	c.ResourceType = "Claim"
	return c
}

// insurerOf finds the insurance office of a county in the tree (0: none).
func insurerOf(t *org.Tree, county string) int64 {
	for _, r := range t.Roots() {
		if r.CountyCode != county {
			continue
		}
		if ins := t.OfKind(r.ID, org.KindInsurance); len(ins) > 0 {
			return ins[0].ID
		}
	}
	return 0
}

var eobStatuses = []string{"active", "cancelled"}

// eobRead: GET /fhir/ExplanationOfBenefit/{id} (or /fhir/Claim/{id}: typ),
// through settle.Service.Get (the resident in scope, audited as
// settle.read), as the settlement page.
func (s *Server) eobRead(m *web.Mount, typ string) web.FaceHandler {
	return func(w http.ResponseWriter, r *http.Request, rq web.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		st, err := s.Settle.Get(r.Context(), rq.Actor, id)
		if err != nil {
			return err
		}
		ms, err := s.eobMatches(r, m, rq, []settle.Settlement{*st}, typ)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, ms[0].res)
		return nil
	}
}

// eobSearch: GET /fhir/ExplanationOfBenefit?patient=… (or /fhir/Claim:
// typ; or _id) with date (the visit's day), status (active, cancelled),
// _count with next links, _summary=count and _include=<typ>:patient: the
// patient's settlements through settle.Service.ForResident (scope,
// audited as resident.read), newest first.
func (s *Server) eobSearch(m *web.Mount, typ string) web.FaceHandler {
	return func(w http.ResponseWriter, r *http.Request, rq web.Request) error {
		p, id, statuses, err := s.pagedSearch(r, typ, eobStatuses, typ+":patient")
		if err != nil {
			return err
		}
		byID := numericID(id)
		var sts []settle.Settlement
		if p.resident == 0 && byID != 0 {
			st, err := s.Settle.Get(r.Context(), rq.Actor, byID)
			switch {
			case err == nil:
				sts, p.resident = []settle.Settlement{*st}, st.ResidentID
			case !care.IsCode(err, care.ENOTFOUND):
				return err
			}
		} else if p.resident != 0 {
			var err error
			if sts, err = s.Settle.ForResident(r.Context(), rq.Actor, p.resident); err != nil {
				return err
			}
		}
		subject, err := s.includedSubject(r, m, rq, &p, len(sts) > 0)
		if err != nil {
			return err
		}
		found, err := s.eobMatches(r, m, rq, sts, typ)
		if err != nil {
			return err
		}
		ids, keys, out := p.page(found, statuses, id)
		writeJSON(w, http.StatusOK, s.searchset(r, &p, typ, ids, keys, out, subject))
		return nil
	}
}

// eobMatches maps settlements to ExplanationOfBenefits (or, typ "Claim",
// Claims), keyed by id.
func (s *Server) eobMatches(r *http.Request, m *web.Mount, rq web.Request, sts []settle.Settlement, typ string) ([]match, error) {
	tree, err := s.Orgs.Tree(r.Context())
	if err != nil {
		return nil, err
	}
	t := func(k string, a ...any) string { return m.T(rq.Lang, k, a...) }
	out := make([]match, 0, len(sts))
	for i := range sts {
		st := &sts[i]
		day, _ := care.ParseDate(st.Claim.Date)
		eob := ExplanationOfBenefitOf(st, insurerOf(tree, st.County), t)
		var res any = eob
		if typ == "Claim" {
			res = ClaimOf(st, eob)
		}
		out = append(out, match{id: eob.ID, key: key(time.Time{}, st.ID), day: day, status: eob.Status, res: res})
	}
	return out, nil
}
