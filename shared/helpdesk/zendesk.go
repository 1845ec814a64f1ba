package helpdesk

import (
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/closeloop/closeloop/shared/closeloop"
)

// Zendesk receives a Zendesk webhook fired by a trigger, with the JSON body
// documented in the README (ZendeskPayload). The signature is
//
//	X-Zendesk-Webhook-Signature = base64(HMAC-SHA256(secret, X-Zendesk-Webhook-Signature-Timestamp + body))
//
// with an RFC 3339 timestamp, refused outside ReplayWindow (Zendesk publishes
// no window; retries are signed anew).
type Zendesk struct {
	Secret []byte
}

// ZendeskPayload is the trigger body Closeloop asks Zendesk to send. Every
// value is a string because Zendesk renders placeholders as text.
type ZendeskPayload struct {
	TicketID       string `json:"ticket_id"`       // {{ticket.id}}
	Status         string `json:"status"`          // {{ticket.status}}
	Subject        string `json:"subject"`         // {{ticket.title}}
	RequesterEmail string `json:"requester_email"` // {{ticket.requester.email}}
	RequesterName  string `json:"requester_name"`  // {{ticket.requester.name}}
	AssigneeEmail  string `json:"assignee_email"`  // {{ticket.assignee.email}}
	AssigneeName   string `json:"assignee_name"`   // {{ticket.assignee.name}}
	Tags           string `json:"tags"`            // {{ticket.tags}}, space separated
	Locale         string `json:"locale"`          // {{ticket.requester.language}}
	UpdatedAt      string `json:"updated_at"`      // {{ticket.updated_at_with_timestamp}}
	Survey         string `json:"survey"`          // optional: csat, nps or ces
}

// ZendeskEvent is the envelope of a webhook subscribed to Zendesk's
// ticket events (zen:event-type:ticket.status_changed): it names the
// requester by id only, so their email, name, locale and zone are looked up
// (GET /api/v2/users/{requester_id}).
type ZendeskEvent struct {
	Type   string `json:"type"`
	ID     string `json:"id"`
	Time   string `json:"time"`
	Detail struct {
		ID          flexString `json:"id"`
		Status      string     `json:"status"`
		Subject     string     `json:"subject"`
		RequesterID flexString `json:"requester_id"`
		Tags        []string   `json:"tags"`
		UpdatedAt   string     `json:"updated_at"`
	} `json:"detail"`
	Event struct {
		Current  string `json:"current"`
		Previous string `json:"previous"`
	} `json:"event"`
}

func (e ZendeskEvent) parse(now time.Time) ([]closeloop.TicketEvent, error) {
	if e.Type != "zen:event-type:ticket.status_changed" {
		return nil, nil // another ticket event: nothing to do
	}
	status := strings.ToLower(cmp.Or(e.Event.Current, e.Detail.Status))
	ev := closeloop.TicketEvent{
		Source: "zendesk", EventID: e.ID, TicketID: string(e.Detail.ID), Subject: e.Detail.Subject, Tags: e.Detail.Tags,
		Customer: closeloop.Person{ID: string(e.Detail.RequesterID)}, OccurredAt: now,
	}
	if t, err := time.Parse(time.RFC3339, e.Time); err == nil {
		ev.OccurredAt = t
	}
	switch status {
	case "solved":
		// Not Closed: a merged ticket goes from open to closed without a
		// solve, and a solved one closes days later (a repeat).
		ev.Status = closeloop.StatusSolved
	case "new", "open", "pending", "hold", "on-hold":
		ev.Status = closeloop.StatusReopened
	case "":
		return nil, invalid("event.current is missing")
	default:
		ev.Status = closeloop.StatusOther
	}
	return done(ev, now)
}

// Sign returns the headers Zendesk would send for body at ts.
func (z Zendesk) Sign(body []byte, ts time.Time) http.Header {
	t := ts.UTC().Format(time.RFC3339)
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("X-Zendesk-Webhook-Signature-Timestamp", t)
	h.Set("X-Zendesk-Webhook-Signature", base64.StdEncoding.EncodeToString(mac(sha256.New, z.Secret, []byte(t), body)))
	return h
}

// Verify implements Receiver.
func (z Zendesk) Verify(h http.Header, body []byte, now time.Time) error {
	ts := h.Get("X-Zendesk-Webhook-Signature-Timestamp")
	t, err := time.Parse(time.RFC3339, ts)
	if err != nil {
		return closeloop.Errorf(closeloop.ErrUnauthorized, "X-Zendesk-Webhook-Signature-Timestamp is missing or not RFC 3339")
	}
	if err := checkTime(t, now); err != nil {
		return err
	}
	got, err := base64.StdEncoding.DecodeString(h.Get("X-Zendesk-Webhook-Signature"))
	if err != nil || len(got) == 0 || !hmac.Equal(got, mac(sha256.New, z.Secret, []byte(ts), body)) {
		return closeloop.Errorf(closeloop.ErrUnauthorized, "X-Zendesk-Webhook-Signature does not match")
	}
	return nil
}

// Parse implements Receiver. Solved and closed are solves; new, open, pending
// and on-hold are reopens (a reopen only cancels a survey not yet sent).
func (z Zendesk) Parse(h http.Header, body []byte, now time.Time) ([]closeloop.TicketEvent, error) {
	var env ZendeskEvent
	if err := decodeStrict(body, &env); err != nil {
		return nil, err
	}
	if strings.HasPrefix(env.Type, "zen:event-type:") {
		return env.parse(now)
	}
	var p ZendeskPayload
	if err := decodeStrict(body, &p); err != nil {
		return nil, err
	}
	ev := closeloop.TicketEvent{
		Source: "zendesk", TicketID: p.TicketID, Subject: p.Subject,
		Customer: closeloop.Person{Email: p.RequesterEmail, Name: p.RequesterName, Locale: p.Locale},
		Agent:    closeloop.Person{Email: p.AssigneeEmail, Name: p.AssigneeName},
		Tags:     strings.Fields(p.Tags),
		Kind:     closeloop.Kind(strings.ToLower(p.Survey)),
	}
	switch strings.ToLower(strings.TrimSpace(p.Status)) {
	case "solved": // not Closed (above)
		ev.Status = closeloop.StatusSolved
	case "new", "open", "pending", "hold", "on-hold", "on hold":
		ev.Status = closeloop.StatusReopened
	case "":
		return nil, invalid("status is missing")
	default:
		ev.Status = closeloop.StatusOther
	}
	// The signed timestamp is when Zendesk fired; updated_at, when present in
	// RFC 3339, is when the ticket changed, which orders events better.
	ev.OccurredAt = now
	if t, err := time.Parse(time.RFC3339, h.Get("X-Zendesk-Webhook-Signature-Timestamp")); err == nil {
		ev.OccurredAt = t
	}
	if t, err := time.Parse(time.RFC3339, p.UpdatedAt); err == nil {
		ev.OccurredAt = t
	}
	// A retry of one invocation keeps its invocation id; without one, the
	// ticket, status and change time name the event.
	ev.EventID = h.Get("X-Zendesk-Webhook-Invocation-Id")
	if ev.EventID == "" {
		ev.EventID = fmt.Sprintf("%s:%s:%s", p.TicketID, strings.ToLower(p.Status), p.UpdatedAt)
	}
	return []closeloop.TicketEvent{ev}, ev.Validate(now)
}
