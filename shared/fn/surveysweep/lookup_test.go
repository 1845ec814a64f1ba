package surveysweep_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/closeloop/closeloop/shared/closeloop"
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
		t.Errorf("ticket after the look-up %+v", tk)
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
	audit, _ := st.Store.Audit(context.Background(), time.Now(), 10)
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

	// No credentials: refused with the fix.
	st3 := awstest.Stack(t, awstest.Config())
	code, reply, _ := deliver(t, st3, "intercom-solved-lookup.json")
	if code != 400 || !strings.Contains(reply, "CLOSELOOP_API_INTERCOM_URL and CLOSELOOP_API_INTERCOM_TOKEN") {
		t.Errorf("without credentials: %d %s", code, reply)
	}
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
	if ms := awstest.MailTo(t, email); len(ms) != 1 {
		t.Errorf("%d emails to the ticket's contact, want 1", len(ms))
	}
	if tk, _ := st.Store.GetTicket(context.Background(), "hubspot", "4188726301"); tk == nil || tk.Locale != "fr" || tk.State != closeloop.SurveySent {
		t.Errorf("ticket %+v", tk)
	}
}
