// Package alert posts detractor alerts to a Slack-compatible incoming
// webhook, so the team can follow up with an unhappy customer while it still
// matters.
package slack

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
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

// Post posts text. Its error says whether the receiver answered.
func (s Slack) Post(ctx context.Context, text string) error {
	ctx, cancel := context.WithTimeout(ctx, cmp.Or(s.Timeout, DefaultTimeout))
	defer cancel()
	body, _ := json.Marshal(map[string]string{"text": text})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("detractor alert: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	c := s.Client
	if c == nil {
		c = http.DefaultClient
	}
	res, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("detractor alert: %w", err)
	}
	res.Body.Close()
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("detractor alert: webhook answered %s", res.Status)
	}
	return nil
}
