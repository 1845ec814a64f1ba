package lambdatest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/dynamo"
	"github.com/closeloop/closeloop/shared/local/awstest"
	"github.com/closeloop/closeloop/shared/local/lambdabuild"
	"github.com/closeloop/closeloop/shared/local/lambdatest"
	"github.com/closeloop/closeloop/shared/local/localaws"
)

func TestMain(m *testing.M) { awstest.Main(m) }

// TestBootstraps builds every function's real bootstrap (for this machine,
// as the deployment builds it), runs it against the Runtime API and
// the local AWS servers, and invokes it with a sample event: the wiring in
// each main.go works, configuration comes from the environment, and the
// function reaches the real table.
func TestBootstraps(t *testing.T) {
	root, _ := localaws.FindRoot()
	dirs, _ := os.ReadDir(filepath.Join(root, "functions"))
	cfg := awstest.Config()
	store := awstest.Store(t) // a fresh table, created from the schema
	table := tableOf(t, store)
	dynamoURL, sesURL := awstest.Endpoints()
	env := []string{
		"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local",
		"AWS_ENDPOINT_URL_DYNAMODB=" + dynamoURL, "AWS_ENDPOINT_URL_SESV2=" + sesURL,
		"AWS_EC2_METADATA_DISABLED=true",
		"CLOSELOOP_TABLE=" + table, "CLOSELOOP_SURVEY_DELAY=0s", "CLOSELOOP_ADMIN_TOKEN=" + cfg.AdminToken, "CLOSELOOP_CONTACT_KEY=" + string(cfg.ContactKey),
		"CLOSELOOP_SECRET_GENERIC=" + cfg.Secrets["generic"], "CLOSELOOP_FROM=feedback@closeloop.test",
		"CLOSELOOP_CLOSING_QUEUE_URL=https://sqs.us-east-1.amazonaws.com/123456789012/closing",
	}
	bin := t.TempDir()
	samples := map[string]string{
		"webhook": "generic-solved.json", "api": "api-create-theme.json", "response": "response-get.json",
		"survey-sweep": "survey-sweep-tick.json", "closing": "closing-announce.json", "ses-events": "ses-events-bounce.json", "digest": "digest-tick.json",
	}
	if len(dirs) != len(samples) {
		t.Errorf("%d function folders, %d with a test here: add the new function", len(dirs), len(samples))
	}
	overlay, err := lambdabuild.Overlay(filepath.Join(bin, "overlay"))
	if err != nil {
		t.Fatal(err)
	}
	build := lambdabuild.Build{Dir: root, OS: runtime.GOOS, Arch: runtime.GOARCH, Out: bin + "/", Overlay: overlay, Packages: []string{"./functions/..."}}
	if err := build.Run(); err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		fn := d.Name()
		t.Run(fn, func(t *testing.T) {
			out := filepath.Join(bin, fn)
			rt := lambdatest.New()
			defer rt.Close()
			var logs bytes.Buffer
			logged := 0
			cmd, err := rt.Start(out, env, &logs)
			if err != nil {
				t.Fatal(err)
			}
			var once sync.Once
			stop := func() { once.Do(func() { cmd.Process.Kill(); cmd.Wait() }) } // output is complete only after Wait
			defer stop()

			payload := sample(t, root, samples[fn], cfg)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			res, err := rt.Invoke(ctx, payload)
			if err != nil {
				stop()
				t.Fatalf("%v; init error %s; logs:\n%s", err, rt.InitError(), logs.String())
			}
			if res.IsError {
				stop()
				t.Fatalf("function error %s; logs:\n%s", res.Payload, logs.String())
			}
			check(t, fn, res.Payload)
			stop()
			// JSON logs, one object a line, carrying no addresses.
			for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
				if line == "" {
					continue
				}
				if !json.Valid([]byte(line)) {
					t.Errorf("log line is not JSON: %s", line)
				}
				if strings.Contains(line, "@example.") {
					t.Errorf("log line carries an address: %s", line)
				}
				// Lines written during the invocation carry its ids.
				var l struct {
					Msg       string `json:"msg"`
					RequestID string `json:"request_id"`
					TraceID   string `json:"trace_id"`
				}
				json.Unmarshal([]byte(line), &l)
				if l.Msg != "start" && (l.RequestID == "" || l.TraceID != "1-5759e988-bd862e3fe1be46a994272793") {
					t.Errorf("log line without the request and trace ids: %s", line)
				}
				logged++
			}
			if fn == "webhook" && logged == 0 {
				t.Error("the webhook logged nothing about the delivery")
			}
		})
	}
	// The webhook function reached the real table.
	if tk, err := store.GetTicket(context.Background(), "generic", "1001"); err != nil || tk.State != closeloop.SurveyScheduled {
		t.Errorf("ticket stored by the webhook bootstrap: %+v, %v", tk, err)
	}
}

func sample(t *testing.T, root, name string, cfg closeloop.Config) []byte {
	t.Helper()
	if strings.HasPrefix(name, "generic-") || strings.HasPrefix(name, "api-") {
		ev := awstest.LoadEvent(t, name, time.Now())
		if strings.HasPrefix(name, "api-") {
			ev.Headers["authorization"] = "Bearer " + cfg.AdminToken
		}
		b, _ := json.Marshal(ev)
		return b
	}
	b, err := os.ReadFile(filepath.Join(root, "events", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func check(t *testing.T, fn string, payload []byte) {
	t.Helper()
	switch fn {
	case "webhook", "api", "response":
		var r events.APIGatewayV2HTTPResponse
		json.Unmarshal(payload, &r)
		want := map[string]int{"webhook": 200, "api": 201, "response": 404}[fn]
		if r.StatusCode != want {
			t.Errorf("status %d, want %d: %s", r.StatusCode, want, r.Body)
		}
	case "closing", "ses-events":
		var r events.SQSEventResponse
		if err := json.Unmarshal(payload, &r); err != nil || len(r.BatchItemFailures) != 0 {
			t.Errorf("response %s", payload)
		}
	case "survey-sweep":
		var r map[string]int
		if err := json.Unmarshal(payload, &r); err != nil {
			t.Errorf("response %s: %v", payload, err)
		}
	case "digest":
		// The bootstrap has no team address: it runs and says why it sent nothing.
		var r struct {
			Sent    bool
			Skipped string
		}
		if err := json.Unmarshal(payload, &r); err != nil || r.Sent || !strings.Contains(r.Skipped, "CLOSELOOP_ALERT_EMAIL") {
			t.Errorf("response %s: %v", payload, err)
		}
	}
}

// tableOf reads the table name a store writes to, through a write.
func tableOf(t *testing.T, s *dynamo.Store) string {
	t.Helper()
	return s.Table()
}

// TestLambdasLinkNoLocalCode lists what every Lambda binary and every
// handler package links, for the deployment's platform and tags: none of the
// local-only or test-only code (local servers, in-process queue, test
// helpers), no browser driver and no test framework.
func TestLambdasLinkNoLocalCode(t *testing.T) {
	root, _ := localaws.FindRoot()
	cmd := exec.Command("go", "list", "-tags", "lambda.norpc", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}} {{.ImportPath}}", "./functions/...", "./shared/fn/...")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	forbidden := []string{"github.com/closeloop/closeloop/shared/local/", "github.com/chromedp/", "testing", "net/http/httptest"}
	deps := strings.Fields(string(out))
	if len(deps) < 50 {
		t.Fatalf("only %d packages listed", len(deps))
	}
	for _, d := range deps {
		for _, f := range forbidden {
			if d == f || strings.HasPrefix(d, f) && strings.HasSuffix(f, "/") {
				t.Errorf("a Lambda links %s", d)
			}
		}
	}
}

// TestLambdasBuildNoSchemaTables keeps the AWS SDK's service modules at the
// releases that serialize with generated code. From the release that turned
// on schema-based serialization for a service (dynamodb v1.69.0, sesv2
// v1.75.0, sqs v1.49.0, secretsmanager v1.50.0, dynamodbstreams v1.42.0),
// its schemas package builds every shape of the service at start, used or
// not: about 1.2 MB more per bootstrap and twice the packages' init (make
// bench). Upgrade past them once the SDK builds its schemas lazily, and weigh
// it with make bench first.
func TestLambdasBuildNoSchemaTables(t *testing.T) {
	root, _ := localaws.FindRoot()
	cmd := exec.Command("go", "list", "-tags", "lambda.norpc", "-deps", "./functions/...")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "github.com/aws/aws-sdk-go-v2/service/dynamodb") {
		t.Fatalf("the DynamoDB client is not among the %d packages listed", len(deps))
	}
	for _, d := range deps {
		if strings.HasPrefix(d, "github.com/aws/aws-sdk-go-v2/") && strings.HasSuffix(d, "/schemas") {
			t.Errorf("a Lambda links %s: that service module is at a release with schema-based serialization (see this test's comment)", d)
		}
	}
}
