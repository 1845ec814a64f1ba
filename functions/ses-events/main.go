// Command ses-events is the SQS-triggered Lambda that suppresses addresses
// SES reports as bouncing or complaining.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/closeloop/closeloop/shared/fn/sesevents"
	"github.com/closeloop/closeloop/shared/platform/boot"
	"github.com/closeloop/closeloop/shared/platform/logging"
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
	lambda.Start(sesevents.New(env.Store()).Handle)
	return nil
}
