package demo

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"time"

	"countycare/care"
	"countycare/chronic"
	"countycare/huts"
	"countycare/org"
	"countycare/sterile"
)

// SeedSterilePacks is the seeds' volume of sterile and treatment packs
// delivered to clinics in a year in one county of about SeedPopulation
// (62,892; seed 001, DOMAIN.md "Logistics").
const SeedSterilePacks = 62892

// ScaledSterilePacks scales the seeds' yearly sterile packs to n residents.
func ScaledSterilePacks(n int) int { return int(int64(SeedSterilePacks) * int64(n) / SeedPopulation) }

// HutReadingsPerResident is the demo's yearly device readings per
// resident: the articles give no volume for self-service huts, so this is
// an assumption (about one resident in ten measuring three times a year).
const HutReadingsPerResident = 0.3

// ScaledHutReadings is the demo's yearly device readings for n residents.
func ScaledHutReadings(n int) int { return int(float64(n) * HutReadingsPerResident) }

// demoPackTypes are the center's pack types (换药包, 缝合包 …).
var demoPackTypes = []struct {
	code, name string
	p          sterile.Packaging
}{
	{"HY", "换药包", sterile.Textile}, {"FH", "缝合包", sterile.Nonwoven}, {"CS", "拆线包", sterile.PaperPlastic},
	{"DN", "导尿包", sterile.Nonwoven}, {"QC", "清创包", sterile.RigidContainer},
}

// huts writes the devices of every township health center's hut (a
// blood-pressure monitor, a glucose meter, a scale) and n readings over
// the past year for residents of the township's villages (about 3 % of
// blood pressures urgent, each with the chronic urgent reason). The demo
// devices' tokens are random and not kept: register a device on
// /admin/devices to post readings.
func (g *gen) huts(n int) error {
	if n <= 0 || len(g.people) == 0 {
		return nil
	}
	rng := rand.New(rand.NewPCG(g.cfg.Seed+43, 17))
	byTownship := map[int64][]*huts.Device{}
	townshipOf := map[int64]int64{}
	for _, c := range g.clinics {
		townshipOf[c.ID] = c.ParentID
	}
	for _, in := range g.insts {
		if in.Kind != org.KindTownshipHC && in.Kind != org.KindCentralHC {
			continue
		}
		for _, k := range huts.Kinds {
			tok := make([]byte, 16)
			for i := range tok {
				tok[i] = byte(rng.Uint32())
			}
			h := sha256.Sum256(tok)
			d := &huts.Device{ID: g.id("hut_device"), CountyCode: g.cfg.CountyCode, InstitutionID: in.ID, Kind: k,
				Name:      fmt.Sprintf("健康小屋%s", map[huts.Kind]string{huts.KindBP: "血压计", huts.KindGlucose: "血糖仪", huts.KindScale: "体重秤"}[k]),
				TokenHash: hex.EncodeToString(h[:]), CreatedAt: g.now.Add(-400 * 24 * time.Hour)}
			if err := g.b.HutDevice(d); err != nil {
				return err
			}
			byTownship[in.ID] = append(byTownship[in.ID], d)
		}
	}
	cfg := chronic.DefaultConfig()
	for i := 0; i < n; i++ {
		who := g.people[rng.IntN(len(g.people))]
		ds := byTownship[townshipOf[who.village]]
		if len(ds) == 0 {
			continue
		}
		d := ds[rng.IntN(len(ds))]
		at := g.now.Add(-time.Duration(rng.Int64N(int64(365 * 24 * time.Hour))))
		r := &huts.Reading{ID: g.id("device_reading"), CountyCode: g.cfg.CountyCode, DeviceID: d.ID, DeviceRef: fmt.Sprintf("D%d-%07d", d.ID, i),
			ResidentID: who.id, InstitutionID: d.InstitutionID, Kind: d.Kind, MeasuredAt: at, ReceivedAt: at.Add(time.Duration(1+rng.IntN(30)) * time.Second)}
		switch d.Kind {
		case huts.KindBP:
			r.SBP = 105 + rng.IntN(60)
			if rng.IntN(100) < 3 {
				r.SBP = 180 + rng.IntN(25)
			}
			r.DBP, r.Pulse = r.SBP*6/10+rng.IntN(12), 58+rng.IntN(40)
		case huts.KindGlucose:
			r.Glucose, r.Fasting = 45+rng.IntN(60), rng.IntN(2) == 0
		case huts.KindScale:
			r.HeightCm = 150 + rng.IntN(30)
			m := float64(r.HeightCm) / 100
			r.WeightDg = int((19 + rng.Float64()*9) * m * m * 10)
		}
		r.Urgent = huts.Urgent(r, nil, cfg)
		if err := g.b.DeviceReading(r); err != nil {
			return err
		}
		g.res.HutReadings++
	}
	return nil
}

// sterilePacks writes a year of the county hospital's sterile supply: its
// pack types, cycles of about 50 packs (released; one cycle in the year
// recalled by its biological indicator), clinics' monthly orders, and n
// packs delivered to village clinics, most used on a resident of the
// village within their shelf life, some returned, the last weeks' in stock.
func (g *gen) sterilePacks(n int) error {
	if n <= 0 || g.hosp == nil || len(g.clinics) == 0 || len(g.people) == 0 {
		return nil
	}
	rng := rand.New(rand.NewPCG(g.cfg.Seed+47, 19))
	cfg := sterile.DefaultConfig()
	var types []*sterile.PackType
	for _, t := range demoPackTypes {
		pt := &sterile.PackType{ID: g.id("sterile_pack_type"), CountyCode: g.cfg.CountyCode, CenterID: g.hosp.ID, Code: t.code, Name: t.name,
			Packaging: t.p, CreatedAt: g.now.Add(-400 * 24 * time.Hour)}
		if err := g.b.SterilePackType(pt); err != nil {
			return err
		}
		types = append(types, pt)
	}
	villagers := map[int64][]int64{}
	for _, p := range g.people {
		if len(villagers[p.village]) < 200 {
			villagers[p.village] = append(villagers[p.village], p.id)
		}
	}
	const perCycle = 50
	cycles := (n + perCycle - 1) / perCycle
	recalled := rng.IntN(cycles)
	made := 0
	for c := 0; c < cycles; c++ {
		start := g.now.Add(-time.Duration(int64(365*24*time.Hour) * int64(cycles-c) / int64(cycles+1)))
		cy := &sterile.Cycle{ID: g.id("sterile_cycle"), CountyCode: g.cfg.CountyCode, CenterID: g.hosp.ID, CycleNo: fmt.Sprintf("%s-%03d", start.Format("0102"), c%1000),
			Sterilizer: fmt.Sprintf("压力蒸汽灭菌器%d号", 1+c%3), StartedAt: start, Physical: sterile.Pass, Chemical: sterile.Pass, Biological: sterile.Pass,
			Status: sterile.CycleReleased}
		if c == recalled {
			cy.Biological, cy.Status, cy.RecalledAt = sterile.Fail, sterile.CycleRecalled, start.Add(48*time.Hour)
		}
		if err := g.b.SterileCycle(cy); err != nil {
			return err
		}
		for k := 0; k < perCycle && made < n; k++ {
			made++
			t := types[rng.IntN(len(types))]
			clinic := g.clinics[rng.IntN(len(g.clinics))]
			p := &sterile.Pack{ID: g.id("sterile_pack"), CountyCode: g.cfg.CountyCode, PackTypeID: t.ID, CycleID: cy.ID, CenterID: g.hosp.ID,
				Packaging: t.Packaging, PackedAt: start, ExpiresOn: cfg.ExpiresOn(t.Packaging, start), Status: sterile.PackDelivered, ClinicID: clinic.ID, Version: 2}
			p.DeliveredAt = start.Add(time.Duration(4+rng.IntN(20)) * time.Hour)
			evs := []sterile.Event{{Step: sterile.StepPack, At: start, InstitutionID: g.hosp.ID, Detail: cy.CycleNo},
				{Step: sterile.StepDeliver, At: p.DeliveredAt, InstitutionID: clinic.ID}}
			life := p.ExpiresOn.Time().Sub(care.DateOf(start).Time())
			use := p.DeliveredAt.Add(time.Duration(rng.Int64N(int64(life - 24*time.Hour))))
			switch {
			case c == recalled:
				p.Status = sterile.PackRecalled
				evs = append(evs, sterile.Event{Step: sterile.StepRecall, At: cy.RecalledAt, InstitutionID: g.hosp.ID, Detail: cy.CycleNo})
			case use.After(g.now):
				// still in stock at the clinic
			case rng.IntN(100) < 4:
				p.Status, p.ReturnedAt = sterile.PackReturned, use
				evs = append(evs, sterile.Event{Step: sterile.StepReturn, At: use, InstitutionID: clinic.ID})
			case len(villagers[clinic.ID]) > 0:
				vs := villagers[clinic.ID]
				p.Status, p.ResidentID, p.UsedAt = sterile.PackUsed, vs[rng.IntN(len(vs))], use
				evs = append(evs, sterile.Event{Step: sterile.StepUse, At: use, InstitutionID: clinic.ID, ResidentID: p.ResidentID})
			}
			if err := g.b.SterilePack(p, evs); err != nil {
				return err
			}
			g.res.SterilePacks++
		}
	}
	// Each clinic's monthly order of the last month, delivered.
	for _, c := range g.clinics {
		t := types[rng.IntN(len(types))]
		q := 2 + rng.IntN(8)
		o := &sterile.Order{ID: g.id("sterile_order"), CountyCode: g.cfg.CountyCode, ClinicID: c.ID, CenterID: g.hosp.ID, PackTypeID: t.ID,
			Quantity: q, Delivered: q, Status: sterile.OrderDelivered, OrderedAt: g.now.Add(-time.Duration(24+rng.IntN(30*24)) * time.Hour)}
		if err := g.b.SterileOrder(o); err != nil {
			return err
		}
	}
	return nil
}
