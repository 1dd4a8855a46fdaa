package store

import (
	"context"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/notify"
	"countycare/povertywatch"
	"countycare/settle"
)

// inPolicyOOP is one settlement's in-policy out-of-pocket part: the
// eligible cost less what every layer paid, never below zero.
const inPolicyOOP = `CASE WHEN s.eligible - s.basic - s.critical - s.assistance - s.supplementary - s.bottom_line > 0
	THEN s.eligible - s.basic - s.critical - s.assistance - s.supplementary - s.bottom_line ELSE 0 END`

// refreshHouseholdCost rewrites, inside tx, the year's totals of the
// household residentID belongs to from its members' live settlements.
// Every write of settlements calls it for the years it touched, so
// household_costs is always what the bills say (a household has a handful
// of members and each a handful of bills: a few index lookups).
func (s *Store) refreshHouseholdCost(ctx context.Context, tx db, county string, residentID int64, year int) error {
	var h int64
	if err := tx.row(ctx, `SELECT household_id FROM residents WHERE id = ?`, residentID).Scan(idOf(&h)); err != nil {
		return err
	}
	if h == 0 {
		return nil
	}
	var total, inPolicy settle.Fen
	var bills int
	// The household's members first (residents_household), then their
	// settlements (settlements_resident): written as a join, SQLite may
	// scan the county's settlements instead, which it did on every
	// settlement of the 1 M county once bound values stopped choosing plans
	// (sqliteplans.go): 2.4 ms a settlement.
	if err := tx.row(ctx, `SELECT COALESCE(SUM(s.patient), 0), COALESCE(SUM(`+inPolicyOOP+`), 0), COUNT(*) FROM settlements s
		WHERE s.county_code = ? AND s.resident_id IN (SELECT r.id FROM residents r WHERE r.county_code = ? AND r.household_id = ?)
		AND s.year = ? AND s.status = 'settled'`, county, county, h, year).Scan(&total, &inPolicy, &bills); err != nil {
		return err
	}
	_, err := tx.exec(ctx, `INSERT INTO household_costs (county_code, household_id, year, total_oop, in_policy_oop, bills, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (county_code, household_id, year) DO UPDATE SET total_oop = excluded.total_oop, in_policy_oop = excluded.in_policy_oop,
		bills = excluded.bills, updated_at = excluded.updated_at`, county, h, year, total, inPolicy, bills, s.ts(s.now()))
	return err
}

// refreshHouseholdCosts rewrites every household's totals of a county
// year (after a resettlement, or to repair rows written in bulk).
func (s *Store) refreshHouseholdCosts(ctx context.Context, tx db, county string, year int) error {
	if _, err := tx.exec(ctx, `DELETE FROM household_costs WHERE county_code = ? AND year = ?`, county, year); err != nil {
		return err
	}
	_, err := tx.exec(ctx, `INSERT INTO household_costs (county_code, household_id, year, total_oop, in_policy_oop, bills, updated_at)
		SELECT s.county_code, r.household_id, s.year, SUM(s.patient), SUM(`+inPolicyOOP+`), COUNT(*), ?
		FROM settlements s JOIN residents r ON r.id = s.resident_id
		WHERE s.county_code = ? AND s.year = ? AND s.status = 'settled' AND r.household_id IS NOT NULL
		GROUP BY s.county_code, r.household_id, s.year`, s.ts(s.now()), county, year)
	return err
}

// RefreshHouseholdCosts rebuilds a county year's household totals in one
// transaction (the demo's bulk load writes settlements without them).
func (s *Store) RefreshHouseholdCosts(ctx context.Context, county string, year int) error {
	return wrap("store.RefreshHouseholdCosts", s.Transact(ctx, func(tx db) error { return s.refreshHouseholdCosts(ctx, tx, county, year) }))
}

// householdCostCols reads a povertywatch.Cost joined with the household,
// its head and its income (hc, h, hd, hi).
const householdCostCols = `h.id, h.county_code, h.number, h.village_id, COALESCE(h.head_id, 0), COALESCE(hd.name, ''),
	COALESCE(hc.total_oop, 0) AS total_oop, COALESCE(hc.in_policy_oop, 0) AS in_policy_oop, COALESCE(hc.bills, 0), COALESCE(hi.income, 0), hc.updated_at,
	(SELECT COUNT(*) FROM residents m WHERE m.county_code = h.county_code AND m.household_id = h.id AND m.status <> 'merged'),
	COALESCE(hd.poverty, '')`

func scanHouseholdCost(sc interface{ Scan(...any) error }, c *povertywatch.Cost) error {
	return sc.Scan(&c.HouseholdID, &c.County, &c.Number, &c.VillageID, &c.HeadID, &c.HeadName,
		&c.TotalOOP, &c.InPolicyOOP, &c.Bills, &c.Income, tsScan{&c.UpdatedAt}, &c.Members, &c.Poverty)
}

// WatchCandidates implements povertywatch.Repository: the households
// whose compared total reaches t.Approach of the absolute line (an index
// range on the year's totals) and those with a recorded income whose total
// reaches t.Approach of the income share (floored, so the set is a
// superset of what povertywatch.Assess lists).
func (s *Store) WatchCandidates(ctx context.Context, county string, year int, t povertywatch.Thresholds, limit int) ([]povertywatch.Cost, error) {
	const op = "store.WatchCandidates"
	col := "total_oop"
	if t.Basis == povertywatch.BasisInPolicy {
		col = "in_policy_oop"
	}
	// oop ≥ approach × line ⇔ oop × 10000 ≥ approach × line; the absolute
	// bound is rounded down to a whole fen so nothing on the edge is missed.
	minAbs := int64(t.Approach) * int64(t.AbsoluteOOP) / int64(settle.Full)
	from := ` FROM household_costs hc JOIN households h ON h.id = hc.household_id
		LEFT JOIN residents hd ON hd.id = h.head_id
		LEFT JOIN household_incomes hi ON hi.county_code = hc.county_code AND hi.household_id = hc.household_id AND hi.year = hc.year
		WHERE hc.county_code = ? AND hc.year = ? AND `
	q := `SELECT ` + householdCostCols + from + `hc.` + col + ` >= ?`
	args := []any{county, year, minAbs}
	if t.IncomeShare > 0 {
		q += ` UNION SELECT ` + householdCostCols + from + `hi.income > 0 AND hc.` + col + ` * 10000 >= ? * (hi.income * ? / 10000)`
		args = append(args, county, year, int64(t.Approach), int64(t.IncomeShare))
	}
	q = `SELECT * FROM (` + q + `) x ORDER BY x.` + col + ` DESC, x.id LIMIT ?`
	args = append(args, limit)
	rows, err := s.read().query(ctx, q, args...)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []povertywatch.Cost
	for rows.Next() {
		var c povertywatch.Cost
		if err := scanHouseholdCost(rows, &c); err != nil {
			return nil, wrap(op, err)
		}
		c.Year = year
		out = append(out, c)
	}
	return out, wrap(op, rows.Err())
}

// HouseholdCost implements povertywatch.Repository.
func (s *Store) HouseholdCost(ctx context.Context, county string, householdID int64, year int) (*povertywatch.Cost, error) {
	var c povertywatch.Cost
	err := scanHouseholdCost(s.read().row(ctx, `SELECT `+householdCostCols+` FROM households h
		LEFT JOIN residents hd ON hd.id = h.head_id
		LEFT JOIN household_costs hc ON hc.county_code = h.county_code AND hc.household_id = h.id AND hc.year = ?
		LEFT JOIN household_incomes hi ON hi.county_code = h.county_code AND hi.household_id = h.id AND hi.year = ?
		WHERE h.id = ? AND h.county_code = ?`, year, year, householdID, county), &c)
	if err != nil {
		return nil, wrap("store.HouseholdCost", err)
	}
	c.Year = year
	return &c, nil
}

// HouseholdBills implements povertywatch.Repository.
func (s *Store) HouseholdBills(ctx context.Context, county string, householdID int64, year int) ([]povertywatch.Bill, error) {
	const op = "store.HouseholdBills"
	rows, err := s.read().query(ctx, `SELECT s.id, s.resident_id, r.name, s.institution_id, s.visit_date, s.visit_type, s.total, s.eligible, `+inPolicyOOP+`, s.patient
		FROM residents r JOIN settlements s ON s.county_code = r.county_code AND s.resident_id = r.id
		WHERE r.county_code = ? AND r.household_id = ? AND s.year = ? AND s.status = 'settled'
		ORDER BY s.visit_date, s.id`, county, householdID, year)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []povertywatch.Bill
	for rows.Next() {
		var b povertywatch.Bill
		if err := rows.Scan(&b.SettlementID, &b.ResidentID, &b.ResidentName, &b.InstitutionID, &b.VisitDate, &b.VisitType, &b.Total, &b.Eligible, &b.InPolicyOOP, &b.Patient); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, b)
	}
	return out, wrap(op, rows.Err())
}

// HouseholdMemberIDs implements povertywatch.Repository.
func (s *Store) HouseholdMemberIDs(ctx context.Context, county string, householdID int64) ([]int64, error) {
	rows, err := s.read().query(ctx, `SELECT id FROM residents WHERE county_code = ? AND household_id = ? AND status <> 'merged' ORDER BY id`, county, householdID)
	if err != nil {
		return nil, wrap("store.HouseholdMemberIDs", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, wrap("store.HouseholdMemberIDs", err)
		}
		out = append(out, id)
	}
	return out, wrap("store.HouseholdMemberIDs", rows.Err())
}

// SetHouseholdIncome implements povertywatch.Repository.
func (s *Store) SetHouseholdIncome(ctx context.Context, county string, householdID int64, year int, income settle.Fen, by int64, ev audit.Event) error {
	return wrap("store.SetHouseholdIncome", s.Transact(ctx, func(tx db) error {
		if _, err := tx.exec(ctx, `INSERT INTO household_incomes (county_code, household_id, year, income, recorded_by, recorded_at) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (county_code, household_id, year) DO UPDATE SET income = excluded.income, recorded_by = excluded.recorded_by, recorded_at = excluded.recorded_at`,
			county, householdID, year, income, by, s.ts(s.now())); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, ev)
	}))
}

// RaiseWatchAlerts implements povertywatch.Repository.
func (s *Store) RaiseWatchAlerts(ctx context.Context, alerts []povertywatch.Alert, msgs [][]notify.Message, ev audit.Event) (int, error) {
	n := 0
	err := s.Transact(ctx, func(tx db) error {
		n = 0
		now := s.now()
		for i, a := range alerts {
			by := 0
			if a.ByIncome {
				by = 1
			}
			res, err := tx.exec(ctx, `INSERT INTO poverty_watch_alerts (county_code, household_id, year, spent, threshold, by_income, raised_at) VALUES (?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (county_code, household_id, year) DO NOTHING`, a.County, a.HouseholdID, a.Year, a.Spent, a.Threshold, by, s.ts(a.RaisedAt))
			if err != nil {
				return err
			}
			k, _ := res.RowsAffected()
			n += int(k)
			if k == 1 && i < len(msgs) {
				// A new alert's texts, in its transaction: raised once, texted once.
				for j := range msgs[i] {
					if err := s.insertMessage(ctx, tx, &msgs[i][j], now); err != nil {
						return err
					}
				}
			}
		}
		if n == 0 {
			return nil
		}
		return s.appendAudit(ctx, tx, ev)
	})
	return n, wrap("store.RaiseWatchAlerts", err)
}

const watchAlertCols = `a.id, a.county_code, a.household_id, a.year, a.spent, a.threshold, a.by_income, a.raised_at, a.handled_at, h.number, COALESCE(hd.name, '')`

func scanWatchAlert(sc interface{ Scan(...any) error }, a *povertywatch.Alert) error {
	var by int
	err := sc.Scan(&a.ID, &a.County, &a.HouseholdID, &a.Year, &a.Spent, &a.Threshold, &by, tsScan{&a.RaisedAt}, tsScan{&a.HandledAt}, &a.Number, &a.HeadName)
	a.ByIncome = by != 0
	return err
}

// WatchAlerts implements povertywatch.Repository.
func (s *Store) WatchAlerts(ctx context.Context, county string, year int, limit int) ([]povertywatch.Alert, error) {
	rows, err := s.read().query(ctx, `SELECT `+watchAlertCols+` FROM poverty_watch_alerts a JOIN households h ON h.id = a.household_id
		LEFT JOIN residents hd ON hd.id = h.head_id
		WHERE a.county_code = ? AND a.year = ? ORDER BY CASE WHEN a.handled_at IS NULL THEN 0 ELSE 1 END, a.raised_at DESC, a.id DESC LIMIT ?`, county, year, limit)
	if err != nil {
		return nil, wrap("store.WatchAlerts", err)
	}
	defer rows.Close()
	var out []povertywatch.Alert
	for rows.Next() {
		var a povertywatch.Alert
		if err := scanWatchAlert(rows, &a); err != nil {
			return nil, wrap("store.WatchAlerts", err)
		}
		out = append(out, a)
	}
	return out, wrap("store.WatchAlerts", rows.Err())
}

// HouseholdAlert implements povertywatch.Repository.
func (s *Store) HouseholdAlert(ctx context.Context, county string, householdID int64, year int) (*povertywatch.Alert, error) {
	var a povertywatch.Alert
	err := scanWatchAlert(s.read().row(ctx, `SELECT `+watchAlertCols+` FROM poverty_watch_alerts a JOIN households h ON h.id = a.household_id
		LEFT JOIN residents hd ON hd.id = h.head_id
		WHERE a.county_code = ? AND a.household_id = ? AND a.year = ?`, county, householdID, year), &a)
	if care.IsCode(mapErr(err), care.ENOTFOUND) {
		return nil, nil
	}
	if err != nil {
		return nil, wrap("store.HouseholdAlert", err)
	}
	return &a, nil
}

// RecordWatchAction implements povertywatch.Repository.
func (s *Store) RecordWatchAction(ctx context.Context, act *povertywatch.Action, ev audit.Event) error {
	return wrap("store.RecordWatchAction", s.Transact(ctx, func(tx db) error {
		var err error
		act.ID, err = tx.insert(ctx, `INSERT INTO poverty_watch_actions (county_code, household_id, year, kind, note, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			act.County, act.HouseholdID, act.Year, string(act.Kind), act.Note, act.By, s.ts(act.At))
		if err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `UPDATE poverty_watch_alerts SET handled_at = ? WHERE county_code = ? AND household_id = ? AND year = ? AND handled_at IS NULL`,
			s.ts(act.At), act.County, act.HouseholdID, act.Year); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, ev)
	}))
}

// WatchActions implements povertywatch.Repository.
func (s *Store) WatchActions(ctx context.Context, county string, householdID int64, year int) ([]povertywatch.Action, error) {
	rows, err := s.read().query(ctx, `SELECT a.id, a.county_code, a.household_id, a.year, a.kind, a.note, a.created_by, COALESCE(pr.name, ac.username, ''), a.created_at
		FROM poverty_watch_actions a LEFT JOIN accounts ac ON ac.id = a.created_by LEFT JOIN practitioners pr ON pr.id = ac.practitioner_id
		WHERE a.county_code = ? AND a.household_id = ? AND a.year = ? ORDER BY a.id`, county, householdID, year)
	if err != nil {
		return nil, wrap("store.WatchActions", err)
	}
	defer rows.Close()
	var out []povertywatch.Action
	for rows.Next() {
		var a povertywatch.Action
		var kind string
		var at time.Time
		if err := rows.Scan(&a.ID, &a.County, &a.HouseholdID, &a.Year, &kind, &a.Note, &a.By, &a.ByName, tsScan{&at}); err != nil {
			return nil, wrap("store.WatchActions", err)
		}
		a.Kind, a.At = povertywatch.ActionKind(kind), at
		out = append(out, a)
	}
	return out, wrap("store.WatchActions", rows.Err())
}

// BottomLineBills implements povertywatch.Repository.
func (s *Store) BottomLineBills(ctx context.Context, county string, year int) ([]povertywatch.BottomLineBill, error) {
	const op = "store.BottomLineBills"
	rows, err := s.read().query(ctx, `SELECT s.id, s.resident_id, r.name, s.visit_date, s.visit_type, s.poverty, s.total, s.eligible,
		s.basic + s.critical + s.assistance + s.supplementary + s.bottom_line, s.policy_id
		FROM settlements s JOIN residents r ON r.id = s.resident_id
		WHERE s.county_code = ? AND s.year = ? AND s.status = 'settled' AND s.poverty <> ''
		ORDER BY s.resident_id, s.visit_date, s.id`, county, year)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []povertywatch.BottomLineBill
	for rows.Next() {
		var b povertywatch.BottomLineBill
		if err := rows.Scan(&b.SettlementID, &b.ResidentID, &b.ResidentName, &b.VisitDate, &b.VisitType, &b.Poverty, &b.Total, &b.Eligible, &b.Paid, &b.PolicyID); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, b)
	}
	return out, wrap(op, rows.Err())
}

const specialCols = `c.id, c.county_code, c.resident_id, r.name, c.disease, c.diagnosis, c.hospital_id, c.status, c.note, c.enrolled_at, c.started_at, c.closed_at, c.created_by, c.version`

func scanSpecial(sc interface{ Scan(...any) error }, c *povertywatch.SpecialCase) error {
	return sc.Scan(&c.ID, &c.County, &c.ResidentID, &c.ResidentName, &c.Disease, &c.Diagnosis, &c.HospitalID, &c.Status, &c.Note,
		tsScan{&c.EnrolledAt}, tsScan{&c.StartedAt}, tsScan{&c.ClosedAt}, &c.By, &c.Version)
}

// CreateSpecialCase implements povertywatch.SpecialRepository.
func (s *Store) CreateSpecialCase(ctx context.Context, c *povertywatch.SpecialCase, ev audit.Event) error {
	err := s.Transact(ctx, func(tx db) error {
		var err error
		c.ID, err = tx.insert(ctx, `INSERT INTO special_treatments (county_code, resident_id, disease, diagnosis, hospital_id, status, enrolled_at, created_by, version)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)`, c.County, c.ResidentID, c.Disease, c.Diagnosis, c.HospitalID, c.Status, s.ts(c.EnrolledAt), c.By)
		if err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, ev)
	})
	if care.IsCode(mapErr(err), care.ECONFLICT) {
		return &care.Error{Code: care.ECONFLICT, Key: "povertywatch.special_open", Op: "store.CreateSpecialCase", Err: err}
	}
	return wrap("store.CreateSpecialCase", err)
}

// SpecialCase implements povertywatch.SpecialRepository.
func (s *Store) SpecialCase(ctx context.Context, county string, id int64) (*povertywatch.SpecialCase, error) {
	var c povertywatch.SpecialCase
	if err := scanSpecial(s.read().row(ctx, `SELECT `+specialCols+` FROM special_treatments c JOIN residents r ON r.id = c.resident_id
		WHERE c.id = ? AND c.county_code = ?`, id, county), &c); err != nil {
		return nil, wrap("store.SpecialCase", err)
	}
	return &c, nil
}

// UpdateSpecialCase implements povertywatch.SpecialRepository.
func (s *Store) UpdateSpecialCase(ctx context.Context, c *povertywatch.SpecialCase, ev audit.Event) error {
	return wrap("store.UpdateSpecialCase", s.Transact(ctx, func(tx db) error {
		res, err := tx.exec(ctx, `UPDATE special_treatments SET status = ?, note = ?, started_at = ?, closed_at = ?, version = version + 1
			WHERE id = ? AND county_code = ? AND version = ?`, c.Status, c.Note, s.ts(c.StartedAt), s.ts(c.ClosedAt), c.ID, c.County, c.Version)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return &care.Error{Code: care.ECONFLICT, Key: "povertywatch.special_stale"}
		}
		return s.appendAudit(ctx, tx, ev)
	}))
}

// SpecialCases implements povertywatch.SpecialRepository.
func (s *Store) SpecialCases(ctx context.Context, county string, limit int) ([]povertywatch.SpecialCase, error) {
	rows, err := s.read().query(ctx, `SELECT `+specialCols+` FROM special_treatments c JOIN residents r ON r.id = c.resident_id
		WHERE c.county_code = ? ORDER BY CASE WHEN c.status IN ('enrolled', 'treating') THEN 0 ELSE 1 END, c.id DESC LIMIT ?`, county, limit)
	if err != nil {
		return nil, wrap("store.SpecialCases", err)
	}
	defer rows.Close()
	var out []povertywatch.SpecialCase
	for rows.Next() {
		var c povertywatch.SpecialCase
		if err := scanSpecial(rows, &c); err != nil {
			return nil, wrap("store.SpecialCases", err)
		}
		out = append(out, c)
	}
	return out, wrap("store.SpecialCases", rows.Err())
}
