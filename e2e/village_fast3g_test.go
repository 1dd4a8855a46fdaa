package e2e

import (
	"bufio"
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// Fast 3G as Chrome DevTools throttles it (front_end/core/sdk/
// NetworkManager.ts, the preset it called "Fast 3G" and now calls
// "Slow 4G"): 1.6 Mbit/s down and 750 kbit/s up, each × 0.9, and 150 ms
// × 3.75 of latency on every request.
const (
	fast3GDownBytes = 1.6e6 * 0.9 / 8
	fast3GUpBytes   = 750e3 * 0.9 / 8
	fast3GLatencyMS = 150 * 3.75
)

// emulateFast3G throttles the tab's link to Fast 3G: the page's requests
// and its service worker's alike (the rule matches every request).
func emulateFast3G(ctx context.Context) error {
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		return err
	}
	c := network.Conditions{Latency: fast3GLatencyMS, DownloadThroughput: fast3GDownBytes, UploadThroughput: fast3GUpBytes, ConnectionType: network.ConnectionTypeCellular3g}
	if _, err := chromedp.Call(ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{MatchedNetworkConditions: []*network.Conditions{&c}}); err != nil {
		return err
	}
	_, err := chromedp.Call(ctx, network.OverrideNetworkState, network.OverrideNetworkStateParams{Latency: c.Latency, DownloadThroughput: c.DownloadThroughput, UploadThroughput: c.UploadThroughput, ConnectionType: c.ConnectionType})
	return err
}

// BenchmarkVillageFirstSyncFast3G is issue 13 §1's first-sync figure
// measured in the browser, not computed: a village of 1,250 residents
// with a year of follow-ups (the same village as BenchmarkVillageSync in
// web/: 1,500 follow-ups), its doctor on a 360-px phone that has never
// opened the app (a fresh profile: no cached shell, no service worker,
// no IndexedDB), signed in, then the link throttled to Fast 3G by CDP
// and the app opened. The figure is the time from navigation start until
// the first sync has stored the village on the phone (the app's own
// data-synced mark), the app shell's download included; and the bytes the
// page fetched (Resource Timing transferSize: the page, its scripts and
// styles, and the sync's requests).
//
//	go test ./e2e -run '^$' -bench VillageFirstSyncFast3G -benchtime 3x
func BenchmarkVillageFirstSyncFast3G(b *testing.B) {
	chrome := chromiumPath(b)
	dir := b.TempDir()
	bin := buildBinary(b, dir)
	db := "sqlite://" + filepath.Join(dir, "cc.db")
	out, err := exec.Command(bin, "demo", "--db", db, "--residents", "1250", "--villages", "1", "--village-doctors", "2",
		"--followups", "1500", "--contracts", "0", "--consultations", "0", "--referrals", "0", "--prescriptions", "0",
		"--ecg-reads", "0", "--imaging-reads", "0", "--supply-orders", "0", "--specimens", "0").CombinedOutput()
	if err != nil {
		b.Fatalf("demo: %v\n%s", err, out)
	}
	logins := map[string]string{}
	for sc := bufio.NewScanner(bytes.NewReader(out)); sc.Scan(); {
		if m := loginRe.FindStringSubmatch(sc.Text()); m != nil {
			logins[m[1]] = m[2]
		}
	}
	user := logins["village_doctor"]
	if user == "" {
		b.Fatalf("no village doctor among the demo's sign-ins:\n%s", out)
	}
	base, _ := serveBinary(b, bin, "--db", db)

	var synced, ready, bytesIn float64
	var count string
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		ctx, console := openPhone(b, chrome)
		step, eval, waitFor := tab{b, ctx}.helpers()
		signInAs(b, ctx, base, user)
		if err := emulateFast3G(ctx); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		step("open the app on Fast 3G", chromedp.Navigate(base+"/village/app"), chromedp.WaitVisible("#village"))
		waitFor("the village stored on the phone", `!!document.getElementById("village").dataset.synced`)
		b.StopTimer()
		eval(`Number(document.getElementById("village").dataset.synced)`, &synced)
		eval(`Number(document.getElementById("village").dataset.ready)`, &ready)
		eval(`performance.getEntriesByType("navigation").concat(performance.getEntriesByType("resource")).reduce(function (s, e) { return s + (e.transferSize || 0); }, 0)`, &bytesIn)
		eval(`document.getElementById("res-count").textContent`, &count)
		if p := console.Problems(); len(p) > 0 {
			b.Errorf("console problems: %q", p)
		}
		b.StartTimer()
	}
	b.StopTimer()
	if n, _ := strconv.Atoi(regexp.MustCompile(`\d+`).FindString(strings.ReplaceAll(count, ",", ""))); n < 1250 {
		b.Errorf("the phone holds %q, not the village's 1,250 residents", count)
	}
	b.ReportMetric(synced/1000, "first-sync-s")
	b.ReportMetric(ready/1000, "shell-ready-s")
	b.ReportMetric(bytesIn, "page-bytes")
	b.Logf("Fast 3G (%.0f B/s down, %.0f up, %.1f ms a request): %s; shell ready %.2f s, village stored %.2f s after navigation start; the page fetched %.0f bytes",
		fast3GDownBytes, fast3GUpBytes, fast3GLatencyMS, count, ready/1000, synced/1000, bytesIn)
	if synced > 10000 {
		b.Errorf("first sync took %.1f s on Fast 3G (target ≤ 10 s)", synced/1000)
	}
}
