package store

import (
	"context"
	"encoding/json"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/notify"
	"countycare/survey"
)

// surveyEventsSQL lists the events a survey may follow, since ? (four
// times), whose resident has no invitation since ?, and that no invitation
// follows yet: settled bills, family-doctor services, consultations
// answered, referrals completed (the sending side is asked about).
const surveyEventsSQL = `SELECT e.kind, e.id, e.county_code, e.resident_id, e.institution_id, e.practitioner_id, e.at, r.phone FROM (
	SELECT 'settlement' AS kind, s.id, s.county_code, s.resident_id, s.institution_id, 0 AS practitioner_id, s.created_at AS at
		FROM settlements s WHERE s.created_at >= ? AND s.status = 'settled'
	UNION ALL
	SELECT 'family_visit', f.id, f.county_code, f.resident_id, f.institution_id, COALESCE(f.practitioner_id, 0), f.created_at
		FROM family_services f WHERE f.created_at >= ? AND f.institution_id <> 0
	UNION ALL
	SELECT 'consultation', c.id, c.county_code, c.resident_id, c.from_institution, c.from_doctor, c.answered_at
		FROM consultations c WHERE c.answered_at >= ?
	UNION ALL
	SELECT 'referral', f.id, f.county_code, f.resident_id, f.from_institution, 0, f.closed_at
		FROM referrals f WHERE f.closed_at >= ? AND f.status = 'completed'
	) e JOIN residents r ON r.id = e.resident_id AND r.status = 'active'
	WHERE NOT EXISTS (SELECT 1 FROM survey_invitations i WHERE i.kind = e.kind AND i.event_id = e.id)
	AND NOT EXISTS (SELECT 1 FROM survey_invitations i WHERE i.county_code = r.county_code AND i.resident_id = r.id AND i.created_at >= ?)
	ORDER BY e.at, e.kind, e.id LIMIT ?`

// SurveyEvents implements survey.Repository.
func (s *Store) SurveyEvents(ctx context.Context, since, gapSince time.Time, limit int) ([]survey.Event, error) {
	const op = "store.SurveyEvents"
	t := s.ts(since)
	rows, err := s.read().query(ctx, surveyEventsSQL, t, t, t, t, s.ts(gapSince), limit)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []survey.Event
	for rows.Next() {
		var e survey.Event
		if err := rows.Scan(&e.Kind, &e.EventID, &e.County, &e.ResidentID, &e.InstitutionID, &e.PractitionerID, tsOf(&e.At), &e.Phone); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, e)
	}
	return out, wrap(op, rows.Err())
}

// CreateInvitation implements survey.Repository.
func (s *Store) CreateInvitation(ctx context.Context, inv *survey.Invitation, msg *notify.Message, ev audit.Event) error {
	const op = "store.CreateInvitation"
	return wrap(op, s.Transact(ctx, func(tx db) error {
		id, err := tx.insert(ctx, `INSERT INTO survey_invitations (county_code, resident_id, kind, event_id, institution_id, practitioner_id, channel, token_hash, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, inv.County, inv.ResidentID, inv.Kind, inv.EventID, inv.InstitutionID, inv.PractitionerID,
			inv.Channel, inv.TokenHash, s.ts(inv.CreatedAt), s.ts(inv.ExpiresAt))
		if err != nil {
			return err
		}
		inv.ID = id
		if msg != nil {
			msg.Ref = "survey:" + itoa(id)
			if err := s.insertMessage(ctx, tx, msg, s.now()); err != nil {
				return err
			}
		}
		return s.appendAudit(ctx, tx, ev)
	}))
}

const invitationCols = `id, county_code, resident_id, kind, event_id, institution_id, practitioner_id, channel, token_hash, created_at, expires_at, answered`

func scanInvitation(sc interface{ Scan(...any) error }, inv *survey.Invitation) error {
	var answered int
	err := sc.Scan(&inv.ID, &inv.County, &inv.ResidentID, &inv.Kind, &inv.EventID, &inv.InstitutionID, &inv.PractitionerID, &inv.Channel,
		&inv.TokenHash, tsOf(&inv.CreatedAt), tsOf(&inv.ExpiresAt), &answered)
	inv.Answered = answered != 0
	return err
}

// InvitationByHash implements survey.Repository.
func (s *Store) InvitationByHash(ctx context.Context, hash string) (*survey.Invitation, error) {
	var inv survey.Invitation
	if err := scanInvitation(s.read().row(ctx, `SELECT `+invitationCols+` FROM survey_invitations WHERE token_hash = ?`, hash), &inv); err != nil {
		return nil, wrap("store.InvitationByHash", err)
	}
	return &inv, nil
}

// Invitation implements survey.Repository.
func (s *Store) Invitation(ctx context.Context, id int64) (*survey.Invitation, error) {
	var inv survey.Invitation
	if err := scanInvitation(s.read().row(ctx, `SELECT `+invitationCols+` FROM survey_invitations WHERE id = ?`, id), &inv); err != nil {
		return nil, wrap("store.Invitation", err)
	}
	return &inv, nil
}

// OpenInvitations implements survey.Repository.
func (s *Store) OpenInvitations(ctx context.Context, county string, residentID int64, now time.Time) ([]survey.Invitation, error) {
	const op = "store.OpenInvitations"
	rows, err := s.read().query(ctx, `SELECT `+invitationCols+` FROM survey_invitations
		WHERE county_code = ? AND resident_id = ? AND answered = 0 AND expires_at > ? ORDER BY created_at DESC, id DESC LIMIT 20`, county, residentID, s.ts(now))
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []survey.Invitation
	for rows.Next() {
		var inv survey.Invitation
		if err := scanInvitation(rows, &inv); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, inv)
	}
	return out, wrap(op, rows.Err())
}

// AnswerInvitation implements survey.Repository: the invitation is
// claimed (answered, open at now) and the answer stored apart from it.
func (s *Store) AnswerInvitation(ctx context.Context, id int64, now time.Time, ans survey.Answer, ev audit.Event) error {
	const op = "store.AnswerInvitation"
	values, err := json.Marshal(ans.Values)
	if err != nil {
		return wrap(op, err)
	}
	satisfied := 0
	if ans.Satisfied {
		satisfied = 1
	}
	return wrap(op, s.Transact(ctx, func(tx db) error {
		res, err := tx.exec(ctx, `UPDATE survey_invitations SET answered = 1 WHERE id = ? AND answered = 0 AND expires_at > ?`, id, s.ts(now))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return care.Errorf(care.ECONFLICT, "survey.link_gone")
		}
		if _, err := tx.exec(ctx, `INSERT INTO survey_answers (county_code, institution_id, practitioner_id, kind, month, answers, satisfied, aware)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, ans.County, ans.InstitutionID, ans.PractitionerID, ans.Kind, ans.Month, string(values), satisfied, ans.Aware); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, ev)
	}))
}

// SurveyTallies implements survey.Repository.
func (s *Store) SurveyTallies(ctx context.Context, county, from, to string) ([]survey.Tally, error) {
	const op = "store.SurveyTallies"
	rows, err := s.read().query(ctx, `SELECT institution_id, practitioner_id, COUNT(*), SUM(satisfied),
		SUM(CASE WHEN aware >= 0 THEN 1 ELSE 0 END), SUM(CASE WHEN aware = 1 THEN 1 ELSE 0 END)
		FROM survey_answers WHERE county_code = ? AND month >= ? AND month <= ?
		GROUP BY institution_id, practitioner_id ORDER BY institution_id, practitioner_id`, county, from, to)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []survey.Tally
	for rows.Next() {
		var t survey.Tally
		if err := rows.Scan(&t.InstitutionID, &t.PractitionerID, &t.Answers, &t.Satisfied, &t.AwareAsked, &t.Aware); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, t)
	}
	return out, wrap(op, rows.Err())
}
