// Command response is the Lambda behind the customer pages: GET and POST
// /s/{token} (survey page and answer) and /u/{token} (unsubscribe).
package main

import (
	"context"
	"log/slog"
	"net/http"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/closeloop/closeloop/shared/fn/response"
	"github.com/closeloop/closeloop/shared/platform/boot"
	"github.com/closeloop/closeloop/shared/platform/lambdahttp"
	"github.com/closeloop/closeloop/shared/secrets"
	"github.com/closeloop/closeloop/shared/slack"
)

func main() {
	if err := run(context.Background(), os.Getenv); err != nil {
		slog.Error("start", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string) error {
	env, err := boot.Load(ctx, getenv, secrets.FromAWS)
	if err != nil {
		return err
	}
	h := &response.Handler{Store: env.Store()}
	if u := env.Config.AlertWebhookURL; u != "" {
		h.Alerter = slack.Slack{URL: u}
	}
	mux := http.NewServeMux()
	mux.Handle("/s/", h)
	mux.Handle("/u/", h)
	lambda.Start(lambdahttp.Handler(mux))
	return nil
}
