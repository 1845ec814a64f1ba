// Command api is the Lambda behind /api: the operators' JSON API.
package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/closeloop/closeloop/shared/fn/api"
	"github.com/closeloop/closeloop/shared/platform/boot"
	"github.com/closeloop/closeloop/shared/platform/lambdahttp"
	"github.com/closeloop/closeloop/shared/queue"
	"github.com/closeloop/closeloop/shared/secrets"
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
	queueURL := env.Getenv("CLOSELOOP_CLOSING_QUEUE_URL")
	if queueURL == "" {
		return errors.New("CLOSELOOP_CLOSING_QUEUE_URL is not set")
	}
	mux := http.NewServeMux()
	mux.Handle("/api/", &api.Handler{
		Store:      env.Store(),
		Queue:      queue.SQS{Client: sqs.NewFromConfig(env.AWS, func(o *sqs.Options) { o.BaseEndpoint = boot.Endpoint(env.Getenv, "SQS") }), URL: queueURL},
		AdminToken: env.Config.AdminToken,
	})
	lambda.Start(lambdahttp.Handler(mux))
	return nil
}
