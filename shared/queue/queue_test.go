package queue

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

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
