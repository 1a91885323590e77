# soll: the single entry point for building, testing and running.
# `make help` lists the targets.

SHELL := /bin/bash
.DEFAULT_GOAL := help

GO          ?= go
# The Go release soll is built and tested with; the go command fetches it
# from the Go module proxy when the machine has another one.
GOTOOLCHAIN ?= go1.27.3
export GOTOOLCHAIN
BIN_DIR     ?= bin
CLUSTER_DIR ?= .cluster/default
NODES       ?= 2
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT      ?= $(shell git rev-parse HEAD 2>/dev/null)
DATE        ?= $(shell git log -1 --format=%cI 2>/dev/null)
LDFLAGS     := -X soll.dev/internal/version.Version=$(VERSION) -X soll.dev/internal/version.Commit=$(COMMIT) -X soll.dev/internal/version.Date=$(DATE)
# Platforms of the container image (make image) and of the binaries (make dist).
IMAGE_PLATFORMS ?= linux/amd64,linux/arm64
DIST_PLATFORMS  ?= linux/amd64,linux/arm64,darwin/amd64,darwin/arm64,windows/amd64,windows/arm64
# Pinned tool versions.
CONTROLLER_GEN := $(GO) run sigs.k8s.io/controller-tools/cmd/controller-gen@v0.23.0
GOLANGCI_LINT  := $(GO) run github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0
LOCALCLUSTER   := $(GO) -C localcluster run ./cmd/localcluster

# Tests share one local cluster per run: started here unless
# SOLL_TEST_KUBECONFIG already points at one.
TEST_CLUSTER_DIR ?= .cluster/test
TEST_FLAGS       ?= -count=1 -timeout 20m
BENCH_FLAGS      ?=

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

.PHONY: build
build: ## build the soll binary into bin/
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN_DIR)/soll ./cmd/soll

.PHONY: image
image: ## build the container image (IMAGE_PLATFORMS) without a container engine: OCI layout in bin/image, archive bin/soll-image.tar
	$(GO) run ./hack/image -version $(VERSION) -platforms $(IMAGE_PLATFORMS) -out $(BIN_DIR)/image -archive $(BIN_DIR)/soll-image.tar

.PHONY: image-push
image-push: ## build the image and push it as REGISTRY/soll:VERSION (REGISTRY=ghcr.io/you; credentials of docker login)
	@test -n "$(REGISTRY)" || { echo "image-push: set REGISTRY, as in: make image-push REGISTRY=ghcr.io/you" >&2; exit 1; }
	$(GO) run ./hack/image -version $(VERSION) -platforms $(IMAGE_PLATFORMS) -out $(BIN_DIR)/image -archive "" -push $(REGISTRY)/soll:$(VERSION)

.PHONY: chart
chart: ## package the Helm chart into bin/soll-<chart version>.tgz (chart version: VERSION when it is a release tag, else 0.0.0-VERSION)
	$(GO) run ./hack/chart -version $(VERSION) -out $(BIN_DIR)

.PHONY: chart-push
chart-push: ## package the chart and push it to oci://REGISTRY/charts/soll (CHART_REPOSITORY overrides REGISTRY/charts; credentials of helm registry login or docker login)
	@test -n "$(REGISTRY)$(CHART_REPOSITORY)" || { echo "chart-push: set REGISTRY, as in: make chart-push REGISTRY=ghcr.io/you" >&2; exit 1; }
	$(GO) run ./hack/chart -version $(VERSION) -out $(BIN_DIR) -push oci://$(or $(CHART_REPOSITORY),$(REGISTRY)/charts)

.PHONY: dist
dist: ## cross-build soll for DIST_PLATFORMS into bin/dist, with SHA256SUMS
	$(GO) run ./hack/dist -version $(VERSION) -platforms $(DIST_PLATFORMS) -out $(BIN_DIR)/dist

.PHONY: generate
generate: ## regenerate deepcopy code and CRD manifests (config/crd, the Helm chart's crds) from api/, the API reference from the server's routes and the CLI reference from the commands
	@# controller-gen never deletes files: start clean so a removed type leaves no stale CRD.
	find api -name zz_generated.deepcopy.go -delete
	rm -f config/crd/soll.dev_*.yaml
	$(CONTROLLER_GEN) object:headerFile=hack/boilerplate.go.txt paths=./api/...
	$(CONTROLLER_GEN) crd:allowDangerousTypes=false paths=./api/... output:crd:artifacts:config=config/crd
	@# The Helm chart installs its own copy of the CRDs (its crds directory).
	rm -f deploy/chart/soll/crds/*.yaml
	cp config/crd/soll.dev_*.yaml deploy/chart/soll/crds/
	$(GO) run ./hack/apidoc -o docs/user/api-reference.md
	@# TMPDIR fixed: some flag defaults name the temporary directory.
	TMPDIR=/tmp $(GO) run ./hack/clidoc -o docs/user/cli-reference.md

.PHONY: previous-crds
previous-crds: ## record the CRDs of the last release (PREVIOUS_RELEASE=<tag or commit>) in config/crd/testdata/previous, for the upgrade test; run at each release
	@test -n "$(PREVIOUS_RELEASE)" || { echo "set PREVIOUS_RELEASE to the last release's tag or commit" >&2; exit 1; }
	@commit=$$(git rev-parse --verify "$(PREVIOUS_RELEASE)^{commit}") && \
	rm -f config/crd/testdata/previous/soll.dev_*.yaml && \
	for f in $$(git ls-tree --name-only "$$commit" config/crd/ | grep '/soll\.dev_.*\.yaml$$'); do \
		git show "$$commit:$$f" > config/crd/testdata/previous/$${f##*/} || exit 1; \
	done && \
	sed -i "s/^Recorded from commit .*/Recorded from commit $$commit ($(PREVIOUS_RELEASE))./" config/crd/testdata/previous/README.md && \
	echo "config/crd/testdata/previous: CRDs of $(PREVIOUS_RELEASE) ($$commit)"

.PHONY: verify
verify: ## fail when generated code or go.mod files are stale, or code is unformatted
	hack/verify.sh

.PHONY: lint
lint: ## gofmt, go vet and golangci-lint (.golangci.yml: errcheck, staticcheck, unused, the import rules, ...) over all modules
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed on:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	$(GO) -C localcluster vet ./...
	$(GOLANGCI_LINT) run ./...
	@# The second module is linted from its own directory (golangci-lint
	@# lints one module at a time) with the same .golangci.yml, found in
	@# the parent; reported paths stay relative to the repository root.
	cd localcluster && $(GOLANGCI_LINT) run ./...

.PHONY: vulncheck
vulncheck: ## report vulnerabilities soll's code reaches (govulncheck, database from golang.org/x/vulndb); fails on those of required modules
	$(GO) run ./hack/vulncheck $(VULNCHECK_FLAGS) ./...

.PHONY: fuzz
fuzz: ## run each fuzz test for FUZZTIME (default 5s; FUZZTIME=10m to explore locally)
	hack/fuzz.sh $(FUZZTIME)

.PHONY: cluster-build
cluster-build: ## build the local cluster's binaries (cached)
	$(LOCALCLUSTER) build

.PHONY: cluster-up
cluster-up: ## start a local cluster in CLUSTER_DIR (kubeconfig: CLUSTER_DIR/kubeconfig)
	$(LOCALCLUSTER) up --dir $(abspath $(CLUSTER_DIR)) --nodes $(NODES)

.PHONY: cluster-down
cluster-down: ## stop the local cluster in CLUSTER_DIR and remove its state
	$(LOCALCLUSTER) down --dir $(abspath $(CLUSTER_DIR))

.PHONY: cluster-status
cluster-status: ## show the state of the local cluster in CLUSTER_DIR
	$(LOCALCLUSTER) status --dir $(abspath $(CLUSTER_DIR))

.PHONY: demo
demo: build ## the local cluster with the WordPress example synced by soll (DEMO_EXIT_AFTER_SCENARIO=1 to exit after it)
	$(GO) run ./hack/demo

.PHONY: bench-ui
bench-ui: build ## measure the web UI in Chromium with 10,000 apps on a private local cluster (BENCH_UI_FLAGS="-apps 1000" for a quick run)
	$(GO) run ./hack/benchui -soll-bin $(BIN_DIR)/soll $(BENCH_UI_FLAGS)

.PHONY: bench
bench: build ## benchmark soll against a plain client on a private local cluster (BENCH_FLAGS="-apps 50" for a quick run)
	$(GO) run ./hack/bench -soll-bin $(BIN_DIR)/soll $(BENCH_FLAGS)

.PHONY: test
test: ## run all tests (unit, integration on a local cluster, end-to-end)
	hack/test.sh $(TEST_FLAGS)
