package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/helpdesk"
	"github.com/closeloop/closeloop/shared/local/devstack"
	"github.com/closeloop/closeloop/shared/platform/lambdahttp"
)

// httpFunctions are the functions behind API Gateway routes.
var httpFunctions = map[string]bool{"webhook": true, "response": true, "api": true}

// invoke runs one function's handler on a sample event file, against the
// local servers (started for the call unless CLOSELOOP_DYNAMODB_ENDPOINT and
// CLOSELOOP_SES_ENDPOINT name running ones), and prints its output as the
// Lambda would return it. Webhook samples carry placeholder signatures: they
// are re-signed with CLOSELOOP_SECRET_<SOURCE> (a throwaway secret when unset).
func invoke(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) != 2 {
		return usageError("usage: closeloop invoke FUNCTION EVENT.json (functions: webhook, survey-sweep, response, api, closing, ses-events, digest)")
	}
	fn, file := args[0], args[1]
	raw, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("read event: %w", err)
	}
	cfg, err := localConfig(getenv)
	if err != nil {
		return err
	}
	if cfg.AdminToken == "" {
		cfg.AdminToken = "invoke-admin-token"
	}
	for _, s := range closeloop.Sources {
		if cfg.Secrets[s] == "" {
			cfg.Secrets[s] = randomToken()
		}
	}
	switch fn {
	case "webhook", "response", "api", "survey-sweep", "closing", "ses-events", "digest":
	default:
		return fmt.Errorf("unknown function %q (functions: webhook, survey-sweep, response, api, closing, ses-events, digest)", fn)
	}
	st, err := devstack.Start(ctx, devstack.Options{Config: cfg, DynamoDB: getenv("CLOSELOOP_DYNAMODB_ENDPOINT"), SES: getenv("CLOSELOOP_SES_ENDPOINT")})
	if err != nil {
		return err
	}
	defer st.Stop()
	out, err := invokeOn(ctx, st, fn, raw, stderr)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// invokeOn runs fn's handler over st on the raw event.
func invokeOn(ctx context.Context, st *devstack.Stack, fn string, raw []byte, stderr io.Writer) (any, error) {
	switch {
	case httpFunctions[fn]:
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, fmt.Errorf("%s takes an API Gateway HTTP API (v2) event: %w", fn, err)
		}
		if fn == "webhook" {
			src := ev.PathParameters["source"]
			if src == "" {
				src = strings.TrimPrefix(ev.RawPath, "/webhooks/")
			}
			uri := "https://" + ev.RequestContext.DomainName + ev.RawPath
			h, err := helpdesk.Resign(src, st.Config.Secrets[src], uri, ev.Headers, []byte(ev.Body), time.Now())
			if err != nil {
				return nil, err
			}
			ev.Headers = h
			fmt.Fprintf(stderr, "re-signed the %s sample with the current time\n", src)
		}
		if ev.Headers == nil {
			ev.Headers = map[string]string{}
		}
		if fn == "api" {
			ev.Headers["authorization"] = "Bearer " + st.Config.AdminToken
		}
		return lambdahttp.Handler(st.Handler)(ctx, ev)
	case fn == "survey-sweep":
		var ev events.EventBridgeEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, fmt.Errorf("survey-sweep takes an EventBridge scheduled event: %w", err)
		}
		return st.Sweeper.Run(ctx)
	case fn == "digest":
		var ev events.EventBridgeEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, fmt.Errorf("digest takes an EventBridge scheduled event: %w", err)
		}
		if !ev.Time.IsZero() {
			st.Digest.Now = func() time.Time { return ev.Time } // the event's time decides whether it is Monday morning
		}
		return st.Digest.Run(ctx)
	default:
		var ev events.SQSEvent
		if err := json.Unmarshal(raw, &ev); err != nil || len(ev.Records) == 0 {
			return nil, fmt.Errorf("%s takes an SQS event with at least one record", fn)
		}
		if fn == "closing" {
			return st.Closing.Handle(ctx, ev)
		}
		return st.SESEvents.Handle(ctx, ev)
	}
}
