package dicom

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"io"
	"sort"
)

// inflateSlack is what any deflated dataset may inflate to whatever its
// compressed size: a small file's header alone can compress 10:1.
const inflateSlack = 1 << 20

// inflateBound is how far a deflated dataset of n compressed bytes may
// inflate: MaxInflateRatio times n plus 1 MiB, and never past MaxInflated.
func (l Limits) inflateBound(n int64) int64 {
	b := l.MaxInflated
	if l.MaxInflateRatio > 0 && n < b/l.MaxInflateRatio {
		b = min(b, n*l.MaxInflateRatio+inflateSlack)
	}
	return b
}

// zCountReader counts the compressed bytes the decompressor has taken.
type zCountReader struct {
	r io.Reader
	n int64
}

func (c *zCountReader) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	c.n += int64(k)
	return k, err
}

func (c *zCountReader) ReadByte() (byte, error) {
	var b [1]byte
	k, err := c.Read(b[:])
	if k == 1 {
		return b[0], nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return 0, err
}

// boundedInflater inflates and stops with limitErr as soon as the output
// passes the bound for the compressed bytes read so far (a deflate bomb is
// refused after reading as much as the bound, never held in memory).
type boundedInflater struct {
	zr  io.ReadCloser
	in  *zCountReader
	lim Limits
	out int64
}

func (l Limits) newInflater(r io.Reader) *boundedInflater {
	cr := &zCountReader{r: r}
	return &boundedInflater{zr: flate.NewReader(cr), in: cr, lim: l}
}

func (b *boundedInflater) Read(p []byte) (int, error) {
	k, err := b.zr.Read(p)
	b.out += int64(k)
	if bound := b.lim.inflateBound(b.in.n); b.out > bound {
		return k, limitErr{fmt.Errorf("inflates past %d bytes from %d compressed bytes (limits: %d× the compressed size plus 1 MiB, at most %d bytes)",
			bound, b.in.n, b.lim.MaxInflateRatio, b.lim.MaxInflated)}
	}
	return k, err
}

func (b *boundedInflater) Close() error { return b.zr.Close() }

// inflate inflates a deflated dataset in two passes: the first counts
// the inflated bytes through a 32 KiB window and refuses a stream that
// passes the bound; the second fills a buffer of exactly that size. Peak
// memory is the inflated size, never a growing buffer's double.
func (l Limits) inflate(b []byte) ([]byte, error) {
	z := l.newInflater(bytes.NewReader(b))
	n, err := io.Copy(io.Discard, z)
	z.Close()
	if err != nil {
		if _, ok := err.(limitErr); ok {
			return nil, err
		}
		return nil, fmt.Errorf("not a deflate stream: %v", err)
	}
	out := make([]byte, n)
	zr := flate.NewReader(bytes.NewReader(b))
	defer zr.Close()
	if _, err := io.ReadFull(zr, out); err != nil {
		return nil, fmt.Errorf("not a deflate stream: %v", err)
	}
	return out, nil
}

// DeflatedZeros writes a deflated explicit VR little endian Part 10 file:
// elems, then Pixel Data (OW) of pixelBytes zero bytes, compressed about
// 1,000:1 — a deflate bomb for tests and benchmarks of the inflate limits
// (1 GiB of pixel data is about 1 MB). It compresses two 1 MiB blocks of
// zeros and repeats the second, so it takes milliseconds for any size.
func DeflatedZeros(elems []*Element, pixelBytes int64) []byte {
	if pixelBytes%2 == 1 || pixelBytes >= 1<<32-1 {
		panic("dicom: DeflatedZeros needs an even pixel data length under 4 GiB")
	}
	out := Encode(DeflatedExplicitVRLittleEndian, nil)
	sorted := append([]*Element(nil), elems...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Tag < sorted[j].Tag })
	var ds []byte
	for _, e := range sorted {
		ds = appendElement(ds, e)
	}
	ds = binary.LittleEndian.AppendUint16(ds, TagPixelData.Group())
	ds = binary.LittleEndian.AppendUint16(ds, TagPixelData.Element())
	ds = append(ds, 'O', 'W', 0, 0)
	ds = binary.LittleEndian.AppendUint32(ds, uint32(pixelBytes))

	const chunk = 1 << 20
	var z bytes.Buffer
	w, _ := flate.NewWriter(&z, flate.BestCompression)
	zeros := make([]byte, chunk)
	w.Write(ds)
	first := min(pixelBytes, chunk)
	w.Write(zeros[:first])
	left := pixelBytes - first
	w.Flush()
	out = append(out, z.Bytes()...)
	z.Reset()
	if left >= chunk {
		// After 1 MiB of zeros the window holds zeros only: the block
		// that encodes the next MiB encodes every later one too.
		w.Write(zeros)
		w.Flush()
		block := append([]byte(nil), z.Bytes()...)
		z.Reset()
		for ; left >= chunk; left -= chunk {
			out = append(out, block...)
		}
	}
	w.Write(zeros[:left])
	w.Close()
	return append(out, z.Bytes()...)
}
