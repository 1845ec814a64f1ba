package surveysweep_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/local/awstest"
)

// The fault suite of the sweep: each test injects one fault between the
// SDK clients and the real local servers (awstest.Faults), so the SDK's
// own retries run as in AWS, and checks that the survey is neither lost nor
// sent twice. Where both cannot hold (SES took the email but its answer was
// lost), Closeloop errs on the side of at most once: docs/reliability.md.

// TestFaultSESAnswerLost: SES accepts the survey email, then the connection
// drops before its answer. Neither the SDK nor the sweep sends it again: the
// survey counts as sent and its link works.
func TestFaultSESAnswerLost(t *testing.T) {
	f := &awstest.Faults{Rule: func(op string, n int) awstest.Fault {
		if op == "ses.SendEmail" && n == 0 {
			return awstest.LoseResponse
		}
		return awstest.Pass
	}}
	st := awstest.FaultyStack(t, closeloop.Config{}, f)
	e := awstest.Email()
	solve(t, st, "lost-1", e)
	res, _ := st.Sweeper.Run(context.Background())
	st.Sweeper.Now = func() time.Time { return time.Now().Add(time.Hour) }
	st.Sweeper.Run(context.Background())
	if n := len(awstest.MailTo(t, e)); n != 1 {
		t.Fatalf("%d emails after a lost SES answer, want exactly 1", n)
	}
	if res.Sent != 1 || state(t, st, "lost-1") != closeloop.SurveySent {
		t.Errorf("result %+v, state %s: want counted as sent", res, state(t, st, "lost-1"))
	}
	m := awstest.MailTo(t, e)[0]
	if _, err := st.Store.GetSurvey(context.Background(), closeloop.SurveyIDOf(awstest.Token(m))); err != nil {
		t.Errorf("the survey of an email that went out is gone: %v", err)
	}
	if f.Total() != 1 {
		t.Errorf("faults injected %v, want one", f.Injected())
	}
}

// TestFaultSESUnreachable: the first connection to SES is refused (the
// request never left): the SDK retries at once and the survey goes once.
func TestFaultSESUnreachable(t *testing.T) {
	f := &awstest.Faults{Rule: func(op string, n int) awstest.Fault {
		if op == "ses.SendEmail" && n == 0 {
			return awstest.Refuse
		}
		return awstest.Pass
	}}
	st := awstest.FaultyStack(t, closeloop.Config{}, f)
	e := awstest.Email()
	solve(t, st, "refused-1", e)
	if res, _ := st.Sweeper.Run(context.Background()); res.Sent != 1 {
		t.Errorf("result %+v, want sent after the SDK's retry", res)
	}
	if n := len(awstest.MailTo(t, e)); n != 1 {
		t.Errorf("%d emails, want 1", n)
	}
}

// TestFaultSESThrottledAndRejected: SES throttling beyond the SDK's
// attempts reschedules the survey, which goes once after the back-off; a
// rejected message fails at once and is never retried.
func TestFaultSESThrottledAndRejected(t *testing.T) {
	var reject atomic.Bool
	f := &awstest.Faults{Rule: func(op string, n int) awstest.Fault {
		switch {
		case op != "ses.SendEmail":
			return awstest.Pass
		case reject.Load():
			return awstest.Reject
		case n < 3: // every attempt of the first send
			return awstest.Throttle
		}
		return awstest.Pass
	}}
	st := awstest.FaultyStack(t, closeloop.Config{}, f)
	e := awstest.Email()
	solve(t, st, "throttled-1", e)
	clock := time.Now() // after the solve: its survey is due now
	st.Sweeper.Now = func() time.Time { return clock }
	if res, _ := st.Sweeper.Run(context.Background()); res.Retried != 1 || res.Sent != 0 {
		t.Fatalf("throttled: %+v, want rescheduled", res)
	}
	clock = clock.Add(5 * time.Minute)
	if res, _ := st.Sweeper.Run(context.Background()); res.Sent != 1 {
		t.Errorf("after the back-off: %+v, want sent", res)
	}
	if n := len(awstest.MailTo(t, e)); n != 1 {
		t.Errorf("%d emails after throttling, want 1", n)
	}

	reject.Store(true)
	r := awstest.Email()
	solve(t, st, "rejected-1", r)
	if res, _ := st.Sweeper.Run(context.Background()); res.Failed != 1 {
		t.Errorf("rejected: %+v, want failed", res)
	}
	clock = clock.Add(time.Hour)
	st.Sweeper.Run(context.Background())
	if n := len(awstest.MailTo(t, r)); n != 0 || state(t, st, "rejected-1") != closeloop.SurveyFailed {
		t.Errorf("a rejected survey: %d emails, state %s; want none, failed", n, state(t, st, "rejected-1"))
	}
	if got := f.Injected()["ses.SendEmail reject"]; got != 1 {
		t.Errorf("a rejected send was tried %d times, want once", got)
	}
}

// TestFaultBetweenSendingAndRecording: SES took the email, then DynamoDB
// throttles every write until the run gives up, so the sweep cannot record
// it as sent. The ticket stays claimed; after the lease the next sweep
// records the unknown outcome and never sends again.
func TestFaultBetweenSendingAndRecording(t *testing.T) {
	var sent atomic.Bool
	f := &awstest.Faults{Rule: func(op string, n int) awstest.Fault {
		if op == "ses.SendEmail" {
			sent.Store(true)
			return awstest.Pass
		}
		if sent.Load() && (strings.HasSuffix(op, "UpdateItem") || strings.HasSuffix(op, "PutItem")) {
			return awstest.Throttle
		}
		return awstest.Pass
	}}
	st := awstest.FaultyStack(t, closeloop.Config{}, f)
	e := awstest.Email()
	solve(t, st, "unrecorded-1", e)
	st.Sweeper.Run(context.Background())
	if s := state(t, st, "unrecorded-1"); s != closeloop.SurveySending {
		t.Fatalf("state %s after an unrecorded send, want still sending (claimed)", s)
	}
	f.Rule = nil // the table recovers
	st.Sweeper.Now = func() time.Time { return time.Now().Add(time.Hour) }
	if res, _ := st.Sweeper.Run(context.Background()); res.Sent != 0 {
		t.Errorf("after the lease: %+v, want nothing sent", res)
	}
	if n := len(awstest.MailTo(t, e)); n != 1 {
		t.Errorf("%d emails, want exactly the one that went out", n)
	}
	if s := state(t, st, "unrecorded-1"); s != closeloop.SurveyFailed {
		t.Errorf("state %s, want failed (outcome unknown, not resent)", s)
	}
}

// TestFaultDynamoDBThrottling: DynamoDB throttles one call in three of each
// operation (of the first nine) of the webhook and the sweep; the SDK's
// retries absorb it: one survey per ticket. (A delivery that still fails is
// retried by the helpdesk: the webhook's fault test.)
func TestFaultDynamoDBThrottling(t *testing.T) {
	f := &awstest.Faults{Rule: func(op string, n int) awstest.Fault {
		if strings.HasPrefix(op, "dynamodb.") && n%3 == 0 && n < 9 {
			return awstest.Throttle
		}
		return awstest.Pass
	}}
	st := awstest.FaultyStack(t, closeloop.Config{}, f)
	var emails []string
	for i := 0; i < 5; i++ {
		e := awstest.Email()
		emails = append(emails, e)
		solve(t, st, "busy-"+string(rune('a'+i)), e)
	}
	for i := 0; i < 3; i++ {
		st.Sweeper.Run(context.Background())
	}
	for _, e := range emails {
		if n := len(awstest.MailTo(t, e)); n != 1 {
			t.Errorf("%d emails under throttling, want 1", n)
		}
	}
	if f.Total() == 0 {
		t.Errorf("no throttling was injected")
	}
}

// TestFaultClaimAnswerLost: DynamoDB takes the sweep's claim of a ticket,
// then the connection drops before its answer; the SDK's retry finds its
// own claim in place (the condition fails). The sweep knows its own claim:
// the survey goes, once.
func TestFaultClaimAnswerLost(t *testing.T) {
	f := &awstest.Faults{BodyRule: awstest.LoseFirst("dynamodb.PutItem", `TICKET#generic#claim-lost`, `"sending"`)}
	st := awstest.FaultyStack(t, closeloop.Config{}, f)
	e := awstest.Email()
	solve(t, st, "claim-lost", e)
	res, err := st.Sweeper.Run(context.Background())
	if f.Total() != 1 {
		t.Fatalf("faults injected %v, want one", f.Injected())
	}
	if err != nil || res.Sent != 1 || state(t, st, "claim-lost") != closeloop.SurveySent {
		t.Errorf("result %+v, %v, state %s: want sent", res, err, state(t, st, "claim-lost"))
	}
	if n := len(awstest.MailTo(t, e)); n != 1 {
		t.Errorf("%d emails, want 1", n)
	}
}

// TestFaultCounterAnswerLost: DynamoDB adds a day's counters, then the
// connection drops before its answer. The SDK must not add them again: the
// day counts the survey once.
func TestFaultCounterAnswerLost(t *testing.T) {
	f := &awstest.Faults{BodyRule: awstest.LoseFirst("dynamodb.UpdateItem", `surveys_sent`)}
	st := awstest.FaultyStack(t, closeloop.Config{}, f)
	solve(t, st, "count-lost", awstest.Email())
	if res, _ := st.Sweeper.Run(context.Background()); res.Sent != 1 {
		t.Fatalf("sweep %+v", res)
	}
	if f.Total() != 1 {
		t.Fatalf("faults injected %v, want one", f.Injected())
	}
	days, err := st.Store.CountersBetween(context.Background(), time.Now(), time.Now())
	if err != nil || len(days) != 1 || days[0].SurveysSent != 1 {
		t.Errorf("counters %+v, %v; want the survey counted once", days, err)
	}
}
