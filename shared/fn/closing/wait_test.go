package closing_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/local/awstest"
	"github.com/closeloop/closeloop/shared/mail"
	"github.com/closeloop/closeloop/shared/queue"
	"github.com/closeloop/closeloop/shared/slack"
)

// TestUnsubscribeWhileTheEmailWaitsForItsTurn: a person who unsubscribes
// while their "you said, we did" email, or their comment's
// acknowledgement, waits for the sending rate (a busy account's quota) is
// not mailed: the person is read again once the email may go. Someone who
// does not unsubscribe gets it after the same wait.
func TestUnsubscribeWhileTheEmailWaitsForItsTurn(t *testing.T) {
	for _, kind := range []string{"closing", "ack"} {
		for _, leaves := range []bool{false, true} {
			name := kind
			if leaves {
				name += ", unsubscribed while it waits"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				st := awstest.Stack(t, closeloop.Config{})
				e := awstest.Email()
				sv := answered(t, st, e, "Exports are slow", "exports")
				body := queue.Ack(sv.ID)
				var im closeloop.Improvement
				if kind == "closing" {
					im = announce(t, st, "exports")
					body = batchOf(im, sv)
				}
				st.Closing.Mailer = mail.NewSender(awstest.SES(), "Acme <support@acme.test>", "", &awstest.SlowTurn{During: func() {
					if leaves {
						if err := st.Store.Suppress(context.Background(), e, "unsubscribed"); err != nil {
							t.Error(err)
						}
					}
				}})
				if res, err := st.Closing.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m1", Body: body}}}); err != nil || len(res.BatchItemFailures) != 0 {
					t.Fatalf("message: %+v, %v", res, err)
				}
				want := 1
				if leaves {
					want = 0
				}
				if n := len(awstest.MailTo(t, e)); n != want {
					t.Errorf("%d emails after the wait, want %d", n, want)
				}
				if kind != "closing" {
					return
				}
				p := closeloop.Progress{Recipients: 1, Sent: 1}
				if leaves {
					p = closeloop.Progress{Recipients: 1, Suppressed: 1}
				}
				if got := progress(t, st, im.ID); got != p {
					t.Errorf("progress %+v, want %+v", got, p)
				}
			})
		}
	}
}

// TestSlowSlackIsPostedOnce: a Slack receiver that took the alert and
// answered too late may have shown it: the alert counts as posted and a
// redelivery of the message does not post it again.
func TestSlowSlackIsPostedOnce(t *testing.T) {
	st := awstest.Stack(t, closeloop.Config{})
	var posts atomic.Int64
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		posts.Add(1)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	st.Closing.Slack = &slack.Slack{URL: srv.URL, Timeout: 200 * time.Millisecond}
	sv := answeredWith(t, st, awstest.Email(), "Slow", 1)
	if err := st.Store.OpenCase(context.Background(), closeloop.NewCase(sv, "", time.Now())); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if res, err := st.Closing.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m1", Body: queue.Alert(sv.ID)}}}); err != nil || len(res.BatchItemFailures) != 0 {
			t.Errorf("delivery %d: %+v, %v; want done (the post may have arrived)", i+1, res, err)
		}
	}
	if n := posts.Load(); n != 1 {
		t.Errorf("%d posts, want 1", n)
	}
}
