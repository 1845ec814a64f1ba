package slack

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/closeloop/closeloop/shared/closeloop"
)

func survey(rating int, comment string) closeloop.Survey {
	return closeloop.Survey{ID: "s1", Source: "zendesk", TicketID: "4711", ContactID: "c1", Kind: closeloop.CSAT,
		Rating: &rating, Comment: comment, AgentName: "Grace"}
}

func TestTextNamesTheTicketAndQuotesTheComment(t *testing.T) {
	got := Text(survey(1, "Nobody answered"))
	for _, want := range []string{"1 on 1–5", "zendesk ticket 4711", "solved by Grace", "> Nobody answered", "Survey s1"} {
		if !strings.Contains(got, want) {
			t.Errorf("alert %q lacks %q", got, want)
		}
	}
	if strings.Contains(Text(survey(2, "")), ">") {
		t.Error("an empty comment is quoted")
	}
}

func TestDetractorPostsJSON(t *testing.T) {
	var got struct{ Text string }
	var contentType string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		contentType = r.Header.Get("Content-Type")
		b, _ := io.ReadAll(r.Body)
		json.Unmarshal(b, &got)
	}))
	defer srv.Close()
	if err := (Slack{URL: srv.URL}).Detractor(context.Background(), survey(1, "slow")); err != nil {
		t.Fatal(err)
	}
	if contentType != "application/json" || got.Text != Text(survey(1, "slow")) {
		t.Errorf("posted %q as %s", got.Text, contentType)
	}
}

func TestDetractorReportsFailures(t *testing.T) {
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusServiceUnavailable)
	}))
	defer refusing.Close()
	if err := (Slack{URL: refusing.URL}).Detractor(context.Background(), survey(1, "")); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("a 503 is not reported: %v", err)
	}
	release := make(chan struct{})
	stuck := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer stuck.Close()
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := (Slack{URL: stuck.URL}).Detractor(ctx, survey(1, "")); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a receiver that never answers: %v, want the deadline", err)
	}
	// Without a deadline of the caller's, the post's own timeout ends it.
	if err := (Slack{URL: stuck.URL, Timeout: 50 * time.Millisecond}).Detractor(context.Background(), survey(1, "")); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a receiver that never answers, no caller deadline: %v, want the post's timeout", err)
	}
}

// TestFailuresNeverNameTheURL: the webhook URL is a secret (whoever has it
// can post to the channel); an error, which the caller logs, never holds it.
func TestFailuresNeverNameTheURL(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	secretURL := srv.URL + "/services/T000/B000/SECRETPART"
	srv.Close() // nothing listens there now: the connection is refused
	for _, u := range []string{secretURL, "http://[::1:bad/services/SECRETPART"} {
		err := (Slack{URL: u}).Detractor(context.Background(), survey(1, ""))
		if err == nil || strings.Contains(err.Error(), "SECRETPART") {
			t.Errorf("error %v names the webhook URL", err)
		}
		if errors.Is(err, ErrOutcomeUnknown) {
			t.Errorf("a post that never left (%v) is taken for one that may have arrived", err)
		}
	}
}

// TestNoAnswerAfterThePostMayHaveArrived: a receiver that took the post and
// never answered may have shown it: the error says the outcome is unknown,
// so the caller does not post it again.
func TestNoAnswerAfterThePostMayHaveArrived(t *testing.T) {
	release := make(chan struct{})
	stuck := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer stuck.Close()
	defer close(release)
	err := (Slack{URL: stuck.URL, Timeout: 100 * time.Millisecond}).Detractor(context.Background(), survey(1, ""))
	if !errors.Is(err, ErrOutcomeUnknown) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("no answer after the post: %v, want an unknown outcome at the deadline", err)
	}
}
