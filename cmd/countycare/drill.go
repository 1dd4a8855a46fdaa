package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"sort"
	"strconv"
	"sync"
	"time"

	"countycare/access"
	"countycare/care"
	"countycare/resident"
)

// cmdDrillWrites is the load of the failover drill (scripts/drill-failover,
// issue 15 §2): village doctors request consultations through a running
// server's HTTP API, a fault (the drill kills the primary's PostgreSQL) is
// injected mid-load, and afterwards every acknowledged request (every 2xx)
// must be in the database, once.
//
// Each clinician sends one request after another; a request that fails
// (a 503 while the database fails over, or no answer) is sent again with
// the same Idempotency-Key, as the app does, until it is acknowledged or
// the load ends. Write unavailability is the time from the first failed
// request after the fault to the first acknowledged one after that.
func cmdDrillWrites(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newFlags("drill-writes", "Send a write load of clinicians (consultation requests) to a running server, inject a fault mid-load,\n"+
		"then check that every acknowledged request is in the database exactly once (scripts/drill-failover).\n"+
		"Exit status 1 if an acknowledged write is missing or doubled.", stderr)
	c.register(fs)
	base := fs.String("url", "http://127.0.0.1:8080", "the server's base URL (the load goes through its HTTP API)")
	clinicians := fs.Int("clinicians", 4, "concurrent clinicians, each sending one request after another")
	dur := fs.Duration("for", 40*time.Second, "how long the load runs")
	faultAfter := fs.Duration("fault-after", 10*time.Second, "when the fault is injected, from the start of the load")
	fault := fs.String("fault", "", "shell command that injects the fault (e.g. kill -9 the primary's postmaster); none if empty")
	readEvery := fs.Duration("read-every", 250*time.Millisecond, "an analyst reads the consultation indicators (a standby route with serve --read-db) this often during the load; 0: no reads")
	checkDB := fs.String("check-db", "", "database URL the acknowledged writes are looked for in afterwards (default --db)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &exitError{2, err.Error()}
	}
	if *clinicians < 1 || *dur <= 0 {
		return &exitError{2, "drill-writes: --clinicians must be ≥ 1 and --for positive"}
	}
	st, _, err := c.open(ctx)
	if err != nil {
		return err
	}
	accs, err := st.Accounts(ctx, 100)
	if err != nil {
		st.Close()
		return err
	}
	user := map[care.Role]string{}
	for _, x := range accs {
		user[x.Role] = x.Username
	}
	if user[care.RoleVillageDoctor] == "" || user[care.RoleCountySpecialist] == "" || user[care.RoleAnalyst] == "" {
		st.Close()
		return fmt.Errorf("drill-writes needs a demo database (countycare demo --db …)")
	}
	vdAcc, err := st.AccountByUsername(ctx, user[care.RoleVillageDoctor])
	if err != nil {
		st.Close()
		return err
	}
	spAcc, err := st.AccountByUsername(ctx, user[care.RoleCountySpecialist])
	if err != nil {
		st.Close()
		return err
	}
	spec, err := st.Practitioner(ctx, spAcc.PractitionerID)
	if err != nil {
		st.Close()
		return err
	}
	county := ""
	if insts, err := st.Institutions(ctx); err == nil && len(insts) > 0 {
		county = insts[0].CountyCode
	}
	rs, _, err := st.SearchResidents(ctx, access.Scope{Kind: access.ScopeManaged, CountyCode: county, Institutions: []int64{vdAcc.InstitutionID}},
		resident.Query{}, resident.Filter{Limit: 200}, time.Now())
	st.Close()
	if err != nil {
		return err
	}
	if len(rs) == 0 {
		return fmt.Errorf("drill-writes: the demo village has no residents")
	}

	clients := make([]*client, *clinicians)
	csrfs := make([]string, *clinicians)
	for i := range clients {
		if clients[i], err = login(*base, user[care.RoleVillageDoctor]); err != nil {
			return err
		}
		clients[i].hc.Timeout = 30 * time.Second
		if csrfs[i], err = clients[i].csrf(); err != nil {
			return err
		}
	}
	analyst, err := login(*base, user[care.RoleAnalyst])
	if err != nil {
		return err
	}
	prefix := "drill-" + strconv.FormatInt(time.Now().UnixNano(), 36) + "-"
	fmt.Fprintf(stdout, "drill-writes: %d village doctors requesting consultations at %s for %s, fault at %s (%s)\n", *clinicians, *base, *dur, *faultAfter, loadAverage())

	var (
		mu       sync.Mutex
		attempts []attempt
		acked    = map[string]int64{} // idempotency key → consultation id
	)
	start := time.Now()
	end := start.Add(*dur)
	var faultAt time.Time
	faultDone := make(chan error, 1)
	go func() {
		if *fault == "" {
			faultDone <- nil
			return
		}
		time.Sleep(time.Until(start.Add(*faultAfter)))
		mu.Lock()
		faultAt = time.Now()
		mu.Unlock()
		out, err := exec.CommandContext(ctx, "sh", "-c", *fault).CombinedOutput()
		if err != nil {
			err = fmt.Errorf("fault %q: %v: %s", *fault, err, out)
		}
		faultDone <- err
	}()
	var (
		wg    sync.WaitGroup
		reads []attempt
	)
	if *readEvery > 0 {
		wg.Add(1)
		go func() { // not under mu: reads is read after wg.Wait
			defer wg.Done()
			for time.Now().Before(end) {
				a := attempt{start: time.Now()}
				a.ok = analyst.get("/api/v1/consultations/indicators") == nil
				a.end = time.Now()
				reads = append(reads, a)
				time.Sleep(*readEvery)
			}
		}()
	}
	for w := range clients {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			cl := clients[w]
			for n := 0; time.Now().Before(end); n++ {
				key := prefix + strconv.Itoa(w) + "-" + strconv.Itoa(n)
				r := rs[(w*7919+n)%len(rs)]
				body, _ := json.Marshal(map[string]any{"resident_id": r.ID, "kind": "one_to_one", "urgency": "routine", "to_institution": spec.InstitutionID,
					"specialty": spec.Specialty, "reason": "切换演练 " + key, "purpose": "drill", "summary": "failover drill",
					"consent": map[string]any{"by": "patient", "method": "electronic", "at": time.Now().Add(-time.Minute)}})
				for time.Now().Before(end) {
					a := cl.consultAttempt(ctx, body, csrfs[w], key)
					mu.Lock()
					attempts = append(attempts, a)
					if a.ok {
						acked[key] = a.id
					}
					mu.Unlock()
					if a.ok {
						break
					}
					time.Sleep(100 * time.Millisecond)
				}
			}
		}(w)
	}
	wg.Wait()
	if err := <-faultDone; err != nil {
		return err
	}

	rep := drillReport(attempts, faultAt)
	fmt.Fprintf(stdout, "requests: %d sent, %d acknowledged (2xx), %d failed (%s)\n", len(attempts), rep.acked, rep.failed, rep.statuses)
	if !faultAt.IsZero() {
		fmt.Fprintf(stdout, "fault injected %.1f s into the load\n", faultAt.Sub(start).Seconds())
		fmt.Fprintf(stdout, "write unavailability: %.2f s (no write acknowledged from %.2f s to %.2f s after the fault); slowest acknowledged request %.2f s\n",
			rep.stall.Seconds(), secondsAfter(rep.stallFrom, faultAt), secondsAfter(rep.stallTo, faultAt), rep.slowest.Seconds())
		if !rep.firstFail.IsZero() {
			fmt.Fprintf(stdout, "failed requests: the first %.2f s after the fault; the first write acknowledged after it %.2f s later\n",
				rep.firstFail.Sub(faultAt).Seconds(), rep.firstOK.Sub(rep.firstFail).Seconds())
		}
	}

	if len(reads) > 0 {
		rr := drillReport(reads, faultAt)
		fmt.Fprintf(stdout, "indicator reads (an analyst, every %s): %d answered, %d failed; longest time without an answer after the fault %.2f s\n",
			*readEvery, rr.acked, rr.failed, rr.stall.Seconds())
	}

	// Every acknowledged write must be in the database (through HAProxy:
	// the new primary), once.
	cc := c
	if *checkDB != "" {
		cc.db = *checkDB
	}
	chk, _, err := cc.open(ctx)
	if err != nil {
		return fmt.Errorf("drill-writes: open the database to check: %w", err)
	}
	defer chk.Close()
	found, err := chk.ConsultationKeys(ctx, vdAcc.ID, prefix)
	if err != nil {
		return err
	}
	lost, doubled := 0, 0
	for k, id := range acked {
		ids := found[k]
		switch {
		case len(ids) == 0:
			lost++
			fmt.Fprintf(stdout, "LOST: %s (consultation %d acknowledged, not in the database)\n", k, id)
		case len(ids) > 1:
			doubled++
			fmt.Fprintf(stdout, "DOUBLED: %s is in the database %d times %v\n", k, len(ids), ids)
		case ids[0] != id:
			lost++
			fmt.Fprintf(stdout, "LOST: %s acknowledged as consultation %d, the database has %d\n", k, id, ids[0])
		}
	}
	unacked := 0
	for k := range found {
		if _, ok := acked[k]; !ok {
			unacked++ // saved, answered with an error or not at all: allowed, never the reverse
		}
	}
	fmt.Fprintf(stdout, "acknowledged writes: %d; on the new primary: %d; lost: %d; doubled: %d; saved but not acknowledged: %d\n",
		len(acked), len(acked)-lost, lost, doubled, unacked)
	if lost > 0 || doubled > 0 {
		return &exitError{1, fmt.Sprintf("drill-writes: %d acknowledged writes lost, %d doubled", lost, doubled)}
	}
	return nil
}

// secondsAfter is t - from in seconds, rounded to 10 ms (no "-0.00").
func secondsAfter(t, from time.Time) float64 {
	return float64(t.Sub(from).Round(10*time.Millisecond)) / float64(time.Second)
}

// attempt is one request of the drill.
type attempt struct {
	start, end time.Time
	status     int // 0: no answer
	ok         bool
	id         int64
}

// consultAttempt sends one consultation request.
func (c *client) consultAttempt(ctx context.Context, body []byte, csrf, key string) attempt {
	a := attempt{start: time.Now()}
	req, _ := http.NewRequestWithContext(ctx, "POST", c.base+"/api/v1/consultations", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", csrf)
	req.Header.Set("Idempotency-Key", key)
	resp, err := c.hc.Do(req)
	if err == nil {
		var out struct{ ID int64 }
		derr := json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		a.status = resp.StatusCode
		a.ok = resp.StatusCode/100 == 2 && derr == nil && out.ID != 0
		a.id = out.ID
	}
	a.end = time.Now()
	return a
}

// drillFigures are the drill's counts and times.
type drillFigures struct {
	acked, failed      int
	statuses           string    // failures by status
	firstFail, firstOK time.Time // first failure after the fault, first success after that
	// stall is the longest time without an acknowledged write that ends
	// after the fault (stallFrom to stallTo): the write unavailability.
	stall              time.Duration
	stallFrom, stallTo time.Time
	slowest            time.Duration // the longest acknowledged request
}

func drillReport(as []attempt, faultAt time.Time) drillFigures {
	var f drillFigures
	byStatus := map[int]int{}
	var oks []time.Time
	for _, a := range as {
		if a.ok {
			f.acked++
			oks = append(oks, a.end)
			f.slowest = max(f.slowest, a.end.Sub(a.start))
			continue
		}
		f.failed++
		byStatus[a.status]++
		if !faultAt.IsZero() && !a.end.Before(faultAt) && (f.firstFail.IsZero() || a.end.Before(f.firstFail)) {
			f.firstFail = a.end
		}
	}
	sort.Slice(oks, func(i, j int) bool { return oks[i].Before(oks[j]) })
	for i, t := range oks {
		if i > 0 && t.After(faultAt) && t.Sub(oks[i-1]) > f.stall {
			f.stall, f.stallFrom, f.stallTo = t.Sub(oks[i-1]), oks[i-1], t
		}
		if !f.firstFail.IsZero() && f.firstOK.IsZero() && t.After(f.firstFail) {
			f.firstOK = t
		}
	}
	codes := make([]int, 0, len(byStatus))
	for s := range byStatus {
		codes = append(codes, s)
	}
	sort.Ints(codes)
	var b bytes.Buffer
	for i, s := range codes {
		if i > 0 {
			b.WriteString(", ")
		}
		if s == 0 {
			fmt.Fprintf(&b, "%d without answer", byStatus[s])
		} else {
			fmt.Fprintf(&b, "%d × %d", byStatus[s], s)
		}
	}
	if b.Len() == 0 {
		b.WriteString("none")
	}
	f.statuses = b.String()
	return f
}
