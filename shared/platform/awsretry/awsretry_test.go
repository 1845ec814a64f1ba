package awsretry

import (
	"fmt"
	"net"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// TestOnlyWhatNeverLeftIsRetried: a refused dial is retried; a connection
// reset after the request left is not left to the default check's retry.
func TestOnlyWhatNeverLeftIsRetried(t *testing.T) {
	dial := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	reset := &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	if !NeverSent(dial) || NeverSent(reset) {
		t.Errorf("NeverSent: dial %v, reset %v", NeverSent(dial), NeverSent(reset))
	}
	r := Retryer()
	if !r.IsErrorRetryable(dial) {
		t.Error("a refused dial is not retried")
	}
	if r.IsErrorRetryable(reset) {
		t.Error("a connection reset after the request left is retried")
	}
	if r.IsErrorRetryable(statusError(500)) || r.IsErrorRetryable(statusError(503)) {
		t.Error("a server error, which may come after the call was done, is retried")
	}
	if (notSent{}).IsErrorRetryable(reset) != aws.UnknownTernary {
		t.Error("notSent decides a reset instead of leaving it to the other checks")
	}
}

// statusError is an HTTP answer's error, as the SDK's retry checks see it.
type statusError int

func (e statusError) Error() string       { return "status " + fmt.Sprint(int(e)) }
func (e statusError) HTTPStatusCode() int { return int(e) }
