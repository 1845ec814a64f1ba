// Package localqueue is an in-process queue with SQS's delivery semantics
// (batches of up to 10, a visibility timeout, partial batch failures, a
// maximum receive count and a dead-letter list). `closeloop dev`, the demo,
// the tests and the benchmarks feed SQS-triggered handlers through it, since
// no SQS-compatible server is available locally. Lambda binaries never link it.
package localqueue

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/closeloop/closeloop/shared/queue"
)

// Handler is an SQS-triggered Lambda handler that reports partial batch
// failures.
type Handler func(context.Context, events.SQSEvent) (events.SQSEventResponse, error)

// Queue is an in-process queue with SQS's delivery semantics. It is safe for
// concurrent use.
type Queue struct {
	Visibility time.Duration    // how long a received message stays hidden; 0 for 30 s
	MaxReceive int              // receives before a message goes to the dead-letter list; 0 for 5
	Now        func() time.Time // nil for time.Now

	mu   sync.Mutex
	seq  int
	msgs []*localMsg
	dead []string
}

type localMsg struct {
	id        string
	body      string
	receives  int
	visibleAt time.Time
	handle    string
}

// Send implements Sender.
func (q *Queue) Send(_ context.Context, bodies ...string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, b := range bodies {
		q.seq++
		q.msgs = append(q.msgs, &localMsg{id: fmt.Sprintf("local-%d", q.seq), body: b})
	}
	return nil
}

// receive hides up to max visible messages and returns them, moving those
// received too often to the dead-letter list.
func (q *Queue) receive(max int) []events.SQSMessage {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.now()
	var out []events.SQSMessage
	kept := q.msgs[:0]
	for _, m := range q.msgs {
		if len(out) < max && !now.Before(m.visibleAt) {
			if m.receives >= q.maxReceive() {
				q.dead = append(q.dead, m.body)
				continue
			}
			m.receives++
			m.visibleAt = now.Add(q.visibility())
			q.seq++
			m.handle = fmt.Sprintf("%s/%d", m.id, q.seq)
			out = append(out, events.SQSMessage{
				MessageId: m.id, ReceiptHandle: m.handle, Body: m.body, EventSource: "aws:sqs",
				Attributes: map[string]string{"ApproximateReceiveCount": strconv.Itoa(m.receives)},
			})
		}
		kept = append(kept, m)
	}
	q.msgs = kept
	return out
}

// remove deletes the messages received with handles.
func (q *Queue) remove(handles map[string]bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	kept := q.msgs[:0]
	for _, m := range q.msgs {
		if !handles[m.handle] {
			kept = append(kept, m)
		}
	}
	q.msgs = kept
}

// Poll receives one batch of up to 10 messages and gives it to h, as the
// Lambda event source mapping does: messages h reports in BatchItemFailures,
// or all of them if h returns an error, become visible again after the
// visibility timeout; the rest are deleted. It returns how many messages it
// handed over.
func (q *Queue) Poll(ctx context.Context, h Handler) (int, error) {
	msgs := q.receive(10)
	if len(msgs) == 0 {
		return 0, nil
	}
	res, err := h(ctx, events.SQSEvent{Records: msgs})
	if err != nil {
		return len(msgs), err
	}
	failed := map[string]bool{}
	for _, f := range res.BatchItemFailures {
		failed[f.ItemIdentifier] = true
	}
	done := map[string]bool{}
	for _, m := range msgs {
		if !failed[m.MessageId] {
			done[m.ReceiptHandle] = true
		}
	}
	q.remove(done)
	return len(msgs), nil
}

// Len returns how many messages wait or are in flight.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.msgs)
}

// Dead returns the bodies moved to the dead-letter list.
func (q *Queue) Dead() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]string(nil), q.dead...)
}

func (q *Queue) visibility() time.Duration {
	if q.Visibility > 0 {
		return q.Visibility
	}
	return 30 * time.Second
}

func (q *Queue) maxReceive() int {
	if q.MaxReceive > 0 {
		return q.MaxReceive
	}
	return 5
}

func (q *Queue) now() time.Time {
	if q.Now != nil {
		return q.Now()
	}
	return time.Now()
}

// List returns the dead-letter list, as queue.DeadLetters.
func (q *Queue) List(context.Context) ([]queue.DeadLetter, error) {
	var out []queue.DeadLetter
	for i, b := range q.Dead() {
		out = append(out, queue.DeadLetter{ID: fmt.Sprintf("dead-%d", i+1), Body: b})
	}
	return out, nil
}

// Replay is Redrive, as queue.DeadLetters.
func (q *Queue) Replay(context.Context) (int, error) { return q.Redrive(), nil }

// Redrive moves every dead-lettered message back onto the queue, once, and
// returns how many.
func (q *Queue) Redrive() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, b := range q.dead {
		q.seq++
		q.msgs = append(q.msgs, &localMsg{id: fmt.Sprintf("local-%d", q.seq), body: b})
	}
	n := len(q.dead)
	q.dead = nil
	return n
}
