package consult

import (
	"context"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"countycare/care"
)

// EvSession records one remote rehabilitation session as done.
const EvSession = "session"

// RehabIntervalDays is the spacing of planned rehabilitation sessions.
const RehabIntervalDays = 7

// Session is one planned session of a remote rehabilitation guidance case.
type Session struct {
	N    int
	Due  care.Date
	Done time.Time
	Note string
}

// RehabPlan lays out a rehabilitation case's sessions: RehabSessions of
// them, one a week from the day the opinion (the guidance) was signed, each
// marked done by its session event.
func RehabPlan(c *Consultation, evs []Event) []Session {
	if c.Kind != Rehab || c.RehabSessions <= 0 || c.AnsweredAt.IsZero() {
		return nil
	}
	start := care.Today(c.AnsweredAt)
	out := make([]Session, c.RehabSessions)
	for i := range out {
		out[i] = Session{N: i + 1, Due: start.AddDays(RehabIntervalDays * (i + 1))}
	}
	for _, e := range evs {
		if e.Kind != EvSession {
			continue
		}
		n, note, _ := strings.Cut(e.Detail, " ")
		if k, err := strconv.Atoi(n); err == nil && k >= 1 && k <= len(out) && out[k-1].Done.IsZero() {
			out[k-1].Done, out[k-1].Note = e.At, note
		}
	}
	return out
}

// SessionDone records session n of a rehabilitation case as delivered
// (either party; after the guidance is signed; once per session).
func (s *Service) SessionDone(ctx context.Context, a care.Actor, id int64, n int, note string) error {
	note = strings.TrimSpace(note)
	if utf8.RuneCountInString(note) > 200 {
		return care.Invalid([]care.FieldError{{Field: "note", Key: "field.too_long", Args: []any{200}}})
	}
	c, _, _, err := s.load(ctx, a, id, ActMessage)
	if err != nil {
		return err
	}
	if c.Kind != Rehab || (c.Status != StatusAnswered && c.Status != StatusClosed) {
		return care.Errorf(care.ECONFLICT, "consult.bad_transition", string(c.Status))
	}
	evs, err := s.Repo.ConsultationEvents(ctx, id)
	if err != nil {
		return err
	}
	plan := RehabPlan(c, evs)
	if n < 1 || n > len(plan) {
		return care.Invalid([]care.FieldError{{Field: "n", Key: "consult.session.invalid"}})
	}
	if !plan[n-1].Done.IsZero() {
		return care.Errorf(care.ECONFLICT, "consult.session.done_already")
	}
	return s.save(ctx, a, c, ActMessage, []Event{{Kind: EvSession, Account: a.AccountID, Practitioner: a.PractitionerID, At: s.Now(),
		Detail: strconv.Itoa(n) + " " + note}}, nil, time.Time{}, "rehabilitation session "+strconv.Itoa(n))
}
