package store

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/notify"
	"countycare/specimen"
)

const specimenCols = `s.id, s.county_code, s.barcode, s.resident_id, s.clinic_id, s.ordered_by, s.lab_id, s.tests, s.tube, s.status,
	COALESCE(s.box_id, 0), s.reason, s.note, s.ordered_at, s.collected_at, s.received_at, s.closed_at, s.last_scan_at, s.last_place,
	s.alerted_at, s.alerts, s.doctor, s.version, r.name, c.name, l.name, COALESCE(b.id, 0)`

const specimenFrom = ` FROM specimens s JOIN residents r ON r.id = s.resident_id JOIN institutions c ON c.id = s.clinic_id
	JOIN institutions l ON l.id = s.lab_id LEFT JOIN specimen_boxes b ON b.county_code = s.county_code AND b.id = s.box_id`

func scanSpecimen(sc interface{ Scan(...any) error }, sp *specimen.Specimen) error {
	var boxID int64
	err := sc.Scan(&sp.ID, &sp.CountyCode, &sp.Barcode, &sp.ResidentID, &sp.ClinicID, &sp.OrderedBy, &sp.LabID, &sp.Tests, &sp.Tube, &sp.Status,
		&sp.BoxID, &sp.Reason, &sp.Note, tsOf(&sp.OrderedAt), tsOf(&sp.CollectedAt), tsOf(&sp.ReceivedAt), tsOf(&sp.ClosedAt), tsOf(&sp.LastScanAt),
		&sp.LastPlace, tsOf(&sp.AlertedAt), &sp.Alerts, &sp.Doctor, &sp.Version, &sp.ResidentName, &sp.ClinicName, &sp.LabName, &boxID)
	if boxID != 0 {
		sp.BoxCode = specimen.BoxCodeFor(boxID)
	}
	return err
}

// CreateSpecimen stores a new specimen, its barcode (from its id), its
// order event and the audit row, in one transaction.
func (s *Store) CreateSpecimen(ctx context.Context, sp *specimen.Specimen, ev audit.Event) error {
	const op = "store.CreateSpecimen"
	return s.Transact(ctx, func(tx db) error {
		id, err := tx.insert(ctx, `INSERT INTO specimens (county_code, resident_id, clinic_id, ordered_by, lab_id, tests, tube, status, note,
			doctor, ordered_at, last_scan_at, last_place, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			sp.CountyCode, sp.ResidentID, sp.ClinicID, sp.OrderedBy, sp.LabID, sp.Tests, string(sp.Tube), string(sp.Status), sp.Note, sp.Doctor,
			s.ts(sp.OrderedAt), s.ts(sp.LastScanAt), sp.LastPlace, sp.Version)
		if err != nil {
			return wrap(op, err)
		}
		sp.ID, sp.Barcode = id, specimen.BarcodeFor(sp.CountyCode, id)
		if _, err := tx.exec(ctx, `UPDATE specimens SET barcode = ? WHERE county_code = ? AND id = ?`, sp.Barcode, sp.CountyCode, id); err != nil {
			return wrap(op, err)
		}
		if err := s.specimenEvent(ctx, tx, sp, specimen.StepOrder, sp.OrderedAt, sp.ClinicID, sp.OrderedBy, ""); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

func (s *Store) specimenEvent(ctx context.Context, tx db, sp *specimen.Specimen, step specimen.Step, at time.Time, place, account int64, detail string) error {
	_, err := tx.exec(ctx, `INSERT INTO specimen_events (county_code, specimen_id, step, at, institution_id, account_id, detail) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		sp.CountyCode, sp.ID, string(step), s.ts(at), place, account, detail)
	return wrap("store.specimenEvent", err)
}

// Specimen reads one specimen with its resident's, clinic's and lab's names.
func (s *Store) Specimen(ctx context.Context, county string, id int64) (*specimen.Specimen, error) {
	var sp specimen.Specimen
	err := scanSpecimen(s.read().row(ctx, `SELECT `+specimenCols+specimenFrom+` WHERE s.county_code = ? AND s.id = ?`, county, id), &sp)
	if err != nil {
		return nil, wrap("store.Specimen", err)
	}
	return &sp, nil
}

// SpecimenEvents lists a specimen's steps, oldest first, with the place's name.
func (s *Store) SpecimenEvents(ctx context.Context, county string, id int64) ([]specimen.Event, error) {
	const op = "store.SpecimenEvents"
	rows, err := s.read().query(ctx, `SELECT e.id, e.specimen_id, e.step, e.at, e.institution_id, e.account_id, e.detail, i.name
		FROM specimen_events e JOIN institutions i ON i.id = e.institution_id WHERE e.county_code = ? AND e.specimen_id = ? ORDER BY e.at, e.id`, county, id)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []specimen.Event
	for rows.Next() {
		var e specimen.Event
		if err := rows.Scan(&e.ID, &e.SpecimenID, &e.Step, tsOf(&e.At), &e.InstitutionID, &e.AccountID, &e.Detail, &e.PlaceName); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, e)
	}
	return out, wrap(op, rows.Err())
}

const boxCols = `b.id, b.county_code, b.clinic_id, b.lab_id, b.temp_tenths, b.courier, b.route, b.packed_by, b.packed_at, b.handed_at,
	(SELECT COUNT(*) FROM specimens x WHERE x.county_code = b.county_code AND x.box_id = b.id)`

func scanBox(sc interface{ Scan(...any) error }, b *specimen.Box) error {
	err := sc.Scan(&b.ID, &b.CountyCode, &b.ClinicID, &b.LabID, &b.TempTenths, &b.Courier, &b.Route, &b.PackedBy, tsOf(&b.PackedAt), tsOf(&b.HandedAt), &b.Specimens)
	b.Code = specimen.BoxCodeFor(b.ID)
	return err
}

// Box reads one transport box.
func (s *Store) Box(ctx context.Context, county string, id int64) (*specimen.Box, error) {
	var b specimen.Box
	if err := scanBox(s.read().row(ctx, `SELECT `+boxCols+` FROM specimen_boxes b WHERE b.county_code = ? AND b.id = ?`, county, id), &b); err != nil {
		return nil, wrap("store.Box", err)
	}
	return &b, nil
}

// WaitingBoxes lists a clinic's packed boxes not yet handed to a courier.
func (s *Store) WaitingBoxes(ctx context.Context, county string, clinicID int64) ([]specimen.Box, error) {
	const op = "store.WaitingBoxes"
	rows, err := s.read().query(ctx, `SELECT `+boxCols+` FROM specimen_boxes b WHERE b.county_code = ? AND b.clinic_id = ? AND b.handed_at IS NULL
		ORDER BY b.packed_at, b.id LIMIT 200`, county, clinicID)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []specimen.Box
	for rows.Next() {
		var b specimen.Box
		if err := scanBox(rows, &b); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, b)
	}
	return out, wrap(op, rows.Err())
}

// MoveSpecimens applies one step to specimens in one transaction: each
// moves only from the version it was read at (else ECONFLICT
// specimen.scanned_elsewhere naming where and when it was last scanned,
// and nothing is written), with its event row; a pack inserts the box, a
// hand-over records the courier; then the audit rows.
func (s *Store) MoveSpecimens(ctx context.Context, m *specimen.Move) error {
	const op = "store.MoveSpecimens"
	err := s.Transact(ctx, func(tx db) error {
		if m.Step == specimen.StepPack && m.Box != nil {
			b := m.Box
			id, err := tx.insert(ctx, `INSERT INTO specimen_boxes (county_code, clinic_id, lab_id, temp_tenths, packed_by, packed_at) VALUES (?, ?, ?, ?, ?, ?)`,
				b.CountyCode, b.ClinicID, b.LabID, b.TempTenths, b.PackedBy, s.ts(b.PackedAt))
			if err != nil {
				return wrap(op, err)
			}
			b.ID, b.Code = id, specimen.BoxCodeFor(id)
			m.Detail = b.Code + " " + m.Detail
			for i := range m.Audit {
				m.Audit[i].Detail += " " + b.Code
			}
		}
		if m.Step == specimen.StepHandOver && m.Box != nil {
			res, err := tx.exec(ctx, `UPDATE specimen_boxes SET courier = ?, route = ?, handed_at = ? WHERE county_code = ? AND id = ? AND handed_at IS NULL`,
				m.Box.Courier, m.Box.Route, s.ts(m.Box.HandedAt), m.Box.CountyCode, m.Box.ID)
			if err != nil {
				return wrap(op, err)
			}
			if n, _ := res.RowsAffected(); n != 1 {
				return care.Errorf(care.ECONFLICT, "specimen.box_handed")
			}
		}
		for _, sp := range m.Specimens {
			if err := s.moveOne(ctx, tx, m, sp); err != nil {
				return err
			}
		}
		return s.appendAudit(ctx, tx, m.Audit...)
	})
	if err == nil {
		for _, sp := range m.Specimens {
			sp.Status, sp.Version, sp.LastScanAt, sp.LastPlace, sp.AlertedAt = m.To, sp.Version+1, m.At, m.Place, time.Time{}
		}
	}
	return err
}

func (s *Store) moveOne(ctx context.Context, tx db, m *specimen.Move, sp *specimen.Specimen) error {
	const op = "store.MoveSpecimens"
	set := `status = ?, last_scan_at = ?, last_place = ?, alerted_at = NULL, version = version + 1`
	args := []any{string(m.To), s.ts(m.At), m.Place}
	switch m.Step {
	case specimen.StepCollect:
		set += `, collected_at = ?`
		args = append(args, s.ts(m.At))
		sp.CollectedAt = m.At
	case specimen.StepPack:
		set += `, box_id = ?`
		args = append(args, m.Box.ID)
		sp.BoxID, sp.BoxCode = m.Box.ID, m.Box.Code
	case specimen.StepReceive:
		set += `, received_at = ?`
		args = append(args, s.ts(m.At))
		sp.ReceivedAt = m.At
	case specimen.StepReject, specimen.StepResult:
		set += `, closed_at = ?, reason = ?`
		args = append(args, s.ts(m.At), string(m.Reason))
		sp.ClosedAt, sp.Reason = m.At, m.Reason
	}
	args = append(args, sp.CountyCode, sp.ID, sp.Version)
	res, err := tx.exec(ctx, `UPDATE specimens SET `+set+` WHERE county_code = ? AND id = ? AND version = ?`, args...)
	if err != nil {
		return wrap(op, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return s.scannedElsewhere(ctx, sp)
	}
	return s.specimenEvent(ctx, tx, sp, m.Step, m.At, m.Place, m.Account, m.Detail)
}

// scannedElsewhere is the conflict of a scan that lost to another: it
// names the specimen and, read outside the failed transaction, where it
// was last scanned.
func (s *Store) scannedElsewhere(ctx context.Context, sp *specimen.Specimen) error {
	place := ""
	var at time.Time
	s.read().row(ctx, `SELECT i.name, s.last_scan_at FROM specimens s JOIN institutions i ON i.id = s.last_place WHERE s.county_code = ? AND s.id = ?`,
		sp.CountyCode, sp.ID).Scan(&place, tsOf(&at))
	return care.Errorf(care.ECONFLICT, "specimen.scanned_elsewhere", sp.Barcode, place, at.In(care.Shanghai).Format("2006-01-02 15:04:05"))
}

// Specimens lists specimens by clinic or lab and status, the longest
// waiting first (closed ones: the latest first). The page of ids is picked
// from the specimens' own index first and only those rows are joined to
// their names: a lab's year of closed specimens is not joined to pick 50.
func (s *Store) Specimens(ctx context.Context, f specimen.Filter) ([]specimen.Specimen, error) {
	const op = "store.Specimens"
	where := []string{"x.county_code = ?"}
	args := []any{f.County}
	if f.ClinicID != 0 {
		where, args = append(where, "x.clinic_id = ?"), append(args, f.ClinicID)
	}
	if f.LabID != 0 {
		where, args = append(where, "x.lab_id = ?"), append(args, f.LabID)
	}
	if len(f.Statuses) > 0 {
		ph := make([]string, len(f.Statuses))
		for i, st := range f.Statuses {
			ph[i] = "?"
			args = append(args, string(st))
		}
		where = append(where, "x.status IN ("+strings.Join(ph, ", ")+")")
	}
	order := "last_scan_at, id"
	if len(f.Statuses) > 0 && !f.Statuses[0].Open() {
		order = "last_scan_at DESC, id DESC"
	}
	limit := f.Limit
	if limit <= 0 || limit > 5000 {
		limit = 5000
	}
	args = append(args, limit, f.County)
	return s.specimens(ctx, op, `SELECT `+specimenCols+specimenFrom+` WHERE s.id IN (SELECT x.id FROM specimens x WHERE `+strings.Join(where, " AND ")+
		` ORDER BY x.`+strings.ReplaceAll(order, ", ", ", x.")+` LIMIT ?) AND s.county_code = ? ORDER BY s.`+strings.ReplaceAll(order, ", ", ", s."), args...)
}

func (s *Store) specimens(ctx context.Context, op, q string, args ...any) ([]specimen.Specimen, error) {
	rows, err := s.read().query(ctx, q, args...)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []specimen.Specimen
	for rows.Next() {
		var sp specimen.Specimen
		if err := scanSpecimen(rows, &sp); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, sp)
	}
	return out, wrap(op, rows.Err())
}

// OverdueSpecimens lists specimens in status st last scanned before cutoff
// and not yet alerted in it, in every county.
func (s *Store) OverdueSpecimens(ctx context.Context, st specimen.Status, cutoff time.Time, limit int) ([]specimen.Specimen, error) {
	return s.specimens(ctx, "store.OverdueSpecimens", `SELECT `+specimenCols+specimenFrom+`
		WHERE s.status = ? AND s.last_scan_at < ? AND s.alerted_at IS NULL ORDER BY s.last_scan_at, s.id LIMIT ?`, string(st), s.ts(cutoff), limit)
}

// MarkOverdue marks the specimens still at the version read as alerted,
// queues msgs and writes ev, in one transaction; a specimen scanned
// meanwhile is left out (and if all were, nothing is queued).
func (s *Store) MarkOverdue(ctx context.Context, sps []specimen.Specimen, at time.Time, msgs []notify.Message, ev audit.Event) (int, error) {
	const op = "store.MarkOverdue"
	n := 0
	err := s.Transact(ctx, func(tx db) error {
		n = 0
		for _, sp := range sps {
			res, err := tx.exec(ctx, `UPDATE specimens SET alerted_at = ?, alerts = alerts + 1 WHERE county_code = ? AND id = ? AND version = ? AND alerted_at IS NULL`,
				s.ts(at), sp.CountyCode, sp.ID, sp.Version)
			if err != nil {
				return wrap(op, err)
			}
			k, _ := res.RowsAffected()
			n += int(k)
		}
		if n == 0 {
			return nil
		}
		for i := range msgs {
			if err := s.insertMessage(ctx, tx, &msgs[i], at); err != nil {
				return wrap(op, err)
			}
		}
		return s.appendAudit(ctx, tx, ev)
	})
	return n, err
}

// ClosedSpecimens lists the specimens ordered in [from, to), for the
// indicators.
func (s *Store) ClosedSpecimens(ctx context.Context, county string, clinicID, labID int64, from, to time.Time) ([]specimen.Specimen, error) {
	q := `SELECT ` + specimenCols + specimenFrom + ` WHERE s.county_code = ? AND s.ordered_at >= ? AND s.ordered_at < ?`
	args := []any{county, s.ts(from), s.ts(to)}
	if clinicID != 0 {
		q, args = q+` AND s.clinic_id = ?`, append(args, clinicID)
	}
	if labID != 0 {
		q, args = q+` AND s.lab_id = ?`, append(args, labID)
	}
	return s.specimens(ctx, "store.ClosedSpecimens", q+` ORDER BY s.id LIMIT 200000`, args...)
}

// resultSpecimenInTx marks a specimen resulted when its results are filed
// (SaveLabResults), from the version read: ECONFLICT if it moved.
func (s *Store) resultSpecimenInTx(ctx context.Context, tx db, county string, id int64, version int, at time.Time, place, account int64) error {
	sp := &specimen.Specimen{CountyCode: county, ID: id, Version: version}
	var barcode string
	if err := tx.row(ctx, `SELECT barcode FROM specimens WHERE county_code = ? AND id = ?`, county, id).Scan(&barcode); err != nil {
		if err == sql.ErrNoRows {
			return care.Errorf(care.ENOTFOUND, "error.not_found")
		}
		return wrap("store.resultSpecimen", err)
	}
	sp.Barcode = barcode
	return s.moveOne(ctx, tx, &specimen.Move{Step: specimen.StepResult, To: specimen.StatusResulted, At: at, Place: place, Account: account}, sp)
}

var _ specimen.Repository = (*Store)(nil)
