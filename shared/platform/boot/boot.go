// Package boot is what every Lambda does first: build the AWS configuration
// once, read the secrets named by CLOSELOOP_SECRET_ID where the function
// needs them, and parse Closeloop's configuration. The same Env builds the
// clients for every function and for the local dev server: the store here,
// the SES sender in package mail (mail.FromEnv) and the closing queue in
// package queue (queue.ClosingFromEnv), so a function links only the
// clients it uses and its main.go is only its own wiring.
package boot

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/dynamo"
)

// Env is a started function's configuration and AWS clients' configuration.
type Env struct {
	Config closeloop.Config
	AWS    aws.Config
	Getenv func(string) string // with secrets overlaid
}

// Overlay changes where configuration comes from, e.g. secrets.FromAWS,
// which reads Secrets Manager. Only the functions that need secrets pass one,
// so the others do not link (or start) the Secrets Manager client.
type Overlay func(ctx context.Context, cfg aws.Config, getenv func(string) string) (func(string) string, error)

// RequireContactKey is an Overlay for the functions that turn addresses into
// contact ids (webhook, api, ses-events): list it after the secrets, and a
// function without CLOSELOOP_CONTACT_KEY stops at start, naming it, rather
// than failing every request.
func RequireContactKey(_ context.Context, _ aws.Config, getenv func(string) string) (func(string) string, error) {
	if getenv("CLOSELOOP_CONTACT_KEY") == "" {
		return nil, closeloop.ErrNoContactKey
	}
	return getenv, nil
}

// Load builds the AWS configuration, applies overlays to getenv in order,
// and parses the configuration.
func Load(ctx context.Context, getenv func(string) string, overlays ...Overlay) (Env, error) {
	awsCfg, err := AWSConfig(getenv)
	if err != nil {
		return Env{}, err
	}
	for _, o := range overlays {
		if getenv, err = o(ctx, awsCfg, getenv); err != nil {
			return Env{}, err
		}
	}
	cfg, err := closeloop.LoadConfig(getenv)
	if err != nil {
		return Env{}, err
	}
	return Env{Config: cfg, AWS: awsCfg, Getenv: getenv}, nil
}

// AWSConfig builds the SDK configuration from what Lambda puts in the
// environment: AWS_REGION and the execution role's credentials
// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), which stay
// valid for the life of the execution environment. It deliberately avoids
// config.LoadDefaultConfig, whose shared-file, SSO and STS machinery a
// Lambda never uses and which makes every bootstrap larger and slower to
// start (bench/results.md).
func AWSConfig(getenv func(string) string) (aws.Config, error) {
	region := getenv("AWS_REGION")
	if region == "" {
		return aws.Config{}, fmt.Errorf("AWS_REGION is not set")
	}
	id, secret := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY")
	if id == "" || secret == "" {
		return aws.Config{}, fmt.Errorf("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set")
	}
	return aws.Config{
		Region:      region,
		Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(id, secret, getenv("AWS_SESSION_TOKEN"))),
	}, nil
}

// Endpoint returns the endpoint override for service from
// AWS_ENDPOINT_URL_<SERVICE> or AWS_ENDPOINT_URL, as the SDK's shared
// configuration would, or nil for the service's own endpoint. Tests point
// the functions at local servers with it.
func Endpoint(getenv func(string) string, service string) *string {
	for _, k := range []string{"AWS_ENDPOINT_URL_" + service, "AWS_ENDPOINT_URL"} {
		if v := getenv(k); v != "" {
			return &v
		}
	}
	return nil
}

// DynamoDB returns a DynamoDB client. It retries as DynamoDB's client does
// by default from the SDK release that turned on schema-based
// serialization: 4 attempts, 25 ms base delay (the release held in go.mod
// makes 3 with 50 ms unless told).
func (e Env) DynamoDB() *dynamodb.Client {
	return dynamodb.NewFromConfig(e.AWS, func(o *dynamodb.Options) {
		o.BaseEndpoint = Endpoint(e.Getenv, "DYNAMODB")
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) { so.MaxAttempts, so.BaseDelay = 4, 25*time.Millisecond })
	})
}

// Store returns the DynamoDB store of the configured table, keyed
// with the contact key, where the function has one, counting days in the
// team's zone.
func (e Env) Store() *dynamo.Store {
	s := dynamo.NewStore(dynamo.FromSDK(e.DynamoDB()), e.Config.Table)
	s.Key = e.Config.ContactKey
	s.Zone = e.Config.TimeZone
	return s
}
