// Command digest is the scheduled Lambda that emails the team's weekly
// digest on Monday morning in the team's zone.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/closeloop/closeloop/shared/fn/digest"
	"github.com/closeloop/closeloop/shared/mail"
	"github.com/closeloop/closeloop/shared/platform/boot"
	"github.com/closeloop/closeloop/shared/platform/logging"
)

func main() {
	if err := run(context.Background(), os.Getenv); err != nil {
		slog.Error("start", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string) error {
	slog.SetDefault(logging.New(os.Stdout, getenv))
	env, err := boot.Load(ctx, getenv)
	if err != nil {
		return err
	}
	store := env.Store() // one client for the handler and its share of the sending rate
	lambda.Start(digest.New(env.Config, store, mail.FromEnv(env, store)).Run)
	return nil
}
