// A new FHIR client's walk-through of countycare with fhir-kit-client
// (npm), run by fhir/walkthrough_test.go: a user (their session cookie)
// finds a resident by identifier, reads their record ($everything) and
// pages a search; a system client (its SMART bearer token) kicks off a
// township Group export, polls its status and downloads the files.
// Environment: BASE (…/fhir), COOKIE, TOKEN, IDENT, TOWNSHIP. Prints one
// JSON line of what it saw; any error exits non-zero.
import { Client } from 'fhir-kit-client';

const { BASE, COOKIE, TOKEN, IDENT, TOWNSHIP } = process.env;
const out = {};

const user = new Client({ baseUrl: BASE, customHeaders: { cookie: COOKIE } });
const cs = await user.capabilityStatement();
out.fhirVersion = cs.fhirVersion;
const found = await user.search({ resourceType: 'Patient', searchParams: { identifier: IDENT } });
out.found = (found.entry || []).map((e) => e.resource.id);
const everything = await user.operation({ name: '$everything', resourceType: 'Patient', id: out.found[0], method: 'GET' });
out.everything = (everything.entry || []).map((e) => e.resource.resourceType);
let page = await user.search({ resourceType: 'Patient', searchParams: { _count: 5 } });
out.pages = [];
const seen = new Set();
while (page && out.pages.length < 3) {
  out.pages.push(page.entry.length);
  page.entry.forEach((e) => seen.add(e.resource.id));
  page = await user.nextPage({ bundle: page });
}
out.distinct = seen.size;

const sys = new Client({ baseUrl: BASE, bearerToken: TOKEN });
const kick = await sys.request(`Group/township-${TOWNSHIP}/$export?_type=Patient,Condition`, {
  options: { headers: { prefer: 'respond-async' } },
});
const kicked = Client.httpFor(kick).response;
out.kickoff = kicked.status;
const status = kicked.headers.get('content-location');
let manifest;
for (let i = 0; i < 200 && !manifest; i++) {
  const st = await sys.request(status);
  if (Client.httpFor(st).response.status === 200) {
    manifest = st;
  } else {
    await new Promise((r) => setTimeout(r, 100));
  }
}
if (!manifest) throw new Error('the export did not complete');
// The NDJSON files: fhir-kit-client parses JSON only, so the files are
// fetched with the same token through Node's fetch.
out.files = [];
for (const o of manifest.output) {
  const resp = await fetch(o.url, { headers: { authorization: `Bearer ${TOKEN}`, accept: 'application/fhir+ndjson' } });
  const lines = (await resp.text()).split('\n').filter((l) => l !== '');
  const typed = lines.filter((l) => JSON.parse(l).resourceType === o.type).length;
  out.files.push({ type: o.type, count: o.count, lines: lines.length, typed, status: resp.status });
}
console.log(JSON.stringify(out));
