package demo

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"countycare/care"
	"countycare/org"
	"countycare/pharmacy"
	"countycare/rx"
)

// SeedSupplyOrders is the seeds' drug supply volume: 67,200 orders a year
// from primary clinics to the county in one county of about
// SeedPopulation (seed 001, DOMAIN.md §11).
const SeedSupplyOrders = 67200

// ScaledSupplyOrders scales the seeds' yearly supply orders to n residents.
func ScaledSupplyOrders(n int) int {
	return int(int64(SeedSupplyOrders) * int64(n) / SeedPopulation)
}

// stockOpensDays is how far back the demo stock ledger starts: shipments
// received in the last stockOpensDays days are the clinics' lots (with a
// receipt each in the ledger); older ones count as used up before the
// ledger opened.
const stockOpensDays = 60

// supplyOrders writes n supply orders over the past year from the
// county's village and township clinics to the lead county hospital's
// pharmacy, mostly for chronic-disease drugs of the clinic's level. Orders
// older than a few days went the whole way (3 % rejected, 2 % cancelled,
// 15 % approved in part); recent ones are still requested, approved or
// shipped. Shipments received in the last stockOpensDays days become the
// clinics' stock.
func (g *gen) supplyOrders(n int) error {
	if n <= 0 || g.hosp == nil {
		return nil
	}
	kb, err := rx.Load()
	if err != nil {
		return err
	}
	var clinics []*org.Institution
	for _, in := range g.insts {
		if in.CountyCode == g.cfg.CountyCode && (in.Level == org.LevelVillage || in.Level == org.LevelTownship) {
			clinics = append(clinics, in)
		}
	}
	if len(clinics) == 0 {
		return nil
	}
	// Each level's chronic-class drugs and its other drugs.
	chronicDrugs, otherDrugs := map[org.Level][]string{}, map[org.Level][]string{}
	for _, lv := range []org.Level{org.LevelVillage, org.LevelTownship} {
		for _, e := range pharmacy.Formulary(kb, nil, string(lv)) {
			if len(e.Classes) > 0 {
				chronicDrugs[lv] = append(chronicDrugs[lv], e.Drug.Code)
			} else {
				otherDrugs[lv] = append(otherDrugs[lv], e.Drug.Code)
			}
		}
	}
	rng := rand.New(rand.NewPCG(g.cfg.Seed+23, 67))
	hours := func(lo, hi int) time.Duration { return time.Duration(lo+rng.IntN(hi-lo+1)) * time.Hour }
	opens := g.now.AddDate(0, 0, -stockOpensDays)
	// The demo village (the one the printed sign-ins work in) ordered, in
	// the last weeks, up to 6 drugs of each chronic class, so its stock
	// page and dispensing have something to show.
	var demoOrders [][]string
	if g.demoVillage != nil {
		for _, cl := range pharmacy.Classes {
			var codes []string
			for _, e := range pharmacy.Formulary(kb, nil, string(org.LevelVillage)) {
				if len(codes) < 6 && slices.Contains(e.Classes, cl) {
					codes = append(codes, e.Drug.Code)
				}
			}
			demoOrders = append(demoOrders, codes)
		}
	}
	for i := 0; i < n; i++ {
		c := clinics[rng.IntN(len(clinics))]
		created := g.now.Add(-time.Duration(rng.Int64N(int64(365 * 24 * time.Hour))))
		var fixed []string
		if i < len(demoOrders) {
			c, fixed = g.demoVillage, demoOrders[i]
			created = g.now.Add(-time.Duration(10+rng.IntN(20)) * 24 * time.Hour)
		}
		o := &pharmacy.SupplyOrder{ID: g.id("supply_order"), County: g.cfg.CountyCode, ClinicID: c.ID, Status: pharmacy.OrderRequested, CreatedAt: created}
		seen := map[string]bool{}
		for _, code := range fixed {
			seen[code] = true
			o.Lines = append(o.Lines, pharmacy.OrderLine{DrugCode: code, Requested: int64(200 + 10*rng.IntN(31))})
		}
		for k, lines := 0, 3+rng.IntN(6); k < lines && fixed == nil; k++ {
			pool := chronicDrugs[c.Level]
			if rng.IntN(10) >= 7 && len(otherDrugs[c.Level]) > 0 {
				pool = otherDrugs[c.Level]
			}
			code := pool[rng.IntN(len(pool))]
			if seen[code] {
				continue
			}
			seen[code] = true
			o.Lines = append(o.Lines, pharmacy.OrderLine{DrugCode: code, Requested: int64(50 + 10*rng.IntN(56))})
		}
		o.History = []pharmacy.OrderEvent{{Status: pharmacy.OrderRequested, At: created, Username: "demo"}}
		at := created
		step := func(s pharmacy.OrderStatus, d time.Duration, note string) bool {
			if at.Add(d).After(g.now) {
				return false
			}
			at = at.Add(d)
			o.Status, o.UpdatedAt, o.Version = s, at, o.Version+1
			o.History = append(o.History, pharmacy.OrderEvent{Status: s, At: at, Username: "demo", Note: note})
			return true
		}
		o.Version, o.UpdatedAt = 1, created
		x := rng.IntN(100)
		if fixed != nil {
			x = 99 // approved in full, shipped, received
		}
		switch {
		case x < 2:
			step(pharmacy.OrderCancelled, hours(1, 12), "")
		case x < 5:
			step(pharmacy.OrderRejected, hours(2, 48), "本月已超请领额度")
		default:
			partial := x < 20
			for j := range o.Lines {
				l := &o.Lines[j]
				l.Approved = l.Requested
				if partial && j%2 == 0 {
					l.Approved = l.Requested * int64(5+rng.IntN(5)) / 10
				}
			}
			if !step(pharmacy.OrderApproved, hours(2, 48), "") {
				for j := range o.Lines {
					o.Lines[j].Approved = 0
				}
				break
			}
			o.SupplierID = g.hosp.ID
			shipAt := at.Add(hours(4, 72))
			for j := range o.Lines {
				l := &o.Lines[j]
				exp := care.Today(shipAt).AddDays(365 + rng.IntN(550))
				l.Shipments = []pharmacy.Shipment{{Batch: fmt.Sprintf("S%d-%d", o.ID, j+1), Expiry: exp, Quantity: l.Approved}}
				l.Shipped = l.Approved
			}
			if !step(pharmacy.OrderShipped, shipAt.Sub(at), "") {
				for j := range o.Lines {
					o.Lines[j].Shipments, o.Lines[j].Shipped = nil, 0
				}
				break
			}
			if !step(pharmacy.OrderReceived, hours(2, 48), "") || at.Before(opens) {
				break
			}
			for _, l := range o.Lines {
				for _, sh := range l.Shipments {
					lot := &pharmacy.Lot{ID: g.id("stock_lot"), County: o.County, InstitutionID: c.ID, DrugCode: l.DrugCode, Batch: sh.Batch, Expiry: sh.Expiry, Quantity: sh.Quantity}
					if err := g.b.StockLot(lot); err != nil {
						return err
					}
					m := &pharmacy.Movement{ID: g.id("stock_move"), County: o.County, InstitutionID: c.ID, LotID: lot.ID, DrugCode: l.DrugCode,
						Kind: pharmacy.MoveReceipt, Delta: sh.Quantity, Ref: fmt.Sprintf("supply:%d", o.ID), At: at}
					if err := g.b.StockMovement(m); err != nil {
						return err
					}
				}
			}
		}
		if err := g.b.SupplyOrder(o); err != nil {
			return err
		}
	}
	g.res.SupplyOrders = n
	return nil
}
