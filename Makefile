# fumehood — run `make help` for the targets.
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)
GO ?= go
CORPUS ?= $(abspath $(CURDIR)/../shared/corpus)
export FUMEHOOD_CORPUS ?= $(CORPUS)

.PHONY: help setup deps build image test test-slow unit multihost generate check-generate bench eval-benign lint fmt

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

setup: ## install what is missing, start containerd and Redis, build the image, analyse a harmless sample
	deploy/setup.sh sample

deps: ## install what is missing, start containerd and Redis, build the binary and the image
	deploy/setup.sh deps

build: ## build bin/fumehood
	$(GO) build -o bin/fumehood ./cmd/fumehood

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)

image: ## build bin/fumehood-image.tar, the image the Kubernetes manifests run, and bin/sandbox-image.tar (root)
	@# static (no cgo): the binary needs nothing of the image's libraries; -trimpath: no checkout paths in it
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-X main.version=$(VERSION)" -o bin/fumehood ./cmd/fumehood
	bin/fumehood image app --sandbox bin/sandbox-image.tar bin/fumehood-image.tar
	@echo "Load it into each node's containerd (it is named fumehood.local/fumehood:latest):"
	@echo "  ctr -n k8s.io images import bin/fumehood-image.tar"
	@echo "or push it to a registry with an OCI tool and name that in deploy/kubernetes/*.yaml, e.g."
	@echo "  skopeo copy oci-archive:bin/fumehood-image.tar docker://REGISTRY/fumehood:$(VERSION)"
	@echo "Worker nodes also need bin/sandbox-image.tar as /var/cache/fumehood/sandbox-image.tar."

test: ## every test, root integration tests included (real containerd, eBPF, Redis); what CI runs
	deploy/test.sh

test-slow: ## every test on a machine slowed on purpose: half a core for the tests, half the sandbox CPU limit
	deploy/test-slow.sh

unit: ## the tests that need no root (integration tests skip outside CI)
	$(GO) test -count=1 ./...

multihost: ## a farm of two worker hosts (network namespaces) on its own Redis, PostgreSQL and S3, a host killed, the servers restarted (root)
	@# CI=true: a missing requirement fails the run instead of skipping it
	CI=true $(GO) test -count=1 -v -timeout 20m -run '^TestMultihost$$' ./internal/multihost -multihost

lint: ## gofmt, go vet, generated code up to date
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...

generate: ## regenerate the eBPF objects (needs clang)
	$(GO) generate ./bpf/...

check-generate: generate ## fail if the committed eBPF objects are stale
	git diff --exit-code -- bpf/

bench: build ## benchmarks, printed as ratios against baselines measured in the same run
	deploy/bench.sh

eval-benign: build ## the benign list of real packages through fumehood eval --specs (root, registry access): all must be benign
	bin/fumehood eval --state /run/fumehood-benign --specs evaluate/benign.txt
