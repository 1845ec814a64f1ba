package surveysweep_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/fn/surveysweep"
	"github.com/closeloop/closeloop/shared/fn/webhook"
	"github.com/closeloop/closeloop/shared/helpdesk"
	"github.com/closeloop/closeloop/shared/local/awstest"
	"github.com/closeloop/closeloop/shared/local/devstack"
	"github.com/closeloop/closeloop/shared/platform/lambdahttp"
)

// vendor is a stub of a helpdesk's API: it answers each look-up with the
// next of its answers (an HTTP status, or 200 with body), then repeats the
// last, and counts the calls.
type vendor struct {
	calls   atomic.Int64
	answers []func(w http.ResponseWriter)
	auth    string
}

func (v *vendor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := int(v.calls.Add(1)) - 1
	if r.Header.Get("Authorization") != v.auth {
		http.Error(w, `{"errors":[{"code":"unauthorized"}]}`, http.StatusUnauthorized)
		return
	}
	v.answers[min(n, len(v.answers)-1)](w)
}

func status(code int) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) { http.Error(w, `{"error":"stub"}`, code) }
}

func body(v any) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) { json.NewEncoder(w).Encode(v) }
}

func deliver(t *testing.T, st *devstack.Stack, name string) (int, string, time.Duration) {
	t.Helper()
	ev := awstest.LoadEvent(t, name, time.Now())
	start := time.Now()
	res, err := lambdahttp.Handler(st.Handler)(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, res.Body, time.Since(start)
}

// TestLookupIntercom: an Intercom API 2.x ticket.closed notification names
// the customer by contact id only. The webhook answers at once without
// calling Intercom; the sweep looks the contact up (a 429 first: retried
// after a back-off), and the survey goes to the looked-up address in the
// looked-up language, once; a retried delivery changes nothing.
func TestLookupIntercom(t *testing.T) {
	email := awstest.Email()
	v := &vendor{auth: "Bearer intercom-token", answers: []func(http.ResponseWriter){
		status(http.StatusTooManyRequests),
		body(map[string]any{"type": "contact", "id": "6650f2ab9c3e1a0001b7c0de", "email": email, "name": "Noor", "browser_language": "de"}),
	}}
	api := httptest.NewServer(v)
	defer api.Close()
	cfg := awstest.Config()
	cfg.APIs = map[string]closeloop.VendorAPI{"intercom": {URL: api.URL, Token: "intercom-token"}}
	cfg.CheckInDelay = 0 // the sample's solve is over a week old: its check-in would be due at once
	st := awstest.Stack(t, cfg)
	code, reply, took := deliver(t, st, "intercom-solved-lookup.json")
	if code != 200 || !strings.Contains(reply, `"scheduled"`) || took > 2*time.Second || v.calls.Load() != 0 {
		t.Fatalf("delivery: %d %s in %s, %d look-ups; want scheduled at once, without a look-up", code, reply, took, v.calls.Load())
	}
	clock := time.Now()
	st.Sweeper.Now = func() time.Time { return clock }
	if res, _ := st.Sweeper.Run(context.Background()); res.Retried != 1 || res.Sent != 0 {
		t.Fatalf("sweep with Intercom throttling: %+v, want the survey rescheduled", res)
	}
	if code, reply, _ := deliver(t, st, "intercom-solved-lookup.json"); code != 200 || !strings.Contains(reply, `"duplicate"`) {
		t.Errorf("a retried delivery: %d %s", code, reply)
	}
	clock = clock.Add(10 * time.Minute)
	if res, _ := st.Sweeper.Run(context.Background()); res.Sent != 1 {
		t.Fatalf("sweep after the back-off: %+v, want sent", res)
	}
	st.Sweeper.Run(context.Background())
	ms := awstest.MailTo(t, email)
	if len(ms) != 1 || !strings.Contains(ms[0].Subject, "Wie") && !strings.Contains(ms[0].Body.Text, "Sie") {
		t.Errorf("%d emails to the looked-up address (want one, in German): %v", len(ms), ms)
	}
	if n := v.calls.Load(); n != 2 {
		t.Errorf("%d look-ups, want 2 (the throttled one and its retry)", n)
	}
	tk, _ := st.Store.GetTicket(context.Background(), "intercom", "5001")
	if tk == nil || tk.ContactID == "" || tk.State != closeloop.SurveySent || tk.Locale != "de" {
		t.Fatalf("ticket after the look-up %+v", tk)
	}
	// The survey belongs to the looked-up person: their answer counts for
	// them, and erasing them finds it.
	if sv, err := st.Store.GetSurvey(context.Background(), tk.SurveyID); err != nil || sv.ContactID != tk.ContactID {
		t.Errorf("survey of the looked-up customer: contact %q, %v; want %q", sv.ContactID, err, tk.ContactID)
	}
}

// TestLookupFailures: a Zendesk event-subscription delivery whose requester
// the API does not know (404) sends nothing and records why, in the ticket
// and the audit log; a look-up that times out is retried and then succeeds;
// a source without API credentials is refused at the webhook with the
// variables to set.
func TestLookupFailures(t *testing.T) {
	v := &vendor{auth: "Basic " + basic("agent@acme.example/token:zd-token"), answers: []func(http.ResponseWriter){status(http.StatusNotFound)}}
	api := httptest.NewServer(v)
	defer api.Close()
	cfg := awstest.Config()
	cfg.APIs = map[string]closeloop.VendorAPI{"zendesk": {URL: api.URL, Token: "agent@acme.example/token:zd-token"}}
	st := awstest.Stack(t, cfg)
	if code, reply, _ := deliver(t, st, "zendesk-solved-lookup.json"); code != 200 || !strings.Contains(reply, `"scheduled"`) {
		t.Fatalf("delivery: %d %s", code, reply)
	}
	if res, _ := st.Sweeper.Run(context.Background()); res.Failed != 1 {
		t.Fatalf("sweep: %+v, want failed", res)
	}
	tk, _ := st.Store.GetTicket(context.Background(), "zendesk", "35436")
	if tk == nil || tk.State != closeloop.SurveyFailed || !strings.Contains(tk.Reason, "not found (404)") {
		t.Errorf("ticket %+v, want failed with the reason", tk)
	}
	// The reason is visible through the API.
	req := httptest.NewRequest("GET", "/api/tickets/zendesk/35436", nil)
	req.Header.Set("Authorization", "Bearer "+st.Config.AdminToken)
	w := httptest.NewRecorder()
	st.Handler.ServeHTTP(w, req)
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"survey_state":"failed"`) || !strings.Contains(w.Body.String(), "not found (404)") {
		t.Errorf("GET /api/tickets: %d %s", w.Code, w.Body)
	}
	if fs, err := st.Store.LookupFailures(context.Background(), time.Now(), 10); err != nil || len(fs) != 1 || fs[0].TicketID != "35436" || !strings.Contains(fs[0].Reason, "not found (404)") {
		t.Errorf("failed look-ups listed: %+v %v", fs, err)
	}
	audit, _, _ := st.Store.Audit(context.Background(), time.Now(), "", 10)
	if len(audit) == 0 || audit[0].Action != "survey.lookup-failed" || !strings.Contains(audit[0].Detail, "zendesk user 422008837373: not found (404)") {
		t.Errorf("audit %+v", audit)
	}

	// A slow API: the look-up times out, is retried later, then succeeds.
	email := awstest.Email()
	slow := &vendor{auth: v.auth, answers: []func(http.ResponseWriter){
		func(w http.ResponseWriter) { time.Sleep(time.Second); status(200)(w) },
		body(map[string]any{"user": map[string]any{"email": email, "name": "Ola", "locale": "en-US", "iana_time_zone": "Europe/Oslo"}}),
	}}
	api2 := httptest.NewServer(slow)
	defer api2.Close()
	cfg.APIs = map[string]closeloop.VendorAPI{"zendesk": {URL: api2.URL, Token: "agent@acme.example/token:zd-token"}}
	cfg.Table = awstest.Name("t") // a fresh table: the same sample again
	st2 := awstest.Stack(t, cfg)
	st2.Sweeper.Lookups = helpdesk.Lookups(cfg, &http.Client{Timeout: 200 * time.Millisecond})
	if code, reply, _ := deliver(t, st2, "zendesk-solved-lookup.json"); code != 200 {
		t.Fatalf("delivery: %d %s", code, reply)
	}
	clock := time.Now()
	st2.Sweeper.Now = func() time.Time { return clock }
	if res, _ := st2.Sweeper.Run(context.Background()); res.Retried != 1 {
		t.Fatalf("sweep with a slow API: %+v, want rescheduled", res)
	}
	clock = clock.Add(10 * time.Minute)
	if res, _ := st2.Sweeper.Run(context.Background()); res.Sent != 1 {
		t.Fatalf("sweep after the back-off: %+v", res)
	}
	if n := len(awstest.MailTo(t, email)); n != 1 {
		t.Errorf("%d emails after a slow look-up, want 1", n)
	}

	// No credentials: the delivery is accepted and kept; the sweep tries
	// again with a back-off (time to set the credential), then fails the
	// survey with the variables to set, listed for operators.
	st3 := awstest.Stack(t, awstest.Config())
	code, reply, _ := deliver(t, st3, "intercom-solved-lookup.json")
	if code != 200 || !strings.Contains(reply, `"scheduled"`) {
		t.Fatalf("without credentials: %d %s, want accepted", code, reply)
	}
	clock3 := time.Now()
	st3.Sweeper.Now = func() time.Time { return clock3 }
	var last surveysweep.Result
	for range 6 {
		last, _ = st3.Sweeper.Run(context.Background())
		clock3 = clock3.Add(time.Hour)
	}
	tk3, _ := st3.Store.GetTicket(context.Background(), "intercom", "5001")
	if tk3 == nil || tk3.State != closeloop.SurveyFailed || !strings.Contains(tk3.Reason, "CLOSELOOP_API_INTERCOM_URL and CLOSELOOP_API_INTERCOM_TOKEN") {
		t.Errorf("without credentials, after the retries: %+v (last run %+v)", tk3, last)
	}
	if fs, _ := st3.Store.LookupFailures(context.Background(), clock3, 10); len(fs) != 1 || !strings.Contains(fs[0].Reason, "CLOSELOOP_API_INTERCOM_TOKEN") {
		t.Errorf("failed look-ups listed: %+v", fs)
	}
}

// lookupStack is a local stack whose source's API is the stub h, reached
// with token; check-ins are off (the samples' solves are a week old, so a
// check-in would be due at once).
func lookupStack(t *testing.T, source, token string, h http.Handler) (*devstack.Stack, closeloop.Config) {
	t.Helper()
	api := httptest.NewServer(h)
	t.Cleanup(api.Close)
	cfg := awstest.Config()
	cfg.CheckInDelay = 0
	cfg.APIs = map[string]closeloop.VendorAPI{source: {URL: api.URL, Token: token}}
	return awstest.Stack(t, cfg), cfg
}

func basic(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// TestLookupHubSpot: a HubSpot property-change batch names tickets only;
// the closed one's contact is found through the ticket's association and
// surveyed once; the other ticket moved to a stage that is not closed.
func TestLookupHubSpot(t *testing.T) {
	email := awstest.Email()
	var calls atomic.Int64
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.Header.Get("Authorization") != "Bearer pat-hubspot" {
			http.Error(w, "{}", http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/crm/v3/objects/tickets/4188726301":
			w.Write([]byte(`{"id":"4188726301","properties":{"subject":"Invoice twice"},"associations":{"contacts":{"results":[{"id":"901","type":"ticket_to_contact"}]}}}`))
		case "/crm/v3/objects/contacts/901":
			json.NewEncoder(w).Encode(map[string]any{"id": "901", "properties": map[string]string{"email": email, "firstname": "Lea", "lastname": "Kim", "hs_language": "fr"}})
		default:
			http.NotFound(w, r)
		}
	}))
	defer api.Close()
	cfg := awstest.Config()
	cfg.APIs = map[string]closeloop.VendorAPI{"hubspot": {URL: api.URL, Token: "pat-hubspot"}}
	st := awstest.Stack(t, cfg)
	code, reply, _ := deliver(t, st, "hubspot-solved-lookup.json")
	if code != 200 || !strings.Contains(reply, `"scheduled"`) || calls.Load() != 0 {
		t.Fatalf("batch: %d %s, %d API calls", code, reply, calls.Load())
	}
	if res, _ := st.Sweeper.Run(context.Background()); res.Sent != 1 {
		t.Fatalf("sweep: %+v", res)
	}
	if ms := awstest.MailTo(t, email); len(ms) != 1 || !strings.HasPrefix(ms[0].Subject, "Comment") {
		t.Errorf("%d emails to the ticket's contact, want 1 in French: %v", len(ms), ms)
	}
	if tk, _ := st.Store.GetTicket(context.Background(), "hubspot", "4188726301"); tk == nil || tk.Locale != "fr" || tk.State != closeloop.SurveySent {
		t.Errorf("ticket %+v", tk)
	}
}

// TestLookupJiraFrontHelpScout: a Jira reporter whose profile hides their
// email, a Front recipient known by phone number and a Help Scout chat
// without the customer's email are each looked up through the vendor's API
// (stubbed here with its published paths and credential forms) and
// surveyed once at the looked-up address, with the check-in that follows a
// solve scheduled for them too. A retried delivery repeats nothing. Help
// Scout's access token comes from its OAuth endpoint, is reused, and is
// renewed once when refused.
func TestLookupJiraFrontHelpScout(t *testing.T) {
	type vendorCase struct {
		source, sample, ticket string
		token                  string
		serve                  func(email string, calls *atomic.Int64) http.HandlerFunc
		locale, zone           string
	}
	var tokensIssued atomic.Int64
	cases := []vendorCase{
		{source: "jira", sample: "jira-solved-lookup.json", ticket: "SUP-43", token: "agent@acme.example:jira-token", locale: "nb-NO", zone: "Europe/Oslo",
			serve: func(email string, calls *atomic.Int64) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					calls.Add(1)
					if r.Header.Get("Authorization") != "Basic "+basic("agent@acme.example:jira-token") || r.URL.Path != "/rest/api/3/user" ||
						r.URL.Query().Get("accountId") != "qm:7f3e9a21-55b0-4c6e-9d1a-2b8c4e6f0a13" {
						http.Error(w, "{}", http.StatusNotFound)
						return
					}
					json.NewEncoder(w).Encode(map[string]any{"accountId": "qm:7f3e9a21-55b0-4c6e-9d1a-2b8c4e6f0a13", "emailAddress": email,
						"displayName": "Siv", "locale": "nb_NO", "timeZone": "Europe/Oslo", "accountType": "customer"})
				}
			}},
		{source: "front", sample: "front-solved-lookup.json", ticket: "cnv_6a1d2e3f", token: "front-token",
			serve: func(email string, calls *atomic.Int64) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					calls.Add(1)
					if r.Header.Get("Authorization") != "Bearer front-token" || r.URL.Path != "/contacts/crd_2b7c9e41" {
						http.Error(w, "{}", http.StatusNotFound)
						return
					}
					json.NewEncoder(w).Encode(map[string]any{"id": "crd_2b7c9e41", "name": "Mira Customer",
						"handles": []map[string]string{{"handle": "+4712345678", "source": "phone"}, {"handle": email, "source": "email"}}})
				}
			}},
		{source: "helpscout", sample: "helpscout-solved-lookup.json", ticket: "2391938222", token: "app-id:app-secret",
			serve: func(email string, calls *atomic.Int64) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					calls.Add(1)
					switch r.URL.Path {
					case "/v2/oauth2/token":
						r.ParseForm()
						if r.PostForm.Get("grant_type") != "client_credentials" || r.PostForm.Get("client_id") != "app-id" || r.PostForm.Get("client_secret") != "app-secret" {
							http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
							return
						}
						n := tokensIssued.Add(1)
						json.NewEncoder(w).Encode(map[string]any{"token_type": "bearer", "access_token": fmt.Sprint("at-", n), "expires_in": 172800})
					case "/v2/customers/238456":
						// The first token issued is refused, as an expired one would be.
						if a := r.Header.Get("Authorization"); a == "Bearer at-1" || !strings.HasPrefix(a, "Bearer at-") {
							http.Error(w, "{}", http.StatusUnauthorized)
							return
						}
						json.NewEncoder(w).Encode(map[string]any{"id": 238456, "firstName": "Jonas", "lastName": "Berg",
							"_embedded": map[string]any{"emails": []map[string]any{{"id": 1, "value": email, "type": "work"}}}})
					default:
						http.NotFound(w, r)
					}
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.source, func(t *testing.T) {
			email := awstest.Email()
			var calls atomic.Int64
			api := httptest.NewServer(tc.serve(email, &calls))
			defer api.Close()
			cfg := awstest.Config()
			cfg.CheckInDelay = 365 * 24 * time.Hour // never due during the test
			cfg.APIs = map[string]closeloop.VendorAPI{tc.source: {URL: api.URL, Token: tc.token}}
			st := awstest.Stack(t, cfg)
			code, reply, took := deliver(t, st, tc.sample)
			if code != 200 || !strings.Contains(reply, `"scheduled"`) || calls.Load() != 0 || took > 2*time.Second {
				t.Fatalf("delivery: %d %s in %s, %d API calls; want scheduled at once without a look-up", code, reply, took, calls.Load())
			}
			if code, reply, _ := deliver(t, st, tc.sample); code != 200 || !strings.Contains(reply, `"duplicate"`) {
				t.Errorf("a retried delivery: %d %s", code, reply)
			}
			if res, err := st.Sweeper.Run(context.Background()); res.Sent != 1 {
				t.Fatalf("sweep: %+v %v", res, err)
			}
			st.Sweeper.Run(context.Background())
			if ms := awstest.MailTo(t, email); len(ms) != 1 {
				t.Errorf("%d emails to the looked-up address, want 1", len(ms))
			}
			tk, _ := st.Store.GetTicket(context.Background(), tc.source, tc.ticket)
			if tk == nil || tk.ContactID == "" || tk.State != closeloop.SurveySent || tk.Locale != tc.locale || tk.TimeZone != tc.zone {
				t.Errorf("ticket after the look-up: %+v", tk)
			}
			ci, err := st.Store.GetCheckIn(context.Background(), closeloop.CheckInID(tc.source, tc.ticket))
			// A check-in delay after the solve, or after its arrival for a
			// sample whose solve is days old: never before the survey.
			from := tk.StatusAt
			if from.Before(tk.ReceivedAt) {
				from = tk.ReceivedAt
			}
			if err != nil || ci.ContactID != tk.ContactID || ci.DueAt.Sub(from) != cfg.CheckInDelay || !ci.DueAt.After(time.Now()) {
				t.Errorf("check-in after the look-up: %+v %v", ci, err)
			}
		})
	}
	if n := tokensIssued.Load(); n != 2 {
		t.Errorf("%d Help Scout access tokens issued, want 2 (the first refused, then renewed)", n)
	}
}

// TestLookupJiraHiddenEmail: Jira answers the user without an email where
// the profile hides it; the survey is not sent and the reason says why.
func TestLookupJiraHiddenEmail(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"accountId":"qm:7f3e9a21-55b0-4c6e-9d1a-2b8c4e6f0a13","displayName":"Customer","accountType":"customer"}`))
	}))
	defer api.Close()
	cfg := awstest.Config()
	cfg.APIs = map[string]closeloop.VendorAPI{"jira": {URL: api.URL, Token: "agent@acme.example:jira-token"}}
	st := awstest.Stack(t, cfg)
	if code, reply, _ := deliver(t, st, "jira-solved-lookup.json"); code != 200 {
		t.Fatalf("delivery: %d %s", code, reply)
	}
	if res, _ := st.Sweeper.Run(context.Background()); res.Failed != 1 || res.Sent != 0 {
		t.Fatalf("sweep: %+v, want failed", res)
	}
	tk, _ := st.Store.GetTicket(context.Background(), "jira", "SUP-43")
	if tk == nil || !strings.Contains(tk.Reason, "profile visibility") {
		t.Errorf("ticket %+v, want the reason", tk)
	}
}

// TestLookupFillsLanguage: a delivery with the customer's email but not
// their language (Intercom's conversation notifications carry none) is
// surveyed in the language the helpdesk's API knows, when a look-up is
// configured; the webhook still calls nothing. When the API fails, the
// survey goes at once, in the default language: a missing language never
// holds a survey back.
func TestLookupFillsLanguage(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer func(http.ResponseWriter)
		words  string
	}{
		{"found", body(map[string]any{"type": "contact", "id": "5310d8e7598c9a0b24000002", "email": "noor.customer@example.org", "browser_language": "fr"}), "Comment"},
		{"api down", status(http.StatusServiceUnavailable), "How"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := &vendor{auth: "Bearer intercom-token", answers: []func(http.ResponseWriter){tc.answer}}
			st, cfg := lookupStack(t, "intercom", "intercom-token", v)
			email := awstest.Email()
			ev := awstest.LoadEvent(t, "intercom-solved.json", time.Now())
			ev.Body = strings.Replace(ev.Body, "noor.customer@example.org", email, 1)
			ev.Headers, _ = helpdesk.Resign("intercom", cfg.Secrets["intercom"], "", ev.Headers, []byte(ev.Body), time.Now())
			res, err := lambdahttp.Handler(st.Handler)(context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}
			if code, reply := res.StatusCode, res.Body; code != 200 || !strings.Contains(reply, `"scheduled"`) || v.calls.Load() != 0 {
				t.Fatalf("delivery: %d %s, %d API calls", code, reply, v.calls.Load())
			}
			if res, _ := st.Sweeper.Run(context.Background()); res.Sent != 1 {
				t.Fatalf("sweep: %+v, want sent at once", res)
			}
			ms := awstest.MailTo(t, email)
			if len(ms) != 1 || !strings.HasPrefix(ms[0].Subject, tc.words) {
				t.Errorf("%d emails, want one starting %q: %v", len(ms), tc.words, ms)
			}
			if v.calls.Load() != 1 {
				t.Errorf("%d look-ups, want 1", v.calls.Load())
			}
		})
	}
}

// TestLookedUpZoneKeepsQuietHours: a customer whose time zone only the
// helpdesk's API knows is not surveyed outside the send window in that
// zone: the survey waits, with the looked-up contact kept, for the
// window's next start there, and the API is not asked again.
func TestLookedUpZoneKeepsQuietHours(t *testing.T) {
	email := awstest.Email()
	v := &vendor{auth: "Basic " + basic("agent@acme.example:jira-token"), answers: []func(http.ResponseWriter){
		body(map[string]any{"accountId": "qm:7f3e9a21-55b0-4c6e-9d1a-2b8c4e6f0a13", "emailAddress": email, "displayName": "Aiko", "timeZone": "Asia/Tokyo"}),
	}}
	st, _ := lookupStack(t, "jira", "agent@acme.example:jira-token", v)
	st.Sweeper.Window, _ = closeloop.ParseSendWindow("11:00-14:00")
	st.Sweeper.Zone = time.UTC
	if code, reply, _ := deliver(t, st, "jira-solved-lookup.json"); code != 200 {
		t.Fatalf("delivery: %d %s", code, reply)
	}
	y, m, d := time.Now().UTC().Add(48 * time.Hour).Date() // after the survey's delay
	clock := time.Date(y, m, d, 12, 0, 0, 0, time.UTC)     // inside the window in UTC; 21:00 in Tokyo
	st.Sweeper.Now = func() time.Time { return clock }
	if res, _ := st.Sweeper.Run(context.Background()); res.Deferred != 1 || res.Sent != 0 {
		t.Fatalf("sweep at 21:00 in the customer's zone: %+v, want deferred", res)
	}
	tk, _ := st.Store.GetTicket(context.Background(), "jira", "SUP-43")
	wantDue := time.Date(y, m, d+1, 2, 0, 0, 0, time.UTC) // 11:00 in Tokyo
	if tk == nil || tk.State != closeloop.SurveyScheduled || tk.ContactID == "" || tk.TimeZone != "Asia/Tokyo" || !tk.DueAt.Equal(wantDue) {
		t.Fatalf("ticket %+v, want scheduled for %s with the looked-up contact", tk, wantDue)
	}
	clock = wantDue
	if res, _ := st.Sweeper.Run(context.Background()); res.Sent != 1 {
		t.Fatalf("sweep at 11:00 in Tokyo: %+v, want sent", res)
	}
	if n := v.calls.Load(); n != 1 {
		t.Errorf("%d look-ups, want 1", n)
	}
	if n := len(awstest.MailTo(t, email)); n != 1 {
		t.Errorf("%d emails, want 1", n)
	}
}

// TestLookupNearTheDeadline: a run with little time left does not claim a
// survey whose customer is still to be looked up (a look-up may take
// several requests); the next run does.
func TestLookupNearTheDeadline(t *testing.T) {
	email := awstest.Email()
	v := &vendor{auth: "Bearer intercom-token", answers: []func(http.ResponseWriter){
		body(map[string]any{"type": "contact", "id": "6650f2ab9c3e1a0001b7c0de", "email": email}),
	}}
	st, _ := lookupStack(t, "intercom", "intercom-token", v)
	if code, reply, _ := deliver(t, st, "intercom-solved-lookup.json"); code != 200 {
		t.Fatalf("delivery: %d %s", code, reply)
	}
	short, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if res, _ := st.Sweeper.Run(short); res.Sent != 0 || v.calls.Load() != 0 {
		t.Fatalf("a run with 15 s left: %+v, %d look-ups; want it left for the next run", res, v.calls.Load())
	}
	if tk, _ := st.Store.GetTicket(context.Background(), "intercom", "5001"); tk == nil || tk.State != closeloop.SurveyScheduled {
		t.Fatalf("ticket %+v, want still scheduled", tk)
	}
	if res, _ := st.Sweeper.Run(context.Background()); res.Sent != 1 {
		t.Errorf("the next run: %+v", res)
	}
}

// TestLookupOfAnErasedPerson: a delivery naming a customer by the
// helpdesk's id only, who turns out to be an erased person, sends nothing
// and keeps nothing about them on the ticket (no subject, agent or the
// helpdesk's id for them), since no contact id would lead a later erasure
// there.
func TestLookupOfAnErasedPerson(t *testing.T) {
	email, st, _ := intercomCustomer(t)
	addr, _ := closeloop.NormalizeEmail(email)
	cid, _ := st.Store.ContactID(addr)
	if err := st.Store.UpsertContact(context.Background(), closeloop.Contact{ID: cid, Email: addr}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Store.Erase(context.Background(), email); err != nil {
		t.Fatal(err)
	}
	if code, reply, _ := deliver(t, st, "intercom-solved-lookup.json"); code != 200 || !strings.Contains(reply, `"scheduled"`) {
		t.Fatalf("delivery: %d %s", code, reply)
	}
	if res, _ := st.Sweeper.Run(context.Background()); res.Sent != 0 || res.Suppressed != 1 {
		t.Errorf("sweep %+v, want suppressed", res)
	}
	tk, _ := st.Store.GetTicket(context.Background(), "intercom", "5001")
	if tk == nil || tk.State != closeloop.SurveySuppressed || tk.Subject != "" || tk.AgentName != "" || tk.AgentEmail != "" || tk.LookupID != "" {
		t.Errorf("ticket %+v: want suppressed, without subject, agent or look-up id", tk)
	}
	if n := len(awstest.MailTo(t, email)); n != 0 {
		t.Errorf("%d emails to an erased person", n)
	}
}

// TestLookedUpCustomerWhileADeliveryWrites: a delivery writing the ticket
// while the survey of a looked-up customer is being sent (the run's contact
// is not stored on the ticket yet) is no erasure: the survey keeps its
// person and the ticket their contact.
func TestLookedUpCustomerWhileADeliveryWrites(t *testing.T) {
	_, st, cfg := intercomCustomer(t)
	if code, reply, _ := deliver(t, st, "intercom-solved-lookup.json"); code != 200 || !strings.Contains(reply, `"scheduled"`) {
		t.Fatalf("delivery: %d %s", code, reply)
	}
	wh := webhook.New(cfg, st.Store)
	st.Sweeper.Mailer = &hookMailer{next: st.Sender, during: func() {
		ev := closeloop.TicketEvent{Source: "intercom", EventID: awstest.Name("e"), TicketID: "5001", Status: closeloop.StatusReopened, OccurredAt: time.Now()}
		if _, err := wh.Apply(context.Background(), ev, time.Now()); err != nil {
			t.Error(err)
		}
	}}
	if res, _ := st.Sweeper.Run(context.Background()); res.Sent != 1 {
		t.Fatalf("sweep %+v", res)
	}
	tk, _ := st.Store.GetTicket(context.Background(), "intercom", "5001")
	if tk == nil || tk.State != closeloop.SurveySent || tk.ContactID == "" {
		t.Fatalf("ticket %+v: want sent, with the looked-up contact", tk)
	}
	if sv, err := st.Store.GetSurvey(context.Background(), tk.SurveyID); err != nil || sv.Erased() {
		t.Errorf("the looked-up customer's survey was erased: %+v, %v", sv, err)
	}
}

// TestLookedUpCustomerErasedWhileSending: a looked-up customer erased while
// their survey is being sent (erasure cannot find the ticket yet: it holds
// no contact id until the sweep records it) ends with nothing about them
// on the ticket or the survey, with or without a delivery writing the
// ticket meanwhile.
func TestLookedUpCustomerErasedWhileSending(t *testing.T) {
	for _, reopen := range []bool{false, true} {
		email, st, cfg := intercomCustomer(t)
		if code, reply, _ := deliver(t, st, "intercom-solved-lookup.json"); code != 200 || !strings.Contains(reply, `"scheduled"`) {
			t.Fatalf("delivery: %d %s", code, reply)
		}
		wh := webhook.New(cfg, st.Store)
		st.Sweeper.Mailer = &hookMailer{next: st.Sender, during: func() {
			if _, err := st.Store.Erase(context.Background(), email); err != nil {
				t.Error(err)
			}
			if reopen {
				ev := closeloop.TicketEvent{Source: "intercom", EventID: awstest.Name("e"), TicketID: "5001", Status: closeloop.StatusReopened, OccurredAt: time.Now()}
				if _, err := wh.Apply(context.Background(), ev, time.Now()); err != nil {
					t.Error(err)
				}
			}
		}}
		st.Sweeper.Run(context.Background())
		tk, _ := st.Store.GetTicket(context.Background(), "intercom", "5001")
		if tk == nil || tk.ContactID != "" || tk.Subject != "" || tk.LookupID != "" || tk.AgentName != "" {
			t.Errorf("reopen %v: ticket %+v keeps the erased person", reopen, tk)
		}
		if tk != nil && tk.SurveyID != "" {
			if sv, err := st.Store.GetSurvey(context.Background(), tk.SurveyID); err == nil && !sv.Erased() {
				t.Errorf("reopen %v: the survey keeps the erased person: %+v", reopen, sv)
			}
		}
	}
}

// TestCheckInWrittenDuringErasure: a check-in scheduled in the instant of
// its person's erasure (after the erasure listed their items) is skipped
// and keeps nothing about them.
func TestCheckInWrittenDuringErasure(t *testing.T) {
	st := awstest.Stack(t, awstest.Config())
	ctx := context.Background()
	email := awstest.Email()
	addr, _ := closeloop.NormalizeEmail(email)
	cid, _ := st.Store.ContactID(addr)
	if err := st.Store.UpsertContact(ctx, closeloop.Contact{ID: cid, Email: addr}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Store.Erase(ctx, email); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tk := &closeloop.Ticket{Source: "generic", TicketID: "ci-race", Status: closeloop.StatusSolved, StatusAt: now.Add(-200 * time.Hour), ContactID: cid, Subject: "SUBJ-CI-RACE", State: closeloop.SurveySent}
	if err := st.Store.SaveTicket(ctx, tk, 0); err != nil {
		t.Fatal(err)
	}
	ci := closeloop.CheckIn{ID: closeloop.CheckInID("generic", "ci-race"), Source: "generic", TicketID: "ci-race", ContactID: cid, Subject: "SUBJ-CI-RACE", DueAt: now.Add(-time.Hour)}
	if err := st.Store.ScheduleCheckIn(ctx, ci); err != nil {
		t.Fatal(err)
	}
	if res, err := st.Sweeper.Run(ctx); err != nil || res.CheckInsSkipped != 1 {
		t.Fatalf("sweep %+v, %v; want the check-in skipped", res, err)
	}
	got, err := st.Store.GetCheckIn(ctx, ci.ID)
	if err != nil || got.ContactID != "" || got.Subject != "" {
		t.Errorf("check-in %+v, %v: keeps the erased person", got, err)
	}
}

// intercomCustomer is a stack whose Intercom look-ups find one customer
// (Noor, at the returned address) for the sample intercom-solved-lookup.json,
// and its configuration.
func intercomCustomer(t *testing.T) (string, *devstack.Stack, closeloop.Config) {
	t.Helper()
	email := awstest.Email()
	v := &vendor{auth: "Bearer intercom-token", answers: []func(http.ResponseWriter){
		body(map[string]any{"type": "contact", "id": "6650f2ab9c3e1a0001b7c0de", "email": email, "name": "Noor"}),
	}}
	api := httptest.NewServer(v)
	t.Cleanup(api.Close)
	cfg := awstest.Config()
	cfg.APIs = map[string]closeloop.VendorAPI{"intercom": {URL: api.URL, Token: "intercom-token"}}
	cfg.CheckInDelay = 0
	return email, awstest.Stack(t, cfg), cfg
}

// TestLookupThrottledWaitsAsTold: a helpdesk API answering 429 with
// Retry-After is not called again before that time, neither for the
// ticket whose look-up it refused nor for the run's other tickets of the
// same source; the waits do not use up the survey's tries (five tries in
// half an hour used to fail every survey of a throttled helpdesk for good),
// and a survey throttled for over a day fails with the reason.
func TestLookupThrottledWaitsAsTold(t *testing.T) {
	v := &vendor{auth: "Bearer intercom-token", answers: []func(http.ResponseWriter){func(w http.ResponseWriter) {
		w.Header().Set("Retry-After", "3600")
		status(http.StatusTooManyRequests)(w)
	}}}
	st, _ := lookupStack(t, "intercom", "intercom-token", v)
	ctx := context.Background()
	clock := time.Now().UTC().Truncate(time.Second)
	st.Sweeper.Now = func() time.Time { return clock }
	st.Sweeper.Window = closeloop.SendWindow{Always: true}
	st.Sweeper.Workers = 1 // one at a time: calls already under way when the 429 comes cannot be taken back
	for i := range 5 {
		tk := &closeloop.Ticket{Source: "intercom", TicketID: fmt.Sprintf("T%d", i), Status: closeloop.StatusSolved, StatusAt: clock, SolvedAt: clock, ReceivedAt: clock,
			State: closeloop.SurveyScheduled, DueAt: clock, Kind: closeloop.CSAT, LookupID: fmt.Sprintf("contact-%d", i)}
		if err := st.Store.SaveTicket(ctx, tk, 0); err != nil {
			t.Fatal(err)
		}
	}
	tickets := func() []*closeloop.Ticket {
		var out []*closeloop.Ticket
		for i := range 5 {
			tk, err := st.Store.GetTicket(ctx, "intercom", fmt.Sprintf("T%d", i))
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, tk)
		}
		return out
	}
	res, _ := st.Sweeper.Run(ctx)
	if n := v.calls.Load(); n != 1 || res.Failed != 0 || res.Sent != 0 {
		t.Fatalf("first run: %d calls to the throttled API (want 1), %+v", n, res)
	}
	for _, tk := range tickets() {
		if tk.State != closeloop.SurveyScheduled || tk.Attempts != 0 || tk.DueAt.Before(clock.Add(time.Hour)) {
			t.Errorf("ticket %s after a 429 with Retry-After 3600: %s, %d tries, due %s; want scheduled, no try used, due in an hour or later",
				tk.TicketID, tk.State, tk.Attempts, tk.DueAt.Sub(clock))
		}
	}
	clock = clock.Add(20 * time.Minute)
	st.Sweeper.Run(ctx)
	if n := v.calls.Load(); n != 1 {
		t.Errorf("%d calls 20 minutes later, want none before the hour", n-1)
	}
	// Still throttled every hour for a day: never failed for the waits.
	for clock.Sub(tickets()[0].SolvedAt) < 23*time.Hour {
		clock = clock.Add(time.Hour)
		if res, _ := st.Sweeper.Run(ctx); res.Failed != 0 {
			t.Fatalf("%s after the solve: %+v; want no survey failed while the API asks to wait", clock.Sub(tickets()[0].SolvedAt), res)
		}
	}
	clock = clock.Add(2 * time.Hour)
	st.Sweeper.Run(ctx)
	st.Sweeper.Run(ctx)
	for _, tk := range tickets() {
		if tk.State != closeloop.SurveyFailed || !strings.Contains(tk.Reason, "429") {
			t.Errorf("ticket %s throttled for over a day: %s %q; want failed with the reason", tk.TicketID, tk.State, tk.Reason)
		}
	}
}

// TestLookedUpLanguageReachesTheCheckIn: a delivery with the address but
// not the language is completed by a look-up before the survey; the
// check-in that follows a week later goes in that language too (it went in
// English: the check-in was scheduled before the look-up).
func TestLookedUpLanguageReachesTheCheckIn(t *testing.T) {
	v := &vendor{auth: "Bearer intercom-token", answers: []func(http.ResponseWriter){
		body(map[string]any{"type": "contact", "id": "5310d8e7598c9a0b24000002", "email": "noor.customer@example.org", "browser_language": "fr"}),
	}}
	api := httptest.NewServer(v)
	defer api.Close()
	cfg := awstest.Config()
	cfg.APIs = map[string]closeloop.VendorAPI{"intercom": {URL: api.URL, Token: "intercom-token"}}
	cfg.CheckInDelay = 30 * 24 * time.Hour // after the sample's solve (days ago): due after the survey, as in life
	cfg.ReminderDelay = 0
	st := awstest.Stack(t, cfg)
	email := awstest.Email()
	ev := awstest.LoadEvent(t, "intercom-solved.json", time.Now())
	ev.Body = strings.Replace(ev.Body, "noor.customer@example.org", email, 1)
	ev.Headers, _ = helpdesk.Resign("intercom", cfg.Secrets["intercom"], "", ev.Headers, []byte(ev.Body), time.Now())
	if res, err := lambdahttp.Handler(st.Handler)(context.Background(), ev); err != nil || !strings.Contains(res.Body, `"scheduled"`) {
		t.Fatalf("delivery: %+v %v", res, err)
	}
	clock := time.Now()
	st.Sweeper.Now = func() time.Time { return clock }
	st.Sweeper.Run(context.Background())
	if ms := awstest.MailTo(t, email); len(ms) != 1 {
		t.Fatalf("%d emails after the first run, want the survey alone", len(ms))
	}
	clock = clock.Add(30 * 24 * time.Hour)
	st.Sweeper.Run(context.Background())
	ms := awstest.MailTo(t, email)
	if len(ms) != 2 {
		t.Fatalf("%d emails, want the survey and the check-in: %v", len(ms), ms)
	}
	for _, m := range ms {
		if !strings.Contains(m.Body.Text, "Bonjour") {
			t.Errorf("%q is not in French:\n%s", m.Subject, m.Body.Text)
		}
	}
}
