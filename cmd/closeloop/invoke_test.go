package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/local/awstest"
	"github.com/closeloop/closeloop/shared/local/localaws"
)

// functionOf names the function a sample event is for, from its file name.
func functionOf(name string) string {
	for _, fn := range []string{"survey-sweep", "ses-events", "closing", "response", "api", "digest"} {
		if strings.HasPrefix(name, fn+"-") {
			return fn
		}
	}
	if src, _, ok := strings.Cut(name, "-"); ok && closeloop.KnownSource(src) {
		return "webhook"
	}
	return ""
}

// TestEverySampleEvent replays every file in events/ through its function's
// handler, as `closeloop invoke` does: each is understood, and no handler
// fails on it.
func TestEverySampleEvent(t *testing.T) {
	root, _ := localaws.FindRoot()
	files, _ := filepath.Glob(filepath.Join(root, "events", "*.json"))
	sort.Strings(files)
	if len(files) < 10 {
		t.Fatalf("only %d sample events", len(files))
	}
	st := awstest.Stack(t, closeloop.Config{})
	seen := map[string]bool{}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			fn := functionOf(name)
			if fn == "" {
				t.Fatalf("cannot tell which function %s is for: name it <function>-<case>.json or <source>-<case>.json", name)
			}
			seen[fn] = true
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			out, err := invokeOn(context.Background(), st, fn, raw, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			switch r := out.(type) {
			case events.APIGatewayV2HTTPResponse:
				// An email-less delivery is accepted like any other: its
				// customer is looked up by the sweep.
				if r.StatusCode >= 500 || (fn == "webhook" && r.StatusCode != 200) {
					t.Errorf("%s answered %d: %s", fn, r.StatusCode, r.Body)
				}
			case events.SQSEventResponse:
				if len(r.BatchItemFailures) > 0 {
					t.Errorf("%s failed items %v", fn, r.BatchItemFailures)
				}
			}
		})
	}
	for _, fn := range []string{"webhook", "survey-sweep", "response", "api", "closing", "ses-events", "digest"} {
		if !seen[fn] {
			t.Errorf("no sample event for %s in events/", fn)
		}
	}
	// Every function folder has samples.
	dirs, _ := os.ReadDir(filepath.Join(root, "functions"))
	for _, d := range dirs {
		if !seen[d.Name()] {
			t.Errorf("functions/%s has no sample event in events/", d.Name())
		}
	}
}

func TestInvokeRefusals(t *testing.T) {
	var out, errs bytes.Buffer
	tests := [][]string{
		{"invoke"},
		{"invoke", "nosuchfn", "events/generic-solved.json"},
		{"invoke", "webhook", "events/nope.json"},
		{"bogus"},
	}
	for _, args := range tests {
		if err := run(context.Background(), args, func(string) string { return "" }, &out, &errs); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
	// An API Gateway event without headers is still an event (it panicked).
	ev := filepath.Join(t.TempDir(), "metrics.json")
	os.WriteFile(ev, []byte(`{"version":"2.0","rawPath":"/api/metrics","requestContext":{"http":{"method":"GET"}}}`), 0o644)
	out.Reset()
	if err := run(context.Background(), []string{"invoke", "api", ev}, func(string) string { return "" }, &out, &errs); err != nil || !strings.Contains(out.String(), "200") {
		t.Errorf("invoke api with an event without headers: %v\n%s", err, out.String())
	}
}

// TestDemo runs `closeloop demo` as `make demo` does: it exits cleanly and
// prints every step of the loop and the mail page's address.
func TestDemo(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"demo"}, func(k string) string { return "" }, &out, &out)
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	for _, want := range []string{"ticket received", "survey sent", "link clicked", "response stored", "theme assigned",
		"improvement announced", "closing email sent", "metrics", "mail: http://127.0.0.1:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestExitCodes: a command line closeloop does not understand exits 2 (its
// usage), a failure of what it was asked to do exits 1, help exits 0, so
// scripts can tell them apart.
func TestExitCodes(t *testing.T) {
	for _, c := range []struct {
		args []string
		want int
	}{
		{[]string{"help"}, 0},
		{[]string{"report", "--help"}, 0},
		{nil, 2},
		{[]string{"bogus"}, 2},
		{[]string{"operators", "frob", "x"}, 2},
		{[]string{"report", "--bogus"}, 2},
		{[]string{"report", "--json", "--csv"}, 2},
		{[]string{"erase"}, 2},
		{[]string{"dev", "extra"}, 2},
		{[]string{"demo", "extra"}, 2},
		{[]string{"invoke"}, 2},
		{[]string{"import", "csv"}, 2},
		{[]string{"erase", "ada@example.com", "--api", "http://127.0.0.1:1", "--token", "t"}, 1}, // nobody listens there
		{[]string{"invoke", "webhook", "events/nope.json"}, 1},
	} {
		var out, errs bytes.Buffer
		if got := exitCode(run(context.Background(), c.args, func(string) string { return "" }, &out, &errs)); got != c.want {
			t.Errorf("closeloop %s: exit %d, want %d", strings.Join(c.args, " "), got, c.want)
		}
	}
}
