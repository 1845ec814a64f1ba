package helpdesk

import (
	"net/http"
	"strings"
	"time"

	"github.com/closeloop/closeloop/shared/closeloop"
)

// Freshdesk receives the "Trigger webhook" action of a Freshdesk automation
// rule. Freshdesk cannot sign, so the rule sends the source's secret as the
// Basic-auth password (or in an X-Closeloop-Token header). The body is the
// "freshdesk_webhook" object of Freshdesk's Simple content, or the same keys
// from an Advanced JSON template (README).
type Freshdesk struct {
	Secret []byte
}

// FreshdeskPayload is the body: every value is a string, as Freshdesk
// renders placeholders.
type FreshdeskPayload struct {
	Webhook struct {
		TicketID       flexString `json:"ticket_id"`
		TicketStatus   string     `json:"ticket_status"`
		TicketSubject  string     `json:"ticket_subject"`
		RequesterEmail string     `json:"requester_email"`
		RequesterName  string     `json:"requester_name"`
		AgentName      string     `json:"ticket_agent_name"`
		AgentEmail     string     `json:"ticket_agent_email"`
		Tags           string     `json:"ticket_tags"`
		Locale         string     `json:"requester_language"`
		UpdatedAt      string     `json:"ticket_updated_at"`
		TriggeredEvent string     `json:"triggered_event"`
		Survey         string     `json:"survey"`
	} `json:"freshdesk_webhook"`
}

// Sign implements Signer.
func (f Freshdesk) Sign([]byte, time.Time) http.Header { return tokenHeaders(f.Secret) }

// Verify implements Receiver.
func (f Freshdesk) Verify(h http.Header, _ []byte, _ time.Time) error { return checkToken(h, f.Secret) }

// Parse implements Receiver. Resolved and Closed are solves; Open and
// Pending are reopens; custom statuses are ignored.
func (f Freshdesk) Parse(h http.Header, body []byte, now time.Time) ([]closeloop.TicketEvent, error) {
	var p FreshdeskPayload
	if err := decodeStrict(body, &p); err != nil {
		return nil, err
	}
	w := p.Webhook
	if w.TicketID == "" && w.TicketStatus == "" {
		return nil, invalid(`body has no "freshdesk_webhook" object with ticket_id and ticket_status`)
	}
	ev := closeloop.TicketEvent{
		Source: "freshdesk", TicketID: string(w.TicketID), Subject: w.TicketSubject,
		Customer:   closeloop.Person{Email: w.RequesterEmail, Name: w.RequesterName, Locale: w.Locale},
		Agent:      closeloop.Person{Email: w.AgentEmail, Name: w.AgentName},
		Tags:       strings.FieldsFunc(w.Tags, func(r rune) bool { return r == ',' || r == ' ' }),
		Kind:       closeloop.Kind(strings.ToLower(w.Survey)),
		OccurredAt: orNow(parseTime(w.UpdatedAt), now),
	}
	switch strings.ToLower(strings.TrimSpace(w.TicketStatus)) {
	case "resolved", "closed", "4", "5":
		ev.Status = closeloop.StatusSolved
	case "open", "pending", "2", "3":
		ev.Status = closeloop.StatusReopened
	case "":
		return nil, invalid("ticket_status is missing")
	default:
		ev.Status = closeloop.StatusOther
	}
	// Freshdesk retries the same body: the ticket, status and change time
	// (or the triggering event) name the delivery.
	ev.EventID = "fd:" + string(w.TicketID) + ":" + strings.ToLower(w.TicketStatus) + ":" + w.UpdatedAt + ":" + w.TriggeredEvent
	// Without the change time the same body comes again when the ticket
	// is solved a second time after a reopen.
	ev.Repeatable = w.UpdatedAt == ""
	return done(ev, now)
}
