package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/helpdesk"
	"github.com/closeloop/closeloop/shared/local/awstest"
	"github.com/closeloop/closeloop/shared/local/devstack"
)

func TestMain(m *testing.M) { awstest.Main(m) }

// lockedBuffer collects log output from several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// server runs the whole stack behind a real HTTP server, with the jobs
// ticking, and its logs captured.
type server struct {
	*devstack.Stack
	URL  string
	logs *lockedBuffer
}

// startServer starts the server; setups change the stack before its jobs
// start (so no test writes a field a job goroutine reads).
func startServer(t *testing.T, setups ...func(*devstack.Stack)) *server {
	t.Helper()
	return startServerWith(t, nil, setups...)
}

// startServerWith is startServer with configure changing the configuration
// the handlers are built with.
func startServerWith(t *testing.T, configure func(*closeloop.Config), setups ...func(*devstack.Stack)) *server {
	t.Helper()
	logs := &lockedBuffer{}
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(logs, nil)))
	var h http.Handler
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	cfg := awstest.Config()
	cfg.BaseURL = ts.URL
	cfg.AdminEmail = awstest.Email()
	if configure != nil {
		configure(&cfg)
	}
	st := awstest.Stack(t, cfg)
	h = st.Handler
	for _, setup := range setups {
		setup(st)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { st.RunJobs(ctx, 100*time.Millisecond); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
		ts.Close()
		slog.SetDefault(prev)
	})
	return &server{Stack: st, URL: ts.URL, logs: logs}
}

func (s *server) call(t *testing.T, method, path string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.URL+path, rd)
	req.Header.Set("Authorization", "Bearer "+s.Config.AdminToken)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %d %s: %v", method, path, res.StatusCode, b, err)
		}
	}
	return res.StatusCode
}

func (s *server) solve(t *testing.T, source, ticket, email, name, status string) string {
	t.Helper()
	var body []byte
	switch source {
	case "zendesk":
		body, _ = json.Marshal(helpdesk.ZendeskPayload{TicketID: ticket, Status: status, Subject: "Exports", RequesterEmail: email, RequesterName: name})
	default:
		body, _ = json.Marshal(helpdesk.GenericPayload{EventID: ticket + status, TicketID: ticket, Status: status, Customer: closeloop.Person{Email: email, Name: name}, Subject: "Exports"})
	}
	h := helpdesk.Generic{Secret: []byte(s.Config.Secrets["generic"])}.Sign(body, time.Now())
	if source == "zendesk" {
		h = helpdesk.Zendesk{Secret: []byte(s.Config.Secrets["zendesk"])}.Sign(body, time.Now())
	}
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/webhooks/"+source, bytes.NewReader(body))
	req.Header = h
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var r struct{ Action string }
	json.NewDecoder(res.Body).Decode(&r)
	if res.StatusCode != 200 {
		t.Fatalf("webhook: %s", res.Status)
	}
	return r.Action
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// mailWith waits for the email to to whose subject contains s.
func mailWith(t *testing.T, to, s string) awstest.Mail {
	t.Helper()
	var got awstest.Mail
	waitFor(t, fmt.Sprintf("an email to %s about %q", to, s), func() bool {
		for _, m := range awstest.MailTo(t, to) {
			if strings.Contains(m.Subject, s) {
				got = m
				return true
			}
		}
		return false
	})
	return got
}

func waitMail(t *testing.T, to string, n int) []awstest.Mail {
	t.Helper()
	var got []awstest.Mail
	waitFor(t, fmt.Sprintf("%d emails to %s", n, to), func() bool { got = awstest.MailTo(t, to); return len(got) >= n })
	return got
}

// TestWholeLoopOverHTTP drives the loop through the HTTP surface only, as a
// helpdesk, customers and an operator would, with the scheduled jobs running.
func TestWholeLoopOverHTTP(t *testing.T) {
	s := startServer(t)
	ada, bob := awstest.Email(), awstest.Email()
	if a := s.solve(t, "zendesk", "z-1", ada, "Ada", "Solved"); a != "scheduled" {
		t.Fatalf("zendesk solve: %s", a)
	}
	if a := s.solve(t, "generic", "g-1", bob, "Bob", "solved"); a != "scheduled" {
		t.Fatalf("generic solve: %s", a)
	}
	comments := map[string]string{ada: "The CSV export keeps timing out", bob: "Export to PDF lost my tables"}
	for _, who := range []string{ada, bob} {
		m := waitMail(t, who, 1)[0]
		token := awstest.Token(m)
		form := url.Values{"rating": {"2"}, "comment": {comments[who]}}
		res, err := http.PostForm(s.URL+"/s/"+token, form)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("answer: %v %v", res, err)
		}
		res.Body.Close()
	}
	// A theme with a keyword tags new comments; an operator tags old ones.
	if c := s.call(t, http.MethodPost, "/api/themes", map[string]any{"name": "exports", "keywords": []string{"export"}}, nil); c != 201 {
		t.Fatalf("create theme: %d", c)
	}
	var list struct{ Responses []map[string]any }
	s.call(t, http.MethodGet, "/api/responses", nil, &list)
	if len(list.Responses) != 2 {
		t.Fatalf("%d responses, want 2", len(list.Responses))
	}
	for _, r := range list.Responses {
		if r["flagged"] != true || r["rating"] != 2.0 {
			t.Errorf("response %v: want rating 2, flagged", r)
		}
		if c := s.call(t, http.MethodPut, fmt.Sprintf("/api/responses/%s/themes", r["id"]), map[string]any{"themes": []string{"exports"}}, nil); c != 200 {
			t.Fatalf("tag: %d", c)
		}
	}
	var imp struct{ ID string }
	if c := s.call(t, http.MethodPost, "/api/improvements", map[string]string{"theme": "exports", "summary": "Exports rebuilt", "message": "Exports now finish in seconds."}, &imp); c != 202 || imp.ID == "" {
		t.Fatalf("announce: %d %v", c, imp)
	}
	for who, comment := range comments {
		m := mailWith(t, who, "Exports rebuilt")
		if !strings.Contains(m.Body.Text, comment) || !strings.Contains(m.Body.HTML, "Exports now finish in seconds.") {
			t.Errorf("closing email to %s does not quote %q and the change:\n%s", who, comment, m.Body.Text)
		}
	}
	var prog closeloop.Progress
	waitFor(t, "progress", func() bool {
		s.call(t, http.MethodGet, "/api/improvements/"+imp.ID, nil, &prog)
		return prog.Sent == 2
	})
	if prog != (closeloop.Progress{Recipients: 2, Sent: 2}) {
		t.Errorf("progress %+v", prog)
	}
	day := time.Now().UTC().Format(time.DateOnly)
	var m map[string]any
	s.call(t, http.MethodGet, "/api/metrics?from="+day+"&to="+day+"&by=day", nil, &m)
	want := map[string]any{"surveys_sent": 2.0, "responses": 2.0, "response_rate": 1.0, "csat": 0.0, "closing_sent": 2.0}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("metrics %s = %v, want %v (all: %v)", k, m[k], v, m)
		}
	}
	if series, _ := m["series"].([]any); len(series) != 1 {
		t.Errorf("series %v, want one day", m["series"])
	}

	// Erase Ada: her comment goes, the aggregates stay.
	var erased map[string]int
	if c := s.call(t, http.MethodDelete, "/api/contacts/"+ada, nil, &erased); c != 200 || erased["erased"] < 2 {
		t.Errorf("erase: %d %v", c, erased)
	}
	s.call(t, http.MethodGet, "/api/responses", nil, &list)
	for _, r := range list.Responses {
		if r["comment"] == comments[ada] {
			t.Errorf("erased comment still listed")
		}
	}

	// The logs name ids, never addresses or comments.
	logs := s.logs.String()
	if !strings.Contains(logs, "survey sent") {
		t.Fatalf("no logs captured")
	}
	for _, secret := range []string{ada, bob, comments[ada], comments[bob]} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain %q", secret)
		}
	}
	if addr := regexp.MustCompile(`[\w.+-]+@[\w-]+\.[\w.]+`).FindString(logs); addr != "" {
		t.Errorf("logs contain an address: %s", addr)
	}
}

func TestAPIRefusals(t *testing.T) {
	s := startServer(t)
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/api/responses", nil)
	res, _ := http.DefaultClient.Do(req)
	if res.StatusCode != 401 {
		t.Errorf("no token: %d", res.StatusCode)
	}
	before := awstest.Snapshot(t, s.Config.Table)
	tests := []struct {
		method, path string
		body         any
		code         int
	}{
		{"POST", "/api/themes", map[string]any{"name": "Bad Name!"}, 400},
		{"POST", "/api/themes", map[string]any{"nom": "x"}, 400},
		{"POST", "/api/improvements", map[string]any{"theme": "nope", "summary": "s", "message": "m"}, 400},
		{"POST", "/api/improvements", map[string]any{"theme": "nope"}, 400},
		{"PUT", "/api/responses/abc/themes", map[string]any{"themes": []string{"nope"}}, 400},
		{"GET", "/api/metrics?from=2026-13-01", nil, 400},
		{"GET", "/api/metrics?from=2026-02-01&to=2026-01-01", nil, 400},
		{"GET", "/api/metrics?from=2020-01-01&to=2026-01-01", nil, 400},
		{"GET", "/api/improvements/nope", nil, 404},
		{"GET", "/api/nowhere", nil, 404},
		{"DELETE", "/api/contacts/not-an-address", nil, 400},
	}
	for _, tt := range tests {
		var out map[string]any
		if c := s.call(t, tt.method, tt.path, tt.body, &out); c != tt.code || out["error"] == "" {
			t.Errorf("%s %s: %d %v, want %d with a reason", tt.method, tt.path, c, out, tt.code)
		}
	}
	if after := awstest.Snapshot(t, s.Config.Table); after != before {
		t.Errorf("refused calls changed the table")
	}
}
