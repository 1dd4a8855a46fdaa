package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/pprof"

	"countycare/demo"
)

func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newFlags("demo", "Fill an empty database with a generated demo county: two medical communities,\n20 township centers, 206 village clinics, 792 village doctors, county specialists,\nand residents in households. One sign-in per role is printed.", stderr)
	c.register(fs)
	residents := fs.Int("residents", 20000, "number of residents (1,000,000 for a county the size of the seeds')")
	seed := fs.Uint64("seed", 2026, "random seed: the same seed gives the same county")
	password := fs.String("password", demo.DefaultPassword, "password of the demo accounts")
	visits := fs.Int("visits", 0, "settled visits of the current year to generate (e.g. 1000000 for the resettlement benchmark)")
	contracts := fs.Int("contracts", -1, "residents with a family doctor contract (-1: half the residents, as many as the generator places; 0: none)")
	consultations := fs.Int("consultations", -1, "closed remote consultations over the past year (-1: the seeds' 32,000 a year scaled to --residents; 0: none)")
	followUps := fs.Int("followups", -1, "chronic follow-ups over the past year, with the registries they belong to (-1: the seeds' 48,963 a year scaled to --residents; 0: none)")
	referrals := fs.Int("referrals", -1, "up-referrals over the past year, with their redirects, down-referrals and tasks (-1: 15 per 1,000 residents, docs/referral.md; 0: none)")
	prescriptions := fs.Int("prescriptions", -1, "reviewed prescriptions over the past year (-1: the seeds' 498,600 a year scaled to --residents; 0: none)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the load to this file (for tuning the bulk load)")
	ecgReads := fs.Int("ecg-reads", -1, "ECGs read over the past year, filed on embedded MIT-BIH excerpts (-1: the seeds' 71,296 a year scaled to --residents; 0: none)")
	imagingReads := fs.Int("imaging-reads", -1, "imaging studies read over the past year, filed on embedded DICOM files (-1: the seeds' 26,322 a year scaled to --residents; 0: none)")
	elderlyPct := fs.Int("elderly-percent", demo.ElderlyCoverage, "percent of residents aged 65+ given the yearly check-up over the past year (TCM identification for 60 % of all 65+; 0: none)")
	pregnancies := fs.Int("pregnancies", -1, "pregnancies registered over the past year, with every child under 7 and the year's checks (-1: births of 1 % of --residents; 0: none)")
	specimens := fs.Int("specimens", -1, "specimens carried from villages to the county lab over the past year (-1: the seeds' 10,856 a year scaled to --residents; 0: none)")
	villages := fs.Int("villages", 206, "village clinics the residents live in (a single village for the village app's sync figures)")
	villageDoctors := fs.Int("village-doctors", 792, "village doctors spread over the village clinics")
	hutReadings := fs.Int("hut-readings", -1, "health huts' device readings over the past year (-1: demo.ScaledHutReadings)")
	sterilePacks := fs.Int("sterile-packs", -1, "sterile packs delivered to clinics over the past year (-1: the seeds' volume, demo.ScaledSterilePacks)")
	screenShare := fs.Int("screening", demo.ScreeningShare, "per cent of each township screening campaign's target screened (0: no campaigns)")
	outreachWeeks := fs.Int("outreach-weeks", demo.OutreachWeeksPerYear, "weeks of expert sessions at every township center before today, one a week each, with bookings and attendance (0: none)")
	eduSessions := fs.Int("edu-sessions", -1, "health-education sessions over the past year (-1: the seeds' 3,000 a year scaled to --residents; 0: none)")
	homeVisits := fs.Int("home-visits", -1, "home visits (送医送护) requested over the past year (-1: the seeds' 28,932 a year scaled to --residents; 0: none)")
	supplyOrders := fs.Int("supply-orders", -1, "drug supply orders from clinics to the county over the past year (-1: the seeds' 67,200 a year scaled to --residents; 0: none)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if *residents < 1 {
		return fmt.Errorf("--residents must be at least 1")
	}
	if *villages < 1 || *villageDoctors < *villages {
		return fmt.Errorf("--villages must be at least 1 and --village-doctors at least --villages (got %d and %d)", *villages, *villageDoctors)
	}
	log := c.logger(stderr)
	st, _, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if *prescriptions < 0 {
		*prescriptions = demo.ScaledPrescriptions(*residents)
	}
	if *supplyOrders < 0 {
		*supplyOrders = demo.ScaledSupplyOrders(*residents)
	}
	if *followUps < 0 {
		*followUps = demo.ScaledFollowUps(*residents)
	}
	if *contracts < 0 {
		*contracts = *residents / 2
	}
	if *consultations < 0 {
		*consultations = demo.ScaledConsultations(*residents)
	}
	if *referrals < 0 {
		*referrals = demo.ScaledReferrals(*residents)
	}
	if *ecgReads < 0 {
		*ecgReads = demo.ScaledECGReads(*residents)
	}
	if *imagingReads < 0 {
		*imagingReads = demo.ScaledImagingReads(*residents)
	}
	if *supplyOrders < 0 {
		*supplyOrders = demo.ScaledSupplyOrders(*residents)
	}
	if *pregnancies < 0 {
		*pregnancies = demo.ScaledPregnancies(*residents)
	}
	if *specimens < 0 {
		*specimens = demo.ScaledSpecimens(*residents)
	}
	if *hutReadings < 0 {
		*hutReadings = demo.ScaledHutReadings(*residents)
	}
	if *sterilePacks < 0 {
		*sterilePacks = demo.ScaledSterilePacks(*residents)
	}
	if *eduSessions < 0 {
		*eduSessions = demo.ScaledEduSessions(*residents)
	}
	if *homeVisits < 0 {
		*homeVisits = demo.ScaledHomeVisits(*residents)
	}
	res, err := demo.Generate(ctx, st, demo.Config{ECGReads: *ecgReads, ImagingReads: *imagingReads, Residents: *residents, Seed: *seed, Password: *password, Visits: *visits, FollowUps: *followUps, Contracts: *contracts,
		Referrals: *referrals, Consultations: *consultations, Prescriptions: *prescriptions, SupplyOrders: *supplyOrders, Specimens: *specimens, Pregnancies: *pregnancies, Screening: *screenShare, ElderlyPercent: *elderlyPct,
		HutReadings: *hutReadings, SterilePacks: *sterilePacks, OutreachWeeks: *outreachWeeks, EduSessions: *eduSessions, HomeVisits: *homeVisits, Villages: *villages, VillageDoctors: *villageDoctors}, log)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "demo county written to %s in %s: %d institutions, %d staff, %d households, %d residents, %d settled visits, %d chronic patients, %d follow-ups, %d family doctor contracts, %d home visits, %d check-ups, %d up-referrals, %d down-referrals, %d consultations, %d reviewed prescriptions, %d ECG reads, %d imaging reads, %d supply orders, %d specimens, %d pregnancies, %d children with %d checks, %d elderly check-ups (%d with TCM identification), %d device readings, %d sterile packs, %d residents screened with %d suspected cases, %d expert sessions with %d bookings, %d health-education sessions, %d door-to-door visits\n",
		st.Redacted(), res.Duration.Round(1e6), res.Institutions, res.Staff, res.Households, res.Residents, res.Visits, res.ChronicPatients, res.FollowUps, res.Contracts, res.HomeVisits, res.Checkups, res.UpReferrals, res.DownReferrals, res.Consultations, res.Prescriptions, res.ECGReads, res.ImagingReads, res.SupplyOrders, res.Specimens, res.Pregnancies, res.Children, res.ChildChecks, res.ElderlyCheckups, res.ElderlyTCM, res.HutReadings, res.SterilePacks, res.Screened, res.SuspectedCases, res.OutreachSessions, res.OutreachBookings, res.EduSessions, res.DoorToDoor)
	fmt.Fprintf(stdout, "sign-ins (password %q):\n", *password)
	for _, l := range res.Logins {
		fmt.Fprintf(stdout, "  %-20s %-32s %s, %s\n", l.Role, l.Username, l.Name, l.Institution)
	}
	if l := res.LabLogin; l != nil {
		fmt.Fprintf(stdout, "  %-20s %-32s %s, %s\n", "reader/lab", l.Username, l.Name, l.Institution)
	}
	return nil
}
