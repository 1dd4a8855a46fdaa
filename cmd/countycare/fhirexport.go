package main

import (
	"context"
	"flag"
	"time"
)

// fhirExportConfig is serve's configuration of SMART Backend Services and
// Bulk Data export (docs/fhir.md).
type fhirExportConfig struct {
	every, expiry, stale, tokenTTL *time.Duration
}

func fhirExportFlags(fs *flag.FlagSet) fhirExportConfig {
	return fhirExportConfig{
		every: fs.Duration("fhir-export-every", envDuration("COUNTYCARE_FHIR_EXPORT_EVERY", 5*time.Second),
			"how often the scheduler's lease holder looks for kicked-off FHIR $exports to run; 0: exports are never run (env COUNTYCARE_FHIR_EXPORT_EVERY)"),
		expiry: fs.Duration("fhir-export-expiry", envDuration("COUNTYCARE_FHIR_EXPORT_EXPIRY", 24*time.Hour),
			"a completed $export's NDJSON files are kept this long, then deleted (env COUNTYCARE_FHIR_EXPORT_EXPIRY)"),
		stale: fs.Duration("fhir-export-restart", envDuration("COUNTYCARE_FHIR_EXPORT_RESTART", 2*time.Hour),
			"an export still running this long after it started (its replica lost the lease) is started again (env COUNTYCARE_FHIR_EXPORT_RESTART)"),
		tokenTTL: fs.Duration("fhir-token-ttl", envDuration("COUNTYCARE_FHIR_TOKEN_TTL", 5*time.Minute),
			"lifetime of a system client's access token (SMART Backend Services; at most 5m is recommended) (env COUNTYCARE_FHIR_TOKEN_TTL)"),
	}
}

// jobs applies the configuration to a and returns the export duties: run
// the kicked-off exports, and delete the expired ones (issue 12).
func (c fhirExportConfig) jobs(a *app) []job {
	a.fhir.ExportCfg.Expiry = *c.expiry
	a.systems.Cfg.TokenTTL = *c.tokenTTL
	if *c.every <= 0 {
		return nil
	}
	return []job{
		{name: "fhir export", every: *c.every, run: func(ctx context.Context) ([]any, error) {
			n, err := a.fhir.RunExports(ctx, *c.stale)
			return []any{"exports", n}, err
		}},
		{name: "fhir export sweep", every: 15 * time.Minute, run: func(ctx context.Context) ([]any, error) {
			n, err := a.fhir.SweepExports(ctx)
			return []any{"deleted", n}, err
		}},
	}
}
