package web_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"countycare/audit"
	"countycare/care"
	"countycare/store"
)

// failingAppender refuses audit batches while fail is set, as a full
// disk or a lost database connection would.
type failingAppender struct {
	audit.Appender
	fail atomic.Bool
}

func (f *failingAppender) AppendAudit(ctx context.Context, es []audit.Event) error {
	if f.fail.Load() {
		return errors.New("audit database unavailable")
	}
	return f.Appender.AppendAudit(ctx, es)
}

// A record leaves the server only once its read's audit row is committed:
// when the row cannot be written the read answers 503 and not one byte of
// the record. Before, rows were queued in memory and the record was sent
// at once (16 of 2,960 acknowledged reads had no row after a kill -9).
func TestReadFailsWithoutDurableAuditRow(t *testing.T) {
	fa := &failingAppender{}
	e := newEnvWith(t, store.SQLite, envOptions{wrapAudit: func(a audit.Appender) audit.Appender { fa.Appender = a; return fa }})
	io := e.as(care.RoleInsuranceOfficer)
	res, err := e.st.Resident(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	apiPath := "/api/v1/residents/" + itoa(res.ID)
	pagePath := "/residents/" + itoa(res.ID)
	if r := io.get(apiPath); r.code != 200 || !strings.Contains(r.body, res.Name) {
		t.Fatalf("read with a working audit trail: %d %s", r.code, r.body)
	}

	fa.fail.Store(true)
	r := io.get(apiPath)
	if r.code != http.StatusServiceUnavailable {
		t.Fatalf("read with a failing audit trail: %d, want 503", r.code)
	}
	if strings.Contains(r.body, res.Name) || strings.Contains(r.body, res.RecordNumber) {
		t.Fatalf("the record left the server without its audit row: %s", r.body)
	}
	if !strings.Contains(r.body, `"code":"unavailable"`) || r.header.Get("X-Request-Id") == "" {
		t.Errorf("503 body or request ID missing: %s", r.body)
	}
	reqID := r.header.Get("X-Request-Id")
	p := io.get(pagePath)
	if p.code != http.StatusServiceUnavailable || strings.Contains(p.body, res.Name) {
		t.Fatalf("page read with a failing audit trail: %d, record shown: %v", p.code, strings.Contains(p.body, res.Name))
	}
	if !strings.Contains(p.body, "审计") {
		t.Errorf("the 503 page does not explain (zh): %s", p.body)
	}

	fa.fail.Store(false)
	if r := io.get(apiPath); r.code != 200 || !strings.Contains(r.body, res.Name) {
		t.Fatalf("read after the audit trail recovered: %d", r.code)
	}
	// Every acknowledged read has its row by the time the response arrived
	// (no Flush here); the withheld one has none.
	rows, err := e.st.SearchAudit(context.Background(), audit.Filter{Action: audit.ActResidentRead, ResidentIDs: []int64{res.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("%d read rows for the two acknowledged reads, want 2", len(rows))
	}
	for _, row := range rows {
		if row.RequestID == reqID {
			t.Errorf("the withheld read has a row")
		}
	}
}
