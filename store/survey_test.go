package store_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/demo"
	"countycare/internal/testdb"
	"countycare/org"
	"countycare/store"
	"countycare/survey"
)

type surveyAudit struct{ evs []audit.Event }

func (r *surveyAudit) Record(_ context.Context, e audit.Event) { r.evs = append(r.evs, e) }

// TestSurveys runs the survey on a real database: recent events become
// invitations (a text message with the link when the resident has a
// phone), one per resident; a link answers once, and a forged, used or
// expired one is refused and audited; the answer is stored without the
// resident; a doctor sees an institution's and their own results only
// from MinCount answers on, never one answer; the appraisal's
// satisfaction item counts only such groups.
func TestSurveys(t *testing.T) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) { testSurveys(t, d) })
	}
}

func testSurveys(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	st := testdb.Open(t, d, time.Now)
	if _, err := demo.Generate(ctx, st, demo.Config{Residents: 600, Villages: 4, VillageDoctors: 4, Contracts: 300, Consultations: 20, Referrals: 20}, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	long := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	evs, err := st.SurveyEvents(ctx, long, long, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) < 10 {
		t.Fatalf("%d events", len(evs))
	}
	kinds := map[string]bool{}
	for _, e := range evs {
		kinds[e.Kind] = true
	}
	last := evs[len(evs)-1].At
	now := last.Add(time.Hour)
	ra := &surveyAudit{}
	svc := &survey.Service{Repo: st, Orgs: &org.Service{Repo: st, Now: time.Now}, Audit: ra, Config: survey.DefaultConfig(),
		Key: []byte("test key"), PublicURL: "https://yl.example.cn/", Now: func() time.Time { return now }}
	n, err := svc.Invite(ctx, 1000)
	if err != nil || n == 0 {
		t.Fatalf("invited %d: %v (kinds %v)", n, err, kinds)
	}
	// Nothing twice: a second run finds every recent event invited or its
	// resident asked within the gap.
	if again, err := svc.Invite(ctx, 1000); err != nil || again != 0 {
		t.Errorf("second run invited %d: %v", again, err)
	}
	// The link reaches the resident through the outbox.
	msgs, err := st.PendingMessages(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var link string
	for _, m := range msgs {
		if m.Purpose == survey.Purpose {
			link = m.Params["link"]
			if !strings.HasPrefix(link, "https://yl.example.cn/s?t=") || !strings.Contains(m.Body, link) || !strings.HasPrefix(m.Ref, "survey:") {
				t.Errorf("message %+v", m)
			}
		}
	}
	if link == "" {
		t.Fatal("no survey message queued")
	}
	tok := strings.TrimPrefix(link, "https://yl.example.cn/s?t=")
	inv, err := svc.Open(ctx, tok)
	if err != nil || inv.Channel != survey.ChannelSMS {
		t.Fatalf("open: %+v %v", inv, err)
	}
	answers := map[string]string{"satisfaction": "5", "policy_aware": "1", "explained": "4"}
	if err := svc.AnswerLink(ctx, tok, map[string]string{"satisfaction": "6"}); !care.IsCode(err, care.EINVALID) {
		t.Errorf("an answer out of range: %v", err)
	}
	if err := svc.AnswerLink(ctx, tok, answers); err != nil {
		t.Fatal(err)
	}
	// Single use; forged and mistyped links refused before any read.
	for _, bad := range []string{tok, tok[:len(tok)-1] + "A", "nope", ""} {
		if err := svc.AnswerLink(ctx, bad, answers); !care.IsCode(err, care.ENOTFOUND) {
			t.Errorf("link %q: %v", bad, err)
		}
	}
	refused := 0
	for _, e := range ra.evs {
		if e.Action == survey.ActRefused && e.Outcome == audit.OutcomeDenied {
			refused++
		}
	}
	if refused != 4 {
		t.Errorf("%d refusals audited", refused)
	}

	// Answer more invitations of one institution; the results show it only
	// from MinCount (5) answers on.
	var same []survey.Invitation
	seen := map[int64]bool{}
	for _, e := range evs {
		mine, err := st.OpenInvitations(ctx, e.County, e.ResidentID, now)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range mine {
			if m.InstitutionID == inv.InstitutionID && !seen[m.ID] {
				seen[m.ID] = true
				same = append(same, m)
			}
		}
	}
	if len(same) < 4 {
		t.Fatalf("only %d other invitations of institution %d", len(same), inv.InstitutionID)
	}
	res := func() *survey.Results {
		r, err := svc.Results(ctx, care.Actor{Role: care.RoleAnalyst, CountyCode: inv.County}, now.In(care.Shanghai).Year())
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	row := func(r *survey.Results) survey.Row {
		for _, x := range r.Units {
			if x.Unit.ID == inv.InstitutionID {
				return x
			}
		}
		t.Fatalf("institution %d not in the results", inv.InstitutionID)
		return survey.Row{}
	}
	scores := []string{"4", "3", "5", "2"} // with the first 5: satisfied 5, 4, 5 of 5 answers → 3
	for i := 0; i < 3; i++ {
		a := care.Actor{Role: care.RoleResident, ResidentID: same[i].ResidentID, CountyCode: same[i].County}
		if err := svc.AnswerMine(ctx, a, same[i].ID, map[string]string{"satisfaction": scores[i], "policy_aware": "0", "explained": "3"}); err != nil {
			t.Fatal(err)
		}
	}
	if r := row(res()); r.Shown || r.Tally.Answers != 0 {
		t.Errorf("4 answers shown: %+v", r)
	}
	sat, err := svc.Satisfaction(ctx, inv.County, now.In(care.Shanghai).Year())
	if err != nil || len(sat) != 0 {
		t.Errorf("satisfaction from 4 answers: %v %v", sat, err)
	}
	// Another resident's invitation is not mine.
	other := care.Actor{Role: care.RoleResident, ResidentID: same[0].ResidentID, CountyCode: same[0].County}
	if err := svc.AnswerMine(ctx, other, same[3].ID, answers); !care.IsCode(err, care.ENOTFOUND) {
		t.Errorf("another resident's invitation: %v", err)
	}
	a := care.Actor{Role: care.RoleResident, ResidentID: same[3].ResidentID, CountyCode: same[3].County}
	if err := svc.AnswerMine(ctx, a, same[3].ID, map[string]string{"satisfaction": scores[3], "policy_aware": "1", "explained": "3"}); err != nil {
		t.Fatal(err)
	}
	r := row(res())
	if !r.Shown || r.Tally.Answers != 5 || r.Tally.Satisfied != 3 || r.Tally.AwareAsked != 5 || r.Tally.Aware != 2 {
		t.Errorf("5 answers: %+v", r)
	}
	sat, err = svc.Satisfaction(ctx, inv.County, now.In(care.Shanghai).Year())
	if err != nil || sat[inv.InstitutionID] != [2]int{3, 5} {
		t.Errorf("satisfaction: %v %v", sat, err)
	}
	// An expired link: the clock past LinkDays.
	now = now.AddDate(0, 0, survey.DefaultConfig().LinkDays)
	if _, err := svc.OpenMine(ctx, a, same[4%len(same)].ID); !care.IsCode(err, care.ENOTFOUND) {
		t.Errorf("an expired invitation: %v", err)
	}
}
