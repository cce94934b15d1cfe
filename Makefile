# The two commands a fresh machine needs are `go run ./cmd/render` and
# `make test`; everything else here is a shortcut or a part of them.
GO      ?= go
CLUSTER ?= polylab
# A count of inputs, not a duration: with a duration, go1.26's fuzzing
# coordinator can report its own deadline as a failure (go.dev/issue/75804,
# fixed in Go 1.27). FuzzBuild's seeds are whole clusters that render
# through the components and verification, so an input costs about 2 ms
# on average, three times what loader-only seeds did: 20,000 inputs took
# 15 to 46 s on 2 cores, 15,000 take 10 to 35 s, within a minute with the
# build.
FUZZTIME ?= 15000x
# The Nuclio function's tests run on Debian's Python, whose dist-packages
# hold the python3-pil and python3-yaml they import (a pyenv or venv python
# earlier in PATH would not see them).
FUNCTION_PYTHON ?= /usr/bin/python3

NODE    ?= node
NPM     ?= npm
# The Mermaid checker and renderer: a Node.js package pinned by its
# package-lock.json. npm ci installs it into tools/mermaid/node_modules
# (gitignored) when the lockfile is newer than the last install.
MERMAID      := tools/mermaid
MERMAID_DEPS := $(MERMAID)/node_modules/.installed
# The Markdown files make pictures draws: the cluster README and the picture
# a pull request's comment draws for a flow change (written by a test of
# pkg/render/review); DIAGRAMS='a.md b.mmd' for others.
DIAGRAMS ?= clusters/$(CLUSTER)/README.md $(wildcard pkg/render/review/testdata/picture.$(CLUSTER).md)

.PHONY: all render check charts test unit fuzz lint tools e2e bench function-test mermaid-deps mermaid-check pictures pictures-check

all: test

## render: render cue/clusters/$(CLUSTER) into clusters/$(CLUSTER)
render:
	$(GO) run ./cmd/render -cluster $(CLUSTER)

## check: fail if clusters/$(CLUSTER) differs from a fresh render
check:
	$(GO) run ./cmd/render -cluster $(CLUSTER) -check

## charts: render every HelmRelease of clusters/$(CLUSTER) with its real chart and check the model against what the charts run (pulls what the chart cache lacks: needs the network, and records new charts in charts.sum)
charts:
	$(GO) run ./cmd/render-charts -cluster $(CLUSTER)

## test: lint, unit and script tests, a short fuzz run, the render check, the function's tests, the Mermaid check
test: lint unit fuzz check function-test mermaid-check

# internal/mermaid's tests run the Mermaid checker.
unit: $(MERMAID_DEPS)
	$(GO) test ./...
	$(GO) test -race -run 'TestConcurrentBuilds|TestIdempotent' ./pkg/render/verify ./pkg/render

fuzz:
	$(GO) test ./pkg/render -run '^$$' -fuzz '^FuzzBuild$$' -fuzztime $(FUZZTIME)

## tools: Debian packages the tests need (shellcheck, nft, GNU time)
tools:
	hack/ensure-tools.sh shellcheck nftables time:/usr/bin/time

## lint: gofmt, go vet, cue fmt and cue vet, shellcheck
lint: tools
	@out=$$(gofmt -l $$(git ls-files -co --exclude-standard '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@# Both modules tidy: the e2e module requires this one, so a new
	@# dependency here changes its go.mod too, which make e2e would refuse.
	$(GO) mod tidy -diff
	cd e2e && $(GO) mod tidy -diff
	cd cue && $(GO) tool cue fmt --check ./...
	cd cue && $(GO) tool cue vet -c ./...
	shellcheck bootstrap/*.sh hack/*.sh

## e2e: Flux reconciles the rendered tree onto a real API server (see e2e/README.md)
e2e:
	cd e2e && $(GO) test ./... -count=1 -timeout 60m

## bench: benchmarks of every render stage (see README, Performance)
bench: tools
	$(GO) test ./pkg/render/... -run '^$$' -bench . -benchmem

## function-test: the YOLO11x Nuclio function's tests (no GPU, weights, torch or ultralytics)
function-test:
	hack/ensure-tools.sh python3:$(FUNCTION_PYTHON) python3-pil:/usr/lib/python3/dist-packages/PIL python3-yaml:/usr/lib/python3/dist-packages/yaml
	cd functions/yolo11x-cvat-detector-gpu && PYTHONDONTWRITEBYTECODE=1 $(FUNCTION_PYTHON) -m unittest

## mermaid-deps: Node.js 20.19+ and the Mermaid tool's packages (npm ci)
mermaid-deps: $(MERMAID_DEPS)

$(MERMAID_DEPS): $(MERMAID)/package.json $(MERMAID)/package-lock.json
	hack/ensure-tools.sh 'node>=20.19' 'npm>=7'
	cd $(MERMAID) && $(NPM) ci
	touch $@

## mermaid-check: every Mermaid block of the repository's Markdown parses with Mermaid's own parser (no browser)
mermaid-check: $(MERMAID_DEPS)
	cd $(MERMAID) && $(NODE) --test --test-reporter=spec test/*.test.mjs
	$(NODE) $(MERMAID)/check.mjs $$(git ls-files -co --exclude-standard '*.md' ':!:$(MERMAID)/test')

## pictures: draw the diagrams of $(DIAGRAMS) (the cluster README's, a pull request's picture) in headless Chromium into docs/pictures (SVG, PNG) and print their sizes
pictures: $(MERMAID_DEPS)
	hack/ensure-tools.sh chromium fonts-liberation2:/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf
	cd $(MERMAID) && $(NODE) --test --test-reporter=spec test/render.chromium.mjs
	$(NODE) $(MERMAID)/render.mjs --out docs/pictures $(DIAGRAMS)

## pictures-check: docs/pictures holds a picture of each diagram of $(DIAGRAMS) as it is now (no browser)
pictures-check: $(MERMAID_DEPS)
	$(NODE) $(MERMAID)/check.mjs --pictures docs/pictures $(DIAGRAMS)
