// Command closing is the SQS-triggered Lambda that fans out improvements and
// sends "you said, we did" emails.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/closeloop/closeloop/shared/fn/closing"
	"github.com/closeloop/closeloop/shared/mail"
	"github.com/closeloop/closeloop/shared/platform/boot"
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
	// The Slack webhook for alerts, and the contact key that signs
	// unsubscribe links.
	env, err := boot.Load(ctx, getenv, secrets.FromAWS, boot.RequireContactKey)
	if err != nil {
		return err
	}
	store := env.Store() // one client for the handler and its share of the sending rate
	closingQueue, err := queue.ClosingFromEnv(env)
	if err != nil {
		return err
	}
	lambda.Start(closing.New(env.Config, store, mail.FromEnv(env, store), closingQueue).Handle)
	return nil
}
