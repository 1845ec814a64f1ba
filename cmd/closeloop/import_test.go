package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/local/awstest"
)

// withoutAudit drops the audit log's lines from a table snapshot.
func withoutAudit(snap string) string {
	var keep []string
	for _, l := range strings.Split(snap, "\n") {
		if !strings.Contains(l, `"pk":"AUDIT#`) {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// TestImportDelighted imports a folder of Delighted API v1 JSON (its
// published field names: survey_responses with expand[]=person, people,
// unsubscribes, bounces) through the API: responses land with their
// themes and count in the metrics of their days; every skipped record is
// named with its reason; importing again changes nothing; and the imported
// unsubscribed and bounced people are never surveyed.
func TestImportDelighted(t *testing.T) {
	s := startServer(t)
	cli := cliAgainst(s)
	out, err := cli("import", "delighted", "testdata/delighted")
	if err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	for _, want := range []string{
		"imported 3 responses (0 were there already) and 2 unsubscribes and bounces; skipped 4 records",
		`skipped delighted response 1004: survey type "smileys" has no Closeloop kind`,
		"skipped delighted response 1005: no email for its person",
		"skipped delighted response 1006: score 11 is outside nps's 0 to 10",
		"skipped delighted bounce #2: email:",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("import report lacks %q:\n%s", want, out)
		}
	}
	first := withoutAudit(awstest.Snapshot(t, s.Config.Table))
	out, err = cli("import", "delighted", "testdata/delighted")
	if err != nil || !strings.Contains(out, "imported 0 responses (3 were there already)") {
		t.Errorf("second import: %v\n%s", err, out)
	}
	if second := withoutAudit(awstest.Snapshot(t, s.Config.Table)); second != first {
		t.Errorf("importing the same files again changed the table")
	}
	// The history is in the metrics of its days (5 to 7 October 2025).
	var m struct {
		Responses int64
		NPS, CSAT *float64
		CES       *float64
	}
	if c := s.call(t, "GET", "/api/metrics?from=2025-10-01&to=2025-10-31", nil, &m); c != 200 || m.Responses != 3 || m.NPS == nil || *m.NPS != 100 || m.CSAT == nil || *m.CSAT != 0 || m.CES == nil || *m.CES != 6 {
		t.Errorf("metrics of the imported month: %d %+v", c, m)
	}
	var themes struct{ Themes []closeloop.Theme }
	s.call(t, "GET", "/api/themes", nil, &themes)
	names := map[string]bool{}
	for _, th := range themes.Themes {
		names[th.Name] = true
	}
	if !names["fast-response"] || !names["exports"] {
		t.Errorf("themes from the tags: %v", names)
	}
	// Churn and renewal events from a CSV move the imported cohorts.
	events := filepath.Join(t.TempDir(), "events.csv")
	os.WriteFile(events, []byte("email,type,at\nada.delighted@example.com,churned,2025-11-02\nnobody@example.com,renewed,2025-11-02\n"), 0o600)
	if out, err := cli("import", "csv", events); err != nil || !strings.Contains(out, "recorded 1 churn and renewal events; skipped 1") || !strings.Contains(out, "no cohort") {
		t.Errorf("import events: %v\n%s", err, out)
	}
	var ret struct{ Retention []closeloop.CohortRow }
	s.call(t, "GET", "/api/metrics?from=2025-10-01&to=2025-10-31", nil, &ret)
	found := false
	for _, r := range ret.Retention {
		if r.Cohort == "2025-10" && r.Band == closeloop.Promoter && r.Customers == 2 && r.Churned == 1 && r.Retention != nil && *r.Retention == 0.5 { // Ada (NPS 9) and Linus (CES 6)
			found = true
		}
	}
	if !found {
		t.Errorf("retention of the imported cohort: %+v", ret.Retention)
	}
	// Imported unsubscribes and bounces are never surveyed.
	other := awstest.Email()
	for i, email := range []string{"unsub.delighted@example.com", "bounce.delighted@example.com", other} {
		s.solve(t, "generic", "imp-"+string(rune('a'+i)), email, "X", "solved")
	}
	waitMail(t, other, 1)
	for _, email := range []string{"unsub.delighted@example.com", "bounce.delighted@example.com"} {
		if n := len(awstest.MailTo(t, email)); n != 0 {
			t.Errorf("%s was surveyed %d times after an imported suppression", email, n)
		}
	}
}

// TestImportDelightedFromTheAPI fetches the same data straight from a stub
// of Delighted's API (Basic auth with the key, 100 a page, a 429 first),
// and imports a generic CSV.
func TestImportDelightedFromTheAPI(t *testing.T) {
	var limited atomic.Bool
	stub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if user, _, ok := r.BasicAuth(); !ok || user != "delighted-key" {
			http.Error(w, `{"message":"Unauthorized"}`, http.StatusUnauthorized)
			return
		}
		if !limited.Swap(true) {
			w.Header().Set("Retry-After", "1")
			http.Error(w, `{"message":"Too many requests"}`, http.StatusTooManyRequests)
			return
		}
		name := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/v1/"), ".json")
		if r.URL.Query().Get("page") != "1" || r.URL.Query().Get("per_page") != "100" {
			w.Write([]byte("[]"))
			return
		}
		if name == "survey_responses" && r.URL.Query().Get("expand[]") != "person" {
			http.Error(w, "want expand[]=person", http.StatusBadRequest)
			return
		}
		b, err := os.ReadFile(filepath.Join("testdata", "delighted", name+".json"))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	}))
	defer stub.Close()
	s := startServer(t)
	cli := cliAgainst(s)
	out, err := cli("import", "delighted", "--api-key", "delighted-key", "--delighted-url", stub.URL)
	// Without people.json, the response whose person is only an id has no email.
	if err != nil || !strings.Contains(out, "imported 2 responses") || !strings.Contains(out, "skipped delighted response 1003: no email") || !strings.Contains(out, "rate limited") {
		t.Errorf("import from the API: %v\n%s", err, out)
	}
	csvFile := filepath.Join(t.TempDir(), "history.csv")
	os.WriteFile(csvFile, []byte("email,kind,score,comment,date,tags\n"+
		"csv.one@example.com,csat,5,Lovely,2025-09-01,billing;Speed\n"+
		"csv.two@example.com,nps,4,\"=HYPERLINK(\"\"x\"\")\",2025-09-02T10:00:00Z,\n"+
		"not-an-address,csat,5,,2025-09-03,\n"+
		"csv.three@example.com,stars,5,,2025-09-03,\n"), 0o600)
	out, err = cli("import", "csv", csvFile)
	if err != nil || !strings.Contains(out, "imported 2 responses") || !strings.Contains(out, "skipped line 4: email:") || !strings.Contains(out, `skipped line 5: kind "stars"`) {
		t.Errorf("import csv: %v\n%s", err, out)
	}
	if out, _ := cli("import", "csv", csvFile); !strings.Contains(out, "imported 0 responses (2 were there already)") {
		t.Errorf("import csv again:\n%s", out)
	}
	if _, err := cli("import", "csv"); err == nil || !strings.Contains(err.Error(), "usage") {
		t.Errorf("import csv without a file: %v", err)
	}
}

// TestImportedDatesAreTheTeamsDays: a CSV date without a time is a day in
// the team's zone (CLOSELOOP_TIMEZONE): west of UTC, 2026-11-20 counted on
// the 19th when it was read as midnight UTC. Importing it again changes
// nothing.
func TestImportedDatesAreTheTeamsDays(t *testing.T) {
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Fatal(err)
	}
	s := startServerWith(t, func(c *closeloop.Config) { c.TimeZone = la })
	cli := cliAgainst(s)
	email := awstest.Email()
	file := filepath.Join(t.TempDir(), "answers.csv")
	os.WriteFile(file, []byte("email,kind,score,date\n"+email+",csat,5,2026-11-20\n"), 0o644)
	for i := range 2 {
		if out, err := cli("import", "csv", file); err != nil {
			t.Fatalf("import %d: %v\n%s", i, err, out)
		}
	}
	var page struct {
		Responses []struct {
			CreatedAt time.Time `json:"created_at"`
		} `json:"responses"`
	}
	for day, want := range map[string]int{"2026-11-19": 0, "2026-11-20": 1} {
		page.Responses = nil
		if code := s.call(t, "GET", "/api/responses?from="+day+"&to="+day, nil, &page); code != 200 {
			t.Fatalf("responses on %s: %d", day, code)
		}
		if len(page.Responses) != want {
			t.Errorf("responses on %s (Los Angeles): %d, want %d", day, len(page.Responses), want)
		}
	}
}
