package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/demo"
	"countycare/internal/testdb"
	"countycare/pharmacy"
	"countycare/resident"
	"countycare/rx"
	"countycare/settle"
	"countycare/store"
)

type pharmacyFixture struct {
	*fixture
	rx     *rx.Service
	svc    *pharmacy.Service
	settle *settle.Service
}

func newPharmacyFixture(t *testing.T, d store.Dialect) *pharmacyFixture {
	f, ss, _ := settleFixture(t, d)
	rxs := rxService(t, f)
	prices, err := pharmacy.ExamplePrices(rxs.Engine.KB)
	if err != nil {
		t.Fatal(err)
	}
	svc := &pharmacy.Service{Repo: f.st, Rx: rxs, KB: rxs.Engine.KB, Config: rxs.Engine.Config, Prices: prices, Orgs: f.orgs, Residents: f.res,
		Payer: pharmacy.SettlePayer{Settle: ss}, Audit: syncRecorder{f.st, t}, Now: f.clk.Now}
	return &pharmacyFixture{fixture: f, rx: rxs, svc: svc, settle: ss}
}

// adult returns a resident of the village doctor's clinic born before 1970.
func (f *pharmacyFixture) adult(t *testing.T) *resident.Resident {
	people, _, err := f.res.Search(context.Background(), f.actors[care.RoleVillageDoctor], "", resident.Filter{BornOnOrBefore: care.Date{Year: 1970, Month: 1, Day: 1}, Limit: 2})
	if err != nil || len(people) == 0 {
		t.Fatalf("no adult in the demo village: %v", err)
	}
	return &people[0]
}

func (f *pharmacyFixture) receive(t *testing.T, a care.Actor, drug, batch, expiry string, n int64) {
	t.Helper()
	if _, err := f.svc.MoveStock(context.Background(), a, pharmacy.StockInput{Kind: pharmacy.MoveReceipt, DrugCode: drug, Batch: batch, Expiry: mustDate(expiry), Delta: n}); err != nil {
		t.Fatalf("receive %s: %v", drug, err)
	}
}

func mustDate(s string) care.Date {
	d, err := care.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func onHand(t *testing.T, f *pharmacyFixture, a care.Actor, drug string) map[string]int64 {
	t.Helper()
	lots, err := f.st.Lots(context.Background(), a.CountyCode, a.InstitutionID, drug)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, l := range lots {
		out[l.Batch] = l.Quantity
	}
	return out
}

// TestDispenseFromStock: dispensing takes the stock first expiry first
// out in the same transaction as the prescription's status, settles the
// bill through the settlement engine, and refuses — nothing dispensed, no
// stock moved, nothing paid — when stock is short or the prescription is
// not reviewed. Delivery runs through the courier states with proof of
// receipt; the resident sees the order.
func TestDispenseFromStock(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newPharmacyFixture(t, d)
		ctx := context.Background()
		vd := f.actors[care.RoleVillageDoctor]
		p := f.adult(t)

		f.receive(t, vd, "amlodipine-5t", "A-LATE", "2027-10-31", 30)
		f.receive(t, vd, "amlodipine-5t", "A-SOON", "2026-12-31", 5)
		sg, _, err := f.rx.Sign(ctx, vd, p.ID, rxDraft(amlodipine7))
		if err != nil || sg.Status != rx.StatusPassed {
			t.Fatalf("sign: %v", err)
		}
		// Short: 7 needed, 35 on hand of amlodipine, none of metformin.
		short, _, err := f.rx.Sign(ctx, vd, p.ID, &rx.Prescription{Kind: rx.KindNormal, Diagnoses: []string{"I10", "E11"}, Patient: rx.Patient{WeightKg: 60},
			Lines: []rx.Line{amlodipine7, {DrugCode: "metformin-500t", Dose: 500, DoseUnit: "mg", Frequency: "bid", Route: "po", Days: 7, Quantity: 14}}})
		if err != nil || !short.Status.Reviewed() {
			t.Fatalf("sign short: %+v %v", short, err)
		}
		_, err = f.svc.Dispense(ctx, vd, short.ID, pharmacy.DispenseInput{Mode: pharmacy.ModePickup, Insured: true})
		if care.ErrorCode(err) != care.ECONFLICT || err.(*care.Error).Key != "pharmacy.stock_short" || len(err.(*care.Error).Fields) != 1 ||
			err.(*care.Error).Fields[0].Field != "metformin-500t" {
			t.Fatalf("short stock: %v", err)
		}
		if got := onHand(t, f, vd, "amlodipine-5t"); got["A-SOON"] != 5 || got["A-LATE"] != 30 {
			t.Errorf("stock moved on a refused dispensing: %v", got)
		}
		if again, _ := f.st.Prescription(ctx, short.ID); again.Status == rx.StatusDispensed {
			t.Error("refused prescription marked dispensed")
		}
		if list, _ := f.settle.ForResident(ctx, f.actors[care.RoleInsuranceOfficer], p.ID); len(list) != 0 {
			t.Errorf("refused dispensing was paid: %+v", list)
		}

		// A floor of 30 units: the dispensing below leaves 28 and raises an
		// alert through the outbox in its own transaction.
		if err := f.svc.SetThreshold(ctx, vd, pharmacy.Threshold{InstitutionID: vd.InstitutionID, DrugCode: "amlodipine-5t", MinUnits: 30}); err != nil {
			t.Fatal(err)
		}
		if msgs, _ := f.st.MessagesTo(ctx, vd.CountyCode, 0, "pharmacy.low_stock", 10); len(msgs) != 0 {
			t.Fatalf("alert before dispensing: %d", len(msgs))
		}
		// Dispensed: 5 from the lot expiring first, 2 from the later one.
		ful, err := f.svc.Dispense(ctx, vd, sg.ID, pharmacy.DispenseInput{Mode: pharmacy.ModeDelivery, Address: "一组12号", Insured: true})
		if err != nil {
			t.Fatalf("dispense: %v", err)
		}
		if got := onHand(t, f, vd, "amlodipine-5t"); got["A-SOON"] != 0 || got["A-LATE"] != 28 {
			t.Errorf("FEFO: on hand %v, want A-SOON 0, A-LATE 28", got)
		}
		if len(ful.Takes) != 2 || ful.Takes[0].Batch != "A-SOON" || ful.Takes[0].Quantity != 5 || ful.Takes[1].Quantity != 2 {
			t.Errorf("takes %+v", ful.Takes)
		}
		price := f.svc.Prices["amlodipine-5t"].UnitFen
		if ful.TotalFen != 7*price || ful.SettlementID == 0 || ful.PatientFen >= ful.TotalFen || ful.PatientFen < 0 {
			t.Errorf("payment: total %d (want %d) patient %d settlement %d", ful.TotalFen, 7*price, ful.PatientFen, ful.SettlementID)
		}
		st, err := f.settle.Get(ctx, f.actors[care.RoleInsuranceOfficer], ful.SettlementID)
		if err != nil || st.VisitID != pharmacy.VisitID(sg.ID) || int64(st.Result.Total) != ful.TotalFen || int64(st.Result.Patient) != ful.PatientFen {
			t.Fatalf("settlement %+v %v", st, err)
		}
		if msgs, _ := f.st.MessagesTo(ctx, vd.CountyCode, 0, "pharmacy.low_stock", 10); len(msgs) == 0 || !strings.Contains(msgs[0].Body, "28") {
			t.Errorf("no low-stock alert after dispensing: %+v", msgs)
		}
		if again, _ := f.st.Prescription(ctx, sg.ID); again.Status != rx.StatusDispensed {
			t.Errorf("status %s", again.Status)
		}
		// Twice: the prescription is no longer reviewed-and-waiting.
		if _, err := f.svc.Dispense(ctx, vd, sg.ID, pharmacy.DispenseInput{Mode: pharmacy.ModePickup}); !care.IsCode(err, care.ECONFLICT) {
			t.Errorf("second dispensing: %v", err)
		}
		moves, _ := f.st.Movements(ctx, vd.CountyCode, vd.InstitutionID, "amlodipine-5t", 10)
		var sum int64
		for _, m := range moves {
			sum += m.Delta
		}
		if sum != 28 {
			t.Errorf("ledger sums to %d, want 28 on hand", sum)
		}

		// Courier: packed → shipped → out for delivery → delivered with proof.
		steps := []pharmacy.FulfilAction{{To: pharmacy.FulShipped, Courier: "县邮政"}, {To: pharmacy.FulOut}, {To: pharmacy.FulDelivered, ReceiverName: p.Name, ProofCode: "4821"}}
		if _, err := f.svc.Advance(ctx, vd, sg.ID, pharmacy.FulfilAction{To: pharmacy.FulDelivered, Version: 1}); !care.IsCode(err, care.ECONFLICT) {
			t.Errorf("packed → delivered allowed: %v", err)
		}
		if _, err := f.svc.Advance(ctx, vd, sg.ID, pharmacy.FulfilAction{To: pharmacy.FulShipped, Version: 1}); !care.IsCode(err, care.EINVALID) {
			t.Errorf("shipped without courier: %v", err)
		}
		for _, s := range steps {
			s.Version = ful.Version
			if ful, err = f.svc.Advance(ctx, vd, sg.ID, s); err != nil {
				t.Fatalf("%s: %v", s.To, err)
			}
		}
		if ful.Status != pharmacy.FulDelivered || ful.ReceiverName != p.Name || len(ful.History) != 4 {
			t.Errorf("delivered: %+v", ful)
		}
		// The resident sees the order; another clinic's doctor does not.
		me := care.Actor{AccountID: 999999, Role: care.RoleResident, ResidentID: p.ID, CountyCode: p.CountyCode}
		if got, err := f.svc.Fulfilment(ctx, me, sg.ID); err != nil || got.Status != pharmacy.FulDelivered {
			t.Errorf("resident view: %v", err)
		}
		other := vd
		other.InstitutionID = f.actors[care.RoleCountySpecialist].InstitutionID
		if _, err := f.svc.Fulfilment(ctx, other, sg.ID); !care.IsCode(err, care.ENOTFOUND) {
			t.Errorf("another institution's doctor: %v", err)
		}
		rows, _ := f.st.SearchAudit(ctx, audit.Filter{ResidentIDs: []int64{p.ID}, Action: pharmacy.ActDispense})
		if len(rows) == 0 {
			t.Error("no audit row for the dispensing")
		}
		rows, _ = f.st.SearchAudit(ctx, audit.Filter{ResidentIDs: []int64{p.ID}, Action: pharmacy.ActFulfilMove})
		if len(rows) != 3 {
			t.Errorf("fulfilment audit rows %d, want 3", len(rows))
		}
	})
}

// TestPickupAndReturn: a pick-up needs the resident's code; an order never
// collected is returned: the drugs go back on their lots and the
// settlement is reversed.
func TestPickupAndReturn(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newPharmacyFixture(t, d)
		ctx := context.Background()
		vd := f.actors[care.RoleVillageDoctor]
		p := f.adult(t)
		f.receive(t, vd, "amlodipine-5t", "B1", "2027-10-31", 20)
		one, _, _ := f.rx.Sign(ctx, vd, p.ID, rxDraft(amlodipine7))
		two, _, _ := f.rx.Sign(ctx, vd, p.ID, rxDraft(amlodipine7))
		a, err := f.svc.Dispense(ctx, vd, one.ID, pharmacy.DispenseInput{Mode: pharmacy.ModePickup, Insured: true})
		if err != nil || a.Status != pharmacy.FulReady || len(a.PickupCode) != 6 || a.PickupClinicID != vd.InstitutionID {
			t.Fatalf("pickup: %+v %v", a, err)
		}
		wrong := "000000"
		if a.PickupCode == wrong {
			wrong = "111111"
		}
		if _, err := f.svc.Advance(ctx, vd, one.ID, pharmacy.FulfilAction{To: pharmacy.FulPickedUp, PickupCode: wrong, PickedUpBy: p.Name, Version: 1}); !care.IsCode(err, care.EINVALID) {
			t.Errorf("wrong code: %v", err)
		}
		if a, err = f.svc.Advance(ctx, vd, one.ID, pharmacy.FulfilAction{To: pharmacy.FulPickedUp, PickupCode: a.PickupCode, PickedUpBy: p.Name, Version: 1}); err != nil || a.Status != pharmacy.FulPickedUp {
			t.Fatalf("picked up: %v", err)
		}
		b, err := f.svc.Dispense(ctx, vd, two.ID, pharmacy.DispenseInput{Mode: pharmacy.ModePickup, Insured: true})
		if err != nil {
			t.Fatal(err)
		}
		if got := onHand(t, f, vd, "amlodipine-5t")["B1"]; got != 6 {
			t.Fatalf("on hand %d, want 6", got)
		}
		if _, err := f.svc.Advance(ctx, vd, two.ID, pharmacy.FulfilAction{To: pharmacy.FulReturned, Version: 1}); !care.IsCode(err, care.EINVALID) {
			t.Errorf("return without reason: %v", err)
		}
		if b, err = f.svc.Advance(ctx, vd, two.ID, pharmacy.FulfilAction{To: pharmacy.FulReturned, Note: "未取药", Version: 1}); err != nil {
			t.Fatalf("return: %v", err)
		}
		if got := onHand(t, f, vd, "amlodipine-5t")["B1"]; got != 13 {
			t.Errorf("after return on hand %d, want 13", got)
		}
		st, err := f.settle.Get(ctx, f.actors[care.RoleInsuranceOfficer], b.SettlementID)
		if err != nil || st.Status != settle.StatusReversed {
			t.Errorf("settlement after return: %+v %v", st, err)
		}
		if list, _ := f.svc.Mine(ctx, care.Actor{AccountID: 999999, Role: care.RoleResident, ResidentID: p.ID, CountyCode: p.CountyCode}); len(list) != 2 {
			t.Errorf("resident sees %d orders, want 2", len(list))
		}
	})
}

// TestSupplyOrderAndStock: a village clinic orders, the county pharmacist
// approves part, ships with batches, the clinic confirms and its stock
// grows in that transaction; stock never goes negative; low stock queues
// one alert a week through the outbox; the shortfall list follows the
// 5-drugs-per-class rule.
func TestSupplyOrderAndStock(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newPharmacyFixture(t, d)
		ctx := context.Background()
		vd, ph := f.actors[care.RoleVillageDoctor], f.actors[care.RolePharmacist]

		if _, err := f.svc.CreateOrder(ctx, vd, pharmacy.OrderInput{Lines: []pharmacy.OrderLine{{DrugCode: "nope", Requested: 1}, {DrugCode: "amlodipine-5t", Requested: 0}}}); !care.IsCode(err, care.EINVALID) ||
			len(err.(*care.Error).Fields) != 2 {
			t.Errorf("bad order: %v", err)
		}
		o, err := f.svc.CreateOrder(ctx, vd, pharmacy.OrderInput{Lines: []pharmacy.OrderLine{{DrugCode: "amlodipine-5t", Requested: 100}, {DrugCode: "metformin-500t", Requested: 200}}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Act(ctx, vd, o.ID, pharmacy.OrderAction{Action: "approve", Version: o.Version}); !care.IsCode(err, care.EFORBIDDEN) {
			t.Errorf("clinic approves its own order: %v", err)
		}
		if _, err := f.svc.Act(ctx, ph, o.ID, pharmacy.OrderAction{Action: "receive", Version: o.Version}); !care.IsCode(err, care.EFORBIDDEN) {
			t.Errorf("pharmacist receives: %v", err)
		}
		if o, err = f.svc.Act(ctx, ph, o.ID, pharmacy.OrderAction{Action: "approve", Approved: map[string]int64{"metformin-500t": 120}, Version: o.Version}); err != nil || !o.Partial() {
			t.Fatalf("approve: %+v %v", o, err)
		}
		if _, err := f.svc.Act(ctx, ph, o.ID, pharmacy.OrderAction{Action: "ship", Version: o.Version,
			Ship: map[string][]pharmacy.Shipment{"metformin-500t": {{Batch: "M1", Expiry: mustDate("2027-05-31"), Quantity: 121}}}}); !care.IsCode(err, care.EINVALID) {
			t.Errorf("shipped above approved: %v", err)
		}
		if o, err = f.svc.Act(ctx, ph, o.ID, pharmacy.OrderAction{Action: "ship", Version: o.Version, Ship: map[string][]pharmacy.Shipment{
			"amlodipine-5t":  {{Batch: "A1", Expiry: mustDate("2027-05-31"), Quantity: 60}, {Batch: "A2", Expiry: mustDate("2027-09-30"), Quantity: 40}},
			"metformin-500t": {{Batch: "M1", Expiry: mustDate("2027-05-31"), Quantity: 120}}}}); err != nil {
			t.Fatalf("ship: %v", err)
		}
		if got := onHand(t, f, vd, ""); len(got) != 0 {
			t.Errorf("stock before receipt: %v", got)
		}
		if _, err := f.svc.Act(ctx, vd, o.ID, pharmacy.OrderAction{Action: "receive", Version: o.Version - 1}); !care.IsCode(err, care.ECONFLICT) {
			t.Errorf("stale version: %v", err)
		}
		if o, err = f.svc.Act(ctx, vd, o.ID, pharmacy.OrderAction{Action: "receive", Version: o.Version}); err != nil || o.Status != pharmacy.OrderReceived || len(o.History) != 4 {
			t.Fatalf("receive: %+v %v", o, err)
		}
		if got := onHand(t, f, vd, ""); got["A1"] != 60 || got["A2"] != 40 || got["M1"] != 120 {
			t.Errorf("after receipt: %v", got)
		}
		if _, err := f.svc.Act(ctx, vd, o.ID, pharmacy.OrderAction{Action: "receive", Version: o.Version}); !care.IsCode(err, care.ECONFLICT) {
			t.Errorf("received twice: %v", err)
		}

		// Never negative: an adjustment below zero is refused.
		lots, _ := f.st.Lots(ctx, vd.CountyCode, vd.InstitutionID, "metformin-500t")
		if _, err := f.svc.MoveStock(ctx, vd, pharmacy.StockInput{Kind: pharmacy.MoveAdjust, LotID: lots[0].ID, Delta: -121, Reason: "盘点"}); !care.IsCode(err, care.ECONFLICT) {
			t.Errorf("negative stock: %v", err)
		}
		if _, err := f.svc.MoveStock(ctx, vd, pharmacy.StockInput{Kind: pharmacy.MoveAdjust, LotID: lots[0].ID, Delta: -1}); !care.IsCode(err, care.EINVALID) {
			t.Errorf("adjustment without reason: %v", err)
		}
		if _, err := f.svc.MoveStock(ctx, vd, pharmacy.StockInput{Kind: pharmacy.MoveExpire, LotID: lots[0].ID}); !care.IsCode(err, care.EINVALID) {
			t.Errorf("write-off before expiry: %v", err)
		}
		if _, err := f.svc.MoveStock(ctx, vd, pharmacy.StockInput{Kind: pharmacy.MoveAdjust, LotID: lots[0].ID, Delta: -110, Reason: "破损"}); err != nil {
			t.Fatal(err)
		}
		// Expiry write-off once the lot has expired.
		f.clk.Add(200 * 24 * time.Hour)
		if _, err := f.svc.MoveStock(ctx, vd, pharmacy.StockInput{Kind: pharmacy.MoveExpire, LotID: lots[0].ID}); err != nil {
			t.Fatalf("write-off: %v", err)
		}
		if got := onHand(t, f, vd, "metformin-500t"); len(got) != 0 {
			t.Errorf("written off lot still holds %v", got)
		}

		// Low stock: a floor of 100 units for amlodipine (40 usable: A1 expired).
		if err := f.svc.SetThreshold(ctx, vd, pharmacy.Threshold{InstitutionID: vd.InstitutionID, DrugCode: "amlodipine-5t", MinUnits: 100}); err != nil {
			t.Fatal(err)
		}
		low, n, err := f.svc.AlertLowStock(ctx, vd, vd.CountyCode, vd.InstitutionID)
		if err != nil || n != 1 || len(low) != 1 || low[0].DrugCode != "amlodipine-5t" || low[0].OnHand != 40 {
			t.Fatalf("alert: %+v %d %v", low, n, err)
		}
		if _, n, _ = f.svc.AlertLowStock(ctx, vd, vd.CountyCode, vd.InstitutionID); n != 0 {
			t.Errorf("second alert within a week: %d", n)
		}
		msgs, _ := f.st.MessagesTo(ctx, vd.CountyCode, 0, "pharmacy.low_stock", 10)
		if len(msgs) == 0 {
			t.Error("no low-stock message in the outbox")
		}
		v, err := f.svc.Stock(ctx, vd, vd.InstitutionID)
		if err != nil || len(v.Shortfalls) != len(pharmacy.Classes) {
			t.Errorf("shortfalls: %+v %v", v, err)
		}
		// Another clinic's stock is not found.
		if _, err := f.svc.Stock(ctx, vd, f.actors[care.RoleCountySpecialist].InstitutionID); !care.IsCode(err, care.ENOTFOUND) {
			t.Errorf("other institution's stock: %v", err)
		}
	})
}

// TestDemoSupplyOrders: the demo writes the scaled supply orders in every
// state, the clinics' lots with a receipt each in the ledger (the ledger
// sums to the stock), and the identity sequences move past the loaded
// rows so a new order gets a fresh ID on both databases.
func TestDemoSupplyOrders(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		clk := &clock{t: time.Date(2026, 11, 22, 2, 0, 0, 0, time.UTC)}
		st := testdb.Open(t, d, clk.Now)
		ctx := context.Background()
		res, err := demo.Generate(ctx, st, demo.Config{Residents: 1000, Villages: 6, VillageDoctors: 8, SupplyOrders: 400, Now: clk.Now()}, quiet)
		if err != nil {
			t.Fatal(err)
		}
		if res.SupplyOrders != 400 || demo.ScaledSupplyOrders(demo.SeedPopulation) != demo.SeedSupplyOrders {
			t.Fatalf("supply orders %d", res.SupplyOrders)
		}
		orders, err := st.SupplyOrders(ctx, "411723", nil, "", 1000)
		if err != nil || len(orders) != 400 {
			t.Fatalf("orders %d %v", len(orders), err)
		}
		by := map[pharmacy.OrderStatus]int{}
		clinics := map[int64]bool{}
		for _, o := range orders {
			by[o.Status]++
			if o.Status == pharmacy.OrderReceived {
				clinics[o.ClinicID] = true
			}
			if o.Version != len(o.History) {
				t.Errorf("order %d: version %d, %d history steps", o.ID, o.Version, len(o.History))
			}
		}
		if by[pharmacy.OrderReceived] < 300 || by[pharmacy.OrderRejected] == 0 {
			t.Errorf("states %v", by)
		}
		lots, moves := 0, 0
		for c := range clinics {
			ls, _ := st.Lots(ctx, orders[0].County, c, "")
			ms, _ := st.Movements(ctx, orders[0].County, c, "", 100000)
			sum := map[int64]int64{}
			for _, m := range ms {
				sum[m.LotID] += m.Delta
			}
			for _, l := range ls {
				if sum[l.ID] != l.Quantity {
					t.Errorf("lot %d: ledger %d, quantity %d", l.ID, sum[l.ID], l.Quantity)
				}
			}
			lots, moves = lots+len(ls), moves+len(ms)
		}
		if lots == 0 || lots != moves {
			t.Errorf("lots %d, receipts %d", lots, moves)
		}
		o := &pharmacy.SupplyOrder{County: orders[0].County, ClinicID: orders[0].ClinicID, Status: pharmacy.OrderRequested, Lines: []pharmacy.OrderLine{{DrugCode: "amlodipine-5t", Requested: 1}},
			CreatedAt: clk.Now(), UpdatedAt: clk.Now()}
		if err := st.CreateSupplyOrder(ctx, o, audit.Event{Action: "test", Outcome: audit.OutcomeOK}); err != nil || o.ID <= orders[0].ID {
			t.Errorf("new order after the load: id %d, %v", o.ID, err)
		}
	})
}

// TestDispenseAfterRefundPaysAgain: a payment an earlier version made and
// refunded after a failed dispensing (it paid and dispensed in two
// transactions) is not reused — dispensing settles the visit afresh under
// the next key of the chain.
func TestDispenseAfterRefundPaysAgain(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newPharmacyFixture(t, d)
		ctx := context.Background()
		vd := f.actors[care.RoleVillageDoctor]
		p := f.adult(t)
		f.receive(t, vd, "amlodipine-5t", "A1", "2027-10-31", 30)
		sg, _, err := f.rx.Sign(ctx, vd, p.ID, rxDraft(amlodipine7))
		if err != nil || sg.Status != rx.StatusPassed {
			t.Fatalf("sign: %v", err)
		}
		first := f.legacyPayment(t, sg.ID, p.ID)
		if _, err := f.settle.Reverse(ctx, vd, first, "dispensing failed"); err != nil {
			t.Fatal(err)
		}
		ful, err := f.svc.Dispense(ctx, vd, sg.ID, pharmacy.DispenseInput{Mode: pharmacy.ModePickup, Insured: true})
		if err != nil {
			t.Fatalf("dispense after the refund: %v", err)
		}
		io := f.actors[care.RoleInsuranceOfficer]
		st, err := f.settle.Get(ctx, io, ful.SettlementID)
		if err != nil || ful.SettlementID == first || st.Status == settle.StatusReversed || st.Key != fmt.Sprintf("rx-dispense-%d-after-%d", sg.ID, first) {
			t.Fatalf("dispensed on settlement %d (refunded one %d), %+v, %v", ful.SettlementID, first, st, err)
		}
		if old, _ := f.settle.Get(ctx, io, first); old.Status != settle.StatusReversed {
			t.Errorf("the refunded attempt is %s", old.Status)
		}
	})
}

// legacyPayment settles prescription id's bill outside dispensing, as the
// payment step of an earlier version did (key rx-dispense-<id>), and
// returns the settlement.
func (f *pharmacyFixture) legacyPayment(t *testing.T, rxID, residentID int64) int64 {
	t.Helper()
	vd := f.actors[care.RoleVillageDoctor]
	price := f.svc.Prices["amlodipine-5t"]
	in := settle.Input{ResidentID: residentID, InstitutionID: vd.InstitutionID, VisitID: pharmacy.VisitID(rxID), Date: care.Today(f.clk.Now()).String(),
		VisitType: settle.Outpatient, Insured: true,
		Lines: []settle.Line{{Code: "amlodipine-5t", Name: f.svc.KB.Drug("amlodipine-5t").NameZH, Class: settle.ClassDrug, Category: price.Category,
			Amount: settle.Fen(price.UnitFen * int64(amlodipine7.Quantity))}}}
	st, _, err := f.settle.Settle(context.Background(), vd, in, fmt.Sprintf("rx-dispense-%d", rxID), 0)
	if err != nil {
		t.Fatalf("legacy payment: %v", err)
	}
	return st.ID
}

// TestDispenseCrashAfterPayment (issue 18): payment and the dispensing
// write were two transactions, and a crash between them left a paid,
// undispensed prescription. A failure injected after the settlement is
// written, inside the dispensing transaction, leaves nothing: no
// settlement, no accumulators, no stock moved, the prescription still to
// dispense. The retry then pays and dispenses exactly once; another retry
// is refused and pays nothing. A live payment an earlier version left
// behind (its crash) is the one the retry uses: never a second.
func TestDispenseCrashAfterPayment(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newPharmacyFixture(t, d)
		ctx := context.Background()
		vd := f.actors[care.RoleVillageDoctor]
		io := f.actors[care.RoleInsuranceOfficer]
		p := f.adult(t)
		f.receive(t, vd, "amlodipine-5t", "A1", "2027-10-31", 30)
		sg, _, err := f.rx.Sign(ctx, vd, p.ID, rxDraft(amlodipine7))
		if err != nil {
			t.Fatal(err)
		}
		year := care.Today(f.clk.Now()).Year
		onHand := func() int64 {
			lots, err := f.st.Lots(ctx, vd.CountyCode, vd.InstitutionID, "amlodipine-5t")
			if err != nil {
				t.Fatal(err)
			}
			n := int64(0)
			for _, l := range lots {
				n += l.Quantity
			}
			return n
		}
		visitSettlements := func(visit string) (live, all int) {
			sts, err := f.st.Settlements(ctx, settle.SettlementFilter{County: p.CountyCode, ResidentID: p.ID, Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range sts {
				if s.VisitID == visit {
					all++
					if s.Status == settle.StatusSettled {
						live++
					}
				}
			}
			return
		}
		crash := errors.New("injected crash after payment")
		f.st.FailAfterForTest("dispense.paid", crash)
		if _, err := f.svc.Dispense(ctx, vd, sg.ID, pharmacy.DispenseInput{Mode: pharmacy.ModePickup, Insured: true}); !errors.Is(err, crash) {
			t.Fatalf("dispense with the crash injected: %v", err)
		}
		f.st.FailAfterForTest("", nil)
		if live, all := visitSettlements(pharmacy.VisitID(sg.ID)); all != 0 {
			t.Errorf("after the crash: %d settlements of the prescription (%d live), want none", all, live)
		}
		if acc, _ := f.st.SettleAccumulators(ctx, p.CountyCode, p.ID, year); !acc.Equal(settle.Accumulators{}) {
			t.Errorf("after the crash the year's totals moved: %+v", acc)
		}
		if n := onHand(); n != 30 {
			t.Errorf("after the crash %d on hand, want 30", n)
		}
		if got, _ := f.rx.Get(ctx, vd, sg.ID); got.Status != rx.StatusPassed {
			t.Errorf("after the crash the prescription is %s", got.Status)
		}
		if _, err := f.st.Fulfilment(ctx, sg.ID); !care.IsCode(err, care.ENOTFOUND) {
			t.Errorf("after the crash a fulfilment exists: %v", err)
		}
		// The retry completes, once.
		ful, err := f.svc.Dispense(ctx, vd, sg.ID, pharmacy.DispenseInput{Mode: pharmacy.ModePickup, Insured: true})
		if err != nil {
			t.Fatalf("retry: %v", err)
		}
		st, err := f.settle.Get(ctx, io, ful.SettlementID)
		if err != nil || st.Status != settle.StatusSettled || st.Result.Total != settle.Fen(ful.TotalFen) || int64(st.Result.Patient) != ful.PatientFen {
			t.Fatalf("retry's settlement %+v %v", st, err)
		}
		if _, err := f.svc.Dispense(ctx, vd, sg.ID, pharmacy.DispenseInput{Mode: pharmacy.ModePickup, Insured: true}); !care.IsCode(err, care.ECONFLICT) {
			t.Errorf("second dispensing: %v", err)
		}
		if live, all := visitSettlements(pharmacy.VisitID(sg.ID)); live != 1 || all != 1 {
			t.Errorf("%d settlements of the prescription (%d live), want exactly 1", all, live)
		}
		if n := onHand(); n != 30-int64(amlodipine7.Quantity) {
			t.Errorf("%d on hand, want %d", n, 30-int64(amlodipine7.Quantity))
		}
		if acc, _ := f.st.SettleAccumulators(ctx, p.CountyCode, p.ID, year); !acc.Equal(st.Result.Delta) {
			t.Errorf("year's totals %+v, want the one payment's %+v", acc, st.Result.Delta)
		}

		// A paid, undispensed prescription left by an earlier version's crash: the retry uses that payment.
		sg2, _, err := f.rx.Sign(ctx, vd, p.ID, rxDraft(amlodipine7))
		if err != nil {
			t.Fatal(err)
		}
		paid := f.legacyPayment(t, sg2.ID, p.ID)
		ful2, err := f.svc.Dispense(ctx, vd, sg2.ID, pharmacy.DispenseInput{Mode: pharmacy.ModePickup, Insured: true})
		if err != nil || ful2.SettlementID != paid {
			t.Fatalf("dispensing a prescription paid before: settlement %v (paid %d), %v", ful2, paid, err)
		}
		if live, all := visitSettlements(pharmacy.VisitID(sg2.ID)); live != 1 || all != 1 {
			t.Errorf("%d settlements of the second prescription (%d live), want exactly 1", all, live)
		}
	})
}

// TestScanLowStock: the periodic scan (serve's low-stock job, issue 18)
// finds every institution with stock and alerts on its low drugs, still at
// most once a week per drug and institution (docs/pharmacy.md).
func TestScanLowStock(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newPharmacyFixture(t, d)
		ctx := context.Background()
		vd := f.actors[care.RoleVillageDoctor]
		f.receive(t, vd, "amlodipine-5t", "A1", "2027-10-31", 10)
		if err := f.svc.SetThreshold(ctx, vd, pharmacy.Threshold{InstitutionID: vd.InstitutionID, DrugCode: "amlodipine-5t", MinUnits: 100}); err != nil {
			t.Fatal(err)
		}
		system := care.Actor{Username: "serve:low-stock-scan", Role: care.RoleAdmin}
		insts, queued, err := f.svc.ScanLowStock(ctx, system)
		if err != nil || insts < 1 || queued < 1 {
			t.Fatalf("scan: %d institutions, %d alerts, %v", insts, queued, err)
		}
		msgs, _ := f.st.MessagesTo(ctx, vd.CountyCode, 0, "pharmacy.low_stock", 10)
		if len(msgs) == 0 {
			t.Error("no low-stock message in the outbox")
		}
		if _, again, err := f.svc.ScanLowStock(ctx, system); err != nil || again != 0 {
			t.Errorf("second scan within the week: %d alerts, %v", again, err)
		}
	})
}

// ordinaryAdult is a resident of a's village born before 1970 in no
// poverty category (so the settlement layers are basic insurance alone).
func (f *pharmacyFixture) ordinaryAdult(t *testing.T, a care.Actor) *resident.Resident {
	t.Helper()
	people, _, err := f.res.Search(context.Background(), a, "", resident.Filter{BornOnOrBefore: care.Date{Year: 1970, Month: 1, Day: 1}, Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	for i := range people {
		if people[i].Poverty == "" {
			return &people[i]
		}
	}
	t.Fatal("no adult outside the poverty categories in the demo village")
	return nil
}

// TestChronicCertificationSettlesDispensing (issue 18): a resident certified
// for the chronic special outpatient (门诊慢特病) has the drugs of a
// prescription whose diagnosis the certification covers settled through
// the category's own layer, not as a plain outpatient visit. Policy
// 985-2026.json (policy-rules.md §5, parameters as data): village
// outpatient — annual deductible 0, 60 %; chronic category HT (高血压) —
// deductible 0, 65 %, annual limit 3,000; critical illness counts chronic
// visits but its 6,269 deductible is far off. pharmacy/prices-example.psv:
// amlodipine-5t 1.85 yuan a tablet, category A (甲类, 100 % eligible).
//
//	7 tablets = 12.95 yuan. Certified: 65 % × 12.95 = 8.4175 → 8.42 (half up);
//	the patient pays 4.53. Not certified (or certification ended):
//	60 % × 12.95 = 7.77; the patient pays 5.18.
func TestChronicCertificationSettlesDispensing(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newPharmacyFixture(t, d)
		ctx := context.Background()
		vd := f.actors[care.RoleVillageDoctor]
		io := f.actors[care.RoleInsuranceOfficer]
		p := f.ordinaryAdult(t, vd)
		f.receive(t, vd, "amlodipine-5t", "A1", "2027-10-31", 50)
		good := settle.CertInput{ResidentID: p.ID, Category: "HT", Diagnosis: "i10", From: "2026-01-01", To: "2026-12-31", Office: "平舆县医疗保障局"}
		// Refusals name their field; only the insurance officer certifies.
		if _, err := f.settle.Certify(ctx, vd, good); !care.IsCode(err, care.EFORBIDDEN) {
			t.Errorf("village doctor certifying: %v", err)
		}
		for _, tt := range []struct {
			edit  func(*settle.CertInput)
			field string
		}{
			{func(c *settle.CertInput) { c.Diagnosis = "hypertension" }, "diagnosis"},
			{func(c *settle.CertInput) { c.Category = "XX" }, "category"},
			{func(c *settle.CertInput) { c.To = "2025-12-31" }, "valid_to"},
			{func(c *settle.CertInput) { c.From = "2026-13-01" }, "valid_from"},
			{func(c *settle.CertInput) { c.Office = " " }, "office"},
		} {
			in := good
			tt.edit(&in)
			_, err := f.settle.Certify(ctx, io, in)
			ce, ok := err.(*care.Error)
			if !ok || ce.Code != care.EINVALID || len(ce.Fields) == 0 || ce.Fields[0].Field != tt.field {
				t.Errorf("%s: %v", tt.field, err)
			}
		}
		cert, err := f.settle.Certify(ctx, io, good)
		if err != nil || cert.Diagnosis != "I10" || cert.Status != settle.CertActive {
			t.Fatalf("certify: %+v %v", cert, err)
		}
		y := func(s string) settle.Fen { v, _ := settle.ParseYuan(s); return v }
		dispense := func() *settle.Settlement {
			t.Helper()
			sg, _, err := f.rx.Sign(ctx, vd, p.ID, rxDraft(amlodipine7)) // diagnosis I10
			if err != nil {
				t.Fatal(err)
			}
			ful, err := f.svc.Dispense(ctx, vd, sg.ID, pharmacy.DispenseInput{Mode: pharmacy.ModePickup, Insured: true})
			if err != nil {
				t.Fatalf("dispense: %v", err)
			}
			st, err := f.settle.Get(ctx, io, ful.SettlementID)
			if err != nil {
				t.Fatal(err)
			}
			if st.Result.Total != y("12.95") || ful.PatientFen != int64(st.Result.Patient) {
				t.Fatalf("bill %s, fulfilment patient %d, settlement %s", st.Result.Total, ful.PatientFen, st.Result.Patient)
			}
			return st
		}
		st := dispense()
		if st.Claim.VisitType != settle.Chronic || st.Claim.ChronicCategory != "HT" || st.Result.Paid(settle.LayerBasic) != y("8.42") || st.Result.Patient != y("4.53") {
			t.Errorf("certified: %s/%s basic %s patient %s; want chronic/HT 8.42 and 4.53", st.Claim.VisitType, st.Claim.ChronicCategory,
				st.Result.Paid(settle.LayerBasic), st.Result.Patient)
		}
		acc, _ := f.st.SettleAccumulators(ctx, p.CountyCode, p.ID, 2026)
		if acc.ChronicPaid["HT"] != y("8.42") {
			t.Errorf("the HT annual limit's use: %s, want 8.42", acc.ChronicPaid["HT"])
		}
		// Ended: the next dispensing is a plain outpatient visit again.
		if _, err := f.settle.EndCertification(ctx, io, cert.ID, ""); !care.IsCode(err, care.EINVALID) {
			t.Errorf("end without a reason: %v", err)
		}
		if _, err := f.settle.EndCertification(ctx, io, cert.ID, "复审未通过"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.settle.EndCertification(ctx, io, cert.ID, "again"); !care.IsCode(err, care.ECONFLICT) {
			t.Errorf("second end: %v", err)
		}
		st = dispense()
		if st.Claim.VisitType != settle.Outpatient || st.Result.Paid(settle.LayerBasic) != y("7.77") || st.Result.Patient != y("5.18") {
			t.Errorf("after the end: %s basic %s patient %s; want outpatient 7.77 and 5.18", st.Claim.VisitType, st.Result.Paid(settle.LayerBasic), st.Result.Patient)
		}
		// A certification for diabetes does not cover a hypertension prescription.
		if _, err := f.settle.Certify(ctx, io, settle.CertInput{ResidentID: p.ID, Category: "DM", Diagnosis: "E11", From: "2026-01-01", To: "2026-12-31", Office: "医保局"}); err != nil {
			t.Fatal(err)
		}
		if st = dispense(); st.Claim.VisitType != settle.Outpatient {
			t.Errorf("a diabetes certification settled an I10 prescription as %s/%s", st.Claim.VisitType, st.Claim.ChronicCategory)
		}
		cs, err := f.settle.Certifications(ctx, io, p.ID)
		if err != nil || len(cs) != 2 || cs[1].Status != settle.CertEnded || cs[1].EndReason != "复审未通过" {
			t.Errorf("certifications: %+v %v", cs, err)
		}
		evs, _ := f.st.SearchAudit(ctx, audit.Filter{ResidentIDs: []int64{p.ID}, Limit: 200})
		seen := map[string]bool{}
		for _, e := range evs {
			seen[e.Action] = true
		}
		for _, act := range []string{settle.ActCertify, settle.ActCertEnd, settle.ActCertRead} {
			if !seen[act] {
				t.Errorf("no %s audit row", act)
			}
		}
	})
}

// TestMixedPrescriptionSplits (issue 18 §5): a certified patient's
// prescription for the certified disease and for something else settles
// as two visits — the drugs for the certified disease inside the
// category's drug range (用药范围) through the chronic special-outpatient
// layer, every other drug as plain outpatient care — because 门诊慢特病 and
// 普通门诊 are separate settlements (settle.Service.ChronicSplit). Policy
// 985-2026.json: HT pays ATC C02, C03, C07, C08, C09 at 65 %, deductible 0;
// village outpatient 60 %, deductible 0. pharmacy/prices-example.psv:
// amlodipine-5t 1.85, metformin-500t 0.85, aspirin-100t 0.70 yuan a tablet,
// all category A.
//
//	HT part: amlodipine (C08CA01, for I10) 7 × 1.85 = 12.95; 65 % = 8.4175 → 8.42; patient 4.53.
//	OP part: metformin (for E11.9, which the HT certification does not cover) 14 × 0.85 = 11.90
//	         + aspirin (for I10, but B01AC06 is outside HT's range) 7 × 0.70 = 4.90 = 16.80;
//	         60 % = 10.08; patient 6.72.
//	The fulfilment: two settlements, the patient pays 4.53 + 6.72 = 11.25. A return reverses both.
func TestMixedPrescriptionSplits(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newPharmacyFixture(t, d)
		ctx := context.Background()
		vd := f.actors[care.RoleVillageDoctor]
		io := f.actors[care.RoleInsuranceOfficer]
		p := f.ordinaryAdult(t, vd)
		for _, drug := range []string{"amlodipine-5t", "metformin-500t", "aspirin-100t"} {
			f.receive(t, vd, drug, "M1", "2027-10-31", 50)
		}
		if _, err := f.settle.Certify(ctx, io, settle.CertInput{ResidentID: p.ID, Category: "HT", Diagnosis: "I10", From: "2026-01-01", To: "2026-12-31", Office: "平舆县医疗保障局"}); err != nil {
			t.Fatal(err)
		}
		draft := rxDraft(amlodipine7,
			rx.Line{DrugCode: "metformin-500t", Dose: 500, DoseUnit: "mg", Frequency: "bid", Route: "po", Days: 7, Quantity: 14, Diagnosis: "E11.9"},
			rx.Line{DrugCode: "aspirin-100t", Dose: 100, DoseUnit: "mg", Frequency: "qd", Route: "po", Days: 7, Quantity: 7, Diagnosis: "I10"})
		draft.Diagnoses = []string{"I10", "E11.9"}
		sg, _, err := f.rx.Sign(ctx, vd, p.ID, draft)
		if err != nil {
			t.Fatal(err)
		}
		ful, err := f.svc.Dispense(ctx, vd, sg.ID, pharmacy.DispenseInput{Mode: pharmacy.ModePickup, Insured: true})
		if err != nil {
			t.Fatalf("dispense: %v", err)
		}
		y := func(s string) settle.Fen { v, _ := settle.ParseYuan(s); return v }
		ids := ful.Settlements()
		if len(ids) != 2 || ful.SettlementID != ids[0] {
			t.Fatalf("settlements %v (first %d), want 2", ids, ful.SettlementID)
		}
		ht, err := f.settle.Get(ctx, io, ids[0])
		if err != nil {
			t.Fatal(err)
		}
		op, err := f.settle.Get(ctx, io, ids[1])
		if err != nil {
			t.Fatal(err)
		}
		if ht.Claim.VisitType != settle.Chronic || ht.Claim.ChronicCategory != "HT" || ht.Claim.VisitID != pharmacy.VisitID(sg.ID)+"-HT" ||
			len(ht.Claim.Lines) != 1 || ht.Claim.Lines[0].Code != "amlodipine-5t" ||
			ht.Result.Total != y("12.95") || ht.Result.Paid(settle.LayerBasic) != y("8.42") || ht.Result.Patient != y("4.53") {
			t.Errorf("HT part: %s/%s %s lines %v total %s basic %s patient %s; want chronic/HT amlodipine 12.95, 8.42, 4.53",
				ht.Claim.VisitType, ht.Claim.ChronicCategory, ht.Claim.VisitID, ht.Claim.Lines, ht.Result.Total, ht.Result.Paid(settle.LayerBasic), ht.Result.Patient)
		}
		if op.Claim.VisitType != settle.Outpatient || op.Claim.VisitID != pharmacy.VisitID(sg.ID)+"-OP" || len(op.Claim.Lines) != 2 ||
			op.Result.Total != y("16.80") || op.Result.Paid(settle.LayerBasic) != y("10.08") || op.Result.Patient != y("6.72") {
			t.Errorf("outpatient part: %s %s lines %v total %s basic %s patient %s; want outpatient metformin+aspirin 16.80, 10.08, 6.72",
				op.Claim.VisitType, op.Claim.VisitID, op.Claim.Lines, op.Result.Total, op.Result.Paid(settle.LayerBasic), op.Result.Patient)
		}
		if ful.TotalFen != int64(y("29.75")) || ful.PatientFen != int64(y("11.25")) {
			t.Errorf("fulfilment total %d patient %d fen, want 2975 and 1125", ful.TotalFen, ful.PatientFen)
		}
		stored, err := f.st.Fulfilment(ctx, sg.ID)
		if err != nil || !slices.Equal(stored.Settlements(), ids) {
			t.Fatalf("stored fulfilment's settlements %v, want %v (%v)", stored.Settlements(), ids, err)
		}
		acc, _ := f.st.SettleAccumulators(ctx, p.CountyCode, p.ID, 2026)
		if acc.ChronicPaid["HT"] != y("8.42") {
			t.Errorf("HT annual limit used %s, want 8.42 (the outpatient part must not count)", acc.ChronicPaid["HT"])
		}
		// A return reverses both settlements.
		if _, err := f.svc.Advance(ctx, vd, sg.ID, pharmacy.FulfilAction{To: pharmacy.FulReturned, Note: "患者拒收", Version: stored.Version}); err != nil {
			t.Fatalf("return: %v", err)
		}
		for _, id := range ids {
			if st, err := f.settle.Get(ctx, io, id); err != nil || st.Status != settle.StatusReversed {
				t.Errorf("settlement %d after the return: %v %v", id, st.Status, err)
			}
		}
	})
}
