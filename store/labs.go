package store

import (
	"context"
	"database/sql"

	"countycare/audit"
	"countycare/critical"
	"countycare/kpi"
	"countycare/lab"
	"countycare/notify"
)

func nullFloat(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

func floatOf(n sql.NullFloat64) *float64 {
	if !n.Valid {
		return nil
	}
	v := n.Float64
	return &v
}

// SaveLabResults stores results with the critical alert of each that has
// one (its source id set to the result's), the alerts' messages (msgs[i]
// of alerts[i]) and the audit row, in one transaction.
func (s *Store) SaveLabResults(ctx context.Context, rs []*lab.Result, alerts []*critical.Alert, msgs [][]notify.Message, ev audit.Event) error {
	const op = "store.SaveLabResults"
	return s.Transact(ctx, func(tx db) error {
		resulted := map[int64]bool{}
		for _, r := range rs {
			if r.SpecimenID != 0 && !resulted[r.SpecimenID] {
				resulted[r.SpecimenID] = true
				if err := s.resultSpecimenInTx(ctx, tx, r.CountyCode, r.SpecimenID, r.SpecimenVersion, r.CreatedAt, ev.InstitutionID, ev.AccountID); err != nil {
					return err
				}
			}
		}
		for i, r := range rs {
			id, err := tx.insert(ctx, `INSERT INTO lab_results (county_code, resident_id, clinic_id, ordered_by, doctor, analyte, loinc, local_code,
				value, unit, value_si, unit_si, ref_low, ref_high, flag, specimen, device, collected_at, resulted_at, created_at, specimen_id)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				r.CountyCode, r.ResidentID, r.ClinicID, r.OrderedBy, r.Doctor, r.Analyte, r.LOINC, r.LocalCode,
				r.Value, r.Unit, r.ValueSI, r.UnitSI, nullFloat(r.RefLow), nullFloat(r.RefHigh), r.Flag, r.Specimen, r.Device,
				s.ts(r.CollectedAt), s.ts(r.ResultedAt), s.ts(r.CreatedAt), nullID(r.SpecimenID))
			if err != nil {
				return wrap(op, err)
			}
			r.ID = id
			if err := s.keepTurnaround(ctx, tx, r.CountyCode, r.ClinicID, kpi.TATLab, r.CollectedAt, r.ResultedAt); err != nil {
				return err
			}
			if i < len(alerts) && alerts[i] != nil {
				alerts[i].SourceID = id
				var m []notify.Message
				if i < len(msgs) {
					m = msgs[i]
				}
				if _, err := s.raiseInTx(ctx, tx, alerts[i], m); err != nil {
					return err
				}
			}
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

// labResultSelect reads lab results l with the critical finding and alert
// of each (scanLabResult): the lab page's and the FHIR export's query.
const labResultSelect = `SELECT l.id, l.county_code, l.resident_id, l.clinic_id, l.ordered_by, l.doctor, l.analyte, l.loinc, l.local_code,
		l.value, l.unit, l.value_si, l.unit_si, l.ref_low, l.ref_high, l.flag, l.specimen, l.device, l.collected_at, l.resulted_at, l.created_at,
		COALESCE(a.finding, ''), COALESCE(a.id, 0)
		FROM lab_results l LEFT JOIN critical_alerts a ON a.county_code = l.county_code AND a.source_kind = '` + critical.SourceLab + `' AND a.source_id = l.id`

func scanLabResult(sc interface{ Scan(...any) error }, r *lab.Result) error {
	var lo, hi sql.NullFloat64
	if err := sc.Scan(&r.ID, &r.CountyCode, &r.ResidentID, &r.ClinicID, &r.OrderedBy, &r.Doctor, &r.Analyte, &r.LOINC, &r.LocalCode,
		&r.Value, &r.Unit, &r.ValueSI, &r.UnitSI, &lo, &hi, &r.Flag, &r.Specimen, &r.Device, tsOf(&r.CollectedAt), tsOf(&r.ResultedAt),
		tsOf(&r.CreatedAt), &r.Critical, &r.AlertID); err != nil {
		return err
	}
	r.RefLow, r.RefHigh = floatOf(lo), floatOf(hi)
	return nil
}

// LabResults lists a resident's results, newest collected first, with the
// critical finding and alert of each.
func (s *Store) LabResults(ctx context.Context, county string, residentID int64, limit int) ([]lab.Result, error) {
	const op = "store.LabResults"
	rows, err := s.read().query(ctx, labResultSelect+`
		WHERE l.county_code = ? AND l.resident_id = ? ORDER BY l.collected_at DESC, l.id DESC LIMIT ?`, county, residentID, limit)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []lab.Result
	for rows.Next() {
		var r lab.Result
		if err := scanLabResult(rows, &r); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, r)
	}
	return out, wrap(op, rows.Err())
}
