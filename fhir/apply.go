package fhir

import (
	"context"
	"strconv"
	"strings"
	"time"

	"countycare/care"
	"countycare/chronic"
	"countycare/resident"
)

// written is the outcome of one write: the resource's type, id, version
// and time, whether it was created, and the warnings (what was not held).
// held is false when nothing was stored: the warnings then say why.
type written struct {
	typ, id  string
	version  int
	at       time.Time
	created  bool
	held     bool
	warnings []care.FieldError
}

// location is the versioned address of a written resource.
func (w *written) location() string {
	return w.typ + "/" + w.id + "/_history/" + strconv.Itoa(w.version)
}

// writer applies parsed resources through the domain services for one
// actor; refs maps the urn:uuid fullUrls of a bundle to Type/{id}.
type writer struct {
	s    *Server
	a    care.Actor
	refs map[string]string
	regs map[int64][]chronic.Registration // per resident, read once
	// fresh are the patients this writer registered: they have no
	// registrations but those it enrolled (kept in regs), so nothing is
	// read for them.
	fresh map[int64]bool
	// village, if not 0, manages every new patient (the command line's
	// import: the bundle's managingOrganization names another system's).
	village int64
}

func (s *Server) writer(a care.Actor) *writer {
	return &writer{s: s, a: a, refs: map[string]string{}, regs: map[int64][]chronic.Registration{}, fresh: map[int64]bool{}}
}

// resolve turns a bundle-local reference into Type/{id}.
func (w *writer) resolve(ref string) string {
	if r, ok := w.refs[ref]; ok {
		return r
	}
	return ref
}

// patientRef reads the patient a resource refers to: ENOTFOUND-free
// field errors for a reference that is not a Patient of the platform, or
// a bundle entry that was not held.
func (w *writer) patientRef(path, ref string) (int64, error) {
	ref = w.resolve(ref)
	if ref == "" {
		return 0, care.Invalid([]care.FieldError{bad(path, "fhir.reference_required")})
	}
	id, ok := refID(ref, "Patient")
	if !ok {
		return 0, care.Invalid([]care.FieldError{bad(path, "fhir.reference_unknown", ref)})
	}
	return id, nil
}

// createPatient registers a resident through resident.Service.Register
// (its validation, scope and audit), managed by the referenced village
// clinic or the actor's own. With cond (a conditional create's criteria)
// an existing match is returned instead.
func (w *writer) createPatient(ctx context.Context, p *patientIn, cond string) (*written, error) {
	if cond != "" {
		foreign, idn, fs := ifNoneExist("Patient", cond)
		if err := care.Invalid(fs); err != nil {
			return nil, err
		}
		var res *resident.Resident
		var err error
		if idn != "" {
			var rs []resident.Resident
			rs, _, err = w.s.Residents.Search(ctx, w.a, idn, resident.Filter{Limit: 2})
			if err == nil && len(rs) > 0 {
				res = &rs[0]
			}
		} else {
			res, err = w.s.Residents.ByForeignID(ctx, w.a, foreign)
			if care.IsCode(err, care.ENOTFOUND) {
				err = nil
			}
		}
		if err != nil {
			return nil, err
		}
		if res != nil {
			return &written{typ: "Patient", id: strconv.FormatInt(res.ID, 10), version: res.Version, at: res.UpdatedAt, held: true}, nil
		}
	}
	in := p.in
	in.VillageID = w.a.InstitutionID
	if w.village != 0 {
		in.VillageID = w.village
	} else if p.village != "" {
		id, ok := refID(w.resolve(p.village), "Organization")
		if !ok {
			return nil, care.Invalid([]care.FieldError{bad("Patient.managingOrganization", "fhir.reference_unknown", p.village)})
		}
		in.VillageID = id
	}
	res, err := w.s.Residents.Register(ctx, w.a, in)
	if err != nil {
		return nil, err
	}
	w.fresh[res.ID] = true
	return &written{typ: "Patient", id: strconv.FormatInt(res.ID, 10), version: res.Version, at: res.UpdatedAt, created: true, held: true}, nil
}

// registrations returns a resident's registrations (chronic.Service: the
// resident read under scope, audited), once per writer; none for a
// patient it registered itself (the services it then calls, Enroll and
// RecordVisit, read the resident under scope and audit it).
func (w *writer) registrations(ctx context.Context, rid int64) ([]chronic.Registration, error) {
	if regs, ok := w.regs[rid]; ok || w.fresh[rid] {
		return regs, nil
	}
	regs, err := w.s.Chronic.ForResident(ctx, w.a, rid)
	if err != nil {
		return nil, err
	}
	w.regs[rid] = regs
	return regs, nil
}

// createCondition registers the patient in the chronic registry the code
// names (chronic.Service.Enroll: validation, scope, audit). A Condition
// already registered (an active registration of the same registry) is
// that registration, not a second one.
func (w *writer) createCondition(ctx context.Context, c *conditionIn) (*written, error) {
	rid, err := w.patientRef("Condition.subject", c.subject)
	if err != nil {
		return nil, err
	}
	regs, err := w.registrations(ctx, rid)
	if err != nil {
		return nil, err
	}
	for _, r := range regs {
		if r.Disease == c.disease && r.Status == chronic.StatusActive {
			return &written{typ: "Condition", id: strconv.FormatInt(r.ID, 10), version: r.Version, at: lastUpdated(&r), held: true,
				warnings: []care.FieldError{bad("Condition", "fhir.already_registered", "Condition/"+strconv.FormatInt(r.ID, 10))}}, nil
		}
	}
	if !c.active {
		return &written{typ: "Condition", held: false, warnings: []care.FieldError{bad("Condition.clinicalStatus", "fhir.inactive_not_held")}}, nil
	}
	r, err := w.s.Chronic.Enroll(ctx, w.a, rid, c.disease, chronic.SourceDiagnosis, c.onset, c.note)
	if err != nil {
		return nil, err
	}
	// The registration enrolled joins the cached ones (a re-read would
	// give the same list: the enrolment changes no other registration).
	w.regs[rid] = append(regs[:len(regs):len(regs)], *r)
	return &written{typ: "Condition", id: strconv.FormatInt(r.ID, 10), version: r.Version, at: r.CreatedAt, created: true, held: true}, nil
}

// lastUpdated is when a registration last changed.
func lastUpdated(r *chronic.Registration) time.Time {
	if r.UpdatedAt.After(r.CreatedAt) {
		return r.UpdatedAt
	}
	return r.CreatedAt
}

// createVisit files measurements of one patient and day as one follow-up
// visit (chronic.Service.RecordVisit: the national spec's checks, the
// visit's classification, tier change and hand-off, urgent alerts, audit)
// under the registration they belong to. Each observation gets its
// outcome; none is held when the patient has no active registration
// enrolled by that day (the warnings say so).
func (w *writer) createVisit(ctx context.Context, obs []*observationIn, confirmed bool) ([]*written, error) {
	rid, err := w.patientRef("Observation.subject", obs[0].subject)
	if err != nil {
		return nil, err
	}
	regs, err := w.registrations(ctx, rid)
	if err != nil {
		return nil, err
	}
	reg, ok := registryFor(regs, obs[0].kind, obs[0].day)
	out := make([]*written, len(obs))
	if !ok {
		for i := range obs {
			out[i] = &written{typ: "Observation", warnings: []care.FieldError{bad("Observation.subject", "fhir.no_registration", obs[i].day.String())}}
		}
		return out, nil
	}
	v := chronic.Visit{Date: obs[0].day, FaceToFace: true, Adherence: chronic.AdherenceRegular}
	for _, o := range obs {
		o.apply(&v)
	}
	sv, err := w.s.Chronic.RecordVisit(ctx, w.a, reg.ID, v, "", confirmed)
	if err != nil {
		return nil, err
	}
	// The cached registrations still say which one a day's measurements
	// belong to (a visit changes the tier, not the registry or status).
	for i, o := range obs {
		out[i] = &written{typ: "Observation", id: strconv.FormatInt(sv.ID, 10) + "-" + o.kind, version: 1, at: sv.CreatedAt, created: true, held: true}
	}
	return out, nil
}

// updateCondition sets a registration's status from the Condition's
// clinical status (chronic.Service.SetStatus): active, or closed for
// inactive, resolved and remission. version, if not 0, must be the
// current one (If-Match): ECONFLICT otherwise.
func (w *writer) updateCondition(ctx context.Context, id int64, c *conditionIn, version int) (*written, error) {
	reg, _, _, err := w.s.Chronic.Detail(ctx, w.a, id)
	if err != nil {
		return nil, err
	}
	if version != 0 && version != reg.Version {
		return nil, care.Errorf(care.ECONFLICT, "fhir.version_conflict", reg.Version)
	}
	if ref := "Patient/" + strconv.FormatInt(reg.ResidentID, 10); w.resolve(c.subject) != ref || c.disease != reg.Disease {
		return nil, care.Invalid([]care.FieldError{bad("Condition", "fhir.condition_immutable")})
	}
	status := chronic.StatusActive
	if !c.active {
		status = chronic.StatusClosed
	}
	if status == reg.Status || (!c.active && reg.Status != chronic.StatusActive) {
		return &written{typ: "Condition", id: strconv.FormatInt(reg.ID, 10), version: reg.Version, at: lastUpdated(reg), held: true}, nil
	}
	r, err := w.s.Chronic.SetStatus(ctx, w.a, id, status)
	if err != nil {
		return nil, err
	}
	return &written{typ: "Condition", id: strconv.FormatInt(r.ID, 10), version: r.Version, at: w.s.Now(), held: true}, nil
}

// sameVisit reports whether two observations go into one follow-up visit:
// the same patient and day.
func sameVisit(a, b *observationIn, w *writer) bool {
	return a.day == b.day && strings.EqualFold(w.resolve(a.subject), w.resolve(b.subject))
}
