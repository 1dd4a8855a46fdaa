package lab

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/critical"
	"countycare/notify"
	"countycare/resident"
)

// Audit actions.
const (
	ActRecord = "lab.record"
	ActRead   = "lab.read"
)

// MaxPerRequest bounds the results of one form or API call (an import
// file may hold MaxImportRows).
const MaxPerRequest = 100

// Repository is the storage of results; store.Store implements it.
type Repository interface {
	// SaveLabResults stores results, the critical alert of each result
	// that has one (alerts[i] for rs[i], nil for none; its SourceID is set
	// to the result's id), the alerts' messages and the audit row, in one
	// transaction: nothing is stored if anything fails.
	// msgs[i] are the text messages of alerts[i]. Results with a
	// SpecimenID mark that specimen resulted (from SpecimenVersion) in the
	// same transaction: ECONFLICT if it moved since.
	SaveLabResults(ctx context.Context, rs []*Result, alerts []*critical.Alert, msgs [][]notify.Message, ev audit.Event) error
	// LabResults lists a resident's results, newest collected first.
	LabResults(ctx context.Context, county string, residentID int64, limit int) ([]Result, error)
}

// Service records and lists lab results.
type Service struct {
	Repo       Repository
	Residents  *resident.Service
	Critical   *critical.Service
	Thresholds critical.Thresholds
	Audit      audit.Recorder
	Now        func() time.Time
}

// Order is what results are filed for: the resident, the ordering clinic
// and account, and the specimen the results are of (0: none).
type Order struct {
	CountyCode string
	ResidentID int64
	ClinicID   int64
	OrderedBy  int64
	// SpecimenID is the specimen (package specimen) whose results these
	// are; the repository marks it resulted in the same transaction, from
	// SpecimenVersion, and refuses (ECONFLICT) if it moved meanwhile.
	SpecimenID      int64
	SpecimenVersion int
}

// Record files results for a resident in a's scope, recorded by a's
// clinic as the ordering clinic, all or nothing. Results at a critical
// limit get flag LL or HH and raise a critical alert to the clinic in the
// same transaction. Each fault names its field with prefix(i) before it
// (prefix may be nil). Errors: ENOTFOUND (resident not in scope),
// EINVALID (the faults; none stored), EFORBIDDEN (an actor without a
// clinic).
func (s *Service) Record(ctx context.Context, a care.Actor, residentID int64, ins []Input, prefix func(i int) string) ([]*Result, error) {
	if a.InstitutionID == 0 || a.PractitionerID == 0 {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	res, err := s.Residents.Get(ctx, a, residentID)
	if err != nil {
		return nil, err
	}
	return s.File(ctx, a, Order{CountyCode: res.CountyCode, ResidentID: res.ID, ClinicID: a.InstitutionID, OrderedBy: a.AccountID}, ins, prefix)
}

// File files results for an order the caller has already authorised (a
// clinic's own resident through Record, or a specimen received at a's lab
// through specimen.Service.Result), all or nothing, with the same checks
// and critical alerts as Record; the alerts go to the ordering clinic.
// Errors: EINVALID (the faults; none stored), ECONFLICT (the specimen moved
// meanwhile).
func (s *Service) File(ctx context.Context, a care.Actor, o Order, ins []Input, prefix func(i int) string) ([]*Result, error) {
	if len(ins) == 0 {
		return nil, care.Invalid([]care.FieldError{{Field: "results", Key: "lab.none"}})
	}
	if len(ins) > MaxImportRows {
		return nil, care.Invalid([]care.FieldError{{Field: "results", Key: "lab.too_many", Args: []any{MaxImportRows}}})
	}
	now := s.Now().UTC()
	var fs []care.FieldError
	rs := make([]*Result, len(ins))
	alerts := make([]*critical.Alert, len(ins))
	msgs := make([][]notify.Message, len(ins))
	live := make([][]int64, len(ins))
	crit := 0
	for i, in := range ins {
		p := ""
		if prefix != nil {
			p = prefix(i)
		}
		r, f := Check(in, now, p)
		fs = append(fs, f...)
		r.CountyCode, r.ResidentID, r.ClinicID, r.OrderedBy, r.CreatedAt = o.CountyCode, o.ResidentID, o.ClinicID, o.OrderedBy, now
		r.SpecimenID, r.SpecimenVersion = o.SpecimenID, o.SpecimenVersion
		rs[i] = r
	}
	if err := care.Invalid(fs); err != nil {
		return nil, err
	}
	for i, r := range rs {
		finding, low, ok := s.Thresholds.Check(r.Analyte, r.ValueSI)
		if !ok {
			continue
		}
		r.Critical, r.Flag = finding, FlagHH
		if low {
			r.Flag = FlagLL
		}
		al := &critical.Alert{CountyCode: r.CountyCode, SourceKind: critical.SourceLab, ResidentID: r.ResidentID, ClinicID: r.ClinicID,
			OrderedBy: r.OrderedBy, Finding: finding, Value: strconv.FormatFloat(r.Value, 'f', -1, 64) + " " + r.Unit, RaisedBy: a.AccountID, RaisedAt: now}
		al.SourceID = 1 // set to the result's id by the store; 1 passes the check
		m, ids, err := s.Critical.Prepare(ctx, al)
		if err != nil {
			return nil, err
		}
		alerts[i], live[i], msgs[i] = al, ids, m
		crit++
	}
	codes := make([]string, 0, len(rs))
	for _, r := range rs {
		codes = append(codes, r.Analyte)
	}
	ev := audit.New(ctx, a, ActRecord, o.ResidentID)
	ev.CountyCode = o.CountyCode
	ev.Detail = fmt.Sprintf("%d results (%s), %d critical", len(rs), strings.Join(dedupe(codes), ","), crit)
	if o.SpecimenID != 0 {
		ev.Detail += fmt.Sprintf(", specimen %d", o.SpecimenID)
	}
	if err := s.Repo.SaveLabResults(ctx, rs, alerts, msgs, ev); err != nil {
		return nil, err
	}
	for i, al := range alerts {
		if al != nil {
			rs[i].AlertID = al.ID
			s.Critical.Announce(al, live[i])
		}
	}
	return rs, nil
}

// Import checks a CSV export (ParseCSV) and records its results for the
// resident; faults name their line. Errors as Record, and EINVALID with
// lab.csv for a file that cannot be read.
func (s *Service) Import(ctx context.Context, a care.Actor, residentID int64, rows []Row) ([]*Result, error) {
	ins := make([]Input, len(rows))
	for i, r := range rows {
		ins[i] = r.Input
	}
	return s.Record(ctx, a, residentID, ins, func(i int) string { return fmt.Sprintf("%d:", rows[i].Line) })
}

// ForResident returns a resident in a's scope with their results, newest
// first; the read is audited. Errors: ENOTFOUND.
func (s *Service) ForResident(ctx context.Context, a care.Actor, residentID int64) (*resident.Resident, []Result, error) {
	res, err := s.Residents.Get(ctx, a, residentID)
	if err != nil {
		return nil, nil, err
	}
	rs, err := s.Repo.LabResults(ctx, res.CountyCode, res.ID, 500)
	ev := audit.New(ctx, a, ActRead, res.ID)
	ev.CountyCode, ev.Detail = res.CountyCode, fmt.Sprintf("lab results: %d rows", len(rs))
	if err != nil {
		ev.Outcome = audit.OutcomeFailed
	}
	s.Audit.Record(ctx, ev)
	return res, rs, err
}

func dedupe(ss []string) []string {
	seen := map[string]bool{}
	out := ss[:0:0]
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
