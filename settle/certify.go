package settle

import (
	"context"
	"countycare/icd10"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"countycare/audit"
	"countycare/care"
)

// Certification is a resident's chronic special-outpatient certification
// (门诊慢特病认定, 门慢/门特): the insurance office has certified that the
// resident has the disease Diagnosis (an ICD-10 code or category), which
// the county's policy covers as the chronic_outpatient category Category,
// from From to To inclusive, issued by Office. While it is active and in
// date, a dispensing whose prescription carries a diagnosis under it is
// settled through that category's layer (policy-rules.md §5; docs/settlement.md).
type Certification struct {
	ID         int64     `json:"id"`
	County     string    `json:"county_code"`
	ResidentID int64     `json:"resident_id"`
	Category   string    `json:"category"`
	Diagnosis  string    `json:"diagnosis"`
	From       care.Date `json:"valid_from"`
	To         care.Date `json:"valid_to"`
	Office     string    `json:"office"`
	Status     string    `json:"status"` // active, ended
	CreatedBy  int64     `json:"created_by"`
	CreatedAt  time.Time `json:"created_at"`
	EndedBy    int64     `json:"ended_by,omitempty"`
	EndedAt    time.Time `json:"ended_at,omitzero"`
	EndReason  string    `json:"end_reason,omitempty"`
}

// Certification statuses.
const (
	CertActive = "active"
	CertEnded  = "ended"
)

// Audit actions of certifications.
const (
	ActCertify    = "settle.certify"
	ActCertEnd    = "settle.certify_end"
	ActCertRead   = "settle.certify_read"
	MaxCertYears  = 5 // a certification longer than this is a typing error
	maxOfficeRune = 100
)

// CertRepository is the storage certifications need; store.Store implements it.
type CertRepository interface {
	SaveCertification(ctx context.Context, c *Certification, ev audit.Event) error
	// EndCertification ends an active certification (ECONFLICT if already ended).
	EndCertification(ctx context.Context, county string, id, by int64, reason string, at time.Time, ev audit.Event) (*Certification, error)
	Certification(ctx context.Context, id int64) (*Certification, error)
	Certifications(ctx context.Context, county string, residentID int64) ([]Certification, error)
}

// CertInput is what the insurance officer enters.
type CertInput struct {
	ResidentID int64
	Category   string
	Diagnosis  string
	From, To   string // YYYY-MM-DD
	Office     string
}

// Covers reports whether c, on day, covers a prescription with these
// diagnoses: active, in date, and a diagnosis under its code (I10 covers
// I10 and I10.x00; E11.9 covers E11.900).
func (c *Certification) Covers(day care.Date, diagnoses []string) bool {
	if c.Status != CertActive || day.Before(c.From) || c.To.Before(day) {
		return false
	}
	for _, d := range diagnoses {
		if strings.HasPrefix(strings.ToUpper(strings.TrimSpace(d)), c.Diagnosis) {
			return true
		}
	}
	return false
}

func (s *Service) certRepo() CertRepository { return s.Repo }

// Certify records a chronic special-outpatient certification for a
// resident of the officer's county (insurance officer only). The category
// must be one the policy in force on From covers. Errors: EFORBIDDEN,
// EINVALID (each field named), ENOTFOUND (resident out of scope).
func (s *Service) Certify(ctx context.Context, a care.Actor, in CertInput) (*Certification, error) {
	if a.Role != care.RoleInsuranceOfficer {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	r, err := s.Residents.Get(ctx, a, in.ResidentID)
	if err != nil {
		return nil, err
	}
	c := &Certification{County: r.CountyCode, ResidentID: r.ID, Category: strings.TrimSpace(in.Category), Diagnosis: icd10.Normalize(in.Diagnosis),
		Office: strings.TrimSpace(in.Office), Status: CertActive, CreatedBy: a.AccountID}
	var fs []care.FieldError
	from, ferr := care.ParseDate(strings.TrimSpace(in.From))
	if ferr != nil {
		fs = append(fs, care.FieldError{Field: "valid_from", Key: "settle.date_invalid", Args: []any{in.From}})
	}
	to, terr := care.ParseDate(strings.TrimSpace(in.To))
	switch {
	case terr != nil:
		fs = append(fs, care.FieldError{Field: "valid_to", Key: "settle.date_invalid", Args: []any{in.To}})
	case ferr == nil && to.Before(from):
		fs = append(fs, care.FieldError{Field: "valid_to", Key: "settle.cert_to_before_from"})
	case ferr == nil && from.AddDays(366*MaxCertYears).Before(to):
		fs = append(fs, care.FieldError{Field: "valid_to", Key: "settle.cert_too_long", Args: []any{MaxCertYears}})
	}
	c.From, c.To = from, to
	if !icd10.Valid(c.Diagnosis) { // the one ICD-10 rule (package icd10)
		fs = append(fs, care.FieldError{Field: "diagnosis", Key: "settle.cert_diagnosis", Args: []any{in.Diagnosis}})
	}
	if c.Office == "" || utf8.RuneCountInString(c.Office) > maxOfficeRune {
		fs = append(fs, care.FieldError{Field: "office", Key: "settle.cert_office", Args: []any{maxOfficeRune}})
	}
	if ferr == nil {
		sp, err := s.policyFor(ctx, r.CountyCode, from.String())
		switch {
		case care.IsCode(err, care.EINVALID):
			fs = append(fs, care.FieldError{Field: "valid_from", Key: "settle.no_policy", Args: []any{from.String()}})
		case err != nil:
			return nil, err
		default:
			if _, ok := sp.Policy.Chronic[c.Category]; !ok {
				fs = append(fs, care.FieldError{Field: "category", Key: "settle.chronic_unknown", Args: []any{c.Category}})
			}
		}
	}
	if err := care.Invalid(fs); err != nil {
		return nil, err
	}
	ev := audit.New(ctx, a, ActCertify, r.ID)
	ev.CountyCode, ev.Detail = r.CountyCode, fmt.Sprintf("%s %s %s..%s", c.Category, c.Diagnosis, c.From, c.To)
	if err := s.certRepo().SaveCertification(ctx, c, ev); err != nil {
		return nil, err
	}
	return c, nil
}

// EndCertification ends a certification before its end date (recovered,
// moved away, certified in error), with a reason; the record stays.
// Errors: EFORBIDDEN, EINVALID (reason), ENOTFOUND, ECONFLICT (already ended).
func (s *Service) EndCertification(ctx context.Context, a care.Actor, id int64, reason string) (*Certification, error) {
	if a.Role != care.RoleInsuranceOfficer {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	reason = strings.TrimSpace(reason)
	if utf8.RuneCountInString(reason) < MinReasonLen || utf8.RuneCountInString(reason) > 200 {
		return nil, care.Invalid([]care.FieldError{{Field: "reason", Key: "settle.reason_required"}})
	}
	c, err := s.certRepo().Certification(ctx, id)
	if care.IsCode(err, care.ENOTFOUND) {
		return nil, care.Errorf(care.ENOTFOUND, "settle.cert_not_found")
	}
	if err != nil {
		return nil, err
	}
	if _, err := s.Residents.Get(ctx, a, c.ResidentID); err != nil {
		if care.IsCode(err, care.ENOTFOUND) {
			return nil, care.Errorf(care.ENOTFOUND, "settle.cert_not_found")
		}
		return nil, err
	}
	ev := audit.New(ctx, a, ActCertEnd, c.ResidentID)
	ev.CountyCode, ev.Detail = c.County, fmt.Sprintf("certification %d: %s", c.ID, reason)
	return s.certRepo().EndCertification(ctx, c.County, id, a.AccountID, reason, s.Now(), ev)
}

// Certifications lists a resident's certifications, newest first
// (insurance officer; the read is audited).
func (s *Service) Certifications(ctx context.Context, a care.Actor, residentID int64) ([]Certification, error) {
	if a.Role != care.RoleInsuranceOfficer {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	r, err := s.Residents.Get(ctx, a, residentID)
	if err != nil {
		return nil, err
	}
	cs, err := s.certRepo().Certifications(ctx, r.CountyCode, r.ID)
	if err != nil {
		return nil, err
	}
	ev := audit.New(ctx, a, ActCertRead, r.ID)
	ev.CountyCode = r.CountyCode
	s.Audit.Record(ctx, ev)
	return cs, nil
}

// BillItem is one drug of a bill to split between the chronic
// special-outpatient layer and plain outpatient care: its WHO ATC code and
// the ICD-10 diagnoses it was prescribed for.
type BillItem struct {
	ATC       string
	Diagnoses []string
}

// ChronicSplit returns, for each item, the chronic special-outpatient
// category it settles under on day, or "" for a plain outpatient item. An
// item is chronic when an active certification of the resident covers one
// of its diagnoses (Covers), the policy in force that day still has the
// certification's category, and the category's drug range pays for the
// drug (ChronicCategory.Pays). The first such certification, newest first,
// wins. A prescription for a certified disease and another illness is so
// split into a chronic part and an outpatient part, which settle as two
// visits (门诊慢特病 and 普通门诊 are separate settlements; issue 18).
func (s *Service) ChronicSplit(ctx context.Context, county string, residentID int64, day care.Date, items []BillItem) ([]string, error) {
	out := make([]string, len(items))
	cs, err := s.certRepo().Certifications(ctx, county, residentID)
	if err != nil || len(cs) == 0 {
		return out, err
	}
	sp, err := s.policyFor(ctx, county, day.String())
	if err != nil {
		return out, nil // no policy: the settlement itself refuses the day
	}
	for i, it := range items {
		for j := range cs {
			cat, ok := sp.Policy.Chronic[cs[j].Category]
			if ok && cs[j].Covers(day, it.Diagnoses) && cat.Pays(it.ATC) {
				out[i] = cs[j].Category
				break
			}
		}
	}
	return out, nil
}
