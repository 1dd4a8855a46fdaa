package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"time"

	"countycare/account"
	"countycare/care"
	"countycare/childhealth"
	"countycare/consult"
	"countycare/critical"
	"countycare/demo"
	"countycare/elderly"
	"countycare/family"
	"countycare/healthedu"
	"countycare/kpi"
	"countycare/maternal"
	"countycare/org"
	"countycare/outreach"
	"countycare/pharmacy"
	"countycare/points"
	"countycare/povertywatch"
	"countycare/reading"
	"countycare/referral"
	"countycare/rx"
	"countycare/screening"
	"countycare/specimen"
	"countycare/store"
	"countycare/upload"
	"countycare/villagesync"
	"countycare/web"
)

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newFlags("serve", "Run the web server. With --demo, an empty database first gets a generated demo county\nand the demo sign-ins are printed.", stderr)
	c.register(fs)
	fs.StringVar(&c.standbyDB, "read-db", envOr("COUNTYCARE_READ_DB", ""), "PostgreSQL standby (e.g. HAProxy's standby port) for the reads of indicator pages, reports and the resident export, which may be a moment behind; unreachable: those reads go to the primary (docs/operations.md; env COUNTYCARE_READ_DB)")
	acfg := account.DefaultConfig()
	addr := fs.String("addr", envOr("COUNTYCARE_ADDR", "127.0.0.1:8080"), "listen address (env COUNTYCARE_ADDR)")
	fs.DurationVar(&acfg.IdleTimeout, "idle-timeout", envDuration("COUNTYCARE_IDLE_TIMEOUT", acfg.IdleTimeout), "sign out after this long without a request (env COUNTYCARE_IDLE_TIMEOUT)")
	fs.DurationVar(&acfg.AbsoluteTimeout, "session-lifetime", acfg.AbsoluteTimeout, "longest a session lasts after sign-in")
	fs.IntVar(&acfg.MaxFailures, "max-failures", acfg.MaxFailures, "failed sign-ins in a row that lock an account")
	fs.DurationVar(&acfg.LockFor, "lock-for", acfg.LockFor, "how long a locked account stays locked")
	fs.IntVar(&acfg.MinPasswordLen, "min-password", acfg.MinPasswordLen, "minimum password length")
	fs.StringVar(&acfg.PublicURL, "public-url", os.Getenv("COUNTYCARE_PUBLIC_URL"), "the address users reach the server at, e.g. https://yl.example.cn, put in front of links sent by text message\n(one-time password-reset links; env COUNTYCARE_PUBLIC_URL)")
	rcfg := referral.DefaultConfig()
	fs.DurationVar(&rcfg.LinkGrace, "referral-grace", rcfg.LinkGrace, "how long a receiving institution keeps access to a resident after the referral closes")
	ccfg := consult.DefaultConfig()
	consultGrace := fs.Duration("consult-grace", time.Duration(ccfg.GraceHours)*time.Hour, "how long the invited hospital keeps access to a resident after the consultation closes (whole hours)")
	consultResponse := fs.String("consult-response", envOr("COUNTYCARE_CONSULT_RESPONSE", "routine=10,urgent=10,emergency=5"),
		"minutes the invited doctor has to accept or decline, per urgency, before the case escalates (env COUNTYCARE_CONSULT_RESPONSE)")
	readingTargets := fs.String("reading-targets", envOr("COUNTYCARE_READING_TARGETS", ""),
		"turnaround targets of the reading centers in minutes per modality over the defaults ECG=15,DR=30,US=30,CT=60,MR=60,FHM=15,FUNDUS=1440,SKIN=1440,OT=60, e.g. ECG=10,CT=45 (env COUNTYCARE_READING_TARGETS)")
	secure := fs.Bool("secure-cookies", envOr("COUNTYCARE_SECURE_COOKIES", "") == "1", "mark cookies Secure (when served over TLS by a proxy; env COUNTYCARE_SECURE_COOKIES=1)")
	metricsToken := fs.String("metrics-token", envOr("COUNTYCARE_METRICS_TOKEN", ""),
		"bearer token for GET /metrics; without it the main listener does not serve /metrics (prefer env COUNTYCARE_METRICS_TOKEN: flags show in ps)")
	metricsAddr := fs.String("metrics-addr", envOr("COUNTYCARE_METRICS_ADDR", ""),
		"serve GET /metrics alone on this address too, e.g. 127.0.0.1:9090 or the monitoring network's; empty: not served apart (env COUNTYCARE_METRICS_ADDR)")
	trustedProxies := fs.String("trusted-proxies", os.Getenv("COUNTYCARE_TRUSTED_PROXIES"), "comma-separated addresses or CIDR prefixes of the reverse proxies in front of the server, e.g. 10.0.0.5,192.168.10.0/24:\n"+
		"from these peers the client's address is the rightmost untrusted hop of X-Forwarded-For (sign-in limiter, sessions, audit);\nempty: X-Forwarded-For is ignored (env COUNTYCARE_TRUSTED_PROXIES)")
	ice := fs.String("ice-servers", os.Getenv("COUNTYCARE_ICE_SERVERS"), "video calls: RTCIceServer list as JSON, e.g. '[{\"urls\":\"stun:stun.example.cn:3478\"}]' (env COUNTYCARE_ICE_SERVERS); empty: none, for a LAN")
	boundaries := fs.String("boundaries", envOr("COUNTYCARE_BOUNDARIES", ""), "GeoJSON file of the county's township and village outlines, keyed by area code (properties.adcode or code), for the dashboard's map\n(default: none, a schematic map from the organisation tree; env COUNTYCARE_BOUNDARIES)")
	font := fs.String("font", envOr("COUNTYCARE_FONT", web.DefaultFontPath), "TrueType font with Chinese glyphs for PDF explanations of benefits (env COUNTYCARE_FONT)")
	withDemo := fs.Bool("demo", false, "generate a demo county first if the database is empty, and print the demo sign-ins")
	residents := fs.Int("residents", 20000, "residents in the demo county (with --demo)")
	chronicFile := fs.String("chronic-config", envOr("COUNTYCARE_CHRONIC_CONFIG", ""), "JSON file of the county's chronic-care rules over the defaults (targets, intervals, tier rules, prevalence; `countycare chronic defaults` prints them; env COUNTYCARE_CHRONIC_CONFIG)")
	kpiBudgets := fs.String("kpi-budgets", envOr("COUNTYCARE_KPI_BUDGETS", ""), "JSON file of the medical communities' global insurance budgets per year in fen, keyed by the community's institution code, for the dashboard's fund use\n(default: none, the fund use shows no data; docs/dashboard.md; env COUNTYCARE_KPI_BUDGETS)")
	kpiTargets := fs.String("kpi-targets", envOr("COUNTYCARE_KPI_TARGETS", ""), "JSON file of the county's dashboard targets per indicator and year and the amber band (default: kpi/targets.default.json; docs/dashboard.md; env COUNTYCARE_KPI_TARGETS)")
	surveyFile := fs.String("survey-config", envOr("COUNTYCARE_SURVEY_CONFIG", ""), "JSON file of the resident surveys: questions, the smallest group staff see (≥ 5), link lifetime, gap between invitations (default: survey/survey.default.json; docs/appraisal.md; env COUNTYCARE_SURVEY_CONFIG)")
	surveyEvery := fs.Duration("survey-invite-every", envDuration("COUNTYCARE_SURVEY_INVITE_EVERY", 15*time.Minute),
		"how often residents are invited to a survey after a settlement, family-doctor service, consultation or referral (text message with a link, or their own page); 0 disables (env COUNTYCARE_SURVEY_INVITE_EVERY)")
	appraisalFile := fs.String("appraisal-config", envOr("COUNTYCARE_APPRAISAL_CONFIG", ""), "JSON file of the county's performance-appraisal weights and targets per year (default: appraisal/rules.default.json; docs/appraisal.md; env COUNTYCARE_APPRAISAL_CONFIG)")
	kpiCache := fs.Duration("kpi-cache", envDuration("COUNTYCARE_KPI_CACHE", kpi.DefaultCacheTTL), "how long the dashboard keeps a computed (scope, period) before computing it again (env COUNTYCARE_KPI_CACHE)")
	smsFile := fs.String("sms-config", envOr("COUNTYCARE_SMS_CONFIG", ""), "JSON file of the county's SMS provider (Alibaba Cloud or Tencent Cloud): keys, sign name, a template per message purpose,\n"+
		"per-number limits, retries, duty phones (docs/sms.md; env COUNTYCARE_SMS_CONFIG); empty: messages are only written to the log")
	rulesFile := fs.String("points-rules", envOr("COUNTYCARE_POINTS_RULES", ""), "JSON file of health-points rules (default: points/rules.json, see docs/points.md; env COUNTYCARE_POINTS_RULES)")
	auditJournalPath := fs.String("audit-journal", envOr("COUNTYCARE_AUDIT_JOURNAL", ""), "append-only journal of read audit events in front of the database, replayed at start (default: <db file>.audit-journal beside an SQLite database; with PostgreSQL and no path, reads wait for the database commit; env COUNTYCARE_AUDIT_JOURNAL)")
	auditSync := fs.String("audit-sync", envOr("COUNTYCARE_AUDIT_SYNC", "batch"), "when the audit journal reaches the disk: batch (a read is released once its event is written to the journal, which is fdatasync'ed at least every 100 ms: a crash of the process loses nothing, a power cut at most ~100 ms of read events) or always (each group waits for fdatasync: power-safe, slower); env COUNTYCARE_AUDIT_SYNC")
	anchorEvery := fs.Duration("audit-anchor-every", envDuration("COUNTYCARE_AUDIT_ANCHOR_EVERY", time.Hour),
		"log the audit trail's head (an anchor for verify-audit --expect) at startup and this often; 0 disables (env COUNTYCARE_AUDIT_ANCHOR_EVERY)")
	rxKB := fs.String("rx-kb", envOr("COUNTYCARE_RX_KB", ""), "directory with the prescription review knowledge base (formulary.psv, groups.psv, interactions.psv,\n"+
		"allergy.psv, pairs.psv; default: the tables embedded from rx/kb, see rx/kb/README.md; env COUNTYCARE_RX_KB)")
	drugPrices := fs.String("drug-prices", envOr("COUNTYCARE_DRUG_PRICES", ""), "file of the county's drug prices for dispensing, \"code|unit price in yuan|category A/B/C\" lines\n"+
		"(default: the illustrative pharmacy/prices-example.psv, not any province's prices; env COUNTYCARE_DRUG_PRICES)")
	criticalTownship := fs.Duration("critical-township-after", envDuration("COUNTYCARE_CRITICAL_TOWNSHIP_AFTER", critical.DefaultConfig().EscalateAfter[0]),
		"an unacknowledged critical value escalates to the township center this long after it was raised (env COUNTYCARE_CRITICAL_TOWNSHIP_AFTER)")
	criticalCounty := fs.Duration("critical-county-after", envDuration("COUNTYCARE_CRITICAL_COUNTY_AFTER", critical.DefaultConfig().EscalateAfter[1]),
		"… and to the county hospital this long after it was raised (env COUNTYCARE_CRITICAL_COUNTY_AFTER)")
	lowStockEvery := fs.Duration("low-stock-scan-every", envDuration("COUNTYCARE_LOW_STOCK_SCAN_EVERY", 24*time.Hour),
		"scan every institution's stock for low drugs and text the staff (at most once a week per drug) this often; 0 disables (env COUNTYCARE_LOW_STOCK_SCAN_EVERY)")
	watchFile := fs.String("poverty-watch", envOr("COUNTYCARE_POVERTY_WATCH", ""), "JSON file of the province's poverty-through-illness lines per year (default: povertywatch/thresholds.json, see docs/settlement.md; env COUNTYCARE_POVERTY_WATCH)")
	specialFile := fs.String("special-treatment", envOr("COUNTYCARE_SPECIAL_TREATMENT", ""), "JSON file of the province's major-illness special-treatment list (大病专项救治: diseases, ICD-10 codes, designated hospitals, prices; default: povertywatch/special.json; env COUNTYCARE_SPECIAL_TREATMENT)")
	watchEvery := fs.Duration("poverty-watch-every", envDuration("COUNTYCARE_POVERTY_WATCH_EVERY", 15*time.Minute),
		"how often households over the poverty-through-illness line are looked for and alerted (0: never)")
	figuresEvery := fs.Duration("dashboard-figures-every", envDuration("COUNTYCARE_DASHBOARD_FIGURES_EVERY", 10*time.Minute),
		"how often the dashboard's figures are computed and kept for the periods in progress (and once for the past periods a viewer\ncan pick); 0: never, each view's period is then computed from the reports (env COUNTYCARE_DASHBOARD_FIGURES_EVERY)")
	specimenFile := fs.String("specimen-config", envOr("COUNTYCARE_SPECIMEN_CONFIG", ""), "JSON file of the county lab's specimen rules: stability per tube, overdue time per step, box temperature range (default: specimen.DefaultConfig, see docs/specimens.md; env COUNTYCARE_SPECIMEN_CONFIG)")
	maternalFile := fs.String("maternal-config", envOr("COUNTYCARE_MATERNAL_CONFIG", ""), "JSON file of the maternal programme: antenatal windows, the risk factor→colour table, the thresholds (default: maternal.DefaultConfig, see docs/public-health.md; env COUNTYCARE_MATERNAL_CONFIG)")
	outreachCancel := fs.Int("outreach-cancel-hours", envInt("COUNTYCARE_OUTREACH_CANCEL_HOURS", outreach.DefaultConfig().CancelCutoffHours),
		"expert sessions: a resident may cancel a booking until this many hours before the slot (0–336; docs/outreach.md; env COUNTYCARE_OUTREACH_CANCEL_HOURS)")
	outreachRemindEvery := fs.Duration("outreach-remind-every", envDuration("COUNTYCARE_OUTREACH_REMIND_EVERY", 15*time.Minute),
		"expert sessions: how often bookings of tomorrow's sessions are looked for and sent their text reminder, once each (0: never; env COUNTYCARE_OUTREACH_REMIND_EVERY)")
	outreachRemindHours := fs.String("outreach-remind-hours", envOr("COUNTYCARE_OUTREACH_REMIND_HOURS", "9-20"),
		"expert sessions: the hours (Shanghai time, FROM-UNTIL) in which the day-before reminders are sent (docs/outreach.md; env COUNTYCARE_OUTREACH_REMIND_HOURS)")
	eduFile := fs.String("healthedu-config", envOr("COUNTYCARE_HEALTHEDU_CONFIG", ""), "JSON file of the health-education minimums per institution level and form (default: healthedu.DefaultConfig, the national spec's; see docs/public-health.md; env COUNTYCARE_HEALTHEDU_CONFIG)")
	eduLibFile := fs.String("healthedu-library", envOr("COUNTYCARE_HEALTHEDU_LIBRARY", ""), "CSV file of the double prescription's advice library: a version row, then ICD-10 prefix, code, Chinese, English (default: the embedded healthedu/library/advice.csv; env COUNTYCARE_HEALTHEDU_LIBRARY)")
	childFile := fs.String("childhealth-config", envOr("COUNTYCARE_CHILDHEALTH_CONFIG", ""), "JSON file of the 0–6 child programme's windows (default: childhealth.DefaultConfig, see docs/public-health.md; env COUNTYCARE_CHILDHEALTH_CONFIG)")
	elderlyFile := fs.String("elderly-config", envOr("COUNTYCARE_ELDERLY_CONFIG", ""), "JSON file of the 65+ programme: thresholds, the lab items with units and ranges, the yearly window (default: elderly.DefaultConfig, see docs/public-health.md; env COUNTYCARE_ELDERLY_CONFIG)")
	tcmFile := fs.String("elderly-tcm-library", envOr("COUNTYCARE_ELDERLY_TCM_LIBRARY", ""), "JSON file of the TCM health guidance per constitution and aspect, zh and en (default: elderly/tcm_guidance.json; env COUNTYCARE_ELDERLY_TCM_LIBRARY)")
	specimenEvery := fs.Duration("specimen-sweep-every", envDuration("COUNTYCARE_SPECIMEN_SWEEP_EVERY", 5*time.Minute),
		"how often specimens not scanned at their next step in time are looked for and alerted to the clinic and the lab (0: never)")
	leaseTTL := fs.Duration("lease", envDuration("COUNTYCARE_LEASE", 2*time.Second),
		"replicas on one database: the scheduled duties run on the replica holding the scheduler lease; a replica that dies\nhands them over within this long (and a quarter more); 1s–1m (env COUNTYCARE_LEASE)")
	chatPurgeEvery := fs.Duration("chat-purge-every", envDuration("COUNTYCARE_CHAT_PURGE_EVERY", 24*time.Hour),
		"delete online-visit chat older than the 3 years the rules keep it this often; 0 disables (env COUNTYCARE_CHAT_PURGE_EVERY)")
	uploadExpiry := fs.Duration("upload-expiry", envDuration("COUNTYCARE_UPLOAD_EXPIRY", upload.DefaultConfig().Expiry),
		"a resumable upload (ECG, DICOM) may be continued for this long after its last write; then it is deleted (env COUNTYCARE_UPLOAD_EXPIRY)")
	uploadSweepEvery := fs.Duration("upload-sweep-every", envDuration("COUNTYCARE_UPLOAD_SWEEP_EVERY", 15*time.Minute),
		"delete expired resumable uploads this often; 0 disables (env COUNTYCARE_UPLOAD_SWEEP_EVERY)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the server from start to shutdown to this file (for `go tool pprof`); SIGUSR1 starts it again from empty (bench replay --cpuprofile sends it when its replay begins)")
	wipeAfter := fs.Duration("village-wipe-after", envDuration("COUNTYCARE_VILLAGE_WIPE_AFTER", villagesync.DefaultConfig().WipeAfter),
		"the village app wipes the residents and queue it holds on a phone after this long without contacting the server (docs/village-app.md; env COUNTYCARE_VILLAGE_WIPE_AFTER)")
	fhirFlags := fhirExportFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return fmt.Errorf("serve: --cpuprofile: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return fmt.Errorf("serve: --cpuprofile: %w", err)
		}
		stop := restartCPUProfileOnSignal(*cpuprofile, &f)
		defer func() { stop(); pprof.StopCPUProfile(); f.Close() }()
	}
	ucfg := upload.DefaultConfig()
	ucfg.Expiry = *uploadExpiry
	if err := ucfg.Validate(); err != nil {
		return fmt.Errorf("serve: --upload-expiry: %w", err)
	}
	if *leaseTTL < time.Second || *leaseTTL > time.Minute {
		return fmt.Errorf("serve: --lease %s: want 1s to 1m", *leaseTTL)
	}
	proxies, err := web.ParseTrustedProxies(*trustedProxies)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	criticalCfg := critical.Config{EscalateAfter: [2]time.Duration{*criticalTownship, *criticalCounty}}
	if err := criticalCfg.Validate(); err != nil {
		return err
	}
	if *ice != "" {
		var servers []map[string]any
		if err := json.Unmarshal([]byte(*ice), &servers); err != nil {
			return fmt.Errorf("serve: --ice-servers: want a JSON list of RTCIceServer objects: %w", err)
		}
	}
	var rxe *rx.Engine
	if *rxKB != "" {
		kb, err := rx.LoadFS(os.DirFS(*rxKB), ".")
		if err != nil {
			return fmt.Errorf("serve: --rx-kb: %w", err)
		}
		rxe = &rx.Engine{KB: kb, Config: rx.DefaultConfig()}
	}
	rules := points.DefaultRules()
	chronicCfg, err := loadChronicConfig(*chronicFile)
	if err != nil {
		return err
	}
	targets, err := loadTargets(*kpiTargets)
	if err != nil {
		return err
	}
	appraisalRules, err := loadAppraisalRules(*appraisalFile)
	if err != nil {
		return err
	}
	surveyCfg, err := loadSurveyConfig(*surveyFile)
	if err != nil {
		return err
	}
	if *kpiCache <= 0 {
		return fmt.Errorf("serve: --kpi-cache must be positive (got %s)", *kpiCache)
	}
	smsCfg, err := loadSMSConfig(*smsFile)
	if err != nil {
		return fmt.Errorf("serve: --sms-config: %w", err)
	}
	if ccfg.ResponseMinutes, err = parseResponseMinutes(*consultResponse); err != nil {
		return err
	}
	watchCfg := povertywatch.DefaultConfig()
	if *watchFile != "" {
		b, err := os.ReadFile(*watchFile)
		if err != nil {
			return fmt.Errorf("serve: --poverty-watch: %w", err)
		}
		if watchCfg, err = povertywatch.ParseConfig(b); err != nil {
			return fmt.Errorf("serve: --poverty-watch %s: %w", *watchFile, err)
		}
	}
	specialList := povertywatch.DefaultSpecialList()
	if *specialFile != "" {
		b, err := os.ReadFile(*specialFile)
		if err != nil {
			return fmt.Errorf("serve: --special-treatment: %w", err)
		}
		if specialList, err = povertywatch.ParseSpecialList(b); err != nil {
			return fmt.Errorf("serve: --special-treatment %s: %w", *specialFile, err)
		}
	}
	specimenCfg := specimen.DefaultConfig()
	if *specimenFile != "" {
		b, err := os.ReadFile(*specimenFile)
		if err != nil {
			return fmt.Errorf("serve: --specimen-config: %w", err)
		}
		if specimenCfg, err = specimen.ParseConfig(b); err != nil {
			return fmt.Errorf("serve: --specimen-config %s: %w", *specimenFile, err)
		}
	}
	eduCfg, eduLib := healthedu.DefaultConfig(), healthedu.DefaultLibrary()
	if *eduFile != "" {
		if eduCfg, err = healthedu.LoadConfig(*eduFile); err != nil {
			return fmt.Errorf("serve: --healthedu-config: %w", err)
		}
	}
	if *eduLibFile != "" {
		if eduLib, err = healthedu.LoadLibrary(*eduLibFile); err != nil {
			return fmt.Errorf("serve: --healthedu-library: %w", err)
		}
	}
	maternalCfg, childCfg := maternal.DefaultConfig(), childhealth.DefaultConfig()
	if *maternalFile != "" {
		if maternalCfg, err = maternal.LoadConfig(*maternalFile); err != nil {
			return fmt.Errorf("serve: --maternal-config: %w", err)
		}
	}
	if *childFile != "" {
		if childCfg, err = childhealth.LoadConfig(*childFile); err != nil {
			return fmt.Errorf("serve: --childhealth-config: %w", err)
		}
	}
	elderlyCfg, tcmLib := elderly.DefaultConfig(), elderly.DefaultLibrary()
	if *elderlyFile != "" {
		if elderlyCfg, err = elderly.LoadConfig(*elderlyFile); err != nil {
			return fmt.Errorf("serve: --elderly-config: %w", err)
		}
	}
	if *tcmFile != "" {
		b, err := os.ReadFile(*tcmFile)
		if err == nil {
			tcmLib, err = elderly.ParseLibrary(b)
		}
		if err != nil {
			return fmt.Errorf("serve: --elderly-tcm-library: %w", err)
		}
	}
	rtargets, err := reading.ParseTargets(*readingTargets)
	if err != nil {
		return fmt.Errorf("serve: --reading-targets: %w", err)
	}
	if *consultGrace < 0 || *consultGrace%time.Hour != 0 {
		return fmt.Errorf("serve: --consult-grace must be whole hours (got %s)", *consultGrace)
	}
	ccfg.GraceHours = int(*consultGrace / time.Hour)
	if *rulesFile != "" {
		f, err := os.Open(*rulesFile)
		if err != nil {
			return fmt.Errorf("serve: %w", err)
		}
		rules, err = points.ParseRules(f)
		f.Close()
		if err != nil {
			return err
		}
	}
	log := c.logger(stderr)
	st, key, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	st.SetReadingTargets(rtargets) // new uploads (and the demo's studies) are due by the county's targets
	if *withDemo {
		empty, err := st.Empty(ctx)
		if err != nil {
			return err
		}
		if empty {
			fmt.Fprintf(stdout, "Creating a demo county with %d residents in %s …\n", *residents, st.Redacted())
			res, err := demo.Generate(ctx, st, demo.Config{Residents: *residents, FollowUps: demo.ScaledFollowUps(*residents), Contracts: *residents / 2,
				Consultations: demo.ScaledConsultations(*residents),
				Referrals:     demo.ScaledReferrals(*residents),
				ECGReads:      demo.ScaledECGReads(*residents), ImagingReads: demo.ScaledImagingReads(*residents),
				SupplyOrders: demo.ScaledSupplyOrders(*residents), Prescriptions: demo.ScaledPrescriptions(*residents),
				Specimens: demo.ScaledSpecimens(*residents), Pregnancies: demo.ScaledPregnancies(*residents), HutReadings: demo.ScaledHutReadings(*residents),
				SterilePacks: demo.ScaledSterilePacks(*residents), Screening: demo.ScreeningShare, OutreachWeeks: demo.OutreachWeeksPerYear, ElderlyPercent: demo.ElderlyCoverage,
				EduSessions: demo.ScaledEduSessions(*residents), HomeVisits: demo.ScaledHomeVisits(*residents)}, log)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "Demo county ready in %s.\n", res.Duration.Round(time.Millisecond))
		}
	}
	aj, err := c.auditJournalFor(*auditJournalPath, *auditSync, log)
	if err != nil {
		return fmt.Errorf("serve: --audit-sync: %w", err)
	}
	bounds, err := loadBoundaries(*boundaries)
	if err != nil {
		return err
	}
	a, err := newApp(st, key, log, acfg, web.Config{SecureCookies: *secure, MetricsToken: *metricsToken, DemoBanner: *withDemo, FontPath: *font, Boundaries: bounds, ICEServers: *ice, TrustedProxies: proxies}, rules, rcfg, rxe, aj)
	if err != nil {
		return err
	}
	a.chronic.Config, a.dashboard.ChronicRules = chronicCfg, chronicCfg
	a.screening.Config = screening.DefaultConfig().FromChronic(chronicCfg) // the county's screening age and BP thresholds
	a.dashboard.Targets, a.dashboard.CacheTTL = targets, *kpiCache
	if a.dashboard.Budgets, err = loadBudgets(ctx, *kpiBudgets, a.orgs); err != nil {
		return err
	}
	a.appraisal.Rules = appraisalRules
	a.surveys.Config, a.surveyEvery = surveyCfg, *surveyEvery
	a.consult.Config, a.dashboard.ConsultRules = ccfg, ccfg
	a.critical.Config, a.dashboard.CriticalRules = criticalCfg, criticalCfg
	a.watch.Config = watchCfg
	a.special.List = specialList
	a.specimens.Config = specimenCfg
	a.maternal.Config, a.children.Config = maternalCfg, childCfg
	a.outreach.Config.CancelCutoffHours = *outreachCancel
	a.outreachRemindEvery = *outreachRemindEvery
	if _, err := fmt.Sscanf(*outreachRemindHours, "%d-%d", &a.outreach.Config.RemindFromHour, &a.outreach.Config.RemindUntilHour); err != nil {
		a.close(context.Background())
		return fmt.Errorf("serve: --outreach-remind-hours %q: want FROM-UNTIL, such as 9-20", *outreachRemindHours)
	}
	if err := a.outreach.Config.Check(); err != nil {
		a.close(context.Background())
		return fmt.Errorf("serve: --outreach-cancel-hours, --outreach-remind-hours: %w", err)
	}
	a.elderly.Config, a.elderly.Library = elderlyCfg, tcmLib
	a.healthedu.Config, a.healthedu.Library, a.healthedu.Editions.Base = eduCfg, eduLib, eduLib
	a.readflow.Targets = rtargets
	a.uploads.Config = ucfg
	if *wipeAfter < time.Hour {
		a.close(context.Background())
		return fmt.Errorf("serve: --village-wipe-after must be at least an hour (a phone would wipe what it records before it can sync), got %s", *wipeAfter)
	}
	a.sync.Config.WipeAfter = *wipeAfter
	if *drugPrices != "" {
		b, err := os.ReadFile(*drugPrices)
		if err != nil {
			a.close(context.Background())
			return fmt.Errorf("serve: --drug-prices: %w", err)
		}
		if a.pharmacy.Prices, err = pharmacy.ParsePrices(b, a.pharmacy.KB); err != nil {
			a.close(context.Background())
			return fmt.Errorf("serve: --drug-prices %s: %w", *drugPrices, err)
		}
	}
	st.SetChronicConfig(chronicCfg) // the per-unit counters judge "controlled" by the county's targets
	if st.Dialect() == store.Postgres {
		// Replicas on one database: live events reach a clinician connected
		// to any of them (PostgreSQL LISTEN/NOTIFY; docs/operations.md).
		a.live.StartRelay(ctx, liveRelay{st}, func(err error) { log.Error("live events: relay", "err", err) })
		go st.Listen(ctx, liveChannel, a.live.Deliver, a.live.Resync, func(err error) {
			log.Warn("live events: listener connection lost; reconnecting, then streams re-read", "err", err)
		})
		// … and a sign-out on one ends the session on all of them at once.
		shareRevocations(ctx, st, a.accounts, log)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		a.close(context.Background())
		return err
	}
	srv := &http.Server{Handler: a.web.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10}
	url := "http://" + ln.Addr().String()
	if *withDemo {
		if err := printDemoLogins(ctx, a, stdout); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "countycare %s serving %s on %s\n", version, st.Redacted(), url)
	log.Info("serving", "url", url, "db", st.Redacted())
	logReplication(ctx, st, log)

	// The scheduled duties run on one replica at a time: the holder of the
	// scheduler lease (issue 15; docs/operations.md). Deadlines live in the
	// database and are judged by its clock (store.Store.Now), so whatever fell
	// due while no replica held the lease escalates on its holder's first tick.
	go clockSync(ctx, st, log)
	sched := &scheduler{st: st, holder: replicaID(), ttl: *leaseTTL, log: log, duties: []func(context.Context){
		func(ctx context.Context) {
			a.consult.RunScheduler(ctx, time.Second, func(err error) { log.Error("consultation scheduler", "err", err) })
		},
		// Critical values escalate on the same durable pattern.
		func(ctx context.Context) {
			a.critical.RunScheduler(ctx, 5*time.Second, func(err error) { log.Error("critical-value scheduler", "err", err) })
		},
		// Reading due times: overdue studies escalate (center heads and the
		// holding reader are messaged) once per missed target.
		func(ctx context.Context) {
			a.readflow.RunScheduler(ctx, 5*time.Second, func(err error) { log.Error("reading scheduler", "err", err) })
		},
		// Messages leave through the outbox: the SMS provider of
		// --sms-config, or LogSender without one (its goroutines end with
		// the duty's context when the lease is lost).
		func(ctx context.Context) {
			startOutbox(ctx, st, a.live, smsCfg, log)
			<-ctx.Done()
		},
	}}
	jobs := append(housekeeping(a, acfg, *anchorEvery), scheduledJobs(a, *lowStockEvery, *chatPurgeEvery, *uploadSweepEvery, *watchEvery, *figuresEvery, *specimenEvery, st.Now)...)
	jobs = append(jobs, fhirFlags.jobs(a)...)
	for _, j := range jobs {
		sched.duties = append(sched.duties, func(ctx context.Context) { j.loop(ctx, log, st, st.Now) })
	}
	if *anchorEvery > 0 {
		logAuditAnchor(ctx, a.st, log)
	}
	schedDone := make(chan struct{})
	go func() { sched.run(ctx); close(schedDone) }()
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	var msrv *http.Server
	if *metricsAddr != "" {
		mln, err := net.Listen("tcp", *metricsAddr)
		if err != nil {
			srv.Close()
			a.close(context.Background())
			return fmt.Errorf("serve: --metrics-addr: %w", err)
		}
		msrv = &http.Server{Handler: a.web.MetricsHandler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 10 * time.Second,
			WriteTimeout: 30 * time.Second, MaxHeaderBytes: 16 << 10}
		log.Info("serving metrics", "url", "http://"+mln.Addr().String()+"/metrics")
		go func() { errc <- msrv.Serve(mln) }()
	}
	select {
	case err := <-errc:
		a.close(context.Background())
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Error("shutdown", "err", err)
	}
	if msrv != nil {
		msrv.Shutdown(sctx)
	}
	<-schedDone // duties stopped and the lease released before the audit queue closes
	if err := a.close(sctx); err != nil {
		log.Error("audit flush at shutdown", "err", err)
	}
	if *anchorEvery > 0 {
		logAuditAnchor(sctx, a.st, log)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func envDuration(k string, def time.Duration) time.Duration {
	if v := os.Getenv(k); v != "" {
		if d, err := time.ParseDuration(v); err == nil {
			return d
		}
	}
	return def
}

// printDemoLogins lists the demo accounts (one per role) with the demo password.
func printDemoLogins(ctx context.Context, a *app, w io.Writer) error {
	accs, err := a.st.Accounts(ctx, 100)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\nDemo sign-ins (password %q unless changed):\n", demo.DefaultPassword)
	// One per role, the first made (the demo's own sign-in for it); the
	// demo also makes accounts for every reader who signs its reports.
	seen := map[care.Role]bool{}
	more := 0
	sort.SliceStable(accs, func(i, j int) bool { return accs[i].ID < accs[j].ID })
	for _, x := range accs {
		if x.Role == care.RoleReader && strings.HasPrefix(x.Username, "lab.") {
			// The county lab's reader (specimens), labelled apart: the
			// role column keeps one sign-in per role.
			fmt.Fprintf(w, "  %-20s %-32s %s, %s\n", "reader/lab", x.Username, x.PersonName, x.InstitutionName)
			continue
		}
		if seen[x.Role] {
			more++
			continue
		}
		seen[x.Role] = true
		fmt.Fprintf(w, "  %-20s %-32s %s, %s\n", x.Role, x.Username, x.PersonName, x.InstitutionName)
	}
	if more > 0 {
		fmt.Fprintf(w, "  (and %d more accounts: the administrator's account list shows them)\n", more)
	}
	fmt.Fprintln(w)
	return nil
}

// housekeeping is serve's own periodic jobs: stale sessions (and sign-in
// failures older than a device cookie, sign-in codes a day past expiry) deleted every 5 minutes, the
// planner's statistics refreshed every hour, and the audit trail's head
// logged as an anchor every anchorEvery (0: not).
func housekeeping(a *app, cfg account.Config, anchorEvery time.Duration) []job {
	jobs := []job{
		{name: "stale sessions", every: 5 * time.Minute, run: func(ctx context.Context) ([]any, error) {
			now := a.st.Now()
			n, err := a.st.DeleteStaleSessions(ctx, now.Add(-cfg.IdleTimeout), now)
			if err != nil {
				return nil, err
			}
			// Counted sign-in failures outlive no device cookie.
			f, err := a.st.PurgeAuthFailures(ctx, now.Add(-account.DeviceCookieLifetime))
			if err != nil {
				return nil, err
			}
			// One-time sign-in codes are kept a day after they expire (the
			// refusal of a late one can still say "expired").
			c, err := a.st.PurgeSigninCodes(ctx, now.Add(-24*time.Hour))
			return []any{"deleted", n, "failures purged", f, "codes purged", c}, err
		}},
		{name: "optimize", every: time.Hour, run: func(ctx context.Context) ([]any, error) { return nil, a.st.Optimize(ctx) }},
	}
	if anchorEvery > 0 {
		jobs = append(jobs, job{name: "audit anchor", every: anchorEvery, run: func(ctx context.Context) ([]any, error) {
			seq, hash, err := a.st.AuditHead(ctx)
			return []any{"seq", seq, "hash", hash, "anchor", fmt.Sprintf("%d:%s", seq, hash)}, err
		}})
	}
	return jobs
}

// clockSync measures the database's clock against this replica's at start
// and every 30 seconds (store.Store.SyncClock): the services' clock is
// the database's, so deadlines set on one replica fall due at the same
// moment on all of them whatever their own clocks say.
func clockSync(ctx context.Context, st *store.Store, log *slog.Logger) {
	t := time.NewTicker(30 * time.Second)
	defer t.Stop()
	for {
		off, err := st.SyncClock(ctx)
		if err != nil && ctx.Err() == nil {
			log.Error("database clock", "err", err)
		} else if off > time.Second || off < -time.Second {
			log.Warn("this server's clock differs from the database's; the database's is used", "offset", off.String())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// logAuditAnchor logs the audit trail's head at INFO as an anchor: the
// last row's sequence number and hash, and both as SEQ:HASH for
// verify-audit --expect. Shipped to another system (the log collector, a
// ticket, paper), an anchor lets verify-audit detect rows removed or
// rewritten up to that row even by someone holding the audit key.
func logAuditAnchor(ctx context.Context, st *store.Store, log *slog.Logger) {
	seq, hash, err := st.AuditHead(ctx)
	if err != nil {
		log.Error("audit anchor: read head", "err", err)
		return
	}
	log.Info("audit anchor", "seq", seq, "hash", hash, "anchor", fmt.Sprintf("%d:%s", seq, hash))
}

// parseResponseMinutes reads "routine=10,urgent=10,emergency=5".
func parseResponseMinutes(v string) (map[consult.Urgency]int, error) {
	out := consult.DefaultConfig().ResponseMinutes
	for _, kv := range strings.Split(v, ",") {
		k, m, ok := strings.Cut(strings.TrimSpace(kv), "=")
		n, err := strconv.Atoi(m)
		u := consult.Urgency(k)
		if !ok || err != nil || n < 1 || n > 24*60 || (u != consult.Routine && u != consult.Urgent && u != consult.Emergency) {
			return nil, fmt.Errorf("serve: --consult-response %q: want routine=M,urgent=M,emergency=M with 1–1440 minutes", v)
		}
		out[u] = n
	}
	return out, nil
}

// job is a periodic task of serve: it runs every `every`, first one
// period after start, and logs what it did (msg is its name) or its error.
type job struct {
	name  string
	every time.Duration
	run   func(ctx context.Context) ([]any, error) // log attributes of a run
	soon  bool                                     // a job that never ran runs at once, not a period after it was scheduled
}

// scheduledJobs are serve's periodic housekeeping jobs (issue 18): the
// low-stock scan of every institution (pharmacy.ScanLowStock) and the
// purge of online-visit chat past its 3-year retention (online.Purge,
// 互联网诊疗监管细则 2022); the sweep of resumable uploads past their
// expiry (upload.Sweep, issue 13); and the poverty watch's scan for
// households over their line (povertywatch.Scan, issue 14); the specimen
// sweep for tubes not scanned at their next step in time (specimen.Sweep,
// issue 17); the expert sessions' day-before text reminders
// (outreach.Service.Remind, issue 17: each booking reminded once). A
// period of 0 leaves a job out.
func scheduledJobs(a *app, lowStockEvery, chatPurgeEvery, uploadSweepEvery, watchEvery, figuresEvery, specimenEvery time.Duration, now func() time.Time) []job {
	var jobs []job
	if specimenEvery > 0 {
		jobs = append(jobs, job{name: "specimen sweep", every: specimenEvery, run: func(ctx context.Context) ([]any, error) {
			n, err := a.specimens.Sweep(ctx)
			return []any{"alerted", n}, err
		}})
	}
	if a != nil && a.surveyEvery > 0 {
		jobs = append(jobs, job{name: "survey invitations", every: a.surveyEvery, run: func(ctx context.Context) ([]any, error) {
			n, err := a.surveys.Invite(ctx, 5000)
			return []any{"invited", n}, err
		}})
	}
	if a != nil && a.outreachRemindEvery > 0 {
		jobs = append(jobs, job{name: "outreach reminders", every: a.outreachRemindEvery, run: func(ctx context.Context) ([]any, error) {
			r, err := a.outreach.Remind(ctx)
			return []any{"due", r.Due, "queued", r.Queued, "no_mobile", r.NoPhone}, err
		}})
	}
	if uploadSweepEvery > 0 {
		jobs = append(jobs, job{name: "upload sweep", every: uploadSweepEvery, run: func(ctx context.Context) ([]any, error) {
			n, err := a.uploads.Sweep(ctx)
			return []any{"deleted", n}, err
		}})
	}
	if lowStockEvery > 0 {
		jobs = append(jobs, job{name: "low-stock scan", every: lowStockEvery, run: func(ctx context.Context) ([]any, error) {
			n, queued, err := a.pharmacy.ScanLowStock(ctx, care.Actor{Username: "serve:low-stock-scan", Role: care.RoleAdmin})
			return []any{"institutions", n, "alerts", queued}, err
		}})
	}
	if chatPurgeEvery > 0 {
		jobs = append(jobs, job{name: "chat purge", every: chatPurgeEvery, run: func(ctx context.Context) ([]any, error) {
			before := now().AddDate(-3, 0, 0) // online.ChatRetention: three calendar years
			n, err := a.online.Purge(ctx, care.Actor{Username: "serve:chat-purge", Role: care.RoleAdmin}, before)
			return []any{"deleted", n, "before", before.UTC().Format(time.RFC3339)}, err
		}})
	}
	if watchEvery > 0 {
		jobs = append(jobs, job{name: "poverty watch", every: watchEvery, run: func(ctx context.Context) ([]any, error) {
			t, err := a.orgs.Tree(ctx)
			if err != nil {
				return nil, err
			}
			year, raised := care.Today(now()).Year, 0
			seen := map[string]bool{}
			for _, in := range t.Roots() {
				if in.CountyCode == "" || seen[in.CountyCode] {
					continue
				}
				seen[in.CountyCode] = true
				n, err := a.watch.Scan(ctx, in.CountyCode, year)
				if err != nil {
					return []any{"county", in.CountyCode}, err
				}
				raised += n
			}
			return []any{"year", year, "alerts", raised}, nil
		}})
	}
	if figuresEvery > 0 {
		jobs = append(jobs, job{name: "dashboard figures", every: figuresEvery, soon: true, run: func(ctx context.Context) ([]any, error) {
			days, periods, err := keepDashboardFigures(ctx, a, care.Today(now()))
			return []any{"family_days", days, "periods", periods}, err
		}})
	}
	return jobs
}

// keepDashboardFigures is the scheduler's "dashboard figures" duty (issue
// 14 §1, docs/dashboard.md): for every county, the family-doctor figures
// of the days family.SnapshotDue names (today, and the month ends not kept
// yet), then the dashboards of the periods kpi.KeptDue names, which read
// those figures — so that a page view reads kept rows instead of counting.
func keepDashboardFigures(ctx context.Context, a *app, today care.Date) (days, periods int, err error) {
	t, err := a.orgs.Tree(ctx)
	if err != nil {
		return 0, 0, err
	}
	// Prescriptions signed before migration 0051 get their monitoring
	// classes by the formulary first (the prescribing group counts
	// classified ones only); a no-op once every one is classified.
	if _, err := a.st.ClassifyPrescriptions(ctx, a.rx.KB.Classify); err != nil {
		return 0, 0, err
	}
	seen := map[string]bool{}
	for _, in := range t.Roots() {
		if in.CountyCode == "" || seen[in.CountyCode] {
			continue
		}
		seen[in.CountyCode] = true
		have, err := a.st.SnapshotDays(ctx, in.CountyCode, today.AddDays(-31*(family.SnapshotBackMonths+1)), today)
		if err != nil {
			return days, periods, err
		}
		for _, day := range family.SnapshotDue(today, have) {
			if _, err := a.family.SnapshotDay(ctx, in.CountyCode, day); err != nil {
				return days, periods, fmt.Errorf("county %s day %s: %w", in.CountyCode, day, err)
			}
			days++
		}
		if in.Kind != org.KindCounty {
			continue
		}
		n, err := a.dashboard.Keep(ctx, care.Actor{Username: "serve:dashboard-figures", CountyCode: in.CountyCode}, today)
		periods += n
		if err != nil {
			return days, periods, fmt.Errorf("county %s dashboards: %w", in.CountyCode, err)
		}
	}
	return days, periods, nil
}

// loop runs the job every period until ctx ends. When it last ran is kept
// in the database (store.Store.SetDutyRun), so a replica that takes the
// scheduler over runs it when its period is up, not a period after the
// takeover, nor at once again; a job that never ran first runs one period
// after it was first scheduled (at once if it is soon).
func (j job) loop(ctx context.Context, log *slog.Logger, runs leaseStore, now func() time.Time) {
	for {
		last, err := runs.DutyLastRun(ctx, j.name)
		if err == nil && last.IsZero() {
			last = now()
			if j.soon {
				last = last.Add(-j.every)
			}
			err = runs.SetDutyRun(ctx, j.name, last)
		}
		wait := j.every
		if err != nil {
			if ctx.Err() == nil {
				log.Error(j.name, "err", err)
			}
		} else {
			wait = last.Add(j.every).Sub(now())
		}
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		if err != nil {
			continue
		}
		if err := runs.SetDutyRun(ctx, j.name, now()); err != nil {
			if ctx.Err() == nil {
				log.Error(j.name, "err", err)
			}
			continue
		}
		attrs, err := j.run(ctx)
		if err != nil {
			if ctx.Err() == nil {
				log.Error(j.name, append(attrs, "err", err)...)
			}
			continue
		}
		log.Info(j.name, attrs...)
	}
}

// logReplication says at start whether a COMMIT on PostgreSQL waits for a
// standby: without it a failover may lose acknowledged writes
// (docs/operations.md, "Province deployment").
func logReplication(ctx context.Context, st *store.Store, log *slog.Logger) {
	r, ok, err := st.Replication(ctx)
	switch {
	case err != nil:
		log.Warn("could not read the database's replication settings", "err", err)
	case !ok:
	case r.Synchronous():
		log.Info("writes are acknowledged once on the synchronous standby", "synchronous_commit", r.SynchronousCommit, "synchronous_standby_names", r.StandbyNames)
	default:
		log.Warn("writes are acknowledged before any standby has them: a failover may lose acknowledged writes (set Patroni's synchronous_mode, keep synchronous_commit = on)",
			"synchronous_commit", r.SynchronousCommit, "synchronous_standby_names", r.StandbyNames)
	}
}

// loadBoundaries reads serve --boundaries ("": none).
func loadBoundaries(path string) (*kpi.Boundaries, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--boundaries: %w", err)
	}
	defer f.Close()
	b, err := kpi.LoadBoundaries(f)
	if err != nil {
		return nil, fmt.Errorf("--boundaries %s: %w", path, err)
	}
	return b, nil
}
