package closing_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/fn/closing"
	"github.com/closeloop/closeloop/shared/local/awstest"
	"github.com/closeloop/closeloop/shared/queue"
)

// TestFaultHalfwayThroughABatch: the network to SES and DynamoDB fails
// after three of six "you said, we did" emails of one batch went out (the
// second with its answer lost, the third before it could be recorded). The
// batch fails, SQS delivers it again after the claims' lease (and once more,
// as a duplicate), and in the end everyone got exactly one email. The third
// email's outcome was never recorded, so it counts as failed (at most once:
// not resent); the progress adds up with nothing pending.
func TestFaultHalfwayThroughABatch(t *testing.T) {
	for _, senders := range []int{1, closing.DefaultSenders} {
		t.Run(fmt.Sprintf("%d at a time", senders), func(t *testing.T) { faultHalfway(t, senders) })
	}
}

func faultHalfway(t *testing.T, senders int) {
	var sends atomic.Int64
	var partition atomic.Bool
	f := &awstest.Faults{Rule: func(op string, n int) awstest.Fault {
		if partition.Load() {
			return awstest.Refuse
		}
		if op == "ses.SendEmail" {
			switch sends.Add(1) {
			case 2:
				return awstest.LoseResponse // SES took it; the answer is lost
			case 3:
				partition.Store(true) // this one goes out; then nothing gets through
			}
		}
		return awstest.Pass
	}}
	f2 := f.Rule
	f.Rule = func(string, int) awstest.Fault { return awstest.Pass } // set-up passes
	st := awstest.FaultyStack(t, closeloop.Config{}, f)
	var people []string
	var svs []closeloop.Survey
	for i := 0; i < 6; i++ {
		e := awstest.Email()
		people = append(people, e)
		svs = append(svs, answered(t, st, e, "Exports are slow", "exports"))
	}
	im := announce(t, st, "exports")
	batch := batchOf(im, svs...)
	ev := events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m1", Body: batch}}}

	st.Closing.Senders = senders
	f.Rule = f2
	res, err := st.Closing.Handle(context.Background(), ev)
	if err != nil || len(res.BatchItemFailures) != 1 {
		t.Fatalf("the batch under a partition: %+v, %v; want it failed for a retry", res, err)
	}
	partition.Store(false) // the network heals
	// Within the lease the open claim may belong to a running attempt: the
	// batch comes back later rather than guess.
	if res, err := st.Closing.Handle(context.Background(), ev); err != nil || len(res.BatchItemFailures) != 1 {
		t.Fatalf("redelivery within the lease: %+v, %v; want it failed for later", res, err)
	}
	st.Closing.Now = func() time.Time { return time.Now().Add(closing.ClaimLease + time.Minute) }
	for i := 0; i < 2; i++ { // SQS's redelivery, and a duplicate of it
		if res, err := st.Closing.Handle(context.Background(), ev); err != nil || len(res.BatchItemFailures) != 0 {
			t.Fatalf("redelivery %d: %+v, %v", i, res, err)
		}
	}
	mailed := 0
	for _, e := range people {
		n := len(awstest.MailTo(t, e))
		if n > 1 || senders == 1 && n != 1 {
			t.Errorf("%d emails to one person, want exactly 1", n)
		}
		mailed += n
	}
	if senders == 1 {
		if got, want := progress(t, st, im.ID), (closeloop.Progress{Recipients: 6, Sent: 5, Failed: 1}); got != want {
			t.Errorf("progress %+v, want %+v", got, want)
		}
	} else {
		// Several were on their way when the network failed: those whose
		// outcome is unknown count as failed, and nobody hears twice.
		got := progress(t, st, im.ID)
		if got.Recipients != 6 || got.Failed+got.Sent != 6 || got.Failed < 1 || mailed < int(got.Sent) || mailed > int(got.Sent)+int(got.Failed) {
			t.Errorf("progress %+v with %d emails delivered", got, mailed)
		}
	}
	if f.Injected()["ses.SendEmail lose-response"] != 1 || f.Total() < 2 {
		t.Errorf("faults injected %v", f.Injected())
	}
}

// TestFaultClaimAnswersLost: DynamoDB takes a claim (a "you said, we did"
// recipient's, a comment acknowledgement's), then the connection drops
// before its answer, and the SDK's retry finds the claim in place. The
// claimer knows its own claim: the email goes, once, and counts.
func TestFaultClaimAnswersLost(t *testing.T) {
	t.Run("closing", func(t *testing.T) {
		f := &awstest.Faults{}
		st := awstest.FaultyStack(t, closeloop.Config{}, f)
		e := awstest.Email()
		sv := answered(t, st, e, "Exports are slow", "exports")
		im := announce(t, st, "exports")
		f.BodyRule = awstest.LoseFirst("dynamodb.PutItem", `"TO#`)
		if res, err := st.Closing.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m1", Body: batchOf(im, sv)}}}); err != nil || len(res.BatchItemFailures) != 0 {
			t.Errorf("batch: %+v, %v", res, err)
		}
		if f.Total() != 1 {
			t.Fatalf("faults injected %v, want one", f.Injected())
		}
		if n := len(awstest.MailTo(t, e)); n != 1 {
			t.Errorf("%d emails, want 1", n)
		}
		if got := progress(t, st, im.ID); got != (closeloop.Progress{Recipients: 1, Sent: 1}) {
			t.Errorf("progress %+v", got)
		}
	})
	t.Run("acknowledgement", func(t *testing.T) {
		f := &awstest.Faults{}
		st := awstest.FaultyStack(t, closeloop.Config{}, f)
		e := awstest.Email()
		sv := answered(t, st, e, "Exports are slow")
		f.BodyRule = awstest.LoseFirst("dynamodb.PutItem", `CLAIM#ack/`)
		if res, err := st.Closing.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m1", Body: queue.Ack(sv.ID)}}}); err != nil || len(res.BatchItemFailures) != 0 {
			t.Errorf("ack: %+v, %v", res, err)
		}
		if f.Total() != 1 {
			t.Fatalf("faults injected %v, want one", f.Injected())
		}
		if n := len(awstest.MailTo(t, e)); n != 1 {
			t.Errorf("%d acknowledgements, want 1", n)
		}
	})
}
