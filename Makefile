# Closeloop: `make demo` runs the whole loop locally, `make test` runs every
# test. Both install what they need first (npm packages, Go modules, and
# Debian's chromium for the browser tests).
SHELL := /bin/bash
.DEFAULT_GOAL := help

export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_CLI_TELEMETRY := true
GO        ?= go
FUNCTIONS := $(notdir $(wildcard functions/*))
BOOTSTRAPS := $(addsuffix /bootstrap,$(addprefix build/,$(FUNCTIONS)))
CDK       := node_modules/.bin/cdk
CDK_ARGS  ?=
SUDO      := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.6.1

.PHONY: help deps demo demo-stop dev test test-go overlay test-infra contract build bench bench-record fuzz load synth deploy lint clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

.go-mod-downloaded: go.mod go.sum
	$(GO) mod download
	@touch $@

/usr/bin/chromium:
	@echo "installing Debian's chromium for the browser tests"
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null

deps: node_modules/.installed .go-mod-downloaded ## install npm packages and Go modules

demo: deps ## run the whole loop locally and print each step (the mail page stays up)
	$(GO) run ./cmd/closeloop demo --keep-mail

demo-stop: ## stop the mail page a demo left running
	@# only while the recorded pid still names the mail server: a stale one may be anyone's
	@if [ -f build/demo-mail.pid ]; then pid=$$(cat build/demo-mail.pid); \
	  if ps -o args= -p $$pid 2>/dev/null | grep -q aws-ses-v2-local; then kill -- -$$pid 2>/dev/null || true; echo stopped; fi; \
	  rm -f build/demo-mail.pid; fi

dev: deps ## run the local stack until Ctrl-C (api on 127.0.0.1:8787)
	$(GO) run ./cmd/closeloop dev

test: deps /usr/bin/chromium lint-quick test-go test-infra synth lint-template contract ## run every test (unit, integration, browser, CDK, synth, contract)

lint-quick:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './node_modules/*')); \
	  if [ -n "$$out" ]; then echo "gofmt would change: $$out"; exit 1; fi
	$(GO) vet ./...

# OVERLAY is text/template as the bootstraps build it (shared/local/lambdabuild):
# every test, benchmark and fuzzer runs with it, so a template that calls a
# method fails here, not in AWS.
OVERLAY := build/_overlay/overlay.json

overlay: .go-mod-downloaded
	@GO=$(GO) $(GO) run ./cmd/lambdabuild -overlay build/_overlay >/dev/null

test-go: deps overlay
	$(GO) test -overlay $(OVERLAY) -race -count=1 ./...
	@echo "every benchmark once, so they keep compiling and passing (make bench measures)"
	$(GO) test -overlay $(OVERLAY) -count=1 -run '^$$' -bench . -benchtime 1x ./shared/...
	$(MAKE) --no-print-directory fuzz FUZZTIME=3s

test-infra: deps
	cd infra && $(GO) mod download && $(GO) test -count=1 ./...

contract: deps ## walk the local contract from outside (../shared/contract/smoke)
	@if [ -x ../shared/contract/smoke ]; then ../shared/contract/smoke; else echo "no ../shared/contract/smoke beside the checkout; skipped"; fi

build: $(BOOTSTRAPS) ## build every function to build/<fn>/bootstrap (linux/arm64)

build/%/bootstrap: .go-mod-downloaded $(shell find functions shared -name '*.go' -o -name '*.html' -o -name '*.txt' 2>/dev/null) cmd/lambdabuild/main.go go.mod go.sum
	GO=$(GO) $(GO) run ./cmd/lambdabuild -o $@ ./functions/$*

bench: deps build ## measure speed, size and cost (writes build/bench/results.md; ARGS=-only=quota,fanout runs some sections)
	$(GO) run ./bench $(ARGS)

bench-record: deps build ## run the benchmarks and record the results in bench/results.md
	$(GO) run ./bench -out bench

synth: deps build ## synthesize the CloudFormation template (no AWS credentials needed)
	$(CDK) synth --quiet --no-notices $(CDK_ARGS)

# A production stage's context, to synthesize and lint what a first
# production deploy would (no AWS credentials needed).
PROD_CONTEXT := -c stage=prod -c "sender=Acme Support <feedback@acme.com>" -c alarmEmail=ops@acme.com \
  -c domainName=feedback.acme.com -c certificateArn=arn:aws:acm:eu-west-1:123456789012:certificate/0f1e2d3c \
  -c hostedZoneId=Z0123456789ABCDEFGHIJ -c hostedZoneName=acme.com -c alertEmail=team@acme.com

lint-template: synth ## cfn-lint the synthesized template and a production stage's: any error fails, warnings are listed
	@lint=$$(command -v cfn-lint || ls $(HOME)/.pyenv/versions/*/bin/cfn-lint $(HOME)/.local/bin/cfn-lint 2>/dev/null | head -1); \
	if [ -z "$$lint" ]; then python3 -m pip install --user --quiet cfn-lint && lint=$(HOME)/.local/bin/cfn-lint || \
	  { echo "cfn-lint is not installed and pip could not install it: pip install cfn-lint"; exit 1; }; fi; \
	$(CDK) synth --quiet --no-notices -o build/cdk.out.prod $(PROD_CONTEXT) 2>/dev/null || exit 1; \
	for t in cdk.out/*.template.json build/cdk.out.prod/*.template.json; do \
	  $$lint --format parseable "$$t"; rc=$$?; \
	  if [ $$((rc & 3)) -ne 0 ]; then echo "cfn-lint: errors in $$t"; exit 1; fi; echo "cfn-lint: no errors in $$t"; done

deploy: deps build ## deploy the stack to the account of your AWS credentials (CDK_ARGS="-c sender=…")
	$(CDK) deploy --no-notices $(CDK_ARGS)

# Fuzzers as package:Function; make test runs each for 3 s, make fuzz for FUZZTIME.
FUZZERS  := ./shared/helpdesk:FuzzParse ./shared/helpdesk:FuzzNormalizeEmail ./shared/helpdesk:FuzzLookupAnswers ./shared/fn/response:FuzzSurveyForm \
            ./shared/fn/api:FuzzAPIBodies ./shared/fn/api:FuzzConsoleForms \
            ./shared/closeloop:FuzzParseCSV ./shared/closeloop:FuzzParseDelighted
FUZZTIME ?= 60s

fuzz: deps overlay ## run every fuzzer for FUZZTIME each (default 60s; make test runs them for 3s)
	@for f in $(FUZZERS); do pkg=$${f%%:*}; name=$${f##*:}; echo "fuzz $$name ($(FUZZTIME))"; \
	  $(GO) test -overlay $(OVERLAY) -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; done

load: deps ## the full-size load test: 5,000 deliveries for 3,000 tickets with faults (make test runs 500)
	CLOSELOOP_LOAD=full $(GO) test -count=1 -run '^TestLoad$$' -v ./shared/local/loadtest | grep -v '^20'

lint: deps ## gofmt, go vet and staticcheck
	$(MAKE) lint-quick
	$(GO) run $(STATICCHECK) ./...
	cd infra && $(GO) vet ./...

clean: ## remove build output
	rm -rf build cdk.out infra/cdk.out .go-mod-downloaded cdk.context.json infra/infra cmd/closeloop/closeloop bench/bench
	find . -name '*.test' -not -path './node_modules/*' -delete
