package store

import (
	"context"
	"database/sql"
	"time"

	"countycare/care"
	"countycare/consult"
	"countycare/kpi"
	"countycare/rx"
	"countycare/settle"
)

// Registrants returns the resident of each chronic registration asked for
// (the dashboard's drill-down to records, kpi.Service.Records): one page
// of registrations, by primary key.
func (s *Store) Registrants(ctx context.Context, county string, ids []int64) (map[int64]kpi.Registrant, error) {
	const op = "store.Registrants"
	out := make(map[int64]kpi.Registrant, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.read().query(ctx, `SELECT g.id, r.id, r.name, r.id_number
		FROM chronic_registrations g JOIN residents r ON r.id = g.resident_id
		WHERE g.county_code = ? AND g.id IN (`+placeholders(len(ids))+`)`, append([]any{county}, int64Args(ids)...)...)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var w kpi.Registrant
		if err := rows.Scan(&id, &w.ResidentID, &w.Name, &w.IDNumber); err != nil {
			return nil, wrap(op, err)
		}
		out[id] = w
	}
	return out, wrap(op, rows.Err())
}

// SettlementSums returns the fees of the county's settled visits of [from,
// to] per institution that settled them (the dashboard's settlement group,
// kpi.Service; index settlements_date). A reversed settlement is not
// counted; its replacement is.
func (s *Store) SettlementSums(ctx context.Context, county string, from, to care.Date) (map[int64]kpi.Fees, error) {
	const op = "store.SettlementSums"
	rows, err := s.read().query(ctx, `SELECT institution_id, SUM(total), SUM(patient), SUM(drugs), SUM(materials), SUM(basic) FROM settlements
		WHERE county_code = ? AND visit_date >= ? AND visit_date <= ? AND status = 'settled' GROUP BY institution_id`, county, from, to)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	out := map[int64]kpi.Fees{}
	for rows.Next() {
		var id int64
		var f kpi.Fees
		if err := rows.Scan(&id, &f.Total, &f.Patient, &f.Drugs, &f.Materials, &f.Basic); err != nil {
			return nil, wrap(op, err)
		}
		out[id] = f
	}
	return out, wrap(op, rows.Err())
}

// InpatientDRGCases counts the county's settled in-patient cases with
// visit dates in [from, to] per institution and DRG code (kpi.CaseMixSums:
// the dashboard's CMI; the same rows as SettlementTotals gives
// settle.CostIndicators).
func (s *Store) InpatientDRGCases(ctx context.Context, county string, from, to care.Date) (map[int64]map[string]int, error) {
	const op = "store.InpatientDRGCases"
	rows, err := s.read().query(ctx, `SELECT institution_id, drg, COUNT(*) FROM settlements
		WHERE county_code = ? AND visit_date >= ? AND visit_date <= ? AND status = 'settled' AND visit_type = ? GROUP BY institution_id, drg`, county, from, to, settle.Inpatient)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	out := map[int64]map[string]int{}
	for rows.Next() {
		var id int64
		var drg string
		var n int
		if err := rows.Scan(&id, &drg, &n); err != nil {
			return nil, wrap(op, err)
		}
		if out[id] == nil {
			out[id] = map[string]int{}
		}
		out[id][drg] += n
	}
	return out, wrap(op, rows.Err())
}

// ConsultationsFrom returns the consultations the institutions sent in
// [from, to) (the dashboard's records behind the 10-minute promise;
// index consultations_from).
func (s *Store) ConsultationsFrom(ctx context.Context, county string, institutions []int64, from, to time.Time) ([]consult.Consultation, error) {
	if len(institutions) == 0 {
		return nil, nil
	}
	return s.consultations(ctx, "store.ConsultationsFrom", `county_code = ? AND from_institution IN (`+placeholders(len(institutions))+`) AND created_at >= ? AND created_at < ? ORDER BY id`,
		append(append([]any{county}, int64Args(institutions)...), s.ts(from), s.ts(to))...)
}

// ResidentsByID returns the residents asked for by id, with their name and
// identity number (the dashboard's records; masked there).
func (s *Store) ResidentsByID(ctx context.Context, county string, ids []int64) (map[int64]kpi.Registrant, error) {
	const op = "store.ResidentsByID"
	out := make(map[int64]kpi.Registrant, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.read().query(ctx, `SELECT id, name, id_number FROM residents WHERE county_code = ? AND id IN (`+placeholders(len(ids))+`)`,
		append([]any{county}, int64Args(ids)...)...)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		var w kpi.Registrant
		if err := rows.Scan(&w.ResidentID, &w.Name, &w.IDNumber); err != nil {
			return nil, wrap(op, err)
		}
		out[w.ResidentID] = w
	}
	return out, wrap(op, rows.Err())
}

// PrescriptionsFrom returns the prescriptions the institutions signed in
// [from, to) (the dashboard's records behind the prescribing group; index
// prescriptions_signed), oldest first.
func (s *Store) PrescriptionsFrom(ctx context.Context, county string, institutions []int64, from, to time.Time) ([]kpi.RxRow, error) {
	const op = "store.PrescriptionsFrom"
	if len(institutions) == 0 {
		return nil, nil
	}
	rows, err := s.read().query(ctx, `SELECT id, resident_id, institution_id, signed_at, status, rx_classes FROM prescriptions
		WHERE county_code = ? AND signed_at >= ? AND signed_at < ? AND institution_id IN (`+placeholders(len(institutions))+`) ORDER BY signed_at, id`,
		append([]any{county, s.ts(from), s.ts(to)}, int64Args(institutions)...)...)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []kpi.RxRow
	for rows.Next() {
		var r kpi.RxRow
		var classes sql.NullInt64
		if err := rows.Scan(&r.ID, &r.ResidentID, &r.Institution, tsOf(&r.SignedAt), &r.Status, &classes); err != nil {
			return nil, wrap(op, err)
		}
		r.Classes, r.Classified = rx.Classes(classes.Int64), classes.Valid
		out = append(out, r)
	}
	return out, wrap(op, rows.Err())
}

// billPart is the column of each part a settlement indicator weighs
// (kpi.BillQuery.Part): a fixed set, never the caller's text.
var billPart = map[string]string{"patient": "patient", "drugs": "drugs", "materials": "materials"}

// billWhere is the condition of q's bills (the rows store.SettlementSums
// adds up: a reversed settlement is not among them, its replacement is),
// its arguments, and the part's column.
func billWhere(q kpi.BillQuery) (string, []any, string, error) {
	part, ok := billPart[q.Part]
	if !ok {
		return "", nil, "", care.Errorf(care.EINTERNAL, "store: no bill part %q", q.Part)
	}
	where := `county_code = ? AND institution_id IN (` + placeholders(len(q.Institutions)) + `) AND visit_date >= ? AND visit_date <= ? AND status = 'settled'`
	if q.WithPart {
		where += ` AND ` + part + ` > 0`
	}
	return where, append(append([]any{q.County}, int64Args(q.Institutions)...), q.From, q.To), part, nil
}

// BillTotals counts and sums the bills of q (the dashboard's records
// behind the settlement group): read from the covering index
// settlements_institution, never the rows.
func (s *Store) BillTotals(ctx context.Context, q kpi.BillQuery) (kpi.BillTotals, error) {
	const op = "store.BillTotals"
	var t kpi.BillTotals
	if len(q.Institutions) == 0 {
		return t, nil
	}
	where, args, part, err := billWhere(q)
	if err != nil {
		return t, err
	}
	err = s.read().row(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN `+part+` > 0 THEN 1 ELSE 0 END), 0), COALESCE(SUM(total), 0), COALESCE(SUM(`+part+`), 0)
		FROM settlements WHERE `+where, args...).Scan(&t.Bills, &t.WithPart, &t.Total, &t.Part)
	return t, wrap(op, err)
}

// BillsByShare passes fn the bills of q in the order of the list — those
// with a part first, the highest share of its bill first, then by id —
// from q.Offset, q.Limit of them (0: all, streamed: the export). The
// order is SQL's, over the covering index settlements_institution (a
// year of a busy township: a top-N sort of its index entries).
func (s *Store) BillsByShare(ctx context.Context, q kpi.BillQuery, fn func(kpi.Bill) error) error {
	const op = "store.BillsByShare"
	if len(q.Institutions) == 0 {
		return nil
	}
	where, args, part, err := billWhere(q)
	if err != nil {
		return err
	}
	page := ""
	if q.Limit > 0 {
		page = " LIMIT ? OFFSET ?"
		args = append(args, q.Limit, q.Offset)
	}
	rows, err := s.read().query(ctx, `SELECT id, resident_id, institution_id, visit_date, level, visit_type, total, patient, drugs, materials, basic FROM settlements
		WHERE `+where+` ORDER BY CASE WHEN `+part+` > 0 THEN 0 ELSE 1 END, CASE WHEN total > 0 THEN CAST(`+part+` AS DOUBLE PRECISION) / total ELSE 0 END DESC, id`+page, args...)
	if err != nil {
		return wrap(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		var b kpi.Bill
		f := &b.Fees
		if err := rows.Scan(&b.ID, &b.ResidentID, &b.Institution, &b.VisitDate, &b.Level, &b.VisitType, &f.Total, &f.Patient, &f.Drugs, &f.Materials, &f.Basic); err != nil {
			return wrap(op, err)
		}
		if err := fn(b); err != nil {
			return err
		}
	}
	return wrap(op, rows.Err())
}
