package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"countycare/account"
	"countycare/care"
	"countycare/points"
	"countycare/referral"
	"countycare/web"
)

// cmdOnline is `countycare online purge-chat --before DATE`: delete the chat
// of online follow-up visits written before DATE (China time), which must
// be at least 3 years ago (互联网诊疗监管细则 2022: chat, audio and video
// kept ≥ 3 years; online.PurgeAllowed). Visits and prescriptions stay.
func cmdOnline(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "purge-chat" {
		return fmt.Errorf("usage: countycare online purge-chat --before YYYY-MM-DD [--db URL]")
	}
	var c common
	fs := newFlags("online purge-chat", "Delete online-visit chat (text and images) written before --before, which must be at\n"+
		"least 3 years ago (the rules keep chat ≥ 3 years). The visits and their prescriptions stay. Audited.", stderr)
	c.register(fs)
	before := fs.String("before", "", "delete chat written before this day (YYYY-MM-DD, China time)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	day, err := care.ParseDate(*before)
	if err != nil {
		return fmt.Errorf("--before: want YYYY-MM-DD, got %q", *before)
	}
	st, key, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	a, err := newApp(st, key, c.logger(stderr), account.DefaultConfig(), web.Config{}, points.DefaultRules(), referral.DefaultConfig(), nil)
	if err != nil {
		return err
	}
	defer a.close(context.Background())
	at := time.Date(day.Year, day.Month, day.Day, 0, 0, 0, 0, care.Shanghai)
	n, err := a.online.Purge(ctx, care.Actor{Username: "cli:online-purge-chat", Role: care.RoleAdmin}, at)
	if err != nil {
		if care.IsCode(err, care.EINVALID) {
			return fmt.Errorf("chat is kept at least 3 years: %s is too recent", day)
		}
		return err
	}
	_, err = fmt.Fprintf(stdout, "deleted %d chat messages written before %s\n", n, day)
	return err
}
