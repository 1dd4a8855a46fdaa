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
	"countycare/idcard"
	"countycare/internal/testdb"
	"countycare/myrecord"
	"countycare/notify"
	"countycare/proxy"
	"countycare/resident"
	"countycare/store"
)

// kindFor is the grant kind a ward of this age takes.
func kindFor(r *resident.Resident) proxy.Kind {
	age := proxy.BirthDate(r).AgeOn(care.Today(r.UpdatedAt))
	switch {
	case age < care.AdultAge:
		return proxy.Guardian
	case age >= resident.ElderlyAge:
		return proxy.Family
	}
	return proxy.Chosen
}

// TestProxyScopeAndHouseholdIsolation: a resident never sees another
// household member's record without a grant — switching to it by a forged
// form is 404 with an audit row of the refusal, and so is the API; the
// village doctor grants a proxy (the kind checked against the ward's age),
// the proxy switches to the ward's record, whose every view is audited as
// the proxy's (purpose "proxy"), with the identity number masked; a
// revoked grant stops at once.
func TestProxyScopeAndHouseholdIsolation(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d)
		ctx := context.Background()
		acc, self := demoResident(t, e)
		// The demo county makes the resident a proxy of a household
		// member; this test starts from no grant.
		demoGrants, err := e.st.GrantsOfProxy(ctx, self.ID, time.Now())
		if err != nil || len(demoGrants) != 1 {
			t.Fatalf("the demo resident's grants: %+v %v", demoGrants, err)
		}
		if _, err := e.st.RevokeGrant(ctx, demoGrants[0].ID, acc.ID, time.Now(), audit.Event{Action: proxy.ActRevoke, Outcome: audit.OutcomeOK, Time: time.Now()}); err != nil {
			t.Fatal(err)
		}
		_, members, err := e.st.Household(ctx, self.HouseholdID)
		if err != nil {
			t.Fatal(err)
		}
		var ward *resident.Resident
		for i := range members {
			if members[i].ID != self.ID && members[i].Status == resident.StatusActive {
				ward = &members[i]
			}
		}
		if ward == nil {
			t.Fatalf("the demo resident %d lives alone", self.ID)
		}
		me, vd := e.as(care.RoleResident), e.as(care.RoleVillageDoctor)
		wardID := itoa(ward.ID)

		// 1. No grant: the household member's record stays closed.
		if r := me.postForm("/me/viewing", url.Values{"resident_id": {wardID}}, true); r.code != http.StatusNotFound {
			t.Fatalf("switching to a household member without a grant: %d, want 404", r.code)
		}
		if r := me.get("/api/v1/residents/" + wardID); r.code != http.StatusForbidden {
			t.Fatalf("the member's record by the API: %d, want 403", r.code)
		}
		if r := me.get("/me"); strings.Contains(r.body, ward.Name) && !strings.Contains(self.Name, ward.Name) {
			t.Fatal("the resident's page names the household member")
		}
		e.writer.Flush(ctx)
		refused, _ := e.st.SearchAudit(ctx, audit.Filter{Action: proxy.ActSwitch, Outcome: audit.OutcomeDenied})
		if len(refused) != 1 || refused[0].ResidentID != ward.ID || refused[0].AccountID != acc.ID {
			t.Fatalf("refused switch audit rows: %+v", refused)
		}

		// 2. The village doctor grants; a kind that does not fit the age is refused.
		kind := kindFor(ward)
		wrong := proxy.Guardian
		if kind == proxy.Guardian {
			wrong = proxy.Family
		}
		if r := vd.postForm("/residents/"+wardID+"/proxies", url.Values{"kind": {string(wrong)}, "id_number": {string(self.IDNumber)}}, true); r.code != http.StatusUnprocessableEntity {
			t.Fatalf("a %s grant for a ward aged %d: %d, want 422", wrong, ward.Age(care.Today(ward.UpdatedAt)), r.code)
		}
		if r := vd.postForm("/residents/"+wardID+"/proxies", url.Values{"kind": {string(kind)}, "id_number": {"110101199003074514"}}, true); r.code != http.StatusUnprocessableEntity || !strings.Contains(r.body, "没有登记此身份证号") {
			t.Fatalf("a proxy not registered in the county: %d", r.code)
		}
		if r := vd.postForm("/residents/"+wardID+"/proxies", url.Values{"kind": {string(kind)}, "id_number": {string(self.IDNumber)}}, true); r.code != http.StatusSeeOther {
			t.Fatalf("grant: %d %s", r.code, r.body)
		}
		if r := vd.get("/residents/" + wardID); !strings.Contains(r.body, `id="proxies"`) || !strings.Contains(r.body, self.Name) {
			t.Fatal("the resident page does not list the proxy")
		}

		// 3. The proxy switches and sees the ward's record, masked, audited as a proxy.
		if r := me.postForm("/me/viewing", url.Values{"resident_id": {wardID}}, true); r.code != http.StatusSeeOther {
			t.Fatalf("switch with a grant: %d %s", r.code, r.body)
		}
		page := me.get("/me")
		if page.code != 200 || !strings.Contains(page.body, `id="proxy-viewing"`) || !strings.Contains(page.body, ward.Name) {
			t.Fatalf("/me as proxy: %d, viewing notice %v", page.code, strings.Contains(page.body, `id="proxy-viewing"`))
		}
		if ward.IDNumber != "" && strings.Contains(page.body, string(ward.IDNumber)) {
			t.Fatal("the ward's identity number is shown in full")
		}
		e.writer.Flush(ctx)
		reads, _ := e.st.SearchAudit(ctx, audit.Filter{Action: myrecord.ActRead, ResidentIDs: []int64{ward.ID}})
		if len(reads) != 1 || reads[0].AccountID != acc.ID || reads[0].Purpose != care.PurposeProxy {
			t.Fatalf("the proxy's view audit rows: %+v", reads)
		}
		// The proxy cannot grant on the ward's record.
		if r := me.postForm("/me/proxies", url.Values{"id_number": {string(self.IDNumber)}}, true); r.code != http.StatusNotFound {
			t.Fatalf("a proxy granting on the ward's record: %d, want 404", r.code)
		}

		// 4. Revoked: the very next request shows the proxy's own record.
		gs, err := e.st.GrantsOfWard(ctx, ward.ID, ward.UpdatedAt.AddDate(1, 0, 0))
		if err != nil || len(gs) != 1 {
			t.Fatalf("grants: %v %v", gs, err)
		}
		if r := vd.postForm("/residents/"+wardID+"/proxies/"+itoa(gs[0].ID)+"/revoke", url.Values{}, true); r.code != http.StatusSeeOther {
			t.Fatalf("revoke: %d", r.code)
		}
		if r := me.get("/me"); strings.Contains(r.body, `id="proxy-viewing"`) || !strings.Contains(r.body, self.Name) {
			t.Fatal("after the revocation the proxy still sees the ward's record")
		}
		if r := me.postForm("/me/viewing", url.Values{"resident_id": {wardID}}, true); r.code != http.StatusNotFound {
			t.Fatalf("switch after the revocation: %d, want 404", r.code)
		}
		// A resident grants only a proxy of their own choosing, never a guardian.
		if r := me.postForm("/residents/"+itoa(self.ID)+"/proxies", url.Values{"kind": {"guardian"}, "id_number": {string(ward.IDNumber)}}, true); r.code != http.StatusForbidden {
			t.Fatalf("a resident on the staff form: %d, want 403", r.code)
		}
	})
}

// TestResidentAccountWithConsent: the village doctor opens a resident's
// account only with their consent, recorded and audited; the resident
// then signs in by a code to the phone on the record.
func TestResidentAccountWithConsent(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d)
		ctx := context.Background()
		vd := e.as(care.RoleVillageDoctor)
		var res *resident.Resident
		for id := int64(1); id < 2000 && res == nil; id++ {
			r, err := e.st.Resident(ctx, id)
			if err != nil || notify.NormalizePhone(r.Phone) == "" || r.Age(care.Today(r.UpdatedAt)) < 18 {
				continue
			}
			if _, err := e.st.ResidentAccount(ctx, id); err == nil {
				continue
			}
			if owners, _ := e.st.PhoneOwners(ctx, r.Phone); len(owners) != 1 {
				continue
			}
			if p := vd.get("/residents/" + itoa(id)); p.code == 200 {
				res = r
			}
		}
		if res == nil {
			t.Fatal("no resident with their own phone in the village doctor's scope")
		}
		path := "/residents/" + itoa(res.ID) + "/signin"
		if r := vd.postForm(path, url.Values{}, true); r.code != http.StatusUnprocessableEntity || !strings.Contains(r.body, "同意") {
			t.Fatalf("without consent: %d, want 422", r.code)
		}
		if _, err := e.st.ResidentAccount(ctx, res.ID); !care.IsCode(err, care.ENOTFOUND) {
			t.Fatalf("an account was opened without consent: %v", err)
		}
		if r := vd.postForm(path, url.Values{"consent": {"yes"}}, true); r.code != http.StatusSeeOther {
			t.Fatalf("with consent: %d %s", r.code, r.body)
		}
		if r := vd.postForm(path, url.Values{"consent": {"yes"}}, true); r.code != http.StatusConflict {
			t.Fatalf("a second account: %d, want 409", r.code)
		}
		c, err := e.st.SigninConsent(ctx, res.ID)
		if err != nil || c.Method != account.ConsentRegistration || c.RecordedBy == 0 {
			t.Fatalf("consent: %+v %v", c, err)
		}
		e.writer.Flush(ctx)
		evs, _ := e.st.SearchAudit(ctx, audit.Filter{Action: audit.ActAccountCreate, ResidentIDs: []int64{res.ID}})
		if len(evs) != 1 || evs[0].Role != care.RoleVillageDoctor {
			t.Fatalf("account creation audit rows: %+v", evs)
		}
		c2, code := codeLogin(t, e, res.Phone)
		if r := c2.verifyCode(res.Phone, code); r.code != http.StatusSeeOther {
			t.Fatalf("the new account signs in by code: %d %s", r.code, r.body)
		}

		// At registration: consent without a mobile number writes nothing;
		// with one, the resident and the account are both written.
		m := regexp.MustCompile(`name="village_id"[^>]*>\s*<option value="(\d+)"`).FindStringSubmatch(vd.get("/residents/new").body)
		if m == nil {
			t.Fatal("no village on the registration form")
		}
		idn := string(idcard.Make(res.CountyCode, time.Date(1979, 3, 4, 0, 0, 0, 0, time.UTC), 417))
		form := url.Values{"name": {"王秀英"}, "id_number": {idn}, "relation": {"head"}, "village_id": {m[1]}, "signin_consent": {"yes"}}
		if r := vd.postForm("/residents", form, true); r.code != http.StatusUnprocessableEntity || !strings.Contains(r.body, "档案上没有手机号") {
			t.Fatalf("consent without a phone: %d", r.code)
		}
		if found, _ := e.st.ResidentsByIDNumber(ctx, res.CountyCode, idn); len(found) != 0 {
			t.Fatal("the refused registration was written")
		}
		form.Set("phone", "13912345670")
		r := vd.postForm("/residents", form, true)
		if r.code != http.StatusSeeOther || !strings.Contains(r.header.Get("Location"), "ok=registered_signin") {
			t.Fatalf("registration with consent: %d %s %.300s", r.code, r.header.Get("Location"), r.body)
		}
		found, _ := e.st.ResidentsByIDNumber(ctx, res.CountyCode, idn)
		if len(found) != 1 {
			t.Fatal("the resident was not registered")
		}
		if c, err := e.st.SigninConsent(ctx, found[0].ID); err != nil || c.Method != account.ConsentRegistration {
			t.Fatalf("consent at registration: %+v %v", c, err)
		}
	})
}
