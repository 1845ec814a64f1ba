// Command api is the Lambda behind /api and /console, the operators' side.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/closeloop/closeloop/shared/fn/api"
	"github.com/closeloop/closeloop/shared/mail"
	"github.com/closeloop/closeloop/shared/platform/boot"
	"github.com/closeloop/closeloop/shared/platform/lambdahttp"
	"github.com/closeloop/closeloop/shared/platform/logging"
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
	slog.SetDefault(logging.New(os.Stdout, getenv))
	env, err := boot.Load(ctx, getenv, secrets.FromAWS, boot.RequireContactKey)
	if err != nil {
		return err
	}
	store := env.Store() // one client for the handler and its share of the sending rate
	closingQueue, err := queue.ClosingFromEnv(env)
	if err != nil {
		return err
	}
	lambda.Start(lambdahttp.Handler(api.New(env.Config, store, closingQueue, mail.FromEnv(env, store), queue.DLQsFromEnv(env))))
	return nil
}
