// Package boot is what every Lambda does first: load the AWS configuration
// once, read the secrets named by CLOSELOOP_SECRET_ID, and parse Closeloop's
// configuration, so a function's main.go is only its own wiring.
package boot

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/dynamo"
	"github.com/closeloop/closeloop/shared/mail"
	"github.com/closeloop/closeloop/shared/secrets"
)

// Env is a started function's configuration and AWS clients' configuration.
type Env struct {
	Config closeloop.Config
	AWS    aws.Config
	Getenv func(string) string // with secrets overlaid
}

// Load sets JSON logging, loads the AWS configuration, overlays the secret
// named by CLOSELOOP_SECRET_ID (if set) on getenv, and parses the
// configuration.
func Load(ctx context.Context, getenv func(string) string) (Env, error) {
	slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stdout, nil)))
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return Env{}, fmt.Errorf("load AWS config: %w", err)
	}
	if id := getenv("CLOSELOOP_SECRET_ID"); id != "" {
		if getenv, err = secrets.Overlay(ctx, secretsmanager.NewFromConfig(awsCfg), id, getenv); err != nil {
			return Env{}, err
		}
	}
	cfg, err := closeloop.LoadConfig(getenv)
	if err != nil {
		return Env{}, err
	}
	return Env{Config: cfg, AWS: awsCfg, Getenv: getenv}, nil
}

// Store returns the DynamoDB store of the configured table.
func (e Env) Store() *dynamo.Store {
	return dynamo.NewStore(dynamodb.NewFromConfig(e.AWS), e.Config.Table)
}

// Sender returns the SES sender from the configured address, in the
// configuration set named by CLOSELOOP_SES_CONFIGURATION_SET, at most
// perSecond emails a second.
func (e Env) Sender(perSecond float64) *mail.Sender {
	return mail.NewSender(sesv2.NewFromConfig(e.AWS), e.Config.From, e.Getenv("CLOSELOOP_SES_CONFIGURATION_SET"), perSecond)
}
