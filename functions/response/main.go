// Command response is the Lambda behind the customer pages: GET and POST
// /s/{token} (survey page and answer) and /u/{token} (unsubscribe).
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/closeloop/closeloop/shared/fn/response"
	"github.com/closeloop/closeloop/shared/platform/boot"
	"github.com/closeloop/closeloop/shared/platform/lambdahttp"
	"github.com/closeloop/closeloop/shared/platform/logging"
	"github.com/closeloop/closeloop/shared/queue"
)

func main() {
	if err := run(context.Background(), os.Getenv); err != nil {
		slog.Error("start", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string) error {
	slog.SetDefault(logging.New(os.Stdout, getenv))
	// The survey page reads no secret: the public function must not hold
	// the admin token, the webhook secrets or the contact key (it checks
	// unsubscribe links with the public key the senders publish).
	env, err := boot.Load(ctx, getenv)
	if err != nil {
		return err
	}
	followUps, err := queue.ClosingFromEnv(env)
	if err != nil {
		return err
	}
	lambda.Start(lambdahttp.Handler(response.New(env.Config, env.Store(), followUps)))
	return nil
}
