package surveysweep_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/fn/surveysweep"
	"github.com/closeloop/closeloop/shared/fn/webhook"
	"github.com/closeloop/closeloop/shared/local/awstest"
	"github.com/closeloop/closeloop/shared/local/devstack"
	"github.com/closeloop/closeloop/shared/mail"
)

// waiting makes st's sweep send through a sending rate that keeps the
// run's first email waiting while during runs.
func waiting(st *devstack.Stack, during func()) {
	st.Sweeper.Mailer = mail.NewSender(awstest.SES(), "Acme <support@acme.test>", "", &awstest.SlowTurn{During: during})
}

// TestUnsubscribeWhileTheEmailWaitsForItsTurn: a person who unsubscribes,
// or is erased, while their survey, reminder or check-in waits for the
// sending rate is not mailed; the survey is dropped and the ticket counted
// suppressed, the reminder and check-in skipped. Someone who does not
// unsubscribe gets each of them after the same wait.
func TestUnsubscribeWhileTheEmailWaitsForItsTurn(t *testing.T) {
	for _, leaves := range []bool{false, true} {
		for _, step := range []struct {
			name  string
			after time.Duration
			sent  func(r surveysweep.Result) bool
			held  func(r surveysweep.Result) bool
		}{
			{"survey", 0, func(r surveysweep.Result) bool { return r.Sent == 1 }, func(r surveysweep.Result) bool { return r.Suppressed == 1 }},
			{"reminder", 73 * time.Hour, func(r surveysweep.Result) bool { return r.Reminded == 1 }, func(r surveysweep.Result) bool { return r.ReminderSkipped == 1 }},
			{"check-in", 169 * time.Hour, func(r surveysweep.Result) bool { return r.CheckIns == 1 }, func(r surveysweep.Result) bool { return r.CheckInsSkipped == 1 }},
		} {
			name := step.name
			if leaves {
				name += ", unsubscribed while it waits"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				st := awstest.Stack(t, closeloop.Config{})
				st.Sweeper.ReminderDelay = 72 * time.Hour
				wh := webhook.New(closeloop.Config{SurveyKind: closeloop.CSAT, CheckInDelay: 168 * time.Hour}, st.Store)
				e := awstest.Email()
				if _, err := wh.Apply(ctx, awstest.Solved("wait", e), time.Now()); err != nil {
					t.Fatal(err)
				}
				// Mailed up to the step, without waiting.
				if step.after > 0 {
					if res, err := st.Sweeper.Run(ctx); err != nil || res.Sent != 1 {
						t.Fatalf("the survey first: %+v, %v", res, err)
					}
				}
				if step.after > 100*time.Hour {
					st.Sweeper.Now = func() time.Time { return time.Now().Add(73 * time.Hour) }
					if res, err := st.Sweeper.Run(ctx); err != nil || res.Reminded != 1 {
						t.Fatalf("the reminder first: %+v, %v", res, err)
					}
				}
				before := len(awstest.MailTo(t, e))
				waiting(st, func() {
					if leaves {
						if err := st.Store.Suppress(context.Background(), e, "unsubscribed"); err != nil {
							t.Error(err)
						}
					}
				})
				st.Sweeper.Now = func() time.Time { return time.Now().Add(step.after) }
				res, err := st.Sweeper.Run(ctx)
				if err != nil {
					t.Fatal(err)
				}
				got := len(awstest.MailTo(t, e)) - before
				switch {
				case leaves && (got != 0 || !step.held(res)):
					t.Errorf("%d emails, %+v; want none, suppressed or skipped", got, res)
				case !leaves && (got != 1 || !step.sent(res)):
					t.Errorf("%d emails, %+v; want it sent after the long wait", got, res)
				}
				if leaves && step.after == 0 {
					tk, err := st.Store.GetTicket(ctx, "generic", "wait")
					if err != nil || tk.State != closeloop.SurveySuppressed {
						t.Errorf("ticket %s, %v; want suppressed", tk.State, err)
					}
					if tk.SurveyID != "" {
						if _, err := st.Store.GetSurvey(ctx, tk.SurveyID); err == nil {
							t.Error("the unsent survey is stored")
						}
					}
				}
			})
		}
	}
}

// TestErasureWhileTheSurveyWaitsForItsTurn: a person erased while their
// survey waits for the sending rate is not mailed, and the ticket ends
// suppressed at once, not failed after its lease.
func TestErasureWhileTheSurveyWaitsForItsTurn(t *testing.T) {
	st := awstest.Stack(t, closeloop.Config{})
	ctx := context.Background()
	e := awstest.Email()
	solve(t, st, "erase-wait", e)
	waiting(st, func() {
		if _, err := st.Store.Erase(context.Background(), e); err != nil {
			t.Error(err)
		}
	})
	if res, err := st.Sweeper.Run(ctx); err != nil || res.Sent != 0 {
		t.Errorf("sweep %+v, %v; want nothing sent", res, err)
	}
	if n := len(awstest.MailTo(t, e)); n != 0 {
		t.Errorf("the erased person got %d emails", n)
	}
	tk, err := st.Store.GetTicket(ctx, "generic", "erase-wait")
	if err != nil || tk.State != closeloop.SurveySuppressed || tk.ContactID != "" {
		t.Errorf("ticket %s (contact %q), %v; want suppressed, without its contact", tk.State, tk.ContactID, err)
	}
}

// hookMailer runs during before each send, then sends through next, or
// refuses with fail when set.
type hookMailer struct {
	during func()
	next   surveysweep.Mailer
	fail   error
}

func (m *hookMailer) Send(ctx context.Context, msg mail.Message) (string, error) {
	m.during()
	if m.fail != nil {
		return "", m.fail
	}
	return m.next.Send(ctx, msg)
}

// TestWebhookWhileTheSurveyIsSending: a delivery that writes the ticket
// while its survey is being sent (a repeated solve, a reopen) takes nothing
// from the sweep: a sent survey is recorded sent with its reminder, a
// throttled one is tried again later (and cancelled, not sent, when the
// ticket was reopened meanwhile).
func TestWebhookWhileTheSurveyIsSending(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name      string
		status    closeloop.Status
		throttled bool
		state     closeloop.SurveyState
		emails    int
	}{
		{"solved again while sending", closeloop.StatusSolved, false, closeloop.SurveySent, 1},
		{"solved again while throttled", closeloop.StatusSolved, true, closeloop.SurveySent, 1},
		{"reopened while throttled", closeloop.StatusReopened, true, closeloop.SurveyCancelled, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := awstest.Stack(t, closeloop.Config{})
			st.Sweeper.ReminderDelay = 72 * time.Hour
			e := awstest.Email()
			solve(t, st, "during", e)
			wh := webhook.New(closeloop.Config{SurveyKind: closeloop.CSAT}, st.Store)
			m := &hookMailer{next: st.Sender, during: func() {
				ev := closeloop.TicketEvent{Source: "generic", EventID: awstest.Name("e"), TicketID: "during", Status: tt.status, OccurredAt: time.Now(), Customer: closeloop.Person{Email: e}}
				if _, err := wh.Apply(ctx, ev, time.Now()); err != nil {
					t.Error(err)
				}
			}}
			if tt.throttled {
				m.fail = fmt.Errorf("throttled: %w", mail.ErrTemporary)
			}
			st.Sweeper.Mailer = m
			st.Sweeper.Run(ctx)
			if tt.throttled {
				m.fail, m.during = nil, func() {}
				st.Sweeper.Now = func() time.Time { return time.Now().Add(time.Hour) }
				st.Sweeper.Run(ctx)
			}
			tk, err := st.Store.GetTicket(ctx, "generic", "during")
			if err != nil || tk.State != tt.state {
				t.Errorf("ticket %s (%s), %v; want %s", tk.State, tk.Reason, err, tt.state)
			}
			if tt.state == closeloop.SurveySent && tk.Reminder != closeloop.ReminderScheduled {
				t.Errorf("reminder %q, want scheduled", tk.Reminder)
			}
			if n := len(awstest.MailTo(t, e)); n != tt.emails {
				t.Errorf("%d emails, want %d", n, tt.emails)
			}
		})
	}
}
