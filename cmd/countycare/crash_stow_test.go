package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"countycare/care"
	"countycare/dicom"
	"countycare/internal/testdb"
	"countycare/internal/testfiles"
	"countycare/org"
	"countycare/store"
)

// A server killed with SIGKILL while four devices push STOW-RS requests
// (issue 16: instances of concurrent requests are committed together, one
// transaction per group): every instance a client was told was stored
// (HTTP 200) is in the database after the kill, with its audit row, and
// the chain verifies. On both databases.
func TestKilledServerKeepsEveryAcknowledgedInstance(t *testing.T) {
	ct := testfiles.Read(t, "dicom", "pydicom-CT_small.dcm")
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		dir := t.TempDir()
		dbURL := testdb.URL(t, d)
		keyFile := filepath.Join(dir, "audit.key")
		common := []string{"--db", dbURL, "--audit-key-file", keyFile, "--log-format", "text"}
		if out, err := runCmd(t, append([]string{"demo", "--residents", "300"}, common...)...); err != nil {
			t.Fatalf("demo: %v\n%s", err, out)
		}
		hexKey, _ := os.ReadFile(keyFile)
		key, _ := hex.DecodeString(strings.TrimSpace(string(hexKey)))
		st, err := store.Open(ctx, dbURL, store.Options{AuditKey: key})
		if err != nil {
			t.Fatal(err)
		}
		admin, center := "", int64(0)
		accs, _ := st.Accounts(ctx, 1000)
		for _, a := range accs {
			if a.Role == care.RoleAdmin && admin == "" {
				admin = a.Username
			}
		}
		insts, _ := st.Institutions(ctx)
		for _, in := range insts {
			if in.Kind == org.KindDiagnosis && center == 0 {
				center = in.ID
			}
		}
		people, err := st.SampleResidents(ctx, insts[0].CountyCode, 1)
		if err != nil || len(people) == 0 || admin == "" || center == 0 {
			t.Fatalf("demo county: %v %d residents, admin %q, center %d", err, len(people), admin, center)
		}
		pusher := people[0]
		st.Close()

		child, base, stderr := startServer(t, append([]string{"serve", "--addr", "127.0.0.1:0", "--audit-anchor-every", "0"}, common...))
		killed := false
		defer func() {
			if !killed {
				child.Process.Kill()
				child.Wait()
			}
		}()
		hc, csrf := signIn(t, base, admin)
		body, _ := json.Marshal(map[string]any{"name": "crash-gw", "institution_id": pusher.VillageID, "center_id": center})
		req, _ := http.NewRequest("POST", base+"/api/v1/dicomweb/clients", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-CSRF-Token", csrf)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var cred struct{ Name, Secret string }
		json.NewDecoder(resp.Body).Decode(&cred)
		resp.Body.Close()
		if resp.StatusCode != 201 || cred.Secret == "" {
			t.Fatalf("device credential: %d", resp.StatusCode)
		}

		// Four devices push studies of three instances as fast as they can;
		// the server is killed in the middle of it.
		dev := &http.Client{Timeout: 10 * time.Second}
		acked := loadThenKill(t, child, 2*time.Second, func(g, i int) ([]string, bool) {
			var b bytes.Buffer
			mw := multipart.NewWriter(&b)
			var sops []string
			for k := 0; k < 3; k++ {
				study := fmt.Sprintf("2.25.66%d.%d", g, i)
				sop := fmt.Sprintf("%s.1.%d", study, k)
				f, err := dicom.Rewrite(ct, map[dicom.Tag]string{dicom.TagPatientID: string(pusher.IDNumber), dicom.TagStudyInstanceUID: study,
					dicom.TagSeriesInstanceUID: study + ".1", dicom.TagSOPInstanceUID: sop})
				if err != nil {
					t.Error(err)
					return nil, true
				}
				w, _ := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"application/dicom"}})
				w.Write(f)
				sops = append(sops, sop)
			}
			mw.Close()
			req, _ := http.NewRequest("POST", base+"/dicomweb/studies", &b)
			req.Header.Set("Content-Type", `multipart/related; type="application/dicom"; boundary=`+mw.Boundary())
			req.SetBasicAuth(cred.Name, cred.Secret)
			resp, err := dev.Do(req)
			if err != nil {
				return nil, true // the server is gone
			}
			out, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 || !json.Valid(out) {
				return nil, false // not acknowledged
			}
			return sops, false
		})
		killed = true
		if len(acked) < 30 {
			t.Fatalf("only %d instances acknowledged before the kill; the test needs load to mean anything\n%s", len(acked), stderr.String())
		}

		st, err = store.Open(ctx, dbURL, store.Options{AuditKey: key})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		var stored, audited int
		if err := st.QueryRowForTest(ctx, `SELECT COUNT(*) FROM imaging_instances WHERE sop_uid LIKE '2.25.66%'`, &stored); err != nil {
			t.Fatal(err)
		}
		if err := st.QueryRowForTest(ctx, `SELECT COUNT(*) FROM audit_events WHERE action = 'dicomweb.stow' AND detail LIKE '%sop=2.25.66%'`, &audited); err != nil {
			t.Fatal(err)
		}
		missing := 0
		for _, sop := range acked {
			var n int
			if err := st.QueryRowForTest(ctx, `SELECT COUNT(*) FROM imaging_instances WHERE sop_uid = '`+sop+`'`, &n); err != nil {
				t.Fatal(err)
			}
			if n != 1 {
				missing++
			}
		}
		if missing > 0 {
			t.Fatalf("%d of %d acknowledged instances are not stored after the kill", missing, len(acked))
		}
		if audited != stored {
			t.Fatalf("%d instances stored, %d STOW audit rows", stored, audited)
		}
		v, err := st.VerifyAudit(ctx, key)
		if err != nil || !v.OK() {
			t.Fatalf("audit chain after the kill: %v %v", err, v.Problems)
		}
		t.Logf("%d instances acknowledged before SIGKILL (%d stored), every one stored and audited; chain of %d rows verifies", len(acked), stored, v.Rows)
	})
}

// bench dicomweb-peer without the peers' scripts says where they are
// expected and that they are not part of the repository.
func TestBenchDICOMwebPeerNeedsThePeers(t *testing.T) {
	out, err := runCmd(t, "bench", "dicomweb-peer", "--peers", filepath.Join(t.TempDir(), "none"))
	if exitCode(err) != 1 || !strings.Contains(fmt.Sprint(err), "bench-dicomweb.sh is absent") || !strings.Contains(fmt.Sprint(err), "not part of the repository") {
		t.Fatalf("exit %d: %v %s", exitCode(err), err, out)
	}
	// Without --peers it names the flag, rather than guessing a folder outside the repository.
	if out, err := runCmd(t, "bench", "dicomweb-peer"); exitCode(err) != 2 || !strings.Contains(fmt.Sprint(err), "--peers is required") {
		t.Fatalf("no --peers: exit %d: %v %s", exitCode(err), err, out)
	}
}
