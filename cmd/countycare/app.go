package main

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"countycare/account"
	"countycare/appraisal"
	"countycare/audit"
	"countycare/bulkdata"
	"countycare/childhealth"
	"countycare/chronic"
	"countycare/consult"
	"countycare/critical"
	"countycare/ecg"
	"countycare/elderly"
	"countycare/family"
	"countycare/fhir"
	"countycare/healthedu"
	"countycare/homevisit"
	"countycare/huts"
	"countycare/kpi"
	"countycare/lab"
	"countycare/maternal"
	"countycare/myrecord"
	"countycare/online"
	"countycare/org"
	"countycare/outreach"
	"countycare/pharmacy"
	"countycare/points"
	"countycare/povertywatch"
	"countycare/proxy"
	"countycare/reading"
	"countycare/referral"
	"countycare/resident"
	"countycare/rx"
	"countycare/screening"
	"countycare/settle"
	"countycare/smart"
	"countycare/specimen"
	"countycare/sterile"
	"countycare/store"
	"countycare/survey"
	"countycare/upload"
	"countycare/villagesync"
	"countycare/web"
)

// app is the wired platform: services over one store, the audit writer
// and the web server. serve and bench build it the same way.
type app struct {
	st       *store.Store
	orgs     *org.Service
	res      *resident.Service
	accounts *account.Service
	proxies  *proxy.Service
	myrecord *myrecord.Service
	chronic  *chronic.Service
	consult  *consult.Service
	live     *web.Broker
	family   *family.Service
	points   *points.Service
	referral *referral.Service
	settle   *settle.Service
	window   *settle.Window
	reading  *reading.Service
	imaging  *reading.ImagingService
	dicomweb *reading.DICOMweb
	readflow *reading.Workflow // the reading workflow (worklists, reports, escalation)
	audit    *audit.Writer
	web      *web.Server

	rx            *rx.Engine // prescription review
	prescriptions *rx.Service

	labs       *lab.Service          // lab results
	critical   *critical.Service     // critical-value alerts
	exams      *reading.ExamService  // clinic photos, fetal heart traces
	online     *online.Service       // online follow-up visits
	pharmacy   *pharmacy.Service     // stock, supply orders, dispensing, delivery
	watch      *povertywatch.Service // households falling back into poverty through illness
	special    *povertywatch.Special // the major-illness special-treatment register
	specimens  *specimen.Service     // specimens from villages to the county lab
	maternal   *maternal.Service     // maternal health management (孕产妇健康管理)
	screening  *screening.Service    // household screening for the "2+3" diseases (两慢三病筛查)
	healthedu  *healthedu.Service    // health education and the double prescription (健康教育, 双处方)
	homevisits *homevisit.Service    // home visits (送医送护)
	children   *childhealth.Service  // 0–6 child health management
	elderly    *elderly.Service      // health management of residents aged 65+ (老年人健康管理)
	huts       *huts.Service         // health huts' devices and their readings
	sterile    *sterile.Service      // the sterile supply center's treatment packs
	outreach   *outreach.Service     // expert sessions in townships, multi-site practice
	dashboard  *kpi.Service          // the county dashboard (targets: serve --kpi-targets)
	appraisal  *appraisal.Service    // the performance appraisal (rules: serve --appraisal-config)
	surveys    *survey.Service       // resident surveys (serve --survey-config)
	// surveyEvery is how often survey invitations are made (serve --survey-invite-every; 0: never).
	surveyEvery time.Duration
	// outreachRemindEvery is how often the expert sessions' day-before
	// reminders are looked for (serve --outreach-remind-every; 0: never).
	outreachRemindEvery time.Duration
	uploads             *upload.Service      // resumable ECG and DICOM uploads (tus)
	sync                *villagesync.Service // the offline village app's sync (serve --village-wipe-after)
	systems             *smart.Service       // SMART Backend Services system clients
	fhir                *fhir.Server         // the FHIR face; its exports run in scheduledJobs
}

// newApp wires the platform. rxe is the prescription review engine; nil
// loads the knowledge base embedded in the binary.
func newApp(st *store.Store, key []byte, log *slog.Logger, acfg account.Config, wcfg web.Config, rules points.Rules, rcfg referral.Config, rxe *rx.Engine, aj ...auditJournal) (*app, error) {
	// The database's clock (serve keeps it measured: clockSync), so that
	// every replica sets and judges deadlines by the same clock.
	now := st.Now
	a := &app{st: st}
	a.audit = audit.NewWriter(st, log, now, 4096)
	if len(aj) > 0 && aj[0].path != "" {
		// Before serving: replay what the last run journaled but did not
		// insert, then journal reads in front of the database (issue 18).
		if err := a.audit.OpenJournal(context.Background(), aj[0].path, aj[0].mode); err != nil {
			return nil, err
		}
	}
	a.audit.Start()
	a.orgs = &org.Service{Repo: st, Now: now}
	a.res = &resident.Service{Repo: st, Orgs: a.orgs, Audit: a.audit, Now: now}
	a.accounts = &account.Service{Repo: st, Config: acfg, Now: now, Orgs: a.orgs, DeviceKey: account.DeviceKeyFrom(key)}
	a.points = &points.Service{Repo: st, Residents: a.res, Rules: rules, Audit: a.audit, Now: now}
	a.chronic = &chronic.Service{Repo: st, Residents: a.res, Orgs: a.orgs, Audit: a.audit, Config: chronic.DefaultConfig(), Now: now, Points: a.points}
	st.SetChronicConfig(a.chronic.Config) // the per-unit counters count "controlled" by the same targets
	a.live = web.NewBroker()
	a.consult = &consult.Service{Repo: st, Residents: a.res, Orgs: a.orgs, Audit: a.audit, Live: a.live, Config: consult.DefaultConfig(), Now: now}
	a.family = &family.Service{Repo: st, Residents: a.res, Orgs: a.orgs, Staff: st, Points: a.points, Days: st, Audit: a.audit, Now: now}
	a.referral = &referral.Service{Repo: st, Residents: a.res, Orgs: a.orgs, Staff: st, Audit: a.audit, Config: rcfg, Now: now}
	a.settle = &settle.Service{Repo: st, Residents: a.res, Orgs: a.orgs, Audit: a.audit, Now: now}
	a.window = &settle.Window{Repo: st, Residents: a.res, Orgs: a.orgs, Weights: settle.ExampleWeights(), Now: now}
	if rxe == nil {
		var err error
		if rxe, err = rx.NewEngine(); err != nil {
			a.audit.Close(context.Background())
			return nil, err
		}
	}
	a.rx = rxe
	a.prescriptions = &rx.Service{Repo: st, Engine: rxe, Residents: a.res, Orgs: a.orgs, Audit: a.audit, Now: now}
	a.proxies = &proxy.Service{Repo: st, Residents: a.res, Audit: a.audit, Now: now, Forget: a.accounts.SessionsChanged}
	a.myrecord = &myrecord.Service{Repo: st, Residents: a.res, Audit: a.audit, Now: now}
	a.online = &online.Service{Repo: st, Residents: a.res, Staff: st, Accounts: a.accounts, Rx: a.prescriptions, Audit: a.audit, Now: now}
	prices, err := pharmacy.ExamplePrices(rxe.KB)
	if err != nil {
		a.audit.Close(context.Background())
		return nil, err
	}
	a.pharmacy = &pharmacy.Service{Repo: st, Rx: a.prescriptions, KB: rxe.KB, Config: rxe.Config, Prices: prices, Orgs: a.orgs, Residents: a.res,
		Payer: pharmacy.SettlePayer{Settle: a.settle}, Audit: a.audit, Now: now}
	a.reading = &reading.Service{Repo: st, Residents: a.res, Orgs: a.orgs, Audit: a.audit, PreRead: ecg.DefaultPreReadConfig(), Now: now}
	a.critical = &critical.Service{Repo: st, Residents: a.res, Orgs: a.orgs, Staff: st, Audit: a.audit, Live: a.live, Config: critical.DefaultConfig(), Now: now}
	a.labs = &lab.Service{Repo: st, Residents: a.res, Critical: a.critical, Thresholds: critical.DefaultThresholds(), Audit: a.audit, Now: now}
	a.exams = &reading.ExamService{Repo: st, Residents: a.res, Orgs: a.orgs, Critical: a.critical, Audit: a.audit, Now: now}
	a.imaging = &reading.ImagingService{Repo: st, Residents: a.res, Orgs: a.orgs, Now: now}
	a.dicomweb = &reading.DICOMweb{Repo: st, Residents: a.res, Orgs: a.orgs, Audit: a.audit, Now: now}
	a.readflow = &reading.Workflow{Repo: st, Audit: a.audit, Targets: reading.DefaultTargets(), Templates: reading.DefaultTemplates(), Now: now,
		OnError: func(err error) { log.Error("reading workflow", "err", err) }}
	a.readflow.Critical = reading.CriticalAlerts{Service: a.critical} // a signed critical finding alerts the ordering clinic
	a.watch = &povertywatch.Service{Repo: st, Audit: a.audit, Config: povertywatch.DefaultConfig(), Now: now}
	a.special = &povertywatch.Special{Repo: st, Residents: a.res, Orgs: a.orgs, Audit: a.audit, List: povertywatch.DefaultSpecialList(), Now: now}
	a.specimens = &specimen.Service{Repo: st, Residents: a.res, Orgs: a.orgs, Labs: a.labs, Audit: a.audit, Config: specimen.DefaultConfig(), Now: now}
	a.maternal = &maternal.Service{Repo: st, Residents: a.res, Audit: a.audit, Config: maternal.DefaultConfig(), Now: now}
	a.screening = &screening.Service{Repo: st, Residents: a.res, Orgs: a.orgs, Chronic: a.chronic, Atomic: st.Atomic, Audit: a.audit,
		Config: screening.DefaultConfig().FromChronic(a.chronic.Config), Now: now}
	a.children = &childhealth.Service{Repo: st, Residents: a.res, Audit: a.audit, Config: childhealth.DefaultConfig(), Now: now}
	a.elderly = &elderly.Service{Repo: st, Residents: a.res, Audit: a.audit, Config: elderly.DefaultConfig(), Library: elderly.DefaultLibrary(), Now: now,
		Route: a.screening} // suspected cases go to the township (screening.Service.RouteSuspected)
	a.dashboard = &kpi.Service{Chronic: a.chronic, Family: a.family, Referral: a.referral, Consult: a.consult, Critical: a.critical, Orgs: a.orgs, Kept: st, RecordStore: st, Settle: st, CaseMix: st, DRGWeights: a.window.Weights.Weights, Prescriptions: st, Turnaround: st, Points: st, ChronicRules: a.chronic.Config, ConsultRules: a.consult.Config, CriticalRules: a.critical.Config, Targets: kpi.DefaultTargets(), Audit: a.audit, Now: now}
	a.surveys = &survey.Service{Repo: st, Orgs: a.orgs, Audit: a.audit, Config: survey.DefaultConfig(), Key: survey.KeyFrom(key), PublicURL: acfg.PublicURL, Now: now}
	a.huts = &huts.Service{Repo: st, Residents: a.res, Orgs: a.orgs, Alerts: a.critical, Audit: a.audit, Chronic: chronic.DefaultConfig(),
		Config: huts.DefaultConfig(), Key: huts.KeyFrom(key), Now: now}
	a.sterile = &sterile.Service{Repo: st, Residents: a.res, Orgs: a.orgs, Audit: a.audit, Config: sterile.DefaultConfig(), Now: now}
	a.outreach = &outreach.Service{Repo: st, Orgs: a.orgs, Staff: st, Residents: a.res, Audit: a.audit, Config: outreach.DefaultConfig(),
		Forget: a.accounts.SessionsChanged, Now: now}
	eduLib := healthedu.DefaultLibrary()
	a.healthedu = &healthedu.Service{Repo: st, Residents: a.res, Orgs: a.orgs, Audit: a.audit, Config: healthedu.DefaultConfig(), Library: eduLib,
		Editions: &healthedu.Editions{Base: eduLib, Repo: st}, Now: now}
	a.prescriptions.Education = a.healthedu.Editions // the county's edition of the advice library
	a.homevisits = &homevisit.Service{Repo: st, Residents: a.res, Teams: a.family, Orgs: a.orgs, Audit: a.audit, Config: homevisit.DefaultConfig(), Now: now}
	a.appraisal = &appraisal.Service{Boards: a.dashboard, Rules: appraisal.DefaultRules(), Audit: a.audit, Surveys: a.surveys}
	a.uploads = &upload.Service{Repo: st, ECG: a.reading, DICOM: a.imaging, Audit: a.audit, Config: upload.DefaultConfig(), Now: now}
	a.systems = &smart.Service{Store: st, Audit: a.audit, Cfg: smart.DefaultConfig(), Now: now}
	a.sync = &villagesync.Service{Repo: st, Residents: a.res, Chronic: a.chronic, Family: a.family, Screening: a.screening, Audit: a.audit, Config: villagesync.DefaultConfig(), Now: now}
	viewer := &reading.Viewer{Repo: st, Residents: a.res, Audit: a.audit, PreRead: a.reading.PreRead}
	w, err := web.New(wcfg, web.Deps{Residents: a.res, Orgs: a.orgs, Accounts: a.accounts, Proxies: a.proxies, MyRecord: a.myrecord, Chronic: a.chronic, Consult: a.consult, Live: a.live, Family: a.family, Points: a.points, Referral: a.referral, Settle: a.settle, Window: a.window,
		Reading: a.reading, ReadFlow: a.readflow, Viewer: viewer, KeyImages: &reading.KeyImages{Flow: a.readflow, Viewer: viewer, Repo: st, Now: now}, Rx: a.rx, Prescriptions: a.prescriptions, Online: a.online,
		Labs: a.labs, Critical: a.critical, Exams: a.exams, Pharmacy: a.pharmacy, Imaging: a.imaging, DICOMweb: a.dicomweb, PovertyWatch: a.watch, Special: a.special, Specimens: a.specimens, Maternal: a.maternal, Children: a.children, Screening: a.screening,
		Huts: a.huts, Sterile: a.sterile, Outreach: a.outreach, Elderly: a.elderly, HealthEdu: a.healthedu, HomeVisits: a.homevisits,
		Dashboard: a.dashboard, Appraisal: a.appraisal, Surveys: a.surveys, Uploads: a.uploads, Sync: a.sync, Systems: a.systems, Store: st, Audit: a.audit, AuditKey: key, Log: log, Now: now})
	if err != nil {
		a.audit.Close(context.Background())
		return nil, err
	}
	// The FHIR R4 face (issue 12), through the same wrapper, scopes and audit.
	fb := ""
	if acfg.PublicURL != "" {
		fb = strings.TrimRight(acfg.PublicURL, "/") + "/fhir"
	}
	a.fhir = &fhir.Server{Residents: a.res, Orgs: a.orgs, Chronic: a.chronic, Readings: a.readflow, DICOMweb: a.dicomweb, Labs: a.labs, Consult: a.consult, Referral: a.referral, Settle: a.settle, Prescriptions: a.prescriptions, Online: a.online, Family: a.family, Atomic: a.st.Atomic, Base: fb, Now: now,
		Systems: a.systems, Exports: st, ExportCfg: bulkdata.DefaultConfig(), Audit: a.audit, AuditLog: st}
	w.MountFace(a.fhir)
	a.web = w
	return a, nil
}

// auditJournal is where and how the audit writer journals read events
// (serve --audit-journal, --audit-sync); a zero path commits each group to
// the database before its requests are released.
type auditJournal struct {
	path string
	mode audit.SyncMode
}

// auditJournalFor resolves serve's --audit-journal: the flag's path, else
// <db>.audit-journal beside an SQLite file; for PostgreSQL without a path
// there is no journal (synchronous group commit to the database), which
// is logged.
func (c *common) auditJournalFor(path, sync string, log *slog.Logger) (auditJournal, error) {
	mode, err := audit.ParseSyncMode(sync)
	if err != nil {
		return auditJournal{}, err
	}
	if path == "" {
		if p, ok := sqliteFile(c.db); ok {
			path = p + ".audit-journal"
		}
	}
	if path == "" {
		log.Info("audit journal: none (PostgreSQL without --audit-journal): each read waits for its audit row's database commit (group commit)")
	}
	return auditJournal{path: path, mode: mode}, nil
}

// sqliteFile is the file of an sqlite: database URL.
func sqliteFile(db string) (string, bool) {
	if !strings.HasPrefix(db, "sqlite:") {
		return "", false
	}
	p := strings.TrimPrefix(strings.TrimPrefix(db, "sqlite:"), "//")
	p = strings.SplitN(p, "?", 2)[0]
	return p, p != "" && p != ":memory:"
}

// close flushes the audit queue; the caller closes the store.
func (a *app) close(ctx context.Context) error { return a.audit.Close(ctx) }
