package consult

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"countycare/audit"
	"countycare/care"
)

// SniffType returns the type of a file's content by its signature, "" if
// it is not allowed: JPEG, PNG, PDF, DICOM (the "DICM" preamble), a WFDB
// signal file (.dat, binary) or UTF-8 text without control characters
// (WFDB headers, CSV exports).
func SniffType(name string, data []byte) string {
	switch {
	case len(data) >= 132 && string(data[128:132]) == "DICM":
		return "application/dicom"
	case bytes.HasPrefix(data, []byte{0xFF, 0xD8, 0xFF}):
		return "image/jpeg"
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return "image/png"
	case bytes.HasPrefix(data, []byte("%PDF-")):
		return "application/pdf"
	case strings.EqualFold(filepath.Ext(name), ".dat") && !bytes.HasPrefix(data, []byte("MZ")) && !bytes.HasPrefix(data, []byte("\x7fELF")):
		return "application/octet-stream+wfdb" // a WFDB signal file; its header comes as text
	}
	if !utf8.Valid(data) {
		return ""
	}
	for _, c := range data {
		if c < 0x20 && c != '\n' && c != '\r' && c != '\t' {
			return ""
		}
	}
	return "text/plain"
}

// Attach checks and stores a file for a case the actor is party to:
// type-checked by content, size-limited, stored once by SHA-256.
// Errors: EINVALID (empty, wrong type), ETOOLARGE, ENOTFOUND.
func (s *Service) Attach(ctx context.Context, a care.Actor, caseID int64, name string, data []byte) (Attachment, error) {
	c, _, _, err := s.load(ctx, a, caseID, ActMessage)
	if err != nil {
		return Attachment{}, err
	}
	if !c.Status.Open() {
		return Attachment{}, care.Errorf(care.ECONFLICT, "consult.bad_transition", string(c.Status))
	}
	if int64(len(data)) > s.Config.MaxAttachment {
		return Attachment{}, care.Errorf(care.ETOOLARGE, "consult.file.too_large", s.Config.MaxAttachment>>20)
	}
	name = care.SafeFileName(name)
	typ := SniffType(name, data)
	if len(data) == 0 || typ == "" {
		return Attachment{}, care.Invalid([]care.FieldError{{Field: "files", Key: "consult.file.type", Args: []any{name}}})
	}
	sum := sha256.Sum256(data)
	h := hex.EncodeToString(sum[:])
	if err := s.Repo.PutBlob(ctx, c.County, h, typ, data); err != nil {
		return Attachment{}, err
	}
	return Attachment{SHA256: h, Name: name, Type: typ, Size: int64(len(data))}, nil
}

// File returns an attachment of a case's thread to a party of the case.
func (s *Service) File(ctx context.Context, a care.Actor, caseID int64, sha string) (*Attachment, []byte, error) {
	c, _, _, err := s.load(ctx, a, caseID, ActRead)
	if err != nil {
		return nil, nil, err
	}
	ms, err := s.Repo.ConsultationMessages(ctx, caseID)
	if err != nil {
		return nil, nil, err
	}
	for _, m := range ms {
		for _, at := range m.Attachments {
			if at.SHA256 == sha {
				typ, data, err := s.Repo.Blob(ctx, c.County, sha)
				if err != nil {
					return nil, nil, err
				}
				if sum := sha256.Sum256(data); !bytes.Equal([]byte(hex.EncodeToString(sum[:])), []byte(sha)) {
					return nil, nil, care.Errorf(care.EINTERNAL, "error.internal")
				}
				at.Type = typ
				ev := audit.New(ctx, a, ActFile, c.ResidentID)
				ev.CountyCode, ev.Detail = c.County, fmt.Sprintf("consultation %d: file %s", caseID, sha[:12])
				s.Audit.Record(ctx, ev)
				return &at, data, nil
			}
		}
	}
	return nil, nil, care.Errorf(care.ENOTFOUND, "error.not_found")
}
