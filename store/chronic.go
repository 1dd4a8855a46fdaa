package store

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"countycare/access"
	"countycare/audit"
	"countycare/care"
	"countycare/chronic"
	"countycare/points"
)

const registrationCols = `id, county_code, resident_id, disease, status, source, enrolled_on, clinic_id, doctor_id, tier, tier_since, last_class, last_visit,
	next_visit, risk, prior_stroke_mi, tb_phase, tb_supervisor, note, closed_on, created_at, version, updated_at`

func scanRegistration(sc interface{ Scan(...any) error }, r *chronic.Registration, extra ...any) error {
	return sc.Scan(append([]any{&r.ID, &r.County, &r.ResidentID, &r.Disease, &r.Status, &r.Source, &r.EnrolledOn, &r.ClinicID, idOf(&r.DoctorID), &r.Tier, &r.TierSince,
		&r.LastClass, &r.LastVisit, &r.NextVisit, &r.Risk, &r.PriorStrokeMI, &r.TBPhase, &r.TBSupervisor, &r.Note, &r.ClosedOn, tsOf(&r.CreatedAt), &r.Version, tsOf(&r.UpdatedAt)}, extra...)...)
}

// Enroll stores a registration; an active one for the disease is ECONFLICT.
func (s *Store) Enroll(ctx context.Context, r *chronic.Registration, ev audit.Event) error {
	r.CreatedAt, r.Version = s.now(), 1
	return s.Transact(ctx, func(tx db) error {
		if err := s.ensureUnitYear(ctx, tx, r.County, care.Today(s.now()).Year); err != nil {
			return wrap("store.Enroll", err)
		}
		id, err := tx.insert(ctx, `INSERT INTO chronic_registrations (county_code, resident_id, disease, status, source, enrolled_on, clinic_id, doctor_id, tier, tier_since,
			next_visit, prior_stroke_mi, tb_phase, tb_supervisor, note, created_at, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
			r.County, r.ResidentID, string(r.Disease), r.Status, r.Source, r.EnrolledOn, r.ClinicID, nullID(r.DoctorID), string(r.Tier), r.TierSince,
			r.NextVisit, r.PriorStrokeMI, r.TBPhase, r.TBSupervisor, r.Note, s.ts(r.CreatedAt))
		if err != nil {
			return wrap("store.Enroll", err)
		}
		r.ID = id
		if err := s.moveRegistration(ctx, tx, r.County, r.ID, nil, unitRegOf(r)); err != nil {
			return wrap("store.Enroll", err)
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

// Registration returns one registration; ENOTFOUND if none.
func (s *Store) Registration(ctx context.Context, id int64) (*chronic.Registration, error) {
	var r chronic.Registration
	if err := scanRegistration(s.read().row(ctx, `SELECT `+registrationCols+` FROM chronic_registrations WHERE id = ?`, id), &r); err != nil {
		return nil, wrap("store.Registration", err)
	}
	return &r, nil
}

// Registrations lists a resident's registrations, active first.
func (s *Store) Registrations(ctx context.Context, county string, residentID int64) ([]chronic.Registration, error) {
	rows, err := s.read().query(ctx, `SELECT `+registrationCols+` FROM chronic_registrations WHERE county_code = ? AND resident_id = ?
		ORDER BY CASE WHEN status = 'active' THEN 0 ELSE 1 END, id`, county, residentID)
	if err != nil {
		return nil, wrap("store.Registrations", err)
	}
	defer rows.Close()
	var out []chronic.Registration
	for rows.Next() {
		var r chronic.Registration
		if err := scanRegistration(rows, &r); err != nil {
			return nil, wrap("store.Registrations", err)
		}
		out = append(out, r)
	}
	return out, wrap("store.Registrations", rows.Err())
}

// RegisteredFor returns the residents of a county with an active
// registration for the disease (a second one is refused as already
// registered): for tools that pick residents to enrol, such as the
// county-year replay. The set may be large (a county's whole register).
func (s *Store) RegisteredFor(ctx context.Context, county string, disease chronic.Disease) (map[int64]bool, error) {
	const op = "store.RegisteredFor"
	rows, err := s.read().query(ctx, `SELECT resident_id FROM chronic_registrations WHERE county_code = ? AND disease = ? AND status = 'active'`,
		county, string(disease))
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	out := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, wrap(op, err)
		}
		out[id] = true
	}
	return out, wrap(op, rows.Err())
}

const visitCols = `id, county_code, registration_id, resident_id, disease, visit_date, face_to_face, sbp, dbp, heart_rate, fpg, temperature, weight_dg, height_cm,
	symptoms, adherence, adverse, adverse_uncontrollable, complication, pregnant, risk_level, insight, symptomatic, doses_due, doses_missed, lifestyle,
	class, urgent, refer, refer_reasons, next_visit, recorded_by, institution_id, created_at`

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func scanVisit(sc interface{ Scan(...any) error }, v *chronic.StoredVisit) error {
	var symptoms, urgent, reasons string
	if err := sc.Scan(&v.ID, &v.County, &v.RegistrationID, &v.ResidentID, &v.Disease, &v.Date, &v.FaceToFace, &v.SBP, &v.DBP, &v.HeartRate, &v.FPG,
		&v.Temperature, &v.WeightDg, &v.HeightCm, &symptoms, &v.Adherence, &v.Adverse, &v.AdverseUncontrollable, &v.Complication, &v.Pregnant,
		&v.RiskLevel, &v.Insight, &v.Symptomatic, &v.DosesDue, &v.DosesMissed, &v.Lifestyle, &v.Outcome.Class, &urgent, &v.Outcome.Refer, &reasons,
		&v.Outcome.NextVisit, &v.RecordedBy, &v.InstitutionID, tsOf(&v.CreatedAt)); err != nil {
		return err
	}
	for _, x := range splitList(symptoms) {
		v.Symptoms = append(v.Symptoms, chronic.Symptom(x))
	}
	v.Outcome.Urgent, v.Outcome.ReferReasons = splitList(urgent), splitList(reasons)
	return nil
}

// RecentOutcomes returns the last n visits' outcomes, oldest first.
func (s *Store) RecentOutcomes(ctx context.Context, registrationID int64, n int) ([]chronic.Outcome, error) {
	rows, err := s.read().query(ctx, `SELECT class, urgent, refer FROM chronic_visits WHERE registration_id = ? ORDER BY visit_date DESC, id DESC LIMIT ?`, registrationID, n)
	if err != nil {
		return nil, wrap("store.RecentOutcomes", err)
	}
	defer rows.Close()
	var out []chronic.Outcome
	for rows.Next() {
		var o chronic.Outcome
		var urgent string
		if err := rows.Scan(&o.Class, &urgent, &o.Refer); err != nil {
			return nil, wrap("store.RecentOutcomes", err)
		}
		o.Urgent = splitList(urgent)
		out = append([]chronic.Outcome{o}, out...)
	}
	return out, wrap("store.RecentOutcomes", rows.Err())
}

// SaveVisit stores a visit with the registration's new state and any tier change.
func (s *Store) SaveVisit(ctx context.Context, v *chronic.StoredVisit, r *chronic.Registration, change *chronic.TierChange, link *access.CareLink, award *points.Entry, ev audit.Event) error {
	const op = "store.SaveVisit"
	v.CreatedAt = s.now()
	return s.Transact(ctx, func(tx db) error {
		syms := make([]string, len(v.Symptoms))
		for i, x := range v.Symptoms {
			syms[i] = string(x)
		}
		// The year's counters exist before the visit moves them (a new year's are computed without it).
		if err := s.ensureUnitYear(ctx, tx, v.County, v.Date.Year); err != nil {
			return wrap(op, err)
		}
		id, err := tx.insert(ctx, `INSERT INTO chronic_visits (county_code, registration_id, resident_id, disease, visit_date, face_to_face, sbp, dbp, heart_rate, fpg,
			temperature, weight_dg, height_cm, symptoms, adherence, adverse, adverse_uncontrollable, complication, pregnant, risk_level, insight, symptomatic,
			doses_due, doses_missed, lifestyle, class, urgent, refer, refer_reasons, next_visit, recorded_by, institution_id, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			v.County, v.RegistrationID, v.ResidentID, string(v.Disease), v.Date, v.FaceToFace, v.SBP, v.DBP, v.HeartRate, v.FPG,
			v.Temperature, v.WeightDg, v.HeightCm, strings.Join(syms, ","), string(v.Adherence), v.Adverse, v.AdverseUncontrollable, v.Complication, v.Pregnant,
			v.RiskLevel, v.Insight, v.Symptomatic, v.DosesDue, v.DosesMissed, v.Lifestyle, string(v.Outcome.Class), strings.Join(v.Outcome.Urgent, ","),
			v.Outcome.Refer, strings.Join(v.Outcome.ReferReasons, ","), v.Outcome.NextVisit, v.RecordedBy, v.InstitutionID, s.ts(v.CreatedAt))
		if err != nil {
			if care.IsCode(mapErr(err), care.ECONFLICT) {
				return &care.Error{Code: care.ECONFLICT, Key: "chronic.visit_duplicate", Args: []any{v.Date.String()}, Op: op}
			}
			return wrap(op, err)
		}
		v.ID = id
		before, after, err := s.addToYear(ctx, tx, &v.Visit, v.County, v.RegistrationID)
		if err != nil {
			return wrap(op, err)
		}
		// Move the patient between the clinic's histogram buckets and control counts.
		ur := unitRegOf(r)
		d := s.unitOf(ur, after, v.Date.Year).Sub(s.unitOf(ur, before, v.Date.Year))
		if err := addUnit(ctx, tx, v.County, &d); err != nil {
			return wrap(op, err)
		}
		res, err := tx.exec(ctx, `UPDATE chronic_registrations SET tier = ?, tier_since = ?, last_class = ?, last_visit = ?, next_visit = ?, risk = ?, version = version + 1,
			updated_at = ? WHERE id = ? AND version = ?`, string(r.Tier), r.TierSince, string(r.LastClass), r.LastVisit, r.NextVisit, r.Risk, s.ts(s.now()), r.ID, r.Version)
		if err != nil {
			return wrap(op, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return &care.Error{Code: care.ECONFLICT, Key: "chronic.stale", Op: op}
		}
		r.Version++
		if change != nil {
			change.CreatedAt = s.now()
			if change.ID, err = tx.insert(ctx, `INSERT INTO chronic_tier_changes (county_code, registration_id, resident_id, from_tier, to_tier, reason, to_institution, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, change.County, change.RegistrationID, change.ResidentID, string(change.From), string(change.To), change.Reason,
				change.ToInstitution, s.ts(change.CreatedAt)); err != nil {
				return wrap(op, err)
			}
		}
		if award != nil {
			if _, err := s.insertPoints(ctx, tx, award); err != nil {
				return err
			}
		}
		if link != nil {
			link.CreatedAt = s.now()
			if _, err := tx.insert(ctx, `INSERT INTO care_links (county_code, resident_id, institution_id, kind, reason, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				link.CountyCode, link.ResidentID, link.InstitutionID, link.Kind, link.Reason, link.CreatedBy, s.ts(link.CreatedAt)); err != nil {
				return wrap(op, err)
			}
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

// Visits lists a registration's visits, newest first.
func (s *Store) Visits(ctx context.Context, registrationID int64, limit int) ([]chronic.StoredVisit, error) {
	rows, err := s.read().query(ctx, `SELECT `+visitCols+` FROM chronic_visits WHERE registration_id = ? ORDER BY visit_date DESC, id DESC LIMIT ?`, registrationID, limit)
	if err != nil {
		return nil, wrap("store.Visits", err)
	}
	defer rows.Close()
	var out []chronic.StoredVisit
	for rows.Next() {
		var v chronic.StoredVisit
		if err := scanVisit(rows, &v); err != nil {
			return nil, wrap("store.Visits", err)
		}
		out = append(out, v)
	}
	return out, wrap("store.Visits", rows.Err())
}

// SetRegistrationStatus saves a registration's status.
func (s *Store) SetRegistrationStatus(ctx context.Context, r *chronic.Registration, ev audit.Event) error {
	return s.Transact(ctx, func(tx db) error {
		if err := s.ensureUnitYear(ctx, tx, r.County, care.Today(s.now()).Year); err != nil {
			return wrap("store.SetRegistrationStatus", err)
		}
		var old unitReg
		if err := tx.row(ctx, `SELECT clinic_id, disease, status, enrolled_on, closed_on FROM chronic_registrations WHERE id = ?`, r.ID).Scan(
			&old.clinic, &old.disease, &old.status, &old.enrolled, &old.closed); err != nil {
			return wrap("store.SetRegistrationStatus", err)
		}
		res, err := tx.exec(ctx, `UPDATE chronic_registrations SET status = ?, closed_on = ?, version = version + 1, updated_at = ? WHERE id = ? AND version = ?`,
			r.Status, r.ClosedOn, s.ts(s.now()), r.ID, r.Version)
		if err != nil {
			if care.IsCode(mapErr(err), care.ECONFLICT) {
				return &care.Error{Code: care.ECONFLICT, Key: "chronic.already_registered"}
			}
			return wrap("store.SetRegistrationStatus", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return &care.Error{Code: care.ECONFLICT, Key: "chronic.stale"}
		}
		r.Version++
		nu := old
		nu.status, nu.closed = r.Status, r.ClosedOn
		if err := s.moveRegistration(ctx, tx, r.County, r.ID, &old, nu); err != nil {
			return wrap("store.SetRegistrationStatus", err)
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

// Overdue lists active registrations of the clinics whose next visit is
// before today and no call hides them, highest risk first, then most overdue.
func (s *Store) Overdue(ctx context.Context, county string, clinics []int64, today care.Date, limit int) ([]chronic.Overdue, error) {
	if len(clinics) == 0 {
		return nil, nil
	}
	args := append([]any{county}, int64Args(clinics)...)
	args = append(args, today, today, limit)
	// The inner query reads only chronic_reg_overdue (and the calls index);
	// the page's rows are fetched after the sort.
	rows, err := s.read().query(ctx, `SELECT `+prefixCols("g.", registrationCols)+`, r.name, r.phone FROM
		(SELECT x.id, x.risk, x.next_visit FROM chronic_registrations x
			WHERE x.county_code = ? AND x.clinic_id IN (`+placeholders(len(clinics))+`) AND x.status = 'active' AND x.next_visit < ?
			AND NOT EXISTS (SELECT 1 FROM chronic_calls c WHERE c.registration_id = x.id AND c.hide_until > ?)
			ORDER BY x.risk DESC, x.next_visit, x.id LIMIT ?) k
		JOIN chronic_registrations g ON g.id = k.id JOIN residents r ON r.id = g.resident_id
		ORDER BY k.risk DESC, k.next_visit, k.id`, args...)
	if err != nil {
		return nil, wrap("store.Overdue", err)
	}
	defer rows.Close()
	var out []chronic.Overdue
	for rows.Next() {
		var o chronic.Overdue
		if err := scanRegistration(rows, &o.Registration, &o.Name, &o.Phone); err != nil {
			return nil, wrap("store.Overdue", err)
		}
		o.DaysOverdue = int(today.Time().Sub(o.NextVisit.Time()).Hours() / 24)
		out = append(out, o)
	}
	return out, wrap("store.Overdue", rows.Err())
}

// prefixCols qualifies a column list with a table alias.
func prefixCols(p, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}

// SaveCall stores a call outcome.
func (s *Store) SaveCall(ctx context.Context, c *chronic.Call, ev audit.Event) error {
	c.CreatedAt = s.now()
	return s.Transact(ctx, func(tx db) error {
		id, err := tx.insert(ctx, `INSERT INTO chronic_calls (county_code, registration_id, outcome, hide_until, called_by, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			c.County, c.RegistrationID, c.Outcome, c.HideUntil, c.CalledBy, s.ts(c.CreatedAt))
		if err != nil {
			return wrap("store.SaveCall", err)
		}
		c.ID = id
		return s.appendAudit(ctx, tx, ev)
	})
}

const tierChangeCols = `id, county_code, registration_id, resident_id, from_tier, to_tier, reason, to_institution, acknowledged_by, acknowledged_at, created_at`

func scanTierChange(sc interface{ Scan(...any) error }, t *chronic.TierChange) error {
	return sc.Scan(&t.ID, &t.County, &t.RegistrationID, &t.ResidentID, &t.From, &t.To, &t.Reason, &t.ToInstitution, idOf(&t.AcknowledgedBy), tsOf(&t.AcknowledgedAt), tsOf(&t.CreatedAt))
}

func (s *Store) tierChanges(ctx context.Context, op, where string, args ...any) ([]chronic.TierChange, error) {
	rows, err := s.read().query(ctx, `SELECT `+tierChangeCols+` FROM chronic_tier_changes WHERE `+where, args...)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []chronic.TierChange
	for rows.Next() {
		var t chronic.TierChange
		if err := scanTierChange(rows, &t); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, t)
	}
	return out, wrap(op, rows.Err())
}

// Handoffs lists tier changes addressed to an institution (open: not yet acknowledged).
func (s *Store) Handoffs(ctx context.Context, institutionID int64, open bool, limit int) ([]chronic.TierChange, error) {
	where := `to_institution = ?`
	if open {
		where += ` AND acknowledged_at IS NULL`
	}
	return s.tierChanges(ctx, "store.Handoffs", where+` ORDER BY id DESC LIMIT ?`, institutionID, limit)
}

// TierChanges lists a registration's tier history, oldest first.
func (s *Store) TierChanges(ctx context.Context, registrationID int64) ([]chronic.TierChange, error) {
	return s.tierChanges(ctx, "store.TierChanges", `registration_id = ? ORDER BY id`, registrationID)
}

// AcknowledgeHandoff marks a hand-off to institutionID acknowledged.
func (s *Store) AcknowledgeHandoff(ctx context.Context, id, institutionID, by int64, at time.Time, ev audit.Event) error {
	return s.Transact(ctx, func(tx db) error {
		var resID int64
		var county string
		var acked any
		if err := tx.row(ctx, `SELECT resident_id, county_code, acknowledged_at FROM chronic_tier_changes WHERE id = ? AND to_institution = ?`, id, institutionID).Scan(&resID, &county, &acked); err != nil {
			return wrap("store.AcknowledgeHandoff", err)
		}
		if acked != nil {
			return care.Errorf(care.ECONFLICT, "chronic.handoff_acknowledged")
		}
		if _, err := tx.exec(ctx, `UPDATE chronic_tier_changes SET acknowledged_by = ?, acknowledged_at = ? WHERE id = ?`, by, s.ts(at), id); err != nil {
			return wrap("store.AcknowledgeHandoff", err)
		}
		ev.ResidentID, ev.CountyCode = resID, county
		return s.appendAudit(ctx, tx, ev)
	})
}

// TierCounts counts active registrations by clinic and tier.
func (s *Store) TierCounts(ctx context.Context, county string, clinics []int64) (map[int64]map[chronic.Tier]int, error) {
	out := map[int64]map[chronic.Tier]int{}
	if len(clinics) == 0 {
		return out, nil
	}
	rows, err := s.read().query(ctx, `SELECT clinic_id, tier, COUNT(*) FROM chronic_registrations WHERE county_code = ? AND status = 'active'
		AND clinic_id IN (`+placeholders(len(clinics))+`) GROUP BY clinic_id, tier`, append([]any{county}, int64Args(clinics)...)...)
	if err != nil {
		return nil, wrap("store.TierCounts", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var t chronic.Tier
		var n int
		if err := rows.Scan(&id, &t, &n); err != nil {
			return nil, wrap("store.TierCounts", err)
		}
		if out[id] == nil {
			out[id] = map[chronic.Tier]int{}
		}
		out[id][t] = n
	}
	return out, wrap("store.TierCounts", rows.Err())
}

// ChronicPeriod streams the registrations of a county under management in
// [from, to] — registered on or before to and not closed before from — of
// the given clinics (nil: all), each with its visits of the period folded
// in (chronic.PatientPeriod.AddVisit), in registration order.
//
// A calendar year, or a year to date that ends today or later, is read from
// the year summaries (chronic_years: one row per patient); any other period
// from the visits themselves. Both give the same figures.
func (s *Store) ChronicPeriod(ctx context.Context, county string, clinics []int64, from, to care.Date, fn func(*chronic.PatientPeriod) error) error {
	const op = "store.ChronicPeriod"
	if chronic.IsYearPeriod(from, to, care.Today(s.now())) {
		return s.chronicYear(ctx, county, clinics, from, to, fn)
	}
	return s.chronicVisits(ctx, county, clinics, from, to, fn)
}

// chronicVisits is ChronicPeriod computed from the visits of the period.
func (s *Store) chronicVisits(ctx context.Context, county string, clinics []int64, from, to care.Date, fn func(*chronic.PatientPeriod) error) error {
	const op = "store.ChronicPeriod"
	args := []any{from, to, county, to, from}
	where := ""
	if clinics != nil {
		if len(clinics) == 0 {
			return nil
		}
		where = ` AND g.clinic_id IN (` + placeholders(len(clinics)) + `)`
		args = append(args, int64Args(clinics)...)
	}
	rows, err := s.read().query(ctx, `SELECT g.id, g.disease, g.clinic_id, g.status, g.closed_on,
			v.visit_date, v.face_to_face, v.sbp, v.dbp, v.fpg, v.doses_due, v.doses_missed
		FROM chronic_registrations g LEFT JOIN chronic_visits v ON v.registration_id = g.id AND v.visit_date >= ? AND v.visit_date <= ?
		WHERE g.county_code = ? AND g.enrolled_on <= ? AND (g.closed_on IS NULL OR g.closed_on >= ?)`+where+`
		ORDER BY g.id, v.visit_date, v.id`, args...)
	if err != nil {
		return wrap(op, err)
	}
	defer rows.Close()
	var p *chronic.PatientPeriod
	for rows.Next() {
		var id, clinic int64
		var d chronic.Disease
		var status string
		var closed care.Date
		var vd care.Date
		var f2f *bool
		var sbp, dbp, fpg, due, missed *int
		if err := rows.Scan(&id, &d, &clinic, &status, &closed, &vd, &f2f, &sbp, &dbp, &fpg, &due, &missed); err != nil {
			return wrap(op, err)
		}
		if p == nil || p.RegistrationID != id {
			if p != nil {
				if err := fn(p); err != nil {
					return err
				}
			}
			p = &chronic.PatientPeriod{RegistrationID: id, Disease: d, ClinicID: clinic,
				Ended: status == chronic.StatusClosed && !closed.IsZero() && !closed.Before(from) && !closed.After(to)}
		}
		if f2f != nil {
			p.AddVisit(&chronic.Visit{Date: vd, FaceToFace: *f2f, SBP: *sbp, DBP: *dbp, FPG: *fpg, DosesDue: *due, DosesMissed: *missed})
		}
	}
	if err := rows.Err(); err != nil {
		return wrap(op, err)
	}
	if p != nil {
		return fn(p)
	}
	return nil
}

// chronicYear is ChronicPeriod over a whole calendar year, from chronic_years.
func (s *Store) chronicYear(ctx context.Context, county string, clinics []int64, from, to care.Date, fn func(*chronic.PatientPeriod) error) error {
	const op = "store.ChronicPeriod"
	args := []any{from.Year, county, to, from}
	where := ""
	if clinics != nil {
		if len(clinics) == 0 {
			return nil
		}
		where = ` AND g.clinic_id IN (` + placeholders(len(clinics)) + `)`
		args = append(args, int64Args(clinics)...)
	}
	rows, err := s.read().query(ctx, `SELECT g.id, g.disease, g.clinic_id, g.status, g.closed_on,
			COALESCE(y.visits, 0), COALESCE(y.face_to_face, 0), COALESCE(y.last_sbp, 0), COALESCE(y.last_dbp, 0), COALESCE(y.last_fpg, 0),
			COALESCE(y.doses_due, 0), COALESCE(y.doses_missed, 0)
		FROM chronic_registrations g LEFT JOIN chronic_years y ON y.county_code = g.county_code AND y.registration_id = g.id AND y.year = ?
		WHERE g.county_code = ? AND g.enrolled_on <= ? AND (g.closed_on IS NULL OR g.closed_on >= ?)`+where, args...)
	if err != nil {
		return wrap(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		var p chronic.PatientPeriod
		var status string
		var closed care.Date
		if err := rows.Scan(&p.RegistrationID, &p.Disease, &p.ClinicID, &status, &closed, &p.Visits, &p.FaceToFace, &p.LastSBP, &p.LastDBP, &p.LastFPG,
			&p.DosesDue, &p.DosesMissed); err != nil {
			return wrap(op, err)
		}
		p.Ended = status == chronic.StatusClosed && !closed.IsZero() && !closed.Before(from) && !closed.After(to)
		if err := fn(&p); err != nil {
			return err
		}
	}
	return wrap(op, rows.Err())
}

// AdultCounts returns, per village clinic of a county (of the clinics; nil:
// all), the active residents aged minAge or more on day (the base of the
// estimated patient numbers).
func (s *Store) AdultCounts(ctx context.Context, county string, clinics []int64, minAge int, day care.Date) (map[int64]int, error) {
	born := care.DateOf(day.Time().AddDate(-minAge, 0, 0))
	args, where := []any{county, born}, ""
	if clinics != nil {
		if len(clinics) == 0 {
			return map[int64]int{}, nil
		}
		where = ` AND village_id IN (` + placeholders(len(clinics)) + `)`
		args = append(args, int64Args(clinics)...)
	}
	rows, err := s.read().query(ctx, `SELECT village_id, COUNT(*) FROM residents WHERE county_code = ? AND status = 'active' AND birth_date <= ?`+where+` GROUP BY village_id`, args...)
	if err != nil {
		return nil, wrap("store.AdultCounts", err)
	}
	defer rows.Close()
	out := map[int64]int{}
	for rows.Next() {
		var id int64
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, wrap("store.AdultCounts", err)
		}
		out[id] = n
	}
	return out, wrap("store.AdultCounts", rows.Err())
}

// ChronicHistories streams every registration of a county (any status)
// with the resident's birth date and all its visits' readings, oldest first.
// Registrations and visits are read as two ordered streams (the visits in
// a second goroutine, so two cores share the decoding) and merged by
// registration ID.
func (s *Store) ChronicHistories(ctx context.Context, county string, fn func(*chronic.History) error) error {
	const op = "store.ChronicHistories"
	type visitRow struct {
		reg int64
		v   chronic.Visit
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan []visitRow, 16)
	verr := make(chan error, 1)
	go func() {
		defer close(batches)
		rows, err := s.read().query(ctx, `SELECT registration_id, visit_date, face_to_face, sbp, dbp, heart_rate, fpg, temperature, symptoms, adherence, adverse,
				adverse_uncontrollable, complication, pregnant, risk_level, insight, symptomatic, doses_due, doses_missed
			FROM chronic_visits WHERE county_code = ? ORDER BY registration_id, visit_date, id`, county)
		if err != nil {
			verr <- wrap(op, err)
			return
		}
		defer rows.Close()
		batch := make([]visitRow, 0, 1024)
		for rows.Next() {
			var x visitRow
			var syms, adh string
			v := &x.v
			if err := rows.Scan(&x.reg, &v.Date, &v.FaceToFace, &v.SBP, &v.DBP, &v.HeartRate, &v.FPG, &v.Temperature, &syms, &adh, &v.Adverse,
				&v.AdverseUncontrollable, &v.Complication, &v.Pregnant, &v.RiskLevel, &v.Insight, &v.Symptomatic, &v.DosesDue, &v.DosesMissed); err != nil {
				verr <- wrap(op, err)
				return
			}
			v.Adherence = chronic.Adherence(adh)
			for _, sy := range splitList(syms) {
				v.Symptoms = append(v.Symptoms, chronic.Symptom(sy))
			}
			if batch = append(batch, x); len(batch) == cap(batch) {
				select {
				case batches <- batch:
				case <-ctx.Done():
					verr <- ctx.Err()
					return
				}
				batch = make([]visitRow, 0, 1024)
			}
		}
		if err := rows.Err(); err != nil {
			verr <- wrap(op, err)
			return
		}
		if len(batch) > 0 {
			select {
			case batches <- batch:
			case <-ctx.Done():
			}
		}
		verr <- nil
	}()
	var pending []visitRow
	next := func() (*visitRow, bool) {
		for len(pending) == 0 {
			b, ok := <-batches
			if !ok {
				return nil, false
			}
			pending = b
		}
		return &pending[0], true
	}
	rows, err := s.read().query(ctx, `SELECT `+prefixCols("g.", registrationCols)+`, r.birth_date
		FROM chronic_registrations g JOIN residents r ON r.id = g.resident_id WHERE g.county_code = ? ORDER BY g.id`, county)
	if err != nil {
		return wrap(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		h := &chronic.History{}
		if err := scanRegistration(rows, &h.Reg, &h.Birth); err != nil {
			return wrap(op, err)
		}
		for {
			x, ok := next()
			if !ok || x.reg > h.Reg.ID {
				break
			}
			if x.reg == h.Reg.ID {
				h.Visits = append(h.Visits, x.v)
			}
			pending = pending[1:]
		}
		if err := fn(h); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return wrap(op, err)
	}
	rows.Close()
	cancel()
	for range batches {
	}
	if err := <-verr; err != nil && err != context.Canceled {
		return err
	}
	return nil
}

// tierBatch is how many tier moves one transaction saves.
const tierBatch = 2000

// ApplyTierUpdates saves tier moves in batches, each with its hand-off,
// its care link and one audit row; a registration whose version moved on
// since it was read is skipped. It returns how many were applied.
func (s *Store) ApplyTierUpdates(ctx context.Context, us []chronic.TierUpdate, ev audit.Event) (int, error) {
	const op = "store.ApplyTierUpdates"
	applied := 0
	for len(us) > 0 {
		batch := us[:min(tierBatch, len(us))]
		us = us[len(batch):]
		n := 0
		err := s.Transact(ctx, func(tx db) error {
			n = 0
			now := s.now()
			for i := range batch {
				u := &batch[i]
				res, err := tx.exec(ctx, `UPDATE chronic_registrations SET tier = ?, tier_since = ?, version = version + 1, updated_at = ? WHERE id = ? AND version = ? AND status = 'active'`,
					string(u.Tier), u.Since, s.ts(now), u.RegistrationID, u.Version)
				if err != nil {
					return wrap(op, err)
				}
				if k, _ := res.RowsAffected(); k != 1 {
					continue // a follow-up was recorded meanwhile: it set the tier itself
				}
				c := &u.Change
				c.CreatedAt = now
				if c.ID, err = tx.insert(ctx, `INSERT INTO chronic_tier_changes (county_code, registration_id, resident_id, from_tier, to_tier, reason, to_institution, created_at)
					VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, c.County, c.RegistrationID, c.ResidentID, string(c.From), string(c.To), c.Reason, c.ToInstitution, s.ts(now)); err != nil {
					return wrap(op, err)
				}
				if l := u.Link; l != nil {
					l.CreatedAt = now
					if _, err := tx.insert(ctx, `INSERT INTO care_links (county_code, resident_id, institution_id, kind, reason, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
						l.CountyCode, l.ResidentID, l.InstitutionID, l.Kind, l.Reason, l.CreatedBy, s.ts(now)); err != nil {
						return wrap(op, err)
					}
				}
				n++
			}
			e := ev
			e.Detail = fmt.Sprintf("%s (batch: %d applied of %d)", ev.Detail, n, len(batch))
			return s.appendAudit(ctx, tx, e)
		})
		if err != nil {
			return applied, err
		}
		applied += n
	}
	return applied, nil
}

// addToYear folds a new visit into its registration's year summary
// (chronic_years): counts add up; the last readings move only for a visit
// dated on or after the ones they came from.
// It returns the row's figures before and after.
func (s *Store) addToYear(ctx context.Context, tx db, v *chronic.Visit, county string, registrationID int64) (before, after yearRow, err error) {
	err = tx.row(ctx, `SELECT visits, face_to_face, last_sbp, last_dbp, last_fpg, doses_due, doses_missed FROM chronic_years
		WHERE county_code = ? AND registration_id = ? AND year = ?`, county, registrationID, v.Date.Year).Scan(
		&before.visits, &before.f2f, &before.sbp, &before.dbp, &before.fpg, &before.due, &before.missed)
	if err != nil && !care.IsCode(mapErr(err), care.ENOTFOUND) {
		return before, after, err
	}
	f2f := 0
	if v.FaceToFace {
		f2f = 1
	}
	var bpDate, fpgDate any
	if v.SBP > 0 {
		bpDate = v.Date
	}
	if v.FPG > 0 {
		fpgDate = v.Date
	}
	err = tx.row(ctx, `INSERT INTO chronic_years (county_code, registration_id, year, visits, face_to_face, last_bp_date, last_sbp, last_dbp,
			last_fpg_date, last_fpg, doses_due, doses_missed) VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (county_code, registration_id, year) DO UPDATE SET visits = chronic_years.visits + 1,
			face_to_face = chronic_years.face_to_face + excluded.face_to_face,
			last_sbp = CASE WHEN excluded.last_bp_date IS NOT NULL AND (chronic_years.last_bp_date IS NULL OR excluded.last_bp_date >= chronic_years.last_bp_date)
				THEN excluded.last_sbp ELSE chronic_years.last_sbp END,
			last_dbp = CASE WHEN excluded.last_bp_date IS NOT NULL AND (chronic_years.last_bp_date IS NULL OR excluded.last_bp_date >= chronic_years.last_bp_date)
				THEN excluded.last_dbp ELSE chronic_years.last_dbp END,
			last_bp_date = CASE WHEN excluded.last_bp_date IS NOT NULL AND (chronic_years.last_bp_date IS NULL OR excluded.last_bp_date >= chronic_years.last_bp_date)
				THEN excluded.last_bp_date ELSE chronic_years.last_bp_date END,
			last_fpg = CASE WHEN excluded.last_fpg_date IS NOT NULL AND (chronic_years.last_fpg_date IS NULL OR excluded.last_fpg_date >= chronic_years.last_fpg_date)
				THEN excluded.last_fpg ELSE chronic_years.last_fpg END,
			last_fpg_date = CASE WHEN excluded.last_fpg_date IS NOT NULL AND (chronic_years.last_fpg_date IS NULL OR excluded.last_fpg_date >= chronic_years.last_fpg_date)
				THEN excluded.last_fpg_date ELSE chronic_years.last_fpg_date END,
			doses_due = chronic_years.doses_due + excluded.doses_due, doses_missed = chronic_years.doses_missed + excluded.doses_missed
		RETURNING visits, face_to_face, last_sbp, last_dbp, last_fpg, doses_due, doses_missed`,
		county, registrationID, v.Date.Year, f2f, bpDate, v.SBP, v.DBP, fpgDate, v.FPG, v.DosesDue, v.DosesMissed).Scan(
		&after.visits, &after.f2f, &after.sbp, &after.dbp, &after.fpg, &after.due, &after.missed)
	return before, after, err
}

// yearSummary accumulates one registration-year for RebuildChronicYears.
type yearSummary struct {
	county              string
	reg                 int64
	year                int
	visits, f2f         int
	bpDate, fpgDate     care.Date
	sbp, dbp, fpg       int
	dosesDue, dosesMiss int
}

// RebuildChronicYears rewrites a county's chronic_years from its visits in
// one transaction (readers see the old summaries or the new, never half).
func (s *Store) RebuildChronicYears(ctx context.Context, county string) error {
	const op = "store.RebuildChronicYears"
	rows, err := s.read().query(ctx, `SELECT registration_id, visit_date, face_to_face, sbp, dbp, fpg, doses_due, doses_missed
		FROM chronic_visits WHERE county_code = ? ORDER BY registration_id, visit_date, id`, county)
	if err != nil {
		return wrap(op, err)
	}
	var ys []yearSummary
	for rows.Next() {
		var reg int64
		var d care.Date
		var f2f bool
		var sbp, dbp, fpg, due, missed int
		if err := rows.Scan(&reg, &d, &f2f, &sbp, &dbp, &fpg, &due, &missed); err != nil {
			rows.Close()
			return wrap(op, err)
		}
		if n := len(ys); n == 0 || ys[n-1].reg != reg || ys[n-1].year != d.Year {
			ys = append(ys, yearSummary{county: county, reg: reg, year: d.Year})
		}
		y := &ys[len(ys)-1]
		y.visits++
		if f2f {
			y.f2f++
		}
		if sbp > 0 {
			y.bpDate, y.sbp, y.dbp = d, sbp, dbp
		}
		if fpg > 0 {
			y.fpgDate, y.fpg = d, fpg
		}
		y.dosesDue, y.dosesMiss = y.dosesDue+due, y.dosesMiss+missed
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return wrap(op, err)
	}
	units, years, err := s.rebuildUnits(ctx, county, ys)
	if err != nil {
		return wrap(op, err)
	}
	date := func(d care.Date) any {
		if d.IsZero() {
			return nil
		}
		return d
	}
	return s.Transact(ctx, func(tx db) error {
		if _, err := tx.exec(ctx, `DELETE FROM chronic_years WHERE county_code = ?`, county); err != nil {
			return wrap(op, err)
		}
		if _, err := tx.exec(ctx, `DELETE FROM chronic_unit_years WHERE county_code = ?`, county); err != nil {
			return wrap(op, err)
		}
		for _, y := range years {
			if _, err := tx.exec(ctx, `INSERT INTO chronic_unit_years (county_code, clinic_id, disease, year) VALUES (?, 0, '', ?)`, county, y); err != nil {
				return wrap(op, err)
			}
		}
		if err := insertUnits(ctx, tx, county, units); err != nil {
			return wrap(op, err)
		}
		const per = 100 // rows per INSERT
		for len(ys) > 0 {
			chunk := ys[:min(per, len(ys))]
			ys = ys[len(chunk):]
			var sb strings.Builder
			args := make([]any, 0, len(chunk)*12)
			sb.WriteString(`INSERT INTO chronic_years (county_code, registration_id, year, visits, face_to_face, last_bp_date, last_sbp, last_dbp, last_fpg_date, last_fpg, doses_due, doses_missed) VALUES `)
			for i, y := range chunk {
				if i > 0 {
					sb.WriteString(", ")
				}
				sb.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
				args = append(args, y.county, y.reg, y.year, y.visits, y.f2f, date(y.bpDate), y.sbp, y.dbp, date(y.fpgDate), y.fpg, y.dosesDue, y.dosesMiss)
			}
			if _, err := tx.exec(ctx, sb.String(), args...); err != nil {
				return wrap(op, err)
			}
		}
		return nil
	})
}

// rebuildUnits computes a county's per-unit counters for every year with
// visits and the current year from the rebuilt year summaries ys.
func (s *Store) rebuildUnits(ctx context.Context, county string, ys []yearSummary) ([]*chronic.UnitYear, []int, error) {
	type regYear struct {
		reg  int64
		year int
	}
	byReg := make(map[regYear]*yearSummary, len(ys))
	years := map[int]bool{care.Today(s.now()).Year: true}
	for i := range ys {
		byReg[regYear{ys[i].reg, ys[i].year}] = &ys[i]
		years[ys[i].year] = true
	}
	var ylist []int
	for y := range years {
		ylist = append(ylist, y)
	}
	sort.Ints(ylist)
	rows, err := s.read().query(ctx, `SELECT id, clinic_id, disease, status, enrolled_on, closed_on FROM chronic_registrations WHERE county_code = ?`, county)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var acc unitAcc
	for rows.Next() {
		var id int64
		var r unitReg
		if err := rows.Scan(&id, &r.clinic, &r.disease, &r.status, &r.enrolled, &r.closed); err != nil {
			return nil, nil, err
		}
		for _, y := range ylist {
			var yr yearRow
			if x := byReg[regYear{id, y}]; x != nil {
				yr = yearRow{visits: x.visits, f2f: x.f2f, sbp: x.sbp, dbp: x.dbp, fpg: x.fpg, due: x.dosesDue, missed: x.dosesMiss}
			}
			if u := s.unitOf(r, yr, y); u.Managed != 0 {
				acc.add(u)
			}
		}
	}
	return acc.list, ylist, rows.Err()
}
