package helpdesk_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/helpdesk"
)

// applyAll parses each body as source's delivery, a minute apart, and
// applies it to one ticket as the webhook would; it returns each action.
func applyAll(t *testing.T, source string, bodies ...string) []closeloop.Action {
	t.Helper()
	rc, ok := helpdesk.New(source, "s")
	if !ok {
		t.Fatalf("no receiver for %s", source)
	}
	var tk *closeloop.Ticket
	var out []closeloop.Action
	at := time.Now().Add(-time.Hour)
	for _, b := range bodies {
		at = at.Add(time.Minute)
		evs, err := rc.Parse(http.Header{}, []byte(b), at)
		if err != nil || len(evs) != 1 {
			t.Fatalf("%s %s: %v %v", source, b, evs, err)
		}
		a, next := closeloop.Apply(tk, evs[0], "c1", closeloop.Policy{Delay: time.Hour}, at)
		if next != nil {
			tk = next
		}
		out = append(out, a)
	}
	return out
}

func sameActions(a, b []closeloop.Action) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

// TestSolvedAgainAfterAReopen: a ticket solved, reopened and solved again
// is surveyed after the second solve, and a second reopen cancels it, also
// for deliveries whose body names no change time (Freshdesk's templates,
// HubSpot's reopen workflow): the same body again is a new change once
// another change came between, and a retry only when it repeats the last.
func TestSolvedAgainAfterAReopen(t *testing.T) {
	fdSolve := `{"freshdesk_webhook":{"ticket_id":"11","ticket_status":"Resolved","requester_email":"a@example.com","triggered_event":"{status:{from:Open,to:Resolved}}"}}`
	fdOpen := `{"freshdesk_webhook":{"ticket_id":"11","ticket_status":"Open","requester_email":"a@example.com","triggered_event":"{status:{from:Resolved,to:Open}}"}}`
	got := applyAll(t, "freshdesk", fdSolve, fdSolve, fdOpen, fdSolve, fdOpen)
	want := []closeloop.Action{closeloop.ActionScheduled, closeloop.ActionDuplicate, closeloop.ActionCancelled, closeloop.ActionScheduled, closeloop.ActionCancelled}
	if !sameActions(got, want) {
		t.Errorf("freshdesk solve, retry, reopen, solve, reopen: %v, want %v", got, want)
	}
	hsClose := func(c string) string {
		return `{"ticket_id":"7","status":"closed","email":"a@example.com","closed_date":"` + c + `"}`
	}
	hsOpen := `{"ticket_id":"7","status":"open","email":"a@example.com","closed_date":""}`
	closed := func(minute int) string { // the deliveries' own minutes (applyAll)
		return time.Now().Add(-time.Hour + time.Duration(minute)*time.Minute).UTC().Format(time.RFC3339)
	}
	got = applyAll(t, "hubspot", hsClose(closed(1)), hsOpen, hsClose(closed(3)), hsOpen, hsOpen)
	want = []closeloop.Action{closeloop.ActionScheduled, closeloop.ActionCancelled, closeloop.ActionScheduled, closeloop.ActionCancelled, closeloop.ActionDuplicate}
	if !sameActions(got, want) {
		t.Errorf("hubspot close, reopen, close, reopen, retry: %v, want %v", got, want)
	}
}

// TestZendeskClosedIsNoSolve: a ticket moving to Closed (a merged ticket
// goes straight from open to closed) schedules no survey; the survey
// follows Solved, as the vendor notes advise.
func TestZendeskClosedIsNoSolve(t *testing.T) {
	merged := `{"type":"zen:event-type:ticket.status_changed","id":"01HX","time":"2026-11-24T10:00:00Z","detail":{"id":"42","requester_id":"9001"},"event":{"previous":"OPEN","current":"CLOSED"}}`
	if got := applyAll(t, "zendesk", merged); got[0] == closeloop.ActionScheduled {
		t.Errorf("a ticket closed without a solve (a merge): %v", got)
	}
	solved := `{"type":"zen:event-type:ticket.status_changed","id":"01HY","time":"2026-11-24T10:00:00Z","detail":{"id":"43","requester_id":"9001"},"event":{"previous":"OPEN","current":"SOLVED"}}`
	if got := applyAll(t, "zendesk", solved); got[0] != closeloop.ActionScheduled {
		t.Errorf("a solve: %v, want scheduled", got)
	}
}

// TestHubSpotV3DecodesTheURI: HubSpot signs the URI with some escapes
// decoded (%3A %2F %3F %40 %21 %24 %27 %28 %29 %2A %2C %3B); a delivery to
// a URL with one in its query verifies.
func TestHubSpotV3DecodesTheURI(t *testing.T) {
	secret := []byte("hs-client-secret")
	body := []byte(`{"ticket_id":"7","status":"closed","email":"a@example.com"}`)
	now := time.Now()
	ts := fmt.Sprint(now.UnixMilli())
	sign := func(uri string) string {
		m := hmac.New(sha256.New, secret)
		m.Write([]byte("POST" + uri + string(body) + ts))
		return base64.StdEncoding.EncodeToString(m.Sum(nil))
	}
	h := http.Header{}
	h.Set("X-HubSpot-Request-Timestamp", ts)
	h.Set("X-HubSpot-Signature-v3", sign("https://api.example.com/webhooks/hubspot?team=ops@acme&x=(1)"))
	h.Set(helpdesk.RequestURIHeader, "https://api.example.com/webhooks/hubspot?team=ops%40acme&x=%281%29")
	if err := (helpdesk.HubSpot{Secret: secret}).Verify(h, body, now); err != nil {
		t.Errorf("a v3 signature over the decoded URI: %v", err)
	}
	h.Set("X-HubSpot-Signature-v3", sign("https://api.example.com/webhooks/hubspot?team=ops%2Bacme"))
	h.Set(helpdesk.RequestURIHeader, "https://api.example.com/webhooks/hubspot?team=ops%2Bacme")
	if err := (helpdesk.HubSpot{Secret: secret}).Verify(h, body, now); err != nil {
		t.Errorf("an escape HubSpot keeps (%%2B): %v", err)
	}
}
