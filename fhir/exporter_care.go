package fhir

import (
	"context"
	"maps"
	"strings"

	"countycare/bulkdata"
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

// exportCare writes the care types of an export — households (Group,
// RelatedPerson), ServiceRequest, ImagingStudy, CarePlan, CareTeam, Consent, MedicationRequest, MedicationDispense,
// Claim, Coverage — each mapped as its read maps it, from a scan of the
// selection; handled is false for a type it does not write. A server
// without the type's service (no family doctor workflow, no prescriptions,
// no settlement) has none of it, as its searches have none.
func (s *Server) exportCare(ctx context.Context, e *bulkdata.Export, typ string, sel bulkdata.Selection, w *ndjsonWriter) (handled bool, err error) {
	t := s.tr(ExportLang)
	today := care.Today(s.Now())
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
		if s.Family == nil {
			return true, nil
		}
		pkgs, perr := s.packages(ctx, care.Actor{CountyCode: e.CountyCode})
		if perr != nil {
			return true, perr
		}
		err = s.Exports.EachExportContract(ctx, sel, func(c *family.Contract) error { return w.write(CarePlanOf(c, pkgs[c.PackageID], today, t)) })
	case "CareTeam":
		if s.Family != nil {
			err = s.Exports.EachExportTeam(ctx, sel, func(tm *family.Team) error { return w.write(CareTeamOf(tm, t)) })
		}
	case "Consent": // contract consents, then consultation consents
		if s.Family != nil {
			err = s.Exports.EachExportContract(ctx, sel, func(c *family.Contract) error { return w.write(ConsentOfContract(c, today, t)) })
		}
		if err == nil && s.Consult != nil {
			err = s.Exports.EachExportConsultation(ctx, sel, func(c *consult.Consultation) error { return w.write(ConsentOfConsult(c, t)) })
		}
	case "MedicationRequest", "MedicationDispense":
		if s.Prescriptions == nil {
			return true, nil
		}
		kb := s.Prescriptions.Engine.KB
		err = s.Exports.EachExportPrescription(ctx, sel, func(sg *rx.Signed) error {
			if typ == "MedicationRequest" {
				return writeAll(w, MedicationRequestsOf(sg, kb, ExportLang))
			}
			return writeAll(w, MedicationDispensesOf(sg, kb, ExportLang))
		})
	case "Claim", "Coverage":
		if s.Settle == nil {
			return true, nil
		}
		tree, terr := s.Orgs.Tree(ctx)
		if terr != nil {
			return true, terr
		}
		if typ == "Coverage" {
			err = s.Exports.EachExportCoverageYear(ctx, sel, func(sts []settle.Settlement) error { return writeAll(w, CoveragesOf(sts, tree, t)) })
			break
		}
		insurer := insurerOf(tree, e.CountyCode)
		err = s.Exports.EachExportSettlement(ctx, sel, func(st *settle.Settlement) error {
			return w.write(ClaimOf(st, ExplanationOfBenefitOf(st, insurer, t)))
		})
	case "ImagingStudy": // as the ImagingStudy read maps a study, series and instances (DICOMweb's)
		if s.Readings == nil {
			return true, nil
		}
		dicomweb := strings.TrimSuffix(exportBase(e.RequestURL), "/fhir") + "/dicomweb"
		err = s.Exports.EachExportImagingStudy(ctx, sel, MaxInstances, func(st *reading.Study, series []reading.ImagingSeries, ins []reading.ImagingInstance) error {
			return w.write(ImagingStudyOf(st, series, ins, dicomweb))
		})
	case "Group", "RelatedPerson": // households and each member's relation to the head, as their reads
		poverty := func(p resident.Poverty) string { return t("poverty." + string(p)) }
		rel := func(x resident.Relation) string { return t("relation." + string(x)) }
		err = s.Exports.EachExportHousehold(ctx, sel, func(h *resident.Household, members []resident.Resident) error {
			if typ == "Group" {
				return w.write(HouseholdGroupOf(h, members, t("fhir.group_household", h.Number), poverty))
			}
			var head *resident.Resident
			for i := range members {
				if members[i].ID == h.HeadID {
					head = &members[i]
				}
			}
			for i := range members {
				if err := w.write(RelatedPersonOf(&members[i], head, rel)); err != nil {
					return err
				}
			}
			return nil
		})
	default:
		return false, nil
	}
	return true, err
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

// exportPrescriptionSignatures writes the Provenance of each signed
// prescription of the selection, as the Provenance search derives it.
func (s *Server) exportPrescriptionSignatures(ctx context.Context, sel bulkdata.Selection, w *ndjsonWriter) error {
	if s.Prescriptions == nil {
		return nil
	}
	kb := s.Prescriptions.Engine.KB
	return s.Exports.EachExportPrescription(ctx, sel, func(sg *rx.Signed) error {
		if p, ok := ProvenanceOfPrescription(MedicationRequestsOf(sg, kb, ExportLang)); ok {
			return w.write(p)
		}
		return nil
	})
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
