# countycare — the two commands a new machine needs:
#   make run    build, create a demo county in ./data (first time), serve on http://127.0.0.1:8080
#   make test   vet, every test on SQLite and PostgreSQL, the browser test, short fuzz runs
GO      ?= go
BIN     := bin/countycare
DB      ?= sqlite://./data/countycare.db
ADDR    ?= 127.0.0.1:8080
RESIDENTS ?= 20000
FUZZTIME ?= 5s
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)

.PHONY: build run test test-go fuzz-short fuzz bench bench-1m bench-replay bench-sync bench-dicomweb mutate clean fhir-validators drill-pitr drill-failover

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/countycare

run: build
	./$(BIN) serve --demo --residents $(RESIDENTS) --db $(DB) --addr $(ADDR) --log-format text

# make test: scripts/postgres-up finds or starts a PostgreSQL server (Debian's cluster as
# root, a private one in ~/.cache for any other user) and prints its URL for the tests;
# the PostgreSQL and browser tests fail rather than skip when their server or browser is missing.
test: build fhir-validators
	$(GO) vet ./...
	pg="$$(scripts/postgres-up)" || exit 1; COUNTYCARE_TEST_PG="$$pg" $(GO) test -count=1 -timeout 45m ./...
	$(MAKE) fuzz-short

# The two FHIR validators and the FHIR client the fhir tests run (npm, pinned in tools/fhir-validate/package-lock.json).
FHIR_VALIDATORS := tools/fhir-validate/node_modules/.package-lock.json
fhir-validators: $(FHIR_VALIDATORS)
$(FHIR_VALIDATORS): tools/fhir-validate/package-lock.json
	npm ci --prefix tools/fhir-validate --no-audit --no-fund --loglevel=error

# The seed corpora run in every `go test`; this adds a short coverage-guided run of each fuzz target.
FUZZ_TARGETS := idcard:FuzzParse resident:FuzzValidate resident:FuzzSearchTokens resident:FuzzParseImport \
	ecg:FuzzParseHeader ecg:FuzzReadAnnotations ecg:FuzzRead212 ecg:FuzzRead16 ecg:FuzzReadBeatsCSV ecg:FuzzReadCSV ecg:FuzzDetectQRS \
	ecg:FuzzReadSCP ecg:FuzzReadSCPUnchecked ecg:FuzzReadAECG ecg:FuzzMeasure dicom:FuzzWaveforms \
	icd10:FuzzValid dicom:FuzzParse dicom:FuzzDecodeRLE dicom:FuzzDecodeJPEGLossless dicom:FuzzDecodeJPEGLS online:FuzzValidateGuardian \
	dicom:FuzzDecodeJPEGExtended dicom:FuzzDecodeJPEG2000
FUZZ_TARGETS += lab:FuzzParseCSV reading:FuzzParseFetalCSV reading:FuzzReadPhoto
FUZZ_TARGETS += dicom:FuzzParsePatient web:FuzzParseTusMetadata web:FuzzHasNULEscape fhir:FuzzParseBundle fhir:FuzzDecodeBundle villagesync:FuzzParseCursor
FUZZ_TARGETS += smart:FuzzParseKeys smart:FuzzVerifyAssertion fhir:FuzzByteRange healthedu:FuzzParseLibrary
fuzz-short:
	@for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "fuzz $$pkg $$fn ($(FUZZTIME))"; \
		scripts/fuzz-one $(GO) $$pkg $$fn $(FUZZTIME) || exit 1; done

# Long fuzzing, for a soak run: make fuzz FUZZTIME=10m
fuzz: FUZZTIME=2m
fuzz: fuzz-short

# Figures of docs/benchmarks.md on a database of RESIDENTS residents (default 20,000).
bench: build
	rm -rf data/bench && mkdir -p data/bench
	./$(BIN) demo --db sqlite://./data/bench/bench.db --residents $(RESIDENTS) --log-format text
	./$(BIN) bench --db sqlite://./data/bench/bench.db

bench-1m: RESIDENTS=1000000
bench-1m: bench

# The county-year replay (issue 15 §3, docs/benchmarks.md): the whole year of a 1 M-resident county through
# the HTTP API on SQLite with one server (the demo county first, about 70 s; the replay then takes what it measures:
# 16 min at the 1,481 requests/s of the one whole run on a quiet machine). A short run: make bench-replay SCALE=0.05;
# a window anywhere in the year: make bench-replay SCALE=0.01 FROM_DAY=0 (the year's first 4 days).
# On PostgreSQL with two replicas (an empty database):
# make bench-replay REPLAY_DB=postgres://…/empty_db REPLICAS=2
SCALE ?= 1
REPLICAS ?= 1
FROM_DAY ?= -1
REPLAY_DB ?= sqlite://./data/replay/year.db
bench-replay: build
	rm -rf data/replay && mkdir -p data/replay
	./$(BIN) bench replay --db $(REPLAY_DB) --audit-key-file data/replay/audit.key --residents 1000000 --scale $(SCALE) --from-day $(FROM_DAY) --replicas $(REPLICAS) --clinicians 32
# Issue 16's side-by-side with Orthanc (docs/benchmarks.md): the peers' bench-dicomweb.sh against an empty
# Orthanc and an empty countycare (a demo county, in process), alternating, ROUNDS each, with the ratios.
# The peers' scripts are not in the repository: PEERS names their folder (the command says so when it is absent).
# On PostgreSQL: make bench-dicomweb DICOMWEB_DB='postgres:///postgres?host=/var/run/postgresql' (a database per round).
PEERS ?= ../shared/peers
ROUNDS ?= 2
DICOMWEB_DB ?=
bench-dicomweb: build
	./$(BIN) bench dicomweb-peer --peers $(PEERS) --rounds $(ROUNDS) $(if $(DICOMWEB_DB),--db '$(DICOMWEB_DB)')
# The village app's sync figures (issue 13 §1, docs/village-app.md): a village of 1,250 residents
# with a year of follow-ups, first sync and a day's sync, bytes on the wire and time on Fast 3G.
bench-sync:
	$(GO) test ./web/ -run '^$$' -bench BenchmarkVillageSync -benchtime 3x -count 1
	$(GO) test ./e2e/ -run '^$$' -bench BenchmarkVillageFirstSyncFast3G -benchtime 3x -count 1

# The PostgreSQL failover drill (issue 15 §2, docs/operations.md "Province deployment"): etcd, Patroni
# with a primary and a synchronous standby, HAProxy and countycare serve, all on loopback; clinicians'
# writes through the HTTP API while the primary's postgres is killed with SIGKILL. Fails if an
# acknowledged write is lost or the audit chain does not verify. About two minutes; not in make test.
# Needs: apt-get install patroni etcd-server etcd-client haproxy
drill-failover: build
	scripts/drill-failover

# Mutation testing of the rule packages (issue 18 §6; figures in docs/benchmarks.md, equivalent
# survivors in docs/mutation.md). Not part of `make test`: it is CPU heavy, so it runs one package
# at a time with one worker and a generous timeout (a loaded machine otherwise reports "timed out").
# Never add --test-cpu: v0.6.0 passes it to go test as the single argument "-cpu N", go test fails
# to start, and every mutant is counted as killed.
# Each package must reach MUTATE_EFFICACY % of covered mutants killed and MUTATE_COVERAGE % of
# mutants covered. gremlins v0.6.0 exits 0 whatever its thresholds (go-gremlins/gremlins#216), so
# the figures are read from its JSON report (artifacts/mutate/PKG.json); every package is run and
# the target fails at the end naming those that missed.
# reading: only its rule files (report templates and turnaround targets: templates.go, workflow.go)
# are measured; MUTATE_EXCLUDE_reading leaves out its parsers and viewers, which fuzz targets and
# benchmarks measure instead (docs/mutation.md).
# Needs gremlins: go install github.com/go-gremlins/gremlins/cmd/gremlins@v0.6.0
# One package: make mutate MUTATE_PKGS=chronic
GREMLINS ?= $(shell command -v gremlins 2>/dev/null || echo $$(go env GOPATH)/bin/gremlins)
MUTATE_PKGS ?= access chronic settle rx critical referral consult family points reading povertywatch appraisal kpi
MUTATE_EXCLUDE_reading := -E 'critical\.go' -E 'dicomweb\.go' -E 'exams\.go' -E 'fetal\.go' -E '(^|/)flow\.go' \
	-E 'imaging\.go' -E 'photo\.go' -E 'reading\.go' -E 'viewer\.go'
# rx: synthetic.go generates the demo's and the benchmarks' prescriptions; it is not a rule.
MUTATE_EXCLUDE_rx := -E 'synthetic\.go'
# kpi: the records lists' service (records_service.go, records_page.go, records_turnaround.go) reads
# the store and is tested through web on both databases (TestDashboardRecords…), which `./kpi` does
# not run (docs/mutation.md); the rules it applies (records.go's Judge…, records_groups.go) are measured.
MUTATE_EXCLUDE_kpi := -E 'records_service\.go' -E 'records_page\.go' -E 'records_turnaround\.go'
MUTATE_EFFICACY ?= 95
MUTATE_COVERAGE ?= 90
MUTATE_FLAGS ?= --workers 1 --timeout-coefficient 10
# GOFLAGS=-count=1: gremlins times each mutant by its package's coverage run; a run answered from the
# test cache (0.2 s) makes every mutant "time out" on a loaded machine (found for issue 18).
mutate: export GOFLAGS := -count=1
mutate:
	@test -x "$(GREMLINS)" || { echo "gremlins not found: go install github.com/go-gremlins/gremlins/cmd/gremlins@v0.6.0"; exit 1; }
	@mkdir -p artifacts/mutate; failed=""; for p in $(MUTATE_PKGS); do \
		cov=$(MUTATE_COVERAGE); \
		echo "== mutate $$p ($$(date -u +%Y-%m-%dT%H:%MZ))"; \
		case $$p in reading) ex="$(MUTATE_EXCLUDE_reading)";; rx) ex="$(MUTATE_EXCLUDE_rx)";; kpi) ex="$(MUTATE_EXCLUDE_kpi)";; *) ex="";; esac; \
		eval "\"$(GREMLINS)\" unleash $(MUTATE_FLAGS) $$ex --output-statuses lctvs -o artifacts/mutate/$$p.json ./$$p" || { failed="$$failed $$p"; continue; }; \
		eff=$$(grep -o '"test_efficacy":[0-9.]*' artifacts/mutate/$$p.json | cut -d: -f2); \
		mcov=$$(grep -o '"mutations_coverage":[0-9.]*' artifacts/mutate/$$p.json | cut -d: -f2); \
		if awk -v e="$$eff" -v c="$$mcov" -v te=$(MUTATE_EFFICACY) -v tc=$$cov 'BEGIN { exit !(e != "" && c != "" && e + 0 >= te && c + 0 >= tc) }'; then \
			echo "mutate $$p: $$eff % killed, $$mcov % covered: ok"; \
		else echo "mutate $$p: $$eff % killed (want $(MUTATE_EFFICACY)), $$mcov % covered (want $$cov): BELOW"; failed="$$failed $$p"; fi; \
	done; \
	if [ -n "$$failed" ]; then echo "mutate: below the thresholds:$$failed"; exit 1; fi

# PostgreSQL base backup + WAL archiving, proven (docs/operations.md, "Backups"): a private
# cluster on a Unix socket, a demo county, pg_basebackup, writes, the server killed and its data
# deleted, recovery from the archive, verify-audit against the anchor noted before. About a minute;
# not in `make test` (the logical backup's drill, TestBackupDrill, is).
drill-pitr: build
	RESIDENTS=$(or $(PITR_RESIDENTS),2000) scripts/pg-pitr-drill

clean:
	rm -rf bin data/bench artifacts
