package web_test

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/jpeg"
	"io"
	"mime"
	"mime/multipart"
	"strings"
	"testing"

	"countycare/dicom"
	"countycare/store"
)

// wadoPart is one part of a multipart answer.
type wadoPart struct {
	ctype string
	body  []byte
}

func multipartParts(t *testing.T, r response) []wadoPart {
	t.Helper()
	mt, params, err := mime.ParseMediaType(r.header.Get("Content-Type"))
	if err != nil || mt != "multipart/related" {
		t.Fatalf("not multipart/related: %q %v (%d %s)", r.header.Get("Content-Type"), err, r.code, r.body)
	}
	mr := multipart.NewReader(strings.NewReader(r.body), params["boundary"])
	var out []wadoPart
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p)
		out = append(out, wadoPart{p.Header.Get("Content-Type"), b})
	}
}

// synthDICOM is a 4×3 16-bit two-frame instance of the fixture's patient in
// transfer syntax ts (native pixels lePixels, swapped for big endian), or
// an 8-bit 2×2 JPEG baseline instance for dicom.JPEGBaseline.
func synthDICOM(f *dwFixture, ts, study, sop string, lePixels []byte, extra ...*dicom.Element) []byte {
	big := ts == dicom.ExplicitVRBigEndian
	us := func(v uint16) []byte {
		if big {
			return binary.BigEndian.AppendUint16(nil, v)
		}
		return binary.LittleEndian.AppendUint16(nil, v)
	}
	rows, cols, bits, frames := 4, 3, 16, "2"
	if ts == dicom.JPEGBaseline {
		rows, cols, bits, frames = 2, 2, 8, "1"
	}
	els := []*dicom.Element{
		{Tag: dicom.TagSOPClassUID, VR: "UI", Value: []byte("1.2.840.10008.5.1.4.1.1.7")},
		{Tag: dicom.TagSOPInstanceUID, VR: "UI", Value: []byte(sop)},
		{Tag: dicom.TagModality, VR: "CS", Value: []byte("OT")},
		{Tag: dicom.TagSpecificCharacterSet, VR: "CS", Value: []byte("ISO_IR 192")},
		{Tag: dicom.TagPatientName, VR: "PN", Value: []byte("Zhang^San=" + f.name)},
		{Tag: dicom.TagPatientID, VR: "LO", Value: []byte(f.idNumber)},
		{Tag: dicom.TagStudyInstanceUID, VR: "UI", Value: []byte(study)},
		{Tag: dicom.TagSeriesInstanceUID, VR: "UI", Value: []byte(study + ".1")},
		{Tag: dicom.TagSamplesPerPixel, VR: "US", Value: us(1)},
		{Tag: dicom.TagPhotometricInterpretation, VR: "CS", Value: []byte("MONOCHROME2")},
		{Tag: dicom.TagNumberOfFrames, VR: "IS", Value: []byte(frames)},
		{Tag: dicom.TagRows, VR: "US", Value: us(uint16(rows))},
		{Tag: dicom.TagColumns, VR: "US", Value: us(uint16(cols))},
		{Tag: dicom.TagBitsAllocated, VR: "US", Value: us(uint16(bits))},
		{Tag: dicom.TagBitsStored, VR: "US", Value: us(uint16(bits))},
		{Tag: dicom.TagHighBit, VR: "US", Value: us(uint16(bits - 1))},
		{Tag: dicom.TagPixelRepresentation, VR: "US", Value: us(0)},
	}
	els = append(els, extra...)
	switch ts {
	case dicom.JPEGBaseline:
		var j bytes.Buffer
		img := image.NewGray(image.Rect(0, 0, 2, 2))
		img.Pix = []byte{10, 200, 90, 30}
		jpeg.Encode(&j, img, nil)
		return dicom.Encode(ts, append(els, &dicom.Element{Tag: dicom.TagPixelData, VR: "OB", Fragments: [][]byte{{}, j.Bytes()}}))
	case dicom.DeflatedExplicitVRLittleEndian:
		return dicom.DeflatedZeros(els, int64(len(lePixels)))
	case dicom.RLELossless:
		// Each frame's two byte planes (high, then low; PS3.5 G.2) as
		// PackBits literal runs (G.3.1).
		size := len(lePixels) / 2
		frags := [][]byte{{}}
		for fr := 0; fr < 2; fr++ {
			px := lePixels[fr*size : (fr+1)*size]
			var hi, lo []byte
			for i := 0; i < len(px); i += 2 {
				lo, hi = append(lo, px[i]), append(hi, px[i+1])
			}
			seg := func(b []byte) []byte { return append([]byte{byte(len(b) - 1)}, b...) }
			h := make([]byte, 64)
			binary.LittleEndian.PutUint32(h, 2)
			binary.LittleEndian.PutUint32(h[4:], 64)
			binary.LittleEndian.PutUint32(h[8:], uint32(64+len(seg(hi))))
			frags = append(frags, append(append(h, seg(hi)...), seg(lo)...))
		}
		return dicom.Encode(ts, append(els, &dicom.Element{Tag: dicom.TagPixelData, VR: "OB", Fragments: frags}))
	}
	px := lePixels
	if big {
		px = make([]byte, len(lePixels))
		for i := 0; i < len(px); i += 2 {
			px[i], px[i+1] = lePixels[i+1], lePixels[i]
		}
	}
	return dicom.Encode(ts, append(els, &dicom.Element{Tag: dicom.TagPixelData, VR: "OW", Value: px}))
}

// TestWADOTransferSyntax: WADO-RS honours the transfer-syntax of Accept
// (PS3.18 §8.7.3): as stored when it matches or is "*", converted from
// implicit, big-endian, deflated and JPEG files to explicit VR little
// endian, 406 naming the instance when it cannot (JPEG 2000 asked: the
// server does not encode), falling back to a later media range; every
// part carries its transfer-syntax. Frames and
// rendered frames come all or not at all: a missing frame is 404 naming
// it.
func TestWADOTransferSyntax(t *testing.T) {
	e := newEnv(t, store.SQLite)
	f := newDWFixture(t, e)
	le := make([]byte, 4*3*2*2)
	for i := 0; i < len(le); i += 2 {
		binary.LittleEndian.PutUint16(le[i:], uint16(i*97+5))
	}
	const study = "1.2.826.0.1.3680043.8.498.18"
	files := map[string][]byte{}
	sops := map[string]string{}
	for i, ts := range []string{dicom.ImplicitVRLittleEndian, dicom.ExplicitVRBigEndian, dicom.DeflatedExplicitVRLittleEndian, dicom.JPEGBaseline} {
		sop := study + ".1." + string(rune('1'+i))
		sops[ts], files[ts] = sop, synthDICOM(f, ts, study, sop, le)
	}
	body, ctype := stowBody(files[dicom.ImplicitVRLittleEndian], files[dicom.ExplicitVRBigEndian], files[dicom.DeflatedExplicitVRLittleEndian], files[dicom.JPEGBaseline])
	if r := f.gw.do("POST", "/dicomweb/studies", ctype, body, ""); r.code != 200 {
		t.Fatalf("STOW: %d %s", r.code, r.body)
	}
	inst := func(ts string) string {
		return "/dicomweb/studies/" + study + "/series/" + study + ".1/instances/" + sops[ts]
	}
	evrle := `multipart/related; type="application/dicom"; transfer-syntax=` + dicom.ExplicitVRLittleEndian

	// Converted to explicit VR little endian, labelled so, same pixels.
	for _, ts := range []string{dicom.ImplicitVRLittleEndian, dicom.ExplicitVRBigEndian, dicom.DeflatedExplicitVRLittleEndian} {
		r := f.gw.do("GET", inst(ts), "", nil, evrle)
		if r.code != 200 {
			t.Fatalf("%s as explicit VR LE: %d %s", ts, r.code, r.body)
		}
		parts := multipartParts(t, r)
		if len(parts) != 1 || parts[0].ctype != "application/dicom; transfer-syntax="+dicom.ExplicitVRLittleEndian {
			t.Fatalf("%s: parts %d, content type %q", ts, len(parts), parts[0].ctype)
		}
		g, err := dicom.Parse(parts[0].body)
		if err != nil || g.TransferSyntax != dicom.ExplicitVRLittleEndian || g.String(dicom.TagSOPInstanceUID) != sops[ts] {
			t.Fatalf("%s: converted file: %v %s", ts, err, g.TransferSyntax)
		}
		want := le
		if ts == dicom.DeflatedExplicitVRLittleEndian {
			want = make([]byte, len(le))
		}
		if fr, _, err := dicom.Frame(g, 1); err != nil || !bytes.Equal(fr, want[len(want)/2:]) {
			t.Errorf("%s: converted frame 2: %v %v", ts, fr, err)
		}
	}
	// As stored: the same syntax, "*", or no transfer-syntax; labelled.
	for _, c := range []struct{ ts, accept string }{
		{dicom.ImplicitVRLittleEndian, `multipart/related; type="application/dicom"; transfer-syntax=` + dicom.ImplicitVRLittleEndian},
		{dicom.JPEGBaseline, `multipart/related; type="application/dicom"; transfer-syntax=*`},
		{dicom.JPEGBaseline, `multipart/related; type="application/dicom"`},
		{dicom.JPEGBaseline, `multipart/related; type="application/dicom"; transfer-syntax=` + dicom.JPEG2000 + `, multipart/related; type="application/dicom"; transfer-syntax=*; q=0.5`},
	} {
		r := f.gw.do("GET", inst(c.ts), "", nil, c.accept)
		if r.code != 200 {
			t.Fatalf("%s for %q: %d %s", c.ts, c.accept, r.code, r.body)
		}
		parts := multipartParts(t, r)
		if len(parts) != 1 || parts[0].ctype != "application/dicom; transfer-syntax="+c.ts || !bytes.Equal(parts[0].body, files[c.ts]) {
			t.Errorf("%s for %q: %d parts, %q, same bytes %t", c.ts, c.accept, len(parts), parts[0].ctype, bytes.Equal(parts[0].body, files[c.ts]))
		}
	}
	// Nothing is encoded into a compressed syntax: JPEG 2000 asked of the
	// JPEG instance is 406 naming it; of the study too, before any part.
	j2k := `multipart/related; type="application/dicom"; transfer-syntax=` + dicom.JPEG2000
	for _, path := range []string{inst(dicom.JPEGBaseline), "/dicomweb/studies/" + study} {
		r := f.gw.do("GET", path, "", nil, j2k)
		if r.code != 406 || !strings.Contains(r.body, "dicomweb.transfer_syntax_unavailable") || !strings.Contains(r.body, "JPEG 2000") {
			t.Errorf("JPEG 2000 asked (%s): %d %s", path, r.code, r.body)
		}
	}
	// JPEG Baseline is decoded into explicit VR little endian (lossy: close
	// to the 2×2 encoded), and so the whole study converts.
	r := f.gw.do("GET", inst(dicom.JPEGBaseline), "", nil, evrle)
	if parts := multipartParts(t, r); r.code != 200 || len(parts) != 1 || parts[0].ctype != "application/dicom; transfer-syntax="+dicom.ExplicitVRLittleEndian {
		t.Errorf("JPEG as explicit VR LE: %d %s", r.code, r.body)
	} else if g, err := dicom.Parse(parts[0].body); err != nil {
		t.Error(err)
	} else if px, _, err := dicom.Frame(g, 0); err != nil || len(px) != 4 || px[1] < 150 || px[0] > 60 {
		t.Errorf("JPEG decoded: %v %v, want about 10 200 90 30", px, err)
	}
	if r := f.gw.do("GET", "/dicomweb/studies/"+study, "", nil, evrle); r.code != 200 || len(multipartParts(t, r)) != 4 {
		t.Errorf("study as explicit VR LE: %d", r.code)
	}
	if r := f.gw.do("GET", "/dicomweb/studies/"+study, "", nil, `multipart/related; type="application/dicom"; transfer-syntax=*`); r.code != 200 || len(multipartParts(t, r)) != 4 {
		t.Errorf("study as stored: %d", r.code)
	}

	// Frames: every frame asked, in order, labelled; big endian swapped.
	r = f.gw.do("GET", inst(dicom.ExplicitVRBigEndian)+"/frames/2,1", "", nil, "")
	parts := multipartParts(t, r)
	if r.code != 200 || len(parts) != 2 || !bytes.Equal(parts[0].body, le[len(le)/2:]) || !bytes.Equal(parts[1].body, le[:len(le)/2]) ||
		parts[0].ctype != "application/octet-stream; transfer-syntax="+dicom.ExplicitVRLittleEndian {
		t.Errorf("frames 2,1 of the big-endian instance: %d, %d parts, %q", r.code, len(parts), parts[0].ctype)
	}
	for _, path := range []string{inst(dicom.ImplicitVRLittleEndian) + "/frames/1,30", inst(dicom.ImplicitVRLittleEndian) + "/frames/1,30/rendered",
		inst(dicom.ImplicitVRLittleEndian) + "/frames/30/rendered"} {
		r := f.gw.do("GET", path, "", nil, "")
		if r.code != 404 || !strings.Contains(r.body, "dicomweb.frame_missing") || !strings.Contains(r.body, "30") {
			t.Errorf("%s: %d %s; want 404 naming frame 30", path, r.code, r.body)
		}
	}
	if r := f.gw.do("GET", inst(dicom.ImplicitVRLittleEndian)+"/frames/1,x", "", nil, ""); r.code != 422 || !strings.Contains(r.body, "dicomweb.bad_frame") {
		t.Errorf("frame x: %d %s", r.code, r.body)
	}
	r = f.gw.do("GET", inst(dicom.ImplicitVRLittleEndian)+"/frames/1,2/rendered", "", nil, "")
	if parts := multipartParts(t, r); r.code != 200 || len(parts) != 2 || parts[1].ctype != "image/png" || !bytes.HasPrefix(parts[1].body, []byte("\x89PNG")) {
		t.Errorf("rendered frames 1,2: %d %d", r.code, len(parts))
	}
	if r := f.gw.do("GET", inst(dicom.ImplicitVRLittleEndian)+"/frames/2/rendered", "", nil, ""); r.code != 200 || r.header.Get("Content-Type") != "image/png" {
		t.Errorf("rendered frame 2: %d %q", r.code, r.header.Get("Content-Type"))
	}
	// Compressed frames come as stored or decoded, never re-encoded.
	r = f.gw.do("GET", inst(dicom.JPEGBaseline)+"/frames/1", "", nil, `multipart/related; type="application/octet-stream"; transfer-syntax=`+dicom.JPEG2000)
	if r.code != 406 || !strings.Contains(r.body, "dicomweb.frames_transfer_syntax") {
		t.Errorf("JPEG frames as JPEG 2000: %d %s", r.code, r.body)
	}
	r = f.gw.do("GET", inst(dicom.JPEGBaseline)+"/frames/1", "", nil, `multipart/related; type="application/octet-stream"; transfer-syntax=`+dicom.ExplicitVRLittleEndian)
	if parts := multipartParts(t, r); r.code != 200 || len(parts) != 1 || len(parts[0].body) != 4 {
		t.Errorf("JPEG frames as explicit VR LE: %d %s", r.code, r.body)
	}
	r = f.gw.do("GET", inst(dicom.JPEGBaseline)+"/frames/1", "", nil, `multipart/related; type="image/jpeg"; transfer-syntax=`+dicom.JPEGBaseline)
	if parts := multipartParts(t, r); r.code != 200 || len(parts) != 1 || !strings.HasSuffix(parts[0].ctype, "transfer-syntax="+dicom.JPEGBaseline) ||
		!bytes.HasPrefix(parts[0].body, []byte{0xFF, 0xD8}) {
		t.Errorf("JPEG frames as stored: %d", r.code)
	}
}

// TestWADODecodesLosslessFrames: an RLE Lossless instance's frames asked as
// explicit VR little endian are decoded (PS3.18 §8.7.4: the server converts
// when it can; dicom.Decodable), in the order asked and labelled so; asked
// without a transfer syntax they come as stored, labelled RLE; the whole
// instance converts to explicit VR little endian with native pixel data.
func TestWADODecodesLosslessFrames(t *testing.T) {
	e := newEnv(t, store.SQLite)
	f := newDWFixture(t, e)
	le := make([]byte, 4*3*2*2)
	for i := 0; i < len(le); i += 2 {
		binary.LittleEndian.PutUint16(le[i:], uint16(i*131+7))
	}
	const study = "1.2.826.0.1.3680043.8.498.19"
	sop := study + ".1.1"
	file := synthDICOM(f, dicom.RLELossless, study, sop, le)
	body, ctype := stowBody(file)
	if r := f.gw.do("POST", "/dicomweb/studies", ctype, body, ""); r.code != 200 {
		t.Fatalf("STOW: %d %s", r.code, r.body)
	}
	inst := "/dicomweb/studies/" + study + "/series/" + study + ".1/instances/" + sop
	r := f.gw.do("GET", inst+"/frames/2,1", "", nil, `multipart/related; type="application/octet-stream"; transfer-syntax=`+dicom.ExplicitVRLittleEndian)
	parts := multipartParts(t, r)
	if r.code != 200 || len(parts) != 2 || !bytes.Equal(parts[0].body, le[len(le)/2:]) || !bytes.Equal(parts[1].body, le[:len(le)/2]) ||
		parts[0].ctype != "application/octet-stream; transfer-syntax="+dicom.ExplicitVRLittleEndian {
		t.Fatalf("RLE frames 2,1 decoded: %d, %d parts, %q", r.code, len(parts), func() string {
			if len(parts) > 0 {
				return parts[0].ctype
			}
			return r.body
		}())
	}
	r = f.gw.do("GET", inst+"/frames/1", "", nil, "")
	parts = multipartParts(t, r)
	if r.code != 200 || len(parts) != 1 || parts[0].ctype != "application/octet-stream; transfer-syntax="+dicom.RLELossless || bytes.Equal(parts[0].body, le[:len(le)/2]) {
		t.Errorf("RLE frame 1 as stored: %d %d parts", r.code, len(parts))
	}
	r = f.gw.do("GET", inst, "", nil, `multipart/related; type="application/dicom"; transfer-syntax=`+dicom.ExplicitVRLittleEndian)
	parts = multipartParts(t, r)
	if r.code != 200 || len(parts) != 1 {
		t.Fatalf("RLE instance as explicit VR LE: %d %s", r.code, r.body)
	}
	g, err := dicom.Parse(parts[0].body)
	if err != nil || g.TransferSyntax != dicom.ExplicitVRLittleEndian {
		t.Fatalf("converted instance: %v", err)
	}
	if fr, compressed, err := dicom.Frame(g, 1); err != nil || compressed || !bytes.Equal(fr, le[len(le)/2:]) {
		t.Errorf("converted instance frame 2: %v %v", compressed, err)
	}
}
