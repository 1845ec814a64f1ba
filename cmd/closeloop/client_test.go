package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/local/awstest"
)

// TestOperatorsAndEraseCommands drives the CLI against a running stack's
// API, as an operator would against a deployed one.
func TestOperatorsAndEraseCommands(t *testing.T) {
	s := startServer(t)
	env := map[string]string{"CLOSELOOP_API_URL": s.URL, "CLOSELOOP_TOKEN": s.Config.AdminToken}
	getenv := func(k string) string { return env[k] }
	cli := func(args ...string) (string, error) {
		var out, errs bytes.Buffer
		err := run(context.Background(), args, getenv, &out, &errs)
		return out.String() + errs.String(), err
	}
	if out, err := cli("operators", "add", "Grace@Example.com", "--role", "editor"); err != nil || !strings.Contains(out, "grace@example.com is an operator with the editor role") {
		t.Fatalf("operators add: %q %v", out, err)
	}
	if out, err := cli("operators", "list"); err != nil || !strings.Contains(out, "grace@example.com  editor") {
		t.Errorf("operators list: %q %v", out, err)
	}
	if out, err := cli("operators", "add", "grace@example.com", "--role", "owner"); err == nil || !strings.Contains(err.Error(), "owner") {
		t.Errorf("a bad role: %q %v", out, err)
	}
	if _, err := cli("operators", "add", "x@example.com", "--token", "wrong"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("a wrong token: %v", err)
	}
	if _, err := cli("operators", "list", "--api", "ftp://x"); err == nil || !strings.Contains(err.Error(), "--api") {
		t.Errorf("a bad --api: %v", err)
	}
	if out, err := cli("operators", "remove", "grace@example.com"); err != nil || !strings.Contains(out, "no longer") {
		t.Errorf("operators remove: %q %v", out, err)
	}
	// erase goes through the API and leaves the person's survey unanswerable.
	email := awstest.Email()
	s.solve(t, "generic", "e-1", email, "Ada", "solved")
	m := waitMail(t, email, 1)[0]
	if out, err := cli("erase", email); err != nil || !strings.Contains(out, "erased:") {
		t.Fatalf("erase: %q %v", out, err)
	}
	sv, _ := s.Store.GetSurvey(context.Background(), closeloop.SurveyIDOf(awstest.Token(m)))
	if !sv.Erased() {
		t.Errorf("the survey still names its person: %+v", sv)
	}
	if _, err := cli("erase", "not-an-address"); err == nil || !strings.Contains(err.Error(), "400") {
		t.Errorf("erase of a non-address: %v", err)
	}
}
