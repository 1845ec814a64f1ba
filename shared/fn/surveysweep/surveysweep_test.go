package surveysweep_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/fn/surveysweep"
	"github.com/closeloop/closeloop/shared/fn/webhook"
	"github.com/closeloop/closeloop/shared/local/awstest"
	"github.com/closeloop/closeloop/shared/local/devstack"
	"github.com/closeloop/closeloop/shared/mail"
)

func TestMain(m *testing.M) { awstest.Main(m) }

// solve schedules a survey for ticket id of email, as a webhook would.
func solve(t *testing.T, st *devstack.Stack, id, email string) {
	t.Helper()
	h := webhook.New(closeloop.Config{SurveyKind: closeloop.CSAT}, st.Store)
	if a, err := h.Apply(context.Background(), awstest.Solved(id, email), time.Now()); err != nil || a != closeloop.ActionScheduled {
		t.Fatalf("solve %s: %s, %v", id, a, err)
	}
}

func state(t *testing.T, st *devstack.Stack, id string) closeloop.SurveyState {
	t.Helper()
	tk, err := st.Store.GetTicket(context.Background(), "generic", id)
	if err != nil {
		t.Fatal(err)
	}
	return tk.State
}

// TestConcurrentSweepsSendOnce runs four sweeps at once over 30 due surveys:
// every customer gets exactly one email.
func TestConcurrentSweepsSendOnce(t *testing.T) {
	st := awstest.Stack(t, closeloop.Config{})
	var emails []string
	for i := 0; i < 30; i++ {
		e := awstest.Email()
		emails = append(emails, e)
		solve(t, st, fmt.Sprint("c", i), e)
	}
	var wg sync.WaitGroup
	var sent atomic.Int64
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := st.Sweeper.Run(context.Background())
			if err != nil {
				t.Error(err)
			}
			sent.Add(int64(res.Sent))
		}()
	}
	wg.Wait()
	if sent.Load() != 30 {
		t.Errorf("sweeps reported %d sent, want 30", sent.Load())
	}
	for _, e := range emails {
		if n := len(awstest.MailTo(t, e)); n != 1 {
			t.Errorf("%s got %d emails, want 1", e, n)
		}
	}
	// A later sweep finds nothing left to send.
	if res, _ := st.Sweeper.Run(context.Background()); res.Sent != 0 {
		t.Errorf("second round sent %d", res.Sent)
	}
}

func TestSurveyEmail(t *testing.T) {
	st := awstest.Stack(t, closeloop.Config{})
	e := awstest.Email()
	solve(t, st, "m1", e)
	st.Sweeper.Run(context.Background())
	got := awstest.MailTo(t, e)
	if len(got) != 1 {
		t.Fatalf("%d emails", len(got))
	}
	m := got[0]
	if !strings.Contains(m.Subject, "Ticket m1") {
		t.Errorf("subject %q does not name the ticket", m.Subject)
	}
	for r := 1; r <= 5; r++ {
		if !strings.Contains(m.Body.Text, fmt.Sprintf("?r=%d", r)) || !strings.Contains(m.Body.HTML, fmt.Sprintf("?r=%d", r)) {
			t.Errorf("rating %d link missing from text or HTML", r)
		}
	}
	if u := m.Header("List-Unsubscribe"); !strings.HasPrefix(u, "<http://closeloop.test/u/") {
		t.Errorf("List-Unsubscribe %q", u)
	}
	if p := m.Header("List-Unsubscribe-Post"); p != "List-Unsubscribe=One-Click" {
		t.Errorf("List-Unsubscribe-Post %q", p)
	}
	days, err := st.Store.CountersBetween(context.Background(), time.Now(), time.Now())
	if err != nil || days[0].SurveysSent != 1 {
		t.Errorf("surveys_sent counter %+v, %v; want 1", days, err)
	}
}

func TestFatigueAndSuppression(t *testing.T) {
	st := awstest.Stack(t, closeloop.Config{})
	st.Sweeper.FatigueWindow = 24 * time.Hour
	busy, quiet := awstest.Email(), awstest.Email()
	solve(t, st, "f1", busy)
	solve(t, st, "f2", busy) // same person, second ticket: throttled
	solve(t, st, "s1", quiet)
	if err := st.Store.Suppress(context.Background(), quiet, "unsubscribed"); err != nil {
		t.Fatal(err)
	}
	res, err := st.Sweeper.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 1 || res.Throttled != 1 || res.Suppressed != 1 {
		t.Errorf("result %+v, want 1 sent, 1 throttled, 1 suppressed", res)
	}
	if n := len(awstest.MailTo(t, busy)); n != 1 {
		t.Errorf("busy contact got %d emails, want 1", n)
	}
	if n := len(awstest.MailTo(t, quiet)); n != 0 {
		t.Errorf("suppressed contact got %d emails", n)
	}
	if s := state(t, st, "s1"); s != closeloop.SurveySuppressed {
		t.Errorf("state %s", s)
	}
}

// flakyMailer fails with a temporary error the first n times.
type flakyMailer struct {
	n    atomic.Int64
	next *mail.Sender
}

func (f *flakyMailer) Send(ctx context.Context, m mail.Message) (string, error) {
	if f.n.Add(-1) >= 0 {
		return "", fmt.Errorf("injected: %w", mail.ErrTemporary)
	}
	return f.next.Send(ctx, m)
}

func TestTemporaryFailureRetries(t *testing.T) {
	st := awstest.Stack(t, closeloop.Config{})
	e := awstest.Email()
	solve(t, st, "r1", e)
	fm := &flakyMailer{next: st.Sender}
	fm.n.Store(1)
	clock := time.Now()
	st.Sweeper.Mailer = fm
	st.Sweeper.Now = func() time.Time { return clock }
	res, _ := st.Sweeper.Run(context.Background())
	if res.Retried != 1 || state(t, st, "r1") != closeloop.SurveyScheduled {
		t.Fatalf("after a throttled send: %+v, state %s; want it rescheduled", res, state(t, st, "r1"))
	}
	// Not due again until the back-off passes.
	if res, _ := st.Sweeper.Run(context.Background()); res.Sent != 0 {
		t.Errorf("resent before the back-off: %+v", res)
	}
	clock = clock.Add(5 * time.Minute)
	if res, _ := st.Sweeper.Run(context.Background()); res.Sent != 1 {
		t.Errorf("after the back-off: %+v, want sent", res)
	}
	if n := len(awstest.MailTo(t, e)); n != 1 {
		t.Errorf("%d emails, want 1", n)
	}
}

// TestExpiredLeaseIsNotResent: a sweep that died after claiming leaves the
// ticket "sending"; after the lease the next sweep fails it, never resends.
func TestExpiredLeaseIsNotResent(t *testing.T) {
	st := awstest.Stack(t, closeloop.Config{})
	e := awstest.Email()
	solve(t, st, "d1", e)
	tk, _ := st.Store.GetTicket(context.Background(), "generic", "d1")
	crashed := *tk
	crashed.State, crashed.SurveyID, crashed.DueAt = closeloop.SurveySending, "dead", time.Now().Add(-time.Second)
	if err := st.Store.SaveTicket(context.Background(), &crashed, tk.Version); err != nil {
		t.Fatal(err)
	}
	res, _ := st.Sweeper.Run(context.Background())
	if res.Failed != 1 || res.Sent != 0 {
		t.Errorf("result %+v, want 1 failed", res)
	}
	if s := state(t, st, "d1"); s != closeloop.SurveyFailed {
		t.Errorf("state %s, want failed", s)
	}
	if n := len(awstest.MailTo(t, e)); n != 0 {
		t.Errorf("%d emails after a crashed send, want 0", n)
	}
}

// TestStopsBeforeTheDeadline: a run near its invocation's deadline claims
// nothing, and the surveys wait for the next run.
func TestStopsBeforeTheDeadline(t *testing.T) {
	st := awstest.Stack(t, closeloop.Config{})
	e := awstest.Email()
	solve(t, st, "late", e)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if res, err := st.Sweeper.Run(ctx); err != nil || res.Sent != 0 {
		t.Fatalf("near the deadline: %+v %v, want nothing sent", res, err)
	}
	if s := state(t, st, "late"); s != closeloop.SurveyScheduled {
		t.Errorf("state %s, want still scheduled", s)
	}
	if res, _ := st.Sweeper.Run(context.Background()); res.Sent != 1 {
		t.Errorf("next run: %+v", res)
	}
}

// erasingMailer erases the recipient at the moment their email goes out:
// erasure racing a sweep that already claimed their survey.
type erasingMailer struct {
	st   *devstack.Stack
	next *mail.Sender
}

func (e *erasingMailer) Send(ctx context.Context, m mail.Message) (string, error) {
	if _, err := e.st.Store.Erase(ctx, m.To); err != nil {
		return "", err
	}
	return e.next.Send(ctx, m)
}

// TestErasureWhileSending: a person erased while their survey is being
// sent keeps nothing on the survey item, and the email that went out is
// recorded as sent, not failed.
func TestErasureWhileSending(t *testing.T) {
	st := awstest.Stack(t, closeloop.Config{})
	email := awstest.Email()
	solve(t, st, "erase-1", email)
	st.Sweeper.Mailer = &erasingMailer{st: st, next: st.Sender}
	res, err := st.Sweeper.Run(context.Background())
	if err != nil || res.Sent != 1 {
		t.Fatalf("sweep %+v %v", res, err)
	}
	if len(awstest.MailTo(t, email)) != 1 {
		t.Fatal("the email did not go out")
	}
	tk, err := st.Store.GetTicket(context.Background(), "generic", "erase-1")
	if err != nil || tk.State != closeloop.SurveySent || tk.ContactID != "" || tk.Subject != "" {
		t.Errorf("ticket %+v, %v; want sent, without contact or subject", tk, err)
	}
	sv, err := st.Store.GetSurvey(context.Background(), tk.SurveyID)
	if err != nil || !sv.Erased() || sv.Subject != "" || sv.AgentName != "" {
		t.Errorf("survey %+v, %v; want no contact, subject or agent", sv, err)
	}
	if snap := awstest.Snapshot(t, st.Config.Table); strings.Contains(snap, email) {
		t.Error("the address is still in the table")
	}
	// A later sweep leaves it alone.
	st.Sweeper.Now = func() time.Time { return time.Now().Add(time.Hour) }
	st.Sweeper.Run(context.Background())
	if tk, _ := st.Store.GetTicket(context.Background(), "generic", "erase-1"); tk.State != closeloop.SurveySent {
		t.Errorf("a later sweep moved it to %s", tk.State)
	}
}

// TestQuietHours: a survey due at 03:00 in the customer's zone waits for
// the window's start there, and goes then; a customer of no known zone is
// in the team's.
func TestQuietHours(t *testing.T) {
	st := awstest.Stack(t, closeloop.Config{})
	ny, _ := time.LoadLocation("America/New_York")
	st.Sweeper.Window, _ = closeloop.ParseSendWindow("09:00-18:00 Mon-Fri")
	st.Sweeper.Zone = time.UTC
	email := awstest.Email()
	ev := awstest.Solved("quiet-1", email)
	ev.Customer.TimeZone = "America/New_York"
	if _, err := webhook.New(st.Config, st.Store).Apply(context.Background(), ev, time.Now()); err != nil {
		t.Fatal(err)
	}
	// Wednesday 2026-12-02, 03:00 in New York (08:00 UTC: inside the UTC window).
	at3 := time.Date(2026, 12, 2, 3, 0, 0, 0, ny)
	st.Sweeper.Now = func() time.Time { return at3 }
	res, err := st.Sweeper.Run(context.Background())
	if err != nil || res.Deferred != 1 || res.Sent != 0 {
		t.Fatalf("at 03:00: %+v %v; want one deferred", res, err)
	}
	tk, _ := st.Store.GetTicket(context.Background(), "generic", "quiet-1")
	if want := time.Date(2026, 12, 2, 9, 0, 0, 0, ny); !tk.DueAt.Equal(want) || tk.State != closeloop.SurveyScheduled {
		t.Errorf("due %s (%s), want %s", tk.DueAt.In(ny), tk.State, want)
	}
	st.Sweeper.Now = func() time.Time { return time.Date(2026, 12, 2, 8, 59, 0, 0, ny) }
	if res, _ := st.Sweeper.Run(context.Background()); res.Sent != 0 {
		t.Errorf("sent before the window")
	}
	st.Sweeper.Now = func() time.Time { return time.Date(2026, 12, 2, 9, 1, 0, 0, ny) }
	if res, _ := st.Sweeper.Run(context.Background()); res.Sent != 1 {
		t.Errorf("at 09:01 in New York: %+v, want sent", res)
	}
	if n := len(awstest.MailTo(t, email)); n != 1 {
		t.Errorf("%d emails", n)
	}
}

func TestSendWindow(t *testing.T) {
	w, err := closeloop.ParseSendWindow("09:00-18:00 Mon-Fri")
	if err != nil {
		t.Fatal(err)
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	for _, tt := range []struct{ at, want time.Time }{
		{time.Date(2026, 12, 2, 10, 0, 0, 0, berlin), time.Date(2026, 12, 2, 10, 0, 0, 0, berlin)}, // Wednesday, inside
		{time.Date(2026, 12, 2, 18, 30, 0, 0, berlin), time.Date(2026, 12, 3, 9, 0, 0, 0, berlin)}, // after hours
		{time.Date(2026, 12, 4, 19, 0, 0, 0, berlin), time.Date(2026, 12, 7, 9, 0, 0, 0, berlin)},  // Friday evening → Monday
		{time.Date(2026, 12, 5, 12, 0, 0, 0, berlin), time.Date(2026, 12, 7, 9, 0, 0, 0, berlin)},  // Saturday
	} {
		if got := w.Next(tt.at, berlin); !got.Equal(tt.want) {
			t.Errorf("Next(%s) = %s, want %s", tt.at, got, tt.want)
		}
	}
	for _, bad := range []string{"", "9-5", "18:00-09:00", "09:00-18:00 Funday", "always sometimes"} {
		if _, err := closeloop.ParseSendWindow(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if w, _ := closeloop.ParseSendWindow("always"); !w.Next(time.Unix(0, 0), time.UTC).Equal(time.Unix(0, 0)) {
		t.Error("always holds mail back")
	}
	if w, err := closeloop.ParseSendWindow("08:00-12:00 Sat-Sun"); err != nil || !w.Days[time.Saturday] || w.Days[time.Monday] {
		t.Errorf("weekend window %+v %v", w, err)
	}
}

// TestReminders: one reminder goes after the delay to a survey nobody
// answered, in the survey's language, with a link of its own that answers
// the same survey; none after an answer, an unsubscribe or a bounce, or
// when the link is about to expire.
func TestReminders(t *testing.T) {
	st := awstest.Stack(t, closeloop.Config{})
	st.Sweeper.ReminderDelay = 72 * time.Hour
	ctx := context.Background()
	type person struct{ ticket, email string }
	people := map[string]person{}
	for _, name := range []string{"quiet", "answered", "unsubscribed", "bounced"} {
		p := person{"rem-" + name, awstest.Email()}
		solve(t, st, p.ticket, p.email)
		people[name] = p
	}
	if res, err := st.Sweeper.Run(ctx); err != nil || res.Sent != 4 {
		t.Fatalf("surveys: %+v %v", res, err)
	}
	if code := awstest.Answer(t, st, awstest.MailTo(t, people["answered"].email)[0], 4, ""); code != 200 {
		t.Fatal(code)
	}
	u := awstest.MailTo(t, people["unsubscribed"].email)[0]
	sv, _ := st.Store.GetSurvey(ctx, closeloop.SurveyIDOf(awstest.Token(u)))
	st.Store.SuppressContact(ctx, sv.ContactID, people["unsubscribed"].email, "unsubscribed")
	st.Store.Suppress(ctx, people["bounced"].email, "bounce")

	// Not before the delay.
	st.Sweeper.Now = func() time.Time { return time.Now().Add(71 * time.Hour) }
	if res, _ := st.Sweeper.Run(ctx); res.Reminded != 0 {
		t.Errorf("reminded before the delay: %+v", res)
	}
	st.Sweeper.Now = func() time.Time { return time.Now().Add(73 * time.Hour) }
	res, err := st.Sweeper.Run(ctx)
	if err != nil || res.Reminded != 1 || res.ReminderSkipped != 3 {
		t.Fatalf("after the delay: %+v %v; want 1 reminder, 3 skipped", res, err)
	}
	// Once: later sweeps send nothing more.
	st.Sweeper.Now = func() time.Time { return time.Now().Add(200 * time.Hour) }
	if res, _ := st.Sweeper.Run(ctx); res.Reminded != 0 {
		t.Errorf("a second reminder: %+v", res)
	}
	for name, p := range people {
		want := 1
		if name == "quiet" {
			want = 2
		}
		if n := len(awstest.MailTo(t, p.email)); n != want {
			t.Errorf("%s got %d emails, want %d", name, n, want)
		}
	}
	mails := awstest.MailTo(t, people["quiet"].email)
	rem := mails[1]
	if !strings.HasPrefix(rem.Subject, "Reminder: ") || awstest.Token(rem) == awstest.Token(mails[0]) {
		t.Errorf("reminder %q with token reused: %v", rem.Subject, awstest.Token(rem) == awstest.Token(mails[0]))
	}
	// The reminder's link answers the survey of the first email.
	if code := awstest.Answer(t, st, rem, 2, "late but here"); code != 200 {
		t.Fatalf("answer through the reminder: %d", code)
	}
	first, _ := st.Store.GetSurvey(ctx, closeloop.SurveyIDOf(awstest.Token(mails[0])))
	if first.Rating == nil || *first.Rating != 2 || first.Comment != "late but here" {
		t.Errorf("survey after the reminder's answer: %+v", first)
	}
}

// TestNoReminderNearExpiry: a reminder due when the link has less than a
// day left is skipped.
func TestNoReminderNearExpiry(t *testing.T) {
	st := awstest.Stack(t, closeloop.Config{})
	st.Sweeper.ReminderDelay = closeloop.SurveyTTL - time.Hour
	email := awstest.Email()
	solve(t, st, "rem-late", email)
	st.Sweeper.Run(context.Background())
	st.Sweeper.Now = func() time.Time { return time.Now().Add(closeloop.SurveyTTL) }
	if res, _ := st.Sweeper.Run(context.Background()); res.Reminded != 0 || res.ReminderSkipped != 1 {
		t.Errorf("near expiry: %+v", res)
	}
	if n := len(awstest.MailTo(t, email)); n != 1 {
		t.Errorf("%d emails", n)
	}
}

// outOfTime answers every send as the sender does at the end of an
// invocation (a fault injected on purpose).
type outOfTime struct{}

func (outOfTime) Send(context.Context, mail.Message) (string, error) {
	return "", fmt.Errorf("send: %w", mail.ErrNoTime)
}

// TestOutOfTimeIsNoAttempt: a survey that could not go because the run
// was out of time is due again at once, and that is not one of its five
// attempts.
func TestOutOfTimeIsNoAttempt(t *testing.T) {
	st := awstest.Stack(t, closeloop.Config{})
	e := awstest.Email()
	solve(t, st, "late1", e)
	st.Sweeper.Mailer = outOfTime{}
	for i := 0; i < 6; i++ {
		if res, _ := st.Sweeper.Run(context.Background()); res.Retried != 1 {
			t.Fatalf("run %d out of time: %+v, want the survey put back", i, res)
		}
	}
	tk, _ := st.Store.GetTicket(context.Background(), "generic", "late1")
	if tk.State != closeloop.SurveyScheduled || tk.Attempts != 0 || tk.DueAt.After(time.Now()) {
		t.Errorf("ticket %+v; want it scheduled now, no attempt counted", tk)
	}
	st.Sweeper.Mailer = st.Sender
	if res, _ := st.Sweeper.Run(context.Background()); res.Sent != 1 || len(awstest.MailTo(t, e)) != 1 {
		t.Errorf("the next run with time: %+v, want it sent once", res)
	}
}

// TestRemindersAndCheckInsWaitForTime: a reminder or check-in that could
// not go because the run was out of time (nothing was tried) is put back,
// due at once, and goes with the next run, once.
func TestRemindersAndCheckInsWaitForTime(t *testing.T) {
	st := awstest.Stack(t, closeloop.Config{})
	st.Sweeper.ReminderDelay = 72 * time.Hour
	ctx := context.Background()
	e := awstest.Email()
	wh := webhook.New(closeloop.Config{SurveyKind: closeloop.CSAT, CheckInDelay: 168 * time.Hour}, st.Store)
	if _, err := wh.Apply(ctx, awstest.Solved("wait1", e), time.Now()); err != nil {
		t.Fatal(err)
	}
	if res, _ := st.Sweeper.Run(ctx); res.Sent != 1 {
		t.Fatalf("survey: %+v", res)
	}
	for _, step := range []struct {
		name  string
		after time.Duration
		mails int
	}{{"reminder", 73 * time.Hour, 2}, {"check-in", 169 * time.Hour, 3}} {
		st.Sweeper.Now = func() time.Time { return time.Now().Add(step.after) }
		st.Sweeper.Mailer = outOfTime{}
		st.Sweeper.Run(ctx)
		if n := len(awstest.MailTo(t, e)); n != step.mails-1 {
			t.Fatalf("%s out of time: %d emails", step.name, n)
		}
		st.Sweeper.Mailer = st.Sender
		st.Sweeper.Run(ctx)
		st.Sweeper.Run(ctx)
		if n := len(awstest.MailTo(t, e)); n != step.mails {
			t.Errorf("%s with time: %d emails in all, want %d (it went, once)", step.name, n, step.mails)
		}
	}
}

// TestConcurrentRunSurveysEachPersonOnce: one run handles many due
// tickets at once, several of them one person's; with the fatigue window,
// each person gets one survey and the others are throttled, whatever
// order the workers take them in, and two runs at once change nothing.
func TestConcurrentRunSurveysEachPersonOnce(t *testing.T) {
	st := awstest.Stack(t, closeloop.Config{})
	st.Sweeper.FatigueWindow = 30 * 24 * time.Hour
	var people []string
	for p := 0; p < 10; p++ {
		e := awstest.Email()
		people = append(people, e)
		for k := 0; k < 4; k++ {
			solve(t, st, fmt.Sprintf("conc-%d-%d", p, k), e)
		}
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var total surveysweep.Result
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 3; i++ { // tickets put back by a lost race are due again at once
				res, err := st.Sweeper.Run(context.Background())
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				total.Sent += res.Sent
				total.Throttled += res.Throttled
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for _, e := range people {
		if n := len(awstest.MailTo(t, e)); n != 1 {
			t.Errorf("%s got %d surveys, want 1", e, n)
		}
	}
	if total.Sent != 10 || total.Throttled != 30 {
		t.Errorf("runs sent %d and throttled %d, want 10 and 30", total.Sent, total.Throttled)
	}
}

// TestCheckInAfterTheTicketClosed: a solved ticket the helpdesk closes a
// few days later (Zendesk's default automation), or moves to a status
// Closeloop does not know, is still solved: its check-in goes. A reopen
// skips it.
func TestCheckInAfterTheTicketClosed(t *testing.T) {
	st := awstest.Stack(t, closeloop.Config{})
	ctx := context.Background()
	wh := webhook.New(closeloop.Config{SurveyKind: closeloop.CSAT, CheckInDelay: 168 * time.Hour}, st.Store)
	people := map[string]string{"closed": awstest.Email(), "reopened": awstest.Email()}
	for name, e := range people {
		if _, err := wh.Apply(ctx, awstest.Solved("ci-"+name, e), time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if res, _ := st.Sweeper.Run(ctx); res.Sent != 2 {
		t.Fatalf("surveys: %+v", res)
	}
	later := func(id string, status closeloop.Status) {
		ev := closeloop.TicketEvent{Source: "generic", EventID: awstest.Name("e"), TicketID: id, Status: status, OccurredAt: time.Now().Add(time.Minute)}
		if _, err := wh.Apply(ctx, ev, time.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	later("ci-closed", closeloop.StatusOther)
	later("ci-reopened", closeloop.StatusReopened)
	st.Sweeper.Now = func() time.Time { return time.Now().Add(169 * time.Hour) }
	res, err := st.Sweeper.Run(ctx)
	if err != nil || res.CheckIns != 1 || res.CheckInsSkipped != 1 {
		t.Errorf("check-ins %+v, %v; want the closed ticket's sent, the reopened one's skipped", res, err)
	}
	if n := len(awstest.MailTo(t, people["closed"])); n != 3 {
		t.Errorf("the closed ticket's customer got %d emails, want the survey, its reminder and the check-in", n)
	}
}
