package dicom

import (
	"errors"
	"fmt"
)

// ErrFormat is wrapped by every error about a malformed file.
var ErrFormat = errors.New("dicom: malformed file")

// ErrTruncated is wrapped (with ErrFormat) when a length runs past the end of the data.
var ErrTruncated = errors.New("truncated")

// ErrTransferSyntax is wrapped (with ErrFormat) when the dataset is not
// encoded as its transfer syntax claims.
var ErrTransferSyntax = errors.New("transfer syntax mismatch")

// ErrLimit is wrapped (with ErrFormat) when a file exceeds Limits.
var ErrLimit = errors.New("limit exceeded")

// ErrCannotPreview is matched (errors.Is) by *CannotPreviewError.
var ErrCannotPreview = errors.New("dicom: cannot preview")

// FormatError is a parse error at a byte offset of the (inflated) stream.
type FormatError struct {
	Offset int
	Msg    string
	Kind   error // ErrTruncated, ErrTransferSyntax, ErrLimit or nil
}

func (e *FormatError) Error() string {
	if e.Kind != nil {
		return fmt.Sprintf("dicom: %s at byte %d: %s", e.Kind, e.Offset, e.Msg)
	}
	return fmt.Sprintf("dicom: malformed at byte %d: %s", e.Offset, e.Msg)
}

// Is makes the error match ErrFormat and its Kind.
func (e *FormatError) Is(target error) bool {
	return target == ErrFormat || (e.Kind != nil && target == e.Kind)
}

// CannotPreviewError says why a file's pixels are not rendered. The file is
// valid and is to be stored and forwarded as it is.
type CannotPreviewError struct {
	TransferSyntax string // UID
	Reason         string
}

func (e *CannotPreviewError) Error() string {
	return fmt.Sprintf("dicom: cannot preview (%s, %s): %s", TransferSyntaxName(e.TransferSyntax), e.TransferSyntax, e.Reason)
}

// Is makes the error match ErrCannotPreview.
func (e *CannotPreviewError) Is(target error) bool { return target == ErrCannotPreview }
