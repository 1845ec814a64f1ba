package secrets

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/closeloop/closeloop/shared/closeloop"
)

type fake struct {
	value string
	err   error
}

func (f fake) GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(f.value)}, f.err
}

func TestOverlay(t *testing.T) {
	env := map[string]string{"CLOSELOOP_FROM": "env@example.com", "CLOSELOOP_SECRET_ZENDESK": "from-env", "CLOSELOOP_ADMIN_TOKEN": "env-token"}
	getenv := func(k string) string { return env[k] }
	got, err := Overlay(context.Background(), fake{value: `{"CLOSELOOP_ADMIN_TOKEN":"secret-token","CLOSELOOP_SECRET_ZENDESK":""}`}, "arn", getenv)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"CLOSELOOP_ADMIN_TOKEN": "secret-token", "CLOSELOOP_SECRET_ZENDESK": "from-env", "CLOSELOOP_FROM": "env@example.com", "CLOSELOOP_X": ""} {
		if got(k) != want {
			t.Errorf("%s = %q, want %q", k, got(k), want)
		}
	}
	if _, err := Overlay(context.Background(), fake{err: errors.New("denied")}, "arn", getenv); err == nil {
		t.Error("a read error must be returned")
	}
	for _, bad := range []string{`[]`, `{"PATH":"/evil"}`, `{"CLOSELOOP_X": 1}`, ``} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%s) accepted", bad)
		}
	}
}

// byID answers each secret id with its own value.
type byID map[string]string

func (b byID) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	v, ok := b[aws.ToString(in.SecretId)]
	if !ok {
		return nil, errors.New("no such secret")
	}
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(v)}, nil
}

// TestOverlayAll: the webhook and api functions read two secrets (the
// stack's and the contact key); the first listed wins a name both hold.
func TestOverlayAll(t *testing.T) {
	c := byID{
		"main": `{"CLOSELOOP_ADMIN_TOKEN":"main-token"}`,
		"key":  `{"CLOSELOOP_CONTACT_KEY":"k","CLOSELOOP_ADMIN_TOKEN":"key-token"}`,
	}
	got, err := OverlayAll(context.Background(), c, "main, key", func(k string) string { return "env-" + k })
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"CLOSELOOP_ADMIN_TOKEN": "main-token", "CLOSELOOP_CONTACT_KEY": "k", "CLOSELOOP_FROM": "env-CLOSELOOP_FROM"} {
		if got(k) != want {
			t.Errorf("%s = %q, want %q", k, got(k), want)
		}
	}
	if _, err := OverlayAll(context.Background(), c, "main,missing", func(string) string { return "" }); err == nil {
		t.Error("a missing secret must be an error")
	}
}

// TestTheStacksSecretsParse: a secret as the stack generates it (its
// variables empty, beside the generated placeholder closeloop.SecretPlaceholder)
// reads as its variables. The webhook, survey-sweep and closing functions
// stopped at start on it before.
func TestTheStacksSecretsParse(t *testing.T) {
	got, err := Parse(`{"CLOSELOOP_SECRET_ZENDESK":"","CLOSELOOP_SECRET_GENERIC":"s3cret","` + closeloop.SecretPlaceholder + `":"x8Fj2k9Q"}`)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["CLOSELOOP_SECRET_GENERIC"] != "s3cret" {
		t.Errorf("parsed %v, want the two CLOSELOOP_ variables only", got)
	}
	if _, err := Parse(`{"SECRET_ZENDESK":"a typo is still refused"}`); err == nil {
		t.Error("a name without CLOSELOOP_ was accepted")
	}
}
