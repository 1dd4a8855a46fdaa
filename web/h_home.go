package web

import (
	"net/http"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/reading"
	"countycare/referral"
)

// homeCount is one number on a role's home page with the page it opens.
type homeCount struct {
	ID   string // element id: count-<ID>
	Key  string // catalogue label
	Href string
	N    int
	More bool // N is a cap: at least N
}

// homeView is what a role's home opens on: what the role does most,
// with counts, before the tiles.
type homeView struct {
	Inst   string
	Search string // "residents" or "settlement": the search box's page
	Counts []homeCount
}

// homeView counts each role's work: village and township doctors their
// overdue follow-ups and to-dos (open critical values, hand-offs to
// acknowledge, down-referral tasks); readers their worklist per
// modality; pharmacists the review queue; county specialists their
// consultation queue, incoming referrals and hand-offs; the insurance
// officer opens on the settlement window's search.
func (s *Server) homeView(r *http.Request, rc *reqCtx) (*homeView, error) {
	ctx, a := r.Context(), rc.Actor
	v := &homeView{}
	add := func(id, key, href string, n int) {
		v.Counts = append(v.Counts, homeCount{ID: id, Key: key, Href: href, N: n})
	}
	switch a.Role {
	case care.RoleVillageDoctor, care.RoleTownshipDoctor:
		v.Search = "residents"
		if s.Chronic != nil {
			od, err := s.Chronic.Overdue(ctx, a)
			if err != nil {
				return nil, err
			}
			add("overdue", "home.count.overdue", "/chronic/overdue", len(od))
			hs, err := s.Chronic.Handoffs(ctx, a, true)
			if err != nil {
				return nil, err
			}
			add("handoffs", "home.count.handoffs", "/chronic/handoffs", len(hs))
		}
		if s.Critical != nil {
			als, err := s.Critical.List(ctx, a, true)
			if err != nil {
				return nil, err
			}
			add("critical", "home.count.critical", "/critical", len(als))
		}
		if s.Referral != nil {
			ts, err := s.Referral.List(ctx, a, referral.BoxTasks, true, 0)
			if err != nil {
				return nil, err
			}
			add("tasks", "home.count.tasks", "/referrals/tasks", len(ts))
		}
	case care.RoleReader:
		if s.ReadFlow != nil {
			sts, err := s.ReadFlow.Worklist(ctx, a, "", 0)
			if err != nil {
				return nil, err
			}
			by := map[string]int{}
			for _, st := range sts {
				by[reading.TemplateModality(st.Modality)]++
			}
			for _, m := range readingModalities {
				if by[m] > 0 {
					add("reading-"+m, "reading.modality."+m, "/reading/worklist?modality="+m, by[m])
				}
			}
			add("reading-all", "home.count.worklist", "/reading/worklist", len(sts))
		}
	case care.RolePharmacist:
		if s.Prescriptions != nil {
			q, err := s.Prescriptions.Queue(ctx, a)
			if err != nil {
				return nil, err
			}
			add("rx-queue", "home.count.rx_queue", "/rx/queue", len(q))
		}
	case care.RoleCountySpecialist:
		if s.Consult != nil {
			_, queue, _, err := s.Consult.Lists(ctx, a)
			if err != nil {
				return nil, err
			}
			add("consult-queue", "home.count.consult_queue", "/consult", len(queue))
		}
		if s.Referral != nil {
			in, err := s.Referral.List(ctx, a, referral.BoxIncoming, true, 0)
			if err != nil {
				return nil, err
			}
			add("incoming", "home.count.incoming", "/referrals/incoming", len(in))
		}
	case care.RoleInsuranceOfficer:
		v.Search = "settlement"
	case care.RoleAdmin:
		if s.Store != nil {
			accs, err := s.Store.Accounts(ctx, 10000)
			if err != nil {
				return nil, err
			}
			now, n := s.Now(), 0
			for i := range accs {
				if !accs[i].Disabled && accs[i].Locked(now) {
					n++
				}
			}
			add("locked", "home.count.locked", "/admin/accounts", n)
		}
	case care.RoleAuditor:
		if s.Store != nil {
			// Refused attempts since midnight in Asia/Shanghai: the day's first look.
			day := care.Today(s.Now())
			from := time.Date(day.Year, day.Month, day.Day, 0, 0, 0, 0, care.Shanghai)
			f := audit.Filter{Outcome: audit.OutcomeDenied, From: from, Limit: 1000}
			evs, err := s.Store.SearchAudit(ctx, f)
			if err != nil {
				return nil, err
			}
			ev := audit.New(ctx, a, audit.ActAuditSearch, 0)
			ev.Detail = "home: denied today"
			s.Audit.Record(ctx, ev)
			add("denied", "home.count.denied", "/audit?outcome=denied&from="+from.Format("2006-01-02"), len(evs))
			v.Counts[len(v.Counts)-1].More = len(evs) == f.Limit
		}
	}
	return v, nil
}
