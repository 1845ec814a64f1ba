// Package logging builds Closeloop's structured logger. Every line carries
// the request id of the invocation it belongs to and, in Lambda, the X-Ray
// trace id, so one request's lines can be found together in CloudWatch; the
// level follows AWS_LAMBDA_LOG_LEVEL. Lines name ids, never email addresses
// or comments (a test of package boot reads every log call for that).
package logging

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/closeloop/closeloop/shared/closeloop"
)

// New returns a JSON logger writing to w at the level AWS_LAMBDA_LOG_LEVEL
// names (INFO when unset), with request and trace ids added to every line.
// Every string and error value is passed through Redact first.
func New(w io.Writer, getenv func(string) string) *slog.Logger {
	return slog.New(Wrap(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: Level(getenv("AWS_LAMBDA_LOG_LEVEL")), ReplaceAttr: redactAttr})))
}

// addressRE matches what looks like an email address, also with its @
// percent-encoded (in a URL) or JSON-escaped, and with a non-ASCII domain.
// It is compiled on first use: its Unicode classes cost a cold start about
// 0.3 ms, and most functions never log an address.
var addressRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`[\p{L}\p{N}._%+!#$&'*/=?^{|}~-]+(@|%40|\\u0040)[\p{L}\p{N}-]+(\.[\p{L}\p{N}-]+)+`)
})

// Redact replaces every email address in s with "[address]": errors from
// SES and helpdesk APIs may name a recipient, and logs carry ids only.
func Redact(s string) string {
	if !strings.Contains(s, "@") && !strings.Contains(s, "%40") && !strings.Contains(s, "\\u0040") {
		return s
	}
	return addressRE().ReplaceAllString(s, "[address]")
}

func redactAttr(_ []string, a slog.Attr) slog.Attr {
	switch a.Value.Kind() {
	case slog.KindString:
		a.Value = slog.StringValue(Redact(a.Value.String()))
	case slog.KindAny:
		if err, ok := a.Value.Any().(error); ok {
			a.Value = slog.StringValue(Redact(err.Error()))
		} else if s := fmt.Sprint(a.Value.Any()); Redact(s) != s {
			a.Value = slog.StringValue(Redact(s)) // a map or struct holding an address: its text, redacted
		}
	}
	return a
}

// Level maps Lambda's log levels (TRACE, DEBUG, INFO, WARN, ERROR, FATAL;
// any case) to slog's. An empty or unknown value is INFO.
func Level(v string) slog.Level {
	switch strings.ToUpper(strings.TrimSpace(v)) {
	case "TRACE", "DEBUG":
		return slog.LevelDebug
	case "WARN", "WARNING":
		return slog.LevelWarn
	case "ERROR", "FATAL":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// Wrap returns h with request_id and trace_id attributes added to every
// record whose context carries them.
func Wrap(h slog.Handler) slog.Handler { return handler{h} }

type handler struct{ slog.Handler }

// traceKey is the context key aws-lambda-go stores the X-Ray trace header
// under (a plain string, as that package sets it).
const traceKey = "x-amzn-trace-id"

func (h handler) Handle(ctx context.Context, r slog.Record) error {
	if ctx != nil {
		if lc, ok := lambdacontext.FromContext(ctx); ok && lc.AwsRequestID != "" {
			r.AddAttrs(slog.String("request_id", lc.AwsRequestID))
		}
		if t, _ := ctx.Value(traceKey).(string); t != "" {
			r.AddAttrs(slog.String("trace_id", TraceRoot(t)))
		}
	}
	return h.Handler.Handle(ctx, r)
}

func (h handler) WithAttrs(as []slog.Attr) slog.Handler { return handler{h.Handler.WithAttrs(as)} }
func (h handler) WithGroup(name string) slog.Handler    { return handler{h.Handler.WithGroup(name)} }

// TraceRoot returns the Root part of an X-Amzn-Trace-Id header
// ("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=…;Sampled=1"), or the
// header itself when it has none.
func TraceRoot(header string) string {
	for _, part := range strings.Split(header, ";") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(part), "Root="); ok {
			return v
		}
	}
	return header
}

// WithRequestID returns ctx carrying id as its request id, the way Lambda's
// context carries the invocation's, so handlers log the same either way.
// The local dev server gives each request and each scheduled run one.
func WithRequestID(ctx context.Context, id string) context.Context {
	return lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: id})
}

// NewRequestID returns a random request id for local use.
func NewRequestID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return "local-" + hex.EncodeToString(b)
}

// Middleware gives every request without one a fresh request id and
// returns it in the X-Request-Id header.
func Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := lambdacontext.FromContext(r.Context()); !ok {
			id := NewRequestID()
			w.Header().Set("X-Request-Id", id)
			r = r.WithContext(WithRequestID(r.Context(), id))
		}
		next.ServeHTTP(w, r)
	})
}

// Namespace is the CloudWatch namespace of Closeloop's own metrics.
const Namespace = closeloop.MetricNamespace

// Metrics writes counts as one line in CloudWatch's embedded metric format:
// CloudWatch Logs turns it into metrics of Namespace with the dimension
// Function, which alarms watch (per-item failures a function survives
// would otherwise raise nothing). In Lambda the dimension is the function's
// own name (AWS_LAMBDA_FUNCTION_NAME), so two stacks in one account keep
// their metrics apart; elsewhere it is function. Zero counts are written
// too, so an alarm sees data. Names are sorted for a stable line.
func Metrics(ctx context.Context, function string, counts map[string]int) {
	function = cmp.Or(os.Getenv("AWS_LAMBDA_FUNCTION_NAME"), function)
	names := make([]string, 0, len(counts))
	for n := range counts {
		names = append(names, n)
	}
	slices.Sort(names)
	defs := make([]map[string]string, len(names))
	attrs := []any{"Function", function}
	for i, n := range names {
		defs[i] = map[string]string{"Name": n, "Unit": "Count"}
		attrs = append(attrs, n, counts[n])
	}
	emf := map[string]any{
		"Timestamp": time.Now().UnixMilli(),
		"CloudWatchMetrics": []map[string]any{{
			"Namespace": Namespace, "Dimensions": [][]string{{"Function"}}, "Metrics": defs,
		}},
	}
	slog.InfoContext(ctx, "metrics", append([]any{"_aws", emf}, attrs...)...)
}
