package demo

import (
	"cmp"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/mozillazg/go-pinyin"

	"countycare/access"
	"countycare/account"
	"countycare/care"
	"countycare/idcard"
	"countycare/org"
	"countycare/proxy"
	"countycare/resident"
	"countycare/store"
)

// member is one person of a generated household before numbering.
type member struct {
	age int
	sex idcard.Sex
	rel resident.Relation
}

// headAgeBands are household heads' ages (lower bound of a 5-year band)
// with weights: rural Henan households are old, many heads over 50
// (2020 census, rural household heads by age, rounded).
var headAgeBands = []struct{ from, w int }{
	{25, 5}, {30, 8}, {35, 9}, {40, 9}, {45, 11}, {50, 13}, {55, 12}, {60, 10}, {65, 9}, {70, 7}, {75, 4}, {80, 3},
}

func (g *gen) household() []member {
	tot := 0
	for _, b := range headAgeBands {
		tot += b.w
	}
	w := g.rng.IntN(tot)
	head := 0
	for _, b := range headAgeBands {
		if w < b.w {
			head = b.from + g.rng.IntN(5)
			break
		}
		w -= b.w
	}
	hs := idcard.Male
	if g.rng.IntN(100) < 15 {
		hs = idcard.Female
	}
	other := func(s idcard.Sex) idcard.Sex {
		if s == idcard.Male {
			return idcard.Female
		}
		return idcard.Male
	}
	randSex := func() idcard.Sex {
		if g.rng.IntN(1000) < 510 {
			return idcard.Male
		}
		return idcard.Female
	}
	ms := []member{{head, hs, resident.RelHead}}
	spouseP := 85
	if head >= 65 {
		spouseP = 65
	}
	if g.rng.IntN(100) < spouseP {
		ms = append(ms, member{max(20, head-3+g.rng.IntN(7)), other(hs), resident.RelSpouse})
	}
	switch {
	case head < 46:
		for i, n := 0, 1+g.rng.IntN(3); i < n && head-22 > 0; i++ {
			ms = append(ms, member{g.rng.IntN(head - 21), randSex(), resident.RelChild})
		}
	case head < 61:
		for i, n := 0, g.rng.IntN(3); i < n; i++ {
			ms = append(ms, member{head - 35 + g.rng.IntN(15), randSex(), resident.RelChild})
		}
	}
	if head >= 50 && head <= 72 && g.rng.IntN(100) < 35 {
		for i, n := 0, 1+g.rng.IntN(2); i < n; i++ {
			ms = append(ms, member{g.rng.IntN(13), randSex(), resident.RelGrandchild})
		}
	}
	if head >= 28 && head <= 55 && g.rng.IntN(100) < 30 {
		ms = append(ms, member{min(99, head+22+g.rng.IntN(14)), idcard.Female, resident.RelParent})
		if g.rng.IntN(2) == 0 {
			ms = append(ms, member{min(99, head+24+g.rng.IntN(14)), idcard.Male, resident.RelParent})
		}
	}
	return ms
}

// povertyMix is how the ~2 % of households in a poverty category divide
// (seed 000: poverty from illness is over half of registered poor).
var povertyMix = []struct {
	p resident.Poverty
	w int
}{{resident.PovertyIllness, 45}, {resident.PovertySubsistence, 25}, {resident.PovertyExtreme, 8}, {resident.PovertyEdge, 10}, {resident.PovertyMonitored, 12}}

func (g *gen) poverty() resident.Poverty {
	if g.rng.IntN(1000) >= 20 {
		return resident.PovertyNone
	}
	w := g.rng.IntN(100)
	for _, x := range povertyMix {
		if w < x.w {
			return x.p
		}
		w -= x.w
	}
	return resident.PovertyIllness
}

// birth draws a birth date for someone aged age on the generator's today.
func (g *gen) birth(age int) care.Date {
	b := g.today.Time().AddDate(-age, 0, 0).AddDate(0, 0, -1-g.rng.IntN(364))
	return care.DateOf(b)
}

func (g *gen) idNumber(birth care.Date, sex idcard.Sex) idcard.Number {
	k := g.idSeq[birth]
	g.idSeq[birth] = k + 1
	seq := (k*2)%1000 + 0
	if sex == idcard.Male {
		seq++
	}
	area := g.cfg.CountyCode
	if g.rng.IntN(100) < 8 { // born elsewhere in the prefecture
		area = g.cfg.CountyCode[:4] + fmt.Sprintf("%02d", 21+g.rng.IntN(7))
	}
	return idcard.Make(area, birth.Time(), seq)
}

func (g *gen) tokensOf(name string) []string {
	if t, ok := g.tokens[name]; ok {
		return t
	}
	t := resident.SearchTokens(name)
	g.tokens[name] = t
	return t
}

// row is one generated row for the writer.
type row struct {
	h    *resident.Household
	r    *resident.Resident
	toks []store.BulkToken // one village's search tokens, sorted (with village)
	vill int64
	l    *access.CareLink
}

// residents generates households and residents in one goroutine and
// writes them in another, so the two cores share the work: generating
// names, ID numbers and pinyin tokens costs about as much as inserting.
// The rows and their order are the same as a single goroutine's.
func (g *gen) residents(log *slog.Logger) error {
	batches := make(chan []row, 8)
	stop := make(chan struct{})
	genErr := make(chan error, 1)
	g.batch = make([]row, 0, 1024)
	g.emit = func(x row) error {
		g.batch = append(g.batch, x)
		if len(g.batch) == cap(g.batch) {
			select {
			case batches <- g.batch:
			case <-stop:
				return errStopped
			}
			g.batch = make([]row, 0, 1024)
		}
		return nil
	}
	go func() {
		err := g.generate(log)
		if err == nil && len(g.batch) > 0 {
			select {
			case batches <- g.batch:
			case <-stop:
			}
		}
		close(batches)
		genErr <- err
	}()
	var werr error
	for b := range batches {
		if werr != nil {
			continue
		}
		for _, x := range b {
			if werr = g.write(x); werr != nil {
				close(stop)
				break
			}
		}
	}
	if err := <-genErr; err != nil && err != errStopped {
		return err
	}
	return werr
}

var errStopped = fmt.Errorf("demo: stopped")

func (g *gen) write(x row) error {
	switch {
	case x.h != nil:
		return g.b.Household(x.h)
	case x.r != nil:
		return g.b.Resident(x.r, nil)
	case x.toks != nil:
		return g.b.ResidentTokens(g.cfg.CountyCode, x.vill, x.toks)
	default:
		return g.b.CareLink(x.l)
	}
}

func (g *gen) generate(log *slog.Logger) error {
	target := g.cfg.Residents
	if max := len(g.clinics) * 90000; target > max {
		return fmt.Errorf("demo: %d residents do not fit %d villages' record numbers (at most %d)", target, len(g.clinics), max)
	}
	created := g.now.Add(-400 * 24 * time.Hour)
	count := 0
	lastLog := time.Now()
	for count < target {
		v := g.clinics[count*len(g.clinics)/target]
		if v.ID != g.tokVillage {
			if err := g.flushTokens(); err != nil {
				return err
			}
		}
		g.householdSq[v.ID]++
		ms := g.household()
		if rem := target - count; len(ms) > rem {
			ms = ms[:rem]
		}
		vname := strings.TrimSuffix(v.Name, "卫生室")
		addr := fmt.Sprintf("%s%d组%d号", vname, 1+g.rng.IntN(12), 1+g.rng.IntN(80))
		h := &resident.Household{ID: g.id("household"), CountyCode: g.cfg.CountyCode, VillageID: v.ID,
			Number: fmt.Sprintf("%s%04d", v.AreaCode, g.householdSq[v.ID]), Address: addr, HeadID: g.nextID["resident"] + 1, CreatedAt: created}
		if err := g.emit(row{h: h}); err != nil {
			return err
		}
		g.res.Households++
		pov := g.poverty()
		for _, m := range ms {
			if err := g.resident(v, h, m, pov, addr, created); err != nil {
				return err
			}
			count++
			if (count%2000 == 0 || v == g.demoVillage && g.villageSeq[v.ID] == 25) && count < target {
				// A legacy record imported twice (a duplicate to review and merge).
				if err := g.duplicate(v, h, created); err != nil {
					return err
				}
			}
		}
		if time.Since(lastLog) > 5*time.Second {
			log.Info("demo: residents", "written", count, "of", target)
			lastLog = time.Now()
		}
	}
	g.res.Residents = count
	return g.flushTokens()
}

func (g *gen) resident(v *org.Institution, h *resident.Household, m member, pov resident.Poverty, addr string, created time.Time) error {
	g.villageSeq[v.ID]++
	rn, err := resident.RecordNumber(v.AreaCode, g.villageSeq[v.ID])
	if err != nil {
		return err
	}
	birth := g.birth(m.age)
	r := &resident.Resident{ID: g.id("resident"), CountyCode: g.cfg.CountyCode, RecordNumber: rn, Name: g.name(m.sex), Sex: m.sex, BirthDate: birth,
		Address: addr, VillageID: v.ID, HouseholdID: h.ID, Relation: m.rel, Poverty: pov, Status: resident.StatusActive,
		CreatedAt: created, UpdatedAt: created, Version: 1}
	if m.age >= 1 || g.rng.IntN(2) == 0 {
		r.IDNumber = g.idNumber(birth, m.sex)
	}
	if m.age >= 18 && m.age <= 75 && g.rng.IntN(100) < 65 {
		r.Phone = fmt.Sprintf("1%d%d%08d", 3+g.rng.IntN(6), g.rng.IntN(10), g.rng.IntN(1e8))
	}
	if g.rng.IntN(1000) < 25 {
		r.DisabilityGrade = 1 + g.rng.IntN(4)
	}
	if m.sex == idcard.Female && m.age >= 20 && m.age <= 40 && g.rng.IntN(100) < 2 {
		r.PregnancyEDD = g.today.AddDays(-30 + g.rng.IntN(300))
	}
	if err := g.emit(row{r: r}); err != nil {
		return err
	}
	g.mchCollect(r.ID, r.VillageID, r.BirthDate, r.Sex, r.PregnancyEDD)
	g.elderlyCollect(r.ID, r.VillageID, r.BirthDate, r.Sex)
	g.addTokens(r)
	g.last = r
	if g.cfg.Visits > 0 || g.cfg.FollowUps > 0 || g.cfg.Referrals > 0 || g.cfg.Consultations > 0 || g.cfg.Prescriptions > 0 || g.cfg.Contracts > 0 ||
		g.cfg.ECGReads > 0 || g.cfg.ImagingReads > 0 || g.cfg.Specimens > 0 || g.cfg.HutReadings > 0 || g.cfg.SterilePacks > 0 || g.cfg.Screening > 0 {
		g.people = append(g.people, person{r.ID, string(r.Poverty), r.BirthDate, r.VillageID})
	}
	if g.demoRes == nil && v == g.demoVillage && m.rel == resident.RelHead && r.Phone != "" {
		g.demoRes = r
	} else if g.demoRes != nil && g.demoWard == nil && r.HouseholdID == g.demoRes.HouseholdID {
		g.demoWard = r // a member of the demo resident's household they see as a proxy (docs/resident.md)
	}
	// Some residents were referred to the county hospital, so its specialists see them.
	if g.rng.IntN(1000) < 5 || r == g.demoRes {
		g.linkCount++
		l := &access.CareLink{ID: g.id("link"), CountyCode: r.CountyCode, ResidentID: r.ID, InstitutionID: g.hosp.ID, Kind: access.LinkReferral,
			Reason: "上转县人民医院", CreatedAt: g.now.Add(-time.Duration(g.rng.IntN(90*24)) * time.Hour)}
		return g.emit(row{l: l})
	}
	return nil
}

// duplicate writes a second record of the last resident, as an import
// from an older system would have: same person and ID number, another
// record number, no phone or address.
func (g *gen) duplicate(v *org.Institution, h *resident.Household, created time.Time) error {
	last := g.last
	if last == nil || last.IDNumber == "" {
		return nil
	}
	g.villageSeq[v.ID]++
	rn, err := resident.RecordNumber(v.AreaCode, g.villageSeq[v.ID])
	if err != nil {
		return err
	}
	d := *last
	d.ID, d.RecordNumber, d.Phone, d.Address, d.Relation = g.id("resident"), rn, "", "", resident.RelOther
	d.CreatedAt, d.UpdatedAt = created.Add(-200*24*time.Hour), created.Add(-200*24*time.Hour)
	if err := g.emit(row{r: &d}); err != nil {
		return err
	}
	g.addTokens(&d)
	return nil
}

// addTokens keeps r's search tokens for its village's batch.
func (g *gen) addTokens(r *resident.Resident) {
	g.tokVillage = r.VillageID
	for _, t := range g.tokensOf(r.Name) {
		g.vtoks = append(g.vtoks, store.BulkToken{Token: t, ResidentID: r.ID})
	}
}

// flushTokens emits the village's search tokens in primary-key order
// (token, resident): appended in that order they go to the end of the
// table's B-tree instead of into its middle, which halves their cost.
func (g *gen) flushTokens() error {
	if len(g.vtoks) == 0 {
		return nil
	}
	toks := g.vtoks
	slices.SortFunc(toks, func(a, b store.BulkToken) int {
		if c := strings.Compare(a.Token, b.Token); c != 0 {
			return c
		}
		return cmp.Compare(a.ResidentID, b.ResidentID)
	})
	g.vtoks = nil
	return g.emit(row{toks: toks, vill: g.tokVillage})
}

func pinyinOf(name string) string {
	a := pinyin.NewArgs()
	return strings.Join(pinyin.LazyPinyin(name, a), "")
}

// accounts creates one account per role, each for a real (generated) person.
func (g *gen) accounts() error {
	hash, err := account.HashPassword(g.cfg.Password)
	if err != nil {
		return err
	}
	prefixes := map[care.Role]string{
		care.RoleVillageDoctor: "village", care.RoleTownshipDoctor: "township", care.RoleCountySpecialist: "county",
		care.RoleReader: "reader", care.RolePharmacist: "pharm", care.RoleInsuranceOfficer: "insure",
		care.RoleAnalyst: "analyst", care.RoleAdmin: "it", care.RoleAuditor: "audit",
	}
	instName := map[int64]string{}
	for _, in := range g.insts {
		instName[in.ID] = in.Name
	}
	for _, role := range care.Roles {
		a := &account.Account{ID: g.id("account"), Role: role, PasswordHash: hash, PasswordChangedAt: g.now, CreatedAt: g.now}
		var name, inst string
		if role == care.RoleResident {
			if g.demoRes == nil {
				continue
			}
			a.ResidentID = g.demoRes.ID
			a.Username = "jumin." + pinyinOf(g.demoRes.Name)
			name, inst = g.demoRes.Name, instName[g.demoRes.VillageID]
		} else {
			p := g.pract[role]
			if p == nil {
				return fmt.Errorf("demo: no practitioner for role %s", role)
			}
			a.PractitionerID, a.InstitutionID = p.ID, p.InstitutionID
			a.Username = prefixes[role] + "." + pinyinOf(p.Name)
			name, inst = p.Name, instName[p.InstitutionID]
		}
		if err := g.b.Account(a); err != nil {
			return err
		}
		if role == care.RoleResident && g.demoWard != nil {
			if err := g.demoProxy(a); err != nil {
				return err
			}
		}
		g.res.Logins = append(g.res.Logins, Login{Role: role, Username: a.Username, Password: g.cfg.Password, Name: name, Institution: inst})
	}
	return nil
}

// demoProxy grants the demo resident (account a) a proxy on a member of
// their household — guardian of a child, family of an elder, or chosen
// by an adult — so that /me shows the switch between records.
func (g *gen) demoProxy(a *account.Account) error {
	w := g.demoWard
	kind, age := proxy.Chosen, proxy.BirthDate(w).AgeOn(care.Today(g.now))
	switch {
	case age < care.AdultAge:
		kind = proxy.Guardian
	case age >= resident.ElderlyAge:
		kind = proxy.Family
	}
	return g.b.ProxyGrant(&proxy.Grant{ID: g.id("proxy_grant"), CountyCode: w.CountyCode, WardID: w.ID, ProxyID: g.demoRes.ID, Kind: kind,
		GrantedBy: a.ID, GrantedAt: g.now, ExpiresAt: proxy.Expiry(kind, w)})
}
