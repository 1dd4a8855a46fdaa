package store

import (
	"context"
	"strings"

	"countycare/audit"
	"countycare/care"
	"countycare/sterile"
)

// SterileCreatePackType stores a sterile pack type with its audit row.
func (s *Store) SterileCreatePackType(ctx context.Context, t *sterile.PackType, ev audit.Event) error {
	return s.Transact(ctx, func(tx db) error {
		id, err := tx.insert(ctx, `INSERT INTO sterile_pack_types (county_code, center_id, code, name, packaging, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			t.CountyCode, t.CenterID, t.Code, t.Name, string(t.Packaging), s.ts(t.CreatedAt))
		if err != nil {
			return wrap("store.CreatePackType", err)
		}
		t.ID = id
		return s.appendAudit(ctx, tx, ev)
	})
}

// SterilePackTypes lists a county's pack types by code.
func (s *Store) SterilePackTypes(ctx context.Context, county string) ([]sterile.PackType, error) {
	const op = "store.PackTypes"
	rows, err := s.read().query(ctx, `SELECT id, county_code, center_id, code, name, packaging, created_at FROM sterile_pack_types
		WHERE county_code = ? ORDER BY code LIMIT 500`, county)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []sterile.PackType
	for rows.Next() {
		var t sterile.PackType
		if err := rows.Scan(&t.ID, &t.CountyCode, &t.CenterID, &t.Code, &t.Name, &t.Packaging, tsOf(&t.CreatedAt)); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, t)
	}
	return out, wrap(op, rows.Err())
}

// SterileCreateOrder stores a clinic's order with its audit row.
func (s *Store) SterileCreateOrder(ctx context.Context, o *sterile.Order, ev audit.Event) error {
	return s.Transact(ctx, func(tx db) error {
		id, err := tx.insert(ctx, `INSERT INTO sterile_orders (county_code, clinic_id, center_id, pack_type_id, quantity, status, ordered_by, ordered_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, o.CountyCode, o.ClinicID, o.CenterID, o.PackTypeID, o.Quantity, o.Status, o.OrderedBy, s.ts(o.OrderedAt))
		if err != nil {
			return wrap("store.CreateOrder", err)
		}
		o.ID = id
		return s.appendAudit(ctx, tx, ev)
	})
}

// SterileOrders lists orders to a center or of a clinic (0: any), newest first.
func (s *Store) SterileOrders(ctx context.Context, county string, centerID, clinicID int64, limit int) ([]sterile.Order, error) {
	const op = "store.Orders"
	rows, err := s.read().query(ctx, `SELECT o.id, o.county_code, o.clinic_id, o.center_id, o.pack_type_id, o.quantity, o.delivered, o.status,
		o.ordered_by, o.ordered_at, t.name, i.name FROM sterile_orders o JOIN sterile_pack_types t ON t.id = o.pack_type_id
		JOIN institutions i ON i.id = o.clinic_id
		WHERE o.county_code = ? AND (? = 0 OR o.center_id = ?) AND (? = 0 OR o.clinic_id = ?) ORDER BY o.ordered_at DESC, o.id DESC LIMIT ?`,
		county, centerID, centerID, clinicID, clinicID, limit)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []sterile.Order
	for rows.Next() {
		var o sterile.Order
		if err := rows.Scan(&o.ID, &o.CountyCode, &o.ClinicID, &o.CenterID, &o.PackTypeID, &o.Quantity, &o.Delivered, &o.Status,
			&o.OrderedBy, tsOf(&o.OrderedAt), &o.TypeName, &o.ClinicName); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, o)
	}
	return out, wrap(op, rows.Err())
}

func (s *Store) packEvent(ctx context.Context, tx db, county string, e sterile.Event) error {
	_, err := tx.exec(ctx, `INSERT INTO sterile_pack_events (county_code, pack_id, step, at, institution_id, account_id, resident_id, detail)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, county, e.PackID, e.Step, s.ts(e.At), e.InstitutionID, e.AccountID, e.ResidentID, e.Detail)
	return wrap("store.packEvent", err)
}

// SterileCreateCycle stores a cycle and its packs with their events and the audit row.
func (s *Store) SterileCreateCycle(ctx context.Context, c *sterile.Cycle, packs []*sterile.Pack, ev audit.Event) error {
	const op = "store.CreateCycle"
	return s.Transact(ctx, func(tx db) error {
		id, err := tx.insert(ctx, `INSERT INTO sterile_cycles (county_code, center_id, cycle_no, sterilizer, started_at, physical, chemical, biological,
			status, recorded_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, c.CountyCode, c.CenterID, c.CycleNo, c.Sterilizer, s.ts(c.StartedAt),
			string(c.Physical), string(c.Chemical), string(c.Biological), string(c.Status), c.RecordedBy)
		if err != nil {
			return wrap(op, err)
		}
		c.ID = id
		for _, p := range packs {
			p.CycleID = id
			pid, err := tx.insert(ctx, `INSERT INTO sterile_packs (county_code, pack_type_id, cycle_id, center_id, packaging, packed_at, expires_on, status, version)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, p.CountyCode, p.PackTypeID, id, p.CenterID, string(p.Packaging), s.ts(p.PackedAt), p.ExpiresOn,
				string(p.Status), p.Version)
			if err != nil {
				return wrap(op, err)
			}
			p.ID, p.Barcode = pid, sterile.BarcodeFor(p.CountyCode, pid)
			if _, err := tx.exec(ctx, `UPDATE sterile_packs SET barcode = ? WHERE id = ?`, p.Barcode, pid); err != nil {
				return wrap(op, err)
			}
			if err := s.packEvent(ctx, tx, p.CountyCode, sterile.Event{PackID: pid, Step: sterile.StepPack, At: p.PackedAt, InstitutionID: c.CenterID,
				AccountID: c.RecordedBy, Detail: c.CycleNo}); err != nil {
				return err
			}
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

const cycleCols = `c.id, c.county_code, c.center_id, c.cycle_no, c.sterilizer, c.started_at, c.physical, c.chemical, c.biological, c.status,
	c.recalled_at, c.recorded_by, (SELECT COUNT(*) FROM sterile_packs p WHERE p.cycle_id = c.id)`

func scanCycle(sc interface{ Scan(...any) error }, c *sterile.Cycle) error {
	return sc.Scan(&c.ID, &c.CountyCode, &c.CenterID, &c.CycleNo, &c.Sterilizer, tsOf(&c.StartedAt), &c.Physical, &c.Chemical, &c.Biological,
		&c.Status, tsOf(&c.RecalledAt), &c.RecordedBy, &c.Packs)
}

// SterileCycle reads one cycle (ENOTFOUND).
func (s *Store) SterileCycle(ctx context.Context, county string, id int64) (*sterile.Cycle, error) {
	var c sterile.Cycle
	if err := scanCycle(s.read().row(ctx, `SELECT `+cycleCols+` FROM sterile_cycles c WHERE c.county_code = ? AND c.id = ?`, county, id), &c); err != nil {
		return nil, wrap("store.Cycle", err)
	}
	return &c, nil
}

// SterileCycles lists a center's cycles, newest first.
func (s *Store) SterileCycles(ctx context.Context, county string, centerID int64, limit int) ([]sterile.Cycle, error) {
	const op = "store.Cycles"
	rows, err := s.read().query(ctx, `SELECT `+cycleCols+` FROM sterile_cycles c WHERE c.county_code = ? AND c.center_id = ?
		ORDER BY c.started_at DESC, c.id DESC LIMIT ?`, county, centerID, limit)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []sterile.Cycle
	for rows.Next() {
		var c sterile.Cycle
		if err := scanCycle(rows, &c); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, c)
	}
	return out, wrap(op, rows.Err())
}

// SterileSetIndicator stores a cycle's results; a recall marks its packs still
// sterile or delivered recalled, each with an event, in one transaction.
func (s *Store) SterileSetIndicator(ctx context.Context, c *sterile.Cycle, by int64, ev audit.Event) (int, error) {
	const op = "store.SetIndicator"
	n := 0
	err := s.Transact(ctx, func(tx db) error {
		res, err := tx.exec(ctx, `UPDATE sterile_cycles SET physical = ?, chemical = ?, biological = ?, status = ?, recalled_at = ?
			WHERE id = ? AND status <> 'recalled'`, string(c.Physical), string(c.Chemical), string(c.Biological), string(c.Status), s.ts(c.RecalledAt), c.ID)
		if err != nil {
			return wrap(op, err)
		}
		if k, _ := res.RowsAffected(); k != 1 {
			return care.Errorf(care.ECONFLICT, "sterile.cycle_recalled", c.CycleNo)
		}
		if c.Status == sterile.CycleRecalled {
			rows, err := tx.query(ctx, `SELECT id, clinic_id, center_id FROM sterile_packs WHERE cycle_id = ? AND status IN ('sterile', 'delivered')`, c.ID)
			if err != nil {
				return wrap(op, err)
			}
			var evs []sterile.Event
			for rows.Next() {
				var e sterile.Event
				var clinic, center int64
				if err := rows.Scan(&e.PackID, &clinic, &center); err != nil {
					rows.Close()
					return wrap(op, err)
				}
				e.InstitutionID = center
				evs = append(evs, e)
			}
			rows.Close()
			if _, err := tx.exec(ctx, `UPDATE sterile_packs SET status = 'recalled', version = version + 1 WHERE cycle_id = ? AND status IN ('sterile', 'delivered')`, c.ID); err != nil {
				return wrap(op, err)
			}
			for _, e := range evs {
				e.Step, e.At, e.AccountID, e.Detail = sterile.StepRecall, c.RecalledAt, by, c.CycleNo
				if err := s.packEvent(ctx, tx, c.CountyCode, e); err != nil {
					return err
				}
			}
			n = len(evs)
		}
		return s.appendAudit(ctx, tx, ev)
	})
	return n, err
}

const packCols = `p.id, p.county_code, p.barcode, p.pack_type_id, p.cycle_id, p.center_id, p.packaging, p.packed_at, p.expires_on, p.status,
	p.order_id, p.clinic_id, p.delivered_at, p.resident_id, p.used_at, p.used_by, p.returned_at, p.version, t.name, c.cycle_no, c.status,
	COALESCE(i.name, ''), COALESCE(r.name, '')`

const packFrom = ` FROM sterile_packs p JOIN sterile_pack_types t ON t.id = p.pack_type_id JOIN sterile_cycles c ON c.id = p.cycle_id
	LEFT JOIN institutions i ON i.id = p.clinic_id LEFT JOIN residents r ON r.id = p.resident_id`

func scanPack(sc interface{ Scan(...any) error }, p *sterile.Pack) error {
	return sc.Scan(&p.ID, &p.CountyCode, &p.Barcode, &p.PackTypeID, &p.CycleID, &p.CenterID, &p.Packaging, tsOf(&p.PackedAt), &p.ExpiresOn,
		&p.Status, &p.OrderID, &p.ClinicID, tsOf(&p.DeliveredAt), &p.ResidentID, tsOf(&p.UsedAt), &p.UsedBy, tsOf(&p.ReturnedAt), &p.Version,
		&p.TypeName, &p.CycleNo, &p.CycleStatus, &p.ClinicName, &p.ResidentName)
}

// SterilePackByBarcode reads one pack (ENOTFOUND).
func (s *Store) SterilePackByBarcode(ctx context.Context, county, barcode string) (*sterile.Pack, error) {
	var p sterile.Pack
	if err := scanPack(s.read().row(ctx, `SELECT `+packCols+packFrom+` WHERE p.county_code = ? AND p.barcode = ?`, county, barcode), &p); err != nil {
		return nil, wrap("store.PackByBarcode", err)
	}
	return &p, nil
}

// SterileMovePack stores a pack's step from the version it was read at.
func (s *Store) SterileMovePack(ctx context.Context, p *sterile.Pack, e sterile.Event, orderID int64, ev audit.Event) error {
	const op = "store.MovePack"
	return s.Transact(ctx, func(tx db) error {
		res, err := tx.exec(ctx, `UPDATE sterile_packs SET status = ?, order_id = ?, clinic_id = ?, delivered_at = ?, resident_id = ?, used_at = ?,
			used_by = ?, returned_at = ?, version = version + 1 WHERE id = ? AND version = ?`, string(p.Status), p.OrderID, p.ClinicID,
			s.ts(p.DeliveredAt), p.ResidentID, s.ts(p.UsedAt), p.UsedBy, s.ts(p.ReturnedAt), p.ID, p.Version)
		if err != nil {
			return wrap(op, err)
		}
		if k, _ := res.RowsAffected(); k != 1 {
			return care.Errorf(care.ECONFLICT, "sterile.scanned_twice", p.Barcode)
		}
		if orderID != 0 {
			if _, err := tx.exec(ctx, `UPDATE sterile_orders SET delivered = delivered + 1,
				status = CASE WHEN delivered + 1 >= quantity THEN 'delivered' ELSE status END WHERE id = ?`, orderID); err != nil {
				return wrap(op, err)
			}
		}
		if err := s.packEvent(ctx, tx, p.CountyCode, e); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

// SterileRecordRefusal stores a refused use (the alert) and its audit row.
func (s *Store) SterileRecordRefusal(ctx context.Context, county string, e sterile.Event, ev audit.Event) error {
	return s.Transact(ctx, func(tx db) error {
		if err := s.packEvent(ctx, tx, county, e); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

// SterilePacks lists packs of a cycle, a resident or a clinic.
func (s *Store) SterilePacks(ctx context.Context, f sterile.PackFilter) ([]sterile.Pack, error) {
	const op = "store.Packs"
	where := []string{"p.county_code = ?"}
	args := []any{f.County}
	for _, c := range []struct {
		col string
		id  int64
	}{{"p.cycle_id", f.CycleID}, {"p.resident_id", f.ResidentID}, {"p.clinic_id", f.ClinicID}} {
		if c.id != 0 {
			where, args = append(where, c.col+" = ?"), append(args, c.id)
		}
	}
	if len(f.Statuses) > 0 {
		ph := make([]string, len(f.Statuses))
		for i, st := range f.Statuses {
			ph[i], args = "?", append(args, string(st))
		}
		where = append(where, "p.status IN ("+strings.Join(ph, ", ")+")")
	}
	rows, err := s.read().query(ctx, `SELECT `+packCols+packFrom+` WHERE `+strings.Join(where, " AND ")+` ORDER BY p.expires_on, p.id LIMIT ?`,
		append(args, f.Limit)...)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []sterile.Pack
	for rows.Next() {
		var p sterile.Pack
		if err := scanPack(rows, &p); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, p)
	}
	return out, wrap(op, rows.Err())
}

// SterileRefusals lists refused uses of a center's packs or at a clinic, newest first.
func (s *Store) SterileRefusals(ctx context.Context, county string, centerID, clinicID int64, limit int) ([]sterile.Event, error) {
	const op = "store.Refusals"
	rows, err := s.read().query(ctx, `SELECT e.id, e.pack_id, e.step, e.at, e.institution_id, e.account_id, e.resident_id, e.detail, i.name
		FROM sterile_pack_events e JOIN sterile_packs p ON p.id = e.pack_id JOIN institutions i ON i.id = e.institution_id
		WHERE e.county_code = ? AND e.step = 'use_refused' AND (? = 0 OR p.center_id = ?) AND (? = 0 OR e.institution_id = ?)
		ORDER BY e.at DESC, e.id DESC LIMIT ?`, county, centerID, centerID, clinicID, clinicID, limit)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []sterile.Event
	for rows.Next() {
		var e sterile.Event
		if err := rows.Scan(&e.ID, &e.PackID, &e.Step, tsOf(&e.At), &e.InstitutionID, &e.AccountID, &e.ResidentID, &e.Detail, &e.PlaceName); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, e)
	}
	return out, wrap(op, rows.Err())
}

// SterilePackType loads one pack type (with its ID set).
func (b *Bulk) SterilePackType(t *sterile.PackType) error {
	return b.add("sterile_pack_types", t.ID, t.CountyCode, t.CenterID, t.Code, t.Name, string(t.Packaging), b.tsv(t.CreatedAt))
}

// SterileOrder loads one clinic order (with its ID set).
func (b *Bulk) SterileOrder(o *sterile.Order) error {
	return b.add("sterile_orders", o.ID, o.CountyCode, o.ClinicID, o.CenterID, o.PackTypeID, o.Quantity, o.Delivered, o.Status, o.OrderedBy, b.tsv(o.OrderedAt))
}

// SterileCycle loads one cycle (with its ID set).
func (b *Bulk) SterileCycle(c *sterile.Cycle) error {
	return b.add("sterile_cycles", c.ID, c.CountyCode, c.CenterID, c.CycleNo, c.Sterilizer, b.tsv(c.StartedAt), string(c.Physical), string(c.Chemical),
		string(c.Biological), string(c.Status), b.tsv(c.RecalledAt), c.RecordedBy)
}

// SterilePack loads one pack (its barcode from its ID) and its steps.
func (b *Bulk) SterilePack(p *sterile.Pack, evs []sterile.Event) error {
	p.Barcode = sterile.BarcodeFor(p.CountyCode, p.ID)
	if err := b.add("sterile_packs", p.ID, p.CountyCode, p.Barcode, p.PackTypeID, p.CycleID, p.CenterID, string(p.Packaging), b.tsv(p.PackedAt),
		b.dv(p.ExpiresOn), string(p.Status), p.OrderID, p.ClinicID, b.tsv(p.DeliveredAt), p.ResidentID, b.tsv(p.UsedAt), p.UsedBy, b.tsv(p.ReturnedAt),
		p.Version); err != nil {
		return err
	}
	for _, e := range evs {
		if err := b.add("sterile_pack_events", p.CountyCode, p.ID, e.Step, b.tsv(e.At), e.InstitutionID, e.AccountID, e.ResidentID, e.Detail); err != nil {
			return err
		}
	}
	return nil
}
