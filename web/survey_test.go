package web_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/store"
	"countycare/survey"
)

// TestSurveyPages: a resident opens the survey a text message links to
// without signing in, on a phone-sized page; a missing answer is refused
// with a message and nothing is stored; the answer is taken once, and
// the link then says it is used; a forged link is 404; the resident's own
// page lists their open surveys and takes the answer there; staff see
// results only from five answers on — one answer is "too few", with no
// count; the appraisal's satisfaction still has no data; roles without
// results get 403.
func TestSurveyPages(t *testing.T) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) { testSurveyPages(t, d) })
	}
}

func testSurveyPages(t *testing.T, d store.Dialect) {
	e := newEnv(t, d)
	ctx := t.Context()
	now := time.Now()
	// Invitations as the scheduled duty makes them (survey.Service.Invite,
	// TestSurveys in store): one by text message with a link, one on the
	// demo resident's own page.
	var rid int64
	for _, l := range e.demo.Logins {
		if l.Role == care.RoleResident {
			acc, err := e.st.AccountByUsername(ctx, l.Username)
			if err != nil {
				t.Fatal(err)
			}
			rid = acc.ResidentID
		}
	}
	r0, err := e.st.Resident(ctx, rid)
	if err != nil {
		t.Fatal(err)
	}
	invite := func(channel string, event int64) (*survey.Invitation, string) {
		tok, hash := survey.NewToken([]byte("test survey key"))
		inv := &survey.Invitation{County: r0.CountyCode, ResidentID: rid, Kind: survey.AfterFamilyVisit, EventID: event, InstitutionID: r0.VillageID,
			Channel: channel, TokenHash: hash, CreatedAt: now, ExpiresAt: now.AddDate(0, 0, 14)}
		if err := e.st.CreateInvitation(ctx, inv, nil, audit.Event{Action: survey.ActInvite, Time: now, CountyCode: r0.CountyCode, ResidentID: rid}); err != nil {
			t.Fatal(err)
		}
		return inv, tok
	}
	_, tok := invite(survey.ChannelSMS, 987653)
	anon := e.anon()
	page := anon.get("/s?t=" + tok)
	if page.code != 200 || !strings.Contains(page.body, `data-question="satisfaction"`) || !strings.Contains(page.body, "非常满意") || !strings.Contains(page.body, "匿名") {
		t.Fatalf("survey page: %d %s", page.code, page.body)
	}
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page.body)
	if csrf == nil {
		t.Fatal("no CSRF token on the survey page")
	}
	post := func(vals url.Values) response {
		vals.Set("csrf", csrf[1])
		vals.Set("t", tok)
		r := anon.postForm("/s", vals, false)
		if m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(r.body); m != nil {
			csrf = m // the form shown again carries a new token
		}
		return r
	}
	if r := post(url.Values{"satisfaction": {"5"}, "policy_aware": {"1"}}); r.code != 422 || !strings.Contains(r.body, `id="form-error"`) || !strings.Contains(r.body, "请回答此题") {
		t.Errorf("a missing answer: %d", r.code)
	}
	if r := post(url.Values{"satisfaction": {"5"}, "policy_aware": {"1"}, "explained": {"4"}}); r.code != 200 || !strings.Contains(r.body, `id="survey-done"`) {
		t.Fatalf("answer: %d %s", r.code, r.body)
	}
	if r := anon.get("/s?t=" + tok); r.code != 404 || !strings.Contains(r.body, "已填写过") {
		t.Errorf("a used link: %d", r.code)
	}
	if r := anon.get("/s?t=" + tok[:len(tok)-2] + "AA"); r.code != 404 {
		t.Errorf("a forged link: %d", r.code)
	}

	// The resident's own page: their open surveys.
	me := e.as(care.RoleResident)
	inv, _ := invite(survey.ChannelMe, 987654)
	mine := me.get("/me")
	link := "/me/surveys/" + itoa(inv.ID)
	if mine.code != 200 || !strings.Contains(mine.body, `href="`+link+`"`) {
		t.Fatalf("/me without the survey: %d", mine.code)
	}
	if r := me.get(link); r.code != 200 || !strings.Contains(r.body, "家庭医生服务") {
		t.Errorf("my survey: %d", r.code)
	}
	if r := me.postForm(link, url.Values{"satisfaction": {"9"}, "policy_aware": {"1"}, "explained": {"4"}}, true); r.code != 422 || !strings.Contains(r.body, "请选择一个选项") {
		t.Errorf("out of range: %d", r.code)
	}
	if r := me.postForm(link, url.Values{"satisfaction": {"2"}, "policy_aware": {"0"}, "explained": {"2"}}, true); r.code != 200 || !strings.Contains(r.body, `id="survey-done"`) {
		t.Errorf("my answer: %d %s", r.code, r.body)
	}
	if r := me.get(link); r.code != 404 {
		t.Errorf("an answered survey: %d", r.code)
	}
	if r := e.as(care.RoleVillageDoctor).get(link); r.code != 403 {
		t.Errorf("a doctor opens a resident's survey: %d", r.code)
	}

	// Staff: one or two answers per institution are too few to show.
	for _, role := range []care.Role{care.RoleAnalyst, care.RoleTownshipDoctor, care.RoleVillageDoctor} {
		r := e.as(role).get("/surveys/results?year=" + itoa(int64(now.In(care.Shanghai).Year())))
		if r.code != 200 {
			t.Fatalf("%s results: %d", role, r.code)
		}
		if regexp.MustCompile(`data-answers="[1-4]"`).MatchString(r.body) {
			t.Errorf("%s sees a group of fewer than 5 answers", role)
		}
	}
	an := e.as(care.RoleAnalyst).get("/surveys/results?year=" + itoa(int64(now.In(care.Shanghai).Year())))
	if !strings.Contains(an.body, "问卷少于 5 份") {
		t.Errorf("the county's results do not say too few: %s", an.body)
	}
	sat := regexp.MustCompile(`(?s)<tr data-indicator="satisfaction">.*?</tr>`).FindString(e.as(care.RoleAnalyst).get("/appraisal").body)
	if !strings.Contains(sat, "无数据") {
		t.Errorf("satisfaction from two answers: %s", sat)
	}
	if r := e.as(care.RoleAnalyst).get("/surveys/results?year=abc"); r.code != 422 {
		t.Errorf("a bad year: %d", r.code)
	}
	for _, role := range []care.Role{care.RolePharmacist, care.RoleAdmin, care.RoleResident} {
		if r := e.as(role).get("/surveys/results"); r.code != 403 {
			t.Errorf("%s: %d", role, r.code)
		}
	}
	e.writer.Flush(ctx)
	if evs, _ := e.st.SearchAudit(ctx, audit.Filter{Action: survey.ActAnswer, Limit: 10}); len(evs) != 2 {
		t.Errorf("answers audited: %d", len(evs))
	}
	if evs, _ := e.st.SearchAudit(ctx, audit.Filter{Action: survey.ActRefused, Limit: 10}); len(evs) < 2 {
		t.Errorf("refused links audited: %d", len(evs))
	}
}
