package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/dynamo"
	"github.com/closeloop/closeloop/shared/helpdesk"
	"github.com/closeloop/closeloop/shared/local/devstack"
	"github.com/closeloop/closeloop/shared/local/lambdatest"
	"github.com/closeloop/closeloop/shared/local/localaws"
)

// coldRuns is how many times each binary starts; runs of the functions and
// of the baseline alternate, so machine noise hits both alike.
const coldRuns = 51

var samples = map[string]string{
	"webhook": "generic-solved.json", "api": "api-metrics.json", "response": "response-get.json",
	"survey-sweep": "survey-sweep-tick.json", "closing": "closing-announce.json", "ses-events": "ses-events-bounce.json", "digest": "digest-tick.json",
}

func coldStarts(ctx context.Context, rep *Report, root, bins string, srv *localaws.Servers) error {
	db := devstack.Env(closeloop.Config{}, srv.DynamoDB, srv.SES).DynamoDB()
	table := fmt.Sprintf("bench%d", time.Now().UnixNano())
	if err := dynamo.CreateTable(ctx, db, table); err != nil {
		return err
	}
	env := []string{
		"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local", "AWS_EC2_METADATA_DISABLED=true",
		"AWS_ENDPOINT_URL_DYNAMODB=" + srv.DynamoDB, "AWS_ENDPOINT_URL_SESV2=" + srv.SES,
		"CLOSELOOP_TABLE=" + table, "CLOSELOOP_ADMIN_TOKEN=bench", "CLOSELOOP_SECRET_GENERIC=bench-secret", "CLOSELOOP_CONTACT_KEY=bench-contact-key-0123456789abcdef0123",
		"CLOSELOOP_CLOSING_QUEUE_URL=https://sqs.us-east-1.amazonaws.com/123456789012/closing",
	}
	names := append([]string{"hello"}, functionNames(bins)...)
	payloads := map[string][]byte{"hello": []byte(`{}`)}
	for _, fn := range names[1:] {
		p, err := payload(root, fn)
		if err != nil {
			return err
		}
		payloads[fn] = p
	}
	initTimes := map[string][]time.Duration{}
	firstTimes := map[string][]time.Duration{}
	for i := 0; i < coldRuns; i++ {
		for _, name := range names {
			if name == "webhook" { // a fresh signature each time: the replay window is 5 minutes
				payloads[name], _ = payload(root, name)
			}
			in, first, err := coldStart(ctx, filepath.Join(bins, runtime.GOARCH, name), env, payloads[name])
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			initTimes[name] = append(initTimes[name], in)
			firstTimes[name] = append(firstTimes[name], first)
		}
	}
	// What init spends its time on: each package's init, as the Go
	// runtime reports it (GODEBUG=inittrace=1), the median of traceRuns
	// runs for each package (one run's figures move by half of hello's).
	pkgInit := map[string]initTrace{}
	for _, name := range names {
		var traces []string
		for range traceRuns {
			var trace strings.Builder
			if _, _, err := coldStartTraced(ctx, filepath.Join(bins, runtime.GOARCH, name), append(env, "GODEBUG=inittrace=1"), payloads[name], &trace); err == nil {
				traces = append(traces, trace.String())
			}
		}
		if len(traces) > 0 {
			pkgInit[name] = parseInitTraces(traces)
		}
	}
	hi, hf := median(initTimes["hello"]), median(firstTimes["hello"])
	rep.add(Figure{Section: "cold", Name: "hello-world: start → first /next, start → first response (medians)", Value: fmt.Sprintf("%v, %v (baseline)", hi.Round(10*time.Microsecond), hf.Round(10*time.Microsecond))})
	for _, fn := range names[1:] {
		ri := float64(median(initTimes[fn])) / float64(hi)
		rf := float64(median(firstTimes[fn])) / float64(hf)
		f := Figure{Section: "cold", Name: fn + ": init / hello init", Value: fmt.Sprintf("%.2f× (first response %.2f× hello's, which includes the function's own work)", ri, rf),
			Target: "≤ 1.3×", Holds: holds(ri <= 1.3)}
		if t, ok := pkgInit[fn]; ok && ri > 1.3 {
			extra := float64(median(initTimes[fn])-hi) / float64(time.Millisecond)
			f.Note = fmt.Sprintf("%.0f%% over; of its %.2f ms more than hello's init, %.2f ms is its packages' init (%.2f ms against hello's %.2f ms), and %.2f ms of that the AWS SDK's, %.2f ms of it the service clients' endpoint tables (each client's package compiles its regions' regular expressions at start); the rest is its own start: configuration, secrets, clients",
				100*(ri-1.3)/1.3, extra, t.total-pkgInit["hello"].total, t.total, pkgInit["hello"].total, t.sdk, t.endpoints) +
				"; the endpoint tables belong to the SDK's older endpoint resolver, which no client here calls, but run because their packages are imported, and go build refuses an overlay of a file in the module cache, so making them lazy takes a patched copy of each of the four service modules (a fork, through replace or vendoring), to keep up with every SDK release"
			if fn == "api" {
				f.Note += ", and the routes of the API and the console (net/http's ServeMux looks up the caller's file and line of each route it registers: 0.2 to 0.3 ms measured)"
			}
		}
		rep.add(f)
	}
	return nil
}

// initTrace sums a binary's package inits, in milliseconds: all, the AWS
// SDK's (with smithy-go), and of those the service clients' endpoint
// tables (and schemas, should a service module with them come back: see
// TestLambdasBuildNoSchemaTables).
type initTrace struct{ total, sdk, endpoints float64 }

// traceRuns is how many traced starts of each binary the package init
// figures take their medians from.
const traceRuns = 9

// parseInitTraces sums the package inits of several runs' traces, each
// package at its median time over the runs.
func parseInitTraces(traces []string) initTrace {
	per := map[string][]time.Duration{}
	for _, tr := range traces {
		for pkg, d := range packageInits(tr) {
			per[pkg] = append(per[pkg], d)
		}
	}
	var t initTrace
	for pkg, ds := range per {
		ms := float64(median(ds)) / float64(time.Millisecond)
		t.total += ms
		if strings.Contains(pkg, "github.com/aws/aws-sdk-go-v2") || strings.Contains(pkg, "github.com/aws/smithy-go") {
			t.sdk += ms
			if strings.HasSuffix(pkg, "/schemas") || strings.HasSuffix(pkg, "/internal/endpoints") {
				t.endpoints += ms
			}
		}
	}
	return t
}

// packageInits reads GODEBUG=inittrace=1 lines, "init <package> @<start>
// ms, <clock> ms clock, <bytes> bytes, <n> allocs": each package's init.
func packageInits(trace string) map[string]time.Duration {
	out := map[string]time.Duration{}
	for _, line := range strings.Split(trace, "\n") {
		f := strings.Fields(line)
		if len(f) < 7 || f[0] != "init" || f[6] != "clock," {
			continue
		}
		ms, err := strconv.ParseFloat(f[4], 64)
		if err != nil {
			continue
		}
		out[f[1]] += time.Duration(ms * float64(time.Millisecond))
	}
	return out
}

// coldStart starts the binary, waits for its first /invocation/next (the
// end of init), invokes it once and stops it.
func coldStart(ctx context.Context, bin string, env []string, payload []byte) (initDone, firstResponse time.Duration, err error) {
	return coldStartTraced(ctx, bin, env, payload, io.Discard)
}

// coldStartTraced is coldStart with the binary's standard error to stderr.
func coldStartTraced(ctx context.Context, bin string, env []string, payload []byte, stderr io.Writer) (initDone, firstResponse time.Duration, err error) {
	rt := lambdatest.New()
	defer rt.Close()
	start := time.Now()
	cmd, err := rt.Start(bin, env, stderr)
	if err != nil {
		return 0, 0, err
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	res, err := rt.Invoke(ctx, payload)
	if err != nil {
		return 0, 0, err
	}
	firstResponse = time.Since(start)
	if res.IsError {
		return 0, 0, fmt.Errorf("function error: %s", res.Payload)
	}
	return rt.FirstNext().Sub(start), firstResponse, nil
}

func payload(root, fn string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(root, "events", samples[fn]))
	if err != nil {
		return nil, err
	}
	if fn != "webhook" && fn != "api" {
		return b, nil
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(b, &ev); err != nil {
		return nil, err
	}
	if fn == "api" {
		ev.Headers["authorization"] = "Bearer bench"
	} else {
		src := strings.TrimPrefix(ev.RawPath, "/webhooks/")
		ev.Headers, err = helpdesk.Resign(src, "bench-secret", "https://"+ev.RequestContext.DomainName+ev.RawPath, ev.Headers, []byte(ev.Body), time.Now())
		if err != nil {
			return nil, err
		}
	}
	return json.Marshal(ev)
}
