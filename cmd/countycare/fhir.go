package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"countycare/account"
	"countycare/care"
	"countycare/fhir"
	"countycare/org"
	"countycare/points"
	"countycare/referral"
	"countycare/web"
)

const fhirUsage = "usage: countycare fhir import --village ID DIR | countycare fhir export --since TIME DIR"

// cmdFHIR: countycare fhir import|export (issue 12).
func cmdFHIR(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "import" && args[0] != "export") {
		return &exitError{2, fhirUsage}
	}
	var c common
	var fs *flag.FlagSet
	var village *int64
	var since *string
	var lang *string
	if args[0] == "import" {
		fs = newFlags("fhir import", "Load FHIR R4 transaction bundles (*.json, e.g. Synthea's) and an export's NDJSON files\n"+
			"(Patient.ndjson, Condition.ndjson, Observation.ndjson: one transaction) from DIR, each all or\n"+
			"nothing, through the same write path as POST /fhir (validation, chronic rules, audit), acting\n"+
			"for the village clinic --village: it manages every patient registered. What the platform\n"+
			"cannot hold is counted per type and said; a refused bundle names each bad entry.", stderr)
		village = fs.Int64("village", 0, "ID of the village clinic that manages the imported patients (required)")
	} else {
		fs = newFlags("fhir export", "Write the county's Patients, Conditions (chronic registrations) and Observations (follow-up\n"+
			"measurements) changed at or after --since to DIR as NDJSON, one file per type (Bulk Data\n"+
			"format), one audit row per resident exported. 'countycare fhir import' reads the files back.", stderr)
		since = fs.String("since", "", "RFC 3339 time (2026-01-01T00:00:00Z) or date (2026-01-01, China time): export what changed from then (required)")
		lang = fs.String("lang", "zh", "language of the codes' display texts: zh or en")
	}
	c.register(fs)
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return &exitError{2, fhirUsage}
	}
	dir := fs.Arg(0)
	var from time.Time
	if since != nil {
		var err error
		if from, err = parseSince(*since); err != nil {
			return &exitError{2, "fhir export: --since: " + err.Error()}
		}
		if *lang != "zh" && *lang != "en" {
			return &exitError{2, "fhir export: --lang must be zh or en"}
		}
	} else if *village <= 0 {
		return &exitError{2, "fhir import: --village is required: the ID of a village clinic (see /org)"}
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
	county, err := countyOf(ctx, a)
	if err != nil {
		return err
	}
	if since != nil {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return err
		}
		actor := care.Actor{Username: "cli:fhir-export", Role: care.RoleAdmin, CountyCode: county}
		counts, err := fhir.Export(ctx, st, a.audit, actor, from, dir, func(k string) string { return a.web.T(*lang, k) })
		if err != nil {
			return err
		}
		if err := a.audit.Flush(ctx); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "exported since %s to %s: %d Patient, %d Condition, %d Observation\n",
			from.UTC().Format(time.RFC3339), dir, counts["Patient"], counts["Condition"], counts["Observation"])
		return nil
	}
	t, err := a.orgs.Tree(ctx)
	if err != nil {
		return err
	}
	if v := t.Get(*village); v == nil || v.Kind != org.KindVillageClinic {
		return &exitError{2, fmt.Sprintf("fhir import: institution %d is not a village clinic", *village)}
	}
	srv := &fhir.Server{Residents: a.res, Orgs: a.orgs, Chronic: a.chronic, Atomic: st.Atomic, Now: st.Now}
	actor := care.Actor{Username: "cli:fhir-import", Role: care.RoleVillageDoctor, InstitutionID: *village, CountyCode: county}
	bundles, ndjson, err := fhir.ReadDir(dir)
	if err != nil {
		return err
	}
	type load struct {
		name string
		body func() ([]byte, error)
	}
	var loads []load
	for _, f := range bundles {
		loads = append(loads, load{filepath.Base(f), func() ([]byte, error) { return os.ReadFile(f) }})
	}
	if ndjson {
		loads = append(loads, load{"*.ndjson", func() ([]byte, error) {
			return fhir.BundleOfNDJSON(func(typ string) ([]byte, error) {
				b, err := os.ReadFile(filepath.Join(dir, typ+".ndjson"))
				if os.IsNotExist(err) {
					return nil, nil
				}
				return b, err
			})
		}})
	}
	if len(loads) == 0 {
		return fmt.Errorf("fhir import: no *.json bundle or *.ndjson file in %s", dir)
	}
	failed := 0
	for _, l := range loads {
		body, err := l.body()
		if err == nil {
			var sum *fhir.Summary
			if sum, err = srv.Import(ctx, actor, body, *village); err == nil {
				fmt.Fprintf(stdout, "%s: created %s; already held %s; not held %s\n", l.name, counts(sum.Created), counts(sum.Existing), counts(sum.NotHeld))
				continue
			}
		}
		failed++
		fmt.Fprintf(stdout, "%s: refused, nothing written: %s\n", l.name, describe(a.web, err))
	}
	if err := a.audit.Flush(ctx); err != nil {
		return err
	}
	if failed > 0 {
		return &exitError{1, fmt.Sprintf("fhir import: %d of %d refused", failed, len(loads))}
	}
	return nil
}

// counts formats per-type counts: "Patient 1, Condition 2", or "none".
func counts(m map[string]int) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	var parts []string
	for _, k := range ks {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// describe renders an import's refusal in English: the message, then each
// bad entry with its fault.
func describe(w *web.Server, err error) string {
	var ce *care.Error
	if !errors.As(err, &ce) || ce.Key == "" {
		return err.Error()
	}
	s := w.T("en", ce.Key, ce.Args...)
	for _, f := range ce.Fields {
		s += "\n  " + f.Field + ": " + w.T("en", f.Key, f.Args...)
	}
	return s
}

// parseSince reads an RFC 3339 time or a date (midnight, China time).
func parseSince(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	d, err := care.ParseDate(v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor a date", v)
	}
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, care.Shanghai), nil
}
