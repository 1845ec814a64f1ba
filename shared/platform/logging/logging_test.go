package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

func lines(t *testing.T, b *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range bytes.Split(bytes.TrimSpace(b.Bytes()), []byte("\n")) {
		if len(l) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(l, &m); err != nil {
			t.Fatalf("not JSON: %s", l)
		}
		out = append(out, m)
	}
	return out
}

func TestEveryLineCarriesRequestAndTraceIDs(t *testing.T) {
	var buf bytes.Buffer
	log := New(&buf, func(string) string { return "" })
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-1"})
	//lint:ignore SA1029 aws-lambda-go stores the trace header under this plain string key
	ctx = context.WithValue(ctx, "x-amzn-trace-id", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
	log.InfoContext(ctx, "survey sent", "survey", "s1")
	log.With("fn", "sweep").WarnContext(ctx, "grouped")
	log.Info("no context")
	got := lines(t, &buf)
	if len(got) != 3 {
		t.Fatalf("%d lines", len(got))
	}
	for _, l := range got[:2] {
		if l["request_id"] != "req-1" || l["trace_id"] != "1-5759e988-bd862e3fe1be46a994272793" {
			t.Errorf("ids missing: %v", l)
		}
	}
	if got[1]["fn"] != "sweep" {
		t.Errorf("With lost its attribute: %v", got[1])
	}
	if _, ok := got[2]["request_id"]; ok {
		t.Errorf("a line outside a request has a request id: %v", got[2])
	}
}

func TestLevelFollowsLambda(t *testing.T) {
	for in, want := range map[string]slog.Level{"": slog.LevelInfo, "DEBUG": slog.LevelDebug, "trace": slog.LevelDebug, "WARN": slog.LevelWarn, "error": slog.LevelError, "FATAL": slog.LevelError, "bogus": slog.LevelInfo} {
		if got := Level(in); got != want {
			t.Errorf("Level(%q) = %v, want %v", in, got, want)
		}
	}
	var buf bytes.Buffer
	log := New(&buf, func(k string) string {
		if k == "AWS_LAMBDA_LOG_LEVEL" {
			return "WARN"
		}
		return ""
	})
	log.Info("dropped")
	log.Warn("kept")
	if got := lines(t, &buf); len(got) != 1 || got[0]["msg"] != "kept" {
		t.Errorf("at WARN: %v", got)
	}
}

func TestMiddlewareGivesEachRequestAnID(t *testing.T) {
	var buf bytes.Buffer
	log := New(&buf, func(string) string { return "" })
	h := Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.InfoContext(r.Context(), "handled")
	}))
	ids := map[string]bool{}
	for i := 0; i < 3; i++ {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
		ids[w.Header().Get("X-Request-Id")] = true
	}
	got := lines(t, &buf)
	if len(ids) != 3 || len(got) != 3 {
		t.Fatalf("ids %v, lines %d", ids, len(got))
	}
	for _, l := range got {
		if id, _ := l["request_id"].(string); !ids[id] {
			t.Errorf("line's request id %v is not the one answered", l["request_id"])
		}
	}
}

// TestAddressesAreRedacted: an error from SES or a vendor may name a
// recipient ("…identities failed the check: ada@example.com"); the line
// keeps the error and drops the address.
func TestAddressesAreRedacted(t *testing.T) {
	var b bytes.Buffer
	log := New(&b, func(string) string { return "" })
	log.Error("send", "err", errors.New("MessageRejected: Email address is not verified. The following identities failed the check in region EU-WEST-1: Ada.L+x@Example.com"), "note", "to bob@mail.acme.example")
	out := b.String()
	if strings.Contains(strings.ToLower(out), "ada.l+x@example.com") || strings.Contains(out, "bob@") {
		t.Errorf("a log line names an address: %s", out)
	}
	if !strings.Contains(out, "MessageRejected") || !strings.Contains(out, "[address]") {
		t.Errorf("the error's text is lost: %s", out)
	}
}

// TestMetricsInEmbeddedFormat: a metrics line is CloudWatch's embedded
// metric format: the _aws block names the namespace, the Function
// dimension and each metric, whose values are top-level keys.
func TestMetricsInEmbeddedFormat(t *testing.T) {
	var b bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(New(&b, func(string) string { return "" }))
	defer slog.SetDefault(prev)
	Metrics(context.Background(), "survey-sweep", map[string]int{"SurveysFailed": 2, "SurveysSent": 0})
	var line struct {
		AWS struct {
			Timestamp         int64
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			}
		} `json:"_aws"`
		Function      string
		SurveysFailed *int
		SurveysSent   *int
	}
	if err := json.Unmarshal(b.Bytes(), &line); err != nil {
		t.Fatalf("%v: %s", err, b.String())
	}
	m := line.AWS.CloudWatchMetrics
	if len(m) != 1 || m[0].Namespace != "Closeloop" || len(m[0].Dimensions) != 1 || m[0].Dimensions[0][0] != "Function" || len(m[0].Metrics) != 2 ||
		line.Function != "survey-sweep" || line.SurveysFailed == nil || *line.SurveysFailed != 2 || line.SurveysSent == nil || line.AWS.Timestamp == 0 {
		t.Errorf("not an embedded-metric line: %s", b.String())
	}
}

// TestEncodedAddressesAreRedacted: an address inside a URL (percent
// encoded), JSON-escaped, with a non-ASCII domain, or inside a logged map
// or struct is dropped too.
func TestEncodedAddressesAreRedacted(t *testing.T) {
	var b bytes.Buffer
	log := New(&b, func(string) string { return "" })
	log.Error("look-up", "url", "https://api.example/contacts?email=ada%40example.com", "body", `{"email":"grace\u0040example.org"}`,
		"idn", "noor@bücher.example", "tags", map[string]string{"to": "lin@example.net"}, "n", 3)
	out := b.String()
	for _, leak := range []string{"ada%40example", "grace\\\\u0040example", "grace@example", "noor@", "lin@example"} {
		if strings.Contains(out, leak) {
			t.Errorf("a log line names an address (%s): %s", leak, out)
		}
	}
	if !strings.Contains(out, `"n":3`) {
		t.Errorf("a number was changed: %s", out)
	}
}
