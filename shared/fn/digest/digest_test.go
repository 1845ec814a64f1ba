package digest_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/local/awstest"
)

func TestMain(m *testing.M) { awstest.Main(m) }

// TestDigest: on known data, the digest of the week just ended goes to the
// team's address on Monday morning in the team's zone, once, however often
// the schedule fires; it compares the week with the one before, lists the
// themes and complaints with counts, the open cases and the loops closed,
// and warns when CSAT and NPS move in opposite directions.
func TestDigest(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	cfg := awstest.Config()
	cfg.TimeZone = berlin
	cfg.AlertEmail = awstest.Email()
	st := awstest.Stack(t, cfg)
	ctx := context.Background()
	at := func(day, hour int) time.Time { return time.Date(2026, 11, day, hour, 0, 0, 0, berlin) }
	answered := func(kind closeloop.Kind, rating int, when time.Time, themes ...string) {
		t.Helper()
		sv := closeloop.Survey{ID: awstest.Name("sv"), Source: "generic", TicketID: awstest.Name("T"), ContactID: "c", Kind: kind, SentAt: when, ExpiresAt: when.Add(time.Hour)}
		if err := st.Store.CreateSurvey(ctx, sv); err != nil {
			t.Fatal(err)
		}
		if err := st.Store.AddCounters(ctx, when, closeloop.Counters{SurveysSent: 1}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Store.Answer(ctx, sv, rating, "", themes, when); err != nil {
			t.Fatal(err)
		}
	}
	// The week before (9 to 15 Nov): CSAT 0%, NPS +100.
	answered(closeloop.CSAT, 2, at(10, 12))
	answered(closeloop.NPS, 10, at(15, 23)) // Sunday night in Berlin
	// Last week (16 to 22 Nov): CSAT 100%, NPS -100: they moved apart.
	answered(closeloop.CSAT, 5, at(17, 9), "exports")
	answered(closeloop.CSAT, 5, at(18, 9), "billing")
	answered(closeloop.NPS, 3, at(22, 23), "exports") // Sunday 23:00 in Berlin is Sunday, not Monday (22:00 UTC)
	st.Store.AddCounters(ctx, at(18, 10), closeloop.Counters{ClosingSent: 2})
	if err := st.Store.OpenCase(ctx, closeloop.Case{ID: awstest.Name("case"), Source: "generic", TicketID: "T9", Kind: closeloop.NPS, Status: closeloop.CaseOpen, OpenedAt: at(22, 23)}); err != nil {
		t.Fatal(err)
	}

	run := func(now time.Time) (sent bool, skipped string) {
		st.Digest.Now = func() time.Time { return now }
		res, err := st.Digest.Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return res.Sent, res.Skipped
	}
	if sent, why := run(at(23, 7)); sent || why == "" { // Monday 07:00: too early
		t.Errorf("Monday 07:00: sent %v (%s)", sent, why)
	}
	if sent, why := run(at(21, 10)); sent || why == "" { // Saturday
		t.Errorf("Saturday: sent %v (%s)", sent, why)
	}
	// A doubled schedule: two runs at once on Monday morning, then another.
	var wg sync.WaitGroup
	var mu sync.Mutex
	sent := 0
	st.Digest.Now = func() time.Time { return at(23, 8).Add(5 * time.Minute) }
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := st.Digest.Run(ctx)
			if err != nil {
				t.Error(err)
			}
			if res.Sent {
				mu.Lock()
				sent++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	run(at(23, 9))
	mails := awstest.MailTo(t, cfg.AlertEmail)
	if sent != 1 || len(mails) != 1 {
		t.Fatalf("%d runs sent, %d emails; want one", sent, len(mails))
	}
	m := mails[0]
	if !strings.Contains(m.Subject, "2026-11-16 to 2026-11-22") || !strings.Contains(m.Subject, "moved apart") {
		t.Errorf("subject %q", m.Subject)
	}
	for _, want := range []string{
		"CSAT (satisfied): 100% (week before: 0%)", "NPS: -100 (week before: 100)", "Surveys sent: 3 (week before: 2)",
		"Response rate: 100% (week before: 100%)", "Loops closed: 2 (week before: 0)",
		"- exports: 2 responses, 1 unhappy", "- billing: 1 responses", "Recurring complaints:\n- exports: 1 unhappy answers",
		"1 unhappy customers wait for a follow-up. 2 loops were closed", "Watch out: CSAT rose while NPS fell",
		"/console/cases",
	} {
		if !strings.Contains(m.Body.Text, want) {
			t.Errorf("digest text lacks %q:\n%s", want, m.Body.Text)
		}
	}
	if !strings.Contains(m.Body.HTML, "Watch out:") || !strings.Contains(m.Body.HTML, "exports: 2 responses, 1 unhappy") {
		t.Errorf("digest HTML lacks the warning or the themes")
	}
	// No team address: nothing goes, and the run says why.
	st.Digest.To = ""
	if sent, why := run(at(30, 9)); sent || !strings.Contains(why, "CLOSELOOP_ALERT_EMAIL") {
		t.Errorf("without a team address: sent %v (%s)", sent, why)
	}
}
