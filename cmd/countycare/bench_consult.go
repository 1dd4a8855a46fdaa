package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"countycare/access"
	"countycare/audit"
	"countycare/care"
	"countycare/consult"
	"countycare/org"
	"countycare/resident"
)

// benchConsult measures issue #3's figures:
//   - with `streams` clinicians connected to /events, how long a new request
//     takes from the inviting doctor's POST to the specialist's browser;
//   - with `timers` open consultations whose deadlines fall over the next
//     minute, how late the scheduler escalates them, including those that
//     fall due while the scheduler is stopped for a simulated restart.
func benchConsult(ctx context.Context, stdout io.Writer, a *app, base string, user map[care.Role]string, county string, n, streams, timers int) error {
	spec, err := a.st.AccountByUsername(ctx, user[care.RoleCountySpecialist])
	if err != nil {
		return err
	}
	p, err := a.st.Practitioner(ctx, spec.PractitionerID)
	if err != nil {
		return err
	}
	vdAcc, err := a.st.AccountByUsername(ctx, user[care.RoleVillageDoctor])
	if err != nil {
		return err
	}
	vd, err := login(base, user[care.RoleVillageDoctor])
	if err != nil {
		return err
	}
	td, err := login(base, user[care.RoleTownshipDoctor])
	if err != nil {
		return err
	}
	cs, err := login(base, user[care.RoleCountySpecialist])
	if err != nil {
		return err
	}
	// streams-1 idle clinicians (village and township doctors' sessions) and the specialist;
	// the demo has one account per role, so the per-practitioner cap is lifted here.
	a.live.MaxPerPractitioner = streams + 1
	var closers []io.Closer
	defer func() {
		for _, c := range closers {
			c.Close()
		}
	}()
	open := func(c *client) (*bufio.Reader, error) {
		resp, err := c.hc.Get(base + "/events")
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != 200 {
			resp.Body.Close()
			return nil, fmt.Errorf("events: %s", resp.Status)
		}
		closers = append(closers, resp.Body)
		return bufio.NewReader(resp.Body), nil
	}
	idle := []*client{vd, td}
	for i := 0; i < streams-1; i++ {
		br, err := open(idle[i%2])
		if err != nil {
			return err
		}
		go io.Copy(io.Discard, br)
	}
	specStream, err := open(cs)
	if err != nil {
		return err
	}
	arrived := make(chan int64, 64)
	go func() {
		for {
			line, err := specStream.ReadString('\n')
			if err != nil {
				close(arrived)
				return
			}
			if d, ok := strings.CutPrefix(strings.TrimSpace(line), "data: "); ok {
				var e struct {
					Kind string
					ID   int64
				}
				if json.Unmarshal([]byte(d), &e) == nil && e.Kind == "consult.new" {
					arrived <- e.ID
				}
			}
		}
	}()
	time.Sleep(200 * time.Millisecond)
	fmt.Fprintf(stdout, "consultation: %d event streams open (the broker counts %d)\n", streams, a.live.Connections())

	sample, err := a.st.SampleResidents(ctx, county, 400)
	if err != nil {
		return err
	}
	var village []int64
	for _, r := range sample {
		if r.VillageID == vdAcc.InstitutionID {
			village = append(village, r.ID)
		}
	}
	if len(village) == 0 {
		// The demo village's own residents: search its scope.
		rs, _, err := a.st.SearchResidents(ctx, access.Scope{Kind: access.ScopeManaged, CountyCode: county, Institutions: []int64{vdAcc.InstitutionID}}, resident.Query{}, resident.Filter{Limit: 200}, time.Now())
		if err != nil {
			return err
		}
		for _, r := range rs {
			village = append(village, r.ID)
		}
	}
	csrf, err := vd.csrf()
	if err != nil {
		return err
	}
	nonce := strconv.FormatInt(time.Now().UnixNano(), 36)
	res := runLoad(n, 1, func(i int) error {
		body, _ := json.Marshal(map[string]any{"resident_id": village[i%len(village)], "kind": "one_to_one", "urgency": "routine", "to_institution": p.InstitutionID,
			"specialty": p.Specialty, "reason": "基准测试 " + strconv.Itoa(i), "purpose": "bench", "summary": "bench",
			"consent": map[string]any{"by": "patient", "method": "electronic", "at": time.Now().Add(-time.Minute)}})
		req, _ := http.NewRequest("POST", base+"/api/v1/consultations", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-CSRF-Token", csrf)
		req.Header.Set("Idempotency-Key", nonce+strconv.Itoa(i))
		resp, err := vd.hc.Do(req)
		if err != nil {
			return err
		}
		var out struct{ ID int64 }
		json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			return fmt.Errorf("POST /api/v1/consultations: %s", resp.Status)
		}
		timeout := time.After(10 * time.Second)
		for {
			select {
			case id, ok := <-arrived:
				if !ok {
					return fmt.Errorf("event stream closed")
				}
				if id == out.ID {
					return nil
				}
			case <-timeout:
				return fmt.Errorf("consultation %d never reached the specialist", out.ID)
			}
		}
	})
	report(stdout, fmt.Sprintf("new request to the specialist's browser (POST → SSE event), %d streams open", streams), res)
	return benchTimers(ctx, stdout, a, county, p, vdAcc.ID, village, timers)
}

// benchTimers creates open consultations due over the next minute, runs the
// scheduler, stops it for a simulated restart and starts a new one, then
// reports how late each escalation fired after its deadline.
func benchTimers(ctx context.Context, stdout io.Writer, a *app, county string, spec *org.Practitioner, account int64, residents []int64, timers int) error {
	if timers <= 0 {
		return nil
	}
	start := time.Now()
	window := 60 * time.Second
	t0 := start.Add(20 * time.Second) // time to create them first
	cs := make([]*consult.Consultation, 0, timers)
	for i := 0; i < timers; i++ {
		dl := t0.Add(time.Duration(i) * window / time.Duration(timers))
		cs = append(cs, &consult.Consultation{County: county, ResidentID: residents[i%len(residents)], Kind: consult.OneToOne, Urgency: consult.Routine, Reason: "timer bench",
			Purpose: "bench", Summary: "bench", Specialty: spec.Specialty, Departments: []int64{spec.DepartmentID}, FromAccount: account,
			ToInstitution: spec.InstitutionID, ToDepartment: spec.DepartmentID, AssignedTo: spec.ID, Status: consult.StatusRequested, Deadline: dl,
			Consent: consult.Consent{By: consult.ConsentPatient, Method: consult.ConsentElectronic, At: start}, Chain: []int64{spec.ID}})
	}
	if err := a.st.LoadConsultations(ctx, cs, nil, audit.Event{Action: "bench.consult", Outcome: audit.OutcomeOK, CountyCode: county, Detail: "timer bench"}); err != nil {
		return err
	}
	ids := make([]int64, 0, timers)
	deadlines := map[int64]time.Time{}
	for _, c := range cs {
		ids = append(ids, c.ID)
		deadlines[c.ID] = c.Deadline
	}
	if time.Now().After(t0) {
		return fmt.Errorf("creating %d consultations took longer than 20 s; use fewer --timers", timers)
	}
	fmt.Fprintf(stdout, "timers: %d open consultations created in %.1f s, deadlines spread over %s\n", timers, time.Since(start).Seconds(), window)
	quiet := func(error) {}
	run := func(d time.Duration) {
		svc := *a.consult // a new scheduler (a restarted server) over the same database
		svc.Live = nil
		sctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		svc.RunScheduler(sctx, time.Second, quiet)
	}
	// Scheduler up for the first half, down 3 s ("restart"), up again until every deadline has passed.
	run(time.Until(t0.Add(window / 2)))
	down := time.Now()
	time.Sleep(3 * time.Second)
	up := time.Now()
	run(time.Until(t0.Add(window + 5*time.Second)))
	// Lateness: first escalation event minus the deadline.
	var late, lateGap []time.Duration
	missing := 0
	for _, id := range ids {
		evs, err := a.st.ConsultationEvents(ctx, id)
		if err != nil {
			return err
		}
		found := false
		for _, e := range evs {
			if e.Kind == consult.EvEscalated {
				d := e.At.Sub(deadlines[id])
				late = append(late, d)
				if deadlines[id].After(down) && deadlines[id].Before(up) {
					lateGap = append(lateGap, d)
				}
				found = true
				break
			}
		}
		if !found {
			missing++
		}
	}
	q := func(xs []time.Duration, p float64) time.Duration {
		if len(xs) == 0 {
			return 0
		}
		s := append([]time.Duration(nil), xs...)
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
		return s[int(float64(len(s)-1)*p)]
	}
	fmt.Fprintf(stdout, "escalation lateness over %d timers: p50=%s p99=%s max=%s; not escalated: %d\n", len(late), q(late, 0.5).Round(time.Millisecond),
		q(late, 0.99).Round(time.Millisecond), q(late, 1).Round(time.Millisecond), missing)
	fmt.Fprintf(stdout, "  of which %d fell due during the 3 s restart: max lateness %s\n", len(lateGap), q(lateGap, 1).Round(time.Millisecond))
	return nil
}
