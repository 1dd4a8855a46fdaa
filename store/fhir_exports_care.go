package store

import (
	"context"
	"database/sql"
	"slices"
	"strconv"
	"strings"
	"time"

	"countycare/bulkdata"
	"countycare/care"
	"countycare/family"
	"countycare/org"
	"countycare/reading"
	"countycare/resident"
	"countycare/rx"
	"countycare/settle"
)

// The scans of the bulk export's care types (issue 12): family doctor
// contracts and teams, prescriptions, and settlements grouped by resident
// and year (Coverage). Each streams its rows, as eachExported does.

// EachExportContract streams the family doctor contracts of sel's
// residents signed (created_at) or closed (closed_at) at or after
// sel.Since, or still active with an end day that passed in [sel.Since,
// sel.Now] (family.Contract.LapsedAt: their mapped status changed with no
// row written) — a contract has no other change — in id order.
func (s *Store) EachExportContract(ctx context.Context, sel bulkdata.Selection, fn func(*family.Contract) error) error {
	where, args := exportResidents(sel)
	if !sel.Since.IsZero() {
		where += ` AND (x.created_at >= ? OR x.closed_at >= ? OR (x.status = ? AND x.end_date >= ? AND x.end_date < ?))`
		args = append(args, s.ts(sel.Since), s.ts(sel.Since), family.StatusActive, family.LapsedFrom(sel.Since), care.Today(sel.Now))
	}
	return eachExported(ctx, s, "store.EachExportContract", `SELECT `+prefixCols("x.", contractCols)+` FROM family_contracts x
		JOIN residents r ON r.id = x.resident_id WHERE x.county_code = r.county_code AND `+where+` ORDER BY x.id`, args,
		func(sc interface{ Scan(...any) error }, c *family.Contract) error { return scanContract(sc, c) }, fn)
}

// EachExportTeam streams the family doctor teams that hold a contract of
// one of sel's residents, each with its members (ordered as Team orders
// them), changed (updated_at) at or after sel.Since, in id order. One
// query joins the teams to their members: only one team is held at a time.
func (s *Store) EachExportTeam(ctx context.Context, sel bulkdata.Selection, fn func(*family.Team) error) error {
	const op = "store.EachExportTeam"
	where, args := exportResidents(sel)
	q := `SELECT t.id, t.county_code, t.name, t.institution_id, t.leader_id, t.active, t.created_at, t.version,
		m.practitioner_id, m.role, p.name, p.institution_id
		FROM family_teams t LEFT JOIN family_team_members m ON m.team_id = t.id LEFT JOIN practitioners p ON p.id = m.practitioner_id
		WHERE t.id IN (SELECT x.team_id FROM family_contracts x JOIN residents r ON r.id = x.resident_id WHERE x.county_code = r.county_code AND ` + where + `)`
	if !sel.Since.IsZero() {
		q += ` AND t.updated_at >= ?`
		args = append(args, s.ts(sel.Since))
	}
	rows, err := s.scan().query(ctx, q+` ORDER BY t.id, p.name`, args...)
	if err != nil {
		return wrap(op, err)
	}
	defer rows.Close()
	var tm, next family.Team
	held := false
	for rows.Next() {
		next = family.Team{}
		var pid, inst sql.NullInt64
		var role, name sql.NullString
		if err := rows.Scan(&next.ID, &next.CountyCode, &next.Name, &next.InstitutionID, &next.LeaderID, &next.Active, tsOf(&next.CreatedAt), &next.Version,
			&pid, &role, &name, &inst); err != nil {
			return wrap(op, err)
		}
		if held && next.ID != tm.ID {
			if err := fn(&tm); err != nil {
				return err
			}
			held = false
		}
		if !held {
			members := tm.Members[:0]
			tm, held = next, true
			tm.Members = members
		}
		if pid.Valid {
			tm.Members = append(tm.Members, family.Member{PractitionerID: pid.Int64, Role: role.String, Name: name.String, InstitutionID: inst.Int64})
		}
	}
	if err := rows.Err(); err != nil {
		return wrap(op, err)
	}
	if held {
		return fn(&tm)
	}
	return nil
}

// EachExportPrescription streams the signed prescriptions of sel's
// residents signed, reviewed or dispensed at or after sel.Since, in id
// order.
func (s *Store) EachExportPrescription(ctx context.Context, sel bulkdata.Selection, fn func(*rx.Signed) error) error {
	where, args := exportResidents(sel)
	if !sel.Since.IsZero() {
		where += ` AND (x.signed_at >= ? OR x.reviewed_at >= ? OR x.dispensed_at >= ?)`
		args = append(args, s.ts(sel.Since), s.ts(sel.Since), s.ts(sel.Since))
	}
	return eachExported(ctx, s, "store.EachExportPrescription", `SELECT `+prefixCols("x.", prescriptionCols)+` FROM prescriptions x
		JOIN residents r ON r.id = x.resident_id WHERE x.county_code = r.county_code AND `+where+` ORDER BY x.id`, args, scanPrescription, fn)
}

// EachExportCoverageYear streams, for each resident of sel and year with
// a settlement, that year's settlements (id order) — a Coverage is a
// resident's year; with sel.Since, the years with a settlement settled or
// reversed at or after it (all of the year's settlements, since the
// Coverage is made of them all). One resident-year is held at a time.
func (s *Store) EachExportCoverageYear(ctx context.Context, sel bulkdata.Selection, fn func([]settle.Settlement) error) error {
	const op = "store.EachExportCoverageYear"
	where, args := exportResidents(sel)
	if !sel.Since.IsZero() {
		where += ` AND EXISTS (SELECT 1 FROM settlements y WHERE y.resident_id = x.resident_id AND y.year = x.year
			AND (y.created_at >= ? OR y.reversed_at >= ?))`
		args = append(args, s.ts(sel.Since), s.ts(sel.Since))
	}
	rows, err := s.scan().query(ctx, `SELECT `+prefixCols("x.", settlementCols)+` FROM settlements x
		JOIN residents r ON r.id = x.resident_id WHERE x.year > 0 AND `+where+` ORDER BY x.resident_id, x.year, x.id`, args...)
	if err != nil {
		return wrap(op, err)
	}
	defer rows.Close()
	var held []settle.Settlement
	for rows.Next() {
		var st settle.Settlement
		if err := scanSettlement(rows, &st); err != nil {
			return wrap(op, err)
		}
		if len(held) > 0 && (held[0].ResidentID != st.ResidentID || held[0].Year != st.Year) {
			if err := fn(held); err != nil {
				return err
			}
			held = held[:0]
		}
		held = append(held, st)
	}
	if err := rows.Err(); err != nil {
		return wrap(op, err)
	}
	if len(held) > 0 {
		return fn(held)
	}
	return nil
}

// EachExportImagingStudy streams the imaging studies of sel's residents,
// each with its series (ordered and counted as ImagingSeriesOf gives
// them) and its first limit instances (as ImagingInstancesOf with that
// limit gives them), in study order; with sel.Since, those uploaded or
// with an instance filed at or after it. One query joins the studies to
// their instances: only one study's are held at a time.
func (s *Store) EachExportImagingStudy(ctx context.Context, sel bulkdata.Selection, limit int, fn func(*reading.Study, []reading.ImagingSeries, []reading.ImagingInstance) error) error {
	const op = "store.EachExportImagingStudy"
	where, args := exportResidents(sel)
	if !sel.Since.IsZero() {
		where += ` AND (s.uploaded_at >= ? OR EXISTS (SELECT 1 FROM imaging_instances y WHERE y.county_code = s.county_code AND y.study_uid = s.source_key
			AND y.uploaded_at >= ?))`
		args = append(args, s.ts(sel.Since), s.ts(sel.Since))
	}
	rows, err := s.scan().query(ctx, `SELECT `+readingCols+`, i.series_uid, i.sop_uid, i.modality, i.series_number, i.series_description, i.sop_class_uid,
		i.instance_number FROM reading_studies s JOIN residents r ON r.id = s.resident_id
		LEFT JOIN imaging_instances i ON i.county_code = s.county_code AND i.study_uid = s.source_key
		WHERE s.county_code = r.county_code AND s.kind = ? AND `+where+` ORDER BY s.id, i.series_uid, i.id`, append([]any{reading.KindImaging}, args...)...)
	if err != nil {
		return wrap(op, err)
	}
	defer rows.Close()
	var st, next reading.Study
	var series []reading.ImagingSeries
	var ins []reading.ImagingInstance
	held := false
	flush := func() error {
		held = false
		slices.SortFunc(series, func(a, b reading.ImagingSeries) int {
			if c := strings.Compare(a.SeriesNumber, b.SeriesNumber); c != 0 {
				return c
			}
			return strings.Compare(a.SeriesUID, b.SeriesUID)
		})
		num := func(s string) int { n, _ := strconv.Atoi(strings.TrimSpace(s)); return n }
		slices.SortStableFunc(ins, func(a, b reading.ImagingInstance) int {
			if a.SeriesUID != b.SeriesUID {
				return strings.Compare(a.SeriesUID, b.SeriesUID)
			}
			return num(a.InstanceNumber) - num(b.InstanceNumber)
		})
		err := fn(&st, series, ins)
		series, ins = series[:0], ins[:0]
		return err
	}
	for rows.Next() {
		next = reading.Study{}
		var seriesUID, sop, modality, number, desc, class, instance sql.NullString
		if err := scanReading(rows, &next, &seriesUID, &sop, &modality, &number, &desc, &class, &instance); err != nil {
			return wrap(op, err)
		}
		if held && next.ID != st.ID {
			if err := flush(); err != nil {
				return err
			}
		}
		if !held {
			st, held = next, true
		}
		if !seriesUID.Valid {
			continue
		}
		if n := len(series); n == 0 || series[n-1].SeriesUID != seriesUID.String {
			series = append(series, reading.ImagingSeries{StudyUID: st.SourceKey, SeriesUID: seriesUID.String, Modality: modality.String,
				SeriesNumber: number.String, Description: desc.String})
		}
		se := &series[len(series)-1]
		se.Instances++
		// MIN(...) of the series, as ImagingSeriesOf groups them.
		se.Modality, se.SeriesNumber, se.Description = min(se.Modality, modality.String), min(se.SeriesNumber, number.String), min(se.Description, desc.String)
		if len(ins) < limit {
			ins = append(ins, reading.ImagingInstance{SeriesUID: seriesUID.String, SOPUID: sop.String, SOPClassUID: class.String, InstanceNumber: instance.String})
		}
	}
	if err := rows.Err(); err != nil {
		return wrap(op, err)
	}
	if held {
		return flush()
	}
	return nil
}

// EachExportPractitioner streams the practitioners of the institutions
// (nil: every one) created at or after since (zero: all), in id order.
func (s *Store) EachExportPractitioner(ctx context.Context, institutions []int64, since time.Time, fn func(*org.Practitioner) error) error {
	q, args := `SELECT `+practitionerCols+` FROM practitioners WHERE 1 = 1`, []any{}
	if institutions != nil {
		if len(institutions) == 0 {
			return nil
		}
		q += ` AND institution_id IN (` + placeholders(len(institutions)) + `)`
		args = append(args, int64Args(institutions)...)
	}
	if !since.IsZero() {
		q += ` AND created_at >= ?`
		args = append(args, s.ts(since))
	}
	return eachExported(ctx, s, "store.EachExportPractitioner", q+` ORDER BY id`, args, scanPractitioner, fn)
}

// EachExportHousehold streams the households of sel's residents, each
// with its members among them (any status but merged, in id order, as
// Household gives them), in household order; with sel.Since, those
// registered, or with a member changed, at or after it. The members are
// read through residents_household: one household is held at a time.
func (s *Store) EachExportHousehold(ctx context.Context, sel bulkdata.Selection, fn func(*resident.Household, []resident.Resident) error) error {
	const op = "store.EachExportHousehold"
	where, args := exportResidents(sel)
	if !sel.Since.IsZero() {
		where += ` AND (h.created_at >= ? OR EXISTS (SELECT 1 FROM residents m WHERE m.household_id = h.id AND m.status <> 'merged' AND m.updated_at >= ?))`
		args = append(args, s.ts(sel.Since), s.ts(sel.Since))
	}
	rows, err := s.scan().query(ctx, `SELECT `+residentCols+`, h.id, h.county_code, h.village_id, h.number, h.address, h.head_id, h.created_at
		FROM residents r JOIN households h ON h.id = r.household_id
		WHERE r.household_id IS NOT NULL AND r.status <> 'merged' AND h.county_code = r.county_code AND `+where+` ORDER BY r.household_id, r.id`, args...)
	if err != nil {
		return wrap(op, err)
	}
	defer rows.Close()
	var h, next resident.Household
	var members []resident.Resident
	for rows.Next() {
		var m resident.Resident
		next = resident.Household{}
		if err := scanResident(rows, &m, &next.ID, &next.CountyCode, &next.VillageID, &next.Number, &next.Address, idOf(&next.HeadID), tsOf(&next.CreatedAt)); err != nil {
			return wrap(op, err)
		}
		if len(members) > 0 && next.ID != h.ID {
			if err := fn(&h, members); err != nil {
				return err
			}
			members = members[:0]
		}
		h = next
		members = append(members, m)
	}
	if err := rows.Err(); err != nil {
		return wrap(op, err)
	}
	if len(members) > 0 {
		return fn(&h, members)
	}
	return nil
}
