// Package queue carries Closeloop's asynchronous work to SQS. Handlers speak
// to the narrow Sender interface; locally, where no SQS-compatible server is
// available, package localqueue stands in with SQS's semantics.
package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/closeloop/closeloop/shared/platform/boot"
)

// Sender puts messages on a queue.
type Sender interface {
	// Send enqueues bodies; it sends nothing if it returns an error for the
	// first batch, and may have sent earlier batches if a later one fails.
	Send(ctx context.Context, bodies ...string) error
}

// SQSClient is the part of the SQS SDK client SQS uses.
type SQSClient interface {
	SendMessageBatch(context.Context, *sqs.SendMessageBatchInput, ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
}

// SQS sends to one SQS queue.
type SQS struct {
	Client SQSClient
	URL    string
}

// Send implements Sender, in batches of 10.
func (q SQS) Send(ctx context.Context, bodies ...string) error {
	for start := 0; start < len(bodies); start += 10 {
		var entries []types.SendMessageBatchRequestEntry
		for i, b := range bodies[start:min(start+10, len(bodies))] {
			entries = append(entries, types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(b)})
		}
		out, err := q.Client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: &q.URL, Entries: entries})
		if err != nil {
			return fmt.Errorf("send to queue: %w", err)
		}
		if len(out.Failed) > 0 {
			f := out.Failed[0]
			return fmt.Errorf("send to queue: %d of %d messages refused: %s", len(out.Failed), len(entries), aws.ToString(f.Message))
		}
	}
	return nil
}

// ClosingFromEnv returns the closing function's queue (from
// CLOSELOOP_CLOSING_QUEUE_URL) with an SQS client from env, or an error when
// the URL is not set.
func ClosingFromEnv(env boot.Env) (SQS, error) {
	if env.Config.ClosingQueueURL == "" {
		return SQS{}, errors.New("CLOSELOOP_CLOSING_QUEUE_URL is not set")
	}
	// A method value, not the client: an interface holding *sqs.Client
	// would link all of its operations into every function that renders a
	// template (see dynamo.SDK).
	return SQS{Client: sendMessageBatch(sqsClient(env).SendMessageBatch), URL: env.Config.ClosingQueueURL}, nil
}

// Ack is the closing queue's message that asks for the one
// acknowledgement of the comment on survey surveyID (package closing
// handles it).
func Ack(surveyID string) string {
	b, _ := json.Marshal(map[string]string{"ack": surveyID})
	return string(b)
}

// Alert is the closing queue's message that asks for the team's alerts of
// follow-up case caseID (package closing handles it).
func Alert(caseID string) string {
	b, _ := json.Marshal(map[string]string{"alert": caseID})
	return string(b)
}

// DeadLetter is one message that gave up on its queue.
type DeadLetter struct {
	ID   string `json:"id"`
	Body string `json:"body"`
}

// DLQClient is the part of the SQS SDK client a DLQ uses.
type DLQClient interface {
	ReceiveMessage(context.Context, *sqs.ReceiveMessageInput, ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	SendMessage(context.Context, *sqs.SendMessageInput, ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
	DeleteMessage(context.Context, *sqs.DeleteMessageInput, ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
}

// DeadLetters lists and replays one dead-letter queue.
type DeadLetters interface {
	List(ctx context.Context) ([]DeadLetter, error)
	Replay(ctx context.Context) (int, error)
}

// DLQ is a dead-letter queue and the queue its messages came from.
type DLQ struct {
	Client DLQClient
	URL    string // the dead-letter queue
	Source string // the queue to replay into
}

// maxDeadLetters bounds one listing or replay.
const maxDeadLetters = 1000

// List returns up to 1,000 dead letters. Reading hides them for a few
// seconds (SQS has no peek); they stay in the queue.
func (d DLQ) List(ctx context.Context) ([]DeadLetter, error) {
	var out []DeadLetter
	seen := map[string]bool{}
	for len(out) < maxDeadLetters {
		res, err := d.Client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &d.URL, MaxNumberOfMessages: 10, VisibilityTimeout: 5, WaitTimeSeconds: 0})
		if err != nil {
			return out, fmt.Errorf("list dead letters: %w", err)
		}
		fresh := 0
		for _, m := range res.Messages {
			if id := aws.ToString(m.MessageId); !seen[id] {
				seen[id] = true
				fresh++
				out = append(out, DeadLetter{ID: id, Body: aws.ToString(m.Body)})
			}
		}
		if fresh == 0 {
			return out, nil
		}
	}
	return out, nil
}

// Replay sends every dead letter (up to 1,000) back to its source queue
// and deletes it from the dead-letter queue, each once; a message whose
// delete fails after its send may be delivered twice, which the consumers'
// claims make harmless.
func (d DLQ) Replay(ctx context.Context) (int, error) {
	n := 0
	for n < maxDeadLetters {
		res, err := d.Client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &d.URL, MaxNumberOfMessages: 10, VisibilityTimeout: 60})
		if err != nil {
			return n, fmt.Errorf("replay dead letters: %w", err)
		}
		if len(res.Messages) == 0 {
			return n, nil
		}
		for _, m := range res.Messages {
			if _, err := d.Client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &d.Source, MessageBody: m.Body}); err != nil {
				return n, fmt.Errorf("replay %s: %w", aws.ToString(m.MessageId), err)
			}
			if _, err := d.Client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &d.URL, ReceiptHandle: m.ReceiptHandle}); err != nil {
				return n, fmt.Errorf("delete replayed %s: %w", aws.ToString(m.MessageId), err)
			}
			n++
		}
	}
	return n, nil
}

// DLQsFromEnv returns the dead-letter queues named in the configuration
// (CLOSELOOP_CLOSING_DLQ_URL with CLOSELOOP_CLOSING_QUEUE_URL, and
// CLOSELOOP_SES_EVENTS_DLQ_URL with CLOSELOOP_SES_EVENTS_QUEUE_URL), by
// queue name ("closing", "ses-events").
func DLQsFromEnv(env boot.Env) map[string]DeadLetters {
	c := dlqSDK(sqsClient(env))
	out := map[string]DeadLetters{}
	for name, prefix := range map[string]string{"closing": "CLOSELOOP_CLOSING_", "ses-events": "CLOSELOOP_SES_EVENTS_"} {
		if dlq, src := env.Getenv(prefix+"DLQ_URL"), env.Getenv(prefix+"QUEUE_URL"); dlq != "" && src != "" {
			out[name] = DLQ{Client: c, URL: dlq, Source: src}
		}
	}
	return out
}

func sqsClient(env boot.Env) *sqs.Client {
	return sqs.NewFromConfig(env.AWS, func(o *sqs.Options) { o.BaseEndpoint = boot.Endpoint(env.Getenv, "SQS") })
}

// sendMessageBatch is an SQSClient made of the one operation.
type sendMessageBatch func(context.Context, *sqs.SendMessageBatchInput, ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)

func (f sendMessageBatch) SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, o ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	return f(ctx, in, o...)
}

// dlqClient is the SQS client's operations a DLQ calls, held as method
// values (see sendMessageBatch).
type dlqClient struct {
	receiveMessage func(context.Context, *sqs.ReceiveMessageInput, ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	sendMessage    func(context.Context, *sqs.SendMessageInput, ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
	deleteMessage  func(context.Context, *sqs.DeleteMessageInput, ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
}

func dlqSDK(c *sqs.Client) dlqClient {
	return dlqClient{receiveMessage: c.ReceiveMessage, sendMessage: c.SendMessage, deleteMessage: c.DeleteMessage}
}

func (c dlqClient) ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, o ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	return c.receiveMessage(ctx, in, o...)
}

func (c dlqClient) SendMessage(ctx context.Context, in *sqs.SendMessageInput, o ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	return c.sendMessage(ctx, in, o...)
}

func (c dlqClient) DeleteMessage(ctx context.Context, in *sqs.DeleteMessageInput, o ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error) {
	return c.deleteMessage(ctx, in, o...)
}
