package dicom

import (
	"image"
	"image/png"
	"io"
	"sync"
)

type pool struct{ p sync.Pool }

func (p *pool) Get() *png.EncoderBuffer {
	if b, ok := p.p.Get().(*png.EncoderBuffer); ok {
		return b
	}
	return nil
}

func (p *pool) Put(b *png.EncoderBuffer) { p.p.Put(b) }

var pngEncoder = png.Encoder{CompressionLevel: png.BestSpeed, BufferPool: &pool{}}

// EncodePNG writes a rendered frame as PNG at the fastest compression
// level (8-bit grey for greyscale frames), reusing encoder buffers.
func EncodePNG(w io.Writer, img image.Image) error { return pngEncoder.Encode(w, img) }
