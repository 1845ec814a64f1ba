package localqueue

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// clock is a fake time source the test moves by hand.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestLocalHasSQSSemantics(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Unix(0, 0)}
	q := &Queue{Visibility: 30 * time.Second, MaxReceive: 3, Now: c.now}
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
