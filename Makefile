# Frontdesk. `make run` serves the playground on embedded defaults;
# `make test` runs the whole suite. See README.md.

GO      ?= go
BIN     := $(CURDIR)/.bin
export GOFLAGS ?= -buildvcs=false

STRIPE_MOCK_VERSION := v0.203.0

.PHONY: run build build-static image image-scratch playground e2e test test-embedded test-external test-redis-cluster generate schema migration migration-hash check-generated lint vet bench tools

# `make run`: build, load the demo (printing its accounts and passwords;
# a second run leaves what is there alone), then serve on
# http://127.0.0.1:8080 with SQLite under ./data and the playground at /.
run: build
	@echo "==> loading the demo data: bin/frontdesk seed (development only)"
	bin/frontdesk seed
	@echo "==> serving: bin/frontdesk serve (Ctrl-C stops it; JSON logs follow)"
	bin/frontdesk serve

# bin/frontdesk for this machine. The first build compiles ent, gqlgen and
# the pure-Go SQLite driver: one to three minutes, with no output until it
# is done; later builds take seconds.
build:
	@echo "==> building bin/frontdesk (the first build takes one to three minutes; later ones seconds)"
	$(GO) build -o bin/frontdesk ./cmd/frontdesk

# The release binary, built as the Dockerfile builds it: static (no cgo),
# time zone data inside, version stamped. For bare metal (docs/deploy.md).
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
build-static:
	CGO_ENABLED=0 $(GO) build -trimpath -tags timetzdata -ldflags "-s -w -X main.version=$(VERSION)" -o bin/frontdesk ./cmd/frontdesk

# The container image (Dockerfile): make image [VERSION=…] [IMAGE=…]
IMAGE ?= frontdesk
image:
	docker build --build-arg VERSION=$(VERSION) -t $(IMAGE):$(VERSION) -t $(IMAGE):latest .

# The same image FROM scratch, built without pulling anything
# (deploy/Dockerfile.scratch): the static binary, the host's CA bundle and a
# non-root user, staged in .bin/image. make image-scratch [IMAGE=…]
image-scratch: build-static
	rm -rf $(BIN)/image && mkdir -p $(BIN)/image/data
	cp bin/frontdesk /etc/ssl/certs/ca-certificates.crt $(BIN)/image/
	printf 'root:x:0:0:root:/:/sbin/nologin\nfrontdesk:x:65532:65532:frontdesk:/data:/sbin/nologin\n' > $(BIN)/image/passwd
	printf 'root:x:0:\nfrontdesk:x:65532:\n' > $(BIN)/image/group
	docker build -f deploy/Dockerfile.scratch -t $(IMAGE):scratch -t $(IMAGE):$(VERSION)-scratch $(BIN)/image

# The suite runs on embedded SQLite and the in-process cache, then again on
# MySQL/Redis when FRONTDESK_TEST_DATABASE_URL / FRONTDESK_TEST_REDIS_URL
# are set (.ci/run sets them).
test: tools test-embedded test-external

test-embedded:
	env -u FRONTDESK_TEST_DATABASE_URL -u FRONTDESK_TEST_REDIS_URL $(GO) test -count=1 ./...

test-external:
	@if [ -n "$$FRONTDESK_TEST_DATABASE_URL" ] || [ -n "$$FRONTDESK_TEST_REDIS_URL" ]; then \
		echo "== again against $${FRONTDESK_TEST_DATABASE_URL:-embedded SQLite} and $${FRONTDESK_TEST_REDIS_URL:-in-process cache}"; \
		$(GO) test -count=1 ./... ; \
	else \
		echo "== FRONTDESK_TEST_DATABASE_URL and FRONTDESK_TEST_REDIS_URL unset: external run skipped"; \
	fi

# The Redis-backed tests (cache, event bus, sessions, rate limits)
# again against a throwaway three-node Redis Cluster on loopback, which
# .ci/redis-cluster starts and stops (needs redis-server and redis-cli).
test-redis-cluster:
	.ci/redis-cluster $(GO) test -count=1 -timeout 5m ./cache/ ./events/ ./identity/ ./ratelimit/

# Tools the tests start themselves, pinned and installed into .bin.
tools: $(BIN)/stripe-mock

$(BIN)/stripe-mock:
	GOBIN=$(BIN) $(GO) install github.com/stripe/stripe-mock@$(STRIPE_MOCK_VERSION)

# Rebuilds the playground's embedded GraphiQL bundle (server/playground/dist)
# from the pinned npm packages; see docs/getting-started.md.
playground:
	cd server/playground && npm ci --no-audit --no-fund && node build.mjs

# The acceptance suite (e2e/): the binary, started from an empty data
# directory, driven only through its CLI, HTTP, WebSocket and the
# playground in Chromium (/usr/bin/chromium). Node 20; the npm packages are
# pinned in e2e/package-lock.json. E2E_MYSQL_URL=mysql://root@127.0.0.1:3306/
# and E2E_REDIS_URL=redis://127.0.0.1:6379/0 run it on MariaDB and Redis.
E2E_BIN := $(CURDIR)/e2e/.bin/frontdesk
e2e:
	$(GO) build -o $(E2E_BIN) ./cmd/frontdesk
	cd e2e && npm ci --no-audit --no-fund --loglevel=error
	cd e2e && FRONTDESK_BIN=$(E2E_BIN) node --test --test-concurrency=1 --test-timeout=300000 tests/

# Regenerates ent and gqlgen output. CI fails when this leaves a diff.
generate:
	$(GO) run -mod=mod ./ent/entc.go
	$(GO) run ./internal/gqlgenrun

# Updates the schema.graphqls contract; refuses breaking changes unless
# run as `make schema ALLOW_BREAKING=1`.
schema:
	$(GO) run ./internal/schemaprint $(if $(ALLOW_BREAKING),-allow-breaking)

# Writes a new versioned migration from the ent schema: make migration name=add_orders
migration:
	@test -n "$(name)" || (echo "usage: make migration name=<what changed>" && exit 2)
	$(GO) run ./internal/migrationgen $(name)

# Rewrites migrations/*/atlas.sum from the files, for example after a rebase
# renamed a migration to a later timestamp. Never use it to hide an edit of
# an applied migration: the database remembers each file's checksum.
migration-hash:
	$(GO) run ./internal/migrationgen -hash

check-generated: generate
	@git diff --exit-code --stat -- . ':(exclude)go.sum' || (echo "generated code is stale: run make generate and commit" && exit 1)
	@test -z "$$(git status --porcelain --untracked-files=all -- ent graph)" || (git status --porcelain -- ent graph; echo "make generate created untracked files: commit them" && exit 1)

vet:
	$(GO) vet ./...

lint: vet
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); echo "gofmt needed" && exit 1)

# Benchmarks, one command per measurement (figures go into
# docs/benchmarks.md). Not part of `make test`/CI. The MariaDB and Redis
# runs use the servers below; each benchmark makes its own database and
# key prefix and removes them afterwards.
BENCH_DATABASE_URL ?= mysql://root@127.0.0.1:3306/test
BENCH_REDIS_URL    ?= redis://127.0.0.1:6379/0
BENCH_EMBEDDED     := env -u FRONTDESK_TEST_DATABASE_URL -u FRONTDESK_TEST_REDIS_URL
BENCH_EXTERNAL     := env FRONTDESK_TEST_DATABASE_URL=$(BENCH_DATABASE_URL) FRONTDESK_TEST_REDIS_URL=$(BENCH_REDIS_URL)
BENCH              := $(GO) test -count=1 -run '^$$' -timeout 30m

bench:
	@echo "== load before benchmarks:" && uptime
	$(BENCH_EMBEDDED) $(BENCH) -bench Throughput -benchtime 5000x ./outbox/
	$(BENCH_EXTERNAL) $(BENCH) -bench Throughput -benchtime 5000x ./outbox/
	$(BENCH_EXTERNAL) $(BENCH) -bench RedisDeliveryLatency -benchtime 10000x ./events/
	$(BENCH_EMBEDDED) $(BENCH) -bench 'AvailableSlots|Engine' -benchtime 300x ./booking/
	$(BENCH_EXTERNAL) $(BENCH) -bench AvailableSlots -benchtime 300x ./booking/
	$(BENCH_EMBEDDED) $(BENCH) -bench AvailableSlotsHTTP -benchtime 300x ./app/
	$(BENCH_EXTERNAL) $(BENCH) -bench AvailableSlotsHTTP -benchtime 300x ./app/
	$(BENCH_EMBEDDED) $(BENCH) -bench CatalogHTTP -benchtime 400x ./app/
	$(BENCH_EXTERNAL) $(BENCH) -bench CatalogHTTP -benchtime 400x ./app/
	FRONTDESK_BENCH_PRODUCTS=54 $(BENCH_EXTERNAL) $(BENCH) -bench CatalogHTTP -benchtime 800x ./app/
	$(BENCH_EMBEDDED) $(BENCH) -bench BackupRestore -benchtime 1x ./backup/
	$(BENCH_EXTERNAL) $(BENCH) -bench BackupRestore -benchtime 1x ./backup/
	$(BENCH_EMBEDDED) $(BENCH) -bench RateLimitMiddleware -benchtime 100000x ./server/
	$(BENCH_EXTERNAL) $(BENCH) -bench RateLimitMiddleware -benchtime 20000x ./server/
	$(BENCH_EMBEDDED) $(BENCH) -bench Adversarial -benchtime 20x ./app/
	$(BENCH_EXTERNAL) $(BENCH) -bench Adversarial -benchtime 20x ./app/
	$(BENCH_EMBEDDED) $(BENCH) -bench MemoryUnderAttack -benchtime 2000x ./app/
	$(BENCH_EMBEDDED) $(BENCH) -bench Subscribers -benchtime 1x ./app/
	$(BENCH_EMBEDDED) $(BENCH) -bench DeliveryThroughput -benchtime 1000x ./webhooks/
	$(BENCH_EXTERNAL) $(BENCH) -bench DeliveryThroughput -benchtime 1000x ./webhooks/
	$(BENCH_EMBEDDED) $(BENCH) -bench WebhookMutationLatency -benchtime 300x ./app/
	$(BENCH_EXTERNAL) $(BENCH) -bench WebhookMutationLatency -benchtime 300x ./app/
	@echo "== load after benchmarks:" && uptime
