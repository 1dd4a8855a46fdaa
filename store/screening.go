package store

import (
	"context"
	"strings"

	"countycare/audit"
	"countycare/care"
	"countycare/chronic"
	"countycare/screening"
)

// CreateCampaign stores a screening campaign and its audit row.
func (s *Store) CreateCampaign(ctx context.Context, c *screening.Campaign, ev audit.Event) error {
	const op = "store.CreateCampaign"
	return s.Transact(ctx, func(tx db) error {
		id, err := tx.insert(ctx, `INSERT INTO screening_campaigns (county_code, township_id, name, diseases, villages, min_age, starts_on, ends_on,
			created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.CountyCode, c.TownshipID, c.Name, joinDiseases(c.Diseases), joinIDs(c.Villages), c.MinAge, c.StartsOn, c.EndsOn, c.CreatedBy, s.ts(c.CreatedAt))
		if err != nil {
			return wrap(op, err)
		}
		c.ID = id
		return s.appendAudit(ctx, tx, ev)
	})
}

const campaignCols = `id, county_code, township_id, name, diseases, villages, min_age, starts_on, ends_on, created_by, created_at`

func scanCampaign(sc interface{ Scan(...any) error }, c *screening.Campaign) error {
	var ds, vs string
	if err := sc.Scan(&c.ID, &c.CountyCode, &c.TownshipID, &c.Name, &ds, &vs, &c.MinAge, &c.StartsOn, &c.EndsOn, &c.CreatedBy, tsOf(&c.CreatedAt)); err != nil {
		return err
	}
	for _, d := range splitCodes(ds) {
		c.Diseases = append(c.Diseases, chronic.Disease(d))
	}
	c.Villages = splitIDs(vs)
	return nil
}

// Campaign reads one campaign of a county.
func (s *Store) Campaign(ctx context.Context, county string, id int64) (*screening.Campaign, error) {
	var c screening.Campaign
	if err := scanCampaign(s.read().row(ctx, `SELECT `+campaignCols+` FROM screening_campaigns WHERE county_code = ? AND id = ?`, county, id), &c); err != nil {
		return nil, wrap("store.Campaign", err)
	}
	return &c, nil
}

// Campaigns lists a township's campaigns, the latest start first.
func (s *Store) Campaigns(ctx context.Context, county string, township int64) ([]screening.Campaign, error) {
	const op = "store.Campaigns"
	rows, err := s.read().query(ctx, `SELECT `+campaignCols+` FROM screening_campaigns WHERE county_code = ? AND township_id = ?
		ORDER BY starts_on DESC, id DESC LIMIT 100`, county, township)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []screening.Campaign
	for rows.Next() {
		var c screening.Campaign
		if err := scanCampaign(rows, &c); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, c)
	}
	return out, wrap(op, rows.Err())
}

// RaisedDays counts the other days on which the resident's blood pressure
// was raised in the campaign.
func (s *Store) RaisedDays(ctx context.Context, county string, campaignID, residentID int64, day care.Date) (int, error) {
	var n int
	err := s.read().row(ctx, `SELECT COUNT(DISTINCT date) FROM screening_measurements WHERE campaign_id = ? AND resident_id = ?
		AND county_code = ? AND bp_raised = 1 AND date <> ?`, campaignID, residentID, county, day).Scan(&n)
	return n, wrap("store.RaisedDays", err)
}

// SaveMeasurement stores a measurement with the cases it raised and its
// audit row in one transaction. Errors: ECONFLICT screening.measured_today,
// screening.case_pending.
func (s *Store) SaveMeasurement(ctx context.Context, m *screening.Measurement, cases []*screening.Case, ev audit.Event) error {
	const op = "store.SaveMeasurement"
	return s.Transact(ctx, func(tx db) error {
		id, err := tx.insert(ctx, `INSERT INTO screening_measurements (county_code, campaign_id, resident_id, village_id, date, sbp1, dbp1, sbp2, dbp2,
			glucose, meal_hours, cough_days, haemoptysis, bp_raised, results, by_account, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			m.CountyCode, m.CampaignID, m.ResidentID, m.VillageID, m.Date, m.SBP1, m.DBP1, m.SBP2, m.DBP2, m.Glucose, m.MealHours, m.CoughDays,
			boolInt(m.Haemoptysis), boolInt(m.BPRaised), resultsText(m.Results), m.By, s.ts(m.CreatedAt))
		if err != nil {
			if care.IsCode(mapErr(err), care.ECONFLICT) {
				return &care.Error{Code: care.ECONFLICT, Key: "screening.measured_today", Op: op, Err: err}
			}
			return wrap(op, err)
		}
		m.ID = id
		for _, c := range cases {
			if err := s.insertCase(ctx, tx, c); err != nil {
				return err
			}
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

func (s *Store) insertCase(ctx context.Context, tx db, c *screening.Case) error {
	const op = "store.insertCase"
	id, err := tx.insert(ctx, `INSERT INTO screening_cases (county_code, resident_id, village_id, township_id, disease, source, campaign_id, rule, detail,
		suspected_on, due_on, status, version, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.CountyCode, c.ResidentID, c.VillageID, c.TownshipID, string(c.Disease), c.Source, c.CampaignID, c.Rule, c.Detail, c.SuspectedOn, c.DueOn,
		c.Status, c.Version, s.ts(c.CreatedAt))
	if err != nil {
		if care.IsCode(mapErr(err), care.ECONFLICT) {
			return &care.Error{Code: care.ECONFLICT, Key: "screening.case_pending", Op: op, Err: err}
		}
		return wrap(op, err)
	}
	c.ID = id
	return nil
}

// CreateCase stores a suspected case from another source with its audit row.
func (s *Store) CreateCase(ctx context.Context, c *screening.Case, ev audit.Event) error {
	return s.Transact(ctx, func(tx db) error {
		if err := s.insertCase(ctx, tx, c); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

const caseCols = `c.id, c.county_code, c.resident_id, c.village_id, c.township_id, c.disease, c.source, c.campaign_id, c.rule, c.detail,
	c.suspected_on, c.due_on, c.status, c.closed_on, c.closed_by, c.reason, c.registration_id, c.version, c.created_at`

func scanCase(sc interface{ Scan(...any) error }, c *screening.Case, extra ...any) error {
	return sc.Scan(append([]any{&c.ID, &c.CountyCode, &c.ResidentID, &c.VillageID, &c.TownshipID, &c.Disease, &c.Source, &c.CampaignID, &c.Rule,
		&c.Detail, &c.SuspectedOn, &c.DueOn, &c.Status, &c.ClosedOn, &c.ClosedBy, &c.Reason, &c.RegistrationID, &c.Version, tsOf(&c.CreatedAt)}, extra...)...)
}

// Case reads one suspected case of a county.
func (s *Store) Case(ctx context.Context, county string, id int64) (*screening.Case, error) {
	var c screening.Case
	if err := scanCase(s.read().row(ctx, `SELECT `+caseCols+` FROM screening_cases c WHERE c.county_code = ? AND c.id = ?`, county, id), &c); err != nil {
		return nil, wrap("store.Case", err)
	}
	return &c, nil
}

// PendingCase reads the resident's pending case of a disease, nil if none.
func (s *Store) PendingCase(ctx context.Context, county string, residentID int64, d chronic.Disease) (*screening.Case, error) {
	cs, err := s.cases(ctx, "store.PendingCase", `SELECT `+caseCols+`, '', '' FROM screening_cases c
		WHERE c.county_code = ? AND c.resident_id = ? AND c.disease = ? AND c.status = 'pending'`, county, residentID, string(d))
	if err != nil || len(cs) == 0 {
		return nil, err
	}
	return &cs[0], nil
}

// CasesOf lists a resident's suspected cases, newest first.
func (s *Store) CasesOf(ctx context.Context, county string, residentID int64) ([]screening.Case, error) {
	return s.cases(ctx, "store.CasesOf", `SELECT `+caseCols+`, '', '' FROM screening_cases c
		WHERE c.county_code = ? AND c.resident_id = ? ORDER BY c.suspected_on DESC, c.id DESC`, county, residentID)
}

// PendingCases lists a township's pending confirmations with the
// resident's name and phone, the earliest due first (one index range).
func (s *Store) PendingCases(ctx context.Context, county string, township int64, limit int) ([]screening.Case, error) {
	return s.cases(ctx, "store.PendingCases", `SELECT `+caseCols+`, r.name, r.phone FROM screening_cases c
		JOIN residents r ON r.county_code = c.county_code AND r.id = c.resident_id
		WHERE c.township_id = ? AND c.status = 'pending' AND c.county_code = ? ORDER BY c.due_on, c.id LIMIT ?`, township, county, limit)
}

func (s *Store) cases(ctx context.Context, op, q string, args ...any) ([]screening.Case, error) {
	rows, err := s.read().query(ctx, q, args...)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []screening.Case
	for rows.Next() {
		var c screening.Case
		if err := scanCase(rows, &c, &c.Name, &c.Phone); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, c)
	}
	return out, wrap(op, rows.Err())
}

// CloseCase stores a case's confirmation or ruling out from the version it
// was read at, with its audit row. Errors: ECONFLICT screening.stale.
func (s *Store) CloseCase(ctx context.Context, c *screening.Case, ev audit.Event) error {
	const op = "store.CloseCase"
	return s.Transact(ctx, func(tx db) error {
		res, err := tx.exec(ctx, `UPDATE screening_cases SET status = ?, closed_on = ?, closed_by = ?, reason = ?, registration_id = ?, version = version + 1
			WHERE county_code = ? AND id = ? AND version = ? AND status = 'pending'`,
			c.Status, c.ClosedOn, c.ClosedBy, c.Reason, c.RegistrationID, c.CountyCode, c.ID, c.Version)
		if err != nil {
			return wrap(op, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return &care.Error{Code: care.ECONFLICT, Key: "screening.stale", Op: op}
		}
		if err := s.appendAudit(ctx, tx, ev); err != nil {
			return err
		}
		c.Version++
		return nil
	})
}

// CampaignCounts counts a campaign per village: the target (active
// residents aged ≥ its age on its first day who are not registered for
// every disease it screens), the residents screened, those with a suspected
// case from it and those confirmed. Every village of the campaign has a row.
func (s *Store) CampaignCounts(ctx context.Context, c *screening.Campaign) ([]screening.Counts, error) {
	const op = "store.CampaignCounts"
	by := map[int64]*screening.Counts{}
	out := make([]screening.Counts, len(c.Villages))
	for i, v := range c.Villages {
		out[i].VillageID = v
		by[v] = &out[i]
	}
	if len(c.Villages) == 0 {
		return out, nil
	}
	target, args := campaignTarget(c, c.Villages)
	scan := func(q string, args []any, set func(*screening.Counts, int, int)) error {
		rows, err := s.read().query(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var v int64
			var a, b int
			if err := rows.Scan(&v, &a, &b); err != nil {
				return err
			}
			if p := by[v]; p != nil {
				set(p, a, b)
			}
		}
		return rows.Err()
	}
	err := scan(`SELECT r.village_id, COUNT(*), 0 FROM residents r WHERE `+target+` GROUP BY r.village_id`, args,
		func(p *screening.Counts, a, _ int) { p.Target = a })
	if err == nil {
		err = scan(`SELECT village_id, COUNT(DISTINCT resident_id), 0 FROM screening_measurements WHERE campaign_id = ? AND county_code = ? GROUP BY village_id`,
			[]any{c.ID, c.CountyCode}, func(p *screening.Counts, a, _ int) { p.Screened = a })
	}
	if err == nil {
		err = scan(`SELECT village_id, COUNT(DISTINCT resident_id), COUNT(DISTINCT CASE WHEN status = 'confirmed' THEN resident_id END)
			FROM screening_cases WHERE campaign_id = ? AND county_code = ? GROUP BY village_id`,
			[]any{c.ID, c.CountyCode}, func(p *screening.Counts, a, b int) { p.Suspected, p.Confirmed = a, b })
	}
	return out, wrap(op, err)
}

// campaignTarget is the condition on residents r of the campaign's target
// in villages, with its arguments: active, aged ≥ MinAge on the
// campaign's first day, not registered for every disease it screens.
func campaignTarget(c *screening.Campaign, villages []int64) (string, []any) {
	born := care.DateOf(c.StartsOn.Time().AddDate(-c.MinAge, 0, 0))
	args := append([]any{c.CountyCode, born}, int64Args(villages)...)
	for _, d := range c.Diseases {
		args = append(args, string(d))
	}
	args = append(args, len(c.Diseases))
	return `r.county_code = ? AND r.status = 'active' AND r.birth_date <= ? AND r.village_id IN (` + placeholders(len(villages)) + `)
		AND (SELECT COUNT(*) FROM chronic_registrations g WHERE g.county_code = r.county_code AND g.resident_id = r.id AND g.status = 'active'
			AND g.disease IN (` + placeholders(len(c.Diseases)) + `)) < ?`, args
}

// Unscreened lists, ascending, the IDs of the campaign's target residents
// of a village with no measurement in the campaign yet.
func (s *Store) Unscreened(ctx context.Context, c *screening.Campaign, village int64) ([]int64, error) {
	const op = "store.Unscreened"
	if len(c.Diseases) == 0 {
		return nil, nil
	}
	target, args := campaignTarget(c, []int64{village})
	return s.queryIDs(ctx, op, `SELECT r.id FROM residents r WHERE `+target+`
		AND NOT EXISTS (SELECT 1 FROM screening_measurements m WHERE m.campaign_id = ? AND m.resident_id = r.id) ORDER BY r.id`,
		append(args, c.ID)...)
}

// MeasurementsOf lists a resident's screening measurements, newest first.
func (s *Store) MeasurementsOf(ctx context.Context, county string, residentID int64) ([]screening.Measurement, error) {
	const op = "store.MeasurementsOf"
	rows, err := s.read().query(ctx, `SELECT id, county_code, campaign_id, resident_id, village_id, date, sbp1, dbp1, sbp2, dbp2, glucose, meal_hours,
		cough_days, haemoptysis, bp_raised, results, by_account, created_at FROM screening_measurements WHERE county_code = ? AND resident_id = ?
		ORDER BY date DESC, id DESC LIMIT 50`, county, residentID)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []screening.Measurement
	for rows.Next() {
		var m screening.Measurement
		var blood, raised int
		var results string
		if err := rows.Scan(&m.ID, &m.CountyCode, &m.CampaignID, &m.ResidentID, &m.VillageID, &m.Date, &m.SBP1, &m.DBP1, &m.SBP2, &m.DBP2,
			&m.Glucose, &m.MealHours, &m.CoughDays, &blood, &raised, &results, &m.By, tsOf(&m.CreatedAt)); err != nil {
			return nil, wrap(op, err)
		}
		m.Haemoptysis, m.BPRaised, m.Results = blood == 1, raised == 1, map[chronic.Disease]screening.Result{}
		for _, kv := range splitCodes(results) {
			if d, r, ok := strings.Cut(kv, "="); ok {
				m.Results[chronic.Disease(d)] = screening.Result(r)
			}
		}
		out = append(out, m)
	}
	return out, wrap(op, rows.Err())
}

// ActiveDiseases lists the diseases of a resident's active registrations.
func (s *Store) ActiveDiseases(ctx context.Context, county string, residentID int64) ([]chronic.Disease, error) {
	const op = "store.ActiveDiseases"
	rows, err := s.read().query(ctx, `SELECT disease FROM chronic_registrations WHERE county_code = ? AND resident_id = ? AND status = 'active'`,
		county, residentID)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []chronic.Disease
	for rows.Next() {
		var d chronic.Disease
		if err := rows.Scan(&d); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, d)
	}
	return out, wrap(op, rows.Err())
}

// resultsText encodes a measurement's results as "disease=result" pairs.
func resultsText(rs map[chronic.Disease]screening.Result) string {
	var out []string
	for _, d := range screening.Screenable {
		if r, ok := rs[d]; ok {
			out = append(out, string(d)+"="+string(r))
		}
	}
	return strings.Join(out, ",")
}

func joinDiseases(ds []chronic.Disease) string {
	ss := make([]string, len(ds))
	for i, d := range ds {
		ss[i] = string(d)
	}
	return strings.Join(ss, ",")
}
