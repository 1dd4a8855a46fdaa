package main

import (
	"context"
	"log/slog"
	"time"

	"countycare/account"
	"countycare/chronic"
	"countycare/consult"
	"countycare/critical"
	"countycare/notify"
	"countycare/pharmacy"
	"countycare/reading"
	"countycare/referral"
	"countycare/sms"
	"countycare/store"
	"countycare/web"
)

// smsPurposes are the outbox purposes every SMS configuration maps to an
// approved template (docs/sms.md lists each one's parameters); a
// configuration that misses one stops serve at start.
func smsPurposes() []string {
	ps := []string{critical.PurposeAlert, consult.PurposeAlert, chronic.PurposeReminder, reading.PurposeReturned, reading.PurposeOverdue,
		account.ResetNoticePurpose, account.ResetPurpose, pharmacy.PurposeLowStock, notify.PurposeDuty}
	for _, a := range []referral.Action{referral.ActAccept, referral.ActRedirect, referral.ActArrive, referral.ActComplete, referral.ActAcknowledge} {
		ps = append(ps, "referral."+string(a))
	}
	return ps
}

// loadSMSConfig reads --sms-config (nil without one: messages go to the log).
func loadSMSConfig(path string) (*sms.Config, error) {
	if path == "" {
		return nil, nil
	}
	return sms.Load(path, smsPurposes())
}

// startOutbox runs the outbox: with an SMS configuration, the provider's
// client with retries, per-number limits, receipts and escalation;
// without, LogSender.
func startOutbox(ctx context.Context, st *store.Store, live *web.Broker, cfg *sms.Config, log *slog.Logger) {
	if cfg == nil {
		go (&notify.Dispatcher{Repo: st, Sender: notify.LogSender{Log: log}, Log: log, Now: time.Now}).Run(ctx)
		return
	}
	c := sms.New(cfg)
	esc := &notify.Escalation{Repo: st, Live: live, Duty: cfg.Duty(), Labels: cfg.Labels(), Now: time.Now, Log: log}
	go (&notify.Dispatcher{Repo: st, Sender: c, Log: log, Now: time.Now, Retry: cfg.RetrySchedule(), Limiter: st, Limits: cfg.Limits(), Escalator: esc}).Run(ctx)
	go (&notify.Receipts{Repo: st, Source: c, Provider: cfg.Provider, Escalator: esc, Log: log, Now: time.Now,
		Every: time.Duration(cfg.Receipts.EverySeconds) * time.Second, Window: time.Duration(cfg.Receipts.WindowHours) * time.Hour}).Run(ctx)
	log.Info("text messages go out through the provider", "provider", cfg.Provider, "templates", len(cfg.Templates), "per_number_limits", len(cfg.RateLimits))
}
