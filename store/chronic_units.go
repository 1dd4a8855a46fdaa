package store

import (
	"context"
	"strings"

	"countycare/care"
	"countycare/chronic"
)

// Per-unit counters (chronic_unit_years, chronic.UnitYear): one row per
// village clinic, disease and calendar year, moved by the same transaction
// as each follow-up (SaveVisit), enrolment (Enroll) and status change
// (SetRegistrationStatus). Each mutation
//
//  1. makes sure the years it touches have counters (ensureUnitYear: the
//     county's marker row, and on its first insert the year's counters
//     computed from chronic_registrations and chronic_years — before the
//     mutation, so that the delta below is not counted twice);
//  2. changes the registration or its year summary;
//  3. adds the patient's contribution after minus before (unitOf) to the
//     clinic's row of every year that has counters.
//
// On PostgreSQL an advisory lock per county orders the creation of a year's
// counters against the changes in flight (ensureUnitYear).

var defaultChronicConfig = chronic.DefaultConfig()

// SetChronicConfig sets the control targets the per-unit counters count
// "controlled" by (default chronic.DefaultConfig()). After changing them run
// a recompute with --apply, which rebuilds the counters.
func (s *Store) SetChronicConfig(c chronic.Config) { s.chronicCfg.Store(&c) }

func (s *Store) chronicConfig() chronic.Config {
	if c := s.chronicCfg.Load(); c != nil {
		return *c
	}
	return defaultChronicConfig
}

// unitReg is what the counters need of a registration.
type unitReg struct {
	clinic   int64
	disease  chronic.Disease
	status   string
	enrolled care.Date
	closed   care.Date
}

func unitRegOf(r *chronic.Registration) unitReg {
	return unitReg{clinic: r.ClinicID, disease: r.Disease, status: r.Status, enrolled: r.EnrolledOn, closed: r.ClosedOn}
}

// yearRow is what the counters need of a chronic_years row.
type yearRow struct {
	visits, f2f, sbp, dbp, fpg, due, missed int
}

// unitOf is one registration's contribution to its clinic's counters of a year.
func (s *Store) unitOf(r unitReg, y yearRow, year int) chronic.UnitYear {
	u := chronic.UnitYear{ClinicID: r.clinic, Disease: r.disease, Year: year}
	from, to := care.Date{Year: year, Month: 1, Day: 1}, care.Date{Year: year, Month: 12, Day: 31}
	if !chronic.UnderManagement(r.enrolled, r.closed, from, to) {
		return u
	}
	p := chronic.PatientPeriod{Disease: r.disease, ClinicID: r.clinic, Visits: y.visits, FaceToFace: y.f2f, LastSBP: y.sbp, LastDBP: y.dbp, LastFPG: y.fpg,
		DosesDue: y.due, DosesMissed: y.missed,
		Ended: r.status == chronic.StatusClosed && !r.closed.IsZero() && !r.closed.Before(from) && !r.closed.After(to)}
	u.Count(&p, s.chronicConfig(), 1)
	return u
}

const unitCols = `managed, f0, f1, f2, f3, f4, f5, f6, f7, f8plus, controlled, measured, ended, ended_regular`

func unitArgs(county string, u *chronic.UnitYear) []any {
	a := []any{county, u.ClinicID, string(u.Disease), u.Year, u.Managed}
	for _, n := range u.FaceToFace {
		a = append(a, n)
	}
	return append(a, u.Controlled, u.Measured, u.Ended, u.EndedRegular)
}

const unitPlaceholders = `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// addUnit adds a delta to a clinic's counters (creating the row).
func addUnit(ctx context.Context, tx db, county string, d *chronic.UnitYear) error {
	if d.IsZero() {
		return nil
	}
	var set strings.Builder
	for i, c := range strings.Split(unitCols, ", ") {
		if i > 0 {
			set.WriteString(", ")
		}
		set.WriteString(c + " = chronic_unit_years." + c + " + excluded." + c)
	}
	_, err := tx.exec(ctx, `INSERT INTO chronic_unit_years (county_code, clinic_id, disease, year, `+unitCols+`) VALUES `+unitPlaceholders+`
		ON CONFLICT (county_code, clinic_id, disease, year) DO UPDATE SET `+set.String(), unitArgs(county, d)...)
	return err
}

// insertUnits writes counters rows (none may exist).
func insertUnits(ctx context.Context, tx db, county string, us []*chronic.UnitYear) error {
	const per = 50
	for len(us) > 0 {
		chunk := us[:min(per, len(us))]
		us = us[len(chunk):]
		var sb strings.Builder
		args := make([]any, 0, len(chunk)*18)
		sb.WriteString(`INSERT INTO chronic_unit_years (county_code, clinic_id, disease, year, ` + unitCols + `) VALUES `)
		for i, u := range chunk {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString(unitPlaceholders)
			args = append(args, unitArgs(county, u)...)
		}
		if _, err := tx.exec(ctx, sb.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

type unitKey struct {
	clinic  int64
	disease chronic.Disease
	year    int
}

// unitAcc accumulates counters rows.
type unitAcc struct {
	m    map[unitKey]*chronic.UnitYear
	list []*chronic.UnitYear
}

func (a *unitAcc) add(u chronic.UnitYear) {
	if a.m == nil {
		a.m = map[unitKey]*chronic.UnitYear{}
	}
	k := unitKey{u.ClinicID, u.Disease, u.Year}
	x := a.m[k]
	if x == nil {
		x = &chronic.UnitYear{ClinicID: u.ClinicID, Disease: u.Disease, Year: u.Year}
		a.m[k] = x
		a.list = append(a.list, x)
	}
	x.Managed += u.Managed
	for i := range x.FaceToFace {
		x.FaceToFace[i] += u.FaceToFace[i]
	}
	x.Controlled += u.Controlled
	x.Measured += u.Measured
	x.Ended += u.Ended
	x.EndedRegular += u.EndedRegular
}

// ensureUnitYear makes sure a county's year has counters: the first
// transaction that inserts the year's marker computes them from the
// registrations and year summaries as they are before its own change.
//
// On PostgreSQL every transaction that moves counters first holds the
// county's counters lock shared, and the one that creates a year holds it
// exclusively: a creation waits for the changes in flight and computes from
// them committed, and a change that starts during a creation waits for it and
// then sees the new year. Call it first in a transaction, before any change.
func (s *Store) ensureUnitYear(ctx context.Context, tx db, county string, year int) error {
	if s.dialect == Postgres {
		var one int
		err := tx.row(ctx, `SELECT 1 FROM chronic_unit_years WHERE county_code = ? AND clinic_id = 0 AND disease = '' AND year = ?`, county, year).Scan(&one)
		if err == nil {
			_, err = tx.exec(ctx, `SELECT pg_advisory_xact_lock_shared(hashtext(?))`, "chronic-units:"+county)
			return err
		}
		if !care.IsCode(mapErr(err), care.ENOTFOUND) {
			return err
		}
		if _, err := tx.exec(ctx, `SELECT pg_advisory_xact_lock(hashtext(?))`, "chronic-units:"+county); err != nil {
			return err
		}
	}
	res, err := tx.exec(ctx, `INSERT INTO chronic_unit_years (county_code, clinic_id, disease, year) VALUES (?, 0, '', ?) ON CONFLICT DO NOTHING`, county, year)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
	}
	if _, err := tx.exec(ctx, `DELETE FROM chronic_unit_years WHERE county_code = ? AND year = ? AND clinic_id <> 0`, county, year); err != nil {
		return err
	}
	from, to := care.Date{Year: year, Month: 1, Day: 1}, care.Date{Year: year, Month: 12, Day: 31}
	rows, err := tx.query(ctx, `SELECT g.clinic_id, g.disease, g.status, g.enrolled_on, g.closed_on,
			COALESCE(y.visits, 0), COALESCE(y.face_to_face, 0), COALESCE(y.last_sbp, 0), COALESCE(y.last_dbp, 0), COALESCE(y.last_fpg, 0),
			COALESCE(y.doses_due, 0), COALESCE(y.doses_missed, 0)
		FROM chronic_registrations g LEFT JOIN chronic_years y ON y.county_code = g.county_code AND y.registration_id = g.id AND y.year = ?
		WHERE g.county_code = ? AND g.enrolled_on <= ? AND (g.closed_on IS NULL OR g.closed_on >= ?)`, year, county, to, from)
	if err != nil {
		return err
	}
	var acc unitAcc
	for rows.Next() {
		var r unitReg
		var y yearRow
		if err := rows.Scan(&r.clinic, &r.disease, &r.status, &r.enrolled, &r.closed, &y.visits, &y.f2f, &y.sbp, &y.dbp, &y.fpg, &y.due, &y.missed); err != nil {
			rows.Close()
			return err
		}
		acc.add(s.unitOf(r, y, year))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	return insertUnits(ctx, tx, county, acc.list)
}

// unitYears lists the years of a county that have counters.
func unitYears(ctx context.Context, tx db, county string) ([]int, error) {
	rows, err := tx.query(ctx, `SELECT year FROM chronic_unit_years WHERE county_code = ? AND clinic_id = 0 AND disease = ''`, county)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var y int
		if err := rows.Scan(&y); err != nil {
			return nil, err
		}
		out = append(out, y)
	}
	return out, rows.Err()
}

// yearRows returns a registration's year summaries by year.
func yearRows(ctx context.Context, tx db, county string, registrationID int64) (map[int]yearRow, error) {
	rows, err := tx.query(ctx, `SELECT year, visits, face_to_face, last_sbp, last_dbp, last_fpg, doses_due, doses_missed FROM chronic_years
		WHERE county_code = ? AND registration_id = ?`, county, registrationID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int]yearRow{}
	for rows.Next() {
		var yr int
		var y yearRow
		if err := rows.Scan(&yr, &y.visits, &y.f2f, &y.sbp, &y.dbp, &y.fpg, &y.due, &y.missed); err != nil {
			return nil, err
		}
		out[yr] = y
	}
	return out, rows.Err()
}

// moveRegistration applies a registration's change (before → after; nil
// before: a new registration), its year summaries unchanged, to the
// counters of every year that has them.
func (s *Store) moveRegistration(ctx context.Context, tx db, county string, registrationID int64, before *unitReg, after unitReg) error {
	years, err := unitYears(ctx, tx, county)
	if err != nil {
		return err
	}
	ys, err := yearRows(ctx, tx, county, registrationID)
	if err != nil {
		return err
	}
	for _, y := range years {
		a := s.unitOf(after, ys[y], y)
		if before == nil {
			if err := addUnit(ctx, tx, county, &a); err != nil {
				return err
			}
			continue
		}
		b := s.unitOf(*before, ys[y], y)
		if b.ClinicID == a.ClinicID && b.Disease == a.Disease {
			d := a.Sub(b)
			if err := addUnit(ctx, tx, county, &d); err != nil {
				return err
			}
			continue
		}
		nb := chronic.UnitYear{ClinicID: b.ClinicID, Disease: b.Disease, Year: y}.Sub(b)
		if err := addUnit(ctx, tx, county, &nb); err != nil {
			return err
		}
		if err := addUnit(ctx, tx, county, &a); err != nil {
			return err
		}
	}
	return nil
}

// ChronicUnitYears streams the counters of a calendar year of the clinics
// (nil: the whole county); a year without counters has them computed first.
func (s *Store) ChronicUnitYears(ctx context.Context, county string, clinics []int64, year int, fn func(*chronic.UnitYear) error) error {
	const op = "store.ChronicUnitYears"
	if clinics != nil && len(clinics) == 0 {
		return nil
	}
	var one int
	err := s.read().row(ctx, `SELECT 1 FROM chronic_unit_years WHERE county_code = ? AND clinic_id = 0 AND disease = '' AND year = ?`, county, year).Scan(&one)
	if err != nil {
		if !care.IsCode(mapErr(err), care.ENOTFOUND) {
			return wrap(op, err)
		}
		if err := s.Transact(ctx, func(tx db) error { return s.ensureUnitYear(ctx, tx, county, year) }); err != nil {
			return wrap(op, err)
		}
	}
	args, where := []any{county, year}, ` AND clinic_id <> 0`
	if clinics != nil {
		where = ` AND clinic_id IN (` + placeholders(len(clinics)) + `)`
		args = append(args, int64Args(clinics)...)
	}
	rows, err := s.read().query(ctx, `SELECT clinic_id, disease, `+unitCols+` FROM chronic_unit_years WHERE county_code = ? AND year = ?`+where, args...)
	if err != nil {
		return wrap(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		u := chronic.UnitYear{Year: year}
		f := &u.FaceToFace
		if err := rows.Scan(&u.ClinicID, &u.Disease, &u.Managed, &f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6], &f[7], &f[8],
			&u.Controlled, &u.Measured, &u.Ended, &u.EndedRegular); err != nil {
			return wrap(op, err)
		}
		if err := fn(&u); err != nil {
			return err
		}
	}
	return wrap(op, rows.Err())
}
