package survey

import (
	"context"
	"fmt"
	"strings"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/notify"
	"countycare/org"
)

// Audit actions.
const (
	ActInvite  = "survey.invite"  // an invitation made (and its text message queued)
	ActAnswer  = "survey.answer"  // a survey answered (the invitation, never the answers)
	ActRefused = "survey.refused" // a link that is forged, used, expired or unknown
	ActResults = "survey.results" // aggregates read by staff
)

// Purpose is the outbox purpose of an invitation's text message.
const Purpose = "survey.invite"

// Repository is what the survey needs of storage.
type Repository interface {
	// SurveyEvents lists the events at or after since whose resident was
	// not invited to a survey at or after gapSince, and that no
	// invitation follows yet, at most limit, oldest first.
	SurveyEvents(ctx context.Context, since, gapSince time.Time, limit int) ([]Event, error)
	// CreateInvitation stores inv and, if msg is not nil, queues it in the
	// outbox, with ev, in one transaction; ECONFLICT when the event has
	// an invitation already.
	CreateInvitation(ctx context.Context, inv *Invitation, msg *notify.Message, ev audit.Event) error
	InvitationByHash(ctx context.Context, hash string) (*Invitation, error)
	Invitation(ctx context.Context, id int64) (*Invitation, error)
	// OpenInvitations are a resident's invitations open at now, newest first.
	OpenInvitations(ctx context.Context, county string, residentID int64, now time.Time) ([]Invitation, error)
	// AnswerInvitation marks the invitation answered if it is open at now
	// and stores ans apart from it, with ev, in one transaction;
	// ECONFLICT when it was answered or expired meanwhile.
	AnswerInvitation(ctx context.Context, id int64, now time.Time, ans Answer, ev audit.Event) error
	// SurveyTallies counts a county's answers of [from, to] (months,
	// YYYY-MM) per institution and per doctor.
	SurveyTallies(ctx context.Context, county, from, to string) ([]Tally, error)
}

// Trees gives the organisation tree (org.Service).
type Trees interface {
	Tree(ctx context.Context) (*org.Tree, error)
}

// Service invites residents, takes their answers and counts them.
type Service struct {
	Repo   Repository
	Orgs   Trees
	Audit  audit.Recorder
	Config Config
	// Key signs link tokens (derived from the server's key in cmd).
	Key []byte
	// PublicURL is the server's address as residents reach it (serve
	// --public-url), put in front of the link.
	PublicURL string
	Now       func() time.Time
}

// Invite makes an invitation for every recent event (the last week) whose
// resident was not asked within Config.GapDays, at most limit: a text
// message with the link when the resident has a phone, the resident's
// own page otherwise. It returns how many it made. Run by the lease
// holder (serve's scheduled jobs).
func (s *Service) Invite(ctx context.Context, limit int) (int, error) {
	now := s.Now()
	evs, err := s.Repo.SurveyEvents(ctx, now.AddDate(0, 0, -7), now.AddDate(0, 0, -s.Config.GapDays), limit)
	if err != nil {
		return 0, err
	}
	asked := map[int64]bool{} // one invitation per resident per run
	n := 0
	for _, e := range evs {
		if asked[e.ResidentID] {
			continue
		}
		asked[e.ResidentID] = true
		tok, hash := NewToken(s.Key)
		inv := &Invitation{County: e.County, ResidentID: e.ResidentID, Kind: e.Kind, EventID: e.EventID, InstitutionID: e.InstitutionID,
			PractitionerID: e.PractitionerID, Channel: ChannelMe, TokenHash: hash, CreatedAt: now, ExpiresAt: now.AddDate(0, 0, s.Config.LinkDays)}
		var msg *notify.Message
		if e.Phone != "" {
			inv.Channel = ChannelSMS
			link := s.Link(tok)
			msg = &notify.Message{County: e.County, ResidentID: e.ResidentID, Channel: notify.ChannelSMS, Recipient: e.Phone, Purpose: Purpose,
				Params: map[string]string{"link": link, "days": fmt.Sprint(s.Config.LinkDays)},
				Body:   fmt.Sprintf("您好，请花一分钟评价刚才的服务（匿名，%d天内有效，仅可填写一次）：%s", s.Config.LinkDays, link)}
		}
		ev := audit.New(ctx, care.Actor{Username: "serve:survey-invite", Role: care.RoleAdmin}, ActInvite, e.ResidentID)
		ev.CountyCode, ev.Detail = e.County, fmt.Sprintf("survey after %s %d by %s", e.Kind, e.EventID, inv.Channel)
		if err := s.Repo.CreateInvitation(ctx, inv, msg, ev); err != nil {
			if care.IsCode(err, care.ECONFLICT) {
				continue
			}
			return n, err
		}
		n++
	}
	return n, nil
}

// Link is the survey page's address for token.
func (s *Service) Link(token string) string {
	return strings.TrimRight(s.PublicURL, "/") + "/s?t=" + token
}

// Open returns the invitation of a link token if it can be answered now.
// A forged, unknown, used or expired link is ENOTFOUND (survey.link_gone)
// and audited (ActRefused).
func (s *Service) Open(ctx context.Context, token string) (*Invitation, error) {
	if CheckToken(s.Key, token) {
		inv, err := s.Repo.InvitationByHash(ctx, HashToken(token))
		switch {
		case err == nil && inv.Open(s.Now()):
			return inv, nil
		case err != nil && !care.IsCode(err, care.ENOTFOUND):
			return nil, err
		}
	}
	ev := audit.New(ctx, care.Actor{}, ActRefused, 0)
	ev.Outcome, ev.Detail = audit.OutcomeDenied, "survey link forged, unknown, used or expired"
	s.Audit.Record(ctx, ev)
	return nil, care.Errorf(care.ENOTFOUND, "survey.link_gone")
}

// AnswerLink stores the answers given through a link token. Errors:
// ENOTFOUND as Open, EINVALID for answers that do not fit the questions.
func (s *Service) AnswerLink(ctx context.Context, token string, form map[string]string) error {
	inv, err := s.Open(ctx, token)
	if err != nil {
		return err
	}
	return s.answer(ctx, care.Actor{}, inv, form)
}

// Mine lists the resident's open invitations (their own page).
func (s *Service) Mine(ctx context.Context, a care.Actor) ([]Invitation, error) {
	if a.Role != care.RoleResident || a.ResidentID == 0 {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	return s.Repo.OpenInvitations(ctx, a.CountyCode, a.ResidentID, s.Now())
}

// OpenMine returns one of the resident's own open invitations; another
// resident's, or one answered or expired, is ENOTFOUND.
func (s *Service) OpenMine(ctx context.Context, a care.Actor, id int64) (*Invitation, error) {
	inv, err := s.Repo.Invitation(ctx, id)
	if err != nil {
		return nil, err
	}
	if a.Role != care.RoleResident || inv.ResidentID != a.ResidentID || inv.County != a.CountyCode || !inv.Open(s.Now()) {
		return nil, care.Errorf(care.ENOTFOUND, "survey.link_gone")
	}
	return inv, nil
}

// AnswerMine stores the answers the resident gives on their own page.
func (s *Service) AnswerMine(ctx context.Context, a care.Actor, id int64, form map[string]string) error {
	inv, err := s.OpenMine(ctx, a, id)
	if err != nil {
		return err
	}
	return s.answer(ctx, a, inv, form)
}

func (s *Service) answer(ctx context.Context, a care.Actor, inv *Invitation, form map[string]string) error {
	values, err := ParseAnswers(s.Config, form)
	if err != nil {
		return err
	}
	now := s.Now()
	ev := audit.New(ctx, a, ActAnswer, inv.ResidentID)
	ev.CountyCode, ev.Detail = inv.County, fmt.Sprintf("survey invitation %d answered", inv.ID)
	if err := s.Repo.AnswerInvitation(ctx, inv.ID, now, NewAnswer(inv, values, now), ev); err != nil {
		if care.IsCode(err, care.ECONFLICT) {
			return care.Errorf(care.ENOTFOUND, "survey.link_gone")
		}
		return err
	}
	return nil
}
