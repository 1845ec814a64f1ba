package mail_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/local/awstest"
	"github.com/closeloop/closeloop/shared/mail"
)

func TestMain(m *testing.M) { awstest.Main(m) }

// TestSendThroughSES sends a rendered survey through the SES v2 API to the
// local SES server and reads it back as stored there.
func TestSendThroughSES(t *testing.T) {
	s := mail.NewSender(awstest.SES(), "Acme Support <support@acme.test>", "", nil)
	to := awstest.Email()
	m, err := mail.SurveyEmail(to, mail.Survey{Name: "Jürgen", TicketSubject: "Drucker brennt", Kind: closeloop.NPS, Locale: "de", BaseURL: "https://fb.acme.test", Token: "tok", UnsubscribeToken: "U"})
	if err != nil {
		t.Fatal(err)
	}
	id, err := s.Send(context.Background(), m)
	if err != nil || id == "" {
		t.Fatalf("send: %q, %v", id, err)
	}
	got := awstest.MailTo(t, to)
	if len(got) != 1 {
		t.Fatalf("%d stored emails, want 1", len(got))
	}
	g := got[0]
	if g.Subject != "Wie waren wir? (Drucker brennt)" {
		t.Errorf("subject %q", g.Subject)
	}
	if g.From != "Acme Support <support@acme.test>" {
		t.Errorf("from %q", g.From)
	}
	if g.Body.HTML != m.HTML || g.Body.Text != m.Text {
		t.Errorf("bodies changed on the way")
	}
	if h := g.Header("List-Unsubscribe"); h != "<https://fb.acme.test/u/U>" {
		t.Errorf("List-Unsubscribe %q", h)
	}
	if h := g.Header("List-Unsubscribe-Post"); h != "List-Unsubscribe=One-Click" {
		t.Errorf("List-Unsubscribe-Post %q", h)
	}
}

// failing is an SES client that fails every send with err: an injected fault.
type failing struct{ err error }

func (f failing) SendEmail(context.Context, *sesv2.SendEmailInput, ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error) {
	return nil, f.err
}

func TestTemporaryErrors(t *testing.T) {
	tests := []struct {
		err       error
		temporary bool
	}{
		{&types.TooManyRequestsException{Message: new(string)}, true},
		{&types.LimitExceededException{Message: new(string)}, true},
		{fmt.Errorf("wrapped: %w", &types.TooManyRequestsException{}), true},
		{&types.MessageRejected{Message: new(string)}, false},
		{&types.AccountSuspendedException{}, false},
		{context.DeadlineExceeded, true},
		{errors.New("something odd"), false},
		{httpStatus(500), true}, // InternalFailure, ServiceUnavailable or an HTML 502: SES did not say, and nothing the SDK retries now
		{httpStatus(503), true},
		{httpStatus(400), false},
	}
	for _, tt := range tests {
		s := mail.NewSender(failing{tt.err}, "a@b.test", "", nil)
		_, err := s.Send(context.Background(), mail.Message{To: "x@example.com", Subject: "s", Text: "t"})
		if err == nil {
			t.Fatalf("%T: no error", tt.err)
		}
		if got := errors.Is(err, mail.ErrTemporary); got != tt.temporary {
			t.Errorf("%v: temporary %v, want %v", tt.err, got, tt.temporary)
		}
	}
}

// TestConnectionErrors: a connection that failed before the request left is
// temporary (retried); one that failed after it left may have sent the
// email, so it counts as sent (no error, no message id) and is not retried.
func TestConnectionErrors(t *testing.T) {
	send := func(err error) (string, error) {
		s := mail.NewSender(failing{err}, "a@b.test", "", nil)
		return s.Send(context.Background(), mail.Message{To: "x@example.com", Subject: "s", Text: "t"})
	}
	dial := &smithyhttp.RequestSendError{Err: &url.Error{Op: "Post", URL: "https://email", Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}}
	if _, err := send(dial); !errors.Is(err, mail.ErrTemporary) {
		t.Errorf("a refused connection: %v, want temporary", err)
	}
	lost := &smithyhttp.RequestSendError{Err: &url.Error{Op: "Post", URL: "https://email", Err: &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}}}
	if id, err := send(lost); err != nil || id != "" {
		t.Errorf("a connection lost after sending: %q %v, want counted as sent", id, err)
	}
	timeout := &smithyhttp.RequestSendError{Err: &url.Error{Op: "Post", URL: "https://email", Err: context.DeadlineExceeded}}
	if _, err := send(timeout); err != nil {
		t.Errorf("a deadline while waiting for SES: %v, want counted as sent", err)
	}
	// The SDK reports a context that ended during the exchange as canceled,
	// without the send error: SES may have the email all the same.
	canceled := &smithy.CanceledError{Err: context.DeadlineExceeded}
	if _, err := send(canceled); err != nil {
		t.Errorf("a context that ended during the call: %v, want counted as sent", err)
	}
}

// TestRecheckStopsTheEmail: a Recheck runs after the sending rate's wait;
// one that says no stops the email (SES is not called, and its error comes
// back as it is), one that says yes lets it go, and one that runs into the
// invocation's last seconds stops it as ErrNoTime.
func TestRecheckStopsTheEmail(t *testing.T) {
	no := errors.New("unsubscribed meanwhile")
	var order []string
	s := mail.NewSender(awstest.SES(), "a@b.test", "", waitRecorder{&order})
	to := awstest.Email()
	recheck := func(err error) func(context.Context) error {
		return func(context.Context) error { order = append(order, "recheck"); return err }
	}
	_, err := s.Send(context.Background(), mail.Message{To: to, Subject: "s", Text: "t", Recheck: recheck(no)})
	if err != no || !slices.Equal(order, []string{"wait", "recheck"}) {
		t.Errorf("a recheck that says no: %v after %v; want its own error, the recheck after the wait", err, order)
	}
	if n := len(awstest.MailTo(t, to)); n != 0 {
		t.Errorf("%d emails sent after a recheck said no", n)
	}
	if _, err := s.Send(context.Background(), mail.Message{To: to, Subject: "s", Text: "t", Recheck: recheck(nil)}); err != nil {
		t.Fatal(err)
	}
	if n := len(awstest.MailTo(t, to)); n != 1 {
		t.Errorf("%d emails sent after a recheck said yes, want 1", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), mail.SendMargin+200*time.Millisecond)
	defer cancel()
	slow := func(ctx context.Context) error {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
			return nil
		}
	}
	if _, err := s.Send(ctx, mail.Message{To: to, Subject: "s", Text: "t", Recheck: slow}); !errors.Is(err, mail.ErrNoTime) {
		t.Errorf("a recheck that ran into the invocation's last seconds: %v, want ErrNoTime", err)
	}
	if n := len(awstest.MailTo(t, to)); n != 1 {
		t.Errorf("%d emails in all, want 1: the late one must not go", n)
	}
}

type waitRecorder struct{ order *[]string }

func (w waitRecorder) Wait(context.Context) error { *w.order = append(*w.order, "wait"); return nil }

// httpStatus is an SES answer's error with only its HTTP status known.
type httpStatus int

func (e httpStatus) Error() string       { return fmt.Sprintf("http %d", int(e)) }
func (e httpStatus) HTTPStatusCode() int { return int(e) }
