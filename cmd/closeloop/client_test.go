package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/local/awstest"
	"github.com/closeloop/closeloop/shared/local/devstack"
	"github.com/closeloop/closeloop/shared/slack"
)

// cliAgainst returns a runner of closeloop commands against s's API as
// its admin: the combined output and the error.
func cliAgainst(s *server) func(args ...string) (string, error) {
	env := map[string]string{"CLOSELOOP_API_URL": s.URL, "CLOSELOOP_TOKEN": s.Config.AdminToken}
	return func(args ...string) (string, error) {
		var out, errs bytes.Buffer
		err := run(context.Background(), args, func(k string) string { return env[k] }, &out, &errs)
		return out.String() + errs.String(), err
	}
}

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
	// Removing someone who is no operator (a typo) says so, instead of a
	// success that hides that the real person keeps their access.
	if out, err := cli("operators", "remove", "grace@example.com"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("removing a non-operator: %q %v, want a 404 error", out, err)
	}
	// Behind a redirect (http:// to https://, a moved host) a POST would be
	// followed as a GET and print a success that did not happen.
	moved := httptest.NewServer(http.RedirectHandler(s.URL+"/api/operators", http.StatusMovedPermanently))
	defer moved.Close()
	if out, err := cli("operators", "add", "zed@example.com", "--role", "admin", "--api", moved.URL); err == nil || !strings.Contains(err.Error(), "redirect") {
		t.Errorf("operators add behind a redirect: %q %v, want an error naming the redirect", out, err)
	}
	// A wrong subcommand is a usage error even without API settings.
	var out, errs bytes.Buffer
	if err := run(context.Background(), []string{"operators", "frob", "x"}, func(string) string { return "" }, &out, &errs); err == nil || !strings.Contains(err.Error(), "usage") {
		t.Errorf("operators frob: %v, want the usage", err)
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

// TestDeadLetterReplay: an alert whose receiver was down ends in the
// dead-letter list; after the receiver is mended, `closeloop dlq replay`
// sends it once, and the list is empty.
func TestDeadLetterReplay(t *testing.T) {
	var up atomic.Bool
	var alerts atomic.Int64
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !up.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		alerts.Add(1)
	}))
	defer hook.Close()
	s := startServer(t, func(st *devstack.Stack) {
		st.Queue.MaxReceive, st.Queue.Visibility = 2, 10*time.Millisecond
		st.Closing.Slack = slack.Slack{URL: hook.URL}
	})
	env := map[string]string{"CLOSELOOP_API_URL": s.URL, "CLOSELOOP_TOKEN": s.Config.AdminToken}
	cli := func(args ...string) string {
		var out, errs bytes.Buffer
		if err := run(context.Background(), args, func(k string) string { return env[k] }, &out, &errs); err != nil {
			t.Fatalf("%v: %v %s", args, err, errs.String())
		}
		return out.String()
	}
	email := awstest.Email()
	s.solve(t, "generic", "dlq-1", email, "Ada", "solved")
	m := waitMail(t, email, 1)[0]
	res, err := http.PostForm(s.URL+"/s/"+awstest.Token(m), url.Values{"rating": {"1"}, "comment": {"broken"}})
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("answer: %v", err)
	}
	waitFor(t, "the alert in the dead-letter list", func() bool { return len(s.Queue.Dead()) == 1 })
	if out := cli("dlq", "list", "closing"); !strings.Contains(out, `"alert"`) || !strings.Contains(out, "1 dead letters") {
		t.Errorf("dlq list: %q", out)
	}
	up.Store(true)
	if out := cli("dlq", "replay", "closing"); !strings.Contains(out, "replayed 1") {
		t.Errorf("dlq replay: %q", out)
	}
	waitFor(t, "the replayed alert", func() bool { return alerts.Load() == 1 })
	if out := cli("dlq", "list", "closing"); !strings.Contains(out, "0 dead letters") {
		t.Errorf("after replay: %q", out)
	}
	time.Sleep(200 * time.Millisecond)
	if n := alerts.Load(); n != 1 {
		t.Errorf("%d alerts after the replay, want 1", n)
	}
	var errs bytes.Buffer
	if err := run(context.Background(), []string{"dlq", "list", "nosuch"}, func(k string) string { return env[k] }, &bytes.Buffer{}, &errs); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("unknown queue: %v", err)
	}
}

// TestReportCommand prints the metrics of a stack with two answers as a
// table, as JSON and as CSV.
func TestReportCommand(t *testing.T) {
	s := startServer(t)
	for i, r := range []string{"5", "2"} {
		email := awstest.Email()
		s.solve(t, "generic", fmt.Sprint("rep-", i), email, "Ada", "solved")
		m := waitMail(t, email, 1)[0]
		res, err := http.PostForm(s.URL+"/s/"+awstest.Token(m), url.Values{"rating": {r}})
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("answer: %v", err)
		}
	}
	env := map[string]string{"CLOSELOOP_API_URL": s.URL, "CLOSELOOP_TOKEN": s.Config.AdminToken}
	cli := func(args ...string) string {
		var out, errs bytes.Buffer
		if err := run(context.Background(), args, func(k string) string { return env[k] }, &out, &errs); err != nil {
			t.Fatalf("%v: %v %s", args, err, errs.String())
		}
		return out.String()
	}
	table := cli("report", "--by", "day")
	rows := map[string]string{}
	for _, line := range strings.Split(table, "\n") {
		if f := strings.Fields(line); len(f) >= 2 {
			rows[f[0]] = f[1]
		}
	}
	for name, want := range map[string]string{"surveys_sent": "2", "responses": "2", "csat": "50", "detractors": "1", "ces": "–"} {
		if rows[name] != want {
			t.Errorf("report: %s = %q, want %q:\n%s", name, rows[name], want, table)
		}
	}
	if rows["response_rate"] != "1" || rows["reopen_rate"] != "0" {
		t.Errorf("report: response rate %q, reopen rate %q; want 1 and 0:\n%s", rows["response_rate"], rows["reopen_rate"], table)
	}
	bySource := cli("report", "--breakdown", "source")
	if !regexp.MustCompile(`(?m)^generic\s+2\s+2\s+1\s+50`).MatchString(bySource) {
		t.Errorf("report with a breakdown:\n%s", bySource)
	}
	if out := cli("report", "--source", "generic"); !strings.Contains(out, "source=generic") {
		t.Errorf("report with a filter:\n%s", out)
	}
	// A filter with a breakdown would show whole-team rows under the
	// filter's heading: refused, naming both.
	var outB, errsB bytes.Buffer
	if err := run(context.Background(), []string{"report", "--breakdown", "agent", "--source", "generic"}, func(k string) string { return env[k] }, &outB, &errsB); err == nil || !strings.Contains(err.Error(), "breakdown=agent") {
		t.Errorf("--breakdown agent --source generic: %v, want a refusal naming both", err)
	}
	// Both answering customers are in this month's cohorts.
	if !regexp.MustCompile(`(?m)^` + time.Now().UTC().Format("2006-01") + `\s+(promoter|detractor)\s+1\s`).MatchString(table) {
		t.Errorf("report without this month's cohorts:\n%s", table)
	}
	if out := cli("report", "--json"); !strings.Contains(out, `"surveys_sent":2`) {
		t.Errorf("--json: %s", out)
	}
	if out := cli("report", "--csv", "--by", "month"); !strings.HasPrefix(out, "period,surveys_sent,responses") || strings.Count(out, "\n") < 2 {
		t.Errorf("--csv: %s", out)
	}
	// In a spreadsheet a figure without a value is an empty cell, not a
	// dash read as text (no CES was asked here).
	if out := cli("report", "--csv", "--by", "day"); strings.Contains(out, "–") || !regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\d,2,2,1,50,,,`).MatchString(out) {
		t.Errorf("--csv with empty figures:\n%s", out)
	}
	// --csv with --breakdown writes the breakdown, not the series alone.
	if out := cli("report", "--csv", "--breakdown", "source"); !strings.HasPrefix(out, "source,surveys_sent,responses") || !regexp.MustCompile(`(?m)^generic,2,2,1,50,`).MatchString(out) {
		t.Errorf("--csv --breakdown source:\n%s", out)
	}
	var out, errs bytes.Buffer
	if err := run(context.Background(), []string{"report", "--by", "year"}, func(k string) string { return env[k] }, &out, &errs); err == nil || !strings.Contains(err.Error(), "400") {
		t.Errorf("--by year: %v", err)
	}
}

// TestMigrateCommand: `closeloop migrate contact-ids` moves a contact of an
// older release (stored under the unkeyed id) to the keyed id through the
// API, page by page, and a second run finds nothing to move.
func TestMigrateCommand(t *testing.T) {
	s := startServer(t)
	cli := cliAgainst(s)
	ctx := context.Background()
	addr := awstest.Email()
	legacy := closeloop.LegacyContactID(addr)
	if err := s.Store.UpsertContact(ctx, closeloop.Contact{ID: legacy, Email: addr}); err != nil {
		t.Fatal(err)
	}
	if err := s.Store.SaveTicket(ctx, &closeloop.Ticket{Source: "generic", TicketID: "old-1", ContactID: legacy, State: closeloop.SurveySent}, 0); err != nil {
		t.Fatal(err)
	}
	if out, err := cli("migrate", "contact-ids"); err != nil || !strings.Contains(out, "moved 1 contacts and 1 of their items") {
		t.Fatalf("migrate: %q %v", out, err)
	}
	if out, err := cli("migrate", "contact-ids"); err != nil || !strings.Contains(out, "moved 0 contacts") {
		t.Errorf("migrate again: %q %v", out, err)
	}
	nid, _ := s.Store.ContactID(addr)
	if tk, _ := s.Store.GetTicket(ctx, "generic", "old-1"); tk == nil || tk.ContactID != nid {
		t.Errorf("the ticket after the migration: %+v", tk)
	}
	if _, err := cli("migrate", "everything"); err == nil || !strings.Contains(err.Error(), "contact-ids") {
		t.Errorf("an unknown migration: %v", err)
	}
}
