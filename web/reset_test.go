package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"countycare/account"
	"countycare/audit"
	"countycare/care"
	"countycare/demo"
	"countycare/internal/testdb"
	"countycare/org"
	"countycare/store"
)

// resetLinkFor returns the token of the newest one-time link queued for phone.
func resetLinkFor(t *testing.T, e *env, phone string) string {
	t.Helper()
	msgs, err := e.st.PendingMessages(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	tok := ""
	for _, m := range msgs {
		if m.Purpose == account.ResetPurpose && m.Recipient == phone {
			if g := regexp.MustCompile(`/reset\?t=([A-Za-z0-9_-]+)`).FindStringSubmatch(m.Body); g != nil {
				tok = g[1]
			}
		}
	}
	if tok == "" {
		t.Fatalf("no one-time link queued for the owner's phone %s", phone)
	}
	return tok
}

// secondAdmin creates another administrator (for a practitioner without
// an account) through the page and signs it in.
func secondAdmin(t *testing.T, e *env, admin *client) *client {
	t.Helper()
	ps, err := e.st.Practitioners(context.Background(), org.PractitionerFilter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	const pw = "Second-Admin-Pass-2026"
	for _, p := range ps {
		r := admin.postForm("/admin/accounts", url.Values{"username": {"it.second" + itoa(p.ID)}, "role": {string(care.RoleAdmin)},
			"practitioner_id": {itoa(p.ID)}, "password": {pw}}, true)
		if r.code == http.StatusSeeOther {
			c := e.anon()
			if r := c.signIn("it.second"+itoa(p.ID), pw, ""); r.code != 200 {
				t.Fatalf("second administrator's sign-in: %d", r.code)
			}
			return c
		}
	}
	t.Fatal("no practitioner could get a second administrator account")
	return nil
}

// An administrator alone cannot obtain a working password for the
// auditor: a direct reset is refused; a reset request tells the owner and
// waits for a second administrator, whose approval sends the owner a
// one-time link that no administrator sees, which works once and expires.
func TestPrivilegedResetNeedsSecondAdminAndOneTimeLink(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(string(d), func(t *testing.T) { testPrivilegedReset(t, d) })
	}
}

func messagesTo(t *testing.T, e *env, phone, purpose string) []string {
	t.Helper()
	msgs, err := e.st.PendingMessages(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		if m.Recipient == phone && m.Purpose == purpose {
			out = append(out, m.Body)
		}
	}
	return out
}

func testPrivilegedReset(t *testing.T, d store.Dialect) {
	e := newEnv(t, d)
	ctx := context.Background()
	admin := e.as(care.RoleAdmin)
	auditorName := e.users[care.RoleAuditor]
	acc, err := e.st.AccountByUsername(ctx, auditorName)
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.st.Practitioner(ctx, acc.PractitionerID)
	if err != nil {
		t.Fatal(err)
	}
	base := "/admin/accounts/" + itoa(acc.ID)

	// 1. The direct reset is refused, naming the field.
	r := admin.postForm(base+"/password", url.Values{"password": {"Admin-Knows-This-2026"}}, true)
	if r.code != http.StatusUnprocessableEntity || !strings.Contains(r.body, "一次性") {
		t.Fatalf("direct reset of the auditor: %d, want 422 with the reason", r.code)
	}
	if r := e.anon().signIn(auditorName, "Admin-Knows-This-2026", ""); r.code != http.StatusUnauthorized {
		t.Fatalf("auditor with the administrator's password: %d, want 401", r.code)
	}

	// 2. The request tells the owner; no link exists yet, and the
	// requester cannot approve it.
	r = admin.postForm(base+"/reset-request", url.Values{}, true)
	if r.code != http.StatusSeeOther {
		t.Fatalf("reset request: %d %s", r.code, r.body)
	}
	if n := messagesTo(t, e, p.Phone, account.ResetNoticePurpose); len(n) != 1 || !strings.Contains(n[0], e.users[care.RoleAdmin]) {
		t.Fatalf("owner's notice of the request: %q", n)
	}
	if l := messagesTo(t, e, p.Phone, account.ResetPurpose); len(l) != 0 {
		t.Fatalf("a link was sent before approval: %q", l)
	}
	pending, err := e.srv.Accounts.PendingResets(ctx)
	if err != nil || len(pending) != 1 {
		t.Fatalf("pending resets: %v %v", pending, err)
	}
	approve := "/admin/resets/" + itoa(pending[0].ID) + "/approve"
	if r := admin.postForm(approve, url.Values{}, true); r.code != http.StatusUnprocessableEntity {
		t.Fatalf("the requester approving their own request: %d, want 422", r.code)
	}
	if l := messagesTo(t, e, p.Phone, account.ResetPurpose); len(l) != 0 {
		t.Fatal("a link was sent after the requester's own approval")
	}

	// 3. A second administrator approves: the owner gets the link, neither
	// administrator sees it.
	other := secondAdmin(t, e, admin)
	if pg := other.get("/admin/accounts"); !strings.Contains(pg.body, `action="`+approve+`"`) || !strings.Contains(pg.body, auditorName) {
		t.Fatalf("the second administrator's page does not offer the approval: %d", pg.code)
	}
	if pg := admin.get("/admin/accounts"); strings.Contains(pg.body, `action="`+approve+`"`) || !strings.Contains(pg.body, "等待另一名管理员批准") {
		t.Fatal("the requester's page offers to approve their own request")
	}
	r = other.postForm(approve, url.Values{}, true)
	if r.code != http.StatusSeeOther || strings.Contains(r.header.Get("Location")+r.body, "t=") {
		t.Fatalf("approval: %d %s %s", r.code, r.header.Get("Location"), r.body)
	}
	for _, c := range []*client{admin, other} {
		if pg := c.get("/admin/accounts?ok=reset_link_sent"); strings.Contains(pg.body, "/reset?t=") {
			t.Fatal("an administrator's page shows the link")
		}
	}
	if r := other.postForm(approve, url.Values{}, true); r.code != http.StatusNotFound {
		t.Fatalf("approving twice: %d, want 404", r.code)
	}
	tok := resetLinkFor(t, e, p.Phone)
	if _, err := e.st.ResetByToken(ctx, tok); !care.IsCode(err, care.ENOTFOUND) {
		t.Fatalf("the raw token is stored (lookup by it: %v); want only its hash", err)
	}
	if _, err := e.st.ResetByToken(ctx, account.HashToken(tok)); err != nil {
		t.Fatalf("link not stored by its hash: %v", err)
	}
	// Until the link is used the auditor's password is unchanged.
	if r := e.anon().signIn(auditorName, demo.DefaultPassword, ""); r.code != 200 {
		t.Fatalf("auditor's own password after the approval: %d", r.code)
	}

	// 4. The owner uses the link.
	owner := e.anon()
	pg := owner.get("/reset?t=" + tok)
	if pg.code != 200 || !strings.Contains(pg.body, auditorName) {
		t.Fatalf("reset page: %d", pg.code)
	}
	loginCSRF := func() string {
		for _, c := range owner.hc.Jar.Cookies(mustURL(e.ts.URL)) {
			if c.Name == "cc_login_csrf" {
				return c.Value
			}
		}
		return ""
	}
	weak := owner.postForm("/reset", url.Values{"csrf": {loginCSRF()}, "t": {tok}, "next": {"short"}, "confirm": {"short"}}, false)
	if weak.code != http.StatusUnprocessableEntity || !strings.Contains(weak.body, `field-error`) {
		t.Fatalf("weak password through the link: %d, want 422 naming the field", weak.code)
	}
	const next = "Auditor-Own-Secret-77"
	done := owner.postForm("/reset", url.Values{"csrf": {loginCSRF()}, "t": {tok}, "next": {next}, "confirm": {next}}, false)
	if done.code != http.StatusSeeOther || !strings.Contains(done.header.Get("Location"), "password_reset_done") {
		t.Fatalf("using the link: %d %s", done.code, done.body)
	}
	if r := e.anon().signIn(auditorName, next, ""); r.code != 200 {
		t.Fatalf("auditor with the new password: %d", r.code)
	}
	if r := e.anon().signIn(auditorName, demo.DefaultPassword, ""); r.code != http.StatusUnauthorized {
		t.Fatalf("auditor with the old password: %d, want 401", r.code)
	}

	// 5. Once only.
	if again := e.anon().get("/reset?t=" + tok); again.code != http.StatusNotFound {
		t.Fatalf("the used link opened again: %d, want 404", again.code)
	}

	// 6. Expiry, and a new request supersedes an older link.
	requestAndApprove := func() string {
		t.Helper()
		if r := admin.postForm(base+"/reset-request", url.Values{}, true); r.code != http.StatusSeeOther {
			t.Fatalf("request: %d", r.code)
		}
		ps, err := e.srv.Accounts.PendingResets(ctx)
		if err != nil || len(ps) != 1 {
			t.Fatalf("pending: %v %v", ps, err)
		}
		if r := other.postForm("/admin/resets/"+itoa(ps[0].ID)+"/approve", url.Values{}, true); r.code != http.StatusSeeOther {
			t.Fatalf("approve: %d", r.code)
		}
		return resetLinkFor(t, e, p.Phone)
	}
	first := requestAndApprove()
	latest := requestAndApprove()
	if first == latest {
		t.Fatal("a new request gave the same token")
	}
	later := &account.Service{Repo: e.st, Config: account.DefaultConfig(), Orgs: &org.Service{Repo: e.st, Now: time.Now},
		Now: func() time.Time { return time.Now().Add(account.ResetLinkLifetime + time.Minute) }}
	if err := later.CompleteReset(ctx, latest, "Too-Late-Password-1", "192.0.2.1"); !care.IsCode(err, care.ENOTFOUND) {
		t.Fatalf("link used after %s: %v, want not found", account.ResetLinkLifetime, err)
	}
	if err := e.srv.Accounts.CompleteReset(ctx, first, "Superseded-Link-1", "192.0.2.1"); !care.IsCode(err, care.ENOTFOUND) {
		t.Fatalf("superseded link: %v, want not found", err)
	}
	if err := e.srv.Accounts.CompleteReset(ctx, latest, "Latest-Link-Works-1", "192.0.2.1"); err != nil {
		t.Fatalf("latest link within its hour: %v", err)
	}

	// 7. The audit trail shows the request, the approval, the use and the refusals.
	if err := e.writer.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for _, want := range []struct{ action, username string }{
		{account.ActResetRequest, e.users[care.RoleAdmin]},
		{account.ActResetApprove, ""},
		{account.ActResetComplete, auditorName},
		{account.ActResetRefused, auditorName},
	} {
		rows, err := e.st.SearchAudit(ctx, audit.Filter{Action: want.action, Username: want.username})
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) == 0 {
			t.Errorf("no %s row by %q", want.action, want.username)
		}
		for _, row := range rows {
			if strings.Contains(row.Detail, tok) || strings.Contains(row.Detail, latest) {
				t.Errorf("%s row holds the link's token", want.action)
			}
			if want.action == account.ActResetApprove && row.Username == e.users[care.RoleAdmin] {
				t.Errorf("the approval row is the requester's")
			}
		}
	}
}
