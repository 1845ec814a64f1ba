package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/fn/webhook"
	"github.com/closeloop/closeloop/shared/helpdesk"
	"github.com/closeloop/closeloop/shared/local/awstest"
	"github.com/closeloop/closeloop/shared/local/devstack"
	"github.com/closeloop/closeloop/shared/platform/lambdahttp"
)

func TestMain(m *testing.M) { awstest.Main(m) }

// invoke runs ev through the HTTP surface the way the webhook Lambda does.
func invoke(t *testing.T, st *devstack.Stack, ev events.APIGatewayV2HTTPRequest) (int, string) {
	t.Helper()
	res, err := lambdahttp.Handler(st.Handler)(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, res.Body
}

func action(t *testing.T, body string) closeloop.Action {
	t.Helper()
	var r struct{ Action closeloop.Action }
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("reply %q: %v", body, err)
	}
	return r.Action
}

func TestSampleEvents(t *testing.T) {
	tests := []struct {
		source, solved, reopened, ticket string
	}{
		{"generic", "generic-solved.json", "generic-reopened.json", "1001"},
		{"zendesk", "zendesk-solved.json", "zendesk-reopened.json", "35436"},
	}
	for _, tt := range tests {
		t.Run(tt.source, func(t *testing.T) {
			st := awstest.Stack(t, closeloop.Config{})
			now := time.Now()
			steps := []struct {
				event string
				want  closeloop.Action
				state closeloop.SurveyState
			}{
				{tt.solved, closeloop.ActionScheduled, closeloop.SurveyScheduled},
				{tt.solved, closeloop.ActionDuplicate, closeloop.SurveyScheduled},
				{tt.reopened, closeloop.ActionCancelled, closeloop.SurveyCancelled},
				{tt.reopened, closeloop.ActionDuplicate, closeloop.SurveyCancelled},
			}
			for _, s := range steps {
				code, body := invoke(t, st, awstest.LoadEvent(t, s.event, now))
				if code != http.StatusOK || action(t, body) != s.want {
					t.Fatalf("%s: got %d %s, want 200 %s", s.event, code, body, s.want)
				}
				tk, err := st.Store.GetTicket(context.Background(), tt.source, tt.ticket)
				if err != nil {
					t.Fatal(err)
				}
				if tk.State != s.state {
					t.Errorf("after %s: state %q, want %q", s.event, tk.State, s.state)
				}
			}
		})
	}
}

func TestRefusalsStoreNothing(t *testing.T) {
	st := awstest.Stack(t, closeloop.Config{})
	now := time.Now()
	good := awstest.LoadEvent(t, "generic-solved.json", now)
	before := awstest.Snapshot(t, st.Config.Table)

	tests := []struct {
		name   string
		mutate func(ev *events.APIGatewayV2HTTPRequest)
		code   int
		reason string
	}{
		{"bad signature", func(ev *events.APIGatewayV2HTTPRequest) {
			ev.Headers["x-closeloop-signature"] = "sha256=" + strings.Repeat("ab", 32)
		}, 401, "signature does not match"},
		{"missing signature", func(ev *events.APIGatewayV2HTTPRequest) { delete(ev.Headers, "x-closeloop-signature") }, 401, "X-Closeloop-Signature"},
		{"tampered body", func(ev *events.APIGatewayV2HTTPRequest) {
			ev.Body = strings.Replace(ev.Body, "ada@example.com", "eve@example.com", 1)
		}, 401, "signature does not match"},
		{"stale timestamp", func(ev *events.APIGatewayV2HTTPRequest) {
			ev.Headers, _ = helpdesk.Resign("generic", awstest.Config().Secrets["generic"], "", ev.Headers, []byte(ev.Body), now.Add(-10*time.Minute))
		}, 401, "replay window"},
		{"malformed JSON", func(ev *events.APIGatewayV2HTTPRequest) { resign(ev, `{"event_id": "x", "ticket_id": `, now) }, 400, "not the expected JSON"},
		{"missing email", func(ev *events.APIGatewayV2HTTPRequest) {
			resign(ev, `{"event_id":"e1","ticket_id":"9","status":"solved","customer":{"name":"No Mail"}}`, now)
		}, 400, "customer email"},
		{"unknown status", func(ev *events.APIGatewayV2HTTPRequest) {
			resign(ev, `{"event_id":"e1","ticket_id":"9","status":"exploded","customer":{"email":"a@example.com"}}`, now)
		}, 400, "status"},
		{"unknown source", func(ev *events.APIGatewayV2HTTPRequest) {
			ev.RawPath, ev.PathParameters["source"] = "/webhooks/salesforce", "salesforce"
		}, 404, "unknown source"},
		{"body over 1 MiB", func(ev *events.APIGatewayV2HTTPRequest) {
			resign(ev, `{"subject":"`+strings.Repeat("x", 1<<20)+`"}`, now)
		}, 413, "larger than 1 MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := good
			ev.Headers = clone(good.Headers)
			ev.PathParameters = clone(good.PathParameters)
			tt.mutate(&ev)
			code, body := invoke(t, st, ev)
			if code != tt.code || !strings.Contains(body, tt.reason) {
				t.Errorf("got %d %s, want %d with %q", code, body, tt.code, tt.reason)
			}
			if after := awstest.Snapshot(t, st.Config.Table); after != before {
				t.Errorf("a refused delivery changed the table:\nbefore %s\nafter %s", before, after)
			}
		})
	}
}

func resign(ev *events.APIGatewayV2HTTPRequest, body string, now time.Time) {
	ev.Body = body
	ev.Headers, _ = helpdesk.Resign("generic", awstest.Config().Secrets["generic"], "", ev.Headers, []byte(body), now)
}

func clone(m map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// TestConcurrentDeliveries sends the same delivery many times at once, and
// different deliveries solving the same ticket at once: one survey is
// scheduled, and one email goes out.
func TestConcurrentDeliveries(t *testing.T) {
	st := awstest.Stack(t, closeloop.Config{})
	email := awstest.Email()
	now := time.Now()
	deliver := func(eventID string) closeloop.Action {
		body := fmt.Sprintf(`{"event_id":%q,"ticket_id":"T-1","status":"solved","customer":{"email":%q,"name":"Ada"},"subject":"Printer"}`, eventID, email)
		ev := awstest.LoadEvent(t, "generic-solved.json", now)
		resign(&ev, body, now)
		code, reply := invoke(t, st, ev)
		if code != 200 {
			t.Errorf("delivery %s: %d %s", eventID, code, reply)
			return ""
		}
		return action(t, reply)
	}
	var mu sync.Mutex
	got := map[closeloop.Action]int{}
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := "same-delivery"
			if i%2 == 1 {
				id = fmt.Sprintf("other-delivery-%d", i)
			}
			a := deliver(id)
			mu.Lock()
			got[a]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if got[closeloop.ActionScheduled] != 1 || got[closeloop.ActionDuplicate] != 15 {
		t.Fatalf("actions %v, want 1 scheduled and 15 duplicate", got)
	}
	// Two sweeps at once send the one survey once.
	var sweeps sync.WaitGroup
	for i := 0; i < 2; i++ {
		sweeps.Add(1)
		go func() { defer sweeps.Done(); st.Sweep(context.Background()) }()
	}
	sweeps.Wait()
	st.Sweep(context.Background())
	if n := len(awstest.MailTo(t, email)); n != 1 {
		t.Errorf("%d survey emails, want 1", n)
	}
}

// TestReorderedDeliveries: a reopen that arrives before the solve it
// follows wins; the late solve is stale and schedules nothing.
func TestReorderedDeliveries(t *testing.T) {
	st := awstest.Stack(t, closeloop.Config{})
	now := time.Now()
	send := func(id, status string, at time.Time) closeloop.Action {
		body := fmt.Sprintf(`{"event_id":%q,"ticket_id":"R-1","status":%q,"customer":{"email":"r@example.com"},"solved_at":%q}`, id, status, at.UTC().Format(time.RFC3339))
		ev := awstest.LoadEvent(t, "generic-solved.json", now)
		resign(&ev, body, now)
		_, reply := invoke(t, st, ev)
		return action(t, reply)
	}
	if a := send("reopen", "reopened", now.Add(-time.Minute)); a != closeloop.ActionIgnored {
		t.Errorf("reopen first: %s, want ignored", a)
	}
	if a := send("solve", "solved", now.Add(-2*time.Minute)); a != closeloop.ActionIgnored {
		t.Errorf("older solve after it: %s, want ignored", a)
	}
	_, err := st.Store.GetTicket(context.Background(), "generic", "R-1")
	if err != nil {
		t.Fatal(err)
	}
	refs, err := st.Store.DueTickets(context.Background(), now.Add(time.Hour), 10)
	if err != nil || len(refs) != 0 {
		t.Errorf("due tickets %v, %v; want none", refs, err)
	}
	if a := send("solve-2", "solved", now); a != closeloop.ActionScheduled {
		t.Errorf("newer solve: %s, want scheduled", a)
	}
}

// TestHubSpotClosedStages: a team whose HubSpot pipeline closes tickets in
// a stage of its own (not the default pipeline's "4") names it in
// CLOSELOOP_SOURCE_HUBSPOT_CLOSED_STAGES: a move into it is a solve, in both
// the property-change batch and the workflow body, and a move out of it a
// reopen.
func TestHubSpotClosedStages(t *testing.T) {
	env := map[string]string{"CLOSELOOP_SOURCE_HUBSPOT_CLOSED_STAGES": "88123456, 88123457", "CLOSELOOP_API_HUBSPOT_TOKEN": "pat"}
	cfg, err := closeloop.LoadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	base := awstest.Config()
	base.PerSource, base.APIs = cfg.PerSource, cfg.APIs
	st := awstest.Stack(t, base)
	now := time.Now()
	send := func(body string) (int, string) {
		ev := awstest.LoadEvent(t, "hubspot-solved-lookup.json", now)
		ev.Body = body
		ev.Headers, _ = helpdesk.Resign("hubspot", base.Secrets["hubspot"], "https://"+ev.RequestContext.DomainName+ev.RawPath, ev.Headers, []byte(body), now)
		return invoke(t, st, ev)
	}
	change := func(ticket, stage string, at int64) string {
		return fmt.Sprintf(`[{"eventId":1,"subscriptionId":7,"subscriptionType":"ticket.propertyChange","objectId":%s,"propertyName":"hs_pipeline_stage","propertyValue":%q,"occurredAt":%d}]`, ticket, stage, at)
	}
	ms := now.Add(-time.Minute).UnixMilli()
	if code, reply := send(change("501", "88123457", ms)); code != 200 || action(t, reply) != closeloop.ActionScheduled {
		t.Errorf("move into the team's closed stage: %d %s, want scheduled", code, reply)
	}
	if code, reply := send(change("501", "88123450", ms+1000)); code != 200 || action(t, reply) != closeloop.ActionCancelled {
		t.Errorf("move out of it: %d %s, want cancelled", code, reply)
	}
	if code, reply := send(change("502", "4", ms)); code != 200 || action(t, reply) != closeloop.ActionScheduled {
		t.Errorf("the default pipeline's closed stage: %d %s, want scheduled", code, reply)
	}
	email := awstest.Email()
	if code, reply := send(fmt.Sprintf(`{"ticket_id":"503","status":"88123456","email":%q}`, email)); code != 200 || action(t, reply) != closeloop.ActionScheduled {
		t.Errorf("workflow body in the team's closed stage: %d %s, want scheduled", code, reply)
	}
	if _, err := closeloop.LoadConfig(func(k string) string {
		return map[string]string{"CLOSELOOP_SOURCE_HUBSPOT_CLOSED_STAGES": "closed stage"}[k]
	}); err == nil || !strings.Contains(err.Error(), "CLOSELOOP_SOURCE_HUBSPOT_CLOSED_STAGES") {
		t.Errorf("a malformed stage list: %v, want an error naming the variable", err)
	}
}

// TestRefusedDeliveriesAreCounted: a delivery refused for its signature
// is counted in the WebhooksRejected metric (alarmed: a secret mistyped or
// rotated on one side only stops every survey without an error anywhere
// else), with its source in the log line and nothing of the body.
func TestRefusedDeliveriesAreCounted(t *testing.T) {
	st := awstest.Stack(t, closeloop.Config{})
	var logs bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(&logs, nil)))
	defer slog.SetDefault(prev)
	ev := awstest.LoadEvent(t, "generic-solved.json", time.Now())
	ev.Headers = clone(ev.Headers)
	ev.Headers["x-closeloop-signature"] = "sha256=" + strings.Repeat("ab", 32)
	if code, _ := invoke(t, st, ev); code != 401 {
		t.Fatalf("a bad signature: %d", code)
	}
	good := awstest.LoadEvent(t, "generic-solved.json", time.Now())
	if code, _ := invoke(t, st, good); code != 200 {
		t.Fatalf("a good delivery: %d", code)
	}
	var rejected int
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, `"WebhooksRejected":`) {
			rejected++
			if !strings.Contains(line, `"WebhooksRejected":1`) {
				t.Errorf("metric line %s", line)
			}
		}
	}
	if rejected != 1 || !strings.Contains(logs.String(), `"source":"generic"`) || strings.Contains(logs.String(), "ada@example.com") {
		t.Errorf("%d WebhooksRejected metric lines for one refused and one good delivery, want 1 (with the source, no body):\n%s", rejected, logs.String())
	}
}

// TestLateSolveGetsItsCheckInAfterItsSurvey: a solve delivered days late
// (a retried delivery, an import of old tickets) schedules its check-in a
// check-in delay after it arrived, never before its survey (it went at
// once, before the survey, when the solve was over a week old).
func TestLateSolveGetsItsCheckInAfterItsSurvey(t *testing.T) {
	st := awstest.Stack(t, closeloop.Config{})
	cfg := awstest.Config()
	cfg.CheckInDelay = 7 * 24 * time.Hour
	h := webhook.New(cfg, st.Store)
	now := time.Now()
	ev := awstest.Solved(awstest.Name("late-"), awstest.Email())
	ev.OccurredAt = now.Add(-10 * 24 * time.Hour)
	if action, err := h.Apply(context.Background(), ev, now); err != nil || action != closeloop.ActionScheduled {
		t.Fatalf("late solve: %s %v", action, err)
	}
	ci, err := st.Store.GetCheckIn(context.Background(), closeloop.CheckInID(ev.Source, ev.TicketID))
	if err != nil {
		t.Fatal(err)
	}
	if ci.DueAt.Before(now.Add(cfg.CheckInDelay - time.Minute)) {
		t.Errorf("check-in of a solve ten days old due %s from now, want a week after it arrived", ci.DueAt.Sub(now).Round(time.Hour))
	}
}
