package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"countycare/account"
	"countycare/chronic"
	"countycare/consult"
	"countycare/critical"
	"countycare/notify"
	"countycare/outreach"
	"countycare/pharmacy"
	"countycare/povertywatch"
	"countycare/reading"
	"countycare/referral"
	"countycare/sms"
	"countycare/specimen"
	"countycare/store"
	"countycare/web"
)

// smsPurposes are the outbox purposes every SMS configuration maps to an
// approved template, with the parameters each purpose's messages carry
// (docs/sms.md); a configuration that misses a purpose, or fills a
// template with a parameter its purpose does not carry, stops serve at
// start.
func smsPurposes() sms.Purposes {
	ps := sms.Purposes{
		critical.PurposeAlert:       {"finding", "value", "stage"},
		consult.PurposeAlert:        {"urgency", "reason", "minutes", "stage"},
		chronic.PurposeReminder:     {"county", "name", "disease", "days", "clinic"},
		reading.PurposeReturned:     {"modality", "study", "stage"},
		reading.PurposeOverdue:      {"modality", "study", "minutes", "target"},
		account.ResetNoticePurpose:  {"admin", "account"},
		account.ResetPurpose:        {"account", "minutes", "link"},
		account.CodePurpose:         {"code", "minutes"},
		pharmacy.PurposeLowStock:    {"drug", "on_hand", "days", "suggest"},
		specimen.PurposeOverdue:     {"clinic", "count", "step"},
		povertywatch.PurposeCrossed: {"household", "year", "spent", "line"},
		notify.PurposeDuty:          {"topic", "phone"},
	}
	for purpose, params := range outreach.Params {
		ps[purpose] = params
	}
	for _, a := range []referral.Action{referral.ActAccept, referral.ActRedirect, referral.ActArrive, referral.ActComplete, referral.ActAcknowledge} {
		ps["referral."+string(a)] = []string{"referral", "institution"}
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

// cmdSMS is "countycare sms check": read and check an SMS configuration as
// serve would, and print what it configures (never the secret; duty
// phones masked).
func cmdSMS(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "check" {
		return &exitError{2, "usage: countycare sms check --sms-config FILE"}
	}
	fs := newFlags("sms check", "Check an SMS configuration as serve --sms-config would (every purpose has a template, using only\n"+
		"the parameters its messages carry; the secret is found) and print what it configures. Sends nothing.", stderr)
	file := fs.String("sms-config", envOr("COUNTYCARE_SMS_CONFIG", ""), "the configuration file (docs/sms.md; env COUNTYCARE_SMS_CONFIG)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *file == "" {
		return &exitError{2, "sms check: --sms-config is required"}
	}
	cfg, err := loadSMSConfig(*file)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "provider\t%s\nendpoint\t%s\nregion\t%s\nkey ID\t%s\nsecret\tfound (%d characters)\nsign name\t%s\n",
		cfg.Provider, cfg.Endpoint, cfg.Region, cfg.KeyID, len(cfg.Secret), cfg.SignName)
	ps := smsPurposes()
	names := make([]string, 0, len(ps))
	for p := range ps {
		names = append(names, p)
	}
	sort.Strings(names)
	for _, p := range names {
		t := cfg.Templates[p]
		fmt.Fprintf(w, "template %s\t%s (%s)\n", p, t.Code, strings.Join(t.Params, ", "))
	}
	for _, l := range cfg.RateLimits {
		fmt.Fprintf(w, "per-number limit\t%d in %d min\n", l.Max, l.Minutes)
	}
	fmt.Fprintf(w, "retries\t%d attempts, %d s after the first, doubling, at most %d s apart\n", cfg.Retry.Attempts, cfg.Retry.FirstSeconds, cfg.Retry.MaxSeconds)
	for id, phones := range cfg.Duty() {
		masked := make([]string, len(phones))
		for i, p := range phones {
			masked[i] = notify.MaskRecipient(p)
		}
		fmt.Fprintf(w, "duty phones of institution %d\t%s\n", id, strings.Join(masked, ", "))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, "ok")
	return err
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
