package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
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
const coldRuns = 15

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
	hi, hf := median(initTimes["hello"]), median(firstTimes["hello"])
	rep.add(Figure{Section: "cold", Name: "hello-world: start → first /next, start → first response (medians)", Value: fmt.Sprintf("%v, %v (baseline)", hi.Round(10*time.Microsecond), hf.Round(10*time.Microsecond))})
	for _, fn := range names[1:] {
		ri := float64(median(initTimes[fn])) / float64(hi)
		rf := float64(median(firstTimes[fn])) / float64(hf)
		rep.add(Figure{Section: "cold", Name: fn + ": init / hello init", Value: fmt.Sprintf("%.2f× (first response %.2f× hello's, which includes the function's own work)", ri, rf),
			Target: "≤ 1.3×", Holds: holds(ri <= 1.3)})
	}
	return nil
}

// coldStart starts the binary, waits for its first /invocation/next (the
// end of init), invokes it once and stops it.
func coldStart(ctx context.Context, bin string, env []string, payload []byte) (initDone, firstResponse time.Duration, err error) {
	rt := lambdatest.New()
	defer rt.Close()
	start := time.Now()
	cmd, err := rt.Start(bin, env, io.Discard)
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
