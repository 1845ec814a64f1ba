package closing_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/local/awstest"
	"github.com/closeloop/closeloop/shared/mail"
)

// slowTurn is a sending rate that keeps the first email waiting for its
// turn, and runs during while it waits.
type slowTurn struct {
	once   sync.Once
	during func()
	wait   time.Duration
}

func (l *slowTurn) Wait(ctx context.Context) error {
	l.once.Do(func() {
		l.during()
		time.Sleep(l.wait)
	})
	return nil
}

// TestUnsubscribeWhileTheEmailWaitsForItsTurn: a person who unsubscribes
// while their email waits for the sending rate (a busy account's quota) is
// not mailed: the person is read again once the email may go, when the
// batch's read is older than it may be.
func TestUnsubscribeWhileTheEmailWaitsForItsTurn(t *testing.T) {
	st := awstest.Stack(t, closeloop.Config{})
	e := awstest.Email()
	sv := answered(t, st, e, "Exports are slow", "exports")
	im := announce(t, st, "exports")
	st.Closing.Mailer = mail.NewSender(awstest.SES(), "Acme <support@acme.test>", "", &slowTurn{wait: 2500 * time.Millisecond, during: func() {
		if err := st.Store.Suppress(context.Background(), e, "unsubscribed"); err != nil {
			t.Error(err)
		}
	}})
	if res, err := st.Closing.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m1", Body: batchOf(im, sv)}}}); err != nil || len(res.BatchItemFailures) != 0 {
		t.Fatalf("batch: %+v, %v", res, err)
	}
	if n := len(awstest.MailTo(t, e)); n != 0 {
		t.Errorf("the person who unsubscribed while their email waited got %d emails", n)
	}
	if got, want := progress(t, st, im.ID), (closeloop.Progress{Recipients: 1, Suppressed: 1}); got != want {
		t.Errorf("progress %+v, want %+v", got, want)
	}
}
