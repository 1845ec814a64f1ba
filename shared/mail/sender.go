// Package mail sends Closeloop's emails through the SES v2 API and renders
// them. Messages use SES Simple content with custom headers (List-Unsubscribe
// and List-Unsubscribe-Post for RFC 8058 one-click unsubscribe), which SES
// recommends over raw MIME.
package mail

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"
	"golang.org/x/time/rate"

	"github.com/closeloop/closeloop/shared/closeloop"
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
}

// Sender sends Messages through SES v2, no faster than its rate.
type Sender struct {
	ses              Client
	from             string
	configurationSet string
	limit            *rate.Limiter
}

// NewSender returns a sender from address from (e.g. "Acme Support
// <support@acme.example>"), using SES configuration set configSet when not
// empty, and sending at most perSecond messages a second (SES's account
// sending rate; 0 means no limit).
func NewSender(ses Client, from, configSet string, perSecond float64) *Sender {
	lim := rate.NewLimiter(rate.Inf, 1)
	if perSecond > 0 {
		lim = rate.NewLimiter(rate.Limit(perSecond), max(1, int(perSecond)))
	}
	return &Sender{ses: ses, from: from, configurationSet: configSet, limit: lim}
}

// ErrTemporary wraps a send failure worth retrying later (throttling, a
// server or network error). Any other failure is permanent for that message.
var ErrTemporary = errors.New("temporary")

// Send sends m and returns SES's message id. It waits for the rate limiter
// first. Its error wraps ErrTemporary when a retry may succeed.
func (s *Sender) Send(ctx context.Context, m Message) (string, error) {
	if err := s.limit.Wait(ctx); err != nil {
		return "", closeloop.Errorf(ErrTemporary, "send: %w", err)
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
	if err != nil {
		if temporary(err) {
			return "", closeloop.Errorf(ErrTemporary, "send: %w", err)
		}
		return "", fmt.Errorf("send: %w", err)
	}
	return aws.ToString(out.MessageId), nil
}

// temporary reports whether err is throttling, a server fault or a network
// error: the kinds a later retry can get past.
func temporary(err error) bool {
	var tooMany *types.TooManyRequestsException
	var limit *types.LimitExceededException
	if errors.As(err, &tooMany) || errors.As(err, &limit) {
		return true
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorFault() == smithy.FaultServer || api.ErrorCode() == "Throttling"
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded)
}

// FromEnv returns the sender of a started function or of the local stack:
// an SES v2 client from env (endpoint override AWS_ENDPOINT_URL_SESV2), the
// configured From address and configuration set, at most rate emails a
// second (0: no limit).
func FromEnv(env boot.Env, rate float64) *Sender {
	return NewSender(SESClient(env), env.Config.From, env.Config.SESConfigurationSet, rate)
}

// SESClient returns an SES v2 client from env (endpoint override
// AWS_ENDPOINT_URL_SESV2).
func SESClient(env boot.Env) *sesv2.Client {
	return sesv2.NewFromConfig(env.AWS, func(o *sesv2.Options) { o.BaseEndpoint = boot.Endpoint(env.Getenv, "SESV2") })
}
