package web

import (
	"flag"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"countycare/access"
	"countycare/care"
	"countycare/childhealth"
	"countycare/chronic"
	"countycare/ecg"
	"countycare/elderly"
	"countycare/family"
	"countycare/maternal"
	"countycare/org"
	"countycare/points"
	"countycare/povertywatch"
	"countycare/referral"
	"countycare/resident"
	"countycare/screening"
	"countycare/settle"
)

// keyPatterns find message keys in Go code: Key: "…", Errorf(care.X, "…"),
// add("field", "…") and key := "…".
var keyPatterns = []*regexp.Regexp{
	regexp.MustCompile(`Key:\s*"([a-z0-9_.]+)"`),
	regexp.MustCompile(`Errorf\(care\.[A-Z]+,\s*"([a-z0-9_.]+)"`),
	regexp.MustCompile(`(?:add|bad|warn)\("[a-z_]+",\s*"([a-z0-9_.]+)"`),
	regexp.MustCompile(`append\(r,\s*"([a-z0-9_.]+)"\)`),
	regexp.MustCompile(`Action(?:,\s*o\.NextVisit)? = "([a-z0-9_.]+)"`),
	regexp.MustCompile(`Action:\s*"(chronic\.[a-z0-9_.]+)"`),
	regexp.MustCompile(`key\s*:?=\s*"([a-z0-9_.]+)"`),
	regexp.MustCompile(`msgs\.T\(\w+\.?\w*,\s*"([a-z0-9_.]+)"`),
	regexp.MustCompile(`Step\{"([a-z0-9_.]+)"`),
	regexp.MustCompile(`Step\{Key:\s*"([a-z0-9_.]+)"`),
	regexp.MustCompile(`claimErr\("[a-z_]+",\s*"([a-z0-9_.]+)"`),
	regexp.MustCompile(`return false, "([a-z0-9_.]+)"`),
	regexp.MustCompile(`return true, "([a-z0-9_.]+)"`),
}

var templateKey = regexp.MustCompile(`\.TD? "([a-z0-9_.]+)"`)

// TestCatalogueIsComplete fails if code or a template uses a message key
// missing from either language, or the languages differ.
func TestCatalogueIsComplete(t *testing.T) {
	c, err := loadCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]string{}
	filepath.WalkDir("..", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, "_test.go") {
			b, _ := os.ReadFile(p)
			for _, re := range keyPatterns {
				for _, m := range re.FindAllStringSubmatch(string(b), -1) {
					if !strings.HasSuffix(m[1], ".") { // a prefix completed at run time
						used[m[1]] = p
					}
				}
			}
		}
		if strings.HasSuffix(p, ".html") {
			b, _ := os.ReadFile(p)
			for _, m := range templateKey.FindAllStringSubmatch(string(b), -1) {
				used[m[1]] = p
			}
		}
		return nil
	})
	// Keys built from enumerations.
	for _, r := range care.Roles {
		used["role."+string(r)] = "care.Roles"
	}
	for _, k := range org.Kinds {
		used["kind."+string(k)] = "org.Kinds"
	}
	for _, l := range org.Levels[1:] {
		used["level."+string(l)] = "org.Levels"
	}
	for _, ti := range org.Titles {
		used["title."+string(ti)] = "org.Titles"
	}
	for _, p := range resident.PovertyCategories[1:] {
		used["poverty."+string(p)] = "resident.PovertyCategories"
	}
	for _, r := range resident.Relations {
		used["relation."+string(r)] = "resident.Relations"
	}
	for _, g := range []resident.KeyGroup{resident.KeyElderly, resident.KeyChild, resident.KeyPregnant, resident.KeyDisabled, resident.KeyPoor} {
		used["group."+string(g)] = "resident.KeyGroup"
	}
	for _, s := range []resident.Status{resident.StatusActive, resident.StatusMoved, resident.StatusDied, resident.StatusMerged} {
		used["status."+string(s)] = "resident.Status"
	}
	for _, l := range settle.LayerOrder {
		used["settle.layer."+l] = "settle.LayerOrder"
	}
	for _, v := range []string{"visit.inpatient", "visit.outpatient", "visit.chronic", "level.village", "level.township", "level.county", "level.out_of_county", "tier.ordinary", "tier.poor"} {
		used["settle.code."+v] = "settle codes"
	}
	for _, p := range settle.PovertyCategories {
		used["settle.code.poverty."+p] = "settle codes"
	}
	for _, m := range settle.PaymentMethods {
		used["settle.method."+m] = "settle.PaymentMethods"
	}
	for _, k := range []string{"settle.status.settled", "settle.status.reversed", "settle.receivable.open", "settle.receivable.paid", "settle.receivable.cancelled", "settle.receivable.refund_due",
		"flash.settled", "flash.reversed", "flash.paid", "flash.admitted_no_deposit", "flash.admitted_deposit", "flash.registered", "flash.saved", "flash.merged", "flash.emergency"} {
		used[k] = "handlers"
	}
	for _, d := range chronic.Diseases {
		used["chronic.disease."+string(d)] = "chronic.Diseases"
	}
	for _, st := range chronic.RegistrationStatuses {
		used["chronic.status."+st] = "chronic.RegistrationStatuses"
	}
	for _, c := range chronic.CallOutcomes {
		used["chronic.call."+c] = "chronic.CallOutcomes"
	}
	for _, tr := range chronic.Tiers {
		used["chronic.tier."+string(tr)] = "chronic.Tiers"
		used["chronic.level."+tr.ManagingLevel()] = "chronic.Tiers"
	}
	for _, k := range []string{"controlled", "uncontrolled", "adverse_reaction", "complication", "not_assessed", "stable", "basically_stable", "unstable"} {
		used["chronic.class."+k] = "chronic classes"
	}
	for _, k := range []string{"1", "2", "3", "4"} {
		used["chronic.refer."+k] = "chronic refer codes"
	}
	for _, k := range []string{"0", "1", "2", "3", "4", "5"} {
		used["chronic.risk."+k] = "chronic risk levels"
	}
	for _, r := range referral.Reasons {
		used["referral.reason."+string(r)] = "referral.Reasons"
	}
	for _, st := range referral.Statuses {
		used["referral.status."+string(st)] = "referral.Statuses"
	}
	for _, k := range referral.TaskKinds {
		used["referral.task."+string(k)] = "referral.TaskKinds"
	}
	for _, a := range []string{"accept", "redirect", "arrive", "complete", "cancel", "acknowledge"} {
		used["referral.action."+a] = "referral actions"
		used["flash.referral_"+a] = "referral actions"
	}
	for _, k := range []string{"referral.direction.up", "referral.direction.down", "referral.urgency.routine", "referral.urgency.emergency", "flash.referral_sent"} {
		used[k] = "referral enumerations"
	}
	for _, k := range []string{"consciousness", "severe_headache", "nausea_vomiting", "blurred_vision", "eye_pain", "palpitations", "chest_tightness", "orthopnoea",
		"fruity_breath", "sweating", "deep_breathing", "flushed_skin", "sudden_vision_loss", "polyuria", "numbness", "oedema"} {
		used["chronic.symptom."+k] = "chronic symptoms"
	}
	for _, k := range []string{"source.diagnosis", "source.referral", "source.screening", "adherence.regular", "adherence.intermittent", "adherence.none"} {
		used["chronic."+k] = "chronic forms"
	}
	for _, k := range []string{"flash.enrolled", "flash.visit_saved", "flash.visit_urgent"} {
		used[k] = "handlers"
	}
	for _, k := range []string{"sex.M", "sex.F", "disability.0", "disability.1", "disability.2", "disability.3", "disability.4", "org.children"} {
		used[k] = "templates"
	}
	for _, k := range family.Kinds {
		used["family.kind."+string(k)] = "family.Kinds"
	}
	for _, r := range family.MemberRoles {
		used["family.member."+r] = "family.MemberRoles"
	}
	for _, st := range []string{family.StatusActive, family.StatusRenewed, family.StatusSwitched, family.StatusEnded, family.StatusExpired} {
		used["family.status."+st] = "family statuses"
	}
	for _, c := range family.ConsentParties {
		used["family.consent_by."+c] = "family.ConsentParties"
	}
	for _, c := range family.ConsentMethods {
		used["family.consent_method."+c] = "family.ConsentMethods"
	}
	for _, r := range []points.Rule{points.Checkup, points.FollowUp, points.HomeVisit, points.Education, points.Rehab, points.Steps, points.Reading, points.Redeem} {
		used["points.rule."+string(r)] = "points rules"
	}
	for _, k := range []string{"flash.contract_signed", "flash.service_recorded", "flash.points_reported", "flash.points_redeemed"} {
		used[k] = "handlers"
	}
	for _, k := range povertywatch.ActionKinds {
		used["povertywatch.action."+string(k)] = "povertywatch.ActionKinds"
	}
	for _, l := range []povertywatch.Level{povertywatch.LevelBelow, povertywatch.LevelApproaching, povertywatch.LevelCrossed} {
		used["povertywatch.level."+string(l)] = "povertywatch levels"
	}
	for _, b := range []povertywatch.Basis{povertywatch.BasisTotal, povertywatch.BasisInPolicy} {
		used["povertywatch.basis."+string(b)] = "povertywatch bases"
	}
	for _, st := range ecg.Statements {
		used["ecg.statement."+string(st)] = "ecg.Statements"
	}
	for _, k := range ecg.MeasurementKinds {
		used["ecg.machine."+k] = "ecg.MeasurementKinds"
	}
	for _, k := range maternal.Kinds {
		used["mch.kind."+string(k)] = "maternal.Kinds"
	}
	for _, c := range []maternal.Colour{maternal.Green, maternal.Yellow, maternal.Orange, maternal.Red, maternal.Purple} {
		used["mch.colour."+string(c)] = "maternal colours"
	}
	for f := range maternal.DefaultConfig().Factors {
		used["mch.factor."+f] = "maternal.DefaultConfig().Factors"
	}
	for _, st := range []maternal.Status{maternal.StatusOpen, maternal.StatusDelivered, maternal.StatusClosed} {
		used["mch.status."+string(st)] = "maternal statuses"
	}
	for _, m := range maternal.Modes {
		used["mch.mode."+m] = "maternal.Modes"
	}
	for _, o := range maternal.Outcomes {
		used["mch.outcome."+o] = "maternal.Outcomes"
	}
	for _, k := range childhealth.Kinds {
		used["mch.check."+string(k)] = "childhealth.Kinds"
	}
	for _, d := range screening.Screenable {
		used["screening.disease."+string(d)] = "screening.Screenable"
	}
	for _, r := range []screening.Result{screening.Normal, screening.Recheck, screening.Suspected, screening.Registered} {
		used["screening.result."+string(r)] = "screening results"
	}
	for _, st := range []string{screening.CasePending, screening.CaseConfirmed, screening.CaseRuledOut} {
		used["screening.status."+st] = "screening case statuses"
	}
	for _, src := range screening.Sources {
		used["screening.source."+src] = "screening.Sources"
	}
	for _, f := range []childhealth.Finding{childhealth.Underweight, childhealth.UnderweightSevere, childhealth.Stunting, childhealth.StuntingSevere,
		childhealth.Wasting, childhealth.WastingSevere, childhealth.Overweight, childhealth.Obesity} {
		used["mch.finding."+string(f)] = "childhealth findings"
	}
	for _, k := range []string{"mch_registered", "mch_visit", "mch_delivery", "mch_child", "mch_check"} {
		used["flash."+k] = "okFlash"
	}
	ecfg := elderly.DefaultConfig()
	for prefix, codes := range map[string][]string{"elderly.symptom": elderly.Symptoms, "elderly.self_care_item": elderly.SelfCareItems,
		"elderly.screen": elderly.Screens, "elderly.smoking": elderly.Smoking, "elderly.drinking": elderly.Drinking, "elderly.exercise": elderly.Exercise,
		"elderly.diet": elderly.Diets, "elderly.aux": elderly.Auxiliary, "elderly.guidance": elderly.Guidance, "elderly.risk": elderly.Risks,
		"elderly.aspect": elderly.Aspects, "elderly.finding": ecfg.FindingCodes(), "elderly.suspected": {"hypertension", "diabetes"},
		"elderly.level": {"0", "1", "2", "3"}, "elderly.grade": {string(elderly.Independent), string(elderly.MildDep), string(elderly.ModerateDep), string(elderly.Dependent)},
		"elderly.verdict": {string(elderly.Yes), string(elderly.Leaning), string(elderly.Basically), string(elderly.No)}} {
		for _, c := range codes {
			used[prefix+"."+c] = "elderly lists"
		}
	}
	for _, l := range ecfg.Labs {
		used["elderly.lab."+l.Code] = "elderly.DefaultConfig().Labs"
	}
	for _, c := range elderly.Constitutions {
		used["elderly.constitution."+string(c)] = "elderly.Constitutions"
	}
	for _, st := range elderly.Statuses {
		used["elderly.status."+string(st)] = "elderly.Statuses"
	}
	for i := 1; i <= elderly.TCMQuestions; i++ {
		used[fmt.Sprintf("elderly.tcm.q%d", i)] = "elderly.html"
	}
	for i := 1; i <= 5; i++ {
		used[fmt.Sprintf("elderly.tcm.a%d", i)] = "elderly.html"
	}
	used["flash.elderly_recorded"], used["elderly.cognitive"], used["elderly.depression"] = "elderlyPage", "elderly.html", "elderly.html"
	_ = access.Public
	if len(used) < 200 {
		t.Fatalf("found only %d keys: the scan is broken", len(used))
	}
	for k, where := range used {
		for _, l := range Languages {
			if !c.Has(l, k) {
				t.Errorf("%s: key %q missing from locales/%s.json", where, k, l)
			}
		}
	}
	for _, l := range Languages[1:] {
		for k := range c.msgs[Languages[0]] {
			if !c.Has(l, k) {
				t.Errorf("key %q in %s but not in %s", k, Languages[0], l)
			}
		}
		for k := range c.msgs[l] {
			if !c.Has(Languages[0], k) {
				t.Errorf("key %q in %s but not in %s", k, l, Languages[0])
			}
		}
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{"/residents": "/residents", "/residents?q=zs&group=x": "/residents?q=zs&group=x", "//evil.com": "/", "https://evil.com": "/",
		"/\\evil": "/", "": "/", "/\t/evil.example/phish": "/", "/\n/evil": "/", "/%09/evil.example": "/%09/evil.example", "/ /evil": "/", "/\u3000/evil": "/"} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

var update = flag.Bool("update", false, "rewrite golden files (docs/routes.md)")

// TestRoutesDoc keeps docs/routes.md equal to the route table:
// go test ./web -run RoutesDoc -update rewrites it.
func TestRoutesDoc(t *testing.T) {
	s := &Server{mux: http.NewServeMux(), cfg: Config{MaxBodyBytes: 1 << 20}}
	s.registerRoutes()
	var b strings.Builder
	b.WriteString("# Routes and their access policies\n\nGenerated from `web/routes.go` by `go test ./web -run RoutesDoc -update`; a test fails when this file and the code differ.\nEvery route has a policy; a request the policy refuses gets 401/403 (or a redirect to sign-in) and never reaches the handler.\nReading a resident outside one's scope answers 404 like a resident that does not exist.\n\n| route | who |\n|---|---|\n")
	for _, r := range s.Routes() {
		who := ""
		switch {
		case r.Policy.IsPublic():
			who = "anyone"
		case r.Policy.IsOps():
			who = "operations: the metrics token (Bearer); or serve --metrics-addr"
		case r.Policy.IsDevice():
			who = "DICOMweb device credential (HTTP Basic), scoped to its institution"
		case len(r.Policy.Roles()) == 0:
			who = "any signed-in account"
		default:
			var rs []string
			for _, x := range r.Policy.Roles() {
				rs = append(rs, string(x))
			}
			who = strings.Join(rs, ", ")
		}
		fmt.Fprintf(&b, "| `%s` | %s |\n", r.Pattern, who)
	}
	path := filepath.Join("..", "docs", "routes.md")
	if *update {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != b.String() {
		t.Errorf("docs/routes.md is out of date: run go test ./web -run RoutesDoc -update (%v)", err)
	}
}
