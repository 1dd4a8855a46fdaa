package demo

import (
	"bytes"
	"embed"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"countycare/access"
	"countycare/care"
	"countycare/dicom"
	"countycare/ecg"
	"countycare/org"
	"countycare/reading"
	"countycare/store"
)

// Reading volumes of the seeds (seed 005): one county of SeedPopulation
// people reads 71,296 ECGs and 26,322 imaging studies a year at its
// diagnosis centers.
const (
	SeedECGReads     = 71296
	SeedImagingReads = 26322
)

// ScaledECGReads is the seeds' yearly ECG volume for n residents.
func ScaledECGReads(n int) int { return int(int64(SeedECGReads) * int64(n) / SeedPopulation) }

// ScaledImagingReads is the seeds' yearly imaging volume for n residents.
func ScaledImagingReads(n int) int { return int(int64(SeedImagingReads) * int64(n) / SeedPopulation) }

// samples holds real recordings the demo files its studies on (see
// samples/README.md for their sources and licences): 10-s MIT-BIH
// excerpts in WFDB format 16 and DICOM files of several modalities.
//
//go:embed samples/ecg samples/dicom
var samples embed.FS

// ecgSample is one excerpt with its pre-read, computed once.
type ecgSample struct {
	name   string
	header []byte
	hash   string
	rec    *ecg.Record
	pre    reading.PreRead
}

// SampleDICOM is one of the embedded DICOM files (samples/README.md names
// them and their licences), for a tool that sends a real file (bench
// replay). Errors: no such file.
func SampleDICOM(name string) ([]byte, error) {
	return samples.ReadFile("samples/dicom/" + name)
}

// dicomSample is one DICOM file with the metadata it is filed under.
type dicomSample struct {
	in   *reading.ImagingInstance
	hash string
	size int
	w    int // weight among the county's imaging reads
}

// sampleWeights spreads the imaging reads over the files: DR/CR and
// ultrasound are most of what townships send (seed 005), then CT, fundus
// photos (the RGB secondary capture stands in) and MR.
var sampleWeights = map[string]int{
	"pydicom-CR1.dcm": 40, "pydicom-examples_palette.dcm": 28, "pydicom-CT_small.dcm": 8, "tcia-5.dcm": 7,
	"pydicom-SC_rgb_jpeg_dcmd.dcm": 9, "pydicom-MR_small.dcm": 4, "tcia-3.dcm": 4,
}

// sampleBodyParts are Body Part Examined values the demo gives samples
// that lack one, so that the viewer can put a study beside the previous
// one of the same body part (reading.Viewer.previous): tcia-5 is a CT
// perfusion study of a middle-cerebral-artery stroke ("MCA Stroke"), a
// head CT.
var sampleBodyParts = map[string]string{"tcia-5.dcm": "HEAD"}

// loadSamples reads the embedded samples, stores each once in blobs and
// pre-reads the ECGs.
func (g *gen) loadSamples() ([]ecgSample, []dicomSample, error) {
	county := g.cfg.CountyCode
	var ecgs []ecgSample
	names, err := samples.ReadDir("samples/ecg")
	if err != nil {
		return nil, nil, err
	}
	pre := ecg.DefaultPreReadConfig()
	for _, e := range names {
		if !strings.HasSuffix(e.Name(), ".hea") {
			continue
		}
		hb, err := samples.ReadFile("samples/ecg/" + e.Name())
		if err != nil {
			return nil, nil, err
		}
		name := strings.TrimSuffix(e.Name(), ".hea")
		sig, err := samples.ReadFile("samples/ecg/" + name + ".dat")
		if err != nil {
			return nil, nil, err
		}
		h, err := ecg.ParseHeader(bytes.NewReader(hb))
		if err != nil {
			return nil, nil, fmt.Errorf("demo: sample %s: %w", name, err)
		}
		rec, err := ecg.ReadRecord(h, func(string) (io.Reader, error) { return bytes.NewReader(sig), nil })
		if err != nil {
			return nil, nil, fmt.Errorf("demo: sample %s: %w", name, err)
		}
		pr := pre.PreReadRecord(rec)
		s := ecgSample{name: name, header: hb, hash: store.BlobHash(sig), rec: rec,
			pre: reading.PreRead{HeartRate: pr.HeartRate, Findings: pr.Findings, Priority: pr.Priority, Premature: pr.Premature, Pauses: len(pr.Pauses), Irregular: pr.Irregular}}
		if err := g.b.Blob(county, s.hash, "application/octet-stream", sig, g.now); err != nil {
			return nil, nil, err
		}
		ecgs = append(ecgs, s)
	}
	var dcms []dicomSample
	files, err := samples.ReadDir("samples/dicom")
	if err != nil {
		return nil, nil, err
	}
	for _, e := range files {
		b, err := samples.ReadFile("samples/dicom/" + e.Name())
		if err != nil {
			return nil, nil, err
		}
		if part := sampleBodyParts[e.Name()]; part != "" {
			if b, err = dicom.WithElement(b, &dicom.Element{Tag: dicom.TagBodyPartExamined, VR: "CS", Value: []byte(part)}); err != nil {
				return nil, nil, fmt.Errorf("demo: sample %s: %w", e.Name(), err)
			}
		}
		in, err := reading.ReadDICOM(b)
		if err != nil {
			return nil, nil, fmt.Errorf("demo: sample %s: %w", e.Name(), err)
		}
		in.FileName, in.File = e.Name(), nil
		s := dicomSample{in: in, hash: store.BlobHash(b), size: len(b), w: max(sampleWeights[e.Name()], 1)}
		if err := g.b.Blob(county, s.hash, "application/dicom", b, g.now); err != nil {
			return nil, nil, err
		}
		dcms = append(dcms, s)
	}
	if len(ecgs) == 0 || len(dcms) == 0 {
		return nil, nil, fmt.Errorf("demo: no embedded samples")
	}
	sort.Slice(ecgs, func(i, j int) bool { return ecgs[i].name < ecgs[j].name })
	sort.Slice(dcms, func(i, j int) bool { return dcms[i].in.FileName < dcms[j].in.FileName })
	return ecgs, dcms, nil
}

// studies writes a year of ECG and imaging reads in metadata, each
// referring to one of the embedded samples by hash, with the care links
// that let the reading centers open them, each imaging study's row for
// QIDO-RS and every study's reading workflow entry. Studies of the last
// hours (demoOpenFor) wait in the worklists, some claimed; older ones are
// reported with a signed report. The demo resident gets an ECG and two head
// CT studies (a previous one to compare with) and an ultrasound; the recent
// ones wait unclaimed for the demo reader.
func (g *gen) studies(nECG, nImg int) error {
	if (nECG <= 0 && nImg <= 0) || len(g.people) == 0 {
		return nil
	}
	rng := rand.New(rand.NewPCG(g.cfg.Seed+31, 53))
	ecgs, dcms, err := g.loadSamples()
	if err != nil {
		return err
	}
	centers := map[string]int64{}
	for _, in := range g.insts {
		if in.Kind == org.KindDiagnosis {
			for _, d := range diagnosisCenters {
				if d.name == in.Name {
					centers[d.specialty] = in.ID
				}
			}
		}
	}
	if centers["ecg"] == 0 || centers["radiology"] == 0 || centers["ultrasound"] == 0 {
		return fmt.Errorf("demo: the diagnosis centers are missing")
	}
	dk, err := g.newDesk(rng, []int64{centers["ecg"], centers["radiology"], centers["ultrasound"]})
	if err != nil {
		return err
	}
	county := g.cfg.CountyCode
	linked := map[[2]int64]bool{} // resident, center
	link := func(resID, center int64, reason string, at time.Time) error {
		k := [2]int64{resID, center}
		if linked[k] {
			return nil
		}
		linked[k] = true
		return g.b.CareLink(&access.CareLink{ID: g.id("link"), CountyCode: county, ResidentID: resID, InstitutionID: center, Kind: access.LinkStudy,
			Reason: reason, CreatedAt: at})
	}
	// The source rows' status as the workflow keeps it: waiting until the
	// signed report marks them reported (a claim leaves them waiting).
	status := func(at time.Time) string {
		if g.now.Sub(at) < demoOpenFor {
			return reading.StatusWaiting
		}
		return reading.FlowReported
	}
	mine := func(p person) bool { return g.demoRes != nil && p.id == g.demoRes.ID }
	when := func() time.Time { return g.now.Add(-time.Duration(rng.Int64N(int64(365 * 24 * time.Hour)))) }
	addECG := func(p person, s *ecgSample, at time.Time) error {
		st := &reading.ECGStudy{ID: g.id("ecg_study"), CountyCode: county, ResidentID: p.id, ClinicID: p.village, CenterID: centers["ecg"],
			Format: reading.FormatWFDB, FileName: s.name + ".hea", Header: s.header, Fs: s.rec.Fs, Leads: len(s.rec.Leads),
			Seconds: s.rec.Duration(), PreRead: s.pre, Status: status(at), UploadedAt: at}
		if err := link(p.id, st.CenterID, "ECG", at); err != nil {
			return err
		}
		g.res.ECGReads++
		if err := g.b.ECGStudy(st, s.hash); err != nil {
			return err
		}
		e := reading.ECGEntry(st, dk.targets)
		e.ID = g.id("reading_study")
		return dk.file(e, &st.PreRead, mine(p))
	}
	addImage := func(p person, s *dicomSample, at time.Time) error {
		in := *s.in
		in.ID = g.id("imaging_instance")
		in.CountyCode, in.ResidentID, in.ClinicID, in.CenterID = county, p.id, p.village, centers["radiology"]
		if in.Modality == "US" {
			in.CenterID = centers["ultrasound"]
		}
		// Each read is its own study: new UIDs under the 2.25 (UUID-derived) root.
		in.StudyUID = fmt.Sprintf("2.25.%d%06d1", g.cfg.Seed, in.ID)
		in.SeriesUID = fmt.Sprintf("2.25.%d%06d2", g.cfg.Seed, in.ID)
		in.SOPUID = fmt.Sprintf("2.25.%d%06d3", g.cfg.Seed, in.ID)
		in.StudyDate = at.In(care.Shanghai).Format("20060102")
		in.Accession = fmt.Sprintf("A%s%07d", county, in.ID)
		in.Status, in.UploadedAt = status(at), at
		if err := link(p.id, in.CenterID, "imaging", at); err != nil {
			return err
		}
		g.res.ImagingReads++
		if err := g.b.ImagingInstance(&in, s.hash, s.size); err != nil {
			return err
		}
		if err := g.b.ImagingStudy(g.id("imaging_study"), &in); err != nil {
			return err
		}
		e := reading.ImagingEntry(&in, dk.targets)
		e.ID = g.id("reading_study")
		return dk.file(e, nil, mine(p))
	}
	if g.demoRes != nil {
		me := person{id: g.demoRes.ID, village: g.demoRes.VillageID}
		if nECG > 0 {
			if err := addECG(me, &ecgs[0], g.now.Add(-3*time.Hour)); err != nil {
				return err
			}
		}
		for _, x := range []struct {
			file string
			ago  time.Duration
		}{{"tcia-5.dcm", 200 * 24 * time.Hour}, {"tcia-5.dcm", 2 * time.Hour}, {"pydicom-examples_palette.dcm", 30 * 24 * time.Hour}} {
			for i := range dcms {
				if nImg > 0 && dcms[i].in.FileName == x.file {
					if err := addImage(me, &dcms[i], g.now.Add(-x.ago)); err != nil {
						return err
					}
				}
			}
		}
	}
	for i := g.res.ECGReads; i < nECG; i++ {
		if err := addECG(g.people[rng.IntN(len(g.people))], &ecgs[rng.IntN(len(ecgs))], when()); err != nil {
			return err
		}
	}
	total := 0
	for _, s := range dcms {
		total += s.w
	}
	for i := g.res.ImagingReads; i < nImg; i++ {
		k := rng.IntN(total)
		j := 0
		for k >= dcms[j].w {
			k -= dcms[j].w
			j++
		}
		if err := addImage(g.people[rng.IntN(len(g.people))], &dcms[j], when()); err != nil {
			return err
		}
	}
	return nil
}
