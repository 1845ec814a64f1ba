package helpdesk

import (
	"crypto/sha1"
	"encoding/base64"
	"net/http"
	"strings"
	"time"

	"github.com/closeloop/closeloop/shared/closeloop"
)

// HelpScout receives Help Scout webhooks for the convo.status event, signed
//
//	X-HelpScout-Signature: <base64 HMAC-SHA1(secret, body)>
//
// A conversation whose status becomes closed is a solve; active or pending
// is a reopen. Other events are acknowledged and ignored.
type HelpScout struct {
	Secret []byte
}

type helpScoutPerson struct {
	ID    flexString `json:"id"`
	Email string     `json:"email"`
	First string     `json:"first"`
	Last  string     `json:"last"`
}

// HelpScoutPayload is the conversation object Help Scout posts.
type HelpScoutPayload struct {
	ID              flexString      `json:"id"`
	Number          flexString      `json:"number"`
	Subject         string          `json:"subject"`
	Status          string          `json:"status"`
	PrimaryCustomer helpScoutPerson `json:"primaryCustomer"`
	Assignee        helpScoutPerson `json:"assignee"`
	Tags            []struct {
		Tag string `json:"tag"`
	} `json:"tags"`
	UserUpdatedAt string `json:"userUpdatedAt"`
	ClosedAt      string `json:"closedAt"`
}

// Sign implements Signer.
func (s HelpScout) Sign(body []byte, _ time.Time) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("X-HelpScout-Event", "convo.status")
	h.Set("X-HelpScout-Signature", base64.StdEncoding.EncodeToString(mac(sha1.New, s.Secret, body)))
	return h
}

// Verify implements Receiver.
func (s HelpScout) Verify(h http.Header, body []byte, _ time.Time) error {
	return checkBase64("X-HelpScout-Signature", h.Get("X-HelpScout-Signature"), sha1.New, s.Secret, body)
}

// Parse implements Receiver.
func (s HelpScout) Parse(h http.Header, body []byte, now time.Time) ([]closeloop.TicketEvent, error) {
	event := h.Get("X-HelpScout-Event")
	if event != "convo.status" && event != "convo.created" {
		return nil, nil // including Help Scout's test ping
	}
	var p HelpScoutPayload
	if err := decodeStrict(body, &p); err != nil {
		return nil, err
	}
	ev := closeloop.TicketEvent{
		Source: "helpscout", TicketID: string(p.ID), Subject: p.Subject,
		Customer: closeloop.Person{Email: p.PrimaryCustomer.Email, Name: joinName(p.PrimaryCustomer.First, p.PrimaryCustomer.Last)},
		Agent:    closeloop.Person{Email: p.Assignee.Email, Name: joinName(p.Assignee.First, p.Assignee.Last)},
	}
	if ev.Customer.Email == "" {
		ev.Customer.ID = string(p.PrimaryCustomer.ID) // looked up through the customers API
	}
	for _, t := range p.Tags {
		ev.Tags = append(ev.Tags, t.Tag)
	}
	switch strings.ToLower(p.Status) {
	case "closed":
		ev.Status = closeloop.StatusSolved
		ev.OccurredAt = orNow(parseTime(firstOf(p.ClosedAt, p.UserUpdatedAt)), now)
	case "active", "pending":
		ev.Status = closeloop.StatusReopened
		ev.OccurredAt = orNow(parseTime(p.UserUpdatedAt), now)
	case "":
		return nil, invalid("status is missing")
	default:
		ev.Status = closeloop.StatusOther
		ev.OccurredAt = orNow(parseTime(p.UserUpdatedAt), now)
	}
	// Help Scout sends no delivery id or timestamp header: a delivery is
	// named by its conversation, status and the conversation's own time,
	// or by its bytes when the body carries no time.
	at := p.UserUpdatedAt
	if ev.Status == closeloop.StatusSolved {
		at = firstOf(p.ClosedAt, p.UserUpdatedAt)
	}
	key := ev.OccurredAt.UTC().Format(time.RFC3339)
	if parseTime(at).IsZero() {
		key = bodyKey(body)
	}
	ev.EventID = "helpscout:" + string(p.ID) + ":" + strings.ToLower(p.Status) + ":" + key
	return done(ev, now)
}
