package store_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"countycare/access"
	"countycare/account"
	"countycare/audit"
	"countycare/care"
	"countycare/demo"
	"countycare/internal/testdb"
	"countycare/org"
	"countycare/resident"
	"countycare/store"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// syncRecorder writes audit events at once, so tests can read them back.
type syncRecorder struct {
	s *store.Store
	t testing.TB
}

func (r syncRecorder) Record(ctx context.Context, e audit.Event) {
	if err := r.s.AppendAudit(ctx, []audit.Event{e}); err != nil {
		r.t.Errorf("audit: %v", err)
	}
}

type fixture struct {
	st       *store.Store
	clk      *clock
	res      *resident.Service
	orgs     *org.Service
	accounts *account.Service
	demo     *demo.Result
	actors   map[care.Role]care.Actor
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func newFixture(t *testing.T, d store.Dialect) *fixture {
	t.Helper()
	clk := &clock{t: time.Date(2026, 11, 22, 2, 0, 0, 0, time.UTC)}
	st := testdb.Open(t, d, clk.Now)
	ctx := context.Background()
	res, err := demo.Generate(ctx, st, demo.Config{Residents: 3000, Villages: 20, VillageDoctors: 40, Now: clk.Now()}, quiet)
	if err != nil {
		t.Fatalf("demo: %v", err)
	}
	f := &fixture{st: st, clk: clk, demo: res, actors: map[care.Role]care.Actor{}}
	f.orgs = &org.Service{Repo: st, Now: clk.Now}
	f.res = &resident.Service{Repo: st, Orgs: f.orgs, Audit: syncRecorder{st, t}, Now: clk.Now}
	f.accounts = &account.Service{Repo: st, Config: account.DefaultConfig(), Now: clk.Now, Orgs: f.orgs}
	for _, l := range res.Logins {
		tok, _, err := f.accounts.Login(ctx, account.Credentials{Username: l.Username, Password: l.Password})
		if err != nil {
			t.Fatalf("login %s: %v", l.Username, err)
		}
		_, a, err := f.accounts.Authenticate(ctx, tok)
		if err != nil {
			t.Fatalf("authenticate %s: %v", l.Username, err)
		}
		f.actors[l.Role] = a
	}
	return f
}

func TestMigrateIsIdempotent(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		st := testdb.Open(t, d, time.Now)
		if err := st.Migrate(context.Background()); err != nil {
			t.Fatalf("second migrate: %v", err)
		}
		v, err := st.SchemaVersion(context.Background())
		ms, _ := st.Migrations()
		if err != nil || v != store.LatestVersion(ms) {
			t.Fatalf("schema version %d, %v; want %d", v, err, store.LatestVersion(ms))
		}
	})
}

func TestDemoCounty(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		ctx := context.Background()
		if len(f.demo.Logins) != len(care.Roles) {
			t.Errorf("demo logins %d, want one per role (%d)", len(f.demo.Logins), len(care.Roles))
		}
		tree, err := f.orgs.Tree(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(tree.OfKind(0, org.KindVillageClinic)); n != 20 {
			t.Errorf("village clinics %d, want 20", n)
		}
		if n := len(tree.OfKind(0, org.KindCommunity)); n != 2 {
			t.Errorf("communities %d, want 2", n)
		}
		// A village sits below a township below a community below the county: depth ≥ 3.
		v := tree.OfKind(0, org.KindVillageClinic)[0]
		if as := tree.Ancestors(v.ID); len(as) < 3 || as[0].Kind != org.KindCounty {
			t.Errorf("ancestors of a village: %v", as)
		}
		if f.demo.Residents != 3000 {
			t.Errorf("residents %d, want 3000", f.demo.Residents)
		}
	})
}

func TestRegisterSearchAndScope(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		ctx := care.WithRequestID(context.Background(), "req-test-1")
		vd := f.actors[care.RoleVillageDoctor]
		in := resident.Input{Name: "欧阳修远", IDNumber: "411723198807150031", Phone: "13912345678", VillageID: vd.InstitutionID, Poverty: "subsistence"}
		r, err := f.res.Register(ctx, vd, in)
		if err != nil {
			t.Fatalf("register: %v", err)
		}
		if len(r.RecordNumber) != 17 || !strings.HasPrefix(r.RecordNumber, "411723") {
			t.Errorf("record number %q", r.RecordNumber)
		}
		// Registering the same ID number again is a conflict naming the record.
		_, err = f.res.Register(ctx, vd, in)
		if care.ErrorCode(err) != care.ECONFLICT {
			t.Fatalf("duplicate register: %v, want conflict", err)
		}
		// The refusal reveals that the person is registered: it is audited.
		if evs, _ := f.st.SearchAudit(ctx, audit.Filter{Action: audit.ActResidentCreate, Outcome: audit.OutcomeInvalid}); len(evs) != 1 {
			t.Errorf("refused duplicate registration audit rows: %d", len(evs))
		}
		// Found by pinyin initials, full pinyin, name prefix, ID and phone.
		for _, q := range []string{"oyxy", "ouyangxiuyuan", "欧阳", "411723198807150031", "13912345678", r.RecordNumber} {
			got, _, err := f.res.Search(ctx, vd, q, resident.Filter{})
			if err != nil {
				t.Fatalf("search %q: %v", q, err)
			}
			found := false
			for _, x := range got {
				found = found || x.ID == r.ID
			}
			if !found {
				t.Errorf("search %q did not find the new resident (%d results)", q, len(got))
			}
		}
		// The township doctor of that village sees them; a village doctor
		// elsewhere, the analyst and the county specialist do not.
		td := f.actors[care.RoleTownshipDoctor]
		if _, err := f.res.Get(ctx, td, r.ID); err != nil {
			t.Errorf("township doctor read: %v", err)
		}
		tree, _ := f.orgs.Tree(ctx)
		var otherVillage int64
		for _, v := range tree.OfKind(0, org.KindVillageClinic) {
			if v.ID != vd.InstitutionID {
				otherVillage = v.ID
				break
			}
		}
		other := vd
		other.InstitutionID, other.AccountID = otherVillage, 9999
		for _, a := range []care.Actor{other, f.actors[care.RoleCountySpecialist], f.actors[care.RoleAnalyst], f.actors[care.RoleAdmin]} {
			if _, err := f.res.Get(ctx, a, r.ID); care.ErrorCode(err) != care.ENOTFOUND {
				t.Errorf("%s at %d read another's resident: %v, want not found", a.Role, a.InstitutionID, err)
			}
		}
		got, _, _ := f.res.Search(ctx, other, "oyxy", resident.Filter{})
		for _, x := range got {
			if x.ID == r.ID {
				t.Error("other village's doctor found the resident by search")
			}
		}
		// Denied reads are audited as denied, with the request ID.
		evs, err := f.st.SearchAudit(ctx, audit.Filter{ResidentIDs: []int64{r.ID}, Outcome: audit.OutcomeDenied})
		if err != nil || len(evs) < 2 {
			t.Fatalf("denied audit rows: %d, %v", len(evs), err)
		}
		if evs[0].RequestID != "req-test-1" {
			t.Errorf("audit request id %q", evs[0].RequestID)
		}
		// Emergency access gives the county specialist a time-limited link.
		cs := f.actors[care.RoleCountySpecialist]
		if _, err := f.res.EmergencyAccess(ctx, cs, "411723198807150031", "胸痛急诊"); err != nil {
			t.Fatalf("emergency access: %v", err)
		}
		if _, err := f.res.Get(ctx, cs, r.ID); err != nil {
			t.Errorf("after emergency access: %v", err)
		}
		// Linked patients are found by search and listed first when browsing.
		for _, q := range []string{"oyxy", ""} {
			got, _, err := f.res.Search(ctx, cs, q, resident.Filter{})
			found := false
			for _, x := range got {
				found = found || x.ID == r.ID
			}
			if err != nil || !found || (q == "" && got[0].ID != r.ID) {
				t.Errorf("county specialist search %q after emergency access: %d results, found %v, %v", q, len(got), found, err)
			}
		}
		f.clk.Add(access.EmergencyAccessHours*time.Hour + time.Minute)
		if _, err := f.res.Get(ctx, cs, r.ID); care.ErrorCode(err) != care.ENOTFOUND {
			t.Errorf("emergency access did not expire: %v", err)
		}
		if got, _, _ := f.res.Search(ctx, cs, "oyxy", resident.Filter{}); len(got) != 0 {
			t.Errorf("expired link still found by search: %v", got)
		}
	})
}

func TestRegisterRejectsBadInputAndWritesNothing(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		ctx := context.Background()
		vd := f.actors[care.RoleVillageDoctor]
		before, _ := f.st.AuditCount(ctx)
		bad := []resident.Input{
			{Name: "张三", IDNumber: "411723198807150034", VillageID: vd.InstitutionID},                    // check digit
			{Name: "<script>", IDNumber: "411723198807150031", VillageID: vd.InstitutionID},              // html
			{Name: "张三", IDNumber: "411723198807150031", VillageID: vd.InstitutionID + 1000},             // unknown village
			{Name: strings.Repeat("张", 51), IDNumber: "411723198807150031", VillageID: vd.InstitutionID}, // too long
		}
		for _, in := range bad {
			if _, err := f.res.Register(ctx, vd, in); care.ErrorCode(err) != care.EINVALID {
				t.Errorf("Register(%+v) = %v, want invalid", in, err)
			}
		}
		got, _, _ := f.res.Search(ctx, vd, "411723198807150031", resident.Filter{})
		if len(got) != 0 {
			t.Errorf("a refused registration was written: %v", got)
		}
		after, _ := f.st.AuditCount(ctx)
		if after != before+1 { // only the search above
			t.Errorf("audit rows %d → %d; refused input should write none", before, after)
		}
	})
}

func TestUpdateAndMerge(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		ctx := context.Background()
		td := f.actors[care.RoleTownshipDoctor]
		groups, err := f.res.Duplicates(ctx, td)
		if err != nil {
			t.Fatalf("duplicates: %v", err)
		}
		if len(groups) == 0 {
			t.Fatal("the demo's legacy duplicates are not detected")
		}
		g := groups[0]
		surv, dup := g[0], g[1]
		// A stale version is refused.
		if err := f.res.Merge(ctx, td, surv.ID, surv.Version+1, dup.ID, dup.Version); care.ErrorCode(err) != care.ECONFLICT {
			t.Errorf("stale merge: %v", err)
		}
		if err := f.res.Merge(ctx, td, surv.ID, surv.Version, dup.ID, dup.Version); err != nil {
			t.Fatalf("merge: %v", err)
		}
		m, err := f.st.Resident(ctx, dup.ID)
		if err != nil || m.Status != resident.StatusMerged || m.MergedInto != surv.ID {
			t.Fatalf("merged record kept as %+v, %v", m, err)
		}
		after, _ := f.res.Duplicates(ctx, td)
		for _, x := range after {
			if x[0].IDNumber == surv.IDNumber {
				t.Error("merged group still listed")
			}
		}
		evs, _ := f.st.SearchAudit(ctx, audit.Filter{ResidentIDs: []int64{dup.ID}, Action: audit.ActResidentMerge})
		if len(evs) != 1 {
			t.Errorf("merge audit rows for the merged record: %d", len(evs))
		}
		// Update with the current version works once; the second with the old version conflicts.
		r, _ := f.st.Resident(ctx, surv.ID)
		in := resident.Input{Name: r.Name, IDNumber: string(r.IDNumber), Phone: "13800001111", Relation: string(r.Relation), Poverty: "illness"}
		if _, err := f.res.Update(ctx, td, r.ID, r.Version, "", in); err != nil {
			t.Fatalf("update: %v", err)
		}
		if _, err := f.res.Update(ctx, td, r.ID, r.Version, "", in); care.ErrorCode(err) != care.ECONFLICT {
			t.Errorf("stale update: %v", err)
		}
		r2, _ := f.st.Resident(ctx, surv.ID)
		if r2.Phone != "13800001111" || r2.Poverty != resident.PovertyIllness {
			t.Errorf("update not saved: %+v", r2)
		}
	})
}

func TestAuditChainDetectsTampering(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		ctx := context.Background()
		v, err := f.st.VerifyAudit(ctx, testdb.AuditKey)
		if err != nil || !v.OK() || v.Rows == 0 {
			t.Fatalf("fresh chain: rows %d, problems %v, %v", v.Rows, v.Problems, err)
		}
		if v, _ := f.st.VerifyAudit(ctx, []byte("another key")); v.OK() {
			t.Error("chain verified under the wrong key")
		}
		// The database refuses to change the trail.
		if err := f.st.ExecForTest(ctx, `UPDATE audit_events SET detail = 'x' WHERE seq = 1`); err == nil {
			t.Fatal("audit row was updated despite the append-only trigger")
		}
		if err := f.st.ExecForTest(ctx, `DELETE FROM audit_events WHERE seq = 2`); err == nil {
			t.Fatal("audit row was deleted despite the append-only trigger")
		}
		// Someone with full database access drops the guard and edits a row.
		f.st.DropAuditGuardForTest(ctx, t)
		if err := f.st.ExecForTest(ctx, `UPDATE audit_events SET detail = detail || 'x' WHERE seq = 3`); err != nil {
			t.Fatal(err)
		}
		if err := f.st.ExecForTest(ctx, `DELETE FROM audit_events WHERE seq = 5`); err != nil {
			t.Fatal(err)
		}
		v, err = f.st.VerifyAudit(ctx, testdb.AuditKey)
		if err != nil || v.OK() {
			t.Fatalf("tampering not detected: %v %v", v.Problems, err)
		}
		// Cutting rows off the end and moving the head back needs the key.
		if err := f.st.ExecForTest(ctx, `UPDATE audit_head SET seq = 7, hash = (SELECT hash FROM audit_events WHERE seq = 7)`); err != nil {
			t.Fatal(err)
		}
		if err := f.st.ExecForTest(ctx, `DELETE FROM audit_events WHERE seq > 7`); err != nil {
			t.Fatal(err)
		}
		v2, _ := f.st.VerifyAudit(ctx, testdb.AuditKey)
		truncated := false
		for _, p := range v2.Problems {
			truncated = truncated || strings.Contains(p.Reason, "head signature")
		}
		if !truncated {
			t.Errorf("truncation with a moved head not detected: %v", v2.Problems)
		}
		var sawEdit, sawGap bool
		for _, p := range v.Problems {
			sawEdit = sawEdit || p.Seq == 3
			sawGap = sawGap || p.Seq == 6
		}
		if !sawEdit || !sawGap {
			t.Errorf("problems %v: want the edit at 3 and the gap before 6", v.Problems)
		}
	})
}

func TestLoginLockoutAndSessions(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		ctx := context.Background()
		login := f.demo.Logins[0]
		cfg := account.DefaultConfig()
		tok, _, err := f.accounts.Login(ctx, account.Credentials{Username: login.Username, Password: login.Password})
		if err != nil {
			t.Fatal(err)
		}
		// A second login with the old cookie rotates: the old token dies.
		tok2, _, err := f.accounts.Login(ctx, account.Credentials{Username: strings.ToUpper(login.Username), Password: login.Password, OldToken: tok})
		if err != nil || tok2 == tok {
			t.Fatalf("rotation: %v", err)
		}
		if _, _, err := f.accounts.Authenticate(ctx, tok); care.ErrorCode(err) != care.EUNAUTHORIZED {
			t.Errorf("old token still valid after login: %v", err)
		}
		// Idle expiry: 29 minutes is fine, then 31 idle minutes end it.
		f.clk.Add(29 * time.Minute)
		if _, _, err := f.accounts.Authenticate(ctx, tok2); err != nil {
			t.Errorf("session ended before idle timeout: %v", err)
		}
		f.clk.Add(cfg.IdleTimeout + time.Minute)
		if _, _, err := f.accounts.Authenticate(ctx, tok2); care.ErrorCode(err) != care.EUNAUTHORIZED {
			t.Errorf("idle session still valid: %v", err)
		}
		// Logout ends the session on the server.
		tok3, sess, _ := f.accounts.Login(ctx, account.Credentials{Username: login.Username, Password: login.Password})
		_, a, _ := f.accounts.Authenticate(ctx, tok3)
		if err := f.accounts.Logout(ctx, a, sess); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.accounts.Authenticate(ctx, tok3); care.ErrorCode(err) != care.EUNAUTHORIZED {
			t.Errorf("token valid after logout: %v", err)
		}
		// Five wrong passwords lock the account, even against the right password.
		for i := 0; i < cfg.MaxFailures; i++ {
			if _, _, err := f.accounts.Login(ctx, account.Credentials{Username: login.Username, Password: "wrong-password-1A"}); care.ErrorCode(err) != care.EUNAUTHORIZED {
				t.Fatalf("wrong password %d: %v", i, err)
			}
		}
		// The locked account refuses even the right password, with the same
		// answer as a wrong one (no username enumeration).
		if _, _, err := f.accounts.Login(ctx, account.Credentials{Username: login.Username, Password: login.Password}); care.ErrorCode(err) != care.EUNAUTHORIZED {
			t.Fatalf("locked account accepted the password: %v", err)
		}
		f.clk.Add(cfg.LockFor + time.Second)
		if _, _, err := f.accounts.Login(ctx, account.Credentials{Username: login.Username, Password: login.Password}); err != nil {
			t.Fatalf("lock did not lift: %v", err)
		}
		evs, _ := f.st.SearchAudit(ctx, audit.Filter{Action: audit.ActLocked})
		if len(evs) != 1 {
			t.Errorf("lock audit rows: %d", len(evs))
		}
		// Unknown users get the same answer as a wrong password.
		if _, _, err := f.accounts.Login(ctx, account.Credentials{Username: "nobody.here", Password: "x"}); care.ErrorCode(err) != care.EUNAUTHORIZED {
			t.Errorf("unknown user: %v", err)
		}
	})
}

func TestAccountsOnePersonEach(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		ctx := context.Background()
		admin := f.actors[care.RoleAdmin]
		vd := f.actors[care.RoleVillageDoctor]
		// The village doctor already has an account: a second one for the same person is refused.
		_, err := f.accounts.CreateStaffAccount(ctx, admin, account.NewAccount{Username: "village.second", Role: care.RoleVillageDoctor, PractitionerID: vd.PractitionerID, Password: "Strong-Passw0rd!"})
		if care.ErrorCode(err) != care.ECONFLICT {
			t.Errorf("second account for one person: %v", err)
		}
		ps, _ := f.st.Practitioners(ctx, org.PractitionerFilter{Institutions: []int64{vd.InstitutionID}})
		var other *org.Practitioner
		for i := range ps {
			if ps[i].ID != vd.PractitionerID {
				other = &ps[i]
			}
		}
		if other == nil {
			t.Fatal("no second village doctor")
		}
		for _, tc := range []struct {
			in   account.NewAccount
			code string
		}{
			{account.NewAccount{Username: "admin", Role: care.RoleVillageDoctor, PractitionerID: other.ID, Password: "Strong-Passw0rd!"}, care.EINVALID},
			{account.NewAccount{Username: "village.other", Role: care.RoleCountySpecialist, PractitionerID: other.ID, Password: "Strong-Passw0rd!"}, care.EINVALID},
			{account.NewAccount{Username: "village.other", Role: care.RoleVillageDoctor, PractitionerID: other.ID, Password: "short"}, care.EINVALID},
			{account.NewAccount{Username: "village.other", Role: care.RoleVillageDoctor, PractitionerID: other.ID, Password: "Strong-Passw0rd!"}, ""},
		} {
			_, err := f.accounts.CreateStaffAccount(ctx, admin, tc.in)
			if care.ErrorCode(err) != tc.code {
				t.Errorf("create %+v: %v, want %q", tc.in.Username, err, tc.code)
			}
		}
	})
}

func TestImportAllOrNothing(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		ctx := context.Background()
		vd := f.actors[care.RoleVillageDoctor]
		good := "户号,与户主关系,姓名,身份证号,手机号\n" +
			"1,户主,覃海波,411723197903083575,13900000001\n" +
			"1,配偶,韦秀英,411723198104120020,\n" +
			"2,户主,单田芳,11010519491231002X,\n"
		bad := good + "3,户主,王五,411723197903083576,\n" + // wrong check digit
			"3,子女,王小五,411723197903083575,\n" // duplicate of line 2
		rows, fs, err := resident.ParseImport(strings.NewReader(bad))
		if err != nil || len(fs) != 0 {
			t.Fatal(fs, err)
		}
		before, _ := f.st.AuditCount(ctx)
		_, err = f.res.Import(ctx, vd, vd.InstitutionID, rows)
		ce, ok := err.(*care.Error)
		if !ok || ce.Code != care.EINVALID {
			t.Fatalf("bad file: %v", err)
		}
		lines := map[string]bool{}
		for _, fe := range ce.Fields {
			lines[fe.Field+" "+fe.Key] = true
		}
		if !lines["5:id_number idcard.check_digit"] || !lines["6:id_number import.duplicate_in_file"] {
			t.Errorf("row faults %v", ce.Fields)
		}
		if after, _ := f.st.AuditCount(ctx); after != before {
			t.Errorf("a refused import wrote %d audit rows", after-before)
		}
		if got, _, _ := f.res.Search(ctx, vd, "qhb", resident.Filter{}); len(got) != 0 {
			t.Fatal("a refused import wrote residents")
		}
		rows, _, _ = resident.ParseImport(strings.NewReader(good))
		n, err := f.res.Import(ctx, vd, vd.InstitutionID, rows)
		if err != nil || n != 3 {
			t.Fatalf("good file: %d, %v", n, err)
		}
		got, _, _ := f.res.Search(ctx, vd, "qhb", resident.Filter{})
		if len(got) != 1 {
			t.Fatalf("imported head not found: %v", got)
		}
		_, members, err := f.st.Household(ctx, got[0].HouseholdID)
		if err != nil || len(members) != 2 {
			t.Errorf("household members %d, %v", len(members), err)
		}
		// Another village's doctor cannot import into this village.
		other := f.actors[care.RoleTownshipDoctor]
		other.Role = care.RoleVillageDoctor // a village doctor at the township center: not a village clinic
		if _, err := f.res.Import(ctx, other, vd.InstitutionID, rows); care.ErrorCode(err) != care.EINVALID {
			t.Errorf("import outside scope: %v", err)
		}
	})
}

// TestCachedSessionEndsAtOnce: a session used a moment ago (so cached)
// still ends immediately on sign-out, password reset and disabling.
func TestCachedSessionEndsAtOnce(t *testing.T) {
	f := newFixture(t, store.SQLite)
	ctx := context.Background()
	admin := f.actors[care.RoleAdmin]
	for _, end := range []string{"logout", "reset", "disable"} {
		var login demo.Login
		for _, l := range f.demo.Logins {
			if l.Role == care.RolePharmacist {
				login = l
			}
		}
		if end == "disable" {
			f.accounts.SetDisabled(ctx, admin, f.actors[care.RolePharmacist].AccountID, false)
		}
		tok, sess, err := f.accounts.Login(ctx, account.Credentials{Username: login.Username, Password: login.Password})
		if err != nil {
			t.Fatalf("%s: login: %v", end, err)
		}
		_, a, err := f.accounts.Authenticate(ctx, tok) // now cached
		if err != nil {
			t.Fatal(err)
		}
		switch end {
		case "logout":
			err = f.accounts.Logout(ctx, a, sess)
		case "reset":
			err = f.accounts.ResetPassword(ctx, admin, a.AccountID, login.Password)
		case "disable":
			err = f.accounts.SetDisabled(ctx, admin, a.AccountID, true)
		}
		if err != nil {
			t.Fatalf("%s: %v", end, err)
		}
		if _, _, err := f.accounts.Authenticate(ctx, tok); care.ErrorCode(err) != care.EUNAUTHORIZED {
			t.Errorf("after %s the cached session still works: %v", end, err)
		}
	}
}

// TestParallelGuessesLock: forty wrong passwords at once all count, so the
// account locks; the right password is then refused (security review).
func TestParallelGuessesLock(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		ctx := context.Background()
		var login demo.Login
		for _, l := range f.demo.Logins {
			if l.Role == care.RolePharmacist {
				login = l
			}
		}
		var wg sync.WaitGroup
		for i := 0; i < 40; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				f.accounts.Login(ctx, account.Credentials{Username: login.Username, Password: "Wrong-Guess-123"})
			}()
		}
		wg.Wait()
		acc, _ := f.st.AccountByUsername(ctx, login.Username)
		if !acc.Locked(f.clk.Now()) {
			t.Fatalf("40 parallel wrong guesses did not lock the account: failures %d", acc.FailedLogins)
		}
		if _, _, err := f.accounts.Login(ctx, account.Credentials{Username: login.Username, Password: login.Password}); care.ErrorCode(err) != care.EUNAUTHORIZED {
			t.Errorf("right password after the parallel guesses: %v", err)
		}
	})
}

// TestPasswordChangeGuessesLock: guessing the current password on the
// change form counts like a failed sign-in, and the lock ends the session.
func TestPasswordChangeGuessesLock(t *testing.T) {
	f := newFixture(t, store.SQLite)
	ctx := context.Background()
	var login demo.Login
	for _, l := range f.demo.Logins {
		if l.Role == care.RoleReader {
			login = l
		}
	}
	tok, _, err := f.accounts.Login(ctx, account.Credentials{Username: login.Username, Password: login.Password})
	if err != nil {
		t.Fatal(err)
	}
	_, a, _ := f.accounts.Authenticate(ctx, tok)
	for i := 0; i < account.DefaultConfig().MaxFailures; i++ {
		if err := f.accounts.ChangePassword(ctx, a, "not-the-password-"+strconv.Itoa(i), "New-Passw0rd-2026!"); care.ErrorCode(err) != care.EUNAUTHORIZED {
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	if _, _, err := f.accounts.Authenticate(ctx, tok); care.ErrorCode(err) != care.EUNAUTHORIZED {
		t.Errorf("session survived the lock: %v", err)
	}
	if acc, _ := f.st.AccountByUsername(ctx, login.Username); !acc.Locked(f.clk.Now()) {
		t.Error("guessing the current password did not lock the account")
	}
	evs, _ := f.st.SearchAudit(ctx, audit.Filter{Action: audit.ActPasswordChange, Outcome: audit.OutcomeFailed})
	if len(evs) != account.DefaultConfig().MaxFailures {
		t.Errorf("failed password-change audit rows: %d", len(evs))
	}
}

// TestVerifyWhileWriting: verifying while rows are appended reports no
// problem (the check stops at the head it read first).
func TestVerifyWhileWriting(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		st := testdb.Open(t, d, time.Now)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			for ctx.Err() == nil {
				st.AppendAudit(context.Background(), []audit.Event{{Action: "test.write", Outcome: audit.OutcomeOK}})
			}
		}()
		for i := 0; i < 5; i++ {
			time.Sleep(20 * time.Millisecond)
			v, err := st.VerifyAudit(context.Background(), testdb.AuditKey)
			if err != nil || !v.OK() {
				t.Errorf("verify during writes: %v %v", v.Problems, err)
			}
		}
		cancel()
		<-done
	})
}

// TestParallelRegistrationsOfOnePerson: ten registrations of one ID number
// at once, some as single registrations and some as one-row imports, give
// one record; every other attempt is refused as a duplicate, and audited
// (code review: the check was outside the transaction).
func TestParallelRegistrationsOfOnePerson(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		ctx := context.Background()
		vd := f.actors[care.RoleVillageDoctor]
		in := resident.Input{Name: "欧阳修远", IDNumber: "411723198807150031", VillageID: vd.InstitutionID}
		const n = 10
		errs := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				if i%3 == 2 {
					_, errs[i] = f.res.Import(ctx, vd, vd.InstitutionID, []resident.ImportRow{{Line: 2, Household: "A", Input: in}})
				} else {
					_, errs[i] = f.res.Register(ctx, vd, in)
				}
			}()
		}
		close(start)
		wg.Wait()
		ok := 0
		for i, err := range errs {
			switch {
			case err == nil:
				ok++
			case care.ErrorCode(err) == care.ECONFLICT, care.ErrorCode(err) == care.EINVALID && i%3 == 2:
				// refused as already registered (an import lists it as a row fault)
			default:
				t.Errorf("attempt %d: %v", i, err)
			}
		}
		got, err := f.st.ResidentsByIDNumber(ctx, vd.CountyCode, in.IDNumber)
		if err != nil || ok != 1 || len(got) != 1 {
			t.Fatalf("%d of %d parallel registrations succeeded, %d records stored (%v); want 1 and 1", ok, n, len(got), err)
		}
		refused, _ := f.st.SearchAudit(ctx, audit.Filter{Action: audit.ActResidentCreate, Outcome: audit.OutcomeInvalid})
		if len(refused) != n-1 {
			t.Errorf("refusals audited: %d, want one per refused attempt (%d)", len(refused), n-1)
		}
		if v, err := f.st.VerifyAudit(ctx, testdb.AuditKey); err != nil || !v.OK() {
			t.Errorf("audit chain after the race: %v %v", v.Problems, err)
		}
	})
}

// TestLoginStoresCleanClientText: a User-Agent with invalid UTF-8 and a
// long Chinese one, and an address cut inside a character, are stored as
// valid UTF-8 within their limits (PostgreSQL refuses invalid UTF-8, so
// byte clipping made such sign-ins fail), and a username with invalid
// bytes is an ordinary failed sign-in (code review). NormalizeUsername's
// lower-casing already replaces invalid bytes; the last check keeps it so.
func TestLoginStoresCleanClientText(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		ctx := context.Background()
		login := f.demo.Logins[0]
		for _, c := range []struct{ ua, ip string }{
			{"Mozilla/5.0 \xff\xfe\xc3 (Windows)", "10.0.0.1"},
			{"Mozilla/5.0 " + strings.Repeat("中文浏览器", 60), "10.0.0." + strings.Repeat("中", 30)},
		} {
			tok, _, err := f.accounts.Login(ctx, account.Credentials{Username: login.Username, Password: login.Password, UserAgent: c.ua, IP: c.ip})
			if err != nil {
				t.Fatalf("sign-in with User-Agent %q: %v", c.ua, err)
			}
			sess, _, err := f.st.SessionActor(ctx, account.HashToken(tok))
			if err != nil {
				t.Fatal(err)
			}
			if !utf8.ValidString(sess.UserAgent) || !utf8.ValidString(sess.IP) || utf8.RuneCountInString(sess.UserAgent) > 200 || utf8.RuneCountInString(sess.IP) > 64 ||
				!strings.HasPrefix(sess.UserAgent, "Mozilla/5.0 ") {
				t.Errorf("stored User-Agent %q, address %q", sess.UserAgent, sess.IP)
			}
		}
		if _, _, err := f.accounts.Login(ctx, account.Credentials{Username: login.Username + "\xff", Password: login.Password}); care.ErrorCode(err) != care.EUNAUTHORIZED {
			t.Errorf("username with invalid UTF-8: %v, want unauthorized", err)
		}
	})
}

// TestOppositeMergesDoNotDeadlock: merging each of several duplicate pairs
// in both directions at once merges each pair once; the loser is told the
// record changed, never that the database deadlocked (code review: the
// two rows were locked in the order of the request).
func TestOppositeMergesDoNotDeadlock(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		ctx := context.Background()
		td := f.actors[care.RoleTownshipDoctor]
		// Make pairs of duplicates, as imports from older systems leave them.
		list, _, err := f.res.Search(ctx, td, "", resident.Filter{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var people []resident.Resident
		for _, r := range list {
			if r.IDNumber != "" {
				people = append(people, r)
			}
		}
		if len(people) < 16 {
			t.Fatalf("%d residents with ID numbers in scope", len(people))
		}
		for i := 0; i < 16; i += 2 {
			if err := f.st.ExecForTest(ctx, fmt.Sprintf(`UPDATE residents SET id_number = '%s' WHERE id = %d`, people[i].IDNumber, people[i+1].ID)); err != nil {
				t.Fatal(err)
			}
		}
		groups, err := f.res.Duplicates(ctx, td)
		if err != nil || len(groups) < 8 {
			t.Fatalf("duplicate groups: %d, %v", len(groups), err)
		}
		errs := make([][2]error, len(groups))
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i, g := range groups {
			a, b := g[0], g[1]
			wg.Add(2)
			go func() { defer wg.Done(); <-start; errs[i][0] = f.res.Merge(ctx, td, a.ID, a.Version, b.ID, b.Version) }()
			go func() { defer wg.Done(); <-start; errs[i][1] = f.res.Merge(ctx, td, b.ID, b.Version, a.ID, a.Version) }()
		}
		close(start)
		wg.Wait()
		for i, e := range errs {
			ok := 0
			for _, err := range e {
				var ce *care.Error
				switch {
				case err == nil:
					ok++
				case errors.As(err, &ce) && (ce.Key == "resident.stale" || ce.Key == "resident.merge_not_duplicates"):
				default:
					t.Errorf("pair %d: %v", i, err)
				}
			}
			if ok != 1 {
				t.Errorf("pair %d merged %d times: %v", i, ok, e)
			}
		}
	})
}

// A new database, with no audit rows yet, verifies; an unsigned empty head
// (rows cut off and the head put back as the migration wrote it) does not.
func TestVerifyEmptyChain(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		st := testdb.Open(t, d, time.Now)
		ctx := context.Background()
		v, err := st.VerifyAudit(ctx, testdb.AuditKey)
		if err != nil || !v.OK() {
			t.Fatalf("verify of a new database: %v %v", v.Problems, err)
		}
		if err := st.ExecForTest(ctx, `UPDATE audit_head SET mac = '' WHERE id = 1`); err != nil {
			t.Fatal(err)
		}
		if v, err := st.VerifyAudit(ctx, testdb.AuditKey); err != nil || v.OK() {
			t.Fatalf("an unsigned empty head verified: %v %v", v.Problems, err)
		}
	})
}

// Changing a resident's ID number to one another resident of the county
// holds is refused inside the write transaction (not only by the
// service's earlier check); an update that keeps a number shared by a
// legacy duplicate still saves.
func TestUpdateResidentIDNumberIsChecked(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		ctx := context.Background()
		var a, b *resident.Resident
		for id := int64(1); id < 200 && (a == nil || b == nil); id++ {
			r, err := f.st.Resident(ctx, id)
			if err != nil || r.IDNumber == "" {
				continue
			}
			if a == nil {
				a = r
			} else if r.IDNumber != a.IDNumber {
				b = r
			}
		}
		if a == nil || b == nil {
			t.Fatal("no two residents with distinct ID numbers")
		}
		changed := *b
		changed.IDNumber = a.IDNumber
		err := f.st.UpdateResident(ctx, &changed, audit.Event{Action: "test.update", Outcome: audit.OutcomeOK})
		var ce *care.Error
		if !errors.As(err, &ce) || ce.Code != care.ECONFLICT || ce.Key != "resident.duplicate_elsewhere" {
			t.Fatalf("taking another resident's ID number: %v", err)
		}
		if got, _ := f.st.Resident(ctx, b.ID); got.IDNumber != b.IDNumber || got.Version != b.Version {
			t.Errorf("refused update was written: %+v", got)
		}
		// A demo duplicate shares its number with the original: other changes still save.
		dups, err := f.st.ResidentsByIDNumber(ctx, a.CountyCode, string(a.IDNumber))
		if err != nil {
			t.Fatal(err)
		}
		same := dups[0]
		same.Address = "新地址 1 号"
		if err := f.st.UpdateResident(ctx, &same, audit.Event{Action: "test.update", Outcome: audit.OutcomeOK}); err != nil {
			t.Errorf("update keeping the ID number: %v", err)
		}
	})
}
