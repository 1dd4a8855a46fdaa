package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"countycare/account"
	"countycare/care"
	"countycare/org"
	"countycare/points"
	"countycare/referral"
)

func cmdInit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newFlags("init", "Set up a new installation: the county (root of the organisation tree), its health\ncommission, and the first administrator, who then builds the rest in the browser.\nThe administrator's password is read from COUNTYCARE_ADMIN_PASSWORD or the first line of stdin.", stderr)
	c.register(fs)
	code := fs.String("county-code", "", "six-digit county area code, e.g. 411723 (required)")
	name := fs.String("county-name", "", "county name, e.g. 平舆县 (required)")
	user := fs.String("admin-username", "", "administrator's username, e.g. it.zhangsan (required)")
	person := fs.String("admin-name", "", "administrator's full name (required; accounts belong to people)")
	sex := fs.String("admin-sex", "M", "administrator's sex: M or F")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *code == "" || *name == "" || *user == "" || *person == "" {
		fs.Usage()
		return fmt.Errorf("--county-code, --county-name, --admin-username and --admin-name are required")
	}
	pw := os.Getenv("COUNTYCARE_ADMIN_PASSWORD")
	if pw == "" {
		line, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil && line == "" {
			return fmt.Errorf("no administrator password: set COUNTYCARE_ADMIN_PASSWORD or pipe it on stdin")
		}
		pw = strings.TrimRight(line, "\r\n")
	}
	// Check everything that can be refused before writing anything.
	var bad []string
	for _, f := range account.CheckUsername(account.NormalizeUsername(*user)) {
		bad = append(bad, "--admin-username: "+f.Key)
	}
	for _, f := range account.CheckPolicy(pw, *user, account.DefaultConfig()) {
		bad = append(bad, "password: "+f.Key)
	}
	if *sex != "M" && *sex != "F" {
		bad = append(bad, "--admin-sex: M or F")
	}
	probe := &org.Institution{Kind: org.KindCounty, Name: *name, Code: "C" + *code, AreaCode: *code, Level: org.LevelNone}
	for _, f := range org.ValidateInstitution(probe, nil) {
		bad = append(bad, "--county-"+f.Field+": "+f.Key)
	}
	if len(bad) > 0 {
		return fmt.Errorf("nothing written: %s", strings.Join(bad, "; "))
	}
	log := c.logger(stderr)
	st, key, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if empty, err := st.Empty(ctx); err != nil {
		return err
	} else if !empty {
		return fmt.Errorf("the database already has an organisation")
	}
	a, err := newApp(st, key, log, account.DefaultConfig(), webConfigQuiet(), points.DefaultRules(), referral.DefaultConfig(), nil)
	if err != nil {
		return err
	}
	defer a.close(context.Background())
	system := care.Actor{Username: "countycare-init", Role: care.RoleAdmin}
	county := &org.Institution{Kind: org.KindCounty, Name: *name, Code: "C" + *code, AreaCode: *code}
	if err := a.orgs.CreateInstitution(ctx, system, county); err != nil {
		return fmt.Errorf("county: %w", err)
	}
	comm := &org.Institution{ParentID: county.ID, Kind: org.KindCommission, Name: *name + "卫生健康委员会", Code: "W" + *code}
	if err := a.orgs.CreateInstitution(ctx, system, comm); err != nil {
		return fmt.Errorf("health commission: %w", err)
	}
	p := &org.Practitioner{InstitutionID: comm.ID, Name: *person, Sex: *sex, Title: org.TitleStaff}
	if err := a.orgs.SavePractitioner(ctx, system, p); err != nil {
		return fmt.Errorf("administrator: %w", err)
	}
	if _, err := a.accounts.CreateStaffAccount(ctx, system, account.NewAccount{Username: *user, Role: care.RoleAdmin, PractitionerID: p.ID, Password: pw}); err != nil {
		return fmt.Errorf("administrator account: %w", err)
	}
	fmt.Fprintf(stdout, "initialised %s (%s) in %s; sign in as %s\n", *name, *code, st.Redacted(), *user)
	return nil
}
