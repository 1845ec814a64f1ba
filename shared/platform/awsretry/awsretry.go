// Package awsretry holds the SDK retry checks for calls that must happen at
// most once: an SES email, an atomic ADD to a counter. The SDK's default
// checks retry a connection that failed after the request left, which
// repeats a call the service may have done already (an email sent twice, a
// count added twice); these retry it only when the request never left.
package awsretry

import (
	"errors"
	"net"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
)

// AtMostOnce are the SDK's retry checks for a call that must not happen
// twice: throttling (nothing was done) and a connection that failed before
// the request left (NeverSent). Not a lost connection after it left, a
// server error or a timeout, any of which may come after the service did
// the call: those end the call, and its caller decides.
var AtMostOnce = []retry.IsErrorRetryable{
	retry.NoRetryCanceledError{},
	notSent{},
	retry.RetryableErrorCode{Codes: retry.DefaultThrottleErrorCodes},
}

// Retryer returns a standard retryer with the AtMostOnce checks.
func Retryer() aws.Retryer {
	return retry.NewStandard(func(so *retry.StandardOptions) { so.Retryables = AtMostOnce })
}

// NeverSent reports whether err is a connection that failed before the
// request left: refused or failed dials, and failed DNS look-ups.
func NeverSent(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns) && !dns.IsNotFound
}

// notSent is the retry check that stands in for the SDK's default
// connection check: it retries a connection error only when the request
// never left.
type notSent struct{}

func (notSent) IsErrorRetryable(err error) aws.Ternary {
	if NeverSent(err) {
		return aws.TrueTernary
	}
	return aws.UnknownTernary
}
