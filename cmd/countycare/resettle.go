package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/org"
	"countycare/settle"
	"countycare/store"
)

func cmdResettle(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newFlags("resettle", "Settle a county's whole year again from the stored bills under one policy version\n"+
		"(default: the newest filed for the year), each resident's visits in date order from zero accumulators.\n"+
		"Without --apply it only reports what would change; with --apply it rewrites every settlement's split and\n"+
		"the year's accumulators in one transaction, with one audit row.", stderr)
	c.register(fs)
	year := fs.Int("year", time.Now().Year(), "policy year")
	version := fs.Int("version", 0, "policy version (0: the newest)")
	county := fs.String("county", "", "county code (default: the database's county)")
	apply := fs.Bool("apply", false, "write the new splits (default: report only)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := c.logger(stderr)
	st, _, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if *county == "" {
		insts, err := st.Institutions(ctx)
		if err != nil {
			return err
		}
		for _, in := range insts {
			if in.Kind == org.KindCounty {
				*county = in.CountyCode
				break
			}
		}
	}
	ps, err := st.Policies(ctx, *county)
	if err != nil {
		return err
	}
	var sp *settle.StoredPolicy
	for i := range ps {
		if ps[i].Year == *year && (*version == 0 || ps[i].Version == *version) && (sp == nil || ps[i].Version > sp.Version) {
			sp = &ps[i]
		}
	}
	if sp == nil {
		return fmt.Errorf("no policy for county %q year %d version %d", *county, *year, *version)
	}
	start := time.Now()
	rs := settle.NewResettler(sp)
	var tx *store.ResettleTx
	var rows chan store.ResettleRow
	writeErr := make(chan error, 1)
	if *apply {
		if tx, err = st.BeginResettle(ctx, *county, *year); err != nil {
			return err
		}
		// Reading, settling and encoding on this goroutine; writing on another.
		rows = make(chan store.ResettleRow, 4096)
		go func() {
			var werr error
			for row := range rows {
				if werr == nil {
					werr = tx.Write(ctx, row)
				}
			}
			writeErr <- werr
		}()
		rs.OnVisit = func(s *settle.Settlement, r *settle.Result, before settle.Accumulators) error {
			rows <- tx.VisitRow(s, r, before, sp.ID)
			return nil
		}
		rs.OnResident = func(id int64, acc settle.Accumulators) error {
			rows <- tx.ResidentRow(id, acc)
			return nil
		}
	}
	err = st.EachLiveBill(ctx, *county, *year, rs.Add)
	if err == nil {
		err = rs.Finish()
	}
	if rows != nil {
		close(rows)
		if werr := <-writeErr; err == nil {
			err = werr
		}
	}
	if err != nil {
		if tx != nil {
			tx.Rollback()
		}
		return err
	}
	if tx != nil {
		sum := rs.Summary
		ev := audit.Event{Username: "countycare-resettle", Action: "settle.resettle", Outcome: audit.OutcomeOK, CountyCode: *county, Purpose: care.PurposePayment,
			Detail: fmt.Sprintf("year %d policy v%d: %d visits of %d residents, %d changed", sum.Year, sum.Version, sum.Visits, sum.Residents, sum.Changed)}
		if err := tx.Commit(ctx, ev); err != nil {
			return err
		}
	}
	log.Info("resettle done", "visits", rs.Summary.Visits, "seconds", time.Since(start).Seconds())
	out := struct {
		settle.ResettleSummary
		Applied bool    `json:"applied"`
		Seconds float64 `json:"seconds"`
	}{rs.Summary, *apply, time.Since(start).Seconds()}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
