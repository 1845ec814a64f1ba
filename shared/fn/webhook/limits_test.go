package webhook_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/local/awstest"
)

// TestOversizedAndCraftedFieldsAreRefused: a signed delivery whose fields
// would not fit an item, or whose address is not one plain mailbox, gets a
// 400 with a reason and stores nothing (no contact item left behind), so
// the helpdesk stops retrying and nobody else is mailed.
func TestOversizedAndCraftedFieldsAreRefused(t *testing.T) {
	st := awstest.Stack(t, closeloop.Config{})
	now := time.Now()
	before := awstest.Snapshot(t, st.Config.Table)
	body := func(email, name, subject string) string {
		return fmt.Sprintf(`{"event_id":"e-%d","ticket_id":"L-1","status":"solved","customer":{"email":%q,"name":%q},"subject":%q}`,
			time.Now().UnixNano(), email, name, subject)
	}
	big := strings.Repeat("x", 450<<10)
	for _, tt := range []struct{ name, body, reason string }{
		{"450 KB subject", body("ada@example.com", "Ada", big), "subject"},
		{"450 KB name", body("ada@example.com", big, "s"), "name"},
		{"comma in a quoted local part", body(`"ada,eve"@example.com`, "Ada", "s"), "email"},
		{"two recipients", body("ada@example.com, eve@example.com", "Ada", "s"), "email"},
		{"angle brackets", body("Eve <eve@example.com>", "Ada", "s"), "email"},
		{"space in a quoted local part", body(`"ada eve"@example.com`, "Ada", "s"), "email"},
		{"quoted address inside", body(`"victim@example.org"@evil.example`, "Ada", "s"), "email"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ev := awstest.LoadEvent(t, "generic-solved.json", now)
			resign(&ev, tt.body, now)
			code, reply := invoke(t, st, ev)
			if code != 400 || !strings.Contains(reply, tt.reason) {
				t.Errorf("got %d %.200s, want 400 naming %q", code, reply, tt.reason)
			}
		})
	}
	if after := awstest.Snapshot(t, st.Config.Table); after != before {
		t.Errorf("refused deliveries changed the table")
	}
}

// TestEventTimeInTheFuture: a solve dated far ahead is refused and does
// not lock the ticket; a solve a little ahead (a helpdesk's clock running
// fast) is taken as happening now, so a later reopen still cancels it.
func TestEventTimeInTheFuture(t *testing.T) {
	st := awstest.Stack(t, closeloop.Config{})
	now := time.Now()
	send := func(id, status string, at time.Time) (int, string) {
		ev := awstest.LoadEvent(t, "generic-solved.json", now)
		resign(&ev, fmt.Sprintf(`{"event_id":%q,"ticket_id":"F-1","status":%q,"customer":{"email":"ada@example.com"},"solved_at":%q}`,
			id, status, at.UTC().Format(time.RFC3339)), now)
		return invoke(t, st, ev)
	}
	if code, reply := send("e1", "solved", now.AddDate(74, 0, 0)); code != 400 || !strings.Contains(reply, "future") {
		t.Fatalf("solve in 2100: %d %s, want 400", code, reply)
	}
	if code, reply := send("e2", "solved", now.Add(10*time.Minute)); code != 200 || action(t, reply) != closeloop.ActionScheduled {
		t.Fatalf("solve 10 minutes ahead: %d %s", code, reply)
	}
	tk, _ := st.Store.GetTicket(context.Background(), "generic", "F-1")
	if tk.DueAt.After(time.Now().Add(time.Minute)) {
		t.Errorf("due %s: the fast clock delayed the survey", tk.DueAt)
	}
	if code, reply := send("e3", "reopened", now.Add(time.Second)); code != 200 || action(t, reply) != closeloop.ActionCancelled {
		t.Errorf("reopen after a fast-clock solve: %d %s, want cancelled", code, reply)
	}
}
