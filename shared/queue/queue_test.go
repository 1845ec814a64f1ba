package queue

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// clock is a fake time source the test moves by hand.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestLocalHasSQSSemantics(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Unix(0, 0)}
	q := &Local{Visibility: 30 * time.Second, MaxReceive: 3, Now: c.now}
	for i := 0; i < 25; i++ {
		q.Send(ctx, fmt.Sprint(i))
	}
	// Batches of at most 10; "7" fails every time.
	var batches []int
	handled := map[string]int{}
	h := func(_ context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		batches = append(batches, len(ev.Records))
		var res events.SQSEventResponse
		for _, m := range ev.Records {
			handled[m.Body]++
			if m.Body == "7" {
				res.BatchItemFailures = append(res.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
			}
		}
		return res, nil
	}
	for {
		n, err := q.Poll(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	if fmt.Sprint(batches) != "[10 10 5]" {
		t.Errorf("batches %v", batches)
	}
	if q.Len() != 1 {
		t.Errorf("%d left, want the failed one (invisible)", q.Len())
	}
	// Invisible until the timeout passes, then redelivered; after 3 receives it is dead.
	if n, _ := q.Poll(ctx, h); n != 0 {
		t.Error("a failed message came back before its visibility timeout")
	}
	for i := 0; i < 3; i++ {
		c.t = c.t.Add(31 * time.Second)
		q.Poll(ctx, h)
	}
	if handled["7"] != 3 || fmt.Sprint(q.Dead()) != "[7]" || q.Len() != 0 {
		t.Errorf("received %d times, dead %v, left %d", handled["7"], q.Dead(), q.Len())
	}
	// A handler error returns the whole batch.
	q.Send(ctx, "a", "b")
	q.Poll(ctx, func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
		return events.SQSEventResponse{}, errors.New("crash")
	})
	c.t = c.t.Add(31 * time.Second)
	if n, _ := q.Poll(ctx, h); n != 2 {
		t.Errorf("after a crash %d messages came back, want 2", n)
	}
}

type fakeSQS struct {
	batches [][]string
	failAt  int
}

func (f *fakeSQS) SendMessageBatch(_ context.Context, in *sqs.SendMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	var b []string
	for _, e := range in.Entries {
		b = append(b, aws.ToString(e.MessageBody))
	}
	f.batches = append(f.batches, b)
	out := &sqs.SendMessageBatchOutput{}
	if len(f.batches) == f.failAt {
		out.Failed = []types.BatchResultErrorEntry{{Id: aws.String("0"), Message: aws.String("throttled")}}
	}
	return out, nil
}

func TestSQSSendBatches(t *testing.T) {
	var bodies []string
	for i := 0; i < 23; i++ {
		bodies = append(bodies, fmt.Sprint(i))
	}
	f := &fakeSQS{}
	if err := (SQS{Client: f, URL: "u"}).Send(context.Background(), bodies...); err != nil {
		t.Fatal(err)
	}
	if len(f.batches) != 3 || len(f.batches[0]) != 10 || len(f.batches[2]) != 3 || f.batches[2][2] != "22" {
		t.Errorf("batches %v", f.batches)
	}
	f = &fakeSQS{failAt: 2}
	if err := (SQS{Client: f, URL: "u"}).Send(context.Background(), bodies...); err == nil {
		t.Error("a refused entry must be an error")
	}
}
