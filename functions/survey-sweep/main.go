// Command survey-sweep is the scheduled Lambda that sends due surveys.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/closeloop/closeloop/shared/fn/surveysweep"
	"github.com/closeloop/closeloop/shared/mail"
	"github.com/closeloop/closeloop/shared/platform/boot"
)

// sesRate is the sending rate the sweep keeps to: half of SES's default
// production quota of 14 emails a second; closing emails use the other half.
const sesRate = 7

func main() {
	if err := run(context.Background(), os.Getenv); err != nil {
		slog.Error("start", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string) error {
	env, err := boot.Load(ctx, getenv)
	if err != nil {
		return err
	}
	s := &surveysweep.Sweeper{
		Store: env.Store(), Mailer: mail.NewSender(sesv2.NewFromConfig(env.AWS, func(o *sesv2.Options) { o.BaseEndpoint = boot.Endpoint(env.Getenv, "SESV2") }),
			env.Config.From, env.Getenv("CLOSELOOP_SES_CONFIGURATION_SET"), sesRate),
		BaseURL: env.Config.BaseURL, FatigueWindow: env.Config.FatigueWindow,
	}
	lambda.Start(func(ctx context.Context) (surveysweep.Result, error) { return s.Run(ctx) })
	return nil
}
