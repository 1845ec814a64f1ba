// Command closing is the SQS-triggered Lambda that fans out improvements and
// sends "you said, we did" emails.
package main

import (
	"context"
	"errors"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/closeloop/closeloop/shared/fn/closing"
	"github.com/closeloop/closeloop/shared/mail"
	"github.com/closeloop/closeloop/shared/platform/boot"
	"github.com/closeloop/closeloop/shared/queue"
)

// sesRate is the sending rate of one instance. The stack runs at most two,
// and the sweep sends at 7/s: together they stay within SES's default
// production quota of 14 emails a second. Raise all three with the quota.
const sesRate = 3.5

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
	queueURL := env.Getenv("CLOSELOOP_CLOSING_QUEUE_URL")
	if queueURL == "" {
		return errors.New("CLOSELOOP_CLOSING_QUEUE_URL is not set")
	}
	h := &closing.Handler{
		Store: env.Store(), Mailer: mail.NewSender(sesv2.NewFromConfig(env.AWS, func(o *sesv2.Options) { o.BaseEndpoint = boot.Endpoint(env.Getenv, "SESV2") }),
			env.Config.From, env.Getenv("CLOSELOOP_SES_CONFIGURATION_SET"), sesRate), BaseURL: env.Config.BaseURL,
		Queue: queue.SQS{Client: sqs.NewFromConfig(env.AWS, func(o *sqs.Options) { o.BaseEndpoint = boot.Endpoint(env.Getenv, "SQS") }), URL: queueURL},
	}
	lambda.Start(h.Handle)
	return nil
}
