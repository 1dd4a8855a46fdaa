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

.PHONY: build run test test-go fuzz-short fuzz bench bench-1m clean

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/countycare

run: build
	./$(BIN) serve --demo --residents $(RESIDENTS) --db $(DB) --addr $(ADDR) --log-format text

# make test: scripts/postgres-up finds or starts a PostgreSQL server (Debian's cluster as
# root, a private one in ~/.cache for any other user) and prints its URL for the tests;
# the PostgreSQL and browser tests fail rather than skip when their server or browser is missing.
test: build
	$(GO) vet ./...
	pg="$$(scripts/postgres-up)" || exit 1; COUNTYCARE_TEST_PG="$$pg" $(GO) test -count=1 -timeout 20m ./...
	$(MAKE) fuzz-short

# The seed corpora run in every `go test`; this adds a short coverage-guided run of each fuzz target.
FUZZ_TARGETS := idcard:FuzzParse resident:FuzzValidate resident:FuzzSearchTokens resident:FuzzParseImport \
	ecg:FuzzParseHeader ecg:FuzzReadAnnotations ecg:FuzzRead212 ecg:FuzzRead16 ecg:FuzzReadBeatsCSV ecg:FuzzReadCSV ecg:FuzzDetectQRS \
	referral:FuzzICD10Chapter dicom:FuzzParse online:FuzzValidateGuardian
FUZZ_TARGETS += lab:FuzzParseCSV reading:FuzzParseFetalCSV reading:FuzzReadPhoto
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

clean:
	rm -rf bin data/bench artifacts
