//go:build ignore

// mkhtj2k made the HTJ2K test files (testdata/README.md): it writes each
// frame of a 12-bit file as a 16-bit PGM, encodes it with OpenJPH's
// ojph_compress (Debian openjph-tools; reversible, or irreversible with
// quantisation step 0.001), and writes the codestreams as one fragment per
// frame with the source's other elements, in transfer syntax TS:
//
//	go run testdata/dicom/mkhtj2k.go SRC OUT TS true|false
package main

import (
	"fmt"
	"os"
	"os/exec"

	"countycare/dicom"
)

func main() {
	src, out, ts, rev := os.Args[1], os.Args[2], os.Args[3], os.Args[4]
	dir, err := os.MkdirTemp("", "mkhtj2k-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	b, _ := os.ReadFile(src)
	f, err := dicom.Parse(b)
	if err != nil {
		panic(err)
	}
	in, _ := f.Info()
	frags := [][]byte{{}}
	for i := 0; i < in.Frames; i++ {
		px, _, _ := dicom.Frame(f, i)
		pgm := []byte(fmt.Sprintf("P5\n%d %d\n4095\n", in.Columns, in.Rows))
		for j := 0; j+1 < len(px); j += 2 {
			pgm = append(pgm, px[j+1], px[j])
		}
		p := fmt.Sprintf("%s/f%d.pgm", dir, i)
		os.WriteFile(p, pgm, 0o644)
		j := fmt.Sprintf("%s/f%d.j2c", dir, i)
		args := []string{"-i", p, "-o", j, "-reversible", rev}
		if rev == "false" {
			args = append(args, "-qstep", "0.001")
		}
		if o, err := exec.Command("ojph_compress", args...).CombinedOutput(); err != nil {
			panic(string(o))
		}
		c, _ := os.ReadFile(j)
		if len(c)%2 == 1 {
			c = append(c, 0)
		}
		frags = append(frags, c)
	}
	var els []*dicom.Element
	for _, e := range f.Elements {
		if e.Tag == dicom.TagPixelData {
			e = &dicom.Element{Tag: e.Tag, VR: "OB", Fragments: frags}
		}
		if e.Tag.Element() == 0 {
			continue
		}
		els = append(els, e)
	}
	os.WriteFile(out, dicom.Encode(ts, els), 0o644)
}
