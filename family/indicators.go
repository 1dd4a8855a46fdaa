package family

import "countycare/care"

// Rate is a ratio kept as its numerator and denominator, so rates of
// villages add up exactly to their township's and county's.
type Rate struct {
	Num, Den int
}

// Add returns r + s (numerators and denominators summed).
func (r Rate) Add(s Rate) Rate { return Rate{r.Num + s.Num, r.Den + s.Den} }

// PerMille returns the rate in tenths of a percent, rounded half up; -1
// when the denominator is 0 (no rate).
func (r Rate) PerMille() int {
	if r.Den == 0 {
		return -1
	}
	return (r.Num*2000 + r.Den) / (2 * r.Den)
}

// String shows the rate as "48.0%" ("—" without a denominator).
func (r Rate) String() string {
	p := r.PerMille()
	if p < 0 {
		return "—"
	}
	return itoa(p/10) + "." + itoa(p%10) + "%"
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// Population is what indicators need of a village's residents: active
// residents and, among them, the key population on the period's last day.
type Population struct {
	VillageID int64
	Residents int
	Key       int // 重点人群: 65+, 0–6, pregnant, disabled, poor, or registered for a chronic disease
}

// ContractFact is one contract as indicators see it: no names.
type ContractFact struct {
	Contract
	VillageID int64 // the resident's managing village clinic
	Key       bool  // the resident is in the key population on the period's last day
	Done      []Done
}

// Indicators are the programme's four indicators for one unit and period.
type Indicators struct {
	Coverage    Rate // 签约覆盖率
	KeyCoverage Rate // 重点人群签约覆盖率
	Renewal     Rate // 续签率
	Fulfilment  Rate // 履约率
}

// Add sums two units' indicators (village → township → county).
func (a Indicators) Add(b Indicators) Indicators {
	return Indicators{a.Coverage.Add(b.Coverage), a.KeyCoverage.Add(b.KeyCoverage), a.Renewal.Add(b.Renewal), a.Fulfilment.Add(b.Fulfilment)}
}

// SigningCoverage is 签约覆盖率 = contracted residents / residents
// (policy-rules.md §2, [V]): the residents with a contract in force on
// day `to`, counted once however many contracts they have, over the
// active resident population.
func SigningCoverage(p Population, cs []ContractFact, to care.Date) Rate {
	return Rate{Num: contracted(cs, to, false), Den: p.Residents}
}

// KeyCoverage is 重点人群签约覆盖率 = de-duplicated contracted key-population
// members / key population (policy-rules.md §2, [V]), on day `to`.
func KeyCoverage(p Population, cs []ContractFact, to care.Date) Rate {
	return Rate{Num: contracted(cs, to, true), Den: p.Key}
}

func contracted(cs []ContractFact, to care.Date, keyOnly bool) int {
	seen := map[int64]bool{}
	for i := range cs {
		c := &cs[i]
		if (!keyOnly || c.Key) && c.Covers(to) {
			seen[c.ResidentID] = true
		}
	}
	return len(seen)
}

// RenewalRate is 续签率 (policy-rules.md §2 names it without a formula,
// [U]): of the contracts whose term ended (End) within [from, to] having
// run to the end — status renewed, or still active/expired — the share
// that was renewed. Contracts ended early (switched team, ended) never
// reached their end and are in neither count.
func RenewalRate(cs []ContractFact, from, to care.Date) Rate {
	var r Rate
	for i := range cs {
		c := &cs[i]
		if c.End.Before(from) || c.End.After(to) {
			continue
		}
		switch c.Status {
		case StatusRenewed:
			r.Num++
			r.Den++
		case StatusActive, StatusExpired:
			r.Den++
		}
	}
	return r
}

// FulfilmentRate is 履约率 = contracted services delivered / contracted
// services due (policy-rules.md §2: no national formula, [U]; defined
// there as this ratio). For each contract in force on day `to`, each line
// of its package counts the services due in the contract year containing
// `to` and those delivered in that year up to `to`, capped at the line's
// due count, so extra check-ups cannot hide missing follow-ups.
func FulfilmentRate(cs []ContractFact, to care.Date) Rate {
	var r Rate
	for i := range cs {
		c := &cs[i]
		if !c.Covers(to) {
			continue
		}
		for _, l := range Fulfilment(&c.Contract, c.Done, to) {
			r.Num += l.Counted()
			r.Den += l.Due
		}
	}
	return r
}

// Compute returns the indicators of each village for the period [from,
// to]: pops are the villages' populations on `to`, cs every contract of
// the villages' residents that overlaps the period, with their services.
func Compute(pops []Population, cs []ContractFact, from, to care.Date) map[int64]Indicators {
	byVillage := map[int64][]ContractFact{}
	for _, c := range cs {
		byVillage[c.VillageID] = append(byVillage[c.VillageID], c)
	}
	out := map[int64]Indicators{}
	for _, p := range pops {
		vc := byVillage[p.VillageID]
		out[p.VillageID] = Indicators{
			Coverage:    SigningCoverage(p, vc, to),
			KeyCoverage: KeyCoverage(p, vc, to),
			Renewal:     RenewalRate(vc, from, to),
			Fulfilment:  FulfilmentRate(vc, to),
		}
	}
	return out
}
