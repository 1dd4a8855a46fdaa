package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/notify"
	"countycare/pharmacy"
	"countycare/rx"
	"countycare/settle"
)

const lotCols = `id, county_code, institution_id, drug_code, batch, expiry, quantity`

// Lots returns an institution's lots holding stock, by drug and expiry.
func (s *Store) Lots(ctx context.Context, county string, institutionID int64, drugCode string) ([]pharmacy.Lot, error) {
	q := `SELECT ` + lotCols + ` FROM stock_lots WHERE county_code = ? AND institution_id = ? AND quantity > 0`
	args := []any{county, institutionID}
	if drugCode != "" {
		q += ` AND drug_code = ?`
		args = append(args, drugCode)
	}
	rows, err := s.read().query(ctx, q+` ORDER BY drug_code, expiry, id`, args...)
	if err != nil {
		return nil, wrap("store.Lots", err)
	}
	defer rows.Close()
	var out []pharmacy.Lot
	for rows.Next() {
		var l pharmacy.Lot
		if err := rows.Scan(&l.ID, &l.County, &l.InstitutionID, &l.DrugCode, &l.Batch, &l.Expiry, &l.Quantity); err != nil {
			return nil, wrap("store.Lots", err)
		}
		out = append(out, l)
	}
	return out, wrap("store.Lots", rows.Err())
}

// receiveLot adds delta to the lot of (institution, drug, batch, expiry),
// creating it, and returns its ID.
func (s *Store) receiveLot(ctx context.Context, tx db, county string, inst int64, drug, batch string, expiry care.Date, delta int64) (int64, error) {
	var id int64
	err := tx.row(ctx, `SELECT id FROM stock_lots WHERE institution_id = ? AND drug_code = ? AND batch = ? AND expiry = ?`, inst, drug, batch, expiry).Scan(&id)
	if err == nil {
		_, err = tx.exec(ctx, `UPDATE stock_lots SET quantity = quantity + ? WHERE id = ?`, delta, id)
		return id, err
	}
	if !care.IsCode(mapErr(err), care.ENOTFOUND) {
		return 0, err
	}
	return tx.insert(ctx, `INSERT INTO stock_lots (county_code, institution_id, drug_code, batch, expiry, quantity) VALUES (?, ?, ?, ?, ?, ?)`,
		county, inst, drug, batch, expiry, delta)
}

// changeLot adds delta (negative: takes) to a lot of the institution,
// refusing to go below zero: ECONFLICT pharmacy.stock_short.
func (s *Store) changeLot(ctx context.Context, tx db, inst, lot int64, delta int64) error {
	res, err := tx.exec(ctx, `UPDATE stock_lots SET quantity = quantity + ? WHERE id = ? AND institution_id = ? AND quantity + ? >= 0`, delta, lot, inst, delta)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return care.Errorf(care.ECONFLICT, "pharmacy.stock_short")
	}
	return nil
}

func (s *Store) addMovement(ctx context.Context, tx db, m *pharmacy.Movement) error {
	id, err := tx.insert(ctx, `INSERT INTO stock_movements (county_code, institution_id, lot_id, drug_code, kind, delta, reason, ref, account_id, at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, m.County, m.InstitutionID, m.LotID, m.DrugCode, m.Kind, m.Delta, m.Reason, m.Ref, nullID(m.AccountID), s.ts(m.At))
	m.ID = id
	return err
}

// MoveStock applies one manual movement with its audit row.
func (s *Store) MoveStock(ctx context.Context, m *pharmacy.Movement, batch string, expiry care.Date, ev audit.Event) error {
	const op = "store.MoveStock"
	return s.Transact(ctx, func(tx db) error {
		if m.Kind == pharmacy.MoveReceipt {
			id, err := s.receiveLot(ctx, tx, m.County, m.InstitutionID, m.DrugCode, batch, expiry, m.Delta)
			if err != nil {
				return wrap(op, err)
			}
			m.LotID = id
		} else if err := s.changeLot(ctx, tx, m.InstitutionID, m.LotID, m.Delta); err != nil {
			return wrap(op, err)
		}
		if err := s.addMovement(ctx, tx, m); err != nil {
			return wrap(op, err)
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

// Movements lists an institution's stock ledger, newest first.
func (s *Store) Movements(ctx context.Context, county string, institutionID int64, drugCode string, limit int) ([]pharmacy.Movement, error) {
	q := `SELECT id, county_code, institution_id, lot_id, drug_code, kind, delta, reason, ref, account_id, at FROM stock_movements WHERE county_code = ? AND institution_id = ?`
	args := []any{county, institutionID}
	if drugCode != "" {
		q += ` AND drug_code = ?`
		args = append(args, drugCode)
	}
	rows, err := s.read().query(ctx, q+` ORDER BY at DESC, id DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, wrap("store.Movements", err)
	}
	defer rows.Close()
	var out []pharmacy.Movement
	for rows.Next() {
		var m pharmacy.Movement
		if err := rows.Scan(&m.ID, &m.County, &m.InstitutionID, &m.LotID, &m.DrugCode, &m.Kind, &m.Delta, &m.Reason, &m.Ref, idOf(&m.AccountID), tsOf(&m.At)); err != nil {
			return nil, wrap("store.Movements", err)
		}
		out = append(out, m)
	}
	return out, wrap("store.Movements", rows.Err())
}

// DispensedSince sums units dispensed, net of returns, per drug since t.
func (s *Store) DispensedSince(ctx context.Context, county string, institutionID int64, since time.Time) (map[string]int64, error) {
	rows, err := s.read().query(ctx, `SELECT drug_code, SUM(delta) FROM stock_movements WHERE county_code = ? AND institution_id = ? AND kind IN (?, ?) AND at >= ?
		GROUP BY drug_code`, county, institutionID, pharmacy.MoveDispense, pharmacy.MoveReturn, s.ts(since))
	if err != nil {
		return nil, wrap("store.DispensedSince", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var code string
		var n int64
		if err := rows.Scan(&code, &n); err != nil {
			return nil, wrap("store.DispensedSince", err)
		}
		if n < 0 {
			out[code] = -n
		}
	}
	return out, wrap("store.DispensedSince", rows.Err())
}

// Thresholds returns an institution's low-stock thresholds.
func (s *Store) Thresholds(ctx context.Context, county string, institutionID int64) ([]pharmacy.Threshold, error) {
	rows, err := s.read().query(ctx, `SELECT institution_id, drug_code, min_units, min_cover_days FROM stock_thresholds WHERE county_code = ? AND institution_id = ? ORDER BY drug_code`,
		county, institutionID)
	if err != nil {
		return nil, wrap("store.Thresholds", err)
	}
	defer rows.Close()
	var out []pharmacy.Threshold
	for rows.Next() {
		var t pharmacy.Threshold
		if err := rows.Scan(&t.InstitutionID, &t.DrugCode, &t.MinUnits, &t.MinCoverDays); err != nil {
			return nil, wrap("store.Thresholds", err)
		}
		out = append(out, t)
	}
	return out, wrap("store.Thresholds", rows.Err())
}

// SaveThreshold sets one threshold with its audit row.
func (s *Store) SaveThreshold(ctx context.Context, county string, t pharmacy.Threshold, ev audit.Event) error {
	return s.Transact(ctx, func(tx db) error {
		if _, err := tx.exec(ctx, `DELETE FROM stock_thresholds WHERE institution_id = ? AND drug_code = ?`, t.InstitutionID, t.DrugCode); err != nil {
			return wrap("store.SaveThreshold", err)
		}
		if _, err := tx.exec(ctx, `INSERT INTO stock_thresholds (county_code, institution_id, drug_code, min_units, min_cover_days) VALUES (?, ?, ?, ?, ?)`,
			county, t.InstitutionID, t.DrugCode, t.MinUnits, t.MinCoverDays); err != nil {
			return wrap("store.SaveThreshold", err)
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

// QueueStockAlert queues a low-stock alert's messages unless one went out
// for the drug at the institution since since.
func (s *Store) QueueStockAlert(ctx context.Context, county string, institutionID int64, drugCode string, msgs []notify.Message, since time.Time, ev audit.Event) (bool, error) {
	queued := false
	err := s.Transact(ctx, func(tx db) error {
		var err error
		if queued, err = s.queueAlert(ctx, tx, county, institutionID, pharmacy.Alert{DrugCode: drugCode, Messages: msgs}, since); err != nil || !queued {
			return err
		}
		return s.appendAudit(ctx, tx, ev)
	})
	return queued, err
}

// queueAlert records a low-stock alert and queues its messages in tx,
// unless the institution had one for the drug since since.
func (s *Store) queueAlert(ctx context.Context, tx db, county string, institutionID int64, al pharmacy.Alert, since time.Time) (bool, error) {
	const op = "store.queueAlert"
	if s.dialect == Postgres {
		// The check and the insert are one step for concurrent scans (two
		// replicas, issue 15), as QueueMessages does for the outbox.
		if _, err := tx.exec(ctx, `SELECT pg_advisory_xact_lock(hashtext(?))`, fmt.Sprintf("stock_alert:%d:%s", institutionID, al.DrugCode)); err != nil {
			return false, wrap(op, err)
		}
	}
	var n int
	if err := tx.row(ctx, `SELECT COUNT(*) FROM stock_alerts WHERE institution_id = ? AND drug_code = ? AND created_at >= ?`, institutionID, al.DrugCode, s.ts(since)).Scan(&n); err != nil {
		return false, wrap(op, err)
	}
	if n > 0 {
		return false, nil
	}
	now := s.now()
	if _, err := tx.exec(ctx, `INSERT INTO stock_alerts (county_code, institution_id, drug_code, created_at) VALUES (?, ?, ?, ?)`, county, institutionID, al.DrugCode, s.ts(now)); err != nil {
		return false, wrap(op, err)
	}
	for i := range al.Messages {
		if err := s.insertMessage(ctx, tx, &al.Messages[i], now); err != nil {
			return false, wrap(op, err)
		}
	}
	return true, nil
}

const orderCols = `id, county_code, clinic_id, supplier_id, status, lines, note, history, created_at, updated_at, version`

func scanOrder(sc interface{ Scan(...any) error }, o *pharmacy.SupplyOrder) error {
	var lines, history string
	if err := sc.Scan(&o.ID, &o.County, &o.ClinicID, idOf(&o.SupplierID), &o.Status, &lines, &o.Note, &history, tsOf(&o.CreatedAt), tsOf(&o.UpdatedAt), &o.Version); err != nil {
		return err
	}
	if err := json.Unmarshal([]byte(lines), &o.Lines); err != nil {
		return err
	}
	return json.Unmarshal([]byte(history), &o.History)
}

// CreateSupplyOrder stores a new supply order with its audit row.
func (s *Store) CreateSupplyOrder(ctx context.Context, o *pharmacy.SupplyOrder, ev audit.Event) error {
	lines, _ := json.Marshal(o.Lines)
	history, _ := json.Marshal(o.History)
	o.Version = 1
	return s.Transact(ctx, func(tx db) error {
		id, err := tx.insert(ctx, `INSERT INTO supply_orders (county_code, clinic_id, supplier_id, status, lines, note, history, created_at, updated_at, version)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`, o.County, o.ClinicID, nullID(o.SupplierID), string(o.Status), string(lines), o.Note, string(history),
			s.ts(o.CreatedAt), s.ts(o.UpdatedAt))
		if err != nil {
			return wrap("store.CreateSupplyOrder", err)
		}
		o.ID = id
		return s.appendAudit(ctx, tx, ev)
	})
}

// SupplyOrder returns one supply order; ENOTFOUND if none.
func (s *Store) SupplyOrder(ctx context.Context, id int64) (*pharmacy.SupplyOrder, error) {
	var o pharmacy.SupplyOrder
	if err := scanOrder(s.read().row(ctx, `SELECT `+orderCols+` FROM supply_orders WHERE id = ?`, id), &o); err != nil {
		return nil, wrap("store.SupplyOrder", err)
	}
	return &o, nil
}

// SupplyOrders lists a county's supply orders, newest first.
func (s *Store) SupplyOrders(ctx context.Context, county string, clinics []int64, status pharmacy.OrderStatus, limit int) ([]pharmacy.SupplyOrder, error) {
	q := `SELECT ` + orderCols + ` FROM supply_orders WHERE county_code = ?`
	args := []any{county}
	if clinics != nil {
		if len(clinics) == 0 {
			return nil, nil
		}
		q += ` AND clinic_id IN (` + placeholders(len(clinics)) + `)`
		args = append(args, int64Args(clinics)...)
	}
	if status != "" {
		q += ` AND status = ?`
		args = append(args, string(status))
	}
	rows, err := s.read().query(ctx, q+` ORDER BY created_at DESC, id DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, wrap("store.SupplyOrders", err)
	}
	defer rows.Close()
	var out []pharmacy.SupplyOrder
	for rows.Next() {
		var o pharmacy.SupplyOrder
		if err := scanOrder(rows, &o); err != nil {
			return nil, wrap("store.SupplyOrders", err)
		}
		out = append(out, o)
	}
	return out, wrap("store.SupplyOrders", rows.Err())
}

// UpdateSupplyOrder saves o if still in status from at its version; on
// receipt every shipment goes into the clinic's stock in the same
// transaction.
func (s *Store) UpdateSupplyOrder(ctx context.Context, o *pharmacy.SupplyOrder, from pharmacy.OrderStatus, receive bool, accountID int64, ev audit.Event) error {
	const op = "store.UpdateSupplyOrder"
	lines, _ := json.Marshal(o.Lines)
	history, _ := json.Marshal(o.History)
	return s.Transact(ctx, func(tx db) error {
		res, err := tx.exec(ctx, `UPDATE supply_orders SET status = ?, supplier_id = ?, lines = ?, history = ?, updated_at = ?, version = version + 1
			WHERE county_code = ? AND id = ? AND status = ? AND version = ?`, string(o.Status), nullID(o.SupplierID), string(lines), string(history), s.ts(o.UpdatedAt),
			o.County, o.ID, string(from), o.Version)
		if err != nil {
			return wrap(op, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return care.Errorf(care.ECONFLICT, "pharmacy.order_state")
		}
		if receive {
			for _, l := range o.Lines {
				for _, sh := range l.Shipments {
					lot, err := s.receiveLot(ctx, tx, o.County, o.ClinicID, l.DrugCode, sh.Batch, sh.Expiry, sh.Quantity)
					if err != nil {
						return wrap(op, err)
					}
					m := &pharmacy.Movement{County: o.County, InstitutionID: o.ClinicID, LotID: lot, DrugCode: l.DrugCode, Kind: pharmacy.MoveReceipt,
						Delta: sh.Quantity, Ref: "supply:" + itoa(o.ID), AccountID: accountID, At: o.UpdatedAt}
					if err := s.addMovement(ctx, tx, m); err != nil {
						return wrap(op, err)
					}
				}
			}
		}
		o.Version++
		return s.appendAudit(ctx, tx, ev)
	})
}

// fulfilBody is what rx_fulfilments keeps as JSON.
type fulfilBody struct {
	Address, Phone, Courier, Tracking, ReceiverName, ProofCode, PickupCode, PickedUpBy string
	Takes                                                                              []pharmacy.Take
	History                                                                            []pharmacy.FulfilEvent
	Settlements                                                                        []int64 `json:",omitempty"` // every settlement that paid (the column holds the first)
}

const fulfilCols = `prescription_id, county_code, resident_id, institution_id, pickup_clinic_id, mode, status, settlement_id, total_fen, patient_fen, body, created_at, updated_at, version`

func scanFulfil(sc interface{ Scan(...any) error }, f *pharmacy.Fulfilment) error {
	var body string
	if err := sc.Scan(&f.PrescriptionID, &f.County, &f.ResidentID, &f.InstitutionID, idOf(&f.PickupClinicID), &f.Mode, &f.Status, idOf(&f.SettlementID),
		&f.TotalFen, &f.PatientFen, &body, tsOf(&f.CreatedAt), tsOf(&f.UpdatedAt), &f.Version); err != nil {
		return err
	}
	var b fulfilBody
	if err := json.Unmarshal([]byte(body), &b); err != nil {
		return err
	}
	f.Address, f.Phone, f.Courier, f.Tracking, f.ReceiverName, f.ProofCode, f.PickupCode, f.PickedUpBy, f.Takes, f.History =
		b.Address, b.Phone, b.Courier, b.Tracking, b.ReceiverName, b.ProofCode, b.PickupCode, b.PickedUpBy, b.Takes, b.History
	f.SettlementIDs = b.Settlements
	return nil
}

func fulfilJSON(f *pharmacy.Fulfilment) string {
	b, _ := json.Marshal(fulfilBody{f.Address, f.Phone, f.Courier, f.Tracking, f.ReceiverName, f.ProofCode, f.PickupCode, f.PickedUpBy, f.Takes, f.History, f.SettlementIDs})
	return string(b)
}

// DispenseTx dispenses a prescription from stock in one transaction, with
// the low-stock alerts the dispensing raises (at most one a week per drug).
func (s *Store) DispenseTx(ctx context.Context, sg *rx.Signed, from rx.Status, f *pharmacy.Fulfilment, alerts []pharmacy.Alert, alertSince time.Time,
	pays []*settle.Pending, ev audit.Event) error {
	const op = "store.DispenseTx"
	return s.Transact(ctx, func(tx db) error {
		f.SettlementID, f.SettlementIDs = 0, nil
		for i, pay := range pays {
			// Payment and dispensing are one transaction (issue 18): a
			// failure anywhere below leaves neither money taken nor stock
			// moved. A key that finds a refunded (reversed) attempt of an
			// earlier version moves on along pay.NextKey; one that finds a
			// live settlement (left by a crash between the two transactions
			// of an earlier version) is that payment, reused — never a second.
			orig := *pay.Settlement
			for attempt := 0; ; attempt++ {
				if attempt == 20 {
					return care.Errorf(care.ECONFLICT, "pharmacy.too_many_payments")
				}
				if err := s.settleInTx(ctx, tx, pay, 0); err != nil {
					return err
				}
				if !pay.Replay || pay.Settlement.Status != settle.StatusReversed || pay.NextKey == nil {
					break
				}
				next := pay.NextKey(pay.Settlement.ID)
				*pay.Settlement = orig
				pay.Settlement.Key = next
			}
			if i == 0 {
				f.SettlementID, f.PatientFen = pay.Settlement.ID, 0
			}
			f.SettlementIDs = append(f.SettlementIDs, pay.Settlement.ID)
			f.PatientFen += int64(pay.Settlement.Result.Patient)
			if err := s.failpoint("dispense.paid"); err != nil {
				return err
			}
		}
		res, err := tx.exec(ctx, `UPDATE prescriptions SET status = ?, dispensed_by = ?, dispensed_at = ?, version = version + 1
			WHERE county_code = ? AND id = ? AND status = ? AND version = ?`,
			string(sg.Status), nullID(sg.DispensedBy), s.ts(sg.DispensedAt), sg.CountyCode, sg.ID, string(from), sg.Version)
		if err != nil {
			return wrap(op, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return care.Errorf(care.ECONFLICT, "rx.not_reviewed")
		}
		for _, t := range f.Takes {
			if err := s.changeLot(ctx, tx, f.InstitutionID, t.LotID, -t.Quantity); err != nil {
				return wrap(op, err)
			}
			m := &pharmacy.Movement{County: f.County, InstitutionID: f.InstitutionID, LotID: t.LotID, DrugCode: t.DrugCode, Kind: pharmacy.MoveDispense,
				Delta: -t.Quantity, Ref: "rx:" + itoa(sg.ID), AccountID: sg.DispensedBy, At: sg.DispensedAt}
			if err := s.addMovement(ctx, tx, m); err != nil {
				return wrap(op, err)
			}
		}
		if _, err := tx.exec(ctx, `INSERT INTO rx_fulfilments (`+fulfilCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
			f.PrescriptionID, f.County, f.ResidentID, f.InstitutionID, nullID(f.PickupClinicID), string(f.Mode), string(f.Status), nullID(f.SettlementID),
			f.TotalFen, f.PatientFen, fulfilJSON(f), s.ts(f.CreatedAt), s.ts(f.UpdatedAt)); err != nil {
			return wrap(op, err)
		}
		for _, al := range alerts {
			if _, err := s.queueAlert(ctx, tx, f.County, f.InstitutionID, al, alertSince); err != nil {
				return err
			}
		}
		f.Version = 1
		sg.Version++
		return s.appendAudit(ctx, tx, ev)
	})
}

// Fulfilment returns a prescription's fulfilment; ENOTFOUND if none.
func (s *Store) Fulfilment(ctx context.Context, prescriptionID int64) (*pharmacy.Fulfilment, error) {
	var f pharmacy.Fulfilment
	if err := scanFulfil(s.read().row(ctx, `SELECT `+fulfilCols+` FROM rx_fulfilments WHERE prescription_id = ?`, prescriptionID), &f); err != nil {
		return nil, wrap("store.Fulfilment", err)
	}
	return &f, nil
}

// Fulfilments lists a resident's fulfilments, or an institution's
// (dispensed or picked up there), newest first.
func (s *Store) Fulfilments(ctx context.Context, county string, residentID int64, institutions []int64, limit int) ([]pharmacy.Fulfilment, error) {
	q := `SELECT ` + fulfilCols + ` FROM rx_fulfilments WHERE county_code = ?`
	args := []any{county}
	switch {
	case residentID != 0:
		q += ` AND resident_id = ?`
		args = append(args, residentID)
	case len(institutions) > 0:
		ph := placeholders(len(institutions))
		q += ` AND (institution_id IN (` + ph + `) OR pickup_clinic_id IN (` + ph + `))`
		args = append(append(args, int64Args(institutions)...), int64Args(institutions)...)
	default:
		return nil, nil
	}
	rows, err := s.read().query(ctx, q+` ORDER BY created_at DESC, prescription_id DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, wrap("store.Fulfilments", err)
	}
	defer rows.Close()
	var out []pharmacy.Fulfilment
	for rows.Next() {
		var f pharmacy.Fulfilment
		if err := scanFulfil(rows, &f); err != nil {
			return nil, wrap("store.Fulfilments", err)
		}
		out = append(out, f)
	}
	return out, wrap("store.Fulfilments", rows.Err())
}

// UpdateFulfilment saves f if still in status from at its version; with
// restock the drugs go back on their lots as returns.
func (s *Store) UpdateFulfilment(ctx context.Context, f *pharmacy.Fulfilment, from pharmacy.FulfilStatus, restock bool, accountID int64, ev audit.Event) error {
	const op = "store.UpdateFulfilment"
	return s.Transact(ctx, func(tx db) error {
		res, err := tx.exec(ctx, `UPDATE rx_fulfilments SET status = ?, body = ?, updated_at = ?, version = version + 1
			WHERE county_code = ? AND prescription_id = ? AND status = ? AND version = ?`, string(f.Status), fulfilJSON(f), s.ts(f.UpdatedAt),
			f.County, f.PrescriptionID, string(from), f.Version)
		if err != nil {
			return wrap(op, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return care.Errorf(care.ECONFLICT, "pharmacy.fulfil_state")
		}
		if restock {
			for _, t := range f.Takes {
				if err := s.changeLot(ctx, tx, f.InstitutionID, t.LotID, t.Quantity); err != nil {
					return wrap(op, err)
				}
				m := &pharmacy.Movement{County: f.County, InstitutionID: f.InstitutionID, LotID: t.LotID, DrugCode: t.DrugCode, Kind: pharmacy.MoveReturn,
					Delta: t.Quantity, Ref: "rx:" + itoa(f.PrescriptionID), AccountID: accountID, At: f.UpdatedAt}
				if err := s.addMovement(ctx, tx, m); err != nil {
					return wrap(op, err)
				}
			}
		}
		f.Version++
		return s.appendAudit(ctx, tx, ev)
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// StockInstitutions lists the institutions with any lot (see pharmacy.Repository).
func (s *Store) StockInstitutions(ctx context.Context) ([]pharmacy.InstitutionRef, error) {
	rows, err := s.read().query(ctx, `SELECT DISTINCT county_code, institution_id FROM stock_lots ORDER BY county_code, institution_id`)
	if err != nil {
		return nil, wrap("store.StockInstitutions", err)
	}
	defer rows.Close()
	var out []pharmacy.InstitutionRef
	for rows.Next() {
		var r pharmacy.InstitutionRef
		if err := rows.Scan(&r.County, &r.ID); err != nil {
			return nil, wrap("store.StockInstitutions", err)
		}
		out = append(out, r)
	}
	return out, wrap("store.StockInstitutions", rows.Err())
}
