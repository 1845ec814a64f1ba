package api_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/fn/api"
	"github.com/closeloop/closeloop/shared/local/awstest"
	"github.com/closeloop/closeloop/shared/local/devstack"
)

func TestMain(m *testing.M) { awstest.Main(m) }

// call sends one API request with the admin token (unless token says
// otherwise) and decodes a JSON answer into out when out is not nil.
func call(t *testing.T, h http.Handler, method, path, body, token string, out any) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if out != nil && w.Code < 300 {
		if err := json.Unmarshal(w.Body.Bytes(), out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, w.Body)
		}
	}
	return w
}

func TestAuthorization(t *testing.T) {
	st := awstest.Stack(t, closeloop.Config{})
	tok := st.Config.AdminToken
	for _, tt := range []struct {
		name  string
		h     http.Handler
		token string
		want  int
	}{
		{"no token", st.Handler, "", 401},
		{"wrong token", st.Handler, tok + "x", 401},
		{"prefix of the token", st.Handler, tok[:len(tok)-1], 401},
		{"right token", st.Handler, tok, 200},
		{"API without an admin token configured", api.New(closeloop.Config{}, st.Store, st.Queue, st.Sender, nil), "", 401},
		{"API without an admin token, any bearer", api.New(closeloop.Config{}, st.Store, st.Queue, st.Sender, nil), "anything", 401},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := call(t, tt.h, "GET", "/api/themes", "", tt.token, nil)
			if w.Code != tt.want {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.want, w.Body)
			}
			if w.Code == 401 && w.Header().Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
}

func TestBadRequestsGetAReasonAndChangeNothing(t *testing.T) {
	st := awstest.Stack(t, closeloop.Config{})
	tok := st.Config.AdminToken
	call(t, st.Handler, "POST", "/api/themes", `{"name":"exports","keywords":["export"]}`, tok, nil)
	before := awstest.Snapshot(t, st.Config.Table)
	for _, tt := range []struct{ method, path, body, reason string }{
		{"POST", "/api/themes", `{"name":"Bad Name"}`, "theme name"},
		{"POST", "/api/themes", `{"name":"ok","colour":"red"}`, "unknown field"},
		{"POST", "/api/themes", `not json`, "expected JSON"},
		{"PUT", "/api/responses/nope/themes", `{}`, "themes is required"},
		{"PUT", "/api/responses/nope/themes", `{"themes":["nosuch"]}`, "unknown theme"},
		{"POST", "/api/improvements", `{"theme":"exports","summary":"","message":"m"}`, "summary"},
		{"POST", "/api/improvements", `{"theme":"nosuch","summary":"s","message":"m"}`, "unknown theme"},
		{"GET", "/api/metrics?from=yesterday", "", "YYYY-MM-DD"},
		{"GET", "/api/metrics?from=2026-02-01&to=2026-01-01", "", "before"},
		{"GET", "/api/metrics?from=2020-01-01&to=2026-01-01", "", "longer than"},
		{"GET", "/api/metrics?by=hour", "", "by="},
		{"GET", "/api/responses?limit=0", "", "limit"},
		{"GET", "/api/responses?source=salesforce", "", "unknown source"},
		{"DELETE", "/api/contacts/not-an-address", "", "email: not one local@domain address"},
	} {
		w := call(t, st.Handler, tt.method, tt.path, tt.body, tok, nil)
		var e struct{ Error string }
		json.Unmarshal(w.Body.Bytes(), &e)
		if w.Code != 400 || !strings.Contains(e.Error, tt.reason) {
			t.Errorf("%s %s %s: %d %q, want 400 naming %q", tt.method, tt.path, tt.body, w.Code, e.Error, tt.reason)
		}
	}
	if w := call(t, st.Handler, "GET", "/api/nothing-here", "", tok, nil); w.Code != 404 {
		t.Errorf("unknown route: %d", w.Code)
	}
	if after := awstest.Snapshot(t, st.Config.Table); after != before {
		t.Errorf("refused requests changed the table:\n%s", cmp.Diff(before, after))
	}
	if st.Queue.Len() != 0 {
		t.Errorf("refused improvement queued %d messages", st.Queue.Len())
	}
}

// seed answers n surveys with the given ratings and comments, from source.
func seed(t *testing.T, st *devstack.Stack, source string, answers map[int]string) {
	t.Helper()
	for rating, comment := range answers {
		_, m := awstest.Surveyed(t, st, source, "", closeloop.CSAT)
		if code := awstest.Answer(t, st, m, rating, comment); code != 200 {
			t.Fatalf("answer: %d", code)
		}
	}
}

func TestThemesResponsesAndImprovements(t *testing.T) {
	st := awstest.Stack(t, closeloop.Config{})
	tok := st.Config.AdminToken
	var th closeloop.Theme
	if w := call(t, st.Handler, "POST", "/api/themes", `{"name":"exports","keywords":[" CSV ",""]}`, tok, &th); w.Code != 201 {
		t.Fatalf("create theme: %d %s", w.Code, w.Body)
	}
	if diff := cmp.Diff([]string{"CSV"}, th.Keywords); diff != "" {
		t.Errorf("keywords (-want +got):\n%s", diff)
	}
	seed(t, st, "generic", map[int]string{1: "The CSV export is broken", 5: "Lovely"})
	seed(t, st, "zendesk", map[int]string{4: "fine"})

	var list struct{ Responses []api.Response }
	call(t, st.Handler, "GET", "/api/responses", "", tok, &list)
	if len(list.Responses) != 3 {
		t.Fatalf("%d responses", len(list.Responses))
	}
	call(t, st.Handler, "GET", "/api/responses?source=zendesk", "", tok, &list)
	if len(list.Responses) != 1 || list.Responses[0].Rating != 4 || list.Responses[0].Flagged {
		t.Errorf("zendesk filter: %+v", list.Responses)
	}
	call(t, st.Handler, "GET", "/api/responses?theme=exports", "", tok, &list)
	if len(list.Responses) != 1 || list.Responses[0].Rating != 1 || !list.Responses[0].Flagged {
		t.Fatalf("keyword theme tagged %+v", list.Responses)
	}
	tagged := list.Responses[0]
	call(t, st.Handler, "GET", "/api/responses?limit=2", "", tok, &list)
	if len(list.Responses) != 2 {
		t.Errorf("limit=2 gave %d", len(list.Responses))
	}

	// Tag the happy generic response by hand; remove the tag again.
	call(t, st.Handler, "GET", "/api/responses?source=generic", "", tok, &list)
	var happy api.Response
	for _, r := range list.Responses {
		if r.Rating == 5 {
			happy = r
		}
	}
	var got api.Response
	if w := call(t, st.Handler, "PUT", "/api/responses/"+happy.ID+"/themes", `{"themes":["exports","exports"]}`, tok, &got); w.Code != 200 || !cmp.Equal(got.Themes, []string{"exports"}) {
		t.Fatalf("set themes: %d %+v", w.Code, got)
	}
	call(t, st.Handler, "PUT", "/api/responses/"+happy.ID+"/themes", `{"themes":[]}`, tok, &got)
	if len(got.Themes) != 0 {
		t.Errorf("themes not removed: %v", got.Themes)
	}
	if w := call(t, st.Handler, "GET", "/api/responses/"+tagged.ID, "", tok, &got); w.Code != 200 || got.Comment != "The CSV export is broken" {
		t.Errorf("get response: %d %+v", w.Code, got)
	}

	// An improvement is stored and its fan-out queued, once (after the
	// detractor's alert has gone).
	if err := st.DrainQueue(context.Background()); err != nil {
		t.Fatal(err)
	}
	var created struct{ ID string }
	w := call(t, st.Handler, "POST", "/api/improvements", `{"theme":"exports","summary":"Faster CSV","message":"We rebuilt the export."}`, tok, &created)
	if w.Code != 202 || created.ID == "" || w.Header().Get("Location") != "/api/improvements/"+created.ID {
		t.Fatalf("create improvement: %d %s", w.Code, w.Body)
	}
	if st.Queue.Len() != 1 {
		t.Fatalf("%d queued messages, want 1", st.Queue.Len())
	}
	if err := st.DrainQueue(context.Background()); err != nil {
		t.Fatal(err)
	}
	var progress api.ImprovementView
	call(t, st.Handler, "GET", "/api/improvements/"+created.ID, "", tok, &progress)
	if progress.Recipients != 1 || progress.Sent != 1 || progress.Pending != 0 {
		t.Errorf("progress %+v", progress)
	}
	if w := call(t, st.Handler, "GET", "/api/improvements/nope", "", tok, nil); w.Code != 404 {
		t.Errorf("unknown improvement: %d", w.Code)
	}
}

func TestMetricsAndSeries(t *testing.T) {
	st := awstest.Stack(t, closeloop.Config{})
	tok := st.Config.AdminToken
	seed(t, st, "generic", map[int]string{5: "", 4: "", 2: "", 1: ""})
	today := time.Now().UTC().Format(time.DateOnly)
	var m api.Metrics
	call(t, st.Handler, "GET", "/api/metrics?from="+today+"&to="+today+"&by=day", "", tok, &m)
	if m.SurveysSent != 4 || m.Responses != 4 || *m.ResponseRate != 1 || *m.CSAT != 50 || m.NPS != nil {
		t.Errorf("metrics %+v", m)
	}
	if len(m.Series) != 1 || m.Series[0].Day != today || m.Series[0].Responses != 4 {
		t.Errorf("series %+v", m.Series)
	}
	call(t, st.Handler, "GET", "/api/metrics?from=2020-01-01&to=2020-01-31", "", tok, &m)
	if m.Responses != 0 || m.CSAT != nil || m.ResponseRate != nil {
		t.Errorf("empty range: %+v", m)
	}
	lf := m.LoopFigures
	if lf.Detractors != 0 || lf.MedianHoursToContact != nil || lf.DetractorsContactRate != nil || *lf.ThemeRaisers != 0 || *lf.ThemeRaisersTold != 0 ||
		lf.MedianHoursToTold != nil || *lf.CheckinsSent != 0 || lf.CheckinsStillSolved != nil || lf.ScoreChangeTold != nil || lf.ScoreChangeNotTold != nil {
		t.Errorf("loop figures of an empty range: %+v", lf)
	}
}

// TestCSVExportDefusesFormulas: a spreadsheet opening the export runs no
// customer text as a formula.
func TestCSVExportDefusesFormulas(t *testing.T) {
	st := awstest.Stack(t, closeloop.Config{})
	seed(t, st, "generic", map[int]string{2: `=HYPERLINK("http://evil.example","click")`, 3: "+1 fine", 4: "plain"})
	w := call(t, st.Handler, "GET", "/api/responses?format=csv", "", st.Config.AdminToken, nil)
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/csv") {
		t.Fatalf("%d %s", w.Code, w.Header())
	}
	rows, err := csv.NewReader(w.Body).ReadAll()
	if err != nil || len(rows) != 4 {
		t.Fatalf("%d rows, %v", len(rows), err)
	}
	for _, row := range rows[1:] {
		for _, cell := range row {
			if cell != "" && strings.ContainsRune("=+-@", rune(cell[0])) {
				t.Errorf("cell %q would run as a formula", cell)
			}
		}
	}
	// The export carries the sent date and the follow-up state: the
	// detractor (rating 2) has an open case, the others none.
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, row := range rows[1:] {
		wantFollowUp := map[string]string{"2": "open"}[row[col["rating"]]]
		if row[col["sent_at"]] == "" || row[col["follow_up"]] != wantFollowUp {
			t.Errorf("rating %s: sent_at %q, follow_up %q (want %q)", row[col["rating"]], row[col["sent_at"]], row[col["follow_up"]], wantFollowUp)
		}
	}
}

// TestProtocolDetails: a wrong method is 405 with Allow, the bearer scheme
// is case-insensitive (RFC 9110), and every CSV cell is defused, ticket ids
// included.
func TestProtocolDetails(t *testing.T) {
	st := awstest.Stack(t, closeloop.Config{})
	tok := st.Config.AdminToken
	if w := call(t, st.Handler, "DELETE", "/api/themes", "", tok, nil); w.Code != 405 || w.Header().Get("Allow") == "" {
		t.Errorf("DELETE /api/themes: %d, Allow %q; want 405", w.Code, w.Header().Get("Allow"))
	}
	for _, scheme := range []string{"bearer", "BEARER", "Bearer"} {
		r := httptest.NewRequest("GET", "/api/themes", nil)
		r.Header.Set("Authorization", scheme+" "+tok)
		w := httptest.NewRecorder()
		st.Handler.ServeHTTP(w, r)
		if w.Code != 200 {
			t.Errorf("scheme %q: %d", scheme, w.Code)
		}
	}
	_, m := awstest.Surveyed(t, st, "generic", `=HYPERLINK("http://evil.example","x")`, closeloop.CSAT)
	awstest.Answer(t, st, m, 4, "ok")
	w := call(t, st.Handler, "GET", "/api/responses?format=csv", "", tok, nil)
	rows, err := csv.NewReader(w.Body).ReadAll()
	if err != nil || len(rows) != 2 {
		t.Fatalf("%d rows, %v", len(rows), err)
	}
	for _, cell := range rows[1] {
		if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
			t.Errorf("cell %q would run as a formula", cell)
		}
	}
}

func TestPeriods(t *testing.T) {
	for _, tt := range []struct{ day, by, want string }{
		{"2026-11-25", "day", "2026-11-25"}, {"2026-11-25", "week", "2026-11-23"}, {"2026-11-23", "week", "2026-11-23"},
		{"2026-11-29", "week", "2026-11-23"}, {"2026-11-25", "month", "2026-11-01"},
	} {
		if got := api.PeriodOf(tt.day, tt.by); got != tt.want {
			t.Errorf("periodOf(%s, %s) = %s, want %s", tt.day, tt.by, got, tt.want)
		}
	}
}

// TestSeriesByWeekAndMonth: ten days, one survey sent each, sum into a
// series per week (from Monday) and per month.
func TestSeriesByWeekAndMonth(t *testing.T) {
	start := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC) // a Friday
	var days []closeloop.DayCounters
	for i := 0; i < 10; i++ {
		days = append(days, closeloop.DayCounters{Day: start.AddDate(0, 0, i).Format(time.DateOnly), Counters: closeloop.Counters{SurveysSent: 1}})
	}
	end := start.AddDate(0, 0, 9)
	for by, want := range map[string]map[string]int64{
		"week":  {"2026-11-23": 3, "2026-11-30": 7},
		"month": {"2026-11-01": 4, "2026-12-01": 6},
		"day":   {"2026-11-27": 1, "2026-12-06": 1},
	} {
		m := api.MetricsOf(start, end, days, by)
		got := map[string]int64{}
		for _, p := range m.Series {
			got[p.Day] = p.SurveysSent
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("by=%s: %s has %d, want %d (series %v)", by, k, got[k], v, got)
			}
		}
		if by != "day" && len(m.Series) != len(want) {
			t.Errorf("by=%s: %d points", by, len(m.Series))
		}
		if m.SurveysSent != 10 {
			t.Errorf("by=%s total %d", by, m.SurveysSent)
		}
	}
}

// TestImportedResponsesFilterByOrigin: imported responses carry their
// origin (csv, delighted) as their source, and the responses' source
// filter takes it, so imported history can be read apart (it answered 400).
func TestImportedResponsesFilterByOrigin(t *testing.T) {
	st := awstest.Stack(t, closeloop.Config{})
	now := time.Now().UTC()
	rec := closeloop.ImportedResponse{Origin: "csv", ID: "old-1", Email: awstest.Email(), Kind: closeloop.CSAT, Score: 2, At: now.Add(-time.Hour)}
	if err := rec.Validate(now); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Store.ImportResponse(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	span := "from=" + now.Add(-24*time.Hour).Format(time.DateOnly) + "&to=" + now.Format(time.DateOnly)
	for source, want := range map[string]int{"csv": 1, "delighted": 0, "zendesk": 0} {
		var page struct{ Responses []api.Response }
		if w := call(t, st.Handler, "GET", "/api/responses?"+span+"&source="+source, "", st.Config.AdminToken, &page); w.Code != 200 || len(page.Responses) != want {
			t.Errorf("source=%s: %d, %d responses; want 200 and %d", source, w.Code, len(page.Responses), want)
		}
	}
}
