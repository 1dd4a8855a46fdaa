package settle

// Tests of the chronic special-outpatient certifications' service
// (certify.go) with the in-memory repository (issue 18 §5 and §6). Each
// pins a rule of docs/settlement.md "Chronic special-outpatient
// certifications (门慢/门特)": insurance officers only; the category one
// the policy in force on the first day covers; an ICD-10 code; valid from
// and to, at most 5 years; the issuing office; ended with a reason, never
// deleted; creating, ending and reading audited.

import (
	"slices"
	"strings"
	"testing"

	"countycare/care"
)

func certInput() CertInput {
	return CertInput{ResidentID: 100, Category: " HT ", Diagnosis: " i10 ", From: "2026-01-01", To: "2026-12-31", Office: " A县医保局 "}
}

// TestCertifyRules: who may certify, and every field's rule.
func TestCertifyRules(t *testing.T) {
	s, repo, _ := newSettleService()
	withExamplePolicy(repo)
	for _, a := range []care.Actor{villageA, analystA, resident0} {
		if _, err := s.Certify(bg, a, certInput()); ceCode(err) != care.EFORBIDDEN {
			t.Errorf("%s certifying: %v", a.Role, err)
		}
	}
	out := certInput()
	out.ResidentID = 300
	if _, err := s.Certify(bg, officerA, out); ceCode(err) != care.ENOTFOUND {
		t.Errorf("a resident of another county: %v", err)
	}
	from, _ := care.ParseDate("2026-01-01")
	for _, tt := range []struct {
		name string
		mod  func(*CertInput)
		want []string
	}{
		{"one day", func(in *CertInput) { in.To = in.From }, nil},
		{"to before from", func(in *CertInput) { in.To = "2025-12-31" }, []string{"valid_to:settle.cert_to_before_from"}},
		{"5 × 366 days", func(in *CertInput) { in.To = from.AddDays(366 * MaxCertYears).String() }, nil},
		{"a day more", func(in *CertInput) { in.To = from.AddDays(366*MaxCertYears + 1).String() }, []string{"valid_to:settle.cert_too_long"}},
		{"from not a date", func(in *CertInput) { in.From, in.Category = "2026-13-01", "XX" }, []string{"valid_from:settle.date_invalid"}},
		{"to not a date", func(in *CertInput) { in.To = "someday" }, []string{"valid_to:settle.date_invalid"}},
		{"neither a date", func(in *CertInput) { in.From, in.To = "x", "y" }, []string{"valid_from:settle.date_invalid", "valid_to:settle.date_invalid"}},
		{"not ICD-10", func(in *CertInput) { in.Diagnosis = "高血压" }, []string{"diagnosis:settle.cert_diagnosis"}},
		{"a national extension", func(in *CertInput) { in.Diagnosis = "I10.x00x01" }, nil},
		{"no office", func(in *CertInput) { in.Office = "  " }, []string{"office:settle.cert_office"}},
		{"100-character office", func(in *CertInput) { in.Office = strings.Repeat("局", 100) }, nil},
		{"101-character office", func(in *CertInput) { in.Office = strings.Repeat("局", 101) }, []string{"office:settle.cert_office"}},
		{"no policy on the first day", func(in *CertInput) { in.From = "2025-06-01" }, []string{"valid_from:settle.no_policy"}},
		{"a category the policy lacks", func(in *CertInput) { in.Category = "XX" }, []string{"category:settle.chronic_unknown"}},
		{"every fault at once", func(in *CertInput) { in.To, in.Diagnosis, in.Office, in.Category = "2025-01-01", "", "", "XX" },
			[]string{"valid_to:settle.cert_to_before_from", "diagnosis:settle.cert_diagnosis", "office:settle.cert_office", "category:settle.chronic_unknown"}},
	} {
		in := certInput()
		tt.mod(&in)
		n := len(repo.certs)
		_, err := s.Certify(bg, officerA, in)
		if got := fieldKeys(err); !slices.Equal(got, tt.want) || (tt.want == nil) != (err == nil) {
			t.Errorf("%s: %v %v, want %v", tt.name, got, err, tt.want)
		}
		if tt.want != nil && len(repo.certs) != n {
			t.Errorf("%s: a refused certification was stored", tt.name)
		}
	}
	in := certInput()
	in.Office = ""
	if _, err := s.Certify(bg, officerA, in); err.(*care.Error).Fields[0].Args[0] != 100 {
		t.Errorf("the office limit is not named: %v", err)
	}
	in = certInput()
	in.From = "2025-06-01"
	if _, err := s.Certify(bg, officerA, in); err.(*care.Error).Fields[0].Args[0] != "2025-06-01" {
		t.Errorf("the day without a policy is not named: %v", err)
	}

	repo.events = svcAudit{}
	c, err := s.Certify(bg, officerA, certInput())
	if err != nil || c.ID == 0 || c.County != countyA || c.ResidentID != 100 || c.Category != "HT" || c.Diagnosis != "I10" || c.Office != "A县医保局" ||
		c.Status != CertActive || c.CreatedBy != 7 || c.From.String() != "2026-01-01" || c.To.String() != "2026-12-31" {
		t.Fatalf("certify: %+v %v", c, err)
	}
	ev := repo.events.of(ActCertify)
	if len(ev) != 1 || ev[0].Detail != "HT I10 2026-01-01..2026-12-31" || ev[0].ResidentID != 100 || ev[0].CountyCode != countyA || ev[0].AccountID != 7 {
		t.Errorf("certify audit %+v", ev)
	}
}

// TestEndCertification: an officer ends an active certification of a
// resident in scope with a reason of 2–200 characters; the record stays,
// ended, with who, when and why; it ends once.
func TestEndCertification(t *testing.T) {
	s, repo, _ := newSettleService()
	withExamplePolicy(repo)
	c, err := s.Certify(bg, officerA, certInput())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.EndCertification(bg, villageA, c.ID, "痊愈"); ceCode(err) != care.EFORBIDDEN {
		t.Errorf("a village doctor ending: %v", err)
	}
	for _, reason := range []string{"", "愈", strings.Repeat("愈", 201)} {
		if _, err := s.EndCertification(bg, officerA, c.ID, reason); !slices.Equal(fieldKeys(err), []string{"reason:settle.reason_required"}) {
			t.Errorf("reason %q: %v", reason, err)
		}
	}
	for name, tt := range map[string]struct {
		a  care.Actor
		id int64
	}{
		"no such certification":    {officerA, 999},
		"another county's officer": {officerB, c.ID},
	} {
		if _, err := s.EndCertification(bg, tt.a, tt.id, "痊愈"); ceCode(err) != care.ENOTFOUND || errKey(err) != "settle.cert_not_found" {
			t.Errorf("%s: %v", name, err)
		}
	}
	if len(repo.events.of(ActCertEnd)) != 0 {
		t.Fatal("a refused end was written")
	}
	ended, err := s.EndCertification(bg, officerA, c.ID, " 痊愈 ")
	if err != nil || ended.Status != CertEnded || ended.EndedBy != 7 || !ended.EndedAt.Equal(svcNow) || ended.EndReason != "痊愈" || ended.ID != c.ID {
		t.Fatalf("end: %+v %v", ended, err)
	}
	ev := repo.events.of(ActCertEnd)
	if len(ev) != 1 || ev[0].Detail != "certification "+itoa(c.ID)+": 痊愈" || ev[0].ResidentID != 100 || ev[0].CountyCode != countyA {
		t.Errorf("end audit %+v", ev)
	}
	if _, err := s.EndCertification(bg, officerA, c.ID, "痊愈"); ceCode(err) != care.ECONFLICT || errKey(err) != "settle.cert_ended" {
		t.Errorf("ended twice: %v", err)
	}
	c2 := certInput()
	c2.Category, c2.Diagnosis = "DM", "E11.9"
	if _, err := s.Certify(bg, officerA, c2); err != nil {
		t.Fatal(err)
	}
	if _, err := s.EndCertification(bg, officerA, c.ID+1, strings.Repeat("愈", 200)); err != nil {
		t.Errorf("a 200-character reason: %v", err)
	}
}

// TestCertificationsList: officers only, the resident in scope, newest
// first, and the read audited (with the resident, in the resident's county).
func TestCertificationsList(t *testing.T) {
	s, repo, log := newSettleService()
	withExamplePolicy(repo)
	first, _ := s.Certify(bg, officerA, certInput())
	in := certInput()
	in.Category, in.Diagnosis = "DM", "E11"
	second, _ := s.Certify(bg, officerA, in)
	if _, err := s.Certifications(bg, resident0, 100); ceCode(err) != care.EFORBIDDEN {
		t.Errorf("a resident listing: %v", err)
	}
	if _, err := s.Certifications(bg, officerB, 100); ceCode(err) != care.ENOTFOUND {
		t.Errorf("another county's officer: %v", err)
	}
	if len(log.of(ActCertRead)) != 0 {
		t.Error("a refused list was audited as a read")
	}
	cs, err := s.Certifications(bg, officerA, 100)
	if err != nil || len(cs) != 2 || cs[0].ID != second.ID || cs[1].ID != first.ID {
		t.Fatalf("list: %+v %v", cs, err)
	}
	if ev := log.of(ActCertRead); len(ev) != 1 || ev[0].ResidentID != 100 || ev[0].CountyCode != countyA || ev[0].AccountID != 7 {
		t.Errorf("list audit %+v", ev)
	}
	if cs, err := s.Certifications(bg, officerA, 101); err != nil || len(cs) != 0 {
		t.Errorf("a resident without certifications: %+v %v", cs, err)
	}
}

// TestChronicSplitDispensing pins Service.ChronicSplit (docs/settlement.md:
// a dispensed drug is settled as a chronic visit of the certified category
// while a certification is active, in date and covers one of the drug's
// diagnoses, the policy in force that day still has the category and the
// category's drug range pays for the drug; without a policy that day,
// nothing: the settlement itself refuses it).
func TestChronicSplitDispensing(t *testing.T) {
	s, repo, _ := newSettleService()
	withExamplePolicy(repo)
	day := func(v string) care.Date { d, _ := care.ParseDate(v); return d }
	one := func(county string, d care.Date, atc string, dx []string) string {
		t.Helper()
		cats, err := s.ChronicSplit(bg, county, 100, d, []BillItem{{ATC: atc, Diagnoses: dx}})
		if err != nil || len(cats) != 1 {
			t.Fatalf("ChronicSplit: %v %v", cats, err)
		}
		return cats[0]
	}
	if cat := one(countyA, day("2026-03-01"), "C08CA01", []string{"I10"}); cat != "" {
		t.Errorf("no certification: %q", cat)
	}
	add := func(cat, dx, from, to string) {
		repo.certs = append(repo.certs, &Certification{ID: repo.id(), County: countyA, ResidentID: 100, Category: cat, Diagnosis: dx, From: day(from), To: day(to), Status: CertActive})
	}
	add("HT", "I10", "2025-01-01", "2026-06-30")
	add("XX", "I10", "2025-01-01", "2026-12-31") // newest, but a category the policy does not have
	for _, tt := range []struct {
		day, atc string
		dx       []string
		want     string
	}{
		{"2026-03-01", "C08CA01", []string{"J06.9", "I10.x00"}, "HT"},
		{"2026-06-30", "C09AA02", []string{"I10"}, "HT"},
		{"2026-03-01", "B01AC06", []string{"I10"}, ""}, // aspirin: outside HT's drug range (C02 C03 C07 C08 C09)
		{"2026-07-01", "C08CA01", []string{"I10"}, ""},
		{"2026-03-01", "C08CA01", []string{"E11.9"}, ""},
		{"2025-06-01", "C08CA01", []string{"I10"}, ""}, // certified, but no policy in force
	} {
		if cat := one(countyA, day(tt.day), tt.atc, tt.dx); cat != tt.want {
			t.Errorf("%s %s %v: %q, want %q", tt.day, tt.atc, tt.dx, cat, tt.want)
		}
	}
	if cat := one(countyB, day("2026-03-01"), "C08CA01", []string{"I10"}); cat != "" {
		t.Errorf("another county's books: %q", cat)
	}
}
