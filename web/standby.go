package web

import (
	"net/http"

	"countycare/care"
)

// standbyRoutes are the routes whose reads may come from a PostgreSQL
// standby a moment behind the primary (serve --read-db): aggregate
// figures and exports nobody has just changed and reads back. Everything
// else reads from the primary. docs/operations.md, "Reads from the
// standby", lists them for operators; keep the two the same.
var standbyRoutes = map[string]bool{
	"GET /chronic/indicators":                true,
	"GET /api/v1/chronic/indicators":         true,
	"GET /consult/indicators":                true,
	"GET /api/v1/consultations/indicators":   true,
	"GET /referrals/indicators":              true,
	"GET /api/v1/referrals/indicators":       true,
	"GET /reading/indicators":                true,
	"GET /api/v1/reading/indicators":         true,
	"GET /critical/indicators":               true,
	"GET /api/v1/critical-alerts/indicators": true,
	"GET /family/indicators":                 true,
	"GET /api/v1/family/indicators":          true,
	"GET /api/v1/prescriptions/indicators":   true,
	"GET /settle/reports":                    true,
	"GET /api/v1/settle/reports":             true,
	"GET /api/v1/residents/export":           true,
}

// standbyReads marks h's requests as allowed to read from the standby.
// The mark is set after the wrapper has read the session and applied the
// policy, so sign-in state always comes from the primary.
func standbyReads(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		return h(w, r.WithContext(care.WithStandbyReads(r.Context())), rc)
	}
}
