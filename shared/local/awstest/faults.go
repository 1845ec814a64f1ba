package awstest

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/local/devstack"
	"github.com/closeloop/closeloop/shared/mail"
)

// Fault is what Faults does to one AWS request.
type Fault int

// The faults Faults can inject, each as the real service or network shows it
// to the SDK, so the SDK's own retries and Closeloop's handling both run.
const (
	Pass         Fault = iota // forward the request
	Throttle                  // DynamoDB ProvisionedThroughputExceededException, SES TooManyRequestsException (HTTP 429): nothing done
	Reject                    // SES MessageRejected (HTTP 400): nothing sent, and a retry will not help
	Refuse                    // the connection is refused: the request never left
	LoseResponse              // the server does the request, then the connection drops before the answer: the outcome is unknown to the caller
	ServerError               // HTTP 500 InternalFailure: nothing done
)

func (f Fault) String() string {
	return [...]string{"pass", "throttle", "reject", "refuse", "lose-response", "server-error"}[f]
}

// Faults is an http.RoundTripper between the SDK clients and the local
// servers that injects faults by rule. Operations are named "dynamodb.PutItem",
// "ses.SendEmail" and so on; Rule sees the operation and how many calls of
// it came before (0 for the first).
type Faults struct {
	Rule func(op string, n int) Fault
	// BodyRule, when set, is asked first with the request's body, to aim
	// at one item (a claim, a ticket); Pass leaves the request to Rule.
	BodyRule func(op, body string) Fault

	mu       sync.Mutex
	calls    map[string]int
	injected map[string]int // "op fault" → count
	next     http.RoundTripper
}

// Injected returns how many faults were injected, by "operation fault".
func (f *Faults) Injected() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{}
	for k, v := range f.injected {
		out[k] = v
	}
	return out
}

// Total is the number of faults injected.
func (f *Faults) Total() int {
	n := 0
	for _, v := range f.Injected() {
		n += v
	}
	return n
}

// RoundTrip implements http.RoundTripper.
func (f *Faults) RoundTrip(r *http.Request) (*http.Response, error) {
	op := operation(r)
	var body string
	if f.BodyRule != nil && r.Body != nil {
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		body = string(b)
		r.Body = io.NopCloser(strings.NewReader(body))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(body)), nil }
	}
	f.mu.Lock()
	if f.calls == nil {
		f.calls, f.injected = map[string]int{}, map[string]int{}
	}
	n := f.calls[op]
	f.calls[op]++
	fault := Pass
	if f.BodyRule != nil {
		fault = f.BodyRule(op, body)
	}
	if fault == Pass && f.Rule != nil {
		fault = f.Rule(op, n)
	}
	if fault != Pass {
		f.injected[op+" "+fault.String()]++
	}
	next := f.next
	f.mu.Unlock()
	if next == nil {
		next = http.DefaultTransport
	}
	ses := strings.HasPrefix(op, "ses.")
	switch fault {
	case Throttle:
		if ses {
			return reply(r, 429, "TooManyRequestsException", "injected: maximum sending rate exceeded"), nil
		}
		return reply(r, 400, "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException", "injected: throughput exceeded"), nil
	case Reject:
		return reply(r, 400, "MessageRejected", "injected: message rejected"), nil
	case ServerError:
		if ses {
			return reply(r, 500, "InternalFailure", "injected"), nil
		}
		return reply(r, 500, "com.amazon.coral.service#InternalFailure", "injected"), nil
	case Refuse:
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: &net.AddrError{Err: syscall.ECONNREFUSED.Error(), Addr: r.URL.Host}}
	case LoseResponse:
		res, err := next.RoundTrip(r)
		if err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
		return nil, &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	}
	return next.RoundTrip(r)
}

// operation names an AWS request: DynamoDB by its X-Amz-Target, SES v2 by
// its REST path.
func operation(r *http.Request) string {
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		_, name, _ := strings.Cut(t, ".")
		return "dynamodb." + name
	}
	if strings.HasSuffix(r.URL.Path, "/outbound-emails") {
		return "ses.SendEmail"
	}
	return "ses." + r.Method + " " + r.URL.Path
}

func reply(r *http.Request, code int, errType, msg string) *http.Response {
	if r.Body != nil {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	body := fmt.Sprintf(`{"__type":%q,"message":%q}`, errType, msg)
	h := http.Header{"Content-Type": {"application/x-amz-json-1.0"}, "X-Amzn-Errortype": {errType}}
	return &http.Response{
		StatusCode: code, Status: fmt.Sprint(code), Header: h, Request: r,
		Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)),
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
	}
}

// FaultyStack is Stack whose DynamoDB and SES clients go through faults.
func FaultyStack(t testing.TB, cfg closeloop.Config, faults *Faults) *devstack.Stack {
	t.Helper()
	if cfg.Table == "" {
		cfg = Config()
	}
	env := devstack.Env(cfg, servers.DynamoDB, servers.SES)
	env.AWS.HTTPClient = &http.Client{Transport: faults}
	s, err := devstack.AssembleEnv(context.Background(), env, 0)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// FirstCalls is a Faults.Rule that does fault to the first n calls of op
// and passes every other call.
func FirstCalls(op string, n int, fault Fault) func(string, int) Fault {
	return func(o string, i int) Fault {
		if o == op && i < n {
			return fault
		}
		return Pass
	}
}

// LoseFirst is a Faults.BodyRule that loses the answer to the first request
// of op whose body holds each of parts (LoseResponse: the server did it),
// and passes every other: it aims at one item, such as a claim.
func LoseFirst(op string, parts ...string) func(string, string) Fault {
	var done atomic.Bool
	return func(o, body string) Fault {
		if o != op || done.Load() {
			return Pass
		}
		for _, p := range parts {
			if !strings.Contains(body, p) {
				return Pass
			}
		}
		done.Store(true)
		return LoseResponse
	}
}

// SlowTurn is a sending rate (a mail.Limiter) that keeps the first email
// waiting for its turn, longer than mail.RecheckAge, and runs During while
// it waits: someone unsubscribing, a person erased.
type SlowTurn struct {
	During func()
	once   sync.Once
}

// Wait implements mail.Limiter.
func (l *SlowTurn) Wait(context.Context) error {
	l.once.Do(func() {
		if l.During != nil {
			l.During()
		}
		time.Sleep(mail.RecheckAge + 500*time.Millisecond)
	})
	return nil
}
