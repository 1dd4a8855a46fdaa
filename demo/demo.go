// Package demo generates a synthetic county medical community sized from
// the seed articles (seed 000: 1.02 M people, 206 village clinics, 792
// village doctors; DOMAIN.md): one county of two medical communities, 20
// township centers, the county hospitals with their diagnosis centers,
// partner hospitals upward, staff, one account per role, and residents in
// households with a realistic rural age structure, valid ID numbers,
// poverty categories (about 2 %), disabilities and pregnancies.
//
// The output is deterministic for a seed. Residents are written with
// store.Bulk, so a million take well under a minute on SQLite.
package demo

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/chronic"
	"countycare/elderly"
	"countycare/family"
	"countycare/idcard"
	"countycare/org"
	"countycare/resident"
	"countycare/store"
)

// Config sizes the demo county.
type Config struct {
	Residents      int    // default 20,000
	Seed           uint64 // default 2026
	CountyCode     string // default 411723
	CountyName     string // default 平舆县
	Villages       int    // default 206
	VillageDoctors int    // default 792
	Password       string // password of the demo accounts (default DefaultPassword)
	Visits         int    // settled visits of the current year (default 0)
	FollowUps      int    // chronic follow-ups over the past year; > 0 also fills the registries (default 0; ScaledFollowUps gives the seeds' volume)
	Contracts      int    // residents with a family doctor contract (default 0; packages and teams are always written)
	Consultations  int    // closed remote consultations over the past year (default 0; ScaledConsultations gives the seeds' volume)
	Referrals      int    // up-referrals over the past year, with their redirects, down-referrals and tasks (default 0; ScaledReferrals gives a plausible volume)
	Prescriptions  int    // reviewed prescriptions over the past year (default 0; ScaledPrescriptions gives the seeds' volume)
	ECGReads       int    // ECGs read over the past year, on embedded real samples (default 0; ScaledECGReads gives the seeds' volume)
	ImagingReads   int    // imaging studies read over the past year, on embedded real DICOM files (default 0; ScaledImagingReads)
	SupplyOrders   int    // drug supply orders from clinics to the county over the past year (default 0; ScaledSupplyOrders gives the seeds' volume)
	Specimens      int    // specimens carried from villages to the county lab over the past year (default 0; ScaledSpecimens gives the seeds' volume)
	Pregnancies    int    // pregnancies registered over the past year; > 0 also writes every child under 7 with the year's checks (default 0; ScaledPregnancies gives 1 % of residents)
	HutReadings    int    // health huts' device readings over the past year (default 0; ScaledHutReadings)
	EduSessions    int    // health-education sessions over the past year (default 0; ScaledEduSessions gives the seeds' volume)
	HomeVisits     int    // home visits (送医送护) requested over the past year (default 0; ScaledHomeVisits gives the seeds' volume)
	SterilePacks   int    // sterile packs delivered to clinics over the past year (default 0; ScaledSterilePacks gives the seeds' volume)
	Screening      int    // per cent of each township campaign's target population screened (default 0: no campaigns; ScreeningShare)
	OutreachWeeks  int    // weeks of expert sessions at every township before today (default 0; OutreachWeeksPerYear: the articles' weekly sessions)
	// ElderlyPercent: the percent of residents aged 65+ given a check-up
	// over the past year (default 0: none; ElderlyCoverage gives the
	// articles' 70 %), TCM constitution identification for
	// ElderlyTCMPercent of them.
	ElderlyPercent int
	Now            time.Time
}

// DefaultPassword is the password of every demo account. It is printed
// by `countycare demo` and `make run`; a real installation has no demo accounts.
const DefaultPassword = "Countycare-Demo-2026"

// Login is one demo account.
type Login struct {
	Role        care.Role
	Username    string
	Password    string
	Name        string
	Institution string
}

// Result describes what was generated.
type Result struct {
	Logins       []Login
	Institutions int
	Staff        int
	Households   int
	Residents    int
	Visits       int
	// Chronic disease registries.
	ChronicPatients int
	FollowUps       int
	// Reviewed prescriptions.
	Prescriptions int
	// Drug supply orders to the county (issue #7).
	SupplyOrders int
	// Specimens carried to the county lab (issue 17), and the sign-in of a
	// reader of the county lab (not in Logins, which has one per role).
	Specimens int
	LabLogin  *Login
	// Maternal and child health (issue 17): pregnancies registered over
	// the year, children under 7 with a record, their checks of the year.
	Pregnancies, Children, ChildChecks int
	Screened, SuspectedCases           int
	// Elderly health management (issue 17): check-ups of the year, of
	// which with TCM constitution identification.
	ElderlyCheckups, ElderlyTCM int
	// Health huts' readings and sterile packs (issue 17).
	HutReadings  int
	SterilePacks int
	// Expert sessions in townships and their bookings (issue 17).
	OutreachSessions, OutreachBookings int
	// Health education and home visits (送医送护) with their own records (issue 17).
	EduSessions, DoorToDoor int
	// Family doctors.
	Contracts  int
	HomeVisits int
	// Two-way referral.
	Consultations int
	UpReferrals   int
	DownReferrals int
	Checkups      int
	// Reading centers: studies in metadata over embedded samples.
	ECGReads, ImagingReads int
	Duration               time.Duration
}

func (c *Config) defaults() {
	if c.Residents <= 0 {
		c.Residents = 20000
	}
	if c.Seed == 0 {
		c.Seed = 2026
	}
	if c.CountyCode == "" {
		c.CountyCode = "411723"
	}
	if c.CountyName == "" {
		c.CountyName = "平舆县"
	}
	if c.Villages <= 0 {
		c.Villages = 206
	}
	if c.VillageDoctors <= 0 {
		c.VillageDoctors = 792
	}
	if c.Password == "" {
		c.Password = DefaultPassword
	}
	if c.Now.IsZero() {
		c.Now = time.Now()
	}
}

// at returns when a record dated d was written: hour o'clock China Standard
// Time on that day, and never later than the demo's now — a record dated
// today is not written in the future (a FHIR _since or a "new since" list
// taken now must not find it later).
func (g *gen) at(d care.Date, hour int) time.Time {
	return g.notAfterNow(time.Date(d.Year, d.Month, d.Day, hour, 0, 0, 0, care.Shanghai))
}

// notAfterNow is t, or the demo's now when t is later: what the demo
// writes has happened.
func (g *gen) notAfterNow(t time.Time) time.Time {
	t = t.UTC()
	if t.After(g.now) {
		return g.now
	}
	return t
}

// gen holds the generator's state while it runs.
type gen struct {
	cfg        Config
	rng        *rand.Rand
	b          *store.Bulk
	now        time.Time
	today      care.Date
	nextID     map[string]int64
	surTot     int
	idSeq      map[care.Date]int
	tokens     map[string][]string
	vtoks      []store.BulkToken // the current village's search tokens (flushTokens)
	tokVillage int64
	deptOf     map[string]int64 // the county hospital's department by specialty
	insts      []*org.Institution
	clinics    []*org.Institution
	hosp       *org.Institution
	res        Result

	villageSeq  map[int64]int
	householdSq map[int64]int
	demoVillage *org.Institution
	demoRes     *resident.Resident
	demoWard    *resident.Resident // the demo resident is their proxy (nil: the demo resident lives alone)
	pract       map[care.Role]*org.Practitioner
	linkCount   int
	last        *resident.Resident // the resident written last (for legacy duplicates)
	emit        func(row) error    // hands a generated row to the writer
	batch       []row
	people      []person                      // every resident written (for visits)
	deptDoctors map[int64][]int64             // county hospital department → its doctors (for rosters)
	depts       []int64                       // the lead county hospital's departments
	readers     map[int64][]*org.Practitioner // diagnosis center → its readers (report signers)
	mchWomen    []mchPerson                   // women 20–42 (maternal demo year)
	mchKids     []mchPerson                   // children under 7
	enrolled    map[int64][]chronic.Disease   // residents' active registrations (chronicCare), for screening
	elders      []mchPerson                   // residents 65+ this year (elderly demo year)
	registered  map[int64]elderly.Registered  // active chronic registrations by resident (elderly suspected cases)
	teams       map[int64]*family.Team        // township → its family-doctor team (home visits)
}

func (g *gen) id(table string) int64 {
	g.nextID[table]++
	return g.nextID[table]
}

// Generate fills an empty database with the demo county. It fails if the
// database already has institutions.
func Generate(ctx context.Context, st *store.Store, cfg Config, log *slog.Logger) (*Result, error) {
	cfg.defaults()
	if len(cfg.CountyCode) != 6 {
		return nil, fmt.Errorf("demo: county code %q is not 6 digits", cfg.CountyCode)
	}
	empty, err := st.Empty(ctx)
	if err != nil {
		return nil, err
	}
	if !empty {
		return nil, fmt.Errorf("demo: the database already has an organisation; use a new database")
	}
	start := time.Now()
	g := &gen{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)), now: cfg.Now.UTC(), today: care.Today(cfg.Now),
		nextID: map[string]int64{}, idSeq: map[care.Date]int{}, tokens: map[string][]string{},
		villageSeq: map[int64]int{}, householdSq: map[int64]int{}, pract: map[care.Role]*org.Practitioner{}, deptDoctors: map[int64][]int64{}, deptOf: map[string]int64{},
		readers: map[int64][]*org.Practitioner{}}
	for _, s := range surnames {
		g.surTot += s.w
	}
	// The load allocates rows faster than it keeps them: a lazier collector
	// leaves the second core to generation and writing (1 M residents: a
	// quarter less CPU for 0.5 GB more peak memory; docs/benchmarks.md).
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	visitYear := 0
	err = st.BulkLoad(ctx, func(b *store.Bulk) error {
		g.b = b
		if err := g.organisation(); err != nil {
			return err
		}
		if err := g.staff(); err != nil {
			return err
		}
		if err := g.rosters(); err != nil {
			return err
		}
		log.Info("demo: organisation and staff written", "institutions", len(g.insts), "staff", g.res.Staff)
		if err := g.residents(log); err != nil {
			return err
		}
		if err := g.accounts(); err != nil {
			return err
		}
		sp, err := g.policy()
		if err != nil {
			return err
		}
		if cfg.Visits > 0 {
			log.Info("demo: settling visits", "visits", cfg.Visits)
		}
		if err := g.visits(sp, cfg.Visits); err != nil {
			return err
		}
		visitYear = sp.Year
		if cfg.FollowUps > 0 {
			log.Info("demo: chronic registries and follow-ups", "follow_ups", cfg.FollowUps)
		}
		if err := g.chronicCare(cfg.FollowUps); err != nil {
			return err
		}
		if cfg.Prescriptions > 0 {
			log.Info("demo: reviewed prescriptions", "prescriptions", cfg.Prescriptions)
		}
		if err := g.prescriptions(cfg.Prescriptions); err != nil {
			return err
		}
		if cfg.SupplyOrders > 0 {
			log.Info("demo: drug supply orders", "supply_orders", cfg.SupplyOrders)
		}
		if err := g.supplyOrders(cfg.SupplyOrders); err != nil {
			return err
		}

		if cfg.Specimens > 0 {
			log.Info("demo: specimens to the county lab", "specimens", cfg.Specimens)
		}
		if err := g.specimens(cfg.Specimens); err != nil {
			return err
		}
		if cfg.Pregnancies > 0 {
			log.Info("demo: maternal and child health", "pregnancies", cfg.Pregnancies, "children", len(g.mchKids))
		}
		if err := g.maternalChild(cfg.Pregnancies); err != nil {
			return err
		}
		if cfg.ElderlyPercent > 0 {
			log.Info("demo: elderly check-ups", "residents_65", len(g.elders), "percent", cfg.ElderlyPercent)
		}
		if err := g.elderlyYear(cfg.ElderlyPercent); err != nil {
			return err
		}
		if cfg.HutReadings > 0 || cfg.SterilePacks > 0 {
			log.Info("demo: health huts and sterile packs", "readings", cfg.HutReadings, "packs", cfg.SterilePacks)
		}
		if err := g.huts(cfg.HutReadings); err != nil {
			return err
		}
		if err := g.sterilePacks(cfg.SterilePacks); err != nil {
			return err
		}
		if cfg.Screening > 0 {
			log.Info("demo: screening campaigns", "share_pct", cfg.Screening)
		}
		if err := g.screening(cfg.Screening); err != nil {
			return err
		}
		if cfg.OutreachWeeks > 0 {
			log.Info("demo: expert sessions in townships", "weeks", cfg.OutreachWeeks)
		}
		if err := g.outreach(cfg.OutreachWeeks); err != nil {
			return err
		}
		if cfg.Referrals > 0 {
			log.Info("demo: referrals", "up_referrals", cfg.Referrals)
		}
		if err := g.referrals(cfg.Referrals); err != nil {
			return err
		}
		if err := g.consultations(cfg.Consultations); err != nil {
			return err
		}
		if cfg.ECGReads > 0 || cfg.ImagingReads > 0 {
			log.Info("demo: ECG and imaging reads", "ecg", cfg.ECGReads, "imaging", cfg.ImagingReads)
		}
		t := time.Now()
		if err := g.studies(cfg.ECGReads, cfg.ImagingReads); err != nil {
			return err
		}
		if cfg.ECGReads > 0 || cfg.ImagingReads > 0 {
			log.Info("demo: reads generated", "seconds", time.Since(t).Seconds())
		}
		log.Info("demo: rows generated; last flush, index builds and statistics next", "seconds", time.Since(start).Seconds())
		return nil
	})
	if err != nil {
		return nil, err
	}
	log.Info("demo: bulk load finished (indexes rebuilt)", "seconds", time.Since(start).Seconds())
	if cfg.FollowUps > 0 {
		// The per-year follow-up summaries the indicators read.
		if err := st.RebuildChronicYears(ctx, cfg.CountyCode); err != nil {
			return nil, err
		}
	}
	if cfg.Visits > 0 && visitYear != 0 {
		// The households' yearly out-of-pocket totals the poverty watch reads.
		if err := st.RefreshHouseholdCosts(ctx, cfg.CountyCode, visitYear); err != nil {
			return nil, err
		}
	}
	if err := g.family(ctx, st); err != nil {
		return nil, err
	}
	log.Info("demo: family doctor teams and contracts written", "seconds", time.Since(start).Seconds())
	if err := g.healthEducation(ctx, st, cfg.EduSessions, cfg.HomeVisits); err != nil {
		return nil, err
	}
	if cfg.EduSessions > 0 || cfg.HomeVisits > 0 {
		log.Info("demo: health education and home visits written", "sessions", g.res.EduSessions, "home_visits", g.res.DoorToDoor)
	}
	g.res.Duration = time.Since(start)
	ev := audit.Event{Action: "demo.generate", Outcome: audit.OutcomeOK, Purpose: care.PurposeAdmin,
		Detail: fmt.Sprintf("demo county %s: %d residents, %d households, %d chronic patients, %d follow-ups, seed %d", cfg.CountyCode, g.res.Residents,
			g.res.Households, g.res.ChronicPatients, g.res.FollowUps, cfg.Seed)}
	if err := st.AppendAudit(ctx, []audit.Event{ev}); err != nil {
		return nil, err
	}
	return &g.res, nil
}

func (g *gen) inst(parent *org.Institution, kind org.Kind, name, code, area string) (*org.Institution, error) {
	in := &org.Institution{ID: g.id("inst"), Kind: kind, Level: org.DefaultLevel(kind), Name: name, Code: code, AreaCode: area,
		CountyCode: g.cfg.CountyCode, Active: true, CreatedAt: g.now}
	if parent != nil {
		in.ParentID = parent.ID
	}
	if kind == org.KindPartner {
		in.CountyCode = ""
	}
	g.insts = append(g.insts, in)
	return in, nil
}

func (g *gen) organisation() error {
	c := g.cfg
	county, _ := g.inst(nil, org.KindCounty, c.CountyName, "C"+c.CountyCode, c.CountyCode)
	g.inst(county, org.KindCommission, c.CountyName+"卫生健康委员会", "W"+c.CountyCode, "")
	g.inst(county, org.KindInsurance, c.CountyName+"医疗保障局", "Y"+c.CountyCode, "")
	comm1, _ := g.inst(county, org.KindCommunity, c.CountyName+"人民医院医共体", "G"+c.CountyCode+"01", "")
	comm2, _ := g.inst(county, org.KindCommunity, c.CountyName+"中医院医共体", "G"+c.CountyCode+"02", "")
	g.hosp, _ = g.inst(comm1, org.KindCountyHospital, c.CountyName+"人民医院", "H"+c.CountyCode+"01", "")
	tcm, _ := g.inst(comm2, org.KindCountyHospital, c.CountyName+"中医院", "H"+c.CountyCode+"02", "")
	g.inst(comm1, org.KindCountyHospital, c.CountyName+"妇幼保健院", "H"+c.CountyCode+"03", "")
	comm1.LeadID, comm2.LeadID = g.hosp.ID, tcm.ID
	for i, d := range diagnosisCenters {
		g.inst(g.hosp, org.KindDiagnosis, d.name, fmt.Sprintf("D%s%02d", c.CountyCode, i+1), "")
	}
	sub, _ := g.inst(comm1, org.KindSubCenter, "阳城县域医疗次中心", "S"+c.CountyCode+"01", "")
	// Townships: half in each community; four are central health centers,
	// one of them sits under the sub-center (five-level model, seed 001).
	var tws []*org.Institution
	for i, name := range townships {
		parent, kind := comm1, org.KindTownshipHC
		if i%2 == 1 {
			parent = comm2
		}
		if i%5 == 2 {
			kind = org.KindCentralHC
		}
		if i == 2 {
			parent = sub
		}
		suffix := "卫生院"
		if kind == org.KindCentralHC {
			suffix = "中心卫生院"
		}
		area := fmt.Sprintf("%s%03d", c.CountyCode, 101+i)
		t, _ := g.inst(parent, kind, name+suffix, "T"+area, area)
		tws = append(tws, t)
	}
	for v := 0; v < c.Villages; v++ {
		t := tws[v%len(tws)]
		n := v / len(tws)
		area := fmt.Sprintf("%s%03d", t.AreaCode, 201+n)
		s1 := surnames[g.rng.IntN(30)].s
		var vname string
		if g.rng.IntN(2) == 0 {
			vname = s1 + surnames[g.rng.IntN(30)].s + "村"
		} else {
			vname = s1 + villageSuffixes[g.rng.IntN(len(villageSuffixes))] + "村"
		}
		twName := []rune(t.Name)
		clinic, _ := g.inst(t, org.KindVillageClinic, string(twName[:len(twName)-3])+vname+"卫生室", "V"+area, area)
		if t.Kind == org.KindCentralHC {
			clinic.Name = string(twName[:len(twName)-5]) + vname + "卫生室"
		}
		g.clinics = append(g.clinics, clinic)
	}
	g.inst(nil, org.KindPartner, "河南省人民医院", "P41000001", "")
	city, _ := g.inst(nil, org.KindPartner, "驻马店市中心医院", "P41170001", "")
	city.Level = org.LevelCity
	bj, _ := g.inst(nil, org.KindPartner, "北京协和医院", "P11000001", "")
	bj.Level = org.LevelNational
	for _, in := range g.insts {
		if err := g.b.Institution(in); err != nil {
			return err
		}
	}
	g.demoVillage = g.clinics[0]
	g.res.Institutions = len(g.insts)
	return nil
}

// name draws a Chinese name for sex.
func (g *gen) name(sex idcard.Sex) string {
	w := g.rng.IntN(g.surTot)
	s := surnames[0].s
	for _, x := range surnames {
		if w < x.w {
			s = x.s
			break
		}
		w -= x.w
	}
	pool := givenMale
	if sex == idcard.Female {
		pool = givenFemale
	}
	given := string(pool[g.rng.IntN(len(pool))])
	if g.rng.IntN(10) < 7 {
		given += string(pool[g.rng.IntN(len(pool))])
	}
	return s + given
}

func (g *gen) practitioner(inst *org.Institution, dept int64, title org.Title, specialty string) (*org.Practitioner, error) {
	sex := idcard.Male
	if g.rng.IntN(2) == 0 {
		sex = idcard.Female
	}
	years := 1 + g.rng.IntN(30)
	switch title {
	case org.TitleChief:
		years = 18 + g.rng.IntN(15)
	case org.TitleAssociateChief:
		years = 10 + g.rng.IntN(10)
	case org.TitleAttending:
		years = 5 + g.rng.IntN(8)
	}
	since, _ := care.MakeDate(g.today.Year-years, time.Month(1+g.rng.IntN(12)), 1)
	p := &org.Practitioner{ID: g.id("pract"), InstitutionID: inst.ID, DepartmentID: dept, Name: g.name(sex), Sex: string(sex), Title: title,
		Specialty: specialty, LicenseNumber: fmt.Sprintf("1104%011d", g.rng.Int64N(1e11)), PracticeSince: since,
		Phone: fmt.Sprintf("13%d%08d", 5+g.rng.IntN(5), g.rng.IntN(1e8)), Active: true, CreatedAt: g.now}
	g.res.Staff++
	return p, g.b.Practitioner(p)
}

func (g *gen) staff() error {
	titles := []org.Title{org.TitleChief, org.TitleAssociateChief, org.TitleAssociateChief, org.TitleAttending, org.TitleAttending, org.TitleAttending, org.TitlePhysician, org.TitlePhysician}
	for _, d := range countyDepartments {
		// The department's head is its first practitioner, whose ID is the next one.
		dep := &org.Department{ID: g.id("dept"), InstitutionID: g.hosp.ID, Name: d.name, Specialty: d.specialty, HeadID: g.nextID["pract"] + 1}
		if err := g.b.Department(dep); err != nil {
			return err
		}
		g.depts = append(g.depts, dep.ID)
		g.deptOf[d.specialty] = dep.ID
		for i := 0; i < d.doctors; i++ {
			p, err := g.practitioner(g.hosp, dep.ID, titles[i%len(titles)], d.specialty)
			if err != nil {
				return err
			}
			if d.specialty == "cardiology" && i == 1 {
				g.pract[care.RoleCountySpecialist] = p
			}
			g.deptDoctors[dep.ID] = append(g.deptDoctors[dep.ID], p.ID)
		}
	}
	for _, in := range g.insts {
		switch in.Kind {
		case org.KindDiagnosis:
			for _, d := range diagnosisCenters {
				if d.name != in.Name {
					continue
				}
				for i := 0; i < d.readers; i++ {
					p, err := g.practitioner(in, 0, titles[(i+1)%len(titles)], d.specialty)
					if err != nil {
						return err
					}
					g.readers[in.ID] = append(g.readers[in.ID], p)
					if d.specialty == "ecg" && i == 0 {
						g.pract[care.RoleReader] = p
					}
				}
			}
		case org.KindTownshipHC, org.KindCentralHC, org.KindSubCenter:
			n := 6 + g.rng.IntN(6)
			for i := 0; i < n; i++ {
				t := []org.Title{org.TitleAttending, org.TitlePhysician, org.TitlePhysician, org.TitleAssistant}[i%4]
				p, err := g.practitioner(in, 0, t, "general_practice")
				if err != nil {
					return err
				}
				if in.ID == g.demoVillage.ParentID && i == 0 {
					g.pract[care.RoleTownshipDoctor] = p
				}
			}
		case org.KindCommission:
			for _, r := range []care.Role{care.RoleAnalyst, care.RoleAuditor, care.RoleAdmin} {
				p, err := g.practitioner(in, 0, org.TitleStaff, "")
				if err != nil {
					return err
				}
				g.pract[r] = p
			}
		case org.KindInsurance:
			p, err := g.practitioner(in, 0, org.TitleStaff, "")
			if err != nil {
				return err
			}
			g.pract[care.RoleInsuranceOfficer] = p
		}
	}
	ph, err := g.practitioner(g.hosp, 0, org.TitleSeniorPharm, "pharmacy")
	if err != nil {
		return err
	}
	g.pract[care.RolePharmacist] = ph
	// Village doctors: VillageDoctors spread over the clinics (3–4 each for 792/206).
	for i := 0; i < g.cfg.VillageDoctors; i++ {
		c := g.clinics[i%len(g.clinics)]
		p, err := g.practitioner(c, 0, org.TitleVillageDoctor, "general_practice")
		if err != nil {
			return err
		}
		// The demo sign-in: the village's first doctor with ≥ 3 years of
		// independent practice (online follow-up visits need them,
		// online.MinPracticeYears), else its first doctor.
		if cur := g.pract[care.RoleVillageDoctor]; c == g.demoVillage && (cur == nil || cur.YearsOfPractice(g.today) < 3 && p.YearsOfPractice(g.today) >= 3) {
			g.pract[care.RoleVillageDoctor] = p
		}
	}
	return nil
}
