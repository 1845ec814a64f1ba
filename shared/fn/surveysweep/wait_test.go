package surveysweep_test

import (
	"context"
	"sync"
	"testing"
	"time"

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

// TestUnsubscribeWhileTheSurveyWaitsForItsTurn: a person who unsubscribes
// while their survey waits for the sending rate is not mailed; the survey
// is dropped and the ticket counted suppressed. A reminder waiting its turn
// is stopped the same way.
func TestUnsubscribeWhileTheSurveyWaitsForItsTurn(t *testing.T) {
	st := awstest.Stack(t, closeloop.Config{})
	ctx := context.Background()
	e := awstest.Email()
	solve(t, st, "wait-1", e)
	unsubscribe := func() {
		if err := st.Store.Suppress(context.Background(), e, "unsubscribed"); err != nil {
			t.Error(err)
		}
	}
	st.Sweeper.Mailer = mail.NewSender(awstest.SES(), "Acme <support@acme.test>", "", &slowTurn{wait: 2500 * time.Millisecond, during: unsubscribe})
	res, err := st.Sweeper.Run(ctx)
	if err != nil || res.Sent != 0 || res.Suppressed != 1 {
		t.Errorf("sweep %+v, %v; want 1 suppressed, none sent", res, err)
	}
	if n := len(awstest.MailTo(t, e)); n != 0 {
		t.Errorf("the person who unsubscribed while their survey waited got %d emails", n)
	}
	tk, err := st.Store.GetTicket(ctx, "generic", "wait-1")
	if err != nil || tk.State != closeloop.SurveySuppressed {
		t.Errorf("ticket %s, %v; want suppressed", tk.State, err)
	}
	if tk.SurveyID != "" {
		if _, err := st.Store.GetSurvey(ctx, tk.SurveyID); err == nil {
			t.Error("the unsent survey is stored")
		}
	}

	// A reminder.
	r := awstest.Email()
	solve(t, st, "wait-2", r)
	st.Sweeper.Mailer = st.Sender
	st.Sweeper.ReminderDelay = 72 * time.Hour
	if res, err := st.Sweeper.Run(ctx); err != nil || res.Sent != 1 {
		t.Fatalf("survey: %+v, %v", res, err)
	}
	st.Sweeper.Mailer = mail.NewSender(awstest.SES(), "Acme <support@acme.test>", "", &slowTurn{wait: 2500 * time.Millisecond, during: func() {
		if err := st.Store.Suppress(context.Background(), r, "unsubscribed"); err != nil {
			t.Error(err)
		}
	}})
	st.Sweeper.Now = func() time.Time { return time.Now().Add(73 * time.Hour) }
	if res, err := st.Sweeper.Run(ctx); err != nil || res.Reminded != 0 || res.ReminderSkipped != 1 {
		t.Errorf("reminders %+v, %v; want 1 skipped", res, err)
	}
	if n := len(awstest.MailTo(t, r)); n != 1 {
		t.Errorf("the person who unsubscribed while their reminder waited got %d emails, want the survey only", n)
	}
}
