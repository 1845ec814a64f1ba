package dynamo_test

import (
	"context"
	"errors"
	"testing"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/local/awstest"
)

// TestDynamoDBThrottlingRetriedFourTimes: the functions' DynamoDB client
// makes 4 attempts, DynamoDB's own default in the SDK (25 ms base delay),
// so three throttled answers in a row still read the item. The service
// module held before schema-based serialization (go.mod) makes 3 unless
// boot sets it.
func TestDynamoDBThrottlingRetriedFourTimes(t *testing.T) {
	f := &awstest.Faults{Rule: func(op string, n int) awstest.Fault {
		if op == "dynamodb.GetItem" && n < 3 {
			return awstest.Throttle
		}
		return awstest.Pass
	}}
	st := awstest.FaultyStack(t, awstest.Config(), f)
	if _, err := st.Store.GetContact(context.Background(), "nobody"); !errors.Is(err, closeloop.ErrNotFound) {
		t.Fatalf("GetContact after 3 throttled answers: %v, want ErrNotFound (the fourth attempt answered)", err)
	}
	if got := f.Injected()["dynamodb.GetItem throttle"]; got != 3 {
		t.Errorf("%d throttled answers injected, want 3", got)
	}
}
