// Package myrecord gathers a resident's own record (我的健康档案) for the
// resident, or for their proxy (package proxy): chronic follow-ups with
// their blood pressure and glucose, signed diagnosis-center reports, lab
// results, referrals and consultations — read with the same storage
// queries the clinicians' pages use, but for one audience: the person
// the record is about. Each read is one audited access of that record,
// with purpose "self" or "proxy" (care.PurposeOf), and nothing beyond
// what is final is shown: only signed reports, never a draft.
package myrecord

import (
	"context"
	"fmt"
	"slices"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/chronic"
	"countycare/consult"
	"countycare/lab"
	"countycare/reading"
	"countycare/referral"
	"countycare/resident"
)

// ActRead is the audit action of a resident's (or proxy's) view of their record.
const ActRead = "myrecord.read"

// ActPreview is the audit action of a resident's (or proxy's) view of the
// image of one of their signed imaging reports.
const ActPreview = "myrecord.preview"

// Limits of what one page shows (the newest).
const (
	MaxVisits    = 24  // follow-ups per registration: two years of monthly visits
	MaxLabs      = 100 // lab results
	MaxReferrals = 20
	MaxConsults  = 20
)

// Repository is the storage the record needs; store.Store implements it
// with the queries the clinicians' pages use.
type Repository interface {
	Registrations(ctx context.Context, county string, residentID int64) ([]chronic.Registration, error)
	// Visits returns a registration's follow-ups, newest first.
	Visits(ctx context.Context, registrationID int64, limit int) ([]chronic.StoredVisit, error)
	LabResults(ctx context.Context, county string, residentID int64, limit int) ([]lab.Result, error)
	ResidentReadings(ctx context.Context, county string, residentID int64) ([]reading.Study, map[int64][]reading.Report, error)
	Referrals(ctx context.Context, f referral.Filter) ([]referral.Referral, error)
	ListConsultations(ctx context.Context, f consult.Filter) ([]consult.Consultation, error)
	// ImagingInstances lists a resident's stored DICOM instances (without
	// their bytes); ImagingFile returns one instance's bytes.
	ImagingInstances(ctx context.Context, county string, residentID int64) ([]reading.ImagingInstance, error)
	ImagingFile(ctx context.Context, county string, id int64) ([]byte, error)
}

// Chronic is one chronic-disease registration with its follow-ups,
// oldest first (the order a trend is drawn in).
type Chronic struct {
	chronic.Registration
	Visits []chronic.StoredVisit
}

// Study is a diagnosis-center exam with its signed report and addenda.
type Study struct {
	reading.Study
	Reports []reading.Report
	// Preview is the stored instance whose first frame previews an imaging
	// study on the resident's page (PreviewInstance; 0: none).
	Preview int64
}

// PreviewInstance is the instance that previews imaging study st: the
// first stored (lowest id) of the study's instances the server can
// render; 0 when st is not an imaging study or none renders.
func PreviewInstance(st reading.Study, instances []reading.ImagingInstance) int64 {
	if st.Kind != reading.KindImaging {
		return 0
	}
	var id int64
	for _, in := range instances {
		if in.StudyUID == st.SourceKey && in.NoPreview == "" && (id == 0 || in.ID < id) {
			id = in.ID
		}
	}
	return id
}

// Record is what the resident sees of their care.
type Record struct {
	Resident  *resident.Resident
	Chronic   []Chronic
	Studies   []Study
	Labs      []lab.Result
	Referrals []referral.Referral
	Consults  []consult.Consultation
}

// Service reads a resident's own record.
type Service struct {
	Repo      Repository
	Residents *resident.Service
	Audit     audit.Recorder
	Now       func() time.Time
}

// Of returns the record the resident actor a views: their own, or a
// ward's through a live proxy grant (a.ResidentID is then the ward's,
// a.Proxy their own). The read of the resident is audited by
// resident.Service.Get, and the record's sections on a row of their own.
// Errors: EFORBIDDEN (not a resident), ENOTFOUND.
func (s *Service) Of(ctx context.Context, a care.Actor) (*Record, error) {
	if a.Role != care.RoleResident || a.ResidentID == 0 {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	res, err := s.Residents.Get(ctx, a, a.ResidentID)
	if err != nil {
		return nil, err
	}
	rec := &Record{Resident: res}
	regs, err := s.Repo.Registrations(ctx, res.CountyCode, res.ID)
	if err != nil {
		return nil, err
	}
	nv := 0
	for _, r := range regs {
		vs, err := s.Repo.Visits(ctx, r.ID, MaxVisits)
		if err != nil {
			return nil, err
		}
		slices.Reverse(vs)
		nv += len(vs)
		rec.Chronic = append(rec.Chronic, Chronic{Registration: r, Visits: vs})
	}
	studies, reports, err := s.Repo.ResidentReadings(ctx, res.CountyCode, res.ID)
	if err != nil {
		return nil, err
	}
	var instances []reading.ImagingInstance
	for _, st := range studies {
		signed := signedReports(reports[st.ID])
		if len(signed) == 0 { // an exam not yet reported is the clinic's business until it is
			continue
		}
		if st.Kind == reading.KindImaging && instances == nil {
			if instances, err = s.Repo.ImagingInstances(ctx, res.CountyCode, res.ID); err != nil {
				return nil, err
			}
		}
		rec.Studies = append(rec.Studies, Study{Study: st, Reports: signed, Preview: PreviewInstance(st, instances)})
	}
	if rec.Labs, err = s.Repo.LabResults(ctx, res.CountyCode, res.ID, MaxLabs); err != nil {
		return nil, err
	}
	if rec.Referrals, err = s.Repo.Referrals(ctx, referral.Filter{County: res.CountyCode, ResidentID: res.ID, Limit: MaxReferrals}); err != nil {
		return nil, err
	}
	if rec.Consults, err = s.Repo.ListConsultations(ctx, consult.Filter{County: res.CountyCode, ResidentID: res.ID, Limit: MaxConsults}); err != nil {
		return nil, err
	}
	ev := audit.New(ctx, a, ActRead, res.ID)
	ev.CountyCode = res.CountyCode
	ev.Detail = fmt.Sprintf("own record: registrations=%d visits=%d reports=%d labs=%d referrals=%d consultations=%d",
		len(rec.Chronic), nv, len(rec.Studies), len(rec.Labs), len(rec.Referrals), len(rec.Consults))
	if a.Proxy != 0 {
		ev.Detail = fmt.Sprintf("as proxy of resident %d: %s", a.Proxy, ev.Detail[len("own record: "):])
	}
	s.Audit.Record(ctx, ev)
	return rec, nil
}

// signedReports keeps a study's signed reports and addenda: what the
// resident may read of it.
func signedReports(reports []reading.Report) []reading.Report {
	var signed []reading.Report
	for _, rep := range reports {
		if (rep.Kind == reading.ReportSigned || rep.Kind == reading.ReportAddendum) && !rep.SignedAt.IsZero() {
			signed = append(signed, rep)
		}
	}
	return signed
}

// Preview returns the DICOM instance that previews signed imaging study
// studyID of the record the resident actor a views (their own, or a
// ward's through a live proxy grant), audited as that record's access.
// Only a study the resident's page lists has one: an exam not yet
// reported, another resident's, or one the server cannot render is
// ENOTFOUND, as is a study that does not exist. Errors: EFORBIDDEN (not
// a resident), ENOTFOUND.
func (s *Service) Preview(ctx context.Context, a care.Actor, studyID int64) ([]byte, error) {
	if a.Role != care.RoleResident || a.ResidentID == 0 {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	res, err := s.Residents.Get(ctx, a, a.ResidentID)
	if err != nil {
		return nil, err
	}
	studies, reports, err := s.Repo.ResidentReadings(ctx, res.CountyCode, res.ID)
	if err != nil {
		return nil, err
	}
	for _, st := range studies {
		if st.ID != studyID || st.Kind != reading.KindImaging || len(signedReports(reports[st.ID])) == 0 {
			continue
		}
		instances, err := s.Repo.ImagingInstances(ctx, res.CountyCode, res.ID)
		if err != nil {
			return nil, err
		}
		id := PreviewInstance(st, instances)
		if id == 0 {
			break
		}
		b, err := s.Repo.ImagingFile(ctx, res.CountyCode, id)
		if err != nil {
			return nil, err
		}
		ev := audit.New(ctx, a, ActPreview, res.ID)
		ev.CountyCode = res.CountyCode
		ev.Detail = fmt.Sprintf("own record: study=%d instance=%d", st.ID, id)
		if a.Proxy != 0 {
			ev.Detail = fmt.Sprintf("as proxy of resident %d: study=%d instance=%d", a.Proxy, st.ID, id)
		}
		s.Audit.Record(ctx, ev)
		return b, nil
	}
	return nil, care.Errorf(care.ENOTFOUND, "error.not_found")
}

// Point is one reading of a trend.
type Point struct {
	On    care.Date
	Value int
}

// Trends returns the blood pressure (systolic, diastolic, mmHg) and
// fasting glucose (0.1 mmol/L) series of the record's follow-ups, oldest
// first; a visit that did not measure a value adds no point to its series.
func (r *Record) Trends() (sbp, dbp, fpg []Point) {
	for _, c := range r.Chronic {
		for _, v := range c.Visits {
			if v.SBP > 0 && v.DBP > 0 {
				sbp = append(sbp, Point{v.Date, v.SBP})
				dbp = append(dbp, Point{v.Date, v.DBP})
			}
			if v.FPG > 0 {
				fpg = append(fpg, Point{v.Date, v.FPG})
			}
		}
	}
	byDate := func(a, b Point) int { return a.On.Time().Compare(b.On.Time()) }
	slices.SortStableFunc(sbp, byDate)
	slices.SortStableFunc(dbp, byDate)
	slices.SortStableFunc(fpg, byDate)
	return sbp, dbp, fpg
}

// NextVisit is the earliest next follow-up date of the record's active
// registrations (zero if none).
func (r *Record) NextVisit() care.Date {
	var d care.Date
	for _, c := range r.Chronic {
		if c.Status == chronic.StatusActive && !c.NextVisit.IsZero() && (d.IsZero() || c.NextVisit.Before(d)) {
			d = c.NextVisit
		}
	}
	return d
}
