package kpi

import (
	"context"
	"math"

	"countycare/care"
)

// The case mix index (CMI, issue 14 §1: settlement) of the in-patient
// cases a unit's institutions settled over a period: policy-rules.md §6,
// RW_g = the group's mean cost / all cases' mean cost, CMI = Σ(RW_g × n_g)
// / Σ n_g over the cases whose DRG has a weight in the configured table
// (the insurance office's, settle.Window.Weights) — the definition of
// /settle/reports (settle.CostIndicators), so both pages give one figure
// (TestDashboardCMIMatchesSettleReports). A case with no DRG, or with one
// the table lacks, is left out of the index and counted (Unweighted): the
// page says how many. No table, or no case with a weight: no data, never 0.

// CMI is the case mix index indicator's ID.
const CMI = "settle_cmi"

// cmiUnweighted is the snapshot key of the in-patient cases without a
// weight ({cases, 0}, summed up the tree); not an indicator of its own.
const cmiUnweighted = CMI + "_unweighted"

// CaseMixSums is what the CMI needs of the settlements (store.Store): the
// county's settled in-patient cases over the days [from, to] (visit
// dates), per institution that settled them and DRG code ("" for a case
// without one).
type CaseMixSums interface {
	InpatientDRGCases(ctx context.Context, county string, from, to care.Date) (map[int64]map[string]int, error)
}

// CaseMix is one institution's in-patient cases as the CMI counts them:
// the relative weights of its weighted cases summed in ten-thousandths
// (each case's weight rounded to 4 decimals, the precision of a published
// weight table), the cases with a weight and those without.
type CaseMix struct {
	RW, Weighted, Unweighted int
}

// CaseMixOf counts one institution's cases (by DRG) against the weight
// table (RW by DRG code).
func CaseMixOf(cases map[string]int, weights map[string]float64) CaseMix {
	var m CaseMix
	for drg, n := range cases {
		w, ok := weights[drg]
		if !ok || drg == "" {
			m.Unweighted += n
			continue
		}
		m.Weighted += n
		m.RW += int(math.Round(w*10000)) * n
	}
	return m
}

// addCaseMix adds each institution's case mix within the viewer's scope
// (byInstitution): nothing at all without a weight table, so that the
// index has no data rather than a made-up one.
func (s *Service) addCaseMix(ctx context.Context, a care.Actor, sn *snapshot, from, to care.Date, byInstitution func(int64, func(int64))) error {
	if s.CaseMix == nil || len(s.DRGWeights) == 0 {
		return nil
	}
	cs, err := s.CaseMix.InpatientDRGCases(ctx, a.CountyCode, from, to)
	if err != nil {
		return err
	}
	for inst, cases := range cs {
		m := CaseMixOf(cases, s.DRGWeights)
		byInstitution(inst, func(u int64) {
			sn.add(u, CMI, Rate{m.RW, m.Weighted})
			sn.add(u, cmiUnweighted, Rate{Num: m.Unweighted})
		})
	}
	return nil
}
