package store

import (
	"context"
	"strings"

	"countycare/audit"
	"countycare/care"
	"countycare/maternal"
)

const pregnancyCols = `p.id, p.county_code, p.resident_id, p.managed_by, p.clinic_id, p.lmp, p.edd, p.registered_on, p.registered_by,
	p.gravida, p.parity, p.height_mm, p.weight_g, p.factors, p.colour, p.purple, p.status, p.delivered_on, p.discharged_on,
	p.delivery_mode, p.outcome, p.baby_weight_g, p.next_kind, p.next_from, p.next_due, p.version`

func scanPregnancy(sc interface{ Scan(...any) error }, p *maternal.Pregnancy, extra ...any) error {
	var factors string
	var purple int
	err := sc.Scan(append([]any{&p.ID, &p.CountyCode, &p.ResidentID, &p.ManagedBy, &p.ClinicID, &p.LMP, &p.EDD, &p.RegisteredOn, &p.RegisteredBy,
		&p.Gravida, &p.Parity, &p.HeightMM, &p.WeightG, &factors, &p.Colour, &purple, &p.Status, &p.DeliveredOn, &p.DischargedOn,
		&p.DeliveryMode, &p.Outcome, &p.BabyWeightG, &p.NextKind, &p.NextFrom, &p.NextDue, &p.Version}, extra...)...)
	p.Factors, p.Purple = splitCodes(factors), purple == 1
	return err
}

// splitCodes reads a comma-separated list of codes (nil for none).
func splitCodes(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// CreatePregnancy stores a registration and its audit row in one
// transaction. Errors: ECONFLICT maternal.open_exists.
func (s *Store) CreatePregnancy(ctx context.Context, p *maternal.Pregnancy, ev audit.Event) error {
	const op = "store.CreatePregnancy"
	return s.Transact(ctx, func(tx db) error {
		id, err := tx.insert(ctx, `INSERT INTO mch_pregnancies (county_code, resident_id, managed_by, clinic_id, lmp, edd, registered_on,
			registered_by, gravida, parity, height_mm, weight_g, factors, colour, purple, status, next_kind, next_from, next_due, version, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			p.CountyCode, p.ResidentID, p.ManagedBy, p.ClinicID, p.LMP, p.EDD, p.RegisteredOn, p.RegisteredBy, p.Gravida, p.Parity,
			p.HeightMM, p.WeightG, strings.Join(p.Factors, ","), string(p.Colour), boolInt(p.Purple), string(p.Status), string(p.NextKind),
			p.NextFrom, p.NextDue, p.Version, s.ts(s.now()))
		if err != nil {
			if care.IsCode(mapErr(err), care.ECONFLICT) {
				return &care.Error{Code: care.ECONFLICT, Key: "maternal.open_exists", Op: op, Err: err}
			}
			return wrap(op, err)
		}
		p.ID = id
		return s.appendAudit(ctx, tx, ev)
	})
}

// Pregnancy reads one pregnancy of a county.
func (s *Store) Pregnancy(ctx context.Context, county string, id int64) (*maternal.Pregnancy, error) {
	var p maternal.Pregnancy
	if err := scanPregnancy(s.read().row(ctx, `SELECT `+pregnancyCols+` FROM mch_pregnancies p WHERE p.county_code = ? AND p.id = ?`, county, id), &p); err != nil {
		return nil, wrap("store.Pregnancy", err)
	}
	return &p, nil
}

// PregnanciesOf lists a resident's pregnancies, newest first.
func (s *Store) PregnanciesOf(ctx context.Context, county string, residentID int64) ([]maternal.Pregnancy, error) {
	return s.pregnancies(ctx, "store.PregnanciesOf", `SELECT `+pregnancyCols+`, '', '' FROM mch_pregnancies p
		WHERE p.county_code = ? AND p.resident_id = ? ORDER BY p.lmp DESC, p.id DESC`, county, residentID)
}

func (s *Store) pregnancies(ctx context.Context, op, q string, args ...any) ([]maternal.Pregnancy, error) {
	rows, err := s.read().query(ctx, q, args...)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []maternal.Pregnancy
	for rows.Next() {
		var p maternal.Pregnancy
		if err := scanPregnancy(rows, &p, &p.Name, &p.Phone); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, p)
	}
	return out, wrap(op, rows.Err())
}

// PregnancyVisits lists a pregnancy's visits in the programme's order.
func (s *Store) PregnancyVisits(ctx context.Context, id int64) ([]maternal.Visit, error) {
	const op = "store.PregnancyVisits"
	rows, err := s.read().query(ctx, `SELECT id, county_code, pregnancy_id, resident_id, kind, date, gest_days, weight_g, sbp, dbp, fundal_mm,
		fetal_hr, hb_gl, factors, colour, note, clinic_id, by_account, created_at FROM mch_visits WHERE pregnancy_id = ? ORDER BY date, id`, id)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []maternal.Visit
	for rows.Next() {
		var v maternal.Visit
		var factors string
		if err := rows.Scan(&v.ID, &v.CountyCode, &v.PregnancyID, &v.ResidentID, &v.Kind, &v.Date, &v.GestDays, &v.WeightG, &v.SBP, &v.DBP,
			&v.FundalMM, &v.FetalHR, &v.HbGL, &factors, &v.Colour, &v.Note, &v.ClinicID, &v.By, tsOf(&v.CreatedAt)); err != nil {
			return nil, wrap(op, err)
		}
		v.Factors = splitCodes(factors)
		out = append(out, v)
	}
	return out, wrap(op, rows.Err())
}

// UpdatePregnancy stores p from the version it was read at and, with v,
// the visit, then the audit row, in one transaction. Errors: ECONFLICT
// maternal.stale, maternal.kind_done.
func (s *Store) UpdatePregnancy(ctx context.Context, p *maternal.Pregnancy, v *maternal.Visit, ev audit.Event) error {
	const op = "store.UpdatePregnancy"
	return s.Transact(ctx, func(tx db) error {
		res, err := tx.exec(ctx, `UPDATE mch_pregnancies SET factors = ?, colour = ?, purple = ?, status = ?, delivered_on = ?, discharged_on = ?,
			delivery_mode = ?, outcome = ?, baby_weight_g = ?, next_kind = ?, next_from = ?, next_due = ?, version = version + 1
			WHERE county_code = ? AND id = ? AND version = ?`,
			strings.Join(p.Factors, ","), string(p.Colour), boolInt(p.Purple), string(p.Status), p.DeliveredOn, p.DischargedOn,
			p.DeliveryMode, p.Outcome, p.BabyWeightG, string(p.NextKind), p.NextFrom, p.NextDue, p.CountyCode, p.ID, p.Version)
		if err != nil {
			return wrap(op, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return &care.Error{Code: care.ECONFLICT, Key: "maternal.stale", Op: op}
		}
		if v != nil {
			id, err := tx.insert(ctx, `INSERT INTO mch_visits (county_code, pregnancy_id, resident_id, kind, date, gest_days, weight_g, sbp, dbp,
				fundal_mm, fetal_hr, hb_gl, factors, colour, note, clinic_id, by_account, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				v.CountyCode, v.PregnancyID, v.ResidentID, string(v.Kind), v.Date, v.GestDays, v.WeightG, v.SBP, v.DBP, v.FundalMM, v.FetalHR, v.HbGL,
				strings.Join(v.Factors, ","), string(v.Colour), v.Note, v.ClinicID, v.By, s.ts(v.CreatedAt))
			if err != nil {
				if care.IsCode(mapErr(err), care.ECONFLICT) {
					return &care.Error{Code: care.ECONFLICT, Key: "maternal.kind_done", Op: op, Err: err}
				}
				return wrap(op, err)
			}
			v.ID = id
		}
		if err := s.appendAudit(ctx, tx, ev); err != nil {
			return err
		}
		p.Version++
		return nil
	})
}

// OverduePregnancies lists the pregnancies managed by the clinics whose
// next visit's window closed before today, most overdue first, with the
// woman's name and phone.
func (s *Store) OverduePregnancies(ctx context.Context, county string, clinics []int64, today care.Date, limit int) ([]maternal.Pregnancy, error) {
	if len(clinics) == 0 {
		return nil, nil
	}
	args := append(int64Args(clinics), today, county, limit)
	return s.pregnancies(ctx, "store.OverduePregnancies", `SELECT `+pregnancyCols+`, r.name, r.phone FROM mch_pregnancies p
		JOIN residents r ON r.id = p.resident_id
		WHERE p.managed_by IN (`+placeholders(len(clinics))+`) AND p.next_due IS NOT NULL AND p.next_due < ? AND p.county_code = ?
		ORDER BY p.next_due, p.id LIMIT ?`, args...)
}

// HighRiskPregnancies lists a county's open pregnancies of the colours,
// red first, then by due date.
func (s *Store) HighRiskPregnancies(ctx context.Context, county string, colours []maternal.Colour, limit int) ([]maternal.Pregnancy, error) {
	if len(colours) == 0 {
		return nil, nil
	}
	args := []any{county}
	for _, c := range colours {
		args = append(args, string(c))
	}
	args = append(args, limit)
	return s.pregnancies(ctx, "store.HighRiskPregnancies", `SELECT `+pregnancyCols+`, r.name, r.phone FROM mch_pregnancies p
		JOIN residents r ON r.id = p.resident_id
		WHERE p.county_code = ? AND p.colour IN (`+placeholders(len(colours))+`) AND p.status = 'open'
		ORDER BY CASE p.colour WHEN 'red' THEN 0 ELSE 1 END, p.edd, p.id LIMIT ?`, args...)
}
