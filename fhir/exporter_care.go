package fhir

import (
	"context"
	"maps"
	"slices"
	"strings"

	"countycare/care"
	"countycare/consult"
	"countycare/family"
	"countycare/org"
	"countycare/reading"
	"countycare/referral"
	"countycare/resident"
	"countycare/rx"
	"countycare/settle"
)

// writeCare writes the care types of an export — households (Group,
// RelatedPerson), ServiceRequest, ImagingStudy, CarePlan, CareTeam, Consent,
// MedicationRequest, MedicationDispense, Claim, Coverage — each mapped as its
// read maps it, from a scan of the selection (one scan for the asked types
// made from the same rows); handled is false for a type it does not write.
// A server without the type's service (no family doctor workflow, no
// prescriptions, no settlement) has none of it, as its searches have none.
func (x *exportRun) writeCare(ctx context.Context, typ string) (handled bool, err error) {
	s, e, sel, t := x.s, x.e, x.sel, x.t
	w := x.writer(typ)
	switch typ {
	case "ServiceRequest": // consultation requests and referrals, as the ServiceRequest search
		if s.Consult != nil {
			depts := s.exportDepartments(ctx)
			err = s.Exports.EachExportConsultation(ctx, sel, func(c *consult.Consultation) error {
				d, err := depts(c)
				if err != nil {
					return err
				}
				return w.write(ServiceRequestOfConsult(c, d, t))
			})
		}
		if err == nil && s.Referral != nil {
			err = s.Exports.EachExportReferral(ctx, sel, func(r *referral.Referral) error { return w.write(ServiceRequestOfReferral(r, t)) })
		}
	case "CarePlan":
		err = x.contracts(ctx, w)
	case "CareTeam":
		if s.Family != nil {
			err = s.Exports.EachExportTeam(ctx, sel, func(tm *family.Team) error { return w.write(CareTeamOf(tm, t)) })
		}
	case "Consent": // contract consents, then consultation consents
		err = x.contracts(ctx, nil)
		if err == nil && s.Consult != nil {
			err = s.Exports.EachExportConsultation(ctx, sel, func(c *consult.Consultation) error { return w.write(ConsentOfConsult(c, t)) })
		}
	case "MedicationRequest", "MedicationDispense":
		err = x.prescriptions(ctx)
	case "Claim":
		if s.Settle == nil {
			return true, nil
		}
		tree, terr := s.Orgs.Tree(ctx)
		if terr != nil {
			return true, terr
		}
		insurer := insurerOf(tree, e.CountyCode)
		err = s.Exports.EachExportSettlement(ctx, sel, func(st *settle.Settlement) error {
			return w.write(ClaimOf(st, ExplanationOfBenefitOf(st, insurer, t)))
		})
	case "Coverage":
		if s.Settle == nil {
			return true, nil
		}
		tree, terr := s.Orgs.Tree(ctx)
		if terr != nil {
			return true, terr
		}
		err = s.Exports.EachExportCoverageYear(ctx, sel, func(sts []settle.Settlement) error { return writeAll(w, CoveragesOf(sts, tree, t)) })
	case "ImagingStudy": // as the ImagingStudy read maps a study, series and instances (DICOMweb's)
		if s.Readings == nil {
			return true, nil
		}
		dicomweb := strings.TrimSuffix(exportBase(e.RequestURL), "/fhir") + "/dicomweb"
		err = s.Exports.EachExportImagingStudy(ctx, sel, MaxInstances, func(st *reading.Study, series []reading.ImagingSeries, ins []reading.ImagingInstance) error {
			return w.write(ImagingStudyOf(st, series, ins, dicomweb))
		})
	case "Group", "RelatedPerson":
		err = x.households(ctx)
	default:
		return false, nil
	}
	return true, err
}

// households writes the households as Group and each member's relation to
// the head as RelatedPerson, as their reads, the asked ones from one pass.
func (x *exportRun) households(ctx context.Context) error {
	t := x.t
	g, rp := x.also("Group"), x.also("RelatedPerson")
	poverty := func(p resident.Poverty) string { return t("poverty." + string(p)) }
	rel := func(r resident.Relation) string { return t("relation." + string(r)) }
	err := x.s.Exports.EachExportHousehold(ctx, x.sel, func(h *resident.Household, members []resident.Resident) error {
		if g != nil {
			if err := g.write(HouseholdGroupOf(h, members, t("fhir.group_household", h.Number), poverty)); err != nil {
				return err
			}
		}
		if rp == nil {
			return nil
		}
		var head *resident.Resident
		for i := range members {
			if members[i].ID == h.HeadID {
				head = &members[i]
			}
		}
		for i := range members {
			if err := rp.write(RelatedPersonOf(&members[i], head, rel)); err != nil {
				return err
			}
		}
		return nil
	})
	return x.finishAll(err, "Group", "RelatedPerson")
}

// contracts writes the family doctor contracts' part of CarePlan (into cp;
// nil: not this pass) and of Consent (the contract consents, Consent's
// first part, when asked and not yet written), from one pass.
func (x *exportRun) contracts(ctx context.Context, cp *ndjsonWriter) error {
	s := x.s
	var cs *ndjsonWriter
	if !x.did["Consent:contracts"] {
		cs = x.also("Consent")
	}
	if s.Family == nil || (cp == nil && cs == nil) {
		return nil
	}
	x.did["Consent:contracts"] = true
	var pkgs map[int64]*family.Package
	if cp != nil {
		var err error
		if pkgs, err = s.packages(ctx, care.Actor{CountyCode: x.e.CountyCode}); err != nil {
			return err
		}
	}
	today := care.Today(x.sel.Now) // the day the scan's lapsed contracts are of
	return s.Exports.EachExportContract(ctx, x.sel, func(c *family.Contract) error {
		if cp != nil {
			if err := cp.write(CarePlanOf(c, pkgs[c.PackageID], today, x.t)); err != nil {
				return err
			}
		}
		if cs != nil {
			return cs.write(ConsentOfContract(c, today, x.t))
		}
		return nil
	})
}

// prescriptions writes MedicationRequest, MedicationDispense and the
// prescriptions' signatures (Provenance's last part, after the reports'),
// the asked ones, from one pass over the signed prescriptions: each row
// is read and decoded once, its MedicationRequests mapped once.
func (x *exportRun) prescriptions(ctx context.Context) error {
	if err := x.reportSignatures(ctx, nil); err != nil { // Provenance's first part, if it is still to write
		return err
	}
	mr, md, pv := x.also("MedicationRequest"), x.also("MedicationDispense"), x.also("Provenance")
	var err error
	if x.s.Prescriptions != nil {
		kb := x.s.Prescriptions.Engine.KB
		err = x.s.Exports.EachExportPrescription(ctx, x.sel, func(sg *rx.Signed) error {
			var reqs []MedicationRequest
			if mr != nil || pv != nil {
				reqs = MedicationRequestsOf(sg, kb, ExportLang)
			}
			if mr != nil {
				if err := writeAll(mr, reqs); err != nil {
					return err
				}
			}
			if md != nil {
				if err := writeAll(md, MedicationDispensesOf(sg, kb, ExportLang)); err != nil {
					return err
				}
			}
			if pv != nil {
				if p, ok := ProvenanceOfPrescription(reqs); ok {
					return pv.write(p)
				}
			}
			return nil
		})
	}
	return x.finishAll(err, "MedicationRequest", "MedicationDispense", "Provenance")
}

// finishAll ends the files of the asked types among typs, unless err.
func (x *exportRun) finishAll(err error, typs ...string) error {
	if err != nil {
		return err
	}
	for _, typ := range typs {
		if slices.Contains(x.e.Types, typ) {
			if err := x.finish(typ); err != nil {
				return err
			}
		}
	}
	return nil
}

// exportDepartments gives, for a consultation, the departments an MDT
// may name (mdtDepartments), read once per hub.
func (s *Server) exportDepartments(ctx context.Context) func(*consult.Consultation) (map[int64]org.Department, error) {
	out := map[int64]org.Department{}
	read := map[int64]bool{}
	return func(c *consult.Consultation) (map[int64]org.Department, error) {
		if c.Kind != consult.MDT || read[c.ToInstitution] {
			return out, nil
		}
		m, err := s.mdtDepartments(ctx, []consult.Consultation{*c})
		if err != nil {
			return nil, err
		}
		maps.Copy(out, m)
		read[c.ToInstitution] = true
		return out, nil
	}
}

// exportBase is the FHIR base of an export's kick-off URL (what s.base
// gave the request): the export runs with no request of its own.
func exportBase(kickOff string) string {
	u, _, _ := strings.Cut(kickOff, "?")
	if b, _, ok := strings.Cut(u, "/Group/"); ok {
		return b
	}
	return strings.TrimSuffix(strings.TrimSuffix(u, "/$export"), "/Patient")
}

// writeAll writes each of rs.
func writeAll[T any](w *ndjsonWriter, rs []T) error {
	for i := range rs {
		if err := w.write(rs[i]); err != nil {
			return err
		}
	}
	return nil
}
