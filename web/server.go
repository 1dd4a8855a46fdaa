// Package web is countycare's HTTP server: the HTML pages (Simplified
// Chinese by default, English on request), the JSON API under /api/v1,
// /healthz and /metrics. Every route is registered with an access policy;
// a request the policy refuses never reaches its handler. The package
// never imports the database: it receives the services and a small Store
// interface, so its tests run on any implementation.
package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"countycare/account"
	"countycare/appraisal"
	"countycare/audit"
	"countycare/care"
	"countycare/childhealth"
	"countycare/chronic"
	"countycare/consult"
	"countycare/critical"
	"countycare/elderly"
	"countycare/family"
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
	"countycare/survey"
	"countycare/upload"
	"countycare/villagesync"
)

// Store is what the web layer reads directly (listings that need no
// domain rule beyond the route's policy).
type Store interface {
	Ping(ctx context.Context) error
	SearchAudit(ctx context.Context, f audit.Filter) ([]audit.Event, error)
	VerifyAudit(ctx context.Context, key []byte) (*audit.Verifier, error)
	Departments(ctx context.Context, institutionID int64) ([]org.Department, error)
	Practitioners(ctx context.Context, f org.PractitionerFilter) ([]org.Practitioner, error)
	Practitioner(ctx context.Context, id int64) (*org.Practitioner, error)
	Accounts(ctx context.Context, limit int) ([]account.Summary, error)
	ResidentCounts(ctx context.Context, county string, day care.Date) ([]resident.VillageCounts, error)
	// ResidentAccount returns a resident's account (ENOTFOUND if none).
	ResidentAccount(ctx context.Context, residentID int64) (*account.Account, error)
	// SigninConsent returns the consent behind a resident's account (ENOTFOUND if none recorded).
	SigninConsent(ctx context.Context, residentID int64) (*account.Consent, error)
}

// Config is the server's configuration, read once in cmd.
type Config struct {
	SecureCookies bool   // set Secure on cookies (behind TLS)
	MetricsToken  string // bearer token for /metrics; without one the main listener does not serve it (see MetricsHandler)
	MaxBodyBytes  int64  // default 1 MiB
	DemoBanner    bool   // show "demonstration data" on every page
	FontPath      string // TrueType font for PDFs (default DefaultFontPath)
	// Boundaries are the county's township and village outlines for the
	// dashboard's map (serve --boundaries); nil: the schematic tiles only.
	Boundaries *kpi.Boundaries
	// ICEServers is the RTCIceServer list (JSON) video calls use, e.g.
	// [{"urls":"stun:stun.example.cn:3478"}]; empty: none, for calls on
	// the county's network where host candidates reach each other.
	ICEServers string
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is
	// believed (serve --trusted-proxies): the client's address (sign-in
	// limiter, sessions, audit detail) is then the rightmost untrusted hop.
	TrustedProxies []netip.Prefix
}

// Deps are the services the server calls.
type Deps struct {
	Residents *resident.Service
	Orgs      *org.Service
	Accounts  *account.Service
	Chronic   *chronic.Service
	Consult   *consult.Service
	Live      *Broker // live events to browsers (SSE); may be nil
	Family    *family.Service
	Points    *points.Service
	Referral  *referral.Service
	Settle    *settle.Service
	Window    *settle.Window
	Reading   *reading.Service
	Viewer    *reading.Viewer         // the ECG and image viewers
	Imaging   *reading.ImagingService // DICOM uploads from the pages and the API
	DICOMweb  *reading.DICOMweb       // STOW/QIDO/WADO-RS, device credentials, resident imaging lists
	ReadFlow  *reading.Workflow       // the reading workflow: worklists, reports, indicators
	KeyImages *reading.KeyImages      // key images of imaging studies, shown in their reports
	Store     Store
	Audit     audit.Recorder
	AuditKey  []byte
	Log       *slog.Logger
	Now       func() time.Time

	// Prescription review: the engine and signing, queue, dispensing.
	Rx            *rx.Engine
	Prescriptions *rx.Service

	// Lab results, critical-value alerts, clinic photos and fetal traces.
	Labs     *lab.Service
	Critical *critical.Service
	Exams    *reading.ExamService
	// Online follow-up visits (internet hospital).
	Online *online.Service
	// Formulary stock, supply orders, dispensing from stock, delivery.
	Pharmacy *pharmacy.Service
	// The watch on households falling back into poverty through illness.
	PovertyWatch *povertywatch.Service
	// The major-illness special-treatment register (大病专项救治).
	Special *povertywatch.Special
	// Specimens from villages to the county lab (required by its routes).
	Specimens *specimen.Service
	// Maternal and child health management (required by its routes).
	Maternal *maternal.Service
	Children *childhealth.Service
	// Household screening campaigns and suspected cases (required by its routes).
	Screening *screening.Service
	// Elderly health management, 65+ (required by its routes).
	Elderly *elderly.Service
	// Devices of health huts and clinics and their readings (required by its routes).
	Huts *huts.Service
	// The sterile supply center's treatment packs (required by its routes).
	Sterile *sterile.Service
	// Expert sessions in townships and multi-site practice (required by its routes).
	Outreach *outreach.Service
	// Health education and the double prescription (required by its routes).
	HealthEdu *healthedu.Service
	// Home visits (送医送护) and the bedridden and disabled (required by its routes).
	HomeVisits *homevisit.Service
	// The county dashboard; nil: one over Chronic, Family and Referral
	// with the default targets (kpi.DefaultTargets).
	Dashboard *kpi.Service
	// The performance appraisal; nil: one over Dashboard with the default
	// rules (appraisal.DefaultRules).
	Appraisal *appraisal.Service
	// Resident surveys; nil: their routes are not served.
	Surveys *survey.Service
	// Resumable uploads of ECG and DICOM files (tus 1.0); nil: their routes answer 404.
	Uploads *upload.Service
	// Proxy grants: guardians and family members who see a resident's record.
	Proxies *proxy.Service
	// The resident's own record on /me.
	MyRecord *myrecord.Service
	// The offline village app's sync (docs/village-app.md); nil: its routes answer 404.
	Sync *villagesync.Service
	// SMART Backend Services system clients: their registration pages and
	// the bearer tokens of API routes (h_systems.go); nil: neither.
	Systems *smart.Service
}

// Server serves countycare over HTTP.
type Server struct {
	Deps
	cfg     Config
	mux     *http.ServeMux
	routes  []Route
	tmpl    *templates
	static  *staticFiles
	msgs    *catalogue
	metrics *metrics
	reg     *prometheus.Registry

	// assertionRoutes are the routes whose request carries its own signed
	// credential (the SMART token endpoint): a form body, no session, no CSRF.
	assertionRoutes map[string]bool

	font *pdfFonts // the PDF fonts, nil if unavailable

	statsMu    sync.Mutex
	statsCache map[string]statsEntry // county → cached aggregate counts
}

// New builds the server and registers every route.
func New(cfg Config, d Deps) (*Server, error) {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	s := &Server{Deps: d, cfg: cfg, mux: http.NewServeMux(), reg: prometheus.NewRegistry()}
	if s.Dashboard == nil {
		s.Dashboard = &kpi.Service{Chronic: d.Chronic, Family: d.Family, Referral: d.Referral, Orgs: d.Orgs, Targets: kpi.DefaultTargets(), Audit: d.Audit, Now: d.Now}
		if d.Consult != nil { // a nil *Service in the interface would be called
			s.Dashboard.Consult = d.Consult
		}
		if d.Critical != nil {
			s.Dashboard.Critical, s.Dashboard.CriticalRules = d.Critical, d.Critical.Config
		}
		if rs, ok := d.Store.(kpi.RecordSource); ok {
			s.Dashboard.RecordStore = rs
		}
		if ss, ok := d.Store.(kpi.SettlementSums); ok {
			s.Dashboard.Settle = ss
		}
		if ps, ok := d.Store.(kpi.PrescriptionSums); ok {
			s.Dashboard.Prescriptions = ps
		}
		if cm, ok := d.Store.(kpi.CaseMixSums); ok && d.Window != nil && d.Window.Weights != nil {
			s.Dashboard.CaseMix, s.Dashboard.DRGWeights = cm, d.Window.Weights.Weights
		}
		if ts, ok := d.Store.(kpi.TurnaroundSums); ok {
			s.Dashboard.Turnaround = ts
		}
		if ps, ok := d.Store.(kpi.TeamPointsSource); ok {
			s.Dashboard.Points = ps
		}
		if d.Chronic != nil {
			s.Dashboard.ChronicRules = d.Chronic.Config
		}
		if d.Consult != nil {
			s.Dashboard.ConsultRules = d.Consult.Config
		}
	}
	if s.Appraisal == nil {
		s.Appraisal = &appraisal.Service{Boards: s.Dashboard, Rules: appraisal.DefaultRules(), Audit: d.Audit}
		if d.Surveys != nil {
			s.Appraisal.Surveys = d.Surveys
		}
	}
	var err error
	if s.msgs, err = loadCatalogue(); err != nil {
		return nil, err
	}
	if s.static, err = loadStatic(); err != nil {
		return nil, err
	}
	if s.tmpl, err = loadTemplates(s); err != nil {
		return nil, err
	}
	s.metrics = newMetrics(s.reg)
	s.loadFont()
	s.registerRoutes()
	return s, nil
}

// Handler returns the root handler.
func (s *Server) Handler() http.Handler {
	cop := http.NewCrossOriginProtection()
	return compress(cop.Handler(s.mux))
}

// MetricsHandler serves GET /metrics alone, for a listener of its own
// (serve --metrics-addr) that only the monitoring network reaches. With a
// metrics token configured it is required there too; anything else is 404.
func (s *Server) MetricsHandler() http.Handler {
	prom := promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setSecurityHeaders(w.Header())
		if r.URL.Path != "/metrics" || (r.Method != http.MethodGet && r.Method != http.MethodHead) ||
			(s.cfg.MetricsToken != "" && !s.opsAllowed(r)) {
			http.NotFound(w, r)
			return
		}
		prom.ServeHTTP(w, r)
	})
}

// Routes returns every registered route with its policy (for the
// deny-by-default test and the docs).
func (s *Server) Routes() []Route { return append([]Route(nil), s.routes...) }

func newRequestID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}
