package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"countycare/audit"
	"countycare/care"
	"countycare/settle"
)

// SavePolicy files a policy version. A version already filed is ECONFLICT.
func (s *Store) SavePolicy(ctx context.Context, sp *settle.StoredPolicy, ev audit.Event) error {
	sp.CreatedAt = s.now()
	return s.Transact(ctx, func(tx db) error {
		id, err := tx.insert(ctx, `INSERT INTO settle_policies (county_code, year, version, name, effective_from, effective_to, body, created_by, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, sp.County, sp.Year, sp.Version, sp.Name, sp.From, sp.To, string(sp.Body), sp.CreatedBy, s.ts(sp.CreatedAt))
		if err != nil {
			return wrap("store.SavePolicy", err)
		}
		sp.ID = id
		return s.appendAudit(ctx, tx, ev)
	})
}

const policyCols = `id, county_code, year, version, name, effective_from, effective_to, body, created_by, created_at`

func scanPolicy(sc interface{ Scan(...any) error }) (*settle.StoredPolicy, error) {
	var sp settle.StoredPolicy
	var body string
	if err := sc.Scan(&sp.ID, &sp.County, &sp.Year, &sp.Version, &sp.Name, &sp.From, &sp.To, &body, &sp.CreatedBy, tsOf(&sp.CreatedAt)); err != nil {
		return nil, err
	}
	sp.Body = []byte(body)
	p, err := settle.ParsePolicy(sp.Body)
	if err != nil {
		return nil, fmt.Errorf("stored policy %d no longer parses: %w", sp.ID, err)
	}
	p.Version = sp.Version
	sp.Policy = p
	return &sp, nil
}

// Policies lists a county's policy versions, newest first.
func (s *Store) Policies(ctx context.Context, county string) ([]settle.StoredPolicy, error) {
	rows, err := s.read().query(ctx, `SELECT `+policyCols+` FROM settle_policies WHERE county_code = ? ORDER BY year DESC, version DESC`, county)
	if err != nil {
		return nil, wrap("store.Policies", err)
	}
	defer rows.Close()
	var out []settle.StoredPolicy
	for rows.Next() {
		sp, err := scanPolicy(rows)
		if err != nil {
			return nil, wrap("store.Policies", err)
		}
		out = append(out, *sp)
	}
	return out, wrap("store.Policies", rows.Err())
}

// PolicyFor returns the newest policy version in force on day.
func (s *Store) PolicyFor(ctx context.Context, county string, day care.Date) (*settle.StoredPolicy, error) {
	sp, err := scanPolicy(s.read().row(ctx, `SELECT `+policyCols+` FROM settle_policies
		WHERE county_code = ? AND effective_from <= ? AND effective_to >= ? ORDER BY version DESC LIMIT 1`, county, day, day))
	return sp, wrap("store.PolicyFor", err)
}

// PolicyIDFor returns the id of the newest policy version in force on day.
func (s *Store) PolicyIDFor(ctx context.Context, county string, day care.Date) (int64, error) {
	var id int64
	err := s.read().row(ctx, `SELECT id FROM settle_policies WHERE county_code = ? AND effective_from <= ? AND effective_to >= ? ORDER BY version DESC LIMIT 1`, county, day, day).Scan(&id)
	return id, wrap("store.PolicyIDFor", err)
}

// SettlementPolicy returns a policy version by id.
func (s *Store) SettlementPolicy(ctx context.Context, id int64) (*settle.StoredPolicy, error) {
	sp, err := scanPolicy(s.read().row(ctx, `SELECT `+policyCols+` FROM settle_policies WHERE id = ?`, id))
	return sp, wrap("store.SettlementPolicy", err)
}

const settlementCols = `id, county_code, resident_id, institution_id, visit_id, idempotency_key, claim_hash, policy_id, year, drg, status,
	claim, result, acc_before, created_by, created_at, reversed_by, reversed_at, reversal_reason, replaced_by`

func scanSettlement(sc interface{ Scan(...any) error }, st *settle.Settlement) error {
	var claim, result, before string
	if err := sc.Scan(&st.ID, &st.County, &st.ResidentID, &st.InstitutionID, &st.VisitID, &st.Key, &st.ClaimHash, &st.PolicyID, &st.Year, &st.DRG, &st.Status,
		&claim, &result, &before, &st.CreatedBy, tsOf(&st.CreatedAt), idOf(&st.ReversedBy), tsOf(&st.ReversedAt), &st.ReversalReason, idOf(&st.ReplacedBy)); err != nil {
		return err
	}
	if err := json.Unmarshal([]byte(claim), &st.Claim); err != nil {
		return fmt.Errorf("settlement %d claim: %w", st.ID, err)
	}
	if err := json.Unmarshal([]byte(result), &st.Result); err != nil {
		return fmt.Errorf("settlement %d result: %w", st.ID, err)
	}
	if err := json.Unmarshal([]byte(before), &st.AccBefore); err != nil {
		return fmt.Errorf("settlement %d accumulators: %w", st.ID, err)
	}
	return nil
}

// Settlement returns one settlement; ENOTFOUND if none.
func (s *Store) Settlement(ctx context.Context, id int64) (*settle.Settlement, error) {
	var st settle.Settlement
	if err := scanSettlement(s.read().row(ctx, `SELECT `+settlementCols+` FROM settlements WHERE id = ?`, id), &st); err != nil {
		return nil, wrap("store.Settlement", err)
	}
	return &st, nil
}

// Settlements lists settlements matching f, newest first.
func (s *Store) Settlements(ctx context.Context, f settle.SettlementFilter) ([]settle.Settlement, error) {
	q := `SELECT ` + settlementCols + ` FROM settlements WHERE county_code = ?`
	args := []any{f.County}
	if f.ResidentID != 0 {
		q += ` AND resident_id = ?`
		args = append(args, f.ResidentID)
	}
	if f.Status != "" {
		q += ` AND status = ?`
		args = append(args, f.Status)
	}
	if !f.From.IsZero() {
		q += ` AND visit_date >= ?`
		args = append(args, f.From)
	}
	if !f.To.IsZero() {
		q += ` AND visit_date <= ?`
		args = append(args, f.To)
	}
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	rows, err := s.read().query(ctx, q+` ORDER BY id DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, wrap("store.Settlements", err)
	}
	defer rows.Close()
	var out []settle.Settlement
	for rows.Next() {
		var st settle.Settlement
		if err := scanSettlement(rows, &st); err != nil {
			return nil, wrap("store.Settlements", err)
		}
		out = append(out, st)
	}
	return out, wrap("store.Settlements", rows.Err())
}

// SettleAccumulators returns a patient's year-to-date totals (zero for a new year).
func (s *Store) SettleAccumulators(ctx context.Context, county string, residentID int64, year int) (settle.Accumulators, error) {
	var data string
	var acc settle.Accumulators
	err := s.read().row(ctx, `SELECT data FROM settle_accumulators WHERE county_code = ? AND resident_id = ? AND year = ?`, county, residentID, year).Scan(&data)
	if care.IsCode(mapErr(err), care.ENOTFOUND) {
		return acc, nil
	}
	if err != nil {
		return acc, wrap("store.SettleAccumulators", err)
	}
	if err := json.Unmarshal([]byte(data), &acc); err != nil {
		return acc, wrap("store.SettleAccumulators", err)
	}
	return acc, nil
}

// lockAccumulators reads a patient-year's accumulators inside tx, locking
// the row (PostgreSQL) so concurrent settlements of one patient serialise.
func (s *Store) lockAccumulators(ctx context.Context, tx db, county string, residentID int64, year int) (settle.Accumulators, error) {
	var acc settle.Accumulators
	if _, err := tx.exec(ctx, `INSERT INTO settle_accumulators (county_code, resident_id, year, data, updated_at) VALUES (?, ?, ?, '{}', ?)
		ON CONFLICT (county_code, resident_id, year) DO NOTHING`, county, residentID, year, s.ts(s.now())); err != nil {
		return acc, err
	}
	lock := ""
	if s.dialect == Postgres {
		lock = " FOR UPDATE"
	}
	var data string
	if err := tx.row(ctx, `SELECT data FROM settle_accumulators WHERE county_code = ? AND resident_id = ? AND year = ?`+lock, county, residentID, year).Scan(&data); err != nil {
		return acc, err
	}
	return acc, json.Unmarshal([]byte(data), &acc)
}

func (s *Store) writeAccumulators(ctx context.Context, tx db, county string, residentID int64, year int, acc settle.Accumulators) error {
	if acc.Negative() {
		return care.Internal("store.writeAccumulators", fmt.Errorf("negative accumulators for resident %d year %d", residentID, year))
	}
	b, _ := json.Marshal(acc)
	_, err := tx.exec(ctx, `UPDATE settle_accumulators SET data = ?, updated_at = ? WHERE county_code = ? AND resident_id = ? AND year = ?`,
		string(b), s.ts(s.now()), county, residentID, year)
	return err
}

// SettleTx stores a settlement (see settle.Repository).
func (s *Store) SettleTx(ctx context.Context, p *settle.Pending, replace int64) error {
	return s.Transact(ctx, func(tx db) error { return s.settleInTx(ctx, tx, p, replace) })
}

// settleInTx is SettleTx inside a transaction of the caller's.
func (s *Store) settleInTx(ctx context.Context, tx db, p *settle.Pending, replace int64) error {
	const op = "store.SettleTx"
	st, compute, recompute, ev := p.Settlement, p.Compute, p.Recompute, &p.Event
	p.Replay = false
	{
		var prevID int64
		var prevHash string
		err := tx.row(ctx, `SELECT id, claim_hash FROM settlements WHERE county_code = ? AND idempotency_key = ?`, st.County, st.Key).Scan(&prevID, &prevHash)
		switch {
		case err == nil && prevHash != st.ClaimHash:
			return &care.Error{Code: care.ECONFLICT, Key: "settle.key_reused", Op: op}
		case err == nil:
			p.Replay = true
			return scanSettlement(tx.row(ctx, `SELECT `+settlementCols+` FROM settlements WHERE id = ?`, prevID), st)
		case !care.IsCode(mapErr(err), care.ENOTFOUND):
			return wrap(op, err)
		}
		acc, err := s.lockAccumulators(ctx, tx, st.County, st.ResidentID, st.Year)
		if err != nil {
			return wrap(op, err)
		}
		carried := settle.Fen(0)
		var old *settle.Settlement
		if replace != 0 {
			// A correction into another year also settles the old year again: lock its totals first.
			var oldYear int
			if err := tx.row(ctx, `SELECT year FROM settlements WHERE id = ? AND county_code = ?`, replace, st.County).Scan(&oldYear); err != nil {
				return wrap(op, err)
			}
			if oldYear != st.Year {
				if _, err := s.lockAccumulators(ctx, tx, st.County, st.ResidentID, oldYear); err != nil {
					return wrap(op, err)
				}
			}
			if old, carried, err = s.markReversed(ctx, tx, st.County, replace, st.CreatedBy, "corrected bill", true); err != nil {
				return err
			}
		}
		// Fast path: a new visit that comes last in the person-year's date
		// order settles on the year's totals. Otherwise (a correction, or a
		// bill dated before visits already settled) the year is settled
		// again in date order below.
		var later int
		if old == nil {
			if err := tx.row(ctx, `SELECT COUNT(*) FROM settlements WHERE county_code = ? AND resident_id = ? AND year = ? AND status = 'settled' AND visit_date > ?`,
				st.County, st.ResidentID, st.Year, st.Claim.Date).Scan(&later); err != nil {
				return wrap(op, err)
			}
		}
		var plan *refold
		if old == nil && later == 0 {
			res, err := compute(acc)
			if err != nil {
				return err
			}
			st.Result, st.AccBefore = *res, acc
		} else {
			if plan, err = s.refold(ctx, tx, st.County, st.ResidentID, st.Year, st, compute, recompute); err != nil {
				return err
			}
		}
		if err := s.insertSettlement(ctx, tx, st); err != nil {
			return err
		}
		if replace != 0 {
			if _, err := tx.exec(ctx, `UPDATE settlements SET replaced_by = ? WHERE id = ?`, st.ID, replace); err != nil {
				return wrap(op, err)
			}
		}
		if plan == nil {
			if err := s.writeAccumulators(ctx, tx, st.County, st.ResidentID, st.Year, acc.Add(st.Result.Delta, 1)); err != nil {
				return wrap(op, err)
			}
		} else {
			cause, causeID := settle.CauseEarlierVisit, st.ID
			if old != nil {
				cause, causeID = settle.CauseCorrection, old.ID
			}
			n, err := s.applyRefold(ctx, tx, plan, cause, causeID, st.CreatedBy)
			if err != nil {
				return err
			}
			if n > 0 {
				ev.Detail += fmt.Sprintf("; %d later visit(s) of the year settled again", n)
			}
		}
		if old != nil && old.Year != st.Year {
			// A correction that moved the visit to another year: the old
			// year's later visits follow without it.
			oplan, err := s.refold(ctx, tx, st.County, st.ResidentID, old.Year, nil, nil, recompute)
			if err != nil {
				return err
			}
			if _, err := s.applyRefold(ctx, tx, oplan, settle.CauseCorrection, old.ID, st.CreatedBy); err != nil {
				return err
			}
		}
		if err := s.receivableFor(ctx, tx, st, carried); err != nil {
			return wrap(op, err)
		}
		if err := s.refreshHouseholdCost(ctx, tx, st.County, st.ResidentID, st.Year); err != nil {
			return wrap(op, err)
		}
		if old != nil && old.Year != st.Year {
			if err := s.refreshHouseholdCost(ctx, tx, st.County, st.ResidentID, old.Year); err != nil {
				return wrap(op, err)
			}
		}
		return s.appendAudit(ctx, tx, *ev)
	}
}

// insertSettlement writes a new live settlement with its result.
func (s *Store) insertSettlement(ctx context.Context, tx db, st *settle.Settlement) error {
	const op = "store.SettleTx"
	claim, _ := json.Marshal(st.Claim)
	result, _ := json.Marshal(st.Result.WithoutSteps())
	before, _ := json.Marshal(st.AccBefore)
	st.CreatedAt = s.now()
	r := &st.Result
	var err error
	st.ID, err = tx.insert(ctx, `INSERT INTO settlements (county_code, resident_id, institution_id, visit_id, idempotency_key, claim_hash, policy_id, year,
		visit_date, visit_type, level, poverty, status, total, eligible, basic, critical, assistance, supplementary, bottom_line, patient, drugs, materials, drg,
		claim, result, acc_before, created_by, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'settled', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		st.County, st.ResidentID, st.InstitutionID, st.VisitID, st.Key, st.ClaimHash, st.PolicyID, st.Year,
		st.Claim.Date, st.Claim.VisitType, st.Claim.Level, st.Claim.Poverty, r.Total, r.Eligible,
		r.Paid(settle.LayerBasic), r.Paid(settle.LayerCritical), r.Paid(settle.LayerAssistance), r.Paid(settle.LayerSupplementary), r.Paid(settle.LayerBottomLine),
		r.Patient, r.Drugs, r.Materials, st.DRG, string(claim), string(result), string(before), st.CreatedBy, s.ts(st.CreatedAt))
	if err != nil {
		if care.IsCode(mapErr(err), care.ECONFLICT) {
			return &care.Error{Code: care.ECONFLICT, Key: "settle.visit_settled", Args: []any{st.VisitID}, Op: op, Err: err}
		}
		return wrap(op, err)
	}
	return nil
}

// refold is a person-year settled again in date order: the stored visits
// whose result or prior accumulators changed, and the year's new totals.
type refold struct {
	county   string
	resident int64
	year     int
	changed  []refolded
	final    settle.Accumulators
}

type refolded struct {
	old    settle.Settlement // as stored
	res    *settle.Result
	before settle.Accumulators
}

// refold settles a person-year's live visits again in date order (visit
// date, then id: the order of Resettler and `countycare resettle`) from
// zero accumulators, each under its own policy version (recompute). fresh,
// if not nil, is a visit being settled now: it takes its place after every
// visit of its date or earlier (its id will be the highest), compute
// settles it, and its Result and AccBefore are set. Call it with the
// person-year's accumulators row locked.
func (s *Store) refold(ctx context.Context, tx db, county string, residentID int64, year int, fresh *settle.Settlement,
	compute func(settle.Accumulators) (*settle.Result, error), recompute settle.Recompute) (*refold, error) {
	const op = "store.refold"
	rows, err := tx.query(ctx, `SELECT `+settlementCols+` FROM settlements WHERE county_code = ? AND resident_id = ? AND year = ? AND status = 'settled' ORDER BY visit_date, id`,
		county, residentID, year)
	if err != nil {
		return nil, wrap(op, err)
	}
	var chain []settle.Settlement
	for rows.Next() {
		var st settle.Settlement
		if err := scanSettlement(rows, &st); err != nil {
			rows.Close()
			return nil, wrap(op, err)
		}
		chain = append(chain, st)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrap(op, err)
	}
	plan := &refold{county: county, resident: residentID, year: year}
	var acc settle.Accumulators
	settleFresh := func() error {
		res, err := compute(acc)
		if err != nil {
			return err
		}
		fresh.Result, fresh.AccBefore = *res, acc
		acc = acc.Add(res.Delta, 1)
		fresh = nil
		return nil
	}
	for i := range chain {
		old := &chain[i]
		if fresh != nil && old.Claim.Date > fresh.Claim.Date {
			if err := settleFresh(); err != nil {
				return nil, err
			}
		}
		res, err := recompute(old, acc)
		if err != nil {
			return nil, care.Internal(op, fmt.Errorf("settlement %d no longer settles: %w", old.ID, err))
		}
		if !settle.SameSplit(res, &old.Result) || !acc.Equal(old.AccBefore) || !res.Delta.Equal(old.Result.Delta) {
			plan.changed = append(plan.changed, refolded{*old, res, acc})
		}
		acc = acc.Add(res.Delta, 1)
	}
	if fresh != nil {
		if err := settleFresh(); err != nil {
			return nil, err
		}
	}
	plan.final = acc
	return plan, nil
}

// applyRefold writes a refold: each changed visit's split and prior
// accumulators, an adjustment row for each whose amounts changed (cause
// and the settlement that caused it), the patient's share on a
// treat-first-pay-later balance, and the year's totals. It returns how
// many visits' amounts changed.
func (s *Store) applyRefold(ctx context.Context, tx db, plan *refold, cause string, causeID, by int64) (int, error) {
	const op = "store.applyRefold"
	n := 0
	now := s.now()
	for _, c := range plan.changed {
		r := c.res
		result, _ := json.Marshal(r.WithoutSteps())
		before, _ := json.Marshal(c.before)
		if _, err := tx.exec(ctx, `UPDATE settlements SET result = ?, acc_before = ?, total = ?, eligible = ?, basic = ?, critical = ?, assistance = ?,
			supplementary = ?, bottom_line = ?, patient = ?, drugs = ?, materials = ? WHERE id = ? AND status = 'settled'`,
			string(result), string(before), r.Total, r.Eligible, r.Paid(settle.LayerBasic), r.Paid(settle.LayerCritical), r.Paid(settle.LayerAssistance),
			r.Paid(settle.LayerSupplementary), r.Paid(settle.LayerBottomLine), r.Patient, r.Drugs, r.Materials, c.old.ID); err != nil {
			return 0, wrap(op, err)
		}
		if settle.SameSplit(r, &c.old.Result) {
			continue
		}
		n++
		b, _ := json.Marshal(settle.Amounts(&c.old.Result))
		a, _ := json.Marshal(settle.Amounts(r))
		if _, err := tx.exec(ctx, `INSERT INTO settlement_adjustments (county_code, settlement_id, resident_id, year, cause, cause_settlement_id, before, after,
			patient_change, insurers_change, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			plan.county, c.old.ID, plan.resident, plan.year, cause, causeID, string(b), string(a),
			r.Patient-c.old.Result.Patient, r.Insurers-c.old.Result.Insurers, by, s.ts(now)); err != nil {
			return 0, wrap(op, err)
		}
		// A treat-first-pay-later balance follows the patient's new share;
		// what was already paid stays paid (over the new share: a refund is due).
		if _, err := tx.exec(ctx, `UPDATE receivables SET amount = ?, status = CASE WHEN paid > ? THEN 'refund_due' WHEN paid = ? THEN 'paid' ELSE 'open' END
			WHERE county_code = ? AND settlement_id = ? AND status <> 'cancelled'`, r.Patient, r.Patient, r.Patient, plan.county, c.old.ID); err != nil {
			return 0, wrap(op, err)
		}
	}
	return n, wrap(op, s.writeAccumulators(ctx, tx, plan.county, plan.resident, plan.year, plan.final))
}

// Adjustments lists the re-settlements of settlement id, oldest first.
func (s *Store) Adjustments(ctx context.Context, county string, id int64) ([]settle.Adjustment, error) {
	const op = "store.Adjustments"
	rows, err := s.read().query(ctx, `SELECT id, settlement_id, cause, cause_settlement_id, before, after, created_by, created_at
		FROM settlement_adjustments WHERE county_code = ? AND settlement_id = ? ORDER BY id`, county, id)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []settle.Adjustment
	for rows.Next() {
		var a settle.Adjustment
		var b, af string
		if err := rows.Scan(&a.ID, &a.SettlementID, &a.Cause, &a.CauseID, &b, &af, &a.CreatedBy, tsOf(&a.CreatedAt)); err != nil {
			return nil, wrap(op, err)
		}
		if err := json.Unmarshal([]byte(b), &a.Before); err != nil {
			return nil, wrap(op, err)
		}
		if err := json.Unmarshal([]byte(af), &a.After); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, a)
	}
	return out, wrap(op, rows.Err())
}

// receivableFor turns the patient's share of a treat-first-pay-later
// admission into a receivable; payments on a corrected bill's earlier
// receivable are carried over.
func (s *Store) receivableFor(ctx context.Context, tx db, st *settle.Settlement, carried settle.Fen) error {
	var admID int64
	err := tx.row(ctx, `SELECT id FROM admissions WHERE county_code = ? AND visit_id = ? AND no_deposit = ?`, st.County, st.VisitID, true).Scan(&admID)
	if care.IsCode(mapErr(err), care.ENOTFOUND) {
		return nil
	}
	if err != nil {
		return err
	}
	status := "open"
	switch {
	case carried > st.Result.Patient:
		status = "refund_due"
	case carried == st.Result.Patient:
		status = "paid"
	}
	if _, err := tx.exec(ctx, `INSERT INTO receivables (county_code, resident_id, settlement_id, amount, paid, instalments, status, created_at) VALUES (?, ?, ?, ?, ?, 1, ?, ?)`,
		st.County, st.ResidentID, st.ID, st.Result.Patient, carried, status, s.ts(s.now())); err != nil {
		return err
	}
	_, err = tx.exec(ctx, `UPDATE admissions SET status = 'settled' WHERE id = ?`, admID)
	return err
}

// markReversed marks settlement id reversed and cancels its receivable; the
// caller settles its person-year again (refold). It returns the settlement
// and what was paid on its receivable; paid money blocks a plain reversal
// (allowCarry false).
func (s *Store) markReversed(ctx context.Context, tx db, county string, id, by int64, reason string, allowCarry bool) (*settle.Settlement, settle.Fen, error) {
	const op = "store.ReverseSettlement"
	var old settle.Settlement
	if err := scanSettlement(tx.row(ctx, `SELECT `+settlementCols+` FROM settlements WHERE id = ? AND county_code = ?`, id, county), &old); err != nil {
		return nil, 0, wrap(op, err)
	}
	if old.Status != settle.StatusSettled {
		return nil, 0, &care.Error{Code: care.ECONFLICT, Key: "settle.already_reversed", Op: op}
	}
	var recID int64
	var paid settle.Fen
	err := tx.row(ctx, `SELECT id, paid FROM receivables WHERE county_code = ? AND settlement_id = ?`, county, id).Scan(&recID, &paid)
	if err != nil && !care.IsCode(mapErr(err), care.ENOTFOUND) {
		return nil, 0, wrap(op, err)
	}
	if recID != 0 {
		if paid > 0 && !allowCarry {
			return nil, 0, &care.Error{Code: care.ECONFLICT, Key: "settle.receivable_paid", Args: []any{paid.String()}, Op: op}
		}
		if _, err := tx.exec(ctx, `UPDATE receivables SET status = 'cancelled' WHERE id = ?`, recID); err != nil {
			return nil, 0, wrap(op, err)
		}
	}
	res, err := tx.exec(ctx, `UPDATE settlements SET status = 'reversed', reversed_by = ?, reversed_at = ?, reversal_reason = ? WHERE id = ? AND status = 'settled'`,
		by, s.ts(s.now()), reason, id)
	if err != nil {
		return nil, 0, wrap(op, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return nil, 0, &care.Error{Code: care.ECONFLICT, Key: "settle.already_reversed", Op: op}
	}
	old.Status = settle.StatusReversed
	return &old, paid, nil
}

// ReverseSettlement reverses a settlement with its audit row; the visits
// after it in the person-year are settled again (refold) in the same
// transaction.
func (s *Store) ReverseSettlement(ctx context.Context, county string, id, by int64, reason string, recompute settle.Recompute, ev audit.Event) (*settle.Settlement, error) {
	const op = "store.ReverseSettlement"
	var out *settle.Settlement
	err := s.Transact(ctx, func(tx db) error {
		var residentID int64
		var year int
		if err := tx.row(ctx, `SELECT resident_id, year FROM settlements WHERE id = ? AND county_code = ?`, id, county).Scan(&residentID, &year); err != nil {
			return wrap(op, err)
		}
		if _, err := s.lockAccumulators(ctx, tx, county, residentID, year); err != nil {
			return wrap(op, err)
		}
		old, _, err := s.markReversed(ctx, tx, county, id, by, reason, false)
		if err != nil {
			return err
		}
		plan, err := s.refold(ctx, tx, county, residentID, year, nil, nil, recompute)
		if err != nil {
			return err
		}
		n, err := s.applyRefold(ctx, tx, plan, settle.CauseReversal, id, by)
		if err != nil {
			return err
		}
		if n > 0 {
			ev.Detail += fmt.Sprintf("; %d later visit(s) of the year settled again", n)
		}
		if err := s.refreshHouseholdCost(ctx, tx, county, residentID, year); err != nil {
			return wrap(op, err)
		}
		out = old
		return s.appendAudit(ctx, tx, ev)
	})
	return out, err
}

// EachLiveSettlement calls fn for every live settlement of a county year,
// ordered by resident, visit date and id (the order Resettler needs).
func (s *Store) EachLiveSettlement(ctx context.Context, county string, year int, fn func(st *settle.Settlement) error) error {
	rows, err := s.r.QueryContext(ctx, s.rebind(`SELECT `+settlementCols+` FROM settlements WHERE county_code = ? AND year = ? AND status = 'settled' ORDER BY resident_id, visit_date, id`), county, year)
	if err != nil {
		return wrap("store.EachLiveSettlement", err)
	}
	defer rows.Close()
	var st settle.Settlement
	for rows.Next() {
		st = settle.Settlement{}
		if err := scanSettlement(rows, &st); err != nil {
			return wrap("store.EachLiveSettlement", err)
		}
		if err := fn(&st); err != nil {
			return err
		}
	}
	return wrap("store.EachLiveSettlement", rows.Err())
}

// ResettleTx writes a resettlement in one transaction: every visit's new
// split and prior accumulators, every resident's year totals, one audit row.
type ResettleTx struct {
	s      *Store
	tx     *sql.Tx
	upd    *sql.Stmt
	acc    *sql.Stmt
	county string
	year   int
}

// BeginResettle opens the transaction.
func (s *Store) BeginResettle(ctx context.Context, county string, year int) (*ResettleTx, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, wrap("store.BeginResettle", err)
	}
	if s.dialect == SQLite {
		// A year is a large transaction: keep its pages in memory (256 MiB)
		// rather than spill them to the WAL early.
		if _, err := tx.ExecContext(ctx, `PRAGMA cache_size = -262144`); err != nil {
			tx.Rollback()
			return nil, wrap("store.BeginResettle", err)
		}
	}
	upd, err := tx.PrepareContext(ctx, s.rebind(`UPDATE settlements SET policy_id = ?, result = ?, acc_before = ?, total = ?, eligible = ?, basic = ?, critical = ?,
		assistance = ?, supplementary = ?, bottom_line = ?, patient = ?, drugs = ?, materials = ? WHERE id = ?`))
	if err != nil {
		tx.Rollback()
		return nil, wrap("store.BeginResettle", err)
	}
	acc, err := tx.PrepareContext(ctx, s.rebind(`INSERT INTO settle_accumulators (county_code, resident_id, year, data, updated_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (county_code, resident_id, year) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at`))
	if err != nil {
		tx.Rollback()
		return nil, wrap("store.BeginResettle", err)
	}
	return &ResettleTx{s: s, tx: tx, upd: upd, acc: acc, county: county, year: year}, nil
}

// ResettleRow is one prepared write of a resettlement: a visit's new
// split or a resident's year totals. Preparing (encoding) can run on
// another goroutine than Write, so a pass uses both cores.
type ResettleRow struct {
	visit bool
	args  []any
}

// VisitRow prepares one visit's new split.
func (t *ResettleTx) VisitRow(st *settle.Settlement, r *settle.Result, before settle.Accumulators, policyID int64) ResettleRow {
	result, _ := json.Marshal(r.WithoutSteps())
	b, _ := json.Marshal(&before)
	return ResettleRow{true, []any{policyID, string(result), string(b), r.Total, r.Eligible, r.Paid(settle.LayerBasic), r.Paid(settle.LayerCritical),
		r.Paid(settle.LayerAssistance), r.Paid(settle.LayerSupplementary), r.Paid(settle.LayerBottomLine), r.Patient, r.Drugs, r.Materials, st.ID}}
}

// ResidentRow prepares a resident's year totals.
func (t *ResettleTx) ResidentRow(residentID int64, acc settle.Accumulators) ResettleRow {
	b, _ := json.Marshal(&acc)
	return ResettleRow{false, []any{t.county, residentID, t.year, string(b), t.s.ts(t.s.now())}}
}

// Write executes a prepared row.
func (t *ResettleTx) Write(ctx context.Context, row ResettleRow) error {
	st := t.acc
	if row.visit {
		st = t.upd
	}
	_, err := st.ExecContext(ctx, row.args...)
	return wrap("store.ResettleTx", err)
}

// Commit rebuilds the year's household totals, appends the audit row and commits.
func (t *ResettleTx) Commit(ctx context.Context, ev audit.Event) error {
	if err := t.s.refreshHouseholdCosts(ctx, db{q: t.tx, s: t.s}, t.county, t.year); err != nil {
		t.Rollback()
		return wrap("store.ResettleTx", err)
	}
	if err := t.s.appendAudit(ctx, db{q: t.tx, s: t.s}, ev); err != nil {
		t.Rollback()
		return err
	}
	err := t.tx.Commit()
	t.restore()
	return wrap("store.ResettleTx", err)
}

// Rollback abandons the resettlement.
func (t *ResettleTx) Rollback() {
	t.tx.Rollback()
	t.restore()
}

func (t *ResettleTx) restore() {
	if t.s.dialect == SQLite {
		t.s.w.ExecContext(context.Background(), `PRAGMA cache_size = -2000`)
	}
}

// EachLiveBill is EachLiveSettlement for resettlement: it reads only the
// bill and the stored split's amounts (no stored explanation or prior
// accumulators), which is most of the cost of a year's pass.
func (s *Store) EachLiveBill(ctx context.Context, county string, year int, fn func(st *settle.Settlement) error) error {
	rows, err := s.r.QueryContext(ctx, s.rebind(`SELECT id, resident_id, claim, basic, critical, assistance, supplementary, bottom_line, patient, total
		FROM settlements WHERE county_code = ? AND year = ? AND status = 'settled' ORDER BY resident_id, visit_date, id`), county, year)
	if err != nil {
		return wrap("store.EachLiveBill", err)
	}
	defer rows.Close()
	var claim []byte
	for rows.Next() {
		st := settle.Settlement{County: county, Year: year, Status: settle.StatusSettled}
		var paid [5]settle.Fen
		if err := rows.Scan(&st.ID, &st.ResidentID, &claim, &paid[0], &paid[1], &paid[2], &paid[3], &paid[4], &st.Result.Patient, &st.Result.Total); err != nil {
			return wrap("store.EachLiveBill", err)
		}
		if err := json.Unmarshal(claim, &st.Claim); err != nil {
			return wrap("store.EachLiveBill", fmt.Errorf("settlement %d claim: %w", st.ID, err))
		}
		st.Result.Layers = make([]settle.LayerResult, len(settle.LayerOrder))
		for i, l := range settle.LayerOrder {
			st.Result.Layers[i] = settle.LayerResult{Layer: l, Paid: paid[i]}
		}
		if err := fn(&st); err != nil {
			return err
		}
	}
	return wrap("store.EachLiveBill", rows.Err())
}
