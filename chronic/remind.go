package chronic

import (
	"context"
	"fmt"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/notify"
	"countycare/org"
)

// PurposeReminder is the outbox purpose of follow-up reminders.
const PurposeReminder = "chronic.reminder"

// diseaseNames are the diseases as a reminder names them.
var diseaseNames = map[Disease]string{Hypertension: "高血压", Diabetes: "糖尿病", Mental: "精神健康", Tuberculosis: "肺结核", Hepatitis: "肝炎"}

// ReminderText is the Chinese text of a follow-up reminder (an SMS of at
// most 70 characters for usual names).
func ReminderText(county, name string, d Disease, clinic string, daysOverdue int) string {
	return fmt.Sprintf("【%s医共体】%s您好，您的%s随访已到期%d天，请近日到%s随访。", county, name, diseaseNames[d], daysOverdue, clinic)
}

// Reminders is the outcome of SendReminders.
type Reminders struct {
	Overdue int // overdue patients considered
	NoPhone int // without a phone number
	Queued  int // messages queued
	Limited int // skipped: already reminded Config.RemindersPerWeek times in 7 days
}

// SendReminders queues a text reminder to each overdue patient of the
// actor's clinics who has a phone number — never more than
// Config.RemindersPerWeek to one resident in 7 days (the outbox enforces it
// in the same transaction) — with one audit row. The dispatcher delivers
// them through the configured sender.
func (s *Service) SendReminders(ctx context.Context, a care.Actor) (*Reminders, error) {
	clinics, err := s.Residents.ManagedClinics(ctx, a)
	if err != nil {
		return nil, err
	}
	today := care.Today(s.Now())
	list, err := s.Repo.Overdue(ctx, a.CountyCode, clinics, today, 5000)
	if err != nil {
		return nil, err
	}
	t, err := s.Orgs.Tree(ctx)
	if err != nil {
		return nil, err
	}
	county := ""
	for _, r := range t.Roots() {
		if r.Kind == org.KindCounty && r.CountyCode == a.CountyCode {
			county = r.Name
		}
	}
	out := &Reminders{Overdue: len(list)}
	var msgs []notify.Message
	seen := map[int64]bool{} // one message per resident, even with two overdue registries
	for _, o := range list {
		if o.Phone == "" {
			out.NoPhone++
			continue
		}
		if seen[o.ResidentID] {
			continue
		}
		seen[o.ResidentID] = true
		clinic := ""
		if in := t.Get(o.ClinicID); in != nil {
			clinic = in.Name
		}
		msgs = append(msgs, notify.Message{County: o.County, ResidentID: o.ResidentID, Channel: notify.ChannelSMS, Recipient: o.Phone,
			Purpose: PurposeReminder, Body: ReminderText(county, o.Name, o.Disease, clinic, o.DaysOverdue), Practitioner: o.DoctorID, Institution: o.ClinicID,
			Params: map[string]string{"county": county, "name": o.Name, "disease": diseaseNames[o.Disease], "days": fmt.Sprint(o.DaysOverdue), "clinic": clinic}})
	}
	ev := audit.New(ctx, a, ActRemind, 0)
	ev.Detail = fmt.Sprintf("reminders: %d overdue, %d with a phone", len(list), len(msgs))
	n, err := s.Repo.QueueMessages(ctx, msgs, s.Config.RemindersPerWeek, s.Now().Add(-7*24*time.Hour), ev)
	if err != nil {
		return nil, err
	}
	out.Queued, out.Limited = n, len(msgs)-n
	return out, nil
}
