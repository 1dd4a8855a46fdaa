// Package dicom reads DICOM Part 10 files and renders their pixel data for
// preview (issue #5, imaging). It is pure Go: it parses a []byte or an
// io.Reader and does no I/O of its own.
//
// Parse reads the preamble, the file meta group and the dataset in implicit
// VR little endian, explicit VR little endian, explicit VR big endian
// (retired) or deflated explicit VR little endian, with nested sequences of
// defined and undefined length and encapsulated pixel data. Every length is
// checked against the bytes that remain; a corrupt or hostile file gives an
// error wrapping ErrFormat, never a panic, and Limits bound how many
// elements, how deep a nesting and how large an inflated dataset a file may
// make the parser build.
//
// Render turns one frame into an image.Image: MONOCHROME1/2 with rescale and
// window/level, RGB, PALETTE COLOR, and baseline JPEG. Pixel encodings it
// does not decode give a *CannotPreviewError (errors.Is ErrCannotPreview)
// naming the transfer syntax, so the platform stores and forwards such a
// file with a "cannot preview" notice instead of rejecting it.
//
// Values of a parsed file share the input buffer: do not modify the bytes
// passed to Parse while the File is in use.
package dicom
