package helpdesk

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/closeloop/closeloop/shared/closeloop"
)

// Generic receives Closeloop's own signed JSON, for helpdesks without a
// dedicated receiver. The signature is
//
//	X-Closeloop-Timestamp: <unix seconds>
//	X-Closeloop-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>
//
// and is refused outside ReplayWindow.
type Generic struct {
	Secret []byte
}

// GenericPayload is the generic source's body.
type GenericPayload struct {
	EventID  string           `json:"event_id"`
	TicketID string           `json:"ticket_id"`
	Status   string           `json:"status"`
	Customer closeloop.Person `json:"customer"`
	Agent    closeloop.Person `json:"agent"`
	Subject  string           `json:"subject"`
	SolvedAt string           `json:"solved_at"`
	Tags     []string         `json:"tags"`
	Survey   string           `json:"survey,omitempty"` // optional survey kind: csat, nps or ces
}

// Sign returns the headers that sign body at ts with secret, as a sender of
// generic webhooks computes them.
func (g Generic) Sign(body []byte, ts time.Time) http.Header {
	t := fmt.Sprint(ts.Unix())
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("X-Closeloop-Timestamp", t)
	h.Set("X-Closeloop-Signature", "sha256="+hex.EncodeToString(mac(sha256.New, g.Secret, []byte(t), []byte("."), body)))
	return h
}

// Verify implements Receiver.
func (g Generic) Verify(h http.Header, body []byte, now time.Time) error {
	ts := h.Get("X-Closeloop-Timestamp")
	if err := checkUnix(ts, now); err != nil {
		return err
	}
	sig, ok := strings.CutPrefix(h.Get("X-Closeloop-Signature"), "sha256=")
	if !ok {
		return closeloop.Errorf(closeloop.ErrUnauthorized, "X-Closeloop-Signature is missing or not sha256=<hex>")
	}
	got, err := hex.DecodeString(sig)
	if err != nil || !hmac.Equal(got, mac(sha256.New, g.Secret, []byte(ts), []byte("."), body)) {
		return closeloop.Errorf(closeloop.ErrUnauthorized, "signature does not match")
	}
	return nil
}

// Parse implements Receiver.
func (g Generic) Parse(h http.Header, body []byte, now time.Time) ([]closeloop.TicketEvent, error) {
	var p GenericPayload
	if err := decodeStrict(body, &p); err != nil {
		return nil, err
	}
	ev := closeloop.TicketEvent{
		Source: "generic", EventID: p.EventID, TicketID: p.TicketID,
		Customer: p.Customer, Agent: p.Agent, Subject: p.Subject, Tags: p.Tags,
		Kind: closeloop.Kind(p.Survey),
	}
	switch strings.ToLower(p.Status) {
	case "solved":
		ev.Status = closeloop.StatusSolved
	case "reopened":
		ev.Status = closeloop.StatusReopened
	case "":
		return nil, invalid("status is missing")
	default:
		return nil, invalid("status %q is not solved or reopened", p.Status)
	}
	ev.OccurredAt = now
	if p.SolvedAt != "" {
		t, err := time.Parse(time.RFC3339, p.SolvedAt)
		if err != nil {
			return nil, invalid("solved_at %q is not an RFC 3339 time", p.SolvedAt)
		}
		ev.OccurredAt = t
	}
	return []closeloop.TicketEvent{ev}, ev.Validate(now)
}

// decodeStrict decodes one JSON value from body into v, refusing trailing
// data, with an error that says where the body is wrong.
func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return invalid("body is not the expected JSON: %v", err)
	}
	if dec.More() {
		return invalid("body has data after the JSON value")
	}
	return nil
}
