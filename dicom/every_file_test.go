package dicom

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// everyFileRefusals are the vendored files that must be refused, each with
// the kind of error and a phrase its reason must hold; every other file
// must render every frame.
var everyFileRefusals = map[string]struct {
	kind   error
	reason string
}{
	// pydicom-data's raw JPEG-LS dataset: no preamble and no DICM (its
	// _part10 copy is the same pixels as a Part 10 file, and renders).
	"compressed/JLSL_RGB_ILV0.dcm": {ErrFormat, "DICM"},
}

// renderOutcome parses a file and renders each of its frames: "rendered"
// with the syntax's name, or the error that refused it.
func renderOutcome(b []byte) (ts string, frames int, err error) {
	f, err := Parse(b)
	if err != nil {
		return "", 0, err
	}
	ts = TransferSyntaxName(f.TransferSyntax) + " (" + f.TransferSyntax + ")"
	in, err := f.Info()
	if err != nil {
		return ts, 0, err
	}
	for i := 0; i < in.Frames; i++ {
		if _, err := Render(f, i, nil); err != nil {
			return ts, in.Frames, fmt.Errorf("frame %d: %w", i+1, err)
		}
	}
	return ts, in.Frames, nil
}

// TestEveryVendoredFileRenders: every DICOM file of testdata/dicom and
// its compressed/ folder renders every frame, or is refused with the
// typed reason everyFileRefusals gives it (issue 16, "Done when"). With
// COUNTYCARE_DICOM_DIR set, it runs over that folder (and its compressed/)
// instead and prints the table of docs/dicom.md (a one-off check over
// the shared data; run with -v).
func TestEveryVendoredFileRenders(t *testing.T) {
	dir, table := sharedDir(t), os.Getenv("COUNTYCARE_DICOM_DIR")
	if table != "" {
		dir = table
	}
	var names []string
	for _, sub := range []string{"", "compressed"} {
		ents, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			if !e.IsDir() && strings.HasSuffix(e.Name(), ".dcm") {
				names = append(names, filepath.ToSlash(filepath.Join(sub, e.Name())))
			}
		}
	}
	sort.Strings(names)
	if len(names) < 20 {
		t.Fatalf("only %d files in %s", len(names), dir)
	}
	for _, name := range names {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		ts, frames, err := renderOutcome(b)
		outcome := fmt.Sprintf("rendered (%d frame%s)", frames, map[bool]string{true: "s"}[frames > 1])
		if err != nil {
			outcome = "refused: " + strings.ReplaceAll(err.Error(), "|", "/")
		}
		if table != "" {
			t.Logf("| %s | %s | %s |", name, ts, outcome)
			continue
		}
		want, refuse := everyFileRefusals[name]
		switch {
		case !refuse && err != nil:
			t.Errorf("%s (%s): %v", name, ts, err)
		case refuse && (!errors.Is(err, want.kind) || !strings.Contains(err.Error(), want.reason)):
			t.Errorf("%s: %v, want %v naming %q", name, err, want.kind, want.reason)
		}
	}
}
