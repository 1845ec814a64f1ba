package webhook_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/local/awstest"
	"github.com/closeloop/closeloop/shared/local/devstack"
	"github.com/closeloop/closeloop/shared/platform/lambdahttp"
)

func lambdaInvoke(st *devstack.Stack, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return lambdahttp.Handler(st.Handler)(context.Background(), ev)
}

// TestFaultThrottledTableAsksForARetry: while DynamoDB throttles every
// read beyond the SDK's own retries, a delivery gets 503 with Retry-After
// (every helpdesk retries a 5xx) and stores nothing; the helpdesk's retry
// schedules the survey, and a further retry is a duplicate.
func TestFaultThrottledTableAsksForARetry(t *testing.T) {
	var busy atomic.Bool
	f := &awstest.Faults{Rule: func(op string, n int) awstest.Fault {
		if busy.Load() && strings.HasPrefix(op, "dynamodb.") {
			return awstest.Throttle
		}
		return awstest.Pass
	}}
	st := awstest.FaultyStack(t, awstest.Config(), f)
	ev := awstest.LoadEvent(t, "generic-solved.json", time.Now())
	busy.Store(true)
	res, err := lambdaInvoke(st, ev)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 503 || res.Headers["Retry-After"] == "" {
		t.Errorf("a throttled delivery: %d %v, want 503 with Retry-After", res.StatusCode, res.Headers)
	}
	busy.Store(false)
	if snap := awstest.Snapshot(t, st.Config.Table); strings.Contains(snap, "TICKET#") || strings.Contains(snap, "CONTACT#") {
		t.Errorf("a throttled delivery stored something:\n%s", snap)
	}
	for i, want := range []closeloop.Action{closeloop.ActionScheduled, closeloop.ActionDuplicate} {
		code, body := invoke(t, st, ev)
		if code != 200 || action(t, body) != want {
			t.Errorf("retry %d: %d %s, want %s", i, code, body, want)
		}
	}
	if f.Total() == 0 {
		t.Errorf("nothing was throttled")
	}
}
