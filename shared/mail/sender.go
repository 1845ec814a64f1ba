// Package mail sends Closeloop's emails through the SES v2 API and renders
// them. Messages use SES Simple content with custom headers (List-Unsubscribe
// and List-Unsubscribe-Post for RFC 8058 one-click unsubscribe), which SES
// recommends over raw MIME.
package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/platform/awsretry"
	"github.com/closeloop/closeloop/shared/platform/boot"
)

// Client is the part of the SES v2 SDK client the sender uses.
type Client interface {
	SendEmail(context.Context, *sesv2.SendEmailInput, ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error)
}

// Message is one email to one person.
type Message struct {
	To      string
	Subject string
	HTML    string
	Text    string
	ReplyTo string            // where replies go, when not to the sender
	Headers map[string]string // extra headers, e.g. List-Unsubscribe
	Tags    map[string]string // SES message tags (ids only), for event routing and metrics
	// Recheck, when set, runs once the sending rate lets the email go,
	// right before SES is called: an error stops the email, nothing is
	// sent, and Send returns that error as it is. The senders ask there
	// whether the person unsubscribed while the email waited for its turn.
	Recheck func(ctx context.Context) error
}

// Sender sends Messages through SES v2, no faster than its limiter lets it.
type Sender struct {
	ses              Client
	from             string
	configurationSet string
	limit            Limiter
}

// NewSender returns a sender from address from (e.g. "Acme Support
// <support@acme.example>"), using SES configuration set configSet when not
// empty, and waiting for lim before each email (nil: no limit).
func NewSender(ses Client, from, configSet string, lim Limiter) *Sender {
	return &Sender{ses: ses, from: from, configurationSet: configSet, limit: lim}
}

// ErrTemporary wraps a send failure worth retrying later (throttling, a
// server or network error). Any other failure is permanent for that message.
var ErrTemporary = errors.New("temporary")

// ErrNoTime is the temporary error of an email not sent because the
// invocation was about to end (SendMargin): nothing was tried, so it is
// no failed attempt of the email's. It wraps ErrTemporary.
var ErrNoTime = fmt.Errorf("%w: too close to the invocation's deadline", ErrTemporary)

// RecheckAge is how old the read an email was decided on may be when the
// email goes: one that waited longer for the sending rate reads its person
// again (Message.Recheck, StillMailable), so an unsubscribe during a long
// wait for a busy account's quota is honoured.
const RecheckAge = 2 * time.Second

// ErrUnsubscribed is a Recheck's answer for a person who unsubscribed,
// bounced, complained or was erased since the email was decided.
var ErrUnsubscribed = errors.New("the person may no longer be mailed")

// ErrRecheck is a Recheck's error when the person could not be read again:
// nothing was sent. It wraps ErrTemporary.
var ErrRecheck = fmt.Errorf("%w: the person could not be read again", ErrTemporary)

// StillMailable is the Message.Recheck of an email to contact id decided on
// a read at read: once the email may go, and only when that read is older
// than RecheckAge, get reads the person again. Most emails wait for no one
// and read nothing more.
func StillMailable(read time.Time, id string, get func(context.Context, string) (closeloop.Contact, error)) func(context.Context) error {
	return func(ctx context.Context) error {
		if time.Since(read) < RecheckAge {
			return nil
		}
		c, err := get(ctx, id)
		switch {
		case errors.Is(err, closeloop.ErrNotFound):
			return ErrUnsubscribed
		case err != nil:
			return fmt.Errorf("%w: %w", ErrRecheck, err)
		case c.Suppressed != "":
			return ErrUnsubscribed
		}
		return nil
	}
}

// SendMargin is the time before an invocation's deadline from which no
// email starts, nor waits for the sending rate: an SES call takes well under
// a second.
const SendMargin = 3 * time.Second

// Send sends m and returns SES's message id. It waits for the rate limiter
// first. Its error wraps ErrTemporary when a retry may succeed.
//
// When the request went out and the connection failed before SES answered,
// SES may well have sent the email; sending again could send it twice.
// Closeloop errs on the side of at most once: Send neither retries nor
// fails then, but returns no message id and no error, and the email counts
// as sent (docs/reliability.md).
func (s *Sender) Send(ctx context.Context, m Message) (string, error) {
	// No email starts within SendMargin of the invocation's end: one cut
	// off mid-call may or may not have gone, and is never resent.
	wait := ctx
	if d, ok := ctx.Deadline(); ok {
		if time.Until(d) < SendMargin {
			return "", fmt.Errorf("send: %w", ErrNoTime)
		}
		var cancel context.CancelFunc
		wait, cancel = context.WithDeadline(ctx, d.Add(-SendMargin))
		defer cancel()
	}
	if s.limit != nil {
		if err := s.limit.Wait(wait); err != nil {
			if wait.Err() != nil && ctx.Err() == nil {
				return "", fmt.Errorf("send: waiting for the sending rate: %w", ErrNoTime)
			}
			return "", closeloop.Errorf(ErrTemporary, "send: %w", err)
		}
	}
	if m.Recheck != nil {
		// Within the same margin as the wait: a slow read must not push
		// the SES call into the invocation's last seconds.
		err := m.Recheck(wait)
		if wait.Err() != nil && ctx.Err() == nil {
			return "", fmt.Errorf("send: checking the person again: %w", ErrNoTime)
		}
		if err != nil {
			return "", err
		}
	}
	msg := &types.Message{
		Subject: &types.Content{Data: aws.String(m.Subject), Charset: aws.String("UTF-8")},
		Body:    &types.Body{},
	}
	if m.HTML != "" {
		msg.Body.Html = &types.Content{Data: aws.String(m.HTML), Charset: aws.String("UTF-8")}
	}
	if m.Text != "" {
		msg.Body.Text = &types.Content{Data: aws.String(m.Text), Charset: aws.String("UTF-8")}
	}
	for _, k := range slices.Sorted(maps.Keys(m.Headers)) {
		msg.Headers = append(msg.Headers, types.MessageHeader{Name: aws.String(k), Value: aws.String(m.Headers[k])})
	}
	in := &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(s.from),
		Destination:      &types.Destination{ToAddresses: []string{m.To}},
		Content:          &types.EmailContent{Simple: msg},
	}
	if m.ReplyTo != "" {
		in.ReplyToAddresses = []string{m.ReplyTo}
	}
	if s.configurationSet != "" {
		in.ConfigurationSetName = aws.String(s.configurationSet)
	}
	for _, k := range slices.Sorted(maps.Keys(m.Tags)) {
		in.EmailTags = append(in.EmailTags, types.MessageTag{Name: aws.String(k), Value: aws.String(m.Tags[k])})
	}
	out, err := s.ses.SendEmail(ctx, in)
	switch {
	case err == nil:
		return aws.ToString(out.MessageId), nil
	case outcomeUnknown(err) && !awsretry.NeverSent(err):
		slog.WarnContext(ctx, "ses: the call ended after the email may have gone; counted as sent, not retried", "tags", m.Tags, "err", err)
		return "", nil
	case temporary(err):
		return "", closeloop.Errorf(ErrTemporary, "send: %w", err)
	}
	return "", fmt.Errorf("send: %w", err)
}

// temporary reports whether err is throttling, a server fault, or a
// connection that failed before the request left: the kinds a later retry
// can get past without sending twice.
func temporary(err error) bool {
	var tooMany *types.TooManyRequestsException
	var limit *types.LimitExceededException
	if errors.As(err, &tooMany) || errors.As(err, &limit) {
		return true
	}
	// A server error (SES's own, or a gateway's HTML page) is tried again
	// later by the caller: the SDK does not retry it (awsretry), and SES
	// v2 names few of them.
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) && status.HTTPStatusCode() >= 500 {
		return true
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorFault() == smithy.FaultServer || api.ErrorCode() == "Throttling"
	}
	if awsretry.NeverSent(err) {
		return true
	}
	var send *smithyhttp.RequestSendError
	return !errors.As(err, &send) && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled))
}

// outcomeUnknown reports whether the request may have reached SES: the
// HTTP exchange failed after the connection was made, or the context ended
// during the call (the SDK then reports it canceled, without the send
// error, whether or not the request had left).
func outcomeUnknown(err error) bool {
	var send *smithyhttp.RequestSendError
	var canceled *smithy.CanceledError
	return errors.As(err, &send) && !awsretry.NeverSent(err) || errors.As(err, &canceled)
}

// FromEnv returns the sender of a started function: an SES v2 client from
// env (endpoint override AWS_ENDPOINT_URL_SESV2), the configured From
// address and configuration set, and the sending rate every sender of the
// stack shares through store: CLOSELOOP_SES_MAX_RATE emails a second, or
// the account's SES quota when that is not set.
func FromEnv(env boot.Env, store TokenStore) *Sender {
	ses := FromSDK(SESClient(env))
	quota := AccountQuota(ses)
	if r := env.Config.SESMaxRate; r > 0 {
		quota = Fixed(r)
	}
	return NewSender(ses, env.Config.From, env.Config.SESConfigurationSet, &Shared{Store: store, Quota: quota})
}

// SESClient returns an SES v2 client from env (endpoint override
// AWS_ENDPOINT_URL_SESV2) whose retries never resend an email SES may have
// taken (awsretry.AtMostOnce).
func SESClient(env boot.Env) *sesv2.Client {
	return sesv2.NewFromConfig(env.AWS, func(o *sesv2.Options) {
		o.BaseEndpoint = boot.Endpoint(env.Getenv, "SESV2")
		o.Retryer = awsretry.Retryer()
	})
}

// SDK is the SES client's operations the sender and AccountQuota call, held
// as method values: an interface holding *sesv2.Client itself would link all
// of its operations into every function that renders a template (see
// dynamo.SDK).
type SDK struct {
	sendEmail  func(context.Context, *sesv2.SendEmailInput, ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error)
	getAccount func(context.Context, *sesv2.GetAccountInput, ...func(*sesv2.Options)) (*sesv2.GetAccountOutput, error)
}

// FromSDK returns c's operations as an SDK.
func FromSDK(c *sesv2.Client) SDK { return SDK{sendEmail: c.SendEmail, getAccount: c.GetAccount} }

func (s SDK) SendEmail(ctx context.Context, in *sesv2.SendEmailInput, o ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error) {
	return s.sendEmail(ctx, in, o...)
}

func (s SDK) GetAccount(ctx context.Context, in *sesv2.GetAccountInput, o ...func(*sesv2.Options)) (*sesv2.GetAccountOutput, error) {
	return s.getAccount(ctx, in, o...)
}
