package reading

import (
	"context"
	"unicode/utf8"

	"countycare/care"
	"countycare/critical"
)

// CriticalAlerts is the CriticalSink that raises a reader's critical
// finding with the critical-value service (critical.Service.Raise): the
// ordering clinic is alerted at once, must acknowledge with a read-back,
// and the alert escalates when nobody does. It lives here, not in package
// critical, because critical cannot import reading (reading already uses
// critical for fetal traces).
//
// The alert is keyed by the finding: the workflow study (source kind per
// study kind, source id the study's id) and the finding's text as signed
// (Alert.FindingKey). Raise is idempotent on that key, so a retried sign,
// or an addendum repeating the same finding, raises no second alert, while
// an addendum with a different critical finding raises its own (issue 18:
// keyed by the study alone, a second finding was lost).
type CriticalAlerts struct {
	Service *critical.Service
}

// criticalSources maps a CriticalFinding's source kind to the alert's.
var criticalSources = map[string]string{
	"reading." + KindECG:     critical.SourceECGReport,
	"reading." + KindImaging: critical.SourceImagingReport,
	"reading." + KindPhoto:   critical.SourcePhotoReport,
	"reading." + KindFetal:   critical.SourceFetalReport,
}

// maxAlertFinding is critical.Alert's bound on the finding (runes).
const maxAlertFinding = 200

// RaiseCritical raises the finding as an alert for the ordering clinic,
// with the reader as the raising actor (Raise checks the resident is in
// the reader's scope).
func (c CriticalAlerts) RaiseCritical(ctx context.Context, a care.Actor, f CriticalFinding) error {
	kind, ok := criticalSources[f.SourceKind]
	if !ok {
		kind = f.SourceKind
	}
	finding := f.Finding
	if utf8.RuneCountInString(finding) > maxAlertFinding {
		finding = string([]rune(finding)[:maxAlertFinding-1]) + "…"
	}
	_, err := c.Service.Raise(ctx, a, critical.Alert{CountyCode: f.County, SourceKind: kind, SourceID: f.SourceID, FindingKey: f.Finding, ResidentID: f.ResidentID,
		ClinicID: f.ClinicID, OrderedBy: f.OrderedBy, Finding: finding, RaisedAt: f.At})
	return err
}

// RaiseLate raises a finding the signer's request left without an alert,
// in the signer's name (the reading scheduler's sweep).
func (c CriticalAlerts) RaiseLate(ctx context.Context, f CriticalFinding) (bool, error) {
	kind, ok := criticalSources[f.SourceKind]
	if !ok {
		kind = f.SourceKind
	}
	finding := f.Finding
	if utf8.RuneCountInString(finding) > maxAlertFinding {
		finding = string([]rune(finding)[:maxAlertFinding-1]) + "…"
	}
	return c.Service.RaiseLate(ctx, critical.Alert{CountyCode: f.County, SourceKind: kind, SourceID: f.SourceID, FindingKey: f.Finding, ResidentID: f.ResidentID,
		ClinicID: f.ClinicID, OrderedBy: f.OrderedBy, Finding: finding, RaisedAt: f.At, RaisedBy: f.SignedBy})
}
