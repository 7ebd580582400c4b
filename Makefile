# Two commands: `make demo` and `make test`. Both install what is missing first.
SWIFT ?= swift
DEMO_OUT ?= demo-output

.PHONY: demo test build deps clean bench bench-workers bench-downloads bench-age lint format fuzz fuzz-seeds

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build

# Builds, creates the demo database and exports one data subject's bundle.
demo: build
	"$$($(SWIFT) build --show-bin-path)/handover" demo --out $(DEMO_OUT)

# Builds everything and runs the whole test suite against the built `handover` binary. The request store's
# PostgreSQL back end is tested against a real server, installed and started on loopback when missing.
# The repository's one `.swift-format` is applied everywhere: `make format` applies it, `make lint` (part of
# `make test`) fails on any difference or on a public symbol without a doc comment.
FORMATTED = Sources Tests Benchmarks Package.swift Fuzz/Package.swift Fuzz/Sources
lint:
	$(SWIFT) format lint --strict --recursive $(FORMATTED)

format:
	$(SWIFT) format format --in-place --recursive $(FORMATTED)

test: deps lint
	@scripts/start-postgres.sh
	$(SWIFT) build --build-tests
	HANDOVER_BIN="$$($(SWIFT) build --show-bin-path)/handover" $(SWIFT) test --skip-build

# Not part of `make test`: release build, then the harness (ROWS=10000000 for the 10M-row run).
ROWS ?= 1000000
PGBENCH_URL ?= postgres://handover_test:handover_test@127.0.0.1:5432/handover_test?sslmode=disable
# Swift's runtime and Foundation linked statically (as a release should be): a process starts about 6 ms sooner.
bench: deps
	@scripts/start-postgres.sh
	$(SWIFT) build -c release --static-swift-stdlib --product handover
	python3 Benchmarks/bench.py --rows $(ROWS) \
		--binary "$$($(SWIFT) build -c release --static-swift-stdlib --show-bin-path)/handover" --postgres "$(PGBENCH_URL)"

# Request-worker throughput (issue 7): subject exports per minute with 1, 2 and 4 workers, SQLite and PostgreSQL.
REQUESTS ?= 200
bench-workers: deps
	@scripts/start-postgres.sh
	$(SWIFT) build -c release --product handover
	python3 Benchmarks/workers.py --requests $(REQUESTS) --binary "$$($(SWIFT) build -c release --show-bin-path)/handover"

# Delivery (issue 13): CLIENTS concurrent downloads of a SIZE archive over loopback, half ranged; then again with
# two workers exporting in the server's process. Throughput, time to first byte p50/p99, the server's peak RSS.
CLIENTS ?= 200
SIZE ?= 1G
bench-downloads: deps
	$(SWIFT) build -c release --product handover
	python3 Benchmarks/downloads.py --clients $(CLIENTS) --size $(SIZE) --binary "$$($(SWIFT) build -c release --show-bin-path)/handover"

# Encryption (issue 14): `handover seal` against `age` on the same SIZE file, median of RUNS, whole process.
AGE_SIZE ?= 1G
AGE_RUNS ?= 5
bench-age: deps
	$(SWIFT) build -c release --product handover
	python3 Benchmarks/age.py --size $(AGE_SIZE) --runs $(AGE_RUNS) --binary "$$($(SWIFT) build -c release --show-bin-path)/handover"

# Fuzzing (issue 14), not part of `make test`: libFuzzer with the address sanitizer over the readers of untrusted
# input (bundle archives and verify, JSON and JSON Schema, CSV, XML Schema, dataset maps, age, minisign), each for
# FUZZ_SECONDS from the committed seeds in Fuzz/Corpus/ (`make fuzz-seeds` writes them again). A crash keeps its
# input in Fuzz/Crashes/ and fails; each crash found becomes a regression test.
FUZZ_SECONDS ?= 60
fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh

fuzz-seeds: build
	bash Fuzz/make-seeds.sh "$$($(SWIFT) build --show-bin-path)/handover"

clean:
	rm -rf .build .build-fuzz $(DEMO_OUT)
