package store

import (
	"encoding/json"

	"countycare/pharmacy"
)

// StockLot loads one lot (demo data).
func (b *Bulk) StockLot(l *pharmacy.Lot) error {
	return b.add("stock_lots", l.ID, l.County, l.InstitutionID, l.DrugCode, l.Batch, b.dv(l.Expiry), l.Quantity)
}

// StockMovement loads one line of the stock ledger (demo data).
func (b *Bulk) StockMovement(m *pharmacy.Movement) error {
	return b.add("stock_movements", m.ID, m.County, m.InstitutionID, m.LotID, m.DrugCode, m.Kind, m.Delta, m.Reason, m.Ref, nullID(m.AccountID), b.tsv(m.At))
}

// SupplyOrder loads one supply order with its lines and history (demo data).
func (b *Bulk) SupplyOrder(o *pharmacy.SupplyOrder) error {
	lines, err := json.Marshal(o.Lines)
	if err != nil {
		return err
	}
	history, err := json.Marshal(o.History)
	if err != nil {
		return err
	}
	return b.add("supply_orders", o.ID, o.County, o.ClinicID, nullID(o.SupplierID), string(o.Status), string(lines), o.Note, string(history),
		b.tsv(o.CreatedAt), b.tsv(o.UpdatedAt), o.Version)
}
