// Package secrets reads Closeloop's secret configuration from AWS Secrets
// Manager, so that no secret lives in code, environment variables or stack
// outputs. The secret is one JSON object whose keys are the same names the
// local environment uses (CLOSELOOP_ADMIN_TOKEN, CLOSELOOP_SECRET_ZENDESK, …).
package secrets

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/closeloop/closeloop/shared/closeloop"
)

// Client is the part of the Secrets Manager SDK client used here.
type Client interface {
	GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// FromAWS is a boot.Overlay: when CLOSELOOP_SECRET_ID is set (one secret's
// id or ARN, or several separated by commas), it reads those secrets from
// Secrets Manager (endpoint override AWS_ENDPOINT_URL_SECRETS_MANAGER) and
// answers CLOSELOOP_* names from them first, the first secret first.
func FromAWS(ctx context.Context, cfg aws.Config, getenv func(string) string) (func(string) string, error) {
	id := getenv("CLOSELOOP_SECRET_ID")
	if id == "" {
		return getenv, nil
	}
	c := secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) {
		for _, k := range []string{"AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_ENDPOINT_URL"} {
			if v := getenv(k); v != "" {
				o.BaseEndpoint = &v
				return
			}
		}
	})
	// A method value, not the client: an interface holding
	// *secretsmanager.Client would link all of its operations into every
	// function that renders a template (see dynamo.SDK).
	return OverlayAll(ctx, getSecretValue(c.GetSecretValue), id, getenv)
}

// OverlayAll is Overlay for a comma-separated list of secret ids: names are
// answered from the first secret that has them, then from getenv.
func OverlayAll(ctx context.Context, c Client, ids string, getenv func(string) string) (func(string) string, error) {
	list := strings.Split(ids, ",")
	for i := len(list) - 1; i >= 0; i-- {
		var err error
		if getenv, err = Overlay(ctx, c, strings.TrimSpace(list[i]), getenv); err != nil {
			return nil, err
		}
	}
	return getenv, nil
}

// Overlay returns a getenv that answers CLOSELOOP_* names from secret id
// first and from getenv otherwise. Call it once, at start. Keys outside
// CLOSELOOP_* are refused so a secret cannot change unrelated settings.
func Overlay(ctx context.Context, c Client, id string, getenv func(string) string) (func(string) string, error) {
	out, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &id})
	if err != nil {
		return nil, fmt.Errorf("read secret %s: %w", id, err)
	}
	vals, err := Parse(aws.ToString(out.SecretString))
	if err != nil {
		return nil, fmt.Errorf("read secret %s: %w", id, err)
	}
	return func(k string) string {
		if v, ok := vals[k]; ok && v != "" {
			return v
		}
		return getenv(k)
	}, nil
}

// Parse reads a secret's JSON object of CLOSELOOP_* names to strings.
func Parse(s string) (map[string]string, error) {
	var vals map[string]string
	if err := json.Unmarshal([]byte(s), &vals); err != nil {
		return nil, fmt.Errorf("secret is not a JSON object of strings: %w", err)
	}
	delete(vals, closeloop.SecretPlaceholder) // the stack's generated placeholder: no variable
	for k := range vals {
		if !strings.HasPrefix(k, "CLOSELOOP_") {
			return nil, fmt.Errorf("secret key %q is not a CLOSELOOP_ name", k)
		}
	}
	return vals, nil
}

// getSecretValue is a Client made of the one operation.
type getSecretValue func(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)

func (f getSecretValue) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, o ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	return f(ctx, in, o...)
}
