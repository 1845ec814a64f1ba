package closeloop

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

func solved(id string, at time.Time) TicketEvent {
	return TicketEvent{Source: "generic", EventID: id, TicketID: "1", Status: StatusSolved, OccurredAt: at,
		Customer: Person{Email: "a@example.com", Name: "Ada", Locale: "de"}, Agent: Person{Name: "Sam"}, Subject: "Printer"}
}

func reopened(id string, at time.Time) TicketEvent {
	ev := solved(id, at)
	ev.Status = StatusReopened
	return ev
}

// TestApply walks one ticket through sequences of events and checks the
// action and survey state after each.
func TestApply(t *testing.T) {
	p := Policy{Delay: time.Hour, Kind: CSAT}
	type step struct {
		ev     TicketEvent
		action Action
		state  SurveyState
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"solve schedules", []step{{solved("e1", t0), ActionScheduled, SurveyScheduled}}},
		{"same delivery twice", []step{
			{solved("e1", t0), ActionScheduled, SurveyScheduled},
			{solved("e1", t0), ActionDuplicate, SurveyScheduled},
		}},
		{"second solve while scheduled", []step{
			{solved("e1", t0), ActionScheduled, SurveyScheduled},
			{solved("e2", t0.Add(time.Minute)), ActionDuplicate, SurveyScheduled},
		}},
		{"reopen cancels, solve again schedules", []step{
			{solved("e1", t0), ActionScheduled, SurveyScheduled},
			{reopened("e2", t0.Add(time.Minute)), ActionCancelled, SurveyCancelled},
			{solved("e3", t0.Add(2*time.Minute)), ActionScheduled, SurveyScheduled},
		}},
		{"reopen of an unknown ticket", []step{{reopened("e1", t0), ActionIgnored, SurveyNone}}},
		{"stale solve after a reopen", []step{
			{reopened("e2", t0.Add(time.Minute)), ActionIgnored, SurveyNone},
			{solved("e1", t0), ActionIgnored, SurveyNone},
		}},
		{"stale solve of a scheduled ticket is a duplicate", []step{
			{solved("e2", t0.Add(time.Minute)), ActionScheduled, SurveyScheduled},
			{solved("e1", t0), ActionDuplicate, SurveyScheduled},
		}},
		{"other statuses are ignored", []step{{TicketEvent{Source: "generic", EventID: "e1", TicketID: "1", Status: StatusOther, OccurredAt: t0}, ActionIgnored, SurveyNone}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tk *Ticket
			for i, s := range tt.steps {
				action, next := Apply(tk, s.ev, "cid", p, t0.Add(time.Hour))
				if action != s.action {
					t.Fatalf("step %d: action %s, want %s", i, action, s.action)
				}
				if next != nil {
					tk = next
				}
				state := SurveyNone
				if tk != nil {
					state = tk.State
				}
				if state != s.state {
					t.Fatalf("step %d: state %q, want %q", i, state, s.state)
				}
			}
		})
	}
}

// TestSolveCounts: a ticket counts as solved once, on its first solve's
// day, and as reopened once, on that same day, however often it is
// reopened and solved again.
func TestSolveCounts(t *testing.T) {
	p := Policy{Kind: CSAT}
	var tk *Ticket
	var total Counters
	var days []time.Time
	for i, ev := range []TicketEvent{solved("s1", t0), reopened("r1", t0.Add(time.Hour)), solved("s2", t0.Add(48*time.Hour)), reopened("r2", t0.Add(72*time.Hour))} {
		_, next := Apply(tk, ev, "cid", p, t0.Add(96*time.Hour))
		c, day := SolveCounts(tk, next)
		if c != (Counters{}) {
			days = append(days, day)
		}
		total = total.Add(c)
		tk = next
		if i == 0 && c.Solved != 1 {
			t.Errorf("the first solve counts %+v", c)
		}
	}
	if total.Solved != 1 || total.Reopened != 1 {
		t.Errorf("counted %d solved, %d reopened; want 1 and 1", total.Solved, total.Reopened)
	}
	for _, d := range days {
		if !d.Equal(t0) {
			t.Errorf("counted on %v, want the first solve's day %v", d, t0)
		}
	}
}

func TestApplyScheduling(t *testing.T) {
	p := Policy{Delay: time.Hour, Kind: NPS}
	_, tk := Apply(nil, solved("e1", t0), "cid", p, t0.Add(10*time.Minute))
	want := Ticket{Source: "generic", TicketID: "1", Status: StatusSolved, StatusAt: t0, Events: []string{"e1"},
		ContactID: "cid", Subject: "Printer", AgentName: "Sam", Kind: NPS, Locale: "de", State: SurveyScheduled,
		DueAt: t0.Add(time.Hour), ReceivedAt: t0.Add(10 * time.Minute), SolvedAt: t0}
	if d := cmp.Diff(want, *tk); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	// A late delivery is due now, not in the past; the event's kind wins.
	ev := solved("e2", t0)
	ev.Kind = CES
	_, late := Apply(nil, ev, "cid", p, t0.Add(3*time.Hour))
	if !late.DueAt.Equal(t0.Add(3*time.Hour)) || late.Kind != CES {
		t.Errorf("late: due %v kind %s", late.DueAt, late.Kind)
	}
}

func TestApplyDoesNotMutateAndBoundsEvents(t *testing.T) {
	p := Policy{Kind: CSAT}
	_, tk := Apply(nil, solved("e0", t0), "cid", p, t0)
	for i := 1; i < 20; i++ {
		before := append([]string(nil), tk.Events...)
		_, next := Apply(tk, solved(string(rune('a'+i)), t0.Add(time.Duration(i)*time.Second)), "cid", p, t0)
		if d := cmp.Diff(before, tk.Events); d != "" {
			t.Fatalf("Apply changed its input's events:\n%s", d)
		}
		tk = next
	}
	if len(tk.Events) != 8 || tk.Events[7] != string(rune('a'+19)) {
		t.Errorf("events %v, want the last 8", tk.Events)
	}
}

// TestRepeatCounts: a customer's next ticket within 7 or 30 days of the
// previous one's first solve is a repeat contact, about the same thing when
// they share a tag (in any case); the same ticket, an older solve or one
// after 30 days is not.
func TestRepeatCounts(t *testing.T) {
	prev := Solve{Ticket: "zendesk#1", Tags: []string{"Billing"}, At: t0}
	for _, tt := range []struct {
		next Solve
		want Counters
	}{
		{Solve{Ticket: "zendesk#2", Tags: []string{"billing"}, At: t0.Add(3 * 24 * time.Hour)}, Counters{Repeat7: 1, Repeat30: 1, RepeatTag7: 1, RepeatTag30: 1}},
		{Solve{Ticket: "zendesk#2", Tags: []string{"refund"}, At: t0.Add(10 * 24 * time.Hour)}, Counters{Repeat30: 1}},
		{Solve{Ticket: "zendesk#2", Tags: []string{"billing"}, At: t0.Add(10 * 24 * time.Hour)}, Counters{Repeat30: 1, RepeatTag30: 1}},
		{Solve{Ticket: "zendesk#2", At: t0.Add(31 * 24 * time.Hour)}, Counters{}},
		{Solve{Ticket: "zendesk#1", At: t0.Add(24 * time.Hour)}, Counters{}},
		{Solve{Ticket: "zendesk#2", At: t0.Add(-time.Hour)}, Counters{}},
	} {
		if got := RepeatCounts(prev, tt.next); got != tt.want {
			t.Errorf("%+v: %+v, want %+v", tt.next, got, tt.want)
		}
	}
	if got := RepeatCounts(Solve{}, prev); got != (Counters{}) {
		t.Errorf("a first ticket counts %+v", got)
	}
}

// TestSolveArrivingAfterItsReopen: a helpdesk delivers a ticket's reopen
// before the solve it follows. No survey is scheduled (the ticket is open),
// but the ticket counts as solved, and reopened, on the solve's day.
func TestSolveArrivingAfterItsReopen(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	solvedAt, reopenedAt := now.Add(-2*time.Hour), now.Add(-time.Hour)
	reopen := TicketEvent{Source: "generic", EventID: "e2", TicketID: "1", Status: StatusReopened, OccurredAt: reopenedAt}
	solve := TicketEvent{Source: "generic", EventID: "e1", TicketID: "1", Status: StatusSolved, OccurredAt: solvedAt, Customer: Person{Email: "a@example.com"}}
	_, t1 := Apply(nil, reopen, "", Policy{Delay: time.Hour}, now)
	a, t2 := Apply(t1, solve, "c1", Policy{Delay: time.Hour}, now)
	if a == ActionScheduled || t2 == nil || t2.State == SurveyScheduled {
		t.Fatalf("a solve older than its reopen: %s, %+v; want nothing scheduled", a, t2)
	}
	c, day := SolveCounts(t1, t2)
	if c.Solved != 1 || c.Reopened != 1 || !day.Equal(solvedAt) {
		t.Errorf("counts %+v on %v; want solved and reopened on the solve's day", c, day)
	}
}

// The window's edges are wall-clock times on the days the clocks change:
// 09:00 is 09:00 local, not nine hours after local midnight.
func TestSendWindowKeepsWallClockAcrossDST(t *testing.T) {
	w, err := ParseSendWindow("09:00-18:00")
	if err != nil {
		t.Fatal(err)
	}
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, ny)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct{ now, want string }{
		{"2026-03-08 09:30", "2026-03-08 09:30"}, // spring forward: inside the window
		{"2026-03-08 08:30", "2026-03-08 09:00"},
		{"2026-11-01 08:15", "2026-11-01 09:00"}, // fall back: before the window
		{"2026-11-01 17:30", "2026-11-01 17:30"}, // still inside until 18:00
		{"2026-11-01 18:30", "2026-11-02 09:00"},
	} {
		if got := w.Next(at(c.now), ny); !got.Equal(at(c.want)) {
			t.Errorf("Next(%s New York) = %s, want %s", c.now, got.In(ny).Format("2006-01-02 15:04 MST"), c.want)
		}
	}
}
