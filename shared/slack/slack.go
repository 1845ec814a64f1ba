// Package slack posts detractor alerts to a Slack-compatible incoming
// webhook, so the team can follow up with an unhappy customer while it still
// matters.
package slack

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/closeloop/closeloop/shared/closeloop"
)

// Slack posts to an incoming webhook URL (Slack, Mattermost, Teams
// workflows and others take the same {"text": ...} body).
type Slack struct {
	URL     string
	Client  *http.Client  // nil for http.DefaultClient
	Timeout time.Duration // how long one post may take; 0 for DefaultTimeout
}

// DefaultTimeout bounds one post, so a receiver that never answers fails
// the alert (which is retried) rather than the whole batch's time.
const DefaultTimeout = 10 * time.Second

// Text is the alert for survey sv. It names the ticket and quotes the
// comment for the team; it never includes the customer's address.
func Text(sv closeloop.Survey) string {
	lo, hi := sv.Kind.Scale()
	t := fmt.Sprintf(":rotating_light: Unhappy %s answer: %d on %d–%d for %s ticket %s", sv.Kind, *sv.Rating, lo, hi, sv.Source, sv.TicketID)
	if sv.AgentName != "" {
		t += " (solved by " + sv.AgentName + ")"
	}
	if sv.Comment != "" {
		t += "\n> " + sv.Comment
	}
	return t + "\nSurvey " + sv.ID
}

// Detractor posts the alert for sv.
func (s Slack) Detractor(ctx context.Context, sv closeloop.Survey) error {
	return s.Post(ctx, Text(sv))
}

// ErrOutcomeUnknown wraps the error of a post the receiver may have taken
// (it was sent, and no answer came): posting it again could show the alert
// twice, so callers count it as posted, as Closeloop does for SES.
var ErrOutcomeUnknown = errors.New("the post went and no answer came: it may have arrived")

// Post posts text. Its error says whether the receiver answered, and wraps
// ErrOutcomeUnknown when the post may have arrived. It never names the
// webhook URL, a secret that callers' logs must not hold.
func (s Slack) Post(ctx context.Context, text string) error {
	ctx, cancel := context.WithTimeout(ctx, cmp.Or(s.Timeout, DefaultTimeout))
	defer cancel()
	body, _ := json.Marshal(map[string]string{"text": text})
	var wrote atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{WroteRequest: func(i httptrace.WroteRequestInfo) { wrote.Store(i.Err == nil) }})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(body))
	if err != nil {
		return errors.New("detractor alert: the webhook URL is not a URL")
	}
	req.Header.Set("Content-Type", "application/json")
	c := s.Client
	if c == nil {
		c = http.DefaultClient
	}
	res, err := c.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL out
		}
		if wrote.Load() {
			return fmt.Errorf("detractor alert: %w: %w", ErrOutcomeUnknown, err)
		}
		return fmt.Errorf("detractor alert: %w", err)
	}
	res.Body.Close()
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("detractor alert: webhook answered %s", res.Status)
	}
	return nil
}
