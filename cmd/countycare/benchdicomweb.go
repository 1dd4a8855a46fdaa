package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"time"

	"countycare/account"
	"countycare/care"
	"countycare/demo"
	"countycare/dicom"
	"countycare/org"
	"countycare/points"
	"countycare/reading"
	"countycare/referral"
	"countycare/resident"
	"countycare/store"
	"countycare/web"
)

// benchCounty finds, in a demo county, the diagnosis center devices send
// to, n residents sampled across it and an administrator to create device
// credentials as.
func benchCounty(ctx context.Context, a *app, st *store.Store, n int) (*org.Institution, []resident.Resident, care.Actor, error) {
	tree, err := a.orgs.Tree(ctx)
	if err != nil {
		return nil, nil, care.Actor{}, err
	}
	centers := tree.OfKind(0, org.KindDiagnosis)
	if len(centers) == 0 {
		return nil, nil, care.Actor{}, fmt.Errorf("bench: the database has no diagnosis center")
	}
	center := centers[0]
	sample, err := st.SampleResidents(ctx, center.CountyCode, n)
	if err != nil || len(sample) == 0 {
		return nil, nil, care.Actor{}, fmt.Errorf("bench: no residents in county %s (%v)", center.CountyCode, err)
	}
	accs, err := st.Accounts(ctx, 1000)
	if err != nil {
		return nil, nil, care.Actor{}, err
	}
	admin := care.Actor{Role: care.RoleAdmin, Username: "bench", CountyCode: center.CountyCode}
	for _, x := range accs {
		if x.Role == care.RoleAdmin {
			admin.AccountID = x.ID
			break
		}
	}
	return center, sample, admin, nil
}

// cmdBenchDICOMweb: countycare bench dicomweb. It builds a county (demo
// data, unless --db already holds one), bulk-loads --studies study rows,
// serves on loopback and measures, through HTTP with device credentials,
// STOW-RS of one study of --instances instances and QIDO-RS searches.
func cmdBenchDICOMweb(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench dicomweb", "Measure DICOMweb through HTTP on loopback: STOW-RS of a --instances study (synthetic\n"+
		"--size×--size 16-bit CT slices, multipart/related, one request) --stow-runs times, and QIDO-RS study searches\n"+
		"(--requests each, one client) after bulk-loading --studies study rows. Without --db a temporary SQLite\n"+
		"database is made and removed afterwards; an empty database first gets a demo county of --residents residents.", stderr)
	var c common
	c.register(fs)
	dbSet := false
	studies := fs.Int("studies", 100000, "study rows to bulk-load before the QIDO searches")
	residents := fs.Int("residents", 5000, "residents of the demo county made in an empty database")
	instances := fs.Int("instances", 100, "instances in the STOW-RS study")
	size := fs.Int("size", 512, "rows and columns of each synthetic CT slice")
	stowRuns := fs.Int("stow-runs", 3, "STOW-RS requests (each a new study)")
	requests := fs.Int("requests", 200, "QIDO-RS requests per search")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the STOW-RS and QIDO-RS requests to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "db" {
			dbSet = true
		}
	})
	if *studies < 0 || *instances < 1 || *size < 8 || *stowRuns < 1 || *requests < 1 {
		return &exitError{2, "bench dicomweb: --studies ≥ 0, --instances ≥ 1, --size ≥ 8, --stow-runs ≥ 1, --requests ≥ 1"}
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if !dbSet {
		dir, err := os.MkdirTemp("", "countycare-bench-dicomweb-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		c.db = "sqlite://" + filepath.Join(dir, "bench.db")
		c.keyFile = filepath.Join(dir, "audit.key")
	}
	st, key, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	t0 := time.Now()
	if insts, err := st.Institutions(ctx); err != nil {
		return err
	} else if len(insts) == 0 { // an empty database: make a demo county first
		if _, err := demo.Generate(ctx, st, demo.Config{Residents: *residents}, log); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "demo county: %d residents in %v\n", *residents, time.Since(t0).Round(time.Millisecond))
	}
	a, err := newApp(st, key, log, account.DefaultConfig(), web.Config{}, points.DefaultRules(), referral.DefaultConfig(), nil)
	if err != nil {
		return err
	}
	defer a.close(context.Background())

	center, sample, adminActor, err := benchCounty(ctx, a, st, 2000)
	if err != nil {
		return err
	}
	county := center.CountyCode
	stamp := strconv.FormatInt(time.Now().UnixNano()%1e9, 10)
	// A village clinic's gateway pushes; the diagnosis center's PACS queries everything.
	pusher := sample[0]
	gw, gwSecret, err := a.dicomweb.CreateClient(ctx, adminActor, "bench-gw-"+stamp, pusher.VillageID, center.ID)
	if err != nil {
		return err
	}
	pacs, pacsSecret, err := a.dicomweb.CreateClient(ctx, adminActor, "bench-pacs-"+stamp, center.ID, center.ID)
	if err != nil {
		return err
	}

	// Bulk-load the study rows: residents from the sample, a year of dates.
	mods := []string{"DX", "CT", "US", "MR", "CR", "OP"}
	rows := make([]reading.ImagingStudy, *studies)
	day0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range rows {
		r := sample[i%len(sample)]
		rows[i] = reading.ImagingStudy{CountyCode: county, StudyUID: fmt.Sprintf("2.25.%s.0.%d", stamp, i), ResidentID: r.ID, ClinicID: r.VillageID,
			CenterID: center.ID, PatientName: "=" + r.Name, PatientID: string(r.IDNumber), StudyDate: day0.AddDate(0, 0, i%365).Format("20060102"),
			StudyTime: "093000", Accession: fmt.Sprintf("A%s%07d", stamp[:3], i), Modalities: []string{mods[i%len(mods)]}, SeriesCount: 1, InstanceCount: 1,
			UpdatedAt: time.Now()}
	}
	t0 = time.Now()
	if _, err := st.LoadImagingStudies(ctx, rows); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "loaded %d study rows in %v (%s)\n", *studies, time.Since(t0).Round(time.Millisecond), st.Redacted())

	base, stop, err := serveLoopback(a.web.Handler())
	if err != nil {
		return err
	}
	defer stop()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}, Timeout: 120 * time.Second}

	// STOW-RS: one request of --instances slices of a new study each run.
	slice := syntheticCT(*size, *size)
	var stowTimes []time.Duration
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	for run := 0; run < *stowRuns; run++ {
		study := fmt.Sprintf("2.25.%s.1.%d", stamp, run)
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		for i := 0; i < *instances; i++ {
			f, err := dicom.Rewrite(slice, map[dicom.Tag]string{dicom.TagPatientID: string(pusher.IDNumber), dicom.TagPatientName: "=" + pusher.Name,
				dicom.TagStudyInstanceUID: study, dicom.TagSeriesInstanceUID: study + ".1", dicom.TagSOPInstanceUID: fmt.Sprintf("%s.1.%d", study, i+1),
				dicom.TagSOPClassUID: "1.2.840.10008.5.1.4.1.1.2", dicom.TagInstanceNumber: strconv.Itoa(i + 1), dicom.TagStudyDate: "20261130"})
			if err != nil {
				return err
			}
			w, _ := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"application/dicom"}})
			w.Write(f)
		}
		mw.Close()
		req, _ := http.NewRequest("POST", base+"/dicomweb/studies", bytes.NewReader(body.Bytes()))
		req.Header.Set("Content-Type", `multipart/related; type="application/dicom"; boundary=`+mw.Boundary())
		req.SetBasicAuth(gw.Name, gwSecret)
		t := time.Now()
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		d := time.Since(t)
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("bench dicomweb: STOW-RS answered %d: %.300s", resp.StatusCode, out)
		}
		stowTimes = append(stowTimes, d)
		if run == 0 {
			fmt.Fprintf(stdout, "STOW-RS request: %d instances of %d×%d 16-bit CT, %.1f MB\n", *instances, *size, *size, float64(body.Len())/1e6)
		}
	}
	fmt.Fprint(stdout, "STOW-RS of one study (client-side, whole request):")
	for _, d := range stowTimes {
		fmt.Fprintf(stdout, " %v", d.Round(time.Millisecond))
	}
	fmt.Fprintln(stdout)

	// QIDO-RS searches as the diagnosis center's PACS, which sees every study.
	r0 := sample[len(sample)/2]
	surname := string([]rune(r0.Name)[:1])
	freq := map[string]int{}
	common := surname
	for _, r := range sample {
		sn := string([]rune(r.Name)[:1])
		if freq[sn]++; freq[sn] > freq[common] {
			common = sn
		}
	}
	searches := []struct{ name, query string }{
		{"all studies, newest first (limit 100)", ""},
		{"PatientName=" + surname + "* (a surname prefix)", "PatientName=" + url.QueryEscape(surname+"*")},
		{"PatientName=" + common + "* (the commonest surname, " + strconv.Itoa(freq[common]*100/len(sample)) + "%)", "PatientName=" + url.QueryEscape(common+"*")},
		{"PatientName=*" + string([]rune(r0.Name)[len([]rune(r0.Name))-1:]) + " (suffix wildcard)", "PatientName=" + url.QueryEscape("*"+string([]rune(r0.Name)[len([]rune(r0.Name))-1:]))},
		{"PatientName=<full name> (exact)", "PatientName=" + url.QueryEscape(r0.Name)},
		{"PatientID=<ID number>", "PatientID=" + string(r0.IDNumber)},
		{"StudyDate=20260301-20260331", "StudyDate=20260301-20260331"},
		{"ModalitiesInStudy=CT&StudyDate=20260601-", "ModalitiesInStudy=CT&StudyDate=20260601-"},
		{"AccessionNumber=<one>", "AccessionNumber=" + rows[len(rows)/3%max(len(rows), 1)].Accession},
		{"PatientName=*zzz* (no match: full scan)", "PatientName=" + url.QueryEscape("*zzz*")},
	}
	fmt.Fprintf(stdout, "QIDO-RS GET /dicomweb/studies as the diagnosis center (sees all %d+ studies), %d requests each, 1 client:\n", *studies, *requests)
	for _, s := range searches {
		res := runLoad(*requests, 1, func(i int) error {
			req, _ := http.NewRequest("GET", base+"/dicomweb/studies?"+s.query, nil)
			req.Header.Set("Accept", "application/dicom+json")
			req.SetBasicAuth(pacs.Name, pacsSecret)
			resp, err := hc.Do(req)
			if err != nil {
				return err
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("QIDO %s: %d", s.query, resp.StatusCode)
			}
			return nil
		})
		if res.err != nil {
			return res.err
		}
		fmt.Fprintf(stdout, "  %-55s p50 %9s  p99 %9s\n", s.name, ms(res.pct(50)), ms(res.pct(99)))
	}
	if *cpuprofile != "" {
		pprof.StopCPUProfile()
	}
	return nil
}
