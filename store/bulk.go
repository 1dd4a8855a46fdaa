package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"countycare/access"
	"countycare/account"
	"countycare/care"
	"countycare/childhealth"
	"countycare/chronic"
	"countycare/consult"
	"countycare/elderly"
	"countycare/family"
	"countycare/maternal"
	"countycare/org"
	"countycare/points"
	"countycare/proxy"
	"countycare/referral"
	"countycare/resident"
	"countycare/rx"
	"countycare/screening"
	"countycare/settle"
	"countycare/specimen"
)

// Bulk loads generated or imported data fast: prepared statements in
// large transactions on SQLite, COPY on PostgreSQL. Rows carry their own
// IDs. It writes no audit rows of its own; the caller records one row for
// the whole load. Use it through Store.BulkLoad.
//
// Buffered rows are written by a second goroutine while the caller goes on
// generating the next ones (the two cores share the work): when a buffer
// is full it is handed to the writer and a new one is started; at most
// one more waits, so memory stays bounded.
type Bulk struct {
	s       *Store
	ctx     context.Context
	tables  []*bulkTable
	byName  map[string]*bulkTable
	pending int       // rows buffered since the last hand-off
	conn    *sql.Conn // PostgreSQL: the connection COPY runs on

	jobs   chan [][][]any  // buffers handed to the writer, one slice of rows per table
	exited chan struct{}   // closed when the writer goroutine returns
	werr   error           // the writer's error, read after exited is closed
	loaded map[string]bool // tables given rows
}

type bulkTable struct {
	name string
	cols []string
	rows [][]any
}

// bulkFlushRows is how many rows are buffered before a flush (one COPY
// per table on PostgreSQL, one transaction on SQLite).
const bulkFlushRows = 50000

var bulkSchema = []struct {
	name string
	cols string
}{
	{"institutions", "id, parent_id, county_code, kind, level, code, name, area_code, lead_id, active, created_at"},
	{"departments", "id, institution_id, name, specialty, head_id"},
	{"practitioners", "id, institution_id, department_id, name, sex, title, specialty, license_number, practice_since, phone, active, created_at"},
	{"households", "id, county_code, village_id, number, address, head_id, created_at"},
	{"residents", "id, county_code, record_number, id_number, name, sex, birth_date, phone, address, village_id, household_id, relation, poverty, disability_grade, pregnancy_edd, status, merged_into, created_at, updated_at, version"},
	{"resident_tokens", "county_code, village_id, token, resident_id"},
	{"care_links", "id, county_code, resident_id, institution_id, kind, reason, created_by, created_at, expires_at"},
	{"accounts", "id, username, role, institution_id, practitioner_id, resident_id, password_hash, failed_logins, disabled, password_changed_at, created_at"},
	{"proxy_grants", "id, county_code, ward_id, proxy_id, kind, granted_by, granted_at, expires_at"},
	{"settle_policies", "id, county_code, year, version, name, effective_from, effective_to, body, created_by, created_at"},
	{"fund_budgets", "county_code, community_id, year, amount, updated_by, updated_at"},
	{"settlements", "id, county_code, resident_id, institution_id, visit_id, idempotency_key, claim_hash, policy_id, year, visit_date, visit_type, level, poverty, status, " +
		"total, eligible, basic, critical, assistance, supplementary, bottom_line, patient, drugs, materials, drg, claim, result, acc_before, created_by, created_at"},
	{"settle_accumulators", "county_code, resident_id, year, data, updated_at"},
	{"chronic_registrations", "id, county_code, resident_id, disease, status, source, enrolled_on, clinic_id, doctor_id, tier, tier_since, last_class, last_visit, " +
		"next_visit, risk, prior_stroke_mi, tb_phase, tb_supervisor, note, closed_on, created_at, version"},
	{"chronic_visits", "id, county_code, registration_id, resident_id, disease, visit_date, face_to_face, sbp, dbp, heart_rate, fpg, weight_dg, height_cm, " +
		"symptoms, adherence, adverse, complication, risk_level, insight, doses_due, doses_missed, class, urgent, refer, refer_reasons, next_visit, recorded_by, institution_id, created_at"},
	{"chronic_tier_changes", "id, county_code, registration_id, resident_id, from_tier, to_tier, reason, to_institution, acknowledged_by, acknowledged_at, created_at"},
	{"duty_slots", "id, institution_id, department_id, practitioner_id, starts_at, ends_at, position, created_by, created_at"},
	{"referrals", "id, county_code, direction, status, resident_id, poverty, green_channel, urgency, reasons, summary, from_institution, from_department, " +
		"to_institution, to_department, out_of_county, bed_requested, requested_at, appointment, bed, diagnosis, diagnosis_text, plan, up_referral_id, " +
		"redirected_from, consultation_id, note, idempotency_key, body_hash, care_link_id, sent_by, sent_by_practitioner, first_sent_at, sent_at, " +
		"accepted_at, arrived_at, closed_at, updated_at, version"},
	{"referral_events", "id, county_code, referral_id, action, from_status, to_status, note, actor_id, institution_id, at"},
	{"referral_tasks", "id, county_code, referral_id, resident_id, clinic_id, kind, due_on, note, created_at"},
	{"consultations", "id, county_code, resident_id, kind, urgency, reason, purpose, summary, specialty, min_title, departments, from_institution, from_doctor, " +
		"from_account, to_institution, to_department, assigned_to, step, chain, head_id, status, deadline, consent_by, consent_name, consent_method, consent_at, " +
		"decline_reason, opinion_assessment, opinion_code, opinion_text, opinion_plan, opinion_refer, opinion_signed_by, opinion_signed_at, opinion_hash, " +
		"decision, decision_note, rehab_sessions, escalations, created_at, accepted_at, answered_at, closed_at, version"},
	{"consultation_events", "county_code, consultation_id, kind, practitioner_id, account_id, detail, at"},
	{"family_contracts", "id, county_code, resident_id, team_id, package_id, services, fee_fen, start_date, end_date, consent_by, consent_name, consent_method, " +
		"consent_witness, consent_at, status, previous_id, signed_by, institution_id, created_at"},
	{"family_services", "county_code, resident_id, contract_id, kind, service_date, practitioner_id, institution_id, note, recorded_by, created_at"},
	{"points_ledger", "county_code, resident_id, rule, event_ref, points, occurred_on, note, created_by, created_at"},
	{"prescriptions", "id, county_code, resident_id, institution_id, prescriber_id, account_id, kind, issued_on, body, findings, outcome, status, signed_at, " +
		"reviewer_id, reviewed_at, review_reason, dispensed_by, dispensed_at, version, rx_classes"},
	{"blobs", "county_code, sha256, type, size, data, created_at"},
	{"ecg_studies", "id, county_code, resident_id, clinic_id, ordered_by, center_id, format, file_name, header, signal, fs, leads, seconds, heart_rate, findings, " +
		"priority, premature, pauses, irregular, status, uploaded_at, signal_hash"},
	{"imaging_instances", "id, county_code, resident_id, clinic_id, ordered_by, center_id, file_name, study_uid, series_uid, sop_uid, modality, study_date, " +
		"accession, file_patient_name, file_patient_id, mismatch, transfer_syntax, rows_n, columns_n, frames, no_preview, size, file, status, uploaded_at, file_hash, " +
		"sop_class_uid, series_number, series_description, instance_number, device_id"},
	{"imaging_studies", "id, county_code, study_uid, resident_id, clinic_id, center_id, patient_name, name_key, name_alpha, name_ideo, patient_id, birth_date, " +
		"sex, study_date, study_time, accession, study_id, description, referring, modalities, series_count, instance_count, updated_at"},
	{"reading_studies", "id, county_code, kind, source_key, modality, resident_id, clinic_id, ordered_by, center_id, urgent, priority, preread, findings, " +
		"heart_rate, status, claimed_by, claimed_name, claimed_at, uploaded_at, due_at, escalations, breached_at, reported_at, reported_by, reported_name, " +
		"report_normal, version"},
	{"reading_reports", "id, county_code, study_id, resident_id, kind, parent_id, template, fields, normal, critical, critical_text, signed_by, signer_name, " +
		"signed_at, seal"},
	{"stock_lots", "id, county_code, institution_id, drug_code, batch, expiry, quantity"},
	{"stock_movements", "id, county_code, institution_id, lot_id, drug_code, kind, delta, reason, ref, account_id, at"},
	{"supply_orders", "id, county_code, clinic_id, supplier_id, status, lines, note, history, created_at, updated_at, version"},
	{"specimen_boxes", "id, county_code, clinic_id, lab_id, temp_tenths, courier, route, packed_by, packed_at, handed_at"},
	{"specimens", "id, county_code, barcode, resident_id, clinic_id, ordered_by, lab_id, tests, tube, status, box_id, reason, note, doctor, " +
		"ordered_at, collected_at, received_at, closed_at, last_scan_at, last_place, alerted_at, alerts, version"},
	{"specimen_events", "county_code, specimen_id, step, at, institution_id, account_id, detail"},
	{"mch_pregnancies", "id, county_code, resident_id, managed_by, clinic_id, lmp, edd, registered_on, registered_by, gravida, parity, height_mm, weight_g, " +
		"factors, colour, purple, status, delivered_on, discharged_on, delivery_mode, outcome, baby_weight_g, next_kind, next_from, next_due, version, created_at"},
	{"mch_visits", "id, county_code, pregnancy_id, resident_id, kind, date, gest_days, weight_g, sbp, dbp, fundal_mm, fetal_hr, hb_gl, factors, colour, " +
		"note, clinic_id, by_account, created_at"},
	{"mch_children", "id, county_code, resident_id, managed_by, sex, birth_date, discharged_on, birth_weight_g, birth_length_mm, gest_weeks, status, " +
		"registered_on, registered_by, next_kind, next_from, next_due, version, created_at"},
	{"mch_child_checks", "id, county_code, child_id, resident_id, kind, date, age_days, weight_g, length_mm, head_mm, waz, haz, whz, baz, findings, note, " +
		"clinic_id, by_account, created_at"},
	{"screening_campaigns", "id, county_code, township_id, name, diseases, villages, min_age, starts_on, ends_on, created_by, created_at"},
	{"screening_measurements", "id, county_code, campaign_id, resident_id, village_id, date, sbp1, dbp1, sbp2, dbp2, glucose, meal_hours, cough_days, " +
		"haemoptysis, bp_raised, results, by_account, created_at"},
	{"screening_cases", "id, county_code, resident_id, village_id, township_id, disease, source, campaign_id, rule, detail, suspected_on, due_on, status, " +
		"closed_on, closed_by, reason, registration_id, version, created_at"},
	{"elderly_checkups", "id, county_code, resident_id, managed_by, year, date, sbp, dbp, bmi_x10, self_care_score, self_care_grade, findings, suspected, " +
		"tcm_types, form, tcm, clinic_id, by_account, created_at"},
	{"hut_devices", "id, county_code, institution_id, kind, name, token_hash, created_by, created_at"},
	{"device_readings", "id, county_code, device_id, device_ref, resident_id, institution_id, kind, measured_at, received_at, sbp, dbp, pulse, glucose, " +
		"fasting, weight_dg, height_cm, urgent"},
	{"sterile_pack_types", "id, county_code, center_id, code, name, packaging, created_at"},
	{"sterile_orders", "id, county_code, clinic_id, center_id, pack_type_id, quantity, delivered, status, ordered_by, ordered_at"},
	{"sterile_cycles", "id, county_code, center_id, cycle_no, sterilizer, started_at, physical, chemical, biological, status, recalled_at, recorded_by"},
	{"sterile_packs", "id, county_code, barcode, pack_type_id, cycle_id, center_id, packaging, packed_at, expires_on, status, order_id, clinic_id, " +
		"delivered_at, resident_id, used_at, used_by, returned_at, version"},
	{"sterile_pack_events", "county_code, pack_id, step, at, institution_id, account_id, resident_id, detail"},
	{"outreach_sessions", "id, county_code, township_id, host_id, practitioner_id, specialty, date, slots, slot_minutes, capacity, status, created_by, " +
		"created_at, version, room, cancel_reason, cancelled_by, cancelled_at, updated_by, updated_at"},
	{"practice_sites", "id, county_code, practitioner_id, institution_id, weekdays, dates, valid_from, valid_to, session_id, created_by, created_at, revoked_at"},
	{"outreach_bookings", "id, county_code, session_id, resident_id, slot, status, channel, booked_by, booked_at, updated_by, updated_at, reminded_at"},
	{"edu_prescriptions", "prescription_id, county_code, resident_id, institution_id, issued_on, library_version, items"},
	{"edu_sessions", "id, county_code, institution_id, kind, planned_on, held_on, place, topic, audience, attendance, materials, created_by, recorded_by, " +
		"version, created_at"},
	{"home_visits", "id, county_code, resident_id, village_id, reason, requested_by, by_resident, requested_at, status, team_id, practitioner_id, " +
		"scheduled_on, scheduled_at, visited_on, services, sbp, dbp, pulse, temp_dc, glucose_dmmol, note, cancel_reason, closed_by, version"},
	{"care_flags", "county_code, resident_id, kind, village_id, reason, set_by, set_at"},
}

// BulkLoad runs fn with a Bulk and finishes the load: it flushes what is
// buffered, advances numbering (record and household sequences, identity
// sequences on PostgreSQL) and bumps the organisation version. On error
// what was already flushed stays (every bulkFlushRows rows).
func (s *Store) BulkLoad(ctx context.Context, fn func(b *Bulk) error) (err error) {
	b := &Bulk{s: s, ctx: ctx, byName: map[string]*bulkTable{}, loaded: map[string]bool{}}
	for _, t := range bulkSchema {
		bt := &bulkTable{name: t.name, cols: strings.Split(t.cols, ", ")}
		b.tables = append(b.tables, bt)
		b.byName[t.name] = bt
	}
	if s.dialect == Postgres {
		conn, err := s.w.Conn(ctx)
		if err != nil {
			return wrap("store.BulkLoad", err)
		}
		defer conn.Close()
		b.conn = conn
	} else {
		restore, rerr := s.sqliteBulkMode(ctx)
		if rerr != nil {
			return rerr
		}
		defer func() {
			if rerr := restore(b.loaded); rerr != nil && err == nil {
				err = rerr
			}
		}()
	}
	fnErr := fn(b)
	if fnErr == nil {
		fnErr = b.handOff()
	}
	if err := b.finish(); err != nil {
		return err
	}
	if fnErr != nil {
		return fnErr
	}
	return s.afterBulk(ctx)
}

// bulkIndexedTables are the tables whose secondary indexes a bulk load
// into an empty database drops and rebuilds: building an index once from
// sorted data is several times faster than updating it row by row once
// it outgrows the page cache.
var bulkIndexedTables = []string{"residents", "resident_tokens", "households", "care_links", "settlements", "chronic_registrations", "chronic_visits", "chronic_tier_changes", "referrals", "referral_events", "referral_tasks",
	"consultations", "consultation_events", "ecg_studies", "imaging_instances", "imaging_studies", "reading_studies", "reading_reports"}

// sqliteBulkMode prepares the writer connection for a large load: a big
// page cache and, when the resident tables are empty, none of their
// non-unique secondary indexes (unique ones stay: they guard the data).
// The definitions are saved in pending_indexes first, so a load that dies
// half-way leaves them for RestorePendingIndexes (run by Open). The
// returned func rebuilds the indexes, refreshes the planner's statistics
// and restores the cache size.
func (s *Store) sqliteBulkMode(ctx context.Context) (func(loaded map[string]bool) error, error) {
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return nil, wrap("store.BulkLoad", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `PRAGMA cache_size = -262144`); err != nil { // 256 MiB
		return nil, wrap("store.BulkLoad", err)
	}
	var n int
	if err := conn.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM residents LIMIT 1)`).Scan(&n); err != nil {
		return nil, wrap("store.BulkLoad", err)
	}
	if n == 0 {
		rows, err := conn.QueryContext(ctx, `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%' AND tbl_name IN (`+
			placeholders(len(bulkIndexedTables))+`)`, stringArgs(bulkIndexedTables)...)
		if err != nil {
			return nil, wrap("store.BulkLoad", err)
		}
		var names, defs []string
		for rows.Next() {
			var name, def string
			if err := rows.Scan(&name, &def); err != nil {
				rows.Close()
				return nil, wrap("store.BulkLoad", err)
			}
			names, defs = append(names, name), append(defs, def)
		}
		rows.Close()
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return nil, wrap("store.BulkLoad", err)
		}
		for i, name := range names {
			if _, err := tx.ExecContext(ctx, `INSERT INTO pending_indexes (name, def) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`, name, defs[i]); err != nil {
				tx.Rollback()
				return nil, wrap("store.BulkLoad", err)
			}
			if _, err := tx.ExecContext(ctx, `DROP INDEX `+name); err != nil {
				tx.Rollback()
				return nil, wrap("store.BulkLoad", err)
			}
		}
		if err := tx.Commit(); err != nil {
			return nil, wrap("store.BulkLoad", err)
		}
	}
	return func(loaded map[string]bool) error {
		// Two cores sort the index builds (SQLite's worker threads for CREATE INDEX).
		if _, err := s.w.ExecContext(context.Background(), `PRAGMA threads = 2`); err != nil {
			return wrap("store.BulkLoad", err)
		}
		if err := s.RestorePendingIndexes(context.Background()); err != nil {
			return err
		}
		conn, err := s.w.Conn(context.Background())
		if err != nil {
			return wrap("store.BulkLoad", err)
		}
		defer conn.Close()
		if err := analyzeAfterBulk(context.Background(), conn, loaded); err != nil {
			return err
		}
		_, err = conn.ExecContext(context.Background(), `PRAGMA cache_size = -32768`)
		return wrap("store.BulkLoad", err)
	}, nil
}

// sampledStatsTables are analysed from a sample after a bulk load: the
// search-token table is the largest (4.4 M rows at 1 M residents; a full
// ANALYZE of it took 7.5 s of the load) and the queries that read it fix
// their index by their shape (store.searchByToken), not by statistics.
var sampledStatsTables = map[string]bool{"resident_tokens": true}

// analyzeAfterBulk refreshes the planner's statistics of the tables a
// load wrote to: full statistics except for those in sampledStatsTables,
// which are sampled (PRAGMA analysis_limit). Full ones matter where the
// planner chooses between indexes: sampled statistics cap the rows per
// county at the sample size and make county_code look selective (a scoped
// search once went down a county-wide index: 240 ms instead of 1 ms).
func analyzeAfterBulk(ctx context.Context, conn *sql.Conn, loaded map[string]bool) error {
	var full, sampled []string
	for _, t := range bulkSchema {
		switch {
		case !loaded[t.name]:
		case sampledStatsTables[t.name]:
			sampled = append(sampled, t.name)
		default:
			full = append(full, t.name)
		}
	}
	for _, t := range full {
		if _, err := conn.ExecContext(ctx, `ANALYZE "`+t+`"`); err != nil {
			return wrap("store.BulkLoad", err)
		}
	}
	if _, err := conn.ExecContext(ctx, `PRAGMA analysis_limit = 100000`); err != nil {
		return wrap("store.BulkLoad", err)
	}
	for _, t := range sampled {
		if _, err := conn.ExecContext(ctx, `ANALYZE "`+t+`"`); err != nil {
			return wrap("store.BulkLoad", err)
		}
	}
	_, err := conn.ExecContext(ctx, `PRAGMA analysis_limit = 0`)
	return wrap("store.BulkLoad", err)
}

// RestorePendingIndexes recreates indexes a bulk load dropped and has not
// rebuilt (a load that was interrupted). Open runs it on SQLite.
func (s *Store) RestorePendingIndexes(ctx context.Context) error {
	if s.dialect != SQLite {
		return nil
	}
	restore, err := s.tempFiles(ctx) // the builds sort whole tables
	if err != nil {
		return wrap("store.RestorePendingIndexes", err)
	}
	defer restore()
	rows, err := s.w.QueryContext(ctx, `SELECT name, def FROM pending_indexes ORDER BY name`)
	if err != nil {
		return wrap("store.RestorePendingIndexes", err)
	}
	var names, defs []string
	for rows.Next() {
		var n, d string
		if err := rows.Scan(&n, &d); err != nil {
			rows.Close()
			return wrap("store.RestorePendingIndexes", err)
		}
		names, defs = append(names, n), append(defs, d)
	}
	rows.Close()
	for i, n := range names {
		def := strings.Replace(defs[i], "CREATE INDEX", "CREATE INDEX IF NOT EXISTS", 1)
		if _, err := s.w.ExecContext(ctx, def); err != nil {
			return wrap("store.RestorePendingIndexes "+n, err)
		}
		if _, err := s.w.ExecContext(ctx, `DELETE FROM pending_indexes WHERE name = ?`, n); err != nil {
			return wrap("store.RestorePendingIndexes", err)
		}
	}
	return nil
}

func stringArgs(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// afterBulk brings counters up to date with the loaded rows.
func (s *Store) afterBulk(ctx context.Context) error {
	return s.Transact(ctx, func(tx db) error {
		stmts := []string{
			`INSERT INTO village_sequences (village_id, next_record, next_household)
				SELECT i.id, 1, 1 FROM institutions i WHERE i.kind = 'village_clinic' ON CONFLICT (village_id) DO NOTHING`,
			`UPDATE village_sequences SET next_record = x.m + 1
				FROM (SELECT village_id, MAX(CAST(SUBSTR(record_number, 13, 5) AS INTEGER)) AS m FROM residents GROUP BY village_id) AS x
				WHERE x.village_id = village_sequences.village_id`,
			`UPDATE village_sequences SET next_household = x.m + 1
				FROM (SELECT village_id, MAX(CAST(SUBSTR(number, 13) AS INTEGER)) AS m FROM households GROUP BY village_id) AS x
				WHERE x.village_id = village_sequences.village_id`,
			`UPDATE org_version SET version = version + 1 WHERE id = 1`,
			keepElderlyLast,
		}
		if s.dialect == Postgres {
			// Tables loaded with their own IDs: their identity sequences move
			// past the largest (the others' IDs come from the sequence).
			for _, bt := range bulkSchema {
				if !strings.HasPrefix(bt.cols, "id, ") {
					continue
				}
				t := bt.name
				stmts = append(stmts, fmt.Sprintf(`SELECT setval(pg_get_serial_sequence('%s', 'id'), COALESCE((SELECT MAX(id) FROM %s), 0) + 1, false)`, t, t))
			}
		}
		for _, q := range stmts {
			if _, err := tx.exec(ctx, q); err != nil {
				return wrap("store.afterBulk", err)
			}
		}
		// The loaded studies' and lab results' turnaround (kept per month),
		// and the loaded points per family-doctor team.
		if err := s.rebuildTurnaroundTx(ctx, tx); err != nil {
			return err
		}
		return s.rebuildTeamPointsTx(ctx, tx)
	})
}

func (b *Bulk) add(table string, vals ...any) error {
	t := b.byName[table]
	if len(t.rows) == 0 {
		b.loaded[table] = true
	}
	t.rows = append(t.rows, vals)
	b.pending++
	if b.pending >= bulkFlushRows {
		return b.handOff()
	}
	return nil
}

// handOff gives the buffered rows to the writer goroutine (started on
// first use) and starts new buffers. It returns the writer's error if the
// writer has stopped.
func (b *Bulk) handOff() error {
	if b.jobs == nil {
		b.jobs = make(chan [][][]any, 1)
		b.exited = make(chan struct{})
		go b.writer()
	}
	if b.pending == 0 {
		return nil
	}
	batch := make([][][]any, len(b.tables))
	for i, t := range b.tables {
		batch[i] = t.rows
		t.rows = nil
	}
	b.pending = 0
	select {
	case b.jobs <- batch:
		return nil
	case <-b.exited:
		return b.werr
	case <-b.ctx.Done():
		return b.ctx.Err()
	}
}

// writer writes the handed-off buffers in order until jobs is closed or a
// write fails.
func (b *Bulk) writer() {
	defer close(b.exited)
	for batch := range b.jobs {
		if err := b.write(batch); err != nil {
			b.werr = err
			return
		}
	}
}

// finish waits for the writer to write what it was given.
func (b *Bulk) finish() error {
	if b.jobs == nil {
		return nil
	}
	close(b.jobs)
	<-b.exited
	return b.werr
}

// sqliteChunk is how many rows one multi-row INSERT carries on SQLite
// (fewer statements: the per-statement cost dominates a bulk load).
const sqliteChunk = 200

// write writes one buffer table by table, in foreign-key order: with
// COPY on PostgreSQL, with multi-row INSERTs in one transaction on SQLite.
func (b *Bulk) write(batch [][][]any) error {
	if b.s.dialect == SQLite {
		return b.writeSQLite(batch)
	}
	return b.conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		// The foreign-key checks' plans are cached per connection: made
		// while a referenced table was nearly empty (a load's first batch)
		// they scan it whole for every row of later batches (the reading
		// reports of 9,221 studies: 27 s instead of 0.4 s). Replan them.
		if _, err := pc.Exec(b.ctx, `DISCARD PLANS`); err != nil {
			return wrap("store.Bulk", err)
		}
		for i, t := range b.tables {
			if len(batch[i]) == 0 {
				continue
			}
			if _, err := pc.CopyFrom(b.ctx, pgx.Identifier{t.name}, t.cols, pgx.CopyFromRows(batch[i])); err != nil {
				return wrap("store.Bulk "+t.name, err)
			}
		}
		return nil
	})
}

func (b *Bulk) writeSQLite(batch [][][]any) error {
	tx, err := b.s.w.BeginTx(b.ctx, nil)
	if err != nil {
		return wrap("store.Bulk", err)
	}
	defer tx.Rollback()
	// Rows may refer to rows later in the load (a community's lead
	// hospital is its child): check foreign keys at commit.
	if _, err := tx.ExecContext(b.ctx, `PRAGMA defer_foreign_keys = ON`); err != nil {
		return wrap("store.Bulk", err)
	}
	for ti, t := range b.tables {
		rows := batch[ti]
		if len(rows) == 0 {
			continue
		}
		one := "(" + placeholders(len(t.cols)) + ")"
		head := `INSERT INTO ` + t.name + ` (` + strings.Join(t.cols, ", ") + `) VALUES `
		var full *sql.Stmt
		args := make([]any, 0, sqliteChunk*len(t.cols))
		for i := 0; i < len(rows); i += sqliteChunk {
			chunk := rows[i:min(i+sqliteChunk, len(rows))]
			args = args[:0]
			for _, r := range chunk {
				args = append(args, r...)
			}
			if len(chunk) == sqliteChunk {
				if full == nil {
					if full, err = tx.PrepareContext(b.ctx, head+strings.TrimSuffix(strings.Repeat(one+", ", sqliteChunk), ", ")); err != nil {
						return wrap("store.Bulk "+t.name, err)
					}
					defer full.Close()
				}
				_, err = full.ExecContext(b.ctx, args...)
			} else {
				_, err = tx.ExecContext(b.ctx, head+strings.TrimSuffix(strings.Repeat(one+", ", len(chunk)), ", "), args...)
			}
			if err != nil {
				return wrap("store.Bulk "+t.name, err)
			}
		}
	}
	return wrap("store.Bulk", tx.Commit())
}

// tsv and dv convert values for the dialect: COPY needs time.Time, SQLite text.
func (b *Bulk) tsv(t time.Time) any { return b.s.ts(t) }
func (b *Bulk) dv(d care.Date) any {
	if d.IsZero() {
		return nil
	}
	if b.s.dialect == Postgres {
		return d.Time()
	}
	return d.String()
}

// SpecimenBox loads one transport box.
func (b *Bulk) SpecimenBox(x *specimen.Box) error {
	return b.add("specimen_boxes", x.ID, x.CountyCode, x.ClinicID, x.LabID, x.TempTenths, x.Courier, x.Route, x.PackedBy, b.tsv(x.PackedAt), b.tsv(x.HandedAt))
}

// Specimen loads one specimen (its barcode from its ID) and its steps.
func (b *Bulk) Specimen(sp *specimen.Specimen, evs []specimen.Event) error {
	sp.Barcode = specimen.BarcodeFor(sp.CountyCode, sp.ID)
	if err := b.add("specimens", sp.ID, sp.CountyCode, sp.Barcode, sp.ResidentID, sp.ClinicID, sp.OrderedBy, sp.LabID, sp.Tests, string(sp.Tube),
		string(sp.Status), nullID(sp.BoxID), string(sp.Reason), sp.Note, sp.Doctor, b.tsv(sp.OrderedAt), b.tsv(sp.CollectedAt), b.tsv(sp.ReceivedAt),
		b.tsv(sp.ClosedAt), b.tsv(sp.LastScanAt), sp.LastPlace, b.tsv(sp.AlertedAt), sp.Alerts, sp.Version); err != nil {
		return err
	}
	for _, e := range evs {
		if err := b.add("specimen_events", sp.CountyCode, sp.ID, string(e.Step), b.tsv(e.At), e.InstitutionID, e.AccountID, e.Detail); err != nil {
			return err
		}
	}
	return nil
}

// Pregnancy loads one pregnancy (with its ID set) and its visits.
func (b *Bulk) Pregnancy(p *maternal.Pregnancy, vs []maternal.Visit) error {
	if err := b.add("mch_pregnancies", p.ID, p.CountyCode, p.ResidentID, p.ManagedBy, p.ClinicID, b.dv(p.LMP), b.dv(p.EDD), b.dv(p.RegisteredOn),
		p.RegisteredBy, p.Gravida, p.Parity, p.HeightMM, p.WeightG, strings.Join(p.Factors, ","), string(p.Colour), boolInt(p.Purple), string(p.Status),
		b.dv(p.DeliveredOn), b.dv(p.DischargedOn), p.DeliveryMode, p.Outcome, p.BabyWeightG, string(p.NextKind), b.dv(p.NextFrom), b.dv(p.NextDue),
		p.Version, b.tsv(p.RegisteredOn.Time())); err != nil {
		return err
	}
	for _, v := range vs {
		if err := b.add("mch_visits", v.ID, v.CountyCode, v.PregnancyID, v.ResidentID, string(v.Kind), b.dv(v.Date), v.GestDays, v.WeightG, v.SBP, v.DBP,
			v.FundalMM, v.FetalHR, v.HbGL, strings.Join(v.Factors, ","), string(v.Colour), v.Note, v.ClinicID, v.By, b.tsv(v.CreatedAt)); err != nil {
			return err
		}
	}
	return nil
}

// ScreeningCampaign loads one screening campaign (with its ID set).
func (b *Bulk) ScreeningCampaign(c *screening.Campaign) error {
	return b.add("screening_campaigns", c.ID, c.CountyCode, c.TownshipID, c.Name, joinDiseases(c.Diseases), joinIDs(c.Villages), c.MinAge,
		b.dv(c.StartsOn), b.dv(c.EndsOn), c.CreatedBy, b.tsv(c.CreatedAt))
}

// ScreeningMeasurement loads one measurement (with its ID set).
func (b *Bulk) ScreeningMeasurement(m *screening.Measurement) error {
	return b.add("screening_measurements", m.ID, m.CountyCode, m.CampaignID, m.ResidentID, m.VillageID, b.dv(m.Date), m.SBP1, m.DBP1, m.SBP2, m.DBP2,
		m.Glucose, m.MealHours, m.CoughDays, boolInt(m.Haemoptysis), boolInt(m.BPRaised), resultsText(m.Results), m.By, b.tsv(m.CreatedAt))
}

// ScreeningCase loads one suspected case (with its ID set).
func (b *Bulk) ScreeningCase(c *screening.Case) error {
	return b.add("screening_cases", c.ID, c.CountyCode, c.ResidentID, c.VillageID, c.TownshipID, string(c.Disease), c.Source, c.CampaignID, c.Rule,
		c.Detail, b.dv(c.SuspectedOn), b.dv(c.DueOn), c.Status, b.dv(c.ClosedOn), c.ClosedBy, c.Reason, c.RegistrationID, c.Version, b.tsv(c.CreatedAt))
}

// Child loads one child's record (with its ID set) and its checks.
func (b *Bulk) Child(c *childhealth.Child, ks []childhealth.Check) error {
	if err := b.add("mch_children", c.ID, c.CountyCode, c.ResidentID, c.ManagedBy, int(c.Sex), b.dv(c.BirthDate), b.dv(c.DischargedOn), c.BirthWeightG,
		c.BirthLengthMM, c.GestWeeks, string(c.Status), b.dv(c.RegisteredOn), c.RegisteredBy, string(c.NextKind), b.dv(c.NextFrom), b.dv(c.NextDue),
		c.Version, b.tsv(c.RegisteredOn.Time())); err != nil {
		return err
	}
	for _, k := range ks {
		fs := make([]string, len(k.Findings))
		for i, f := range k.Findings {
			fs[i] = string(f)
		}
		if err := b.add("mch_child_checks", k.ID, k.CountyCode, k.ChildID, k.ResidentID, string(k.Kind), b.dv(k.Date), k.AgeDays, k.WeightG, k.LengthMM,
			k.HeadMM, nullZ(k.Scores.WAZ), nullZ(k.Scores.HAZ), nullZ(k.Scores.WHZ), nullZ(k.Scores.BAZ), strings.Join(fs, ","), k.Note, k.ClinicID, k.By,
			b.tsv(k.CreatedAt)); err != nil {
			return err
		}
	}
	return nil
}

// Checkup loads one elderly check-up (with its ID set).
func (b *Bulk) Checkup(k *elderly.Checkup) error {
	form, tcm, types, err := checkupRow(k)
	if err != nil {
		return wrap("store.Bulk.Checkup", err)
	}
	return b.add("elderly_checkups", k.ID, k.CountyCode, k.ResidentID, k.ManagedBy, k.Year, b.dv(k.Date), k.SBP, k.DBP, k.BMI10, k.SelfCareScore,
		string(k.SelfCare), strings.Join(k.Findings, ","), strings.Join(k.Suspected, ","), types, form, tcm, k.ClinicID, k.By, b.tsv(k.CreatedAt))
}

// Institution loads one institution (with its ID set).
func (b *Bulk) Institution(in *org.Institution) error {
	return b.add("institutions", in.ID, nullID(in.ParentID), in.CountyCode, string(in.Kind), string(in.Level), in.Code, in.Name, in.AreaCode, nullID(in.LeadID), in.Active, b.tsv(in.CreatedAt))
}

// Department loads one department.
func (b *Bulk) Department(d *org.Department) error {
	return b.add("departments", d.ID, d.InstitutionID, d.Name, d.Specialty, nullID(d.HeadID))
}

// Practitioner loads one practitioner.
func (b *Bulk) Practitioner(p *org.Practitioner) error {
	return b.add("practitioners", p.ID, p.InstitutionID, nullID(p.DepartmentID), p.Name, p.Sex, string(p.Title), p.Specialty, p.LicenseNumber, b.dv(p.PracticeSince), p.Phone, p.Active, b.tsv(p.CreatedAt))
}

// Household loads one household.
func (b *Bulk) Household(h *resident.Household) error {
	return b.add("households", h.ID, h.CountyCode, h.VillageID, h.Number, h.Address, nullID(h.HeadID), b.tsv(h.CreatedAt))
}

// Resident loads one resident and its search tokens (none: the caller
// loads them with ResidentTokens).
func (b *Bulk) Resident(r *resident.Resident, tokens []string) error {
	if err := b.add("residents", r.ID, r.CountyCode, r.RecordNumber, string(r.IDNumber), r.Name, string(r.Sex), b.dv(r.BirthDate), r.Phone, r.Address, r.VillageID,
		nullID(r.HouseholdID), string(r.Relation), string(r.Poverty), r.DisabilityGrade, b.dv(r.PregnancyEDD), string(r.Status), nullID(r.MergedInto),
		b.tsv(r.CreatedAt), b.tsv(r.UpdatedAt), r.Version); err != nil {
		return err
	}
	for _, t := range tokens {
		if err := b.add("resident_tokens", r.CountyCode, r.VillageID, t, r.ID); err != nil {
			return err
		}
	}
	return nil
}

// BulkToken is one search token of a resident (resident.SearchTokens).
type BulkToken struct {
	Token      string
	ResidentID int64
}

// ResidentTokens loads search tokens of residents of one village. Given
// in (token, resident) order and village after village in ID order, they
// are appended to the table's primary key (village, token, resident)
// rather than inserted into its middle.
func (b *Bulk) ResidentTokens(county string, villageID int64, toks []BulkToken) error {
	for _, t := range toks {
		if err := b.add("resident_tokens", county, villageID, t.Token, t.ResidentID); err != nil {
			return err
		}
	}
	return nil
}

// CareLink loads one care link.
func (b *Bulk) CareLink(l *access.CareLink) error {
	return b.add("care_links", l.ID, l.CountyCode, l.ResidentID, l.InstitutionID, l.Kind, l.Reason, l.CreatedBy, b.tsv(l.CreatedAt), b.tsv(l.ExpiresAt))
}

// Account loads one account.
func (b *Bulk) Account(a *account.Account) error {
	return b.add("accounts", a.ID, a.Username, string(a.Role), nullID(a.InstitutionID), nullID(a.PractitionerID), nullID(a.ResidentID), a.PasswordHash, 0, a.Disabled, b.tsv(a.PasswordChangedAt), b.tsv(a.CreatedAt))
}

// ProxyGrant loads one proxy grant.
func (b *Bulk) ProxyGrant(g *proxy.Grant) error {
	return b.add("proxy_grants", g.ID, g.CountyCode, g.WardID, g.ProxyID, string(g.Kind), g.GrantedBy, b.tsv(g.GrantedAt), b.tsv(g.ExpiresAt))
}

// SettlePolicy loads one policy version.
func (b *Bulk) SettlePolicy(sp *settle.StoredPolicy) error {
	return b.add("settle_policies", sp.ID, sp.County, sp.Year, sp.Version, sp.Name, b.dv(sp.From), b.dv(sp.To), string(sp.Body), sp.CreatedBy, b.tsv(sp.CreatedAt))
}

// FundBudget loads one community budget.
func (b *Bulk) FundBudget(county string, communityID int64, year int, amount settle.Fen, at time.Time) error {
	return b.add("fund_budgets", county, communityID, year, int64(amount), 0, b.tsv(at))
}

// Settlement loads one settled visit (its Result and AccBefore filled).
func (b *Bulk) Settlement(st *settle.Settlement) error {
	claim, err := json.Marshal(&st.Claim)
	if err != nil {
		return err
	}
	result, _ := json.Marshal(st.Result.WithoutSteps())
	before, _ := json.Marshal(&st.AccBefore)
	r := &st.Result
	day, _ := care.ParseDate(st.Claim.Date)
	return b.add("settlements", st.ID, st.County, st.ResidentID, st.InstitutionID, st.VisitID, st.Key, st.ClaimHash, st.PolicyID, st.Year,
		b.dv(day), st.Claim.VisitType, st.Claim.Level, st.Claim.Poverty, settle.StatusSettled,
		int64(r.Total), int64(r.Eligible), int64(r.Paid(settle.LayerBasic)), int64(r.Paid(settle.LayerCritical)), int64(r.Paid(settle.LayerAssistance)),
		int64(r.Paid(settle.LayerSupplementary)), int64(r.Paid(settle.LayerBottomLine)), int64(r.Patient), int64(r.Drugs), int64(r.Materials),
		st.DRG, string(claim), string(result), string(before), st.CreatedBy, b.tsv(st.CreatedAt))
}

// SettleAccumulators loads a patient-year's totals.
func (b *Bulk) SettleAccumulators(county string, residentID int64, year int, acc settle.Accumulators, at time.Time) error {
	data, _ := json.Marshal(&acc)
	return b.add("settle_accumulators", county, residentID, year, string(data), b.tsv(at))
}

// ChronicRegistration loads one registration (ID set, state after its visits).
func (b *Bulk) ChronicRegistration(r *chronic.Registration) error {
	return b.add("chronic_registrations", r.ID, r.County, r.ResidentID, string(r.Disease), r.Status, r.Source, b.dv(r.EnrolledOn), r.ClinicID, nullID(r.DoctorID),
		string(r.Tier), b.dv(r.TierSince), string(r.LastClass), b.dv(r.LastVisit), b.dv(r.NextVisit), r.Risk, r.PriorStrokeMI, r.TBPhase, r.TBSupervisor,
		r.Note, b.dv(r.ClosedOn), b.tsv(r.CreatedAt), r.Version)
}

// ChronicVisit loads one follow-up with its outcome.
func (b *Bulk) ChronicVisit(v *chronic.StoredVisit) error {
	syms := make([]string, len(v.Symptoms))
	for i, x := range v.Symptoms {
		syms[i] = string(x)
	}
	return b.add("chronic_visits", v.ID, v.County, v.RegistrationID, v.ResidentID, string(v.Disease), b.dv(v.Date), v.FaceToFace, v.SBP, v.DBP, v.HeartRate,
		v.FPG, v.WeightDg, v.HeightCm, strings.Join(syms, ","), string(v.Adherence), v.Adverse, v.Complication, v.RiskLevel, v.Insight, v.DosesDue, v.DosesMissed,
		string(v.Outcome.Class), strings.Join(v.Outcome.Urgent, ","), v.Outcome.Refer, strings.Join(v.Outcome.ReferReasons, ","), b.dv(v.Outcome.NextVisit),
		v.RecordedBy, v.InstitutionID, b.tsv(v.CreatedAt))
}

// Prescription loads one signed prescription with its review state.
func (b *Bulk) Prescription(p *rx.Signed) error {
	body, err := json.Marshal(&p.Prescription)
	if err != nil {
		return err
	}
	findings, err := json.Marshal(p.Findings)
	if err != nil {
		return err
	}
	if p.Findings == nil {
		findings = []byte("[]")
	}
	if err := b.add("prescriptions", p.ID, p.CountyCode, p.ResidentID, p.InstitutionID, nullID(p.PrescriberID), p.AccountID, string(p.Prescription.Kind),
		b.dv(p.Prescription.Issued), string(body), string(findings), int(p.Outcome), string(p.Status), b.tsv(p.SignedAt), nullID(p.ReviewerID),
		b.tsv(p.ReviewedAt), p.ReviewReason, nullID(p.DispensedBy), b.tsv(p.DispensedAt), p.Version, int(p.Classes)); err != nil {
		return err
	}
	if p.Education == nil {
		return nil
	}
	items, err := json.Marshal(p.Education.Items)
	if err != nil {
		return err
	}
	return b.add("edu_prescriptions", p.ID, p.CountyCode, p.ResidentID, p.InstitutionID, b.dv(p.Prescription.Issued), p.Education.LibraryVersion, string(items))
}

// ChronicTierChange loads one tier change (acknowledged or open).
func (b *Bulk) ChronicTierChange(c *chronic.TierChange) error {
	var ackAt any
	if !c.AcknowledgedAt.IsZero() {
		ackAt = b.tsv(c.AcknowledgedAt)
	}
	return b.add("chronic_tier_changes", c.ID, c.County, c.RegistrationID, c.ResidentID, string(c.From), string(c.To), c.Reason, c.ToInstitution,
		nullID(c.AcknowledgedBy), ackAt, b.tsv(c.CreatedAt))
}

// DutySlot loads one shift of a duty roster.
func (b *Bulk) DutySlot(sl *consult.Slot, at time.Time) error {
	return b.add("duty_slots", sl.ID, sl.InstitutionID, sl.DepartmentID, sl.PractitionerID, b.tsv(sl.Start), b.tsv(sl.End), sl.Position, sl.CreatedBy, b.tsv(at))
}

// Referral loads one referral (ID set, in its final state; its care link
// loaded before it with CareLink).
func (b *Bulk) Referral(r *referral.Referral) error {
	return b.add("referrals", r.ID, r.County, string(r.Direction), string(r.Status), r.ResidentID, r.Poverty, r.GreenChannel, string(r.Urgency),
		joinReasons(r.Reasons), r.Summary, r.FromInst, nullID(r.FromDept), r.ToInst, nullID(r.ToDept), r.OutOfCounty, r.BedRequested, b.tsv(r.RequestedAt),
		b.tsv(r.Appointment), r.Bed, r.Diagnosis, r.DiagnosisText, r.Plan, nullID(r.UpReferralID), nullID(r.RedirectedFrom), nullID(r.ConsultationID), r.Note,
		r.IdempotencyKey, r.BodyHash, nullID(r.CareLinkID), r.SentBy, nullID(r.SentByPract), b.tsv(r.FirstSentAt), b.tsv(r.SentAt), b.tsv(r.AcceptedAt),
		b.tsv(r.ArrivedAt), b.tsv(r.ClosedAt), b.tsv(r.UpdatedAt), r.Version)
}

// ReferralEvent loads one transition of a referral.
func (b *Bulk) ReferralEvent(e *referral.Event) error {
	return b.add("referral_events", e.ID, e.County, e.ReferralID, e.Action, string(e.From), string(e.To), e.Note, e.By, e.ByInst, b.tsv(e.At))
}

// ReferralTask loads one follow-up task of a down-referral.
func (b *Bulk) ReferralTask(t *referral.Task, at time.Time) error {
	return b.add("referral_tasks", t.ID, t.County, t.ReferralID, t.ResidentID, t.ClinicID, string(t.Kind), b.dv(t.Due), t.Note, b.tsv(at))
}

// Consultation loads one consultation (ID set, in its final state) and
// its timeline.
func (b *Bulk) Consultation(c *consult.Consultation, evs []consult.Event) error {
	o := c.Opinion
	if o == nil {
		o = &consult.Opinion{}
	}
	if err := b.add("consultations", c.ID, c.County, c.ResidentID, string(c.Kind), string(c.Urgency), c.Reason, c.Purpose, c.Summary, c.Specialty,
		string(c.MinTitle), joinIDs(c.Departments), c.FromInstitution, c.FromDoctor, c.FromAccount, c.ToInstitution, c.ToDepartment, c.AssignedTo, c.Step,
		joinIDs(c.Chain), 0, string(c.Status), b.tsv(c.Deadline), c.Consent.By, c.Consent.Name, c.Consent.Method, b.tsv(c.Consent.At), c.DeclineReason,
		o.Assessment, o.DiagnosisCode, o.DiagnosisText, o.Plan, o.Refer, o.SignedBy, b.tsv(o.SignedAt), o.Hash, c.Decision, c.DecisionNote,
		c.RehabSessions, c.Escalations, b.tsv(c.CreatedAt), b.tsv(c.AcceptedAt), b.tsv(c.AnsweredAt), b.tsv(c.ClosedAt), 1); err != nil {
		return err
	}
	for _, e := range evs {
		if err := b.add("consultation_events", c.County, c.ID, e.Kind, e.Practitioner, e.Account, e.Detail, b.tsv(e.At)); err != nil {
			return err
		}
	}
	return nil
}

// FamilyContract loads one contract (ID set); the team and package exist.
func (b *Bulk) FamilyContract(c *family.Contract, at time.Time) error {
	return b.add("family_contracts", c.ID, c.CountyCode, c.ResidentID, c.TeamID, c.PackageID, c.Services.String(), c.FeeFen, b.dv(c.Start), b.dv(c.End),
		c.Consent.By, c.Consent.Name, c.Consent.Method, c.Consent.Witness, b.tsv(c.Consent.At), c.Status, nullID(c.PreviousID), c.SignedBy, c.InstitutionID, b.tsv(at))
}

// FamilyService loads one delivered service of a contract.
func (b *Bulk) FamilyService(d *family.Delivery, at time.Time) error {
	return b.add("family_services", d.CountyCode, d.ResidentID, d.ContractID, string(d.Kind), b.dv(d.Date), nullID(d.PractitionerID), d.InstitutionID,
		d.Note, d.RecordedBy, b.tsv(at))
}

// Points adds a health-points ledger entry (afterBulk counts it for its
// team, points_team).
func (b *Bulk) Points(e *points.Entry, at time.Time) error {
	return b.add("points_ledger", e.CountyCode, e.ResidentID, string(e.Rule), e.EventRef, e.Points, b.dv(e.On), e.Note, e.CreatedBy, b.tsv(at))
}

// Empty reports whether the database has no institutions yet (a fresh install).
func (s *Store) Empty(ctx context.Context) (bool, error) {
	var n int
	err := s.read().row(ctx, `SELECT COUNT(*) FROM institutions`).Scan(&n)
	return n == 0, wrap("store.Empty", err)
}
