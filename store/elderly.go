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

// ElderlyRoster lists the active residents managed by clinics born on or
// before bornBy with their last check-up's date, reading two indexes only
// (residents_village_status, elderly_checkups_last); the names and phones
// come from RosterNames for the rows shown.
func (s *Store) ElderlyRoster(ctx context.Context, county string, clinics []int64, bornBy care.Date) ([]elderly.RosterEntry, error) {
	const op = "store.ElderlyRoster"
	if len(clinics) == 0 {
		return nil, nil
	}
	args := append([]any{county}, int64Args(clinics)...)
	args = append(args, bornBy, county)
	rows, err := s.read().query(ctx, `SELECT r.id, r.birth_date, r.village_id,
		(SELECT MAX(e.date) FROM elderly_checkups e WHERE e.county_code = ? AND e.resident_id = r.id)
		FROM residents r WHERE r.village_id IN (`+placeholders(len(clinics))+`) AND r.birth_date <= ? AND r.status = 'active' AND r.county_code = ?`, args...)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []elderly.RosterEntry
	for rows.Next() {
		var e elderly.RosterEntry
		if err := rows.Scan(&e.ResidentID, &e.BirthDate, &e.VillageID, &e.Last); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, e)
	}
	return out, wrap(op, rows.Err())
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
	args := append(int64Args(clinics), from, county, limit)
	rows, err := s.read().query(ctx, `SELECT `+checkupCols+`, r.name FROM elderly_checkups e JOIN residents r ON r.id = e.resident_id
		WHERE e.managed_by IN (`+placeholders(len(clinics))+`) AND e.suspected <> '' AND e.date >= ? AND e.county_code = ?
		ORDER BY e.date DESC, e.id DESC LIMIT ?`, args...)
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
