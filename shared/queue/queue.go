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
	c := sqs.NewFromConfig(env.AWS, func(o *sqs.Options) { o.BaseEndpoint = boot.Endpoint(env.Getenv, "SQS") })
	return SQS{Client: c, URL: env.Config.ClosingQueueURL}, nil
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
