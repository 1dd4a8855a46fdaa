//go:build unix

package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"syscall"
	"testing"
	"time"
)

// TestCPUProfileRestartsOnSignal: `bench replay --cpuprofile` sends the
// started server SIGUSR1 when the replay begins, so that the profile
// holds the replayed requests and not the server's start, startup duties
// and sign-in: what ran before the signal is not in the file, what ran
// after is.
func TestCPUProfileRestartsOnSignal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cpu.prof")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		t.Fatal(err)
	}
	stop := restartCPUProfileOnSignal(path, &f)
	fi0, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond) // a later write has a later mtime
	profileBusyBeforeSignal(200 * time.Millisecond)
	if err := syscall.Kill(os.Getpid(), syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	// Restarted: the old profile was written (the file changed) and the
	// file created again (empty until the new profile stops).
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		fi, err := os.Stat(path)
		if err == nil && fi.ModTime().After(fi0.ModTime()) && fi.Size() == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the profile was not restarted within 30 s of the signal")
		}
	}
	profileBusyAfterSignal(200 * time.Millisecond)
	stop()
	pprof.StopCPUProfile()
	f.Close()
	zr, err := gzip.NewReader(mustOpen(t, path))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte("profileBusyBeforeSignal")) {
		t.Error("the profile holds the work done before the signal")
	}
	if !bytes.Contains(b, []byte("profileBusyAfterSignal")) {
		t.Error("the profile lacks the work done after the signal")
	}
}

func mustOpen(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

var profileSink uint64

//go:noinline
func profileBusyBeforeSignal(d time.Duration) { profileSpin(d) }

//go:noinline
func profileBusyAfterSignal(d time.Duration) { profileSpin(d) }

// profileSpin keeps a core busy until the process has used d more CPU
// (on a loaded machine that is longer than d, and the profile, which
// samples CPU time, still sees it).
func profileSpin(d time.Duration) {
	for end := processCPU() + d; processCPU() < end; {
		for i := 0; i < 100000; i++ {
			profileSink += uint64(i) * 2654435761
		}
	}
}
