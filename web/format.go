package web

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"countycare/care"
	"countycare/consult"
)

// Formatters: every value a page shows goes through the catalogue or one
// of these, never Go's own String (19h3m0s, 2026-12-07T01:40:39Z) or a
// stored code (cardiology, one_to_one).

// duration formats d in lang, to the minute: 19小时3分 / 19 h 3 min; days
// from 48 hours on (3天4小时 / 3 d 4 h); under a minute, seconds.
func (c *catalogue) duration(lang string, d time.Duration) string {
	neg := d < 0
	if neg {
		d = -d
	}
	var s string
	switch {
	case d < time.Minute:
		s = c.T(lang, "dur.s", int((d+time.Second/2)/time.Second))
	case d < time.Hour:
		s = c.T(lang, "dur.m", int((d+30*time.Second)/time.Minute))
	case d < 48*time.Hour:
		m := int((d + 30*time.Second) / time.Minute)
		if m%60 == 0 {
			s = c.T(lang, "dur.h", m/60)
		} else {
			s = c.T(lang, "dur.hm", m/60, m%60)
		}
	default:
		h := int((d + 30*time.Minute) / time.Hour)
		if h%24 == 0 {
			s = c.T(lang, "dur.d", h/24)
		} else {
			s = c.T(lang, "dur.dh", h/24, h%24)
		}
	}
	if neg {
		return "-" + s
	}
	return s
}

// Dur formats a duration in the page's language (19小时3分).
func (p pageData) Dur(d time.Duration) string { return p.msgs.duration(p.Lang, d) }

// Label translates a code of a closed set: prefix+"."+code from the
// catalogue, or the code itself when the catalogue has no entry (an
// open set: a specialty an administrator typed).
func (p pageData) Label(prefix string, code any) string {
	s := fmt.Sprint(code)
	if s == "" {
		return ""
	}
	if k := prefix + "." + s; p.msgs.Has(p.Lang, k) {
		return p.msgs.T(p.Lang, k)
	}
	return s
}

// Specialty translates a specialty code (cardiology → 心血管内科).
func (p pageData) Specialty(code string) string { return p.Label("specialty", code) }

// ConsultDetail renders a consultation event's stored detail for people:
// the scheduler's notes ("one_to_one routine", "head=false deadline
// 2026-…Z", "no answer from 12 in time; step 1 head=true") become
// sentences of the catalogue; what a person typed (a decline reason, a
// session note) is shown as typed.
func (p pageData) ConsultDetail(e consult.Event) string {
	return consultDetail(p.msgs, p.Lang, e)
}

func consultDetail(c *catalogue, lang string, e consult.Event) string {
	d := strings.TrimSpace(e.Detail)
	switch e.Kind {
	case consult.EvCreated: // "kind urgency"
		f := strings.Fields(d)
		if len(f) == 2 {
			return c.T(lang, "consult.kind."+f[0]) + " · " + c.T(lang, "consult.urgency."+f[1])
		}
		return ""
	case consult.EvAssigned: // "head=%t deadline RFC3339" or "after a decline"
		if d == "after a decline" {
			return c.T(lang, "consult.ev.after_decline")
		}
		var parts []string
		if strings.Contains(d, "head=true") {
			parts = append(parts, c.T(lang, "consult.ev.to_head"))
		}
		if i := strings.Index(d, "deadline "); i >= 0 {
			if t, err := time.Parse(time.RFC3339, strings.TrimSpace(d[i+len("deadline "):])); err == nil {
				parts = append(parts, c.T(lang, "consult.deadline")+" "+t.In(care.Shanghai).Format("2006-01-02 15:04"))
			}
		}
		return strings.Join(parts, " · ")
	case consult.EvEscalated: // "no answer from %d in time; step %d head=%t"
		step := 0
		if i := strings.Index(d, "step "); i >= 0 {
			f := strings.Fields(d[i+len("step "):])
			if len(f) > 0 {
				step, _ = strconv.Atoi(f[0])
			}
		}
		s := c.T(lang, "consult.ev.no_answer", step)
		if strings.Contains(d, "head=true") {
			s += " · " + c.T(lang, "consult.ev.to_head")
		}
		return s
	case consult.EvNoRoster:
		return ""
	case consult.EvDecision:
		if c.Has(lang, "consult.decision."+d) {
			return c.T(lang, "consult.decision."+d)
		}
		return d
	case consult.EvSession: // "n note"
		if n, rest, ok := strings.Cut(d, " "); ok {
			if k, err := strconv.Atoi(n); err == nil {
				return c.T(lang, "consult.ev.session_n", k) + " " + strings.TrimSpace(rest)
			}
		}
		return d
	}
	return d
}

// MoveRef names what a stock movement refers to: "supply:3" → 供货单 #3,
// "rx:12" → 处方 #12.
func (p pageData) MoveRef(ref string) string {
	kind, id, ok := strings.Cut(ref, ":")
	if !ok || !p.msgs.Has(p.Lang, "pharmacy.ref."+kind) {
		return ref
	}
	return p.msgs.T(p.Lang, "pharmacy.ref."+kind, id)
}
