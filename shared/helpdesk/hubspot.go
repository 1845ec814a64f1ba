package helpdesk

import (
	"cmp"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/closeloop/closeloop/shared/closeloop"
)

// RequestURIHeader is set by the webhook handler, overwriting anything a
// client sent, to the full public URI of the request: HubSpot signs it.
const RequestURIHeader = "X-Closeloop-Request-Uri"

// HubSpot receives a HubSpot ticket workflow's "Send a webhook" action,
// signed with HubSpot's v3 signature:
//
//	X-HubSpot-Signature-v3 = base64(HMAC-SHA256(app secret, "POST" + URI + body + X-HubSpot-Request-Timestamp))
//
// with the timestamp in milliseconds, refused outside ReplayWindow (or, without
// it, the older v1 and v2 hashes). The workflow body carries the ticket's
// properties (README); an app's property-change subscriptions send JSON
// arrays that name tickets only, whose customers are looked up.
type HubSpot struct {
	Secret []byte
	// ClosedStages are the team's own closed stage ids, beside the
	// default pipeline's HubSpotClosedStage
	// (CLOSELOOP_SOURCE_HUBSPOT_CLOSED_STAGES).
	ClosedStages []string
}

func (s HubSpot) closed(stage string) bool {
	return stage == HubSpotClosedStage || slices.Contains(s.ClosedStages, stage)
}

// HubSpotPayload is the workflow body, with the property names the README
// asks for.
type HubSpotPayload struct {
	TicketID flexString `json:"ticket_id"`
	ObjectID flexString `json:"objectId"`
	Status   string     `json:"status"` // "closed" (or the pipeline stage label), "open"
	Subject  string     `json:"subject"`
	Email    string     `json:"email"`
	Name     string     `json:"name"`
	Owner    string     `json:"owner"`
	Locale   string     `json:"locale"`
	ClosedAt string     `json:"closed_date"`
	Survey   string     `json:"survey"`
}

// HubSpotChange is one event of an app webhook's batch (up to 100): a
// ticket property changed. It names the ticket only; its contact is looked
// up through the ticket's association (HubSpot's look-up).
type HubSpotChange struct {
	ObjectID         flexString `json:"objectId"`
	PropertyName     string     `json:"propertyName"`
	PropertyValue    string     `json:"propertyValue"`
	SubscriptionType string     `json:"subscriptionType"`
	EventType        string     `json:"eventType"` // some docs' name for subscriptionType
	SubscriptionID   flexString `json:"subscriptionId"`
	OccurredAt       int64      `json:"occurredAt"` // ms
}

// HubSpotClosedStage is the default Support pipeline's closed stage id.
const HubSpotClosedStage = "4"

// parseHubSpotChanges reads a batch of ticket.propertyChange events on
// hs_pipeline_stage: the closed stage is a solve, any other stage a reopen.
// Each event is named by subscription, ticket, property and time (HubSpot's
// eventId is not unique); its customer is the ticket, to look up.
func (s HubSpot) parseChanges(body []byte, now time.Time) ([]closeloop.TicketEvent, error) {
	var cs []HubSpotChange
	if err := decodeStrict(body, &cs); err != nil {
		return nil, err
	}
	if len(cs) > 100 {
		return nil, invalid("more than 100 events in one batch")
	}
	var out []closeloop.TicketEvent
	for _, c := range cs {
		if cmp.Or(c.SubscriptionType, c.EventType) != "ticket.propertyChange" || c.PropertyName != "hs_pipeline_stage" {
			continue
		}
		id := string(c.ObjectID)
		ev := closeloop.TicketEvent{
			Source: "hubspot", TicketID: id, Status: closeloop.StatusReopened,
			EventID:    fmt.Sprintf("hubspot:%s:%s:%s:%d", c.SubscriptionID, id, c.PropertyName, c.OccurredAt),
			OccurredAt: orNow(time.UnixMilli(c.OccurredAt), now),
			Customer:   closeloop.Person{ID: id},
		}
		if c.OccurredAt == 0 {
			ev.OccurredAt = now
		}
		if s.closed(c.PropertyValue) {
			ev.Status = closeloop.StatusSolved
		}
		if err := ev.Validate(now); err != nil {
			return nil, err
		}
		out = append(out, ev)
	}
	return out, nil
}

// Sign implements Signer for a POST to the URI in RequestURIHeader.
func (s HubSpot) Sign(body []byte, ts time.Time) http.Header {
	return s.SignURI(http.MethodPost, "http://127.0.0.1:8787/webhooks/hubspot", body, ts)
}

// SignURI returns HubSpot's v3 headers for method and uri.
func (s HubSpot) SignURI(method, uri string, body []byte, ts time.Time) http.Header {
	t := fmt.Sprint(ts.UnixMilli())
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("X-HubSpot-Request-Timestamp", t)
	h.Set(RequestURIHeader, uri)
	h.Set("X-HubSpot-Signature-v3", base64.StdEncoding.EncodeToString(mac(sha256.New, s.Secret, []byte(method+uri), body, []byte(t))))
	return h
}

// Verify implements Receiver. HubSpot signs the public URI it called, which
// the webhook handler puts in RequestURIHeader. Without the v3 header, the
// older schemes are checked (X-HubSpot-Signature with
// X-HubSpot-Signature-Version v1, the default, or v2): plain SHA-256
// hashes with the secret in front, and no timestamp, so only the delivery's
// dedupe key stands against a replay.
func (s HubSpot) Verify(h http.Header, body []byte, now time.Time) error {
	if h.Get("X-HubSpot-Signature-v3") == "" && h.Get("X-HubSpot-Signature") != "" {
		var msg []byte
		switch v := h.Get("X-HubSpot-Signature-Version"); v {
		case "", "v1":
			msg = append(append([]byte{}, s.Secret...), body...)
		case "v2":
			msg = append(append(append([]byte{}, s.Secret...), http.MethodPost+h.Get(RequestURIHeader)...), body...)
		default:
			return closeloop.Errorf(closeloop.ErrUnauthorized, "X-HubSpot-Signature-Version %q is not one Closeloop knows (v1, v2, or the v3 header)", v)
		}
		sum := sha256.Sum256(msg)
		if subtle.ConstantTimeCompare([]byte(strings.ToLower(h.Get("X-HubSpot-Signature"))), []byte(hex.EncodeToString(sum[:]))) != 1 {
			return closeloop.Errorf(closeloop.ErrUnauthorized, "X-HubSpot-Signature does not match")
		}
		return nil
	}
	ts := h.Get("X-HubSpot-Request-Timestamp")
	if err := checkMillis("X-HubSpot-Request-Timestamp", ts, now); err != nil {
		return err
	}
	uri := hubspotURIDecoder.Replace(h.Get(RequestURIHeader))
	return checkBase64("X-HubSpot-Signature-v3", h.Get("X-HubSpot-Signature-v3"), sha256.New, s.Secret, []byte(http.MethodPost+uri), body, []byte(ts))
}

// Parse implements Receiver.
func (s HubSpot) Parse(h http.Header, body []byte, now time.Time) ([]closeloop.TicketEvent, error) {
	if b := strings.TrimSpace(string(body)); strings.HasPrefix(b, "[") {
		return s.parseChanges(body, now)
	}
	var p HubSpotPayload
	if err := decodeStrict(body, &p); err != nil {
		return nil, err
	}
	id := string(p.TicketID)
	if id == "" {
		id = string(p.ObjectID)
	}
	ev := closeloop.TicketEvent{
		Source: "hubspot", TicketID: id, Subject: p.Subject,
		Customer:   closeloop.Person{ID: id, Email: p.Email, Name: p.Name, Locale: p.Locale}, // looked up by ticket
		Agent:      closeloop.Person{Name: p.Owner},
		Kind:       closeloop.Kind(strings.ToLower(p.Survey)),
		OccurredAt: orNow(parseTime(p.ClosedAt), now),
	}
	switch st := strings.ToLower(strings.TrimSpace(p.Status)); {
	case st == "closed" || s.closed(st):
		ev.Status = closeloop.StatusSolved
	case st == "open" || st == "reopened" || st == "1" || st == "2" || st == "3":
		ev.Status = closeloop.StatusReopened
	case st == "":
		return nil, invalid("status is missing")
	default:
		ev.Status = closeloop.StatusOther
	}
	ev.EventID = "hubspot:" + id + ":" + strings.ToLower(p.Status) + ":" + p.ClosedAt
	if p.ClosedAt == "" {
		// HubSpot signs each retry with a new timestamp; the body stays,
		// and comes again at the ticket's next reopen.
		ev.EventID += bodyKey(body)
		ev.Repeatable = true
	}
	return done(ev, now)
}

// hubspotURIDecoder decodes the escapes HubSpot decodes in the URI before it
// signs it (v3), and no other.
var hubspotURIDecoder = func() *strings.Replacer {
	var pairs []string
	for _, c := range ":/?@!$'()*,;" {
		esc := fmt.Sprintf("%%%02X", c)
		pairs = append(pairs, esc, string(c), strings.ToLower(esc), string(c))
	}
	return strings.NewReplacer(pairs...)
}()
