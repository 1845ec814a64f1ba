package helpdesk

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"time"

	"github.com/closeloop/closeloop/shared/closeloop"
)

// Front receives Front webhooks in both of Front's forms, told apart by
// X-Front-Request-Timestamp:
//
//	app webhooks:  X-Front-Signature = base64(HMAC-SHA256(app signing key, timestamp + ":" + body)),
//	               timestamp in milliseconds, refused outside ReplayWindow;
//	rule webhooks: X-Front-Signature = base64(HMAC-SHA1(API secret, body)).
//
// The secret is the same CLOSELOOP_SECRET_FRONT for both. An archived
// conversation is a solve; a reopened or unarchived one is a reopen. Front's
// set-up handshake (X-Front-Challenge) is answered by Challenge.
type Front struct {
	Secret []byte
}

// FrontEvent is a Front event, as rule webhooks send it and as the payload
// of app webhooks.
type FrontEvent struct {
	ID           string  `json:"id"`
	Type         string  `json:"type"`
	EmittedAt    float64 `json:"emitted_at"`
	Conversation struct {
		ID        string          `json:"id"`
		Subject   string          `json:"subject"`
		Status    string          `json:"status"`
		Recipient *frontRecipient `json:"recipient"`
		Assignee  *struct {
			Email     string `json:"email"`
			FirstName string `json:"first_name"`
			LastName  string `json:"last_name"`
		} `json:"assignee"`
		Tags []struct {
			Name string `json:"name"`
		} `json:"tags"`
	} `json:"conversation"`
}

type frontRecipient struct {
	Handle string `json:"handle"`
	Name   string `json:"name"`
	Links  struct {
		Related struct {
			Contact string `json:"contact"`
		} `json:"related"`
	} `json:"_links"`
}

// customer is the conversation's recipient as a Person: by address when
// the handle is one, else by Front contact id (from the recipient's
// contact link) or, for an event preview with no recipient, by
// conversation id, for Front's look-up.
func (e FrontEvent) customer() closeloop.Person {
	r := e.Conversation.Recipient
	switch {
	case r == nil:
		return closeloop.Person{ID: e.Conversation.ID}
	case isAddress(r.Handle):
		return closeloop.Person{Email: r.Handle, Name: r.Name}
	case r.Links.Related.Contact != "":
		return closeloop.Person{ID: path.Base(r.Links.Related.Contact), Name: r.Name}
	}
	return closeloop.Person{ID: e.Conversation.ID, Name: r.Name}
}

// Sign implements Signer with the app-webhook form.
func (f Front) Sign(body []byte, ts time.Time) http.Header {
	t := fmt.Sprint(ts.UnixMilli())
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("X-Front-Request-Timestamp", t)
	h.Set("X-Front-Signature", base64.StdEncoding.EncodeToString(mac(sha256.New, f.Secret, []byte(t+":"), body)))
	return h
}

// Verify implements Receiver.
func (f Front) Verify(h http.Header, body []byte, now time.Time) error {
	sig := h.Get("X-Front-Signature")
	if ts := h.Get("X-Front-Request-Timestamp"); ts != "" {
		if err := checkMillis("X-Front-Request-Timestamp", ts, now); err != nil {
			return err
		}
		return checkBase64("X-Front-Signature", sig, sha256.New, f.Secret, []byte(ts+":"), body)
	}
	return checkBase64("X-Front-Signature", sig, sha1.New, f.Secret, body)
}

// Challenge implements Challenger: Front checks a new app webhook by sending
// X-Front-Challenge and expecting it back.
func (f Front) Challenge(h http.Header, _ []byte) ([]byte, bool) {
	c := h.Get("X-Front-Challenge")
	if c == "" {
		return nil, false
	}
	b, _ := json.Marshal(map[string]string{"challenge": c})
	return b, true
}

// Parse implements Receiver.
func (f Front) Parse(h http.Header, body []byte, now time.Time) ([]closeloop.TicketEvent, error) {
	// App webhooks wrap the event: {"type": ..., "payload": {event}}.
	var wrapped struct {
		Payload json.RawMessage `json:"payload"`
	}
	if json.Unmarshal(body, &wrapped) == nil && len(bytes.TrimSpace(wrapped.Payload)) > 0 && wrapped.Payload[0] == '{' {
		body = wrapped.Payload
	}
	var e FrontEvent
	if err := json.Unmarshal(body, &e); err != nil {
		return nil, invalid("body is not a Front event: %v", err)
	}
	var status closeloop.Status
	switch e.Type {
	case "archive":
		status = closeloop.StatusSolved
	case "reopen", "unarchive":
		status = closeloop.StatusReopened
	case "":
		return nil, invalid("event type is missing")
	default:
		return nil, nil
	}
	c := e.Conversation
	ev := closeloop.TicketEvent{
		Source: "front", EventID: e.ID, TicketID: c.ID, Status: status, Subject: c.Subject,
		OccurredAt: orNow(parseTime(fmt.Sprint(e.EmittedAt)), now),
		Customer:   e.customer(),
	}
	if c.Assignee != nil {
		ev.Agent = closeloop.Person{Email: c.Assignee.Email, Name: joinName(c.Assignee.FirstName, c.Assignee.LastName)}
	}
	for _, t := range c.Tags {
		ev.Tags = append(ev.Tags, t.Name)
	}
	return done(ev, now)
}

// isAddress reports whether a Front handle is an email address (a Twitter
// handle such as "@mira" is not).
func isAddress(handle string) bool {
	_, err := closeloop.NormalizeEmail(handle)
	return err == nil
}
