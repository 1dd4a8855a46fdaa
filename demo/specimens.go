package demo

import (
	"fmt"
	"math/rand/v2"
	"time"

	"countycare/account"
	"countycare/care"
	"countycare/org"
	"countycare/specimen"
)

// SeedSpecimens is the seeds' specimen volume: 10,856 blood samples a
// year carried from villages and townships to the county lab in one
// county of about SeedPopulation (issue 17, seed articles).
const SeedSpecimens = 10856

// ScaledSpecimens scales the seeds' yearly specimens to n residents.
func ScaledSpecimens(n int) int { return int(int64(SeedSpecimens) * int64(n) / SeedPopulation) }

// labCenter is the county lab among the diagnosis centers (names.go).
const labCenter = "县域医学检验中心"

// demoTests are the panels villages send, with their tube: chemistry on
// serum, the blood count and HbA1c on EDTA, glucose on fluoride.
var demoTests = []struct {
	tests string
	tube  specimen.Tube
}{
	{"GLU,TC,TG,CREA,BUN", specimen.TubeSerum}, {"K,NA,CA", specimen.TubeSerum}, {"HGB,WBC,PLT", specimen.TubeEDTA},
	{"HBA1C", specimen.TubeEDTA}, {"GLU", specimen.TubeFluoride},
}

// demoRoutes are the courier routes of the county's specimen runs.
var demoRoutes = []string{"东线", "西线", "南线", "北线"}

// specimens writes a year of specimens from village clinics to the county
// lab: ordered, collected, packed, handed to the courier, received and
// resulted (about 2 % rejected, most for haemolysis), each step an event;
// the last day's still on their way, among them the demo village's. It
// also gives the lab's first reader an account (Result.LabLogin).
func (g *gen) specimens(n int) error {
	var lab *org.Institution
	for _, in := range g.insts {
		if in.Kind == org.KindDiagnosis && in.Name == labCenter {
			lab = in
		}
	}
	if lab == nil || len(g.readers[lab.ID]) == 0 {
		return nil
	}
	p := g.readers[lab.ID][0]
	hash, err := account.HashPassword(g.cfg.Password)
	if err != nil {
		return err
	}
	a := &account.Account{ID: g.id("account"), Username: "lab." + pinyinOf(p.Name), Role: care.RoleReader, InstitutionID: lab.ID, PractitionerID: p.ID,
		PasswordHash: hash, PasswordChangedAt: g.now, CreatedAt: g.now}
	if err := g.b.Account(a); err != nil {
		return err
	}
	g.res.LabLogin = &Login{Role: care.RoleReader, Username: a.Username, Password: g.cfg.Password, Name: p.Name, Institution: lab.Name}
	if n <= 0 || len(g.people) == 0 {
		return nil
	}
	rng := rand.New(rand.NewPCG(g.cfg.Seed+29, 71))
	mins := func(lo, hi int) time.Duration { return time.Duration(lo+rng.IntN(hi-lo+1)) * time.Minute }
	var demoPeople []person
	if g.demoVillage != nil {
		for _, x := range g.people {
			if x.village == g.demoVillage.ID && len(demoPeople) < 6 {
				demoPeople = append(demoPeople, x)
			}
		}
	}
	for i := 0; i < n; i++ {
		who := g.people[rng.IntN(len(g.people))]
		ordered := g.now.Add(-time.Duration(rng.Int64N(int64(365 * 24 * time.Hour))))
		open := -1 // how many steps an open specimen has made (-1: closed)
		if i < len(demoPeople) {
			// The demo village's last tubes, one at each open step.
			who, open = demoPeople[i], i%5
			ordered = g.now.Add(-mins(60, 240))
		} else if rng.IntN(365) == 0 {
			open = rng.IntN(5)
			ordered = g.now.Add(-mins(60, 600))
		}
		pick := demoTests[rng.IntN(len(demoTests))]
		sp := &specimen.Specimen{ID: g.id("specimen"), CountyCode: g.cfg.CountyCode, ResidentID: who.id, ClinicID: who.village, LabID: lab.ID,
			Tests: pick.tests, Tube: pick.tube, Status: specimen.StatusOrdered, OrderedAt: ordered, Version: 1}
		var evs []specimen.Event
		at := ordered
		step := func(st specimen.Step, to specimen.Status, place int64, detail string) {
			evs = append(evs, specimen.Event{Step: st, At: at, InstitutionID: place, Detail: detail})
			sp.Status, sp.LastScanAt, sp.LastPlace = to, at, place
			if st != specimen.StepOrder {
				sp.Version++
			}
		}
		step(specimen.StepOrder, specimen.StatusOrdered, sp.ClinicID, "")
		steps := 0
		next := func() bool { steps++; return open < 0 || steps <= open }
		if next() {
			at = at.Add(mins(2, 30))
			sp.CollectedAt = at
			step(specimen.StepCollect, specimen.StatusCollected, sp.ClinicID, "")
		}
		var box *specimen.Box
		if sp.Status == specimen.StatusCollected && next() {
			at = at.Add(mins(10, 90))
			box = &specimen.Box{ID: g.id("specimen_box"), CountyCode: sp.CountyCode, ClinicID: sp.ClinicID, LabID: lab.ID, TempTenths: 30 + rng.IntN(40), PackedAt: at}
			sp.BoxID = box.ID
			step(specimen.StepPack, specimen.StatusPacked, sp.ClinicID, fmt.Sprintf("%s %.1f °C", specimen.BoxCodeFor(box.ID), box.Temp()))
		}
		if sp.Status == specimen.StatusPacked && next() {
			at = at.Add(mins(5, 120))
			box.Courier, box.Route, box.HandedAt = "转运员"+fmt.Sprint(1+rng.IntN(6)), demoRoutes[rng.IntN(len(demoRoutes))], at
			step(specimen.StepHandOver, specimen.StatusInTransit, sp.ClinicID, specimen.BoxCodeFor(box.ID)+" "+box.Courier+" "+box.Route)
		}
		if sp.Status == specimen.StatusInTransit && next() {
			at = at.Add(mins(40, 240))
			sp.ReceivedAt = at
			step(specimen.StepReceive, specimen.StatusReceived, lab.ID, "")
		}
		if sp.Status == specimen.StatusReceived && open < 0 {
			if rng.IntN(100) < 2 {
				at = at.Add(mins(5, 30))
				sp.Reason = []specimen.Reason{specimen.ReasonHaemolysed, specimen.ReasonHaemolysed, specimen.ReasonHaemolysed, specimen.ReasonClotted,
					specimen.ReasonInsufficient, specimen.ReasonWrongTube}[rng.IntN(6)]
				sp.ClosedAt = at
				step(specimen.StepReject, specimen.StatusRejected, lab.ID, string(sp.Reason))
			} else {
				at = at.Add(mins(30, 360))
				sp.ClosedAt = at
				step(specimen.StepResult, specimen.StatusResulted, lab.ID, "")
			}
		}
		if box != nil {
			if err := g.b.SpecimenBox(box); err != nil {
				return err
			}
		}
		if err := g.b.Specimen(sp, evs); err != nil {
			return err
		}
		g.res.Specimens++
	}
	return nil
}
