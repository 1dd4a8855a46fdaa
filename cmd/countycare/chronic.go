package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"time"

	"countycare/account"
	"countycare/care"
	"countycare/chronic"
	"countycare/kpi"
	"countycare/org"
	"countycare/points"
	"countycare/referral"
	"countycare/web"
)

func cmdChronic(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "defaults" {
		fs := newFlags("chronic defaults", "Print the chronic-care rules' defaults as JSON: the format of serve --chronic-config and\n"+
			"chronic recompute --config (a county's file overrides only the fields it names).", stderr)
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if fs.NArg() > 0 {
			return &exitError{2, "chronic defaults takes no arguments; run 'countycare chronic defaults --help'"}
		}
		b, err := json.MarshalIndent(chronic.DefaultConfig(), "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(stdout, string(b))
		return err
	}
	if len(args) == 0 || args[0] != "recompute" {
		return fmt.Errorf("usage: countycare chronic recompute [--apply] [--config FILE] [--db URL] | countycare chronic defaults")
	}
	var c common
	fs := newFlags("chronic recompute", "Re-assess every active chronic patient's visits with the current rules, report the tiers\n"+
		"that would move and the county's indicators for the year to date. With --apply, move them:\n"+
		"each move is a hand-off to the level that now manages the patient, audited per batch.", stderr)
	c.register(fs)
	apply := fs.Bool("apply", false, "save the tier moves (default: report only)")
	cfgFile := fs.String("config", envOr("COUNTYCARE_CHRONIC_CONFIG", ""), "the county's chronic-care rules (JSON over the defaults; env COUNTYCARE_CHRONIC_CONFIG)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	log := c.logger(stderr)
	st, key, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	a, err := newApp(st, key, log, account.DefaultConfig(), web.Config{}, points.DefaultRules(), referral.DefaultConfig(), nil)
	if err != nil {
		return err
	}
	defer a.close(context.Background())
	if a.chronic.Config, err = loadChronicConfig(*cfgFile); err != nil {
		return err
	}
	st.SetChronicConfig(a.chronic.Config)
	county, err := countyOf(ctx, a)
	if err != nil {
		return err
	}
	sum, err := a.chronic.Recompute(ctx, st, care.Actor{Username: "cli:chronic-recompute", Role: care.RoleAdmin, CountyCode: county}, *apply)
	if err != nil {
		return err
	}
	return printRecompute(stdout, sum)
}

func countyOf(ctx context.Context, a *app) (string, error) {
	t, err := a.orgs.Tree(ctx)
	if err != nil {
		return "", err
	}
	for _, r := range t.Roots() {
		if r.Kind == org.KindCounty {
			return r.CountyCode, nil
		}
	}
	return "", fmt.Errorf("the database has no county")
}

func printRecompute(w io.Writer, sum *chronic.RecomputeSummary) error {
	out := map[string]any{"registrations": sum.Registrations, "visits": sum.Visits, "changed": sum.Changed, "applied": sum.Applied,
		"moves": sum.Moves, "tiers": sum.Tiers, "read_seconds": sum.ReadTime.Seconds(), "indicator_seconds": sum.IndicatorTime.Seconds(),
		"apply_seconds": sum.ApplyTime.Seconds()}
	if rep := sum.Indicators; rep != nil && len(rep.Units) > 0 {
		c := rep.Units[0].Cells
		rate := func(r chronic.Rate) string { return fmt.Sprintf("%d/%d (%.1f%%)", r.Num, r.Den, float64(r.BP())/100) }
		out["county_indicators"] = map[string]any{"from": rep.From.String(), "to": rep.To.String(),
			"hypertension_standardised": rate(c[chronic.Hypertension].Standardised), "hypertension_controlled": rate(c[chronic.Hypertension].Controlled),
			"diabetes_standardised": rate(c[chronic.Diabetes].Standardised), "diabetes_controlled": rate(c[chronic.Diabetes].Controlled),
			"hypertension_health_managed": rate(c[chronic.Hypertension].HealthManaged), "units": len(rep.Units)}
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}

// benchChronic measures issue #4's figures: a full recompute (in process),
// recording a follow-up and re-reading the village's indicators, and a
// township's overdue list.
func benchChronic(ctx context.Context, stdout io.Writer, a *app, base string, user map[care.Role]string, county string, n, conc int) error {
	start := time.Now()
	sum, err := a.chronic.Recompute(ctx, a.st, care.Actor{Username: "bench", Role: care.RoleAdmin, CountyCode: county}, false)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "recompute every tier and the county's indicators: %d registrations, %d visits in %.2f s (read + re-assess %.2f s, indicators %.2f s); %d tiers differ from the stored ones\n",
		sum.Registrations, sum.Visits, time.Since(start).Seconds(), sum.ReadTime.Seconds(), sum.IndicatorTime.Seconds(), sum.Changed)

	td, err := login(base, user[care.RoleTownshipDoctor])
	if err != nil {
		return err
	}
	res := runLoad(n, conc, func(int) error { return td.get("/api/v1/chronic/overdue") })
	report(stdout, "township overdue list (GET /api/v1/chronic/overdue, up to 300 rows)", res)

	vd, err := login(base, user[care.RoleVillageDoctor])
	if err != nil {
		return err
	}
	resp, err := vd.hc.Get(base + "/api/v1/chronic/overdue")
	if err != nil {
		return err
	}
	var ov struct {
		Overdue []struct {
			Registration struct {
				ID      int64  `json:"id"`
				Disease string `json:"disease"`
			} `json:"registration"`
		} `json:"overdue"`
	}
	err = json.NewDecoder(resp.Body).Decode(&ov)
	resp.Body.Close()
	if err != nil {
		return err
	}
	var ids []int64
	for _, o := range ov.Overdue {
		if o.Registration.Disease == string(chronic.Hypertension) || o.Registration.Disease == string(chronic.Diabetes) {
			ids = append(ids, o.Registration.ID)
		}
	}
	if len(ids) < n {
		// Earlier runs gave the overdue ones a visit today: take the village's
		// other hypertension and diabetes patients not yet seen today.
		vdAcc, err := a.st.AccountByUsername(ctx, user[care.RoleVillageDoctor])
		if err != nil {
			return err
		}
		today := care.Today(time.Now())
		all, err := a.st.Overdue(ctx, county, []int64{vdAcc.InstitutionID}, today.AddDays(3650), 5000)
		if err != nil {
			return err
		}
		seen := map[int64]bool{}
		for _, id := range ids {
			seen[id] = true
		}
		for _, o := range all {
			if (o.Disease == chronic.Hypertension || o.Disease == chronic.Diabetes) && o.LastVisit != today && !seen[o.ID] {
				ids = append(ids, o.ID)
			}
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	if len(ids) == 0 {
		return fmt.Errorf("chronic bench: the demo village has no overdue hypertension or diabetes patient (generate with --followups)")
	}
	csrf, err := vd.csrf()
	if err != nil {
		return err
	}
	today := care.Today(time.Now()).String()
	visits := min(n, len(ids))
	res = runLoad(visits, 1, func(i int) error {
		body, _ := json.Marshal(map[string]any{"date": today, "sbp": 128 + i%30, "dbp": 78 + i%15, "fpg": 6.1, "heart_rate": 72, "confirm": true})
		return vd.post("/api/v1/chronic/"+strconv.FormatInt(ids[i], 10)+"/visits", body, map[string]string{"X-CSRF-Token": csrf}, http.StatusCreated)
	})
	report(stdout, "record a follow-up (classify, next visit, tier, hand-off; one transaction with its audit row)", res)
	res = runLoad(max(visits, 200), 1, func(int) error { return vd.get("/api/v1/chronic/indicators") })
	report(stdout, "the village's indicators for the year, read from its per-unit counters (GET /api/v1/chronic/indicators)", res)
	return nil
}

// loadChronicConfig reads a county's chronic-care rules ("" for the defaults).
func loadChronicConfig(path string) (chronic.Config, error) {
	if path == "" {
		return chronic.DefaultConfig(), nil
	}
	f, err := os.Open(path)
	if err != nil {
		return chronic.Config{}, err
	}
	defer f.Close()
	return chronic.LoadConfig(f)
}

// loadTargets reads the dashboard's targets file (serve --kpi-targets);
// "" is the default targets. Every fault of the file is named.
func loadTargets(path string) (*kpi.Targets, error) {
	if path == "" {
		return kpi.DefaultTargets(), nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("serve: --kpi-targets: %w", err)
	}
	defer f.Close()
	t, err := kpi.LoadTargets(f)
	if err != nil {
		return nil, fmt.Errorf("serve: --kpi-targets %s: %w", path, err)
	}
	return t, nil
}

// loadBudgets reads serve --kpi-budgets against the organisation tree
// (nil without a file: the dashboard's fund use has no data).
func loadBudgets(ctx context.Context, path string, orgs *org.Service) (*kpi.Budgets, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("serve: --kpi-budgets: %w", err)
	}
	defer f.Close()
	t, err := orgs.Tree(ctx)
	if err != nil {
		return nil, fmt.Errorf("serve: --kpi-budgets: %w", err)
	}
	b, err := kpi.LoadBudgets(f, t)
	if err != nil {
		return nil, fmt.Errorf("serve: --kpi-budgets %s: %w", path, err)
	}
	return b, nil
}
