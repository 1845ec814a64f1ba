package response_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/fn/response"
	"github.com/closeloop/closeloop/shared/local/awstest"
	"github.com/closeloop/closeloop/shared/local/devstack"
	"github.com/closeloop/closeloop/shared/local/localqueue"
)

// TestErasedSurveyIsGone: after erasure the old link neither shows the
// survey nor takes an answer (which no later erasure could find), and the
// unsubscribe page says something.
func TestErasedSurveyIsGone(t *testing.T) {
	st := awstest.Stack(t, closeloop.Config{})
	email, m := awstest.Surveyed(t, st, "generic", "", closeloop.CSAT)
	if _, err := st.Store.Erase(context.Background(), email); err != nil {
		t.Fatal(err)
	}
	token := awstest.Token(m)
	if w := do(st, http.MethodGet, "/s/"+token, nil); w.Code != http.StatusGone {
		t.Errorf("GET erased survey: %d, want 410", w.Code)
	}
	if code := awstest.Answer(t, st, m, 1, "a new comment after erasure"); code != http.StatusGone {
		t.Errorf("POST erased survey: %d, want 410", code)
	}
	sv, _ := st.Store.GetSurvey(context.Background(), closeloop.SurveyIDOf(token))
	if sv.Comment != "" || sv.Rating != nil {
		t.Errorf("an answer was stored after erasure: %+v", sv)
	}
	// The unsubscribe link went with the person: it says so rather than
	// showing a blank page. An email sent before unsubscribe links had
	// tokens of their own unsubscribed with the survey token: it says the
	// person is unsubscribed.
	u, _ := url.Parse(strings.Trim(m.Header("List-Unsubscribe"), "<>"))
	for _, tt := range []struct {
		path string
		code int
		text string
	}{{u.Path, 404, "not valid"}, {"/u/" + token, 200, "unsubscribed"}} {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			w := do(st, method, tt.path, url.Values{})
			if w.Code != tt.code || !strings.Contains(w.Body.String(), tt.text) {
				t.Errorf("%s %s after erasure: %d, want %d saying %q", method, tt.path[:3], w.Code, tt.code, tt.text)
			}
		}
	}
}

// TestBodyLimits: oversized bodies get 413 on the survey form and on the
// unsubscribe route.
func TestBodyLimits(t *testing.T) {
	st := awstest.Stack(t, closeloop.Config{})
	_, m := awstest.Surveyed(t, st, "generic", "", closeloop.CSAT)
	u, _ := url.Parse(strings.Trim(m.Header("List-Unsubscribe"), "<>"))
	big := url.Values{"rating": {"4"}, "comment": {strings.Repeat("x", 1<<20)}}
	for _, p := range []string{"/s/" + awstest.Token(m), u.Path} {
		if w := do(st, http.MethodPost, p, big); w.Code != http.StatusRequestEntityTooLarge {
			t.Errorf("POST %s with 1 MiB: %d, want 413", p[:3], w.Code)
		}
	}
	c, _ := st.Store.GetContact(context.Background(), contactOf(t, st, m))
	if c.Suppressed != "" {
		t.Error("an oversized body unsubscribed")
	}
}

// TestLongCommentWithInvalidUTF8IsKept: a comment over the limit with
// invalid bytes is cut, not emptied.
func TestLongCommentWithInvalidUTF8IsKept(t *testing.T) {
	st := awstest.Stack(t, closeloop.Config{})
	_, m := awstest.Surveyed(t, st, "generic", "", closeloop.CSAT)
	comment := "Slow export \xff\xfe " + strings.Repeat("really ", 1000)
	if code := awstest.Answer(t, st, m, 2, comment); code != 200 {
		t.Fatalf("answer: %d", code)
	}
	sv, _ := st.Store.GetSurvey(context.Background(), closeloop.SurveyIDOf(awstest.Token(m)))
	if !strings.HasPrefix(sv.Comment, "Slow export") || len(sv.Comment) < closeloop.MaxComment-10 || len(sv.Comment) > closeloop.MaxComment || !utf8.ValidString(sv.Comment) {
		t.Errorf("stored comment %.40q… (%d bytes)", sv.Comment, len(sv.Comment))
	}
}

// TestUnsubscribeTokenIsNotTheSurveyToken: whoever follows the
// List-Unsubscribe link (a mail provider fetching it) cannot read or change
// the answer, and the link still unsubscribes.
func TestUnsubscribeTokenIsNotTheSurveyToken(t *testing.T) {
	st := awstest.Stack(t, closeloop.Config{})
	_, m := awstest.Surveyed(t, st, "generic", "", closeloop.CSAT)
	u, _ := url.Parse(strings.Trim(m.Header("List-Unsubscribe"), "<>"))
	unsub := strings.TrimPrefix(u.Path, "/u/")
	if unsub == awstest.Token(m) {
		t.Fatal("the unsubscribe link carries the survey token")
	}
	for _, l := range awstest.Links(m) {
		if strings.HasPrefix(l, "/u/") && strings.Contains(l, awstest.Token(m)) {
			t.Errorf("unsubscribe link %s carries the survey token", l)
		}
	}
	if w := do(st, http.MethodGet, "/s/"+unsub, nil); w.Code != http.StatusNotFound {
		t.Errorf("GET /s/ with the unsubscribe token: %d, want 404", w.Code)
	}
	r := httptest.NewRequest(http.MethodPost, u.Path, strings.NewReader("List-Unsubscribe=One-Click"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	st.Handler.ServeHTTP(w, r)
	c, _ := st.Store.GetContact(context.Background(), contactOf(t, st, m))
	if w.Code != 200 || c.Suppressed != "unsubscribed" {
		t.Errorf("one-click: %d, contact %+v", w.Code, c)
	}
}

func contactOf(t *testing.T, st *devstack.Stack, m awstest.Mail) string {
	t.Helper()
	sv, err := st.Store.GetSurvey(context.Background(), closeloop.SurveyIDOf(awstest.Token(m)))
	if err != nil || sv.ContactID == "" {
		t.Fatalf("survey of the email: %+v %v", sv, err)
	}
	return sv.ContactID
}

// TestPageStatesAndLanguages: an answered survey's page says so in its
// title, dates follow the language, and a link Closeloop does not know is
// explained in the browser's language.
func TestPageStatesAndLanguages(t *testing.T) {
	st := awstest.Stack(t, closeloop.Config{})
	_, m := awstest.Surveyed(t, st, "generic", "", closeloop.CSAT)
	token := awstest.Token(m)
	if w := do(st, http.MethodGet, "/s/"+token, nil); !strings.Contains(w.Body.String(), "<title>How satisfied") {
		t.Errorf("unanswered title: %.300s", w.Body.String())
	}
	awstest.Answer(t, st, m, 4, "ok")
	if w := do(st, http.MethodGet, "/s/"+token, nil); !strings.Contains(w.Body.String(), "<title>You already answered") {
		t.Errorf("answered title missing")
	}
	r := httptest.NewRequest(http.MethodGet, "/s/"+strings.Repeat("A", 43), nil)
	r.Header.Set("Accept-Language", "sv, de-CH;q=0.8, en;q=0.5")
	w := httptest.NewRecorder()
	st.Handler.ServeHTTP(w, r)
	if w.Code != 404 || !strings.Contains(w.Body.String(), "Link nicht gefunden") {
		t.Errorf("unknown link for a German browser: %d", w.Code)
	}
}

// countFails fails every count of a detractor, as a throttled table would.
type countFails struct{ response.Store }

func (countFails) AddCounters(_ context.Context, _ time.Time, c closeloop.Counters, _ ...closeloop.Dims) error {
	if c.Loops.Detractors > 0 {
		return errors.New("injected: table unreachable")
	}
	return nil
}

// TestCountFailureStillAlerts: a stored case whose count fails still
// queues the team's alert (nothing would retry it later).
func TestCountFailureStillAlerts(t *testing.T) {
	st := awstest.Stack(t, closeloop.Config{})
	_, m := awstest.Surveyed(t, st, "generic", "", closeloop.CSAT)
	q := &localqueue.Queue{}
	pages := *st
	cfg := st.Config
	cfg.Acknowledge = "off" // the queue then carries only the alert
	pages.Handler = response.New(cfg, countFails{st.Store}, q)
	if code := awstest.Answer(t, &pages, m, 1, "Nobody answered"); code != http.StatusOK {
		t.Fatalf("answer: %d", code)
	}
	if cases, _ := st.Store.Cases(context.Background(), ""); len(cases) != 1 {
		t.Fatalf("%d cases, want 1", len(cases))
	}
	if n := q.Len(); n != 1 {
		t.Errorf("%d alerts queued, want 1", n)
	}
}
