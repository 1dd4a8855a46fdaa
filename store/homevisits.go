package store

import (
	"context"
	"strings"

	"countycare/audit"
	"countycare/care"
	"countycare/homevisit"
)

const homeVisitCols = `v.id, v.county_code, v.resident_id, v.village_id, v.reason, v.requested_by, v.by_resident, v.requested_at, v.status, v.team_id,
	v.practitioner_id, v.scheduled_on, v.scheduled_at, v.visited_on, v.services, v.sbp, v.dbp, v.pulse, v.temp_dc, v.glucose_dmmol, v.note,
	v.cancel_reason, v.closed_by, v.version`

func scanHomeVisit(sc interface{ Scan(...any) error }, v *homevisit.Visit, extra ...any) error {
	var byRes int
	var svcs string
	err := sc.Scan(append([]any{&v.ID, &v.CountyCode, &v.ResidentID, &v.VillageID, &v.Reason, &v.RequestedBy, &byRes, tsOf(&v.RequestedAt), &v.Status,
		&v.TeamID, &v.PractitionerID, &v.ScheduledOn, tsOf(&v.ScheduledAt), &v.VisitedOn, &svcs, &v.SBP, &v.DBP, &v.Pulse, &v.TempDC,
		&v.GlucoseDmmol, &v.Note, &v.CancelReason, &v.ClosedBy, &v.Version}, extra...)...)
	v.ByResident, v.Services = byRes == 1, splitCodes(svcs)
	return err
}

// CreateHomeVisit stores a request with its audit row. Errors: ECONFLICT
// homevisit.open_exists.
func (s *Store) CreateHomeVisit(ctx context.Context, v *homevisit.Visit, ev audit.Event) error {
	const op = "store.CreateHomeVisit"
	return s.Transact(ctx, func(tx db) error {
		id, err := tx.insert(ctx, `INSERT INTO home_visits (county_code, resident_id, village_id, reason, requested_by, by_resident, requested_at,
			status, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			v.CountyCode, v.ResidentID, v.VillageID, v.Reason, v.RequestedBy, boolInt(v.ByResident), s.ts(v.RequestedAt), string(v.Status), v.Version)
		if err != nil {
			if care.IsCode(mapErr(err), care.ECONFLICT) {
				return &care.Error{Code: care.ECONFLICT, Key: "homevisit.open_exists", Op: op, Err: err}
			}
			return wrap(op, err)
		}
		v.ID = id
		return s.appendAudit(ctx, tx, ev)
	})
}

// HomeVisit reads one visit of a county.
func (s *Store) HomeVisit(ctx context.Context, county string, id int64) (*homevisit.Visit, error) {
	const op = "store.HomeVisit"
	var v homevisit.Visit
	if err := scanHomeVisit(s.read().row(ctx, `SELECT `+homeVisitCols+` FROM home_visits v WHERE v.county_code = ? AND v.id = ?`, county, id), &v); err != nil {
		if care.IsCode(mapErr(err), care.ENOTFOUND) {
			return nil, &care.Error{Code: care.ENOTFOUND, Key: "homevisit.not_found", Op: op, Err: err}
		}
		return nil, wrap(op, err)
	}
	return &v, nil
}

// UpdateHomeVisit stores v's schedule, record or cancellation if it is
// still at v.Version, with its audit row. Errors: ECONFLICT homevisit.stale.
func (s *Store) UpdateHomeVisit(ctx context.Context, v *homevisit.Visit, ev audit.Event) error {
	const op = "store.UpdateHomeVisit"
	return s.Transact(ctx, func(tx db) error {
		res, err := tx.exec(ctx, `UPDATE home_visits SET status = ?, team_id = ?, practitioner_id = ?, scheduled_on = ?, scheduled_at = ?,
			visited_on = ?, services = ?, sbp = ?, dbp = ?, pulse = ?, temp_dc = ?, glucose_dmmol = ?, note = ?, cancel_reason = ?, closed_by = ?,
			version = version + 1 WHERE county_code = ? AND id = ? AND version = ?`,
			string(v.Status), v.TeamID, v.PractitionerID, v.ScheduledOn, s.ts(v.ScheduledAt), v.VisitedOn, strings.Join(v.Services, ","),
			v.SBP, v.DBP, v.Pulse, v.TempDC, v.GlucoseDmmol, v.Note, v.CancelReason, v.ClosedBy, v.CountyCode, v.ID, v.Version)
		if err != nil {
			return wrap(op, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return &care.Error{Code: care.ECONFLICT, Key: "homevisit.stale", Op: op}
		}
		if err := s.appendAudit(ctx, tx, ev); err != nil {
			return err
		}
		v.Version++
		return nil
	})
}

func (s *Store) homeVisits(ctx context.Context, op, q string, args ...any) ([]homevisit.Visit, error) {
	rows, err := s.read().query(ctx, q, args...)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []homevisit.Visit
	for rows.Next() {
		var v homevisit.Visit
		if err := scanHomeVisit(rows, &v, &v.Name, &v.Practitioner); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, v)
	}
	return out, wrap(op, rows.Err())
}

// HomeVisitsOf lists a resident's visits, newest first.
func (s *Store) HomeVisitsOf(ctx context.Context, county string, residentID int64) ([]homevisit.Visit, error) {
	return s.homeVisits(ctx, "store.HomeVisitsOf", `SELECT `+homeVisitCols+`, r.name, COALESCE(pr.name, '') FROM home_visits v
		JOIN residents r ON r.county_code = v.county_code AND r.id = v.resident_id
		LEFT JOIN practitioners pr ON pr.id = v.practitioner_id
		WHERE v.county_code = ? AND v.resident_id = ? ORDER BY v.requested_at DESC, v.id DESC LIMIT 100`, county, residentID)
}

// OpenHomeVisits lists the clinics' requested and scheduled visits: the
// requests waiting first (oldest first), then by the day scheduled.
func (s *Store) OpenHomeVisits(ctx context.Context, county string, clinics []int64, limit int) ([]homevisit.Visit, error) {
	if len(clinics) == 0 {
		return nil, nil
	}
	args := append(append([]any{county}, int64Args(clinics)...), limit)
	return s.homeVisits(ctx, "store.OpenHomeVisits", `SELECT `+homeVisitCols+`, r.name, COALESCE(pr.name, '') FROM home_visits v
		JOIN residents r ON r.county_code = v.county_code AND r.id = v.resident_id
		LEFT JOIN practitioners pr ON pr.id = v.practitioner_id
		WHERE v.county_code = ? AND v.village_id IN (`+placeholders(len(clinics))+`) AND v.status IN ('requested', 'scheduled')
		ORDER BY CASE v.status WHEN 'requested' THEN 0 ELSE 1 END, v.scheduled_on, v.requested_at, v.id LIMIT ?`, args...)
}

// SetCareFlag stores or replaces a resident's flag with its audit row.
func (s *Store) SetCareFlag(ctx context.Context, f *homevisit.Flag, ev audit.Event) error {
	const op = "store.SetCareFlag"
	return s.Transact(ctx, func(tx db) error {
		if _, err := tx.exec(ctx, `DELETE FROM care_flags WHERE county_code = ? AND resident_id = ? AND kind = ?`, f.CountyCode, f.ResidentID, f.Kind); err != nil {
			return wrap(op, err)
		}
		if _, err := tx.exec(ctx, `INSERT INTO care_flags (county_code, resident_id, kind, village_id, reason, set_by, set_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			f.CountyCode, f.ResidentID, f.Kind, f.VillageID, f.Reason, f.SetBy, s.ts(f.SetAt)); err != nil {
			return wrap(op, err)
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

// ClearCareFlag removes a flag with its audit row. Errors: ENOTFOUND.
func (s *Store) ClearCareFlag(ctx context.Context, county string, residentID int64, kind string, ev audit.Event) error {
	const op = "store.ClearCareFlag"
	return s.Transact(ctx, func(tx db) error {
		res, err := tx.exec(ctx, `DELETE FROM care_flags WHERE county_code = ? AND resident_id = ? AND kind = ?`, county, residentID, kind)
		if err != nil {
			return wrap(op, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return &care.Error{Code: care.ENOTFOUND, Key: "homevisit.flag_not_set", Op: op}
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

func (s *Store) careFlags(ctx context.Context, op, q string, args ...any) ([]homevisit.Flag, error) {
	rows, err := s.read().query(ctx, q, args...)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []homevisit.Flag
	for rows.Next() {
		var f homevisit.Flag
		if err := rows.Scan(&f.CountyCode, &f.ResidentID, &f.Kind, &f.VillageID, &f.Reason, &f.SetBy, tsOf(&f.SetAt), &f.Name, &f.Village,
			&f.LastVisit); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, f)
	}
	return out, wrap(op, rows.Err())
}

const careFlagSelect = `SELECT f.county_code, f.resident_id, f.kind, f.village_id, f.reason, f.set_by, f.set_at, r.name, i.name,
	(SELECT MAX(v.visited_on) FROM home_visits v WHERE v.county_code = f.county_code AND v.resident_id = f.resident_id AND v.status = 'done')
	FROM care_flags f JOIN residents r ON r.county_code = f.county_code AND r.id = f.resident_id JOIN institutions i ON i.id = f.village_id`

// CareFlagsOf lists a resident's flags.
func (s *Store) CareFlagsOf(ctx context.Context, county string, residentID int64) ([]homevisit.Flag, error) {
	return s.careFlags(ctx, "store.CareFlagsOf", careFlagSelect+` WHERE f.county_code = ? AND f.resident_id = ? ORDER BY f.kind`, county, residentID)
}

// FlaggedResidents lists the clinics' flagged residents by village,
// with the last visit done.
func (s *Store) FlaggedResidents(ctx context.Context, county string, clinics []int64, limit int) ([]homevisit.Flag, error) {
	if len(clinics) == 0 {
		return nil, nil
	}
	args := append(append([]any{county}, int64Args(clinics)...), limit)
	return s.careFlags(ctx, "store.FlaggedResidents", careFlagSelect+` WHERE f.county_code = ? AND f.village_id IN (`+placeholders(len(clinics))+`)
		ORDER BY i.name, f.resident_id LIMIT ?`, args...)
}

// HomeVisit loads one home visit (with its ID set; the demo county).
func (b *Bulk) HomeVisit(v *homevisit.Visit) error {
	return b.add("home_visits", v.ID, v.CountyCode, v.ResidentID, v.VillageID, v.Reason, v.RequestedBy, boolInt(v.ByResident), b.tsv(v.RequestedAt),
		string(v.Status), v.TeamID, v.PractitionerID, b.dv(v.ScheduledOn), b.tsv(v.ScheduledAt), b.dv(v.VisitedOn), strings.Join(v.Services, ","),
		v.SBP, v.DBP, v.Pulse, v.TempDC, v.GlucoseDmmol, v.Note, v.CancelReason, v.ClosedBy, v.Version)
}

// CareFlag loads one bedridden or disabled flag (the demo county).
func (b *Bulk) CareFlag(f *homevisit.Flag) error {
	return b.add("care_flags", f.CountyCode, f.ResidentID, f.Kind, f.VillageID, f.Reason, f.SetBy, b.tsv(f.SetAt))
}
