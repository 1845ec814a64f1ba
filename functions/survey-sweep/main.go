// Command survey-sweep is the scheduled Lambda that sends due surveys.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/closeloop/closeloop/shared/fn/surveysweep"
	"github.com/closeloop/closeloop/shared/mail"
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
	env, err := boot.Load(ctx, getenv, secrets.FromAWS, boot.RequireContactKey) // helpdesk API credentials; the contact key for look-ups and unsubscribe links
	if err != nil {
		return err
	}
	store := env.Store() // one client for the handler and its share of the sending rate
	lambda.Start(surveysweep.New(env.Config, store, mail.FromEnv(env, store)).Run)
	return nil
}
