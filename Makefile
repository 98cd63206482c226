# Tickwire. The two commands a new user needs: `make demo` and `make test`.
SWIFT ?= swift
BIN_DIR = $(shell $(SWIFT) build --show-bin-path 2>/dev/null)
RELEASE_BIN_DIR = $(shell $(SWIFT) build -c release --show-bin-path 2>/dev/null)

.PHONY: all deps build test demo demo-models backtest-demo bench fuzz check-deploy proto clean

all: build

## deps: install missing Debian packages (as root) and the Python test peers (.venv)
deps:
	@scripts/deps.sh

## build: build every executable (debug)
build: deps
	$(SWIFT) build

# CPU-heavy suites (TA-Lib, scikit-learn, xgboost, exchange_calendars; throwaway PostgreSQL servers), run after
# the rest so they do not starve the timing-sensitive tests on a 2-core machine.
# The backtest suites train models and replay years of bars on the cooperative pool: beside the
# timing-sensitive unit tests on two cores they starve them (seen: everything stalled 23 s).
HEAVY_SUITES = BacktestingTests|PostgresStoreTests|ReferenceAccuracyTests|XGBoostReferenceTests|XNYSReferenceTests|TALibEquivalenceTests|OscillatorIndicatorsTests|TrendEquivalenceTests|PeerTests

## test: run the Swift test suites (unit and end-to-end) and the deployment checks
# Tests never touch the user's own bus keys (~/.config/tickwire/keys): end-to-end tests make a
# key set per test bus, and anything else that needs keys finds this throwaway directory.
# Services started by tests serve no metrics unless a test asks (--metrics-port), so parallel
# tests never race for the default ports.
TEST_ENV = TICKWIRE_BIN_DIR="$(BIN_DIR)" TICKWIRE_PYTHON="$(CURDIR)/.venv/bin/python" \
	TICKWIRE_KEYS_DIR="$(CURDIR)/.build/test-keys" TICKWIRE_METRICS_PORT=0

# Three phases, so that timing-sensitive unit tests never share the two cores with dozens of
# end-to-end processes starting at once: the unit suites, then the end-to-end suites (real
# processes), then the CPU-heavy reference suites.
test: deps
	$(SWIFT) build --build-tests
	$(TEST_ENV) $(SWIFT) test --skip-build --parallel --num-workers 2 --skip '$(HEAVY_SUITES)|EndToEndTests'
	$(TEST_ENV) $(SWIFT) test --skip-build --parallel --num-workers 2 --filter 'EndToEndTests' --skip '$(HEAVY_SUITES)'
	$(TEST_ENV) $(SWIFT) test --skip-build --filter '$(HEAVY_SUITES)'
	scripts/check-deploy.sh

DEMO_TRAIN_TICKERS = AAPL MSFT AMZN

## demo: run the whole stack locally on the simulated provider (Ctrl-C stops it); trains the
## demo's models first if models/demo has none
demo: build
	@test -f models/demo/report.json || $(MAKE) --no-print-directory demo-models
	@echo "dashboard: http://127.0.0.1:8700/   metrics: http://127.0.0.1:9400/metrics (9400-9407, one port per service)"
	"$(BIN_DIR)/tickwire" up --config config/demo.json

## demo-models: train the demo's models on simulated history (5 s bars, the live simulator's model)
demo-models: build
	mkdir -p data/demo
	for symbol in $(DEMO_TRAIN_TICKERS); do \
		"$(BIN_DIR)/tickwire" history --provider simulated --symbol $$symbol --interval 5s --bars 2000 \
			--config config/demo.json --output data/demo/$$symbol.csv || exit 1; \
	done
	"$(BIN_DIR)/tickwire" train --config config/demo.json --data $(foreach s,$(DEMO_TRAIN_TICKERS),data/demo/$(s).csv) \
		--out models/demo --trees 30 --folds 3

## backtest-demo: backtest the demo's models on simulated history they never saw (another seed,
## after their training ended) and write backtest/demo/report.html
backtest-demo: build
	@test -f models/demo/report.json || $(MAKE) --no-print-directory demo-models
	mkdir -p data/demo/backtest
	for symbol in $(DEMO_TRAIN_TICKERS); do \
		"$(BIN_DIR)/tickwire" history --provider simulated --symbol $$symbol --interval 5s --bars 2000 --seed 7 \
			--end "$$(date -u -d '+3 hours' +%Y-%m-%dT%H:%M:%SZ)" \
			--config config/demo.json --output data/demo/backtest/$$symbol.csv || exit 1; \
	done
	"$(BIN_DIR)/tickwire" backtest --config config/demo.json --models models/demo --out backtest/demo \
		--data $(foreach s,$(DEMO_TRAIN_TICKERS),data/demo/backtest/$(s).csv) --check-lookahead --lookahead-cuts 3
	@echo "open backtest/demo/report.html"

# The pipeline stage's settings (tickwire-bench pipeline --help), e.g. PIPELINE_BENCH="--seconds 20".
PIPELINE_BENCH ?=

## bench: bus throughput and latency against raw libzmq, and indicator cost against TA-Lib's
## batch functions, each baseline measured in the same run; then the whole pipeline's capacity
## (simulated ingestor, bus-proxy, elastic processors, the signal generator with models/demo)
bench: deps
	$(SWIFT) build -c release --product tickwire-bench
	$(SWIFT) build -c release --product bus-proxy
	"$(RELEASE_BIN_DIR)/tickwire-bench" bus --proxy "$(RELEASE_BIN_DIR)/bus-proxy"
	"$(RELEASE_BIN_DIR)/tickwire-bench" indicators --python .venv/bin/python --script Tests/python/talib_bench.py
	"$(RELEASE_BIN_DIR)/tickwire-bench" journal
	@test -f models/demo/report.json || $(MAKE) --no-print-directory demo-models
	for product in ingestor processor signal-generator; do $(SWIFT) build -c release --product $$product || exit 1; done
	"$(RELEASE_BIN_DIR)/tickwire-bench" pipeline --bin-dir "$(RELEASE_BIN_DIR)" --models models/demo $(PIPELINE_BENCH)

FUZZ_PRODUCTS = bus-proxy ingestor processor scheduler signal-generator notifier tickwire bus-fuzz

## fuzz: bus-fuzz floods a demo stack (release build, models/demo) with 1,000,000 hostile frames
## and checks every service held; then each libFuzzer target runs FUZZ_SECONDS (60) s, built into
## .build-fuzz. Not part of `make test`; scripts/fuzz.sh lists its other settings
fuzz: deps
	for product in $(FUZZ_PRODUCTS); do $(SWIFT) build -c release --product $$product || exit 1; done
	@test -f models/demo/report.json || $(MAKE) --no-print-directory demo-models
	BIN_DIR="$(RELEASE_BIN_DIR)" scripts/fuzz.sh

## check-deploy: validate docker-compose.yml and lint deploy/Dockerfile (no Docker engine needed)
check-deploy:
	scripts/check-deploy.sh

## proto: regenerate Sources/Contracts/Generated from the .proto files (needs protoc)
proto:
	@command -v protoc >/dev/null || { echo "proto: install protoc: apt-get install -y protobuf-compiler"; exit 1; }
	$(SWIFT) package resolve
	$(SWIFT) build -c release --package-path .build/checkouts/swift-protobuf --scratch-path .build-protoc --product protoc-gen-swift
	protoc --plugin=.build-protoc/release/protoc-gen-swift --swift_out=Sources/Contracts/Generated \
		--swift_opt=Visibility=Public -I Sources/Contracts/Proto Sources/Contracts/Proto/*.proto
	sed -i 's|^public nonisolated struct \([A-Za-z]*\): @unchecked Sendable {|// The unchecked Sendable conformance below is protoc-gen-swift'"'"'s: the fields live in a private copy-on-write\n// storage class that is copied before any mutation, so no two values share mutable state.\n&|' \
		Sources/Contracts/Generated/*.pb.swift

clean:
	$(SWIFT) package clean
