package store

import (
	"context"
	"encoding/json"
	"strings"

	"countycare/audit"
	"countycare/care"
	"countycare/elderly"
)

const checkupCols = `e.id, e.county_code, e.resident_id, e.managed_by, e.year, e.date, e.sbp, e.dbp, e.bmi_x10, e.self_care_score, e.self_care_grade,
	e.findings, e.suspected, e.form, e.tcm, e.clinic_id, e.by_account, e.created_at`

func scanCheckup(sc interface{ Scan(...any) error }, k *elderly.Checkup, extra ...any) error {
	var findings, suspected, form, tcm string
	if err := sc.Scan(append([]any{&k.ID, &k.CountyCode, &k.ResidentID, &k.ManagedBy, &k.Year, &k.Date, &k.SBP, &k.DBP, &k.BMI10, &k.SelfCareScore,
		&k.SelfCare, &findings, &suspected, &form, &tcm, &k.ClinicID, &k.By, tsOf(&k.CreatedAt)}, extra...)...); err != nil {
		return err
	}
	k.Findings, k.Suspected = splitCodes(findings), splitCodes(suspected)
	if err := json.Unmarshal([]byte(form), &k.Form); err != nil {
		return err
	}
	if tcm != "" {
		k.TCM = new(elderly.TCMResult)
		return json.Unmarshal([]byte(tcm), k.TCM)
	}
	return nil
}

// checkupRow is the stored form of a check-up's JSON columns.
func checkupRow(k *elderly.Checkup) (form, tcm, types string, err error) {
	b, err := json.Marshal(k.Form)
	if err != nil {
		return "", "", "", err
	}
	if k.TCM != nil {
		t, err := json.Marshal(k.TCM)
		if err != nil {
			return "", "", "", err
		}
		ts := make([]string, len(k.TCM.Types))
		for i, c := range k.TCM.Types {
			ts[i] = string(c)
		}
		tcm, types = string(t), strings.Join(ts, ",")
	}
	return string(b), tcm, types, nil
}

// CreateCheckup stores a check-up and its audit row in one transaction.
// Errors: ECONFLICT elderly.year_done (the resident has that year's).
func (s *Store) CreateCheckup(ctx context.Context, k *elderly.Checkup, ev audit.Event) error {
	const op = "store.CreateCheckup"
	form, tcm, types, err := checkupRow(k)
	if err != nil {
		return wrap(op, err)
	}
	return s.Transact(ctx, func(tx db) error {
		id, err := tx.insert(ctx, `INSERT INTO elderly_checkups (county_code, resident_id, managed_by, year, date, sbp, dbp, bmi_x10, self_care_score,
			self_care_grade, findings, suspected, tcm_types, form, tcm, clinic_id, by_account, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			k.CountyCode, k.ResidentID, k.ManagedBy, k.Year, k.Date, k.SBP, k.DBP, k.BMI10, k.SelfCareScore, string(k.SelfCare),
			strings.Join(k.Findings, ","), strings.Join(k.Suspected, ","), types, form, tcm, k.ClinicID, k.By, s.ts(k.CreatedAt))
		if err != nil {
			if care.IsCode(mapErr(err), care.ECONFLICT) {
				return &care.Error{Code: care.ECONFLICT, Key: "elderly.year_done", Op: op, Err: err}
			}
			return wrap(op, err)
		}
		k.ID = id
		// The roster reads the last check-up from the resident's row.
		if _, err := tx.exec(ctx, `UPDATE residents SET elderly_last = ? WHERE id = ? AND county_code = ? AND (elderly_last IS NULL OR elderly_last < ?)`,
			k.Date, k.ResidentID, k.CountyCode, k.Date); err != nil {
			return wrap(op, err)
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

// Checkups lists a resident's check-ups, newest first.
func (s *Store) Checkups(ctx context.Context, county string, residentID int64) ([]elderly.Checkup, error) {
	const op = "store.Checkups"
	rows, err := s.read().query(ctx, `SELECT `+checkupCols+` FROM elderly_checkups e WHERE e.county_code = ? AND e.resident_id = ?
		ORDER BY e.year DESC`, county, residentID)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []elderly.Checkup
	for rows.Next() {
		var k elderly.Checkup
		if err := scanCheckup(rows, &k); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, k)
	}
	return out, wrap(op, rows.Err())
}

// rosterWhere is the roster's residents: active, managed by clinics,
// eligible by b (index residents_elderly: village, status, birth date,
// last check-up; the query reads no row of the table).
func rosterWhere(county string, clinics []int64, b elderly.RosterBounds) (string, []any) {
	return `r.village_id IN (` + placeholders(len(clinics)) + `) AND r.status = 'active' AND r.birth_date <= ? AND r.county_code = ?`,
		append(int64Args(clinics), b.BornBy, county)
}

// rosterStatus is the SQL of a roster status by b (elderly.RosterBounds:
// StatusOn's rule as dates), with its arguments.
func rosterStatus(st elderly.Status, b elderly.RosterBounds) (string, []any) {
	switch st {
	case elderly.Done:
		return `r.elderly_last >= ?`, []any{b.YearStart}
	case elderly.Overdue:
		return `(r.elderly_last < ? OR (r.elderly_last IS NULL AND r.birth_date <= ?))`, []any{b.LastBefore, b.NeverBornBy}
	}
	return `((r.elderly_last >= ? AND r.elderly_last < ?) OR (r.elderly_last IS NULL AND r.birth_date > ?))`, []any{b.LastBefore, b.YearStart, b.NeverBornBy}
}

// rosterRank is the SQL of a resident's roster rank (0 overdue, 1 due, 2
// done), with its arguments.
func rosterRank(b elderly.RosterBounds) (string, []any) {
	done, dargs := rosterStatus(elderly.Done, b)
	over, oargs := rosterStatus(elderly.Overdue, b)
	return `CASE WHEN ` + done + ` THEN 2 WHEN ` + over + ` THEN 0 ELSE 1 END`, append(dargs, oargs...)
}

var rosterStatusOfRank = []elderly.Status{elderly.Overdue, elderly.Due, elderly.Done}

// ElderlyRoster lists one page of the roster (elderly.Repository): the
// residents are filtered, ranked and ordered by the window's opening day
// (the last check-up, or 1 January of the year of MinAge) in the
// database, from the index alone; names come from RosterNames for the
// rows returned.
func (s *Store) ElderlyRoster(ctx context.Context, county string, clinics []int64, b elderly.RosterBounds, only []elderly.Status, offset, limit int) ([]elderly.RosterEntry, error) {
	const op = "store.ElderlyRoster"
	if len(clinics) == 0 {
		return nil, nil
	}
	rank, args := rosterRank(b)
	where, wargs := rosterWhere(county, clinics, b)
	args = append(args, wargs...)
	if len(only) > 0 {
		var ors []string
		for _, st := range only {
			q, a := rosterStatus(st, b)
			ors, args = append(ors, q), append(args, a...)
		}
		where += ` AND (` + strings.Join(ors, ` OR `) + `)`
	}
	// The window's opening day of a resident never checked: 1 January of
	// the year they reach MinAge.
	opened := `printf('%04d-01-01', CAST(substr(r.birth_date, 1, 4) AS INTEGER) + ?)`
	if s.dialect == Postgres {
		opened = `make_date(CAST(EXTRACT(YEAR FROM r.birth_date) AS INTEGER) + ?, 1, 1)`
	}
	args = append(args, b.MinAge, limit, offset)
	rows, err := s.read().query(ctx, `SELECT r.id, r.birth_date, r.village_id, r.elderly_last, `+rank+` AS st_rank FROM residents r WHERE `+where+`
		ORDER BY st_rank, COALESCE(r.elderly_last, `+opened+`), r.id LIMIT ? OFFSET ?`, args...)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []elderly.RosterEntry
	for rows.Next() {
		var e elderly.RosterEntry
		var rank int
		if err := rows.Scan(&e.ResidentID, &e.BirthDate, &e.VillageID, &e.Last, &rank); err != nil {
			return nil, wrap(op, err)
		}
		e.Status = rosterStatusOfRank[rank]
		out = append(out, e)
	}
	return out, wrap(op, rows.Err())
}

// ElderlyRosterCounts counts the roster by status (elderly.Repository),
// from the index alone.
func (s *Store) ElderlyRosterCounts(ctx context.Context, county string, clinics []int64, b elderly.RosterBounds) (map[elderly.Status]int, error) {
	const op = "store.ElderlyRosterCounts"
	out := map[elderly.Status]int{}
	if len(clinics) == 0 {
		return out, nil
	}
	rank, args := rosterRank(b)
	where, wargs := rosterWhere(county, clinics, b)
	rows, err := s.read().query(ctx, `SELECT `+rank+` AS st_rank, COUNT(*) FROM residents r WHERE `+where+` GROUP BY st_rank`, append(args, wargs...)...)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		var rank, n int
		if err := rows.Scan(&rank, &n); err != nil {
			return nil, wrap(op, err)
		}
		out[rosterStatusOfRank[rank]] = n
	}
	return out, wrap(op, rows.Err())
}

// keepElderlyLast sets each resident's last check-up date (residents.
// elderly_last, which the roster reads) from the check-ups: after a bulk
// load, and as migration 0054's backfill does.
const keepElderlyLast = `UPDATE residents SET elderly_last = x.last
	FROM (SELECT resident_id, MAX(date) AS last FROM elderly_checkups GROUP BY resident_id) AS x
	WHERE x.resident_id = residents.id AND (residents.elderly_last IS NULL OR residents.elderly_last < x.last)`

// KeepElderlyLast sets residents' last check-up dates from check-ups
// written without CreateCheckup (a bench's INSERT … SELECT).
func (s *Store) KeepElderlyLast(ctx context.Context) error {
	_, err := s.w.ExecContext(ctx, keepElderlyLast)
	return wrap("store.KeepElderlyLast", err)
}

// RosterNames fills the name, sex and phone of roster rows.
func (s *Store) RosterNames(ctx context.Context, county string, list []elderly.RosterEntry) error {
	const op = "store.RosterNames"
	if len(list) == 0 {
		return nil
	}
	at := make(map[int64]int, len(list))
	ids := make([]int64, len(list))
	for i, e := range list {
		at[e.ResidentID], ids[i] = i, e.ResidentID
	}
	rows, err := s.read().query(ctx, `SELECT id, name, sex, phone FROM residents WHERE county_code = ? AND id IN (`+placeholders(len(ids))+`)`,
		append([]any{county}, int64Args(ids)...)...)
	if err != nil {
		return wrap(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var name, sex, phone string
		if err := rows.Scan(&id, &name, &sex, &phone); err != nil {
			return wrap(op, err)
		}
		e := &list[at[id]]
		e.Name, e.Sex, e.Phone = name, sex, phone
	}
	return wrap(op, rows.Err())
}

// SuspectedCheckups lists the check-ups since from of residents managed by
// clinics with a suspected disease, newest first, with the resident's
// name; a disease the resident has since been registered for is dropped
// from Suspected, and a check-up left with none is not listed.
func (s *Store) SuspectedCheckups(ctx context.Context, county string, clinics []int64, from care.Date, limit int) ([]elderly.Checkup, error) {
	const op = "store.SuspectedCheckups"
	if len(clinics) == 0 {
		return nil, nil
	}
	// The page's check-ups are picked from the partial index
	// elderly_checkups_suspected alone, and only those rows (with their
	// forms) are read: a township has thousands of suspected check-ups a
	// year.
	// (The clinics are the county's institutions: the county is checked
	// on the rows read.)
	args := append(int64Args(clinics), from, limit, county)
	rows, err := s.read().query(ctx, `SELECT `+checkupCols+`, r.name FROM elderly_checkups e JOIN residents r ON r.id = e.resident_id
		WHERE e.id IN (SELECT x.id FROM elderly_checkups x WHERE x.managed_by IN (`+placeholders(len(clinics))+`) AND x.suspected <> ''
			AND x.date >= ? ORDER BY x.date DESC, x.id DESC LIMIT ?) AND e.county_code = ?
		ORDER BY e.date DESC, e.id DESC`, args...)
	if err != nil {
		return nil, wrap(op, err)
	}
	var list []elderly.Checkup
	for rows.Next() {
		var k elderly.Checkup
		if err := scanCheckup(rows, &k, &k.Name); err != nil {
			rows.Close()
			return nil, wrap(op, err)
		}
		list = append(list, k)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(list) == 0 {
		return list, wrap(op, err)
	}
	ids := make([]int64, len(list))
	for i := range list {
		ids[i] = list[i].ResidentID
	}
	reg, err := s.activeDiseases(ctx, county, ids)
	if err != nil {
		return nil, wrap(op, err)
	}
	out := list[:0]
	for _, k := range list {
		var left []string
		for _, d := range k.Suspected {
			if !reg[k.ResidentID][d] {
				left = append(left, d)
			}
		}
		if k.Suspected = left; len(left) > 0 {
			out = append(out, k)
		}
	}
	return out, nil
}

// activeDiseases reads the active chronic registrations of residents.
func (s *Store) activeDiseases(ctx context.Context, county string, ids []int64) (map[int64]elderly.Registered, error) {
	rows, err := s.read().query(ctx, `SELECT resident_id, disease FROM chronic_registrations WHERE county_code = ? AND status = 'active'
		AND resident_id IN (`+placeholders(len(ids))+`)`, append([]any{county}, int64Args(ids)...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]elderly.Registered{}
	for rows.Next() {
		var id int64
		var d string
		if err := rows.Scan(&id, &d); err != nil {
			return nil, err
		}
		if out[id] == nil {
			out[id] = elderly.Registered{}
		}
		out[id][d] = true
	}
	return out, rows.Err()
}

// ChronicDiseases reports a resident's active chronic registrations.
func (s *Store) ChronicDiseases(ctx context.Context, county string, residentID int64) (elderly.Registered, error) {
	m, err := s.activeDiseases(ctx, county, []int64{residentID})
	if err != nil {
		return nil, wrap("store.ChronicDiseases", err)
	}
	if m[residentID] == nil {
		return elderly.Registered{}, nil
	}
	return m[residentID], nil
}
