package api_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/fn/webhook"
	"github.com/closeloop/closeloop/shared/local/awstest"
	"github.com/closeloop/closeloop/shared/local/devstack"
	"github.com/closeloop/closeloop/shared/mail"
)

// hook is a Slack-compatible receiver that records alerts and fails the
// first failures of them.
type hook struct {
	mu       sync.Mutex
	alerts   []string
	failures atomic.Int64
	srv      *httptest.Server
}

func newHook(t *testing.T, failures int64) *hook {
	h := &hook{}
	h.failures.Store(failures)
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if h.failures.Add(-1) >= 0 {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		h.mu.Lock()
		h.alerts = append(h.alerts, string(b))
		h.mu.Unlock()
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hook) got() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.alerts...)
}

// followUpStack is a stack with alerts to a Slack hook and to a team
// address, and a queue that redelivers quickly.
func followUpStack(t *testing.T, failures int64) (*devstack.Stack, *hook) {
	t.Helper()
	hk := newHook(t, failures)
	cfg := awstest.Config()
	cfg.AlertWebhookURL = hk.srv.URL
	cfg.AlertEmail = awstest.Email()
	st := awstest.Stack(t, cfg)
	st.Queue.Visibility = 10 * time.Millisecond
	return st, hk
}

// TestDetractorOpensOneCaseAndAlertsOnce: an unhappy answer, revised and
// posted again, opens one case and alerts each channel once, with the
// score, the comment and a link to the case, never the address.
func TestDetractorOpensOneCaseAndAlertsOnce(t *testing.T) {
	st, hk := followUpStack(t, 0)
	email, m := awstest.Surveyed(t, st, "generic", "", closeloop.CSAT)
	for _, r := range []int{5, 1, 2, 2} {
		if code := awstest.Answer(t, st, m, r, "Nobody answered for a week"); code != 200 {
			t.Fatalf("answer %d: %d", r, code)
		}
	}
	if err := st.DrainQueue(context.Background()); err != nil {
		t.Fatal(err)
	}
	cases, _ := st.Store.Cases(context.Background(), "")
	if len(cases) != 1 || cases[0].Status != closeloop.CaseOpen || cases[0].Rating != 1 {
		t.Fatalf("cases %+v, want one open case", cases)
	}
	alerts := hk.got()
	if len(alerts) != 1 || !strings.Contains(alerts[0], "Nobody answered for a week") || !strings.Contains(alerts[0], "/console/cases/"+cases[0].ID) || strings.Contains(alerts[0], email) {
		t.Errorf("slack alerts %q", alerts)
	}
	// Sent within seconds by no one, it says the comment arrived, not that
	// a person has read it.
	if acks := withSubject(awstest.MailTo(t, email), "We received your comment"); len(acks) != 1 || strings.Contains(acks[0].Body.Text, " read what you wrote") {
		t.Errorf("%d acknowledgements of a comment posted four times (want 1, claiming no reading): %v", len(acks), acks)
	}
	mails := awstest.MailTo(t, st.Config.AlertEmail)
	if len(mails) != 1 || !strings.Contains(mails[0].Body.Text, "Nobody answered") || strings.Contains(mails[0].Body.Text, email) {
		t.Errorf("%d alert emails", len(mails))
	}
	// A duplicated queue message alerts nobody again.
	st.Queue.Send(context.Background(), `{"alert":"`+cases[0].ID+`"}`)
	st.DrainQueue(context.Background())
	if len(hk.got()) != 1 || len(awstest.MailTo(t, st.Config.AlertEmail)) != 1 {
		t.Error("a duplicated alert message alerted again")
	}
}

// TestFailingSlackIsRetriedThenDeadLettered: the alert is retried while
// the receiver fails, the email channel goes once, and after the last try
// the message rests in the dead-letter list; the case is there all along.
func TestFailingSlackIsRetriedThenDeadLettered(t *testing.T) {
	st, hk := followUpStack(t, 2)
	_, m := awstest.Surveyed(t, st, "generic", "", closeloop.CSAT)
	awstest.Answer(t, st, m, 1, "Broken")
	if err := st.DrainQueue(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(hk.got()); n != 1 {
		t.Errorf("after two failures, %d alerts delivered, want 1", n)
	}
	if n := len(awstest.MailTo(t, st.Config.AlertEmail)); n != 1 {
		t.Errorf("%d alert emails, want 1 despite Slack's retries", n)
	}

	down, _ := followUpStack(t, 1000)
	_, m2 := awstest.Surveyed(t, down, "generic", "", closeloop.CSAT)
	awstest.Answer(t, down, m2, 1, "Still broken")
	if err := down.DrainQueue(context.Background()); err != nil {
		t.Fatal(err)
	}
	if dead := down.Queue.Dead(); len(dead) != 1 || !strings.Contains(dead[0], `"alert"`) {
		t.Errorf("dead letters %q, want the alert", dead)
	}
	if cases, _ := down.Store.Cases(context.Background(), closeloop.CaseOpen); len(cases) != 1 {
		t.Errorf("%d open cases, want the case kept", len(cases))
	}
}

// TestPersonalReplyOnceAndContacted: the operator's reply reaches the
// customer once (a double submit sends one email), replies go to the team,
// and the case is contacted; the loop figures count it.
func TestPersonalReplyOnceAndContacted(t *testing.T) {
	st, email, id := detractorCase(t)
	tok := st.Config.AdminToken
	for i := 0; i < 2; i++ {
		if w := call(t, st.Handler, "POST", "/api/cases/"+id+"/reply", `{"message":"Sorry about that. We fixed the export today."}`, tok, nil); w.Code != 200 {
			t.Fatalf("reply: %d %s", w.Code, w.Body)
		}
	}
	replies := withSubject(awstest.MailTo(t, email), "Re: Printer")
	if len(replies) != 1 {
		t.Fatalf("%d replies to the customer, want one", len(replies))
	}
	if !strings.Contains(replies[0].Body.Text, "We fixed the export today.") {
		t.Errorf("reply text %q", replies[0].Body.Text)
	}
	if acks := withSubject(awstest.MailTo(t, email), "We received your comment"); len(acks) != 1 || !strings.Contains(acks[0].Body.Text, "Slow") {
		t.Errorf("%d acknowledgements of the comment, want one quoting it", len(acks))
	}
	var c closeloop.Case
	call(t, st.Handler, "GET", "/api/cases/"+id, "", tok, &c)
	if c.Status != closeloop.CaseContacted || c.ContactedAt.IsZero() || len(c.Notes) != 1 {
		t.Errorf("case %+v", c)
	}
	for _, body := range []string{`{"status":"done"}`, `{"owner":"nobody@example.com"}`, `{}`} {
		if w := call(t, st.Handler, "PATCH", "/api/cases/"+id, body, tok, nil); w.Code != 400 {
			t.Errorf("PATCH %s: %d, want 400", body, w.Code)
		}
	}
	if w := call(t, st.Handler, "PATCH", "/api/cases/"+id, `{"status":"resolved","note":"Customer happy now"}`, tok, &c); w.Code != 200 || c.Status != closeloop.CaseResolved || len(c.Notes) != 2 {
		t.Errorf("resolve: %d %+v", w.Code, c)
	}
	today := time.Now().UTC().Format(time.DateOnly)
	var metrics struct {
		Detractors, DetractorsContacted int64
		Median                          *float64 `json:"median_hours_to_contact"`
		Contacted                       int64    `json:"detractors_contacted"`
		Det                             int64    `json:"detractors"`
	}
	call(t, st.Handler, "GET", "/api/metrics?from="+today+"&to="+today, "", tok, &metrics)
	if metrics.Det != 1 || metrics.Contacted != 1 || metrics.Median == nil {
		t.Errorf("loop figures %+v", metrics)
	}
	// An unsubscribed customer gets no reply.
	email2, m2 := awstest.Surveyed(t, st, "generic", "", closeloop.CSAT)
	awstest.Answer(t, st, m2, 1, "Bad")
	sv, _ := st.Store.GetSurvey(context.Background(), closeloop.SurveyIDOf(awstest.Token(m2)))
	st.Store.SuppressContact(context.Background(), sv.ContactID, email2, "unsubscribed")
	if w := call(t, st.Handler, "POST", "/api/cases/"+sv.ID+"/reply", `{"message":"Hello"}`, tok, nil); w.Code != 409 {
		t.Errorf("reply to an unsubscribed customer: %d, want 409", w.Code)
	}
}

// TestClosingEmailContactsTheCase: a "you said, we did" email reaches the
// unhappy customer, so their case is contacted. Erasing that customer (who
// answered, was tagged, was told and had a case) leaves no trace a table
// scan can find: not the address, not its unkeyed hash, not the comment; a
// new solve for the address schedules nothing, and the audit log records the
// erasure without the address.
func TestClosingEmailContactsTheCase(t *testing.T) {
	st, _ := followUpStack(t, 0)
	email, m := awstest.Surveyed(t, st, "generic", "", closeloop.CSAT)
	awstest.Answer(t, st, m, 1, "The export is slow")
	tok := st.Config.AdminToken
	call(t, st.Handler, "POST", "/api/themes", `{"name":"exports","keywords":["export"]}`, tok, nil)
	awstest.Answer(t, st, m, 1, "The export is slow")
	call(t, st.Handler, "POST", "/api/improvements", `{"theme":"exports","summary":"Faster","message":"Done."}`, tok, nil)
	if err := st.DrainQueue(context.Background()); err != nil {
		t.Fatal(err)
	}
	cases, _ := st.Store.Cases(context.Background(), "")
	if len(cases) != 1 || cases[0].Status != closeloop.CaseContacted {
		t.Fatalf("cases %+v, want one contacted", cases)
	}
	if w := call(t, st.Handler, "DELETE", "/api/contacts/"+email, "", tok, nil); w.Code != 200 {
		t.Fatalf("erase: %d", w.Code)
	}
	if cases, _ := st.Store.Cases(context.Background(), ""); len(cases) != 0 {
		t.Errorf("erasure left %d cases", len(cases))
	}
	snap := awstest.Snapshot(t, st.Config.Table)
	for what, s := range map[string]string{"address": email, "unkeyed hash": closeloop.LegacyContactID(email), "comment": "The export is slow"} {
		if strings.Contains(snap, s) {
			t.Errorf("after erasure the table still holds the %s", what)
		}
	}
	if w := call(t, st.Handler, "DELETE", "/api/contacts/"+email, "", tok, nil); w.Code != 200 {
		t.Errorf("erasing again: %d, want 200", w.Code)
	}
	ev := awstest.Solved(awstest.Name("T"), email)
	if action, err := webhookApply(st, ev); err != nil || action != closeloop.ActionIgnored {
		t.Errorf("a new solve after erasure: %v %v, want ignored", action, err)
	}
	st.Sweeper.Run(context.Background())
	if snap := awstest.Snapshot(t, st.Config.Table); strings.Contains(snap, email) || strings.Contains(snap, ev.TicketID) {
		t.Errorf("a solve after erasure stored the address or the ticket")
	}
	var audit struct {
		Entries []struct{ Action, Detail, Target string }
	}
	w := call(t, st.Handler, "GET", "/api/audit", "", tok, &audit)
	if w.Code != 200 || !strings.Contains(w.Body.String(), "contact.erase") || strings.Contains(w.Body.String(), email) {
		t.Errorf("audit log after erasure: %d %s", w.Code, w.Body)
	}
}

// TestAnnouncementsReadWell: a German customer gets the German text with
// German framing, a French customer (no French text) gets the whole email
// in English, and an announcement limited to detractors reaches only them.
func TestAnnouncementsReadWell(t *testing.T) {
	st, _ := followUpStack(t, 0)
	tok := st.Config.AdminToken
	call(t, st.Handler, "POST", "/api/themes", `{"name":"exports","keywords":["export"]}`, tok, nil)
	people := map[string]string{}
	for _, p := range []struct {
		name, locale string
		rating       int
	}{{"de", "de-DE", 2}, {"fr", "fr", 1}, {"happy", "en", 5}} {
		email := awstest.Email()
		people[p.name] = email
		ev := awstest.Solved(awstest.Name("T"), email)
		ev.Customer.Locale = p.locale
		if _, err := webhookApply(st, ev); err != nil {
			t.Fatal(err)
		}
		st.Sweeper.Run(context.Background())
		awstest.Answer(t, st, awstest.MailTo(t, email)[0], p.rating, "The export is slow")
	}
	st.DrainQueue(context.Background())
	body := `{"theme":"exports","summary":"Exports are faster","message":"We rebuilt the export.",
		"translations":{"de":{"summary":"Exporte sind schneller","message":"Wir haben den Export neu gebaut."}},"only_detractors":true}`
	if w := call(t, st.Handler, "POST", "/api/improvements", body, tok, nil); w.Code != 202 {
		t.Fatalf("announce: %d %s", w.Code, w.Body)
	}
	if err := st.DrainQueue(context.Background()); err != nil {
		t.Fatal(err)
	}
	de := withSubject(awstest.MailTo(t, people["de"]), "Sie haben es gesagt")
	if len(de) != 1 || !strings.Contains(de[0].Subject, "Exporte sind schneller") || !strings.Contains(de[0].Body.Text, "Wir haben den Export neu gebaut.") ||
		strings.Contains(de[0].Body.Text, "We rebuilt") {
		t.Errorf("German emails: %d", len(de))
	}
	fr := withSubject(awstest.MailTo(t, people["fr"]), "You said, we did")
	if len(fr) != 1 || !strings.Contains(fr[0].Subject, "You said, we did: Exports are faster") || !strings.Contains(fr[0].Body.Text, "We rebuilt the export.") {
		t.Errorf("French customer without French text: %d emails", len(fr))
	}
	if n := len(awstest.MailTo(t, people["happy"])); n != 1 {
		t.Errorf("the happy customer got %d emails; the announcement was for detractors only", n)
	}
	today := time.Now().UTC().Format(time.DateOnly)
	var m struct {
		Raisers *int64   `json:"theme_raisers"`
		Told    *int64   `json:"theme_raisers_told"`
		Median  *float64 `json:"median_hours_to_told"`
	}
	call(t, st.Handler, "GET", "/api/metrics?from="+today+"&to="+today, "", tok, &m)
	if m.Raisers == nil || *m.Raisers != 3 || *m.Told != 2 || m.Median == nil {
		t.Errorf("theme raisers %v told %v median %v; want 3, 2 and a median", m.Raisers, m.Told, m.Median)
	}
	for _, bad := range []string{`{"theme":"exports","summary":"s","message":"m","translations":{"de":{"summary":""}}}`, `{"theme":"exports","summary":"s","message":"m","since_days":-1}`} {
		if w := call(t, st.Handler, "POST", "/api/improvements", bad, tok, nil); w.Code != 400 {
			t.Errorf("%s: %d, want 400", bad, w.Code)
		}
	}
}

func webhookApply(st *devstack.Stack, ev closeloop.TicketEvent) (closeloop.Action, error) {
	return webhook.New(st.Config, st.Store).Apply(context.Background(), ev, time.Now())
}

// detractorCase is a follow-up stack with one unhappy customer whose case
// is open and alerted: the stack, their address and the case's id.
func detractorCase(t *testing.T) (*devstack.Stack, string, string) {
	t.Helper()
	st, _ := followUpStack(t, 0)
	email, m := awstest.Surveyed(t, st, "generic", "", closeloop.CSAT)
	awstest.Answer(t, st, m, 2, "Slow")
	st.DrainQueue(context.Background())
	cases, err := st.Store.Cases(context.Background(), "")
	if err != nil || len(cases) != 1 {
		t.Fatalf("cases of one unhappy answer: %d, %v", len(cases), err)
	}
	return st, email, cases[0].ID
}

// withSubject keeps the emails whose subject contains s.
func withSubject(ms []awstest.Mail, s string) []awstest.Mail {
	var out []awstest.Mail
	for _, m := range ms {
		if strings.Contains(m.Subject, s) {
			out = append(out, m)
		}
	}
	return out
}

// TestCheckIns: the check-in goes after the configured time only to
// tickets still solved, never to an unsubscribed person; its links record
// nothing on GET; "no" opens one case; the figures count it.
func TestCheckIns(t *testing.T) {
	st, hk := followUpStack(t, 0)
	ctx := context.Background()
	apply := func(ticket, email, status string, at time.Time) {
		t.Helper()
		ev := awstest.Solved(ticket, email)
		ev.Status, ev.OccurredAt, ev.Subject = closeloop.Status(status), at, "Printer"
		if _, err := webhookApply(st, ev); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	still, reopened, unsub := awstest.Email(), awstest.Email(), awstest.Email()
	apply("ci-1", still, "solved", now)
	apply("ci-2", reopened, "solved", now)
	apply("ci-3", unsub, "solved", now)
	if res, _ := st.Sweeper.Run(ctx); res.Sent != 3 {
		t.Fatalf("surveys: %+v", res)
	}
	apply("ci-2", reopened, "reopened", now.Add(time.Minute))
	sv, _ := st.Store.GetSurvey(ctx, closeloop.SurveyIDOf(awstest.Token(awstest.MailTo(t, unsub)[0])))
	st.Store.SuppressContact(ctx, sv.ContactID, unsub, "unsubscribed")

	st.Sweeper.ReminderDelay = 0
	st.Sweeper.Now = func() time.Time { return now.Add(closeloop.DefaultCheckInDelay - time.Hour) }
	if res, _ := st.Sweeper.Run(ctx); res.CheckIns != 0 {
		t.Errorf("check-in before its time: %+v", res)
	}
	st.Sweeper.Now = func() time.Time { return now.Add(closeloop.DefaultCheckInDelay + time.Minute) }
	res, err := st.Sweeper.Run(ctx)
	if err != nil || res.CheckIns != 1 || res.CheckInsSkipped != 2 {
		t.Fatalf("after a week: %+v %v; want one check-in, two skipped", res, err)
	}
	if res, _ := st.Sweeper.Run(ctx); res.CheckIns != 0 {
		t.Errorf("a second check-in: %+v", res)
	}
	cis := withSubject(awstest.MailTo(t, still), "still working")
	if len(cis) != 1 || len(withSubject(awstest.MailTo(t, reopened), "still working")) != 0 || len(withSubject(awstest.MailTo(t, unsub), "still working")) != 0 {
		t.Fatalf("check-in emails: %d to the solved ticket, want only that one", len(cis))
	}
	var no string
	for _, l := range awstest.Links(cis[0]) {
		if strings.HasSuffix(l, "?a=no") {
			no = l
		}
	}
	before := awstest.Snapshot(t, st.Config.Table)
	r := httptest.NewRequest("GET", no, nil)
	w := httptest.NewRecorder()
	st.Handler.ServeHTTP(w, r)
	if w.Code != 200 || !strings.Contains(w.Body.String(), `value="no" checked`) {
		t.Fatalf("GET of the no link: %d", w.Code)
	}
	if awstest.Snapshot(t, st.Config.Table) != before {
		t.Error("opening the check-in link changed the table")
	}
	path := strings.SplitN(no, "?", 2)[0]
	for i := 0; i < 2; i++ {
		r = httptest.NewRequest("POST", path, strings.NewReader("answer=no&comment=The+printer+jams+again"))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w = httptest.NewRecorder()
		st.Handler.ServeHTTP(w, r)
		if w.Code != 200 {
			t.Fatalf("POST no: %d %s", w.Code, w.Body)
		}
	}
	st.DrainQueue(ctx)
	cases, _ := st.Store.Cases(ctx, closeloop.CaseOpen)
	if len(cases) != 1 || cases[0].Reason == "" || cases[0].TicketID != "ci-1" {
		t.Fatalf("cases %+v, want one for the check-in's no", cases)
	}
	if n := len(hk.got()); n != 1 {
		t.Errorf("%d alerts for the check-in's case", n)
	}
	if w := call(t, st.Handler, "POST", "/api/cases/"+cases[0].ID+"/reply", `{"message":"We are sending a new printer."}`, st.Config.AdminToken, nil); w.Code != 200 {
		t.Errorf("reply to the check-in's case: %d %s", w.Code, w.Body)
	}
	if replies := withSubject(awstest.MailTo(t, still), "About your request"); len(replies) != 1 || !strings.Contains(replies[0].Body.Text, "new printer") {
		t.Errorf("the reply to the check-in's case reached the customer %d times", len(replies))
	}
	day := now.Add(closeloop.DefaultCheckInDelay + time.Minute).UTC().Format(time.DateOnly)
	var m struct {
		Sent  *int64   `json:"checkins_sent"`
		Still *float64 `json:"checkins_still_solved"`
	}
	call(t, st.Handler, "GET", "/api/metrics?from="+day+"&to="+day, "", st.Config.AdminToken, &m)
	if m.Sent == nil || *m.Sent != 1 || m.Still == nil || *m.Still != 0 {
		t.Errorf("check-in figures sent %v still %v; want 1 and 0", m.Sent, m.Still)
	}
}

// TestScoreChangeCounted: a customer told about a change between two
// surveys moves from 2 to 5 (+0.75 of the CSAT scale); another, not told,
// from 4 to 3 (-0.25); the metrics read them from the day's counters.
func TestScoreChangeCounted(t *testing.T) {
	st, _ := followUpStack(t, 0)
	tok := st.Config.AdminToken
	call(t, st.Handler, "POST", "/api/themes", `{"name":"exports","keywords":["export"]}`, tok, nil)
	answer := func(email, ticket string, rating int, comment string) {
		t.Helper()
		if _, err := webhookApply(st, awstest.Solved(ticket, email)); err != nil {
			t.Fatal(err)
		}
		st.Sweeper.FatigueWindow = 0
		if res, _ := st.Sweeper.Run(context.Background()); res.Sent != 1 {
			t.Fatalf("survey %s: %+v", ticket, res)
		}
		ms := awstest.MailTo(t, email)
		if code := awstest.Answer(t, st, ms[len(ms)-1], rating, comment); code != 200 {
			t.Fatal(code)
		}
	}
	told, untold := awstest.Email(), awstest.Email()
	answer(told, awstest.Name("T"), 2, "the export fails")
	answer(untold, awstest.Name("T"), 4, "fine")
	call(t, st.Handler, "POST", "/api/improvements", `{"theme":"exports","summary":"Fixed","message":"Done."}`, tok, nil)
	st.DrainQueue(context.Background())
	answer(told, awstest.Name("T"), 5, "")
	answer(untold, awstest.Name("T"), 3, "")
	today := time.Now().UTC().Format(time.DateOnly)
	var m struct {
		Told    *float64 `json:"score_change_told"`
		NotTold *float64 `json:"score_change_not_told"`
		Raisers *int64   `json:"theme_raisers"`
		TellN   *int64   `json:"theme_raisers_told"`
	}
	call(t, st.Handler, "GET", "/api/metrics?from="+today+"&to="+today, "", tok, &m)
	if m.Told == nil || *m.Told != 0.75 || m.NotTold == nil || *m.NotTold != -0.25 || *m.Raisers != 1 || *m.TellN != 1 {
		t.Errorf("told %v, not told %v, raisers %v, told %v", deref(m.Told), deref(m.NotTold), *m.Raisers, *m.TellN)
	}
}

func deref(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}

// TestPerSourceSettings: a helpdesk's own survey kind, delay and check-in
// setting apply to its tickets only, and its ticket link template shows on
// the case and in the team's alert email.
func TestPerSourceSettings(t *testing.T) {
	cfg := awstest.Config()
	cfg.AlertEmail = awstest.Email()
	cfg.CheckInDelay = 168 * time.Hour
	two := 2 * time.Hour
	off := false
	cfg.PerSource = map[string]closeloop.SourceSettings{
		"zendesk": {Kind: closeloop.NPS, Delay: &two, CheckIn: &off},
		"generic": {TicketURL: "https://help.acme.example/tickets/{id}"},
	}
	st := awstest.Stack(t, cfg)
	st.Queue.Visibility = 10 * time.Millisecond
	now := time.Now()
	zd := closeloop.TicketEvent{Source: "zendesk", EventID: awstest.Name("e"), TicketID: awstest.Name("Z"), Status: closeloop.StatusSolved,
		OccurredAt: now, Customer: closeloop.Person{Email: awstest.Email()}}
	if _, err := webhookApply(st, zd); err != nil {
		t.Fatal(err)
	}
	tk, _ := st.Store.GetTicket(context.Background(), "zendesk", zd.TicketID)
	if tk.Kind != closeloop.NPS || tk.DueAt.Sub(now).Round(time.Minute) != two {
		t.Errorf("zendesk ticket: kind %s, due in %s; want nps in 2h", tk.Kind, tk.DueAt.Sub(now))
	}
	if _, err := st.Store.GetCheckIn(context.Background(), closeloop.CheckInID("zendesk", zd.TicketID)); !errors.Is(err, closeloop.ErrNotFound) {
		t.Errorf("a check-in was scheduled for a source with check-ins off: %v", err)
	}
	_, m := awstest.Surveyed(t, st, "generic", "", closeloop.CSAT)
	awstest.Answer(t, st, m, 1, "Broken again")
	st.DrainQueue(context.Background())
	sv, _ := st.Store.GetSurvey(context.Background(), closeloop.SurveyIDOf(awstest.Token(m)))
	want := "https://help.acme.example/tickets/" + sv.TicketID
	var c struct {
		TicketURL string `json:"ticket_url"`
	}
	if w := call(t, st.Handler, "GET", "/api/cases/"+sv.ID, "", st.Config.AdminToken, &c); w.Code != 200 || c.TicketURL != want {
		t.Errorf("case ticket_url %q, want %q", c.TicketURL, want)
	}
	alerts := withSubject(awstest.MailTo(t, cfg.AlertEmail), "Unhappy customer")
	if len(alerts) != 1 || !strings.Contains(alerts[0].Body.Text, want) || !strings.Contains(alerts[0].Body.HTML, want) {
		t.Errorf("%d alerts; the ticket link %q is not in it", len(alerts), want)
	}
}

// TestReplyWhileTheCustomerUnsubscribes: a customer who unsubscribes while
// the operator's reply waits for the sending rate gets no reply; the
// operator is told why (409) and the reply can go again later.
func TestReplyWhileTheCustomerUnsubscribes(t *testing.T) {
	st, email, id := detractorCase(t)
	st.API.Mailer = mail.NewSender(awstest.SES(), "Acme <support@acme.test>", "", &awstest.SlowTurn{During: func() {
		if err := st.Store.Suppress(context.Background(), email, "unsubscribed"); err != nil {
			t.Error(err)
		}
	}})
	if w := call(t, st.Handler, "POST", "/api/cases/"+id+"/reply", `{"message":"Sorry about that."}`, st.Config.AdminToken, nil); w.Code != 409 {
		t.Errorf("reply to a customer who unsubscribed while it waited: %d %s, want 409", w.Code, w.Body)
	}
	if replies := withSubject(awstest.MailTo(t, email), "Re: Printer"); len(replies) != 0 {
		t.Errorf("%d replies reached a customer who unsubscribed while it waited", len(replies))
	}
}

// TestDetractorsCheckInAfterTheirCase: an unhappy customer's check-in
// follows their follow-up case: not while the team is working on it, but a
// check-in delay after the case is resolved (it asked "is everything still
// working?" while their case was open).
func TestDetractorsCheckInAfterTheirCase(t *testing.T) {
	st, _ := followUpStack(t, 0)
	ctx := context.Background()
	now := time.Now()
	email, open := awstest.Email(), awstest.Email() // open: a case nobody resolves
	for i, e := range []string{email, open} {
		ev := awstest.Solved(fmt.Sprint("dc-", i), e)
		ev.OccurredAt, ev.Subject = now, "Printer"
		if _, err := webhookApply(st, ev); err != nil {
			t.Fatal(err)
		}
	}
	if res, _ := st.Sweeper.Run(ctx); res.Sent != 2 {
		t.Fatalf("surveys: %+v", res)
	}
	m := awstest.MailTo(t, email)[0]
	awstest.Answer(t, st, m, 1, "still broken")
	awstest.Answer(t, st, awstest.MailTo(t, open)[0], 1, "still broken")
	id := closeloop.SurveyIDOf(awstest.Token(m))
	st.Sweeper.ReminderDelay = 0
	week := closeloop.DefaultCheckInDelay
	at := func(d time.Duration) { st.Sweeper.Now = func() time.Time { return now.Add(d) } }
	checkIns := func() int { return len(withSubject(awstest.MailTo(t, email), "still working")) }

	at(week + time.Minute) // the case is open: no check-in
	st.Sweeper.Run(ctx)
	if n := checkIns(); n != 0 {
		t.Fatalf("%d check-ins while the case is open", n)
	}
	resolvedAt := now.Add(week + 2*24*time.Hour)
	st.Store.UpdateCase(ctx, id, closeloop.CaseChange{Status: closeloop.CaseResolved}, "lead@example.com", resolvedAt)
	at(week + 3*24*time.Hour) // resolved a day ago
	st.Sweeper.Run(ctx)
	if n := checkIns(); n != 0 {
		t.Fatalf("%d check-ins a day after the case was resolved, want none before a week", n)
	}
	at(week + 2*24*time.Hour + week + time.Hour) // a week after the resolution
	st.Sweeper.Run(ctx)
	st.Sweeper.Run(ctx)
	if n := checkIns(); n != 1 {
		t.Errorf("%d check-ins a week after the case was resolved, want 1", n)
	}
	// A case open for over a month: its check-in goes without, skipped.
	at(31 * 24 * time.Hour)
	res, _ := st.Sweeper.Run(ctx)
	if n := len(withSubject(awstest.MailTo(t, open), "still working")); n != 0 || res.CheckInsSkipped != 1 {
		t.Errorf("a case open a month: %d check-ins, %+v; want it skipped", n, res)
	}
}
