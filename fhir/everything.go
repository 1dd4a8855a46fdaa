package fhir

import (
	"net/http"
	"slices"

	"countycare/care"
	"countycare/resident"
	"countycare/web"
)

// Who sees what: the roles of each kind of record, as the pages that
// show it. The routes and Patient/$everything use the same lists.
var (
	// chronicRoles are the chronic care teams: the registration pages.
	chronicRoles = []care.Role{care.RoleVillageDoctor, care.RoleTownshipDoctor, care.RoleCountySpecialist}
	// studyViewers open a study and its report: readers of the center,
	// doctors of the ordering clinic (the study page).
	studyViewers = []care.Role{care.RoleReader, care.RoleVillageDoctor, care.RoleTownshipDoctor}
	// episodeParties are the consultation and referral pages' roles.
	episodeParties = chronicRoles
	// onlineDoctors run online follow-up visits (the online pages' doctors).
	onlineDoctors = []care.Role{care.RoleVillageDoctor, care.RoleTownshipDoctor}
	// eobReaders read settlements: the insurance office and the patient.
	eobReaders = []care.Role{care.RoleInsuranceOfficer, care.RoleResident}
	// rxReaders read prescriptions: the prescribers and the pharmacists
	// (the prescription API's roles).
	rxReaders = []care.Role{care.RoleVillageDoctor, care.RoleTownshipDoctor, care.RoleCountySpecialist, care.RolePharmacist}
)

// everything: GET /fhir/Patient/{id}/$everything — the patient and every
// resource of the patient the reader may see, each through the same path
// (scope, rules and audit) as its own search: Conditions and follow-up
// Observations for the chronic care teams, lab Observations and lab
// reports for every clinician, signed study reports for the study page's
// viewers (and their ImagingStudies),
// ServiceRequests and Encounters for the parties of consultations and
// referrals, CarePlans, CareTeams and Consents of family doctor contracts
// for the registrars (consultation Consents for the parties), MedicationRequests and MedicationDispenses for prescribers
// and pharmacists, Coverages, Claims and ExplanationOfBenefits for the insurance office. A Bundle of
// type searchset with the total; no parameters are supported (_since,
// _type, _count are ignored, or refused with Prefer: handling=strict).
func (s *Server) everything(m *web.Mount) web.FaceHandler {
	return func(w http.ResponseWriter, r *http.Request, rq web.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		if err := care.Invalid(s.unsupported(r, r.URL.Query())); err != nil {
			return err
		}
		res, err := s.Residents.Get(r.Context(), rq.Actor, id)
		if err != nil {
			return err
		}
		typed, err := s.recordsOf(r, m, rq, res, nil)
		if err != nil {
			return err
		}
		base := s.base(r)
		pt := s.patientOf(r.Context(), m, rq, res)
		b := Bundle{ResourceType: "Bundle", Type: "searchset", Meta: &Meta{LastUpdated: instant(s.Now())},
			Link:  []BundleLink{{Relation: "self", URL: base + "/Patient/" + pt.ID + "/$everything"}},
			Entry: []BundleEntry{{FullURL: base + "/Patient/" + pt.ID, Resource: *pt, Search: &EntrySearch{Mode: "match"}}}}
		all := &patientSearchParams{}
		for _, typ := range everythingTypes {
			ids, _, out := all.page(typed[typ], nil, "")
			for i := range ids {
				b.Entry = append(b.Entry, BundleEntry{FullURL: base + "/" + typ + "/" + ids[i], Resource: out[i], Search: &EntrySearch{Mode: "match"}})
			}
		}
		n := len(b.Entry)
		b.Total = &n
		writeJSON(w, http.StatusOK, b)
		return nil
	}
}

// everythingTypes is the order of Patient/$everything's entries after the Patient.
var everythingTypes = []string{"Condition", "Observation", "DiagnosticReport", "ImagingStudy", "ServiceRequest", "Encounter", "CarePlan", "CareTeam", "Consent", "MedicationRequest",
	"MedicationDispense", "Provenance", "Coverage", "Claim", "ExplanationOfBenefit", "RelatedPerson", "Group"}

// recordsOf gathers the resources of a patient (already read under scope)
// the reader may see, by type, each through the same path (scope, rules
// and audit) as its own search; want (nil: every type) names the types to
// read, so that a _revinclude reads only what it asks for.
func (s *Server) recordsOf(r *http.Request, m *web.Mount, rq web.Request, res *resident.Resident, want map[string]bool) (map[string][]match, error) {
	wanted := func(typs ...string) bool {
		return want == nil || slices.ContainsFunc(typs, func(t string) bool { return want[t] })
	}
	id, role := res.ID, rq.Actor.Role
	t := func(k string, a ...any) string { return m.T(rq.Lang, k, a...) }
	typed := map[string][]match{}
	if wanted("Observation", "Condition") {
		obs, regs, _, err := s.patientObservations(r, rq, id)
		if err != nil {
			return nil, err
		}
		typed["Observation"] = obs
		typed["Condition"] = conditionMatches(regs, func(k string) string { return t(k) })
	}
	if (s.Readings != nil || s.Labs != nil) && wanted("DiagnosticReport", "Provenance") {
		var err error
		if typed["DiagnosticReport"], err = s.patientReports(r, m, rq, res); err != nil {
			return nil, err
		}
	}
	if wanted("ImagingStudy") {
		var err error
		if typed["ImagingStudy"], err = s.imagingMatches(r, rq, res.CountyCode, id); err != nil {
			return nil, err
		}
	}
	if (s.Consult != nil || s.Referral != nil || s.Online != nil) && slices.Contains(episodeParties, role) && wanted("ServiceRequest", "Encounter") {
		ep, err := s.episodesOf(r, m, rq, id, wanted("Encounter"))
		if err != nil {
			return nil, err
		}
		typed["ServiceRequest"], typed["Encounter"] = serviceRequests(ep, t), encounters(ep, t)
	}
	if s.Family != nil && slices.Contains(episodeParties, role) && wanted("CarePlan", "CareTeam", "Consent") {
		rec, err := s.contractsOf(r, m, rq, id, wanted("Consent"))
		if err != nil {
			return nil, err
		}
		for _, typ := range []string{"CarePlan", "CareTeam", "Consent"} {
			if typed[typ], err = s.familyMatches(r, rq, typ, rec, t); err != nil {
				return nil, err
			}
		}
	}
	if s.Prescriptions != nil && slices.Contains(rxReaders, role) && wanted("MedicationRequest", "MedicationDispense", "Provenance") {
		sgs, err := s.Prescriptions.ForResident(r.Context(), rq.Actor, id)
		if err != nil {
			return nil, err
		}
		typed["MedicationRequest"], typed["MedicationDispense"] = s.medicationMatches(sgs, rq.Lang, false), s.medicationMatches(sgs, rq.Lang, true)
	}
	if s.Settle != nil && slices.Contains(eobReaders, role) && wanted("Claim", "ExplanationOfBenefit", "Coverage") {
		sts, err := s.Settle.ForResident(r.Context(), rq.Actor, id)
		if err != nil {
			return nil, err
		}
		for _, typ := range []string{"Claim", "ExplanationOfBenefit"} {
			if typed[typ], err = s.eobMatches(r, m, rq, sts, typ); err != nil {
				return nil, err
			}
		}
		if typed["Coverage"], err = s.coverageMatches(r, m, rq, sts); err != nil {
			return nil, err
		}
	}
	if wanted("Group", "RelatedPerson") {
		var err error
		if typed["Group"], typed["RelatedPerson"], err = s.householdMatches(r, m, rq, res); err != nil {
			return nil, err
		}
	}
	if wanted("Provenance") {
		typed["Provenance"] = provenanceMatches(typed["DiagnosticReport"], typed["MedicationRequest"])
	}
	return typed, nil
}

// revincludes are the _revinclude values of a Patient search: each type of
// $everything by its patient (or subject) reference, the household Group
// by its member.
func revincludes() []string {
	var out []string
	for _, typ := range everythingTypes {
		switch typ {
		case "Group": // a household, by its members
			out = append(out, "Group:member")
		case "RelatedPerson":
			out = append(out, "RelatedPerson:patient")
		default:
			out = append(out, typ+":patient", typ+":subject")
		}
	}
	return out
}

// revincluded adds to b, for each Patient of the page, the resources of
// the types asked for (_revinclude=<Type>:patient), read through
// recordsOf (the same scope, rules and audit as their own searches), as
// entries of search mode include.
func (s *Server) revincluded(r *http.Request, m *web.Mount, rq web.Request, b *Bundle, found []resident.Resident, types map[string]bool) error {
	base := s.base(r)
	for i := range found {
		typed, err := s.recordsOf(r, m, rq, &found[i], types)
		if err != nil {
			return err
		}
		all := &patientSearchParams{}
		for _, typ := range everythingTypes {
			if !types[typ] {
				continue
			}
			ids, _, out := all.page(typed[typ], nil, "")
			for j := range ids {
				b.Entry = append(b.Entry, BundleEntry{FullURL: base + "/" + typ + "/" + ids[j], Resource: out[j], Search: &EntrySearch{Mode: "include"}})
			}
		}
	}
	return nil
}
