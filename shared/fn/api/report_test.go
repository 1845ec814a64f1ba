package api_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/fn/api"
	"github.com/closeloop/closeloop/shared/fn/webhook"
	"github.com/closeloop/closeloop/shared/local/awstest"
)

// TestReportOnAHandCheckedDataSet computes every measure on a small data
// set whose figures are worked out by hand, in a team zone eight hours
// behind UTC so that day boundaries matter:
//
//	T1 zendesk, Ann, tag billing: solved and surveyed 10 Nov 23:30 (11 Nov in UTC), answered 5 at 00:30 on 11 Nov.
//	T2 generic, Bob: solved and surveyed 11 Nov 10:00, answered 2 at 11:00, reopened at 12:00.
//	T3 zendesk, T1's customer again, tags Billing and refund: solved 15 Nov (a repeat contact of T1 within 7 days; no survey: fatigue).
//	T4, T5 generic: solved and surveyed 12 Nov; NPS 10 and CES 2.
func TestReportOnAHandCheckedDataSet(t *testing.T) {
	la, _ := time.LoadLocation("America/Los_Angeles")
	cfg := awstest.Config()
	cfg.TimeZone = la
	st := awstest.Stack(t, cfg)
	ctx := context.Background()
	at := func(day, hour, min int) time.Time { return time.Date(2026, 11, day, hour, min, 0, 0, la) }
	c1, c2 := awstest.Email(), awstest.Email()
	apply := func(ticket, source, email, agent string, status closeloop.Status, when time.Time, tags ...string) {
		t.Helper()
		ev := closeloop.TicketEvent{Source: source, EventID: awstest.Name("e"), TicketID: ticket, Status: status, Kind: closeloop.CSAT,
			OccurredAt: when, Customer: closeloop.Person{Email: email}, Agent: closeloop.Person{Name: agent, Email: agent + "@support.example"}, Tags: tags}
		if _, err := webhook.New(st.Config, st.Store).Apply(ctx, ev, when.Add(time.Minute)); err != nil {
			t.Fatalf("%s %s: %v", ticket, status, err)
		}
	}
	sweep := func(when time.Time) {
		t.Helper()
		st.Sweeper.Now = func() time.Time { return when }
		if _, err := st.Sweeper.Run(ctx); err != nil {
			t.Fatal(err)
		}
	}
	answer := func(source, ticket string, rating int, when time.Time) {
		t.Helper()
		tk, err := st.Store.GetTicket(ctx, source, ticket)
		if err != nil || tk.SurveyID == "" {
			t.Fatalf("ticket %s has no survey: %+v %v", ticket, tk, err)
		}
		sv, _ := st.Store.GetSurvey(ctx, tk.SurveyID)
		if _, err := st.Store.Answer(ctx, sv, rating, "", nil, when); err != nil {
			t.Fatal(err)
		}
	}
	t1, t2, t3 := awstest.Name("T1-"), awstest.Name("T2-"), awstest.Name("T3-")
	apply(t1, "zendesk", c1, "ann", closeloop.StatusSolved, at(10, 23, 30), "billing")
	sweep(at(10, 23, 31))
	answer("zendesk", t1, 5, at(11, 0, 30))
	apply(t2, "generic", c2, "bob", closeloop.StatusSolved, at(11, 10, 0))
	sweep(at(11, 10, 1))
	answer("generic", t2, 2, at(11, 11, 0))
	apply(t2, "generic", c2, "bob", closeloop.StatusReopened, at(11, 12, 0))
	apply(t3, "zendesk", c1, "ann", closeloop.StatusSolved, at(15, 9, 0), "Billing", "refund")
	sweep(at(15, 9, 1))
	// 12 Nov: an NPS promoter and an unhappy CES answer.
	c3, c4 := awstest.Email(), awstest.Email()
	t4, t5 := awstest.Name("T4-"), awstest.Name("T5-")
	for _, x := range []struct {
		ticket, email string
		kind          closeloop.Kind
		rating        int
	}{{t4, c3, closeloop.NPS, 10}, {t5, c4, closeloop.CES, 2}} {
		ev := closeloop.TicketEvent{Source: "generic", EventID: awstest.Name("e"), TicketID: x.ticket, Status: closeloop.StatusSolved, Kind: x.kind,
			OccurredAt: at(12, 9, 0), Customer: closeloop.Person{Email: x.email}}
		if _, err := webhook.New(st.Config, st.Store).Apply(ctx, ev, at(12, 9, 1)); err != nil {
			t.Fatal(err)
		}
	}
	sweep(at(12, 9, 2))
	answer("generic", t4, 10, at(12, 10, 0))
	answer("generic", t5, 2, at(12, 10, 0))

	get := func(query string) api.Metrics {
		t.Helper()
		var m api.Metrics
		if w := call(t, st.Handler, "GET", "/api/metrics?"+query, "", st.Config.AdminToken, &m); w.Code != 200 {
			t.Fatalf("%s: %d %s", query, w.Code, w.Body)
		}
		return m
	}
	f := func(p *float64) string {
		if p == nil {
			return "null"
		}
		return fmt.Sprint(*p)
	}
	for _, tt := range []struct {
		query                                    string
		sent, responses                          int64
		rate, csat, csatAvg, reopen, rep7, rep30 string
	}{
		// 10 Nov: T1 was sent and (later) answered; its answer falls on 11 Nov.
		{"from=2026-11-10&to=2026-11-10", 1, 0, "1", "null", "null", "0", "1", "1"},
		// 11 Nov: two answers but one survey sent that day (the old rule would say 2).
		{"from=2026-11-11&to=2026-11-11", 1, 2, "1", "50", "3.5", "1", "0", "0"},
		{"from=2026-11-10&to=2026-11-11", 2, 2, "1", "50", "3.5", "0.5", "0.5", "0.5"},
		// A single response: generic only.
		{"from=2026-11-10&to=2026-11-11&source=generic", 1, 1, "1", "0", "2", "1", "0", "0"},
		{"from=2026-11-10&to=2026-11-11&agent=ann@support.example", 1, 1, "1", "100", "5", "0", "1", "1"},
		{"from=2026-11-10&to=2026-11-11&kind=csat", 2, 2, "1", "50", "3.5", "null", "null", "null"},
		// An empty range.
		{"from=2026-10-01&to=2026-10-02", 0, 0, "null", "null", "null", "null", "null", "null"},
	} {
		m := get(tt.query)
		got := fmt.Sprintln(m.SurveysSent, m.Responses, f(m.ResponseRate), f(m.CSAT), f(m.CSATAverage), f(m.ReopenRate), f(m.RepeatContactRate7d), f(m.RepeatContactRate30d))
		want := fmt.Sprintln(tt.sent, tt.responses, tt.rate, tt.csat, tt.csatAvg, tt.reopen, tt.rep7, tt.rep30)
		if got != want {
			t.Errorf("%s:\n got  sent, responses, rate, csat, avg, reopen, repeat 7d, 30d = %s\n want %s", tt.query, got, want)
		}
	}
	// T3 shares T1's tag: a repeat contact about the same thing.
	if m := get("from=2026-11-10&to=2026-11-11"); f(m.RepeatSameTagRate7d) != "0.5" || f(m.RepeatSameTagRate30d) != "0.5" {
		t.Errorf("same-tag repeat rates %s, %s; want 0.5, 0.5", f(m.RepeatSameTagRate7d), f(m.RepeatSameTagRate30d))
	}
	if m := get("from=2026-11-12&to=2026-11-12"); fmt.Sprintln(m.SurveysSent, m.Responses, f(m.ResponseRate), f(m.NPS), f(m.CES), f(m.CSAT)) != fmt.Sprintln(2, 2, "1", "100", "2", "null") {
		t.Errorf("12 Nov: sent %d, responses %d, rate %s, NPS %s, CES %s, CSAT %s; want 2, 2, 1, 100, 2, null", m.SurveysSent, m.Responses, f(m.ResponseRate), f(m.NPS), f(m.CES), f(m.CSAT))
	}
	m := get("from=2026-11-10&to=2026-11-11&breakdown=source&by=week")
	if len(m.Series) != 1 || m.Series[0].Day != "2026-11-09" {
		t.Errorf("weekly series %+v, want one week from Monday 9 Nov", m.Series)
	}
	rows := map[string]api.BreakdownRow{}
	for _, r := range m.Breakdown {
		rows[r.Key] = r
	}
	if z, g := rows["zendesk"], rows["generic"]; len(rows) != 2 || f(z.CSAT) != "100" || f(g.CSAT) != "0" || f(g.ReopenRate) != "1" || f(z.RepeatContactRate7d) != "1" {
		t.Errorf("breakdown by source %+v", m.Breakdown)
	}
	// Retention by cohort: every customer first answered in November; c1
	// and c3 happily (promoters), c2 and c4 not (detractors).
	post := func(body string) (applied int, reasons []string) {
		t.Helper()
		var out struct {
			Applied int
			Skipped []closeloop.Skipped
		}
		if w := call(t, st.Handler, "POST", "/api/customers/events", body, st.Config.AdminToken, &out); w.Code != 200 {
			t.Fatalf("events %s: %d %s", body, w.Code, w.Body)
		}
		for _, s := range out.Skipped {
			reasons = append(reasons, s.Reason)
		}
		return out.Applied, reasons
	}
	events := fmt.Sprintf(`{"events":[{"email":%q,"type":"churned","at":"2026-11-20T10:00:00Z"},{"email":%q,"type":"renewed","at":"2026-11-21T10:00:00Z"},`+
		`{"email":%q,"type":"renewed","at":"2026-11-19T10:00:00Z"},{"email":"stranger@example.com","type":"churned","at":"2026-11-20T10:00:00Z"},{"email":%q,"type":"paused","at":"2026-11-20T10:00:00Z"}]}`, c2, c1, c2, c1)
	applied, reasons := post(events)
	if applied != 2 || len(reasons) != 3 || !strings.Contains(strings.Join(reasons, "|"), "later event") || !strings.Contains(strings.Join(reasons, "|"), "no cohort") || !strings.Contains(strings.Join(reasons, "|"), "paused") {
		t.Errorf("events: %d applied, skipped %q", applied, reasons)
	}
	if again, _ := post(events); again != 0 {
		t.Errorf("the same events again applied %d", again)
	}
	retention := func() string {
		var rows []string
		for _, r := range get("from=2026-11-01&to=2026-11-30").Retention {
			rows = append(rows, fmt.Sprintf("%s %s %d %d %d %s", r.Cohort, r.Band, r.Customers, r.Churned, r.Renewed, f(r.Retention)))
		}
		slices.Sort(rows)
		return strings.Join(rows, "; ")
	}
	if got, want := retention(), "2026-11 detractor 2 1 0 0.5; 2026-11 promoter 2 0 1 1"; got != want {
		t.Errorf("retention %q, want %q", got, want)
	}
	post(fmt.Sprintf(`{"events":[{"email":%q,"type":"renewed","at":"2026-11-25T10:00:00Z"}]}`, c2)) // won back
	if got, want := retention(), "2026-11 detractor 2 0 1 1; 2026-11 promoter 2 0 1 1"; got != want {
		t.Errorf("retention after a renewal %q, want %q", got, want)
	}
	for _, bad := range []string{"source=zendesk&agent=ann", "breakdown=color", "by=year"} {
		if w := call(t, st.Handler, "GET", "/api/metrics?"+bad, "", st.Config.AdminToken, nil); w.Code != 400 {
			t.Errorf("%s: %d, want 400", bad, w.Code)
		}
	}
}

// TestFilteredReportsSayWhatTheyDoNotKeep: a report filtered by source,
// agent, kind or theme answers null for the figures that are counted for
// the whole team only (cases, contacts, closing emails, check-ins, theme
// raisers told), never a 0 that looks like a figure; the unfiltered report
// has them.
func TestFilteredReportsSayWhatTheyDoNotKeep(t *testing.T) {
	st, _ := followUpStack(t, 0)
	_, m := awstest.Surveyed(t, st, "generic", "", closeloop.CSAT)
	awstest.Answer(t, st, m, 1, "Slow")
	st.DrainQueue(context.Background())
	today := time.Now().In(time.UTC).Format(time.DateOnly)
	raw := func(q string) map[string]any {
		var out map[string]any
		if w := call(t, st.Handler, "GET", "/api/metrics?from="+today+"&to="+today+q, "", st.Config.AdminToken, &out); w.Code != 200 {
			t.Fatalf("%s: %d", q, w.Code)
		}
		return out
	}
	whole := raw("")
	if whole["detractors"] != float64(1) {
		t.Fatalf("unfiltered detractors %v, want 1", whole["detractors"])
	}
	for _, q := range []string{"&source=generic", "&kind=csat"} {
		got := raw(q)
		for _, k := range []string{"detractors", "detractors_contacted", "detractors_contacted_rate", "median_hours_to_contact", "theme_raisers", "theme_raisers_told", "median_hours_to_told", "checkins_sent", "checkins_still_solved", "closing_sent", "score_change_told", "score_change_not_told"} {
			if v, ok := got[k]; !ok || v != nil {
				t.Errorf("%s: %s = %v, want null (not counted per %s)", q, k, v, q)
			}
		}
		if got["responses"] != float64(1) || got["csat"] == nil {
			t.Errorf("%s: responses %v, csat %v; want the filtered scores", q, got["responses"], got["csat"])
		}
	}
	// A filter and a breakdown together would give whole-team rows under
	// the filter's heading (the counters are kept one breakdown at a time):
	// refused, with the reason.
	for _, q := range []string{"&source=generic&breakdown=agent", "&kind=csat&breakdown=kind"} {
		var out map[string]any
		if w := call(t, st.Handler, "GET", "/api/metrics?from="+today+"&to="+today+q, "", st.Config.AdminToken, &out); w.Code != 400 || !strings.Contains(w.Body.String(), "breakdown") {
			t.Errorf("%s: %d %s; want 400 saying a breakdown takes no filter", q, w.Code, w.Body)
		}
	}
	// A filtered series and the breakdown rows hold no 0 for them either.
	for _, q := range []string{"&source=generic&by=day", "&breakdown=source"} {
		got := raw(q)
		for _, list := range []string{"series", "breakdown"} {
			rows, _ := got[list].([]any)
			for _, row := range rows {
				if v, ok := row.(map[string]any)["closing_sent"]; ok && v != nil {
					t.Errorf("%s: a %s row's closing_sent is %v, want null", q, list, v)
				}
			}
		}
	}
}
