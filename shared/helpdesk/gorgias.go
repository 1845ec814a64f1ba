package helpdesk

import (
	"net/http"
	"strings"
	"time"

	"github.com/closeloop/closeloop/shared/closeloop"
)

// Gorgias receives a Gorgias HTTP integration on the ticket-updated trigger.
// Gorgias cannot sign, so the integration sends the source's secret in an
// X-Closeloop-Token header (or as the Basic-auth password). The body is
// {"ticket": {{ticket}}}-shaped: the ticket object (README).
type Gorgias struct {
	Secret []byte
}

// GorgiasPayload is the body.
type GorgiasPayload struct {
	Ticket struct {
		ID       flexString `json:"id"`
		Status   string     `json:"status"`
		Subject  string     `json:"subject"`
		Language string     `json:"language"`
		Customer struct {
			Email string `json:"email"`
			Name  string `json:"name"`
		} `json:"customer"`
		Assignee struct {
			Email string `json:"email"`
			Name  string `json:"name"`
		} `json:"assignee_user"`
		Tags []struct {
			Name string `json:"name"`
		} `json:"tags"`
		ClosedAt  string `json:"closed_datetime"`
		UpdatedAt string `json:"updated_datetime"`
	} `json:"ticket"`
}

// Sign implements Signer.
func (g Gorgias) Sign([]byte, time.Time) http.Header { return tokenHeaders(g.Secret) }

// Verify implements Receiver.
func (g Gorgias) Verify(h http.Header, _ []byte, _ time.Time) error { return checkToken(h, g.Secret) }

// Parse implements Receiver. Gorgias has no "closed" trigger: every update
// of a closed ticket fires again, so the event id is the ticket and its
// closing time, and later updates of the same closed ticket are duplicates.
func (g Gorgias) Parse(h http.Header, body []byte, now time.Time) ([]closeloop.TicketEvent, error) {
	var p GorgiasPayload
	if err := decodeStrict(body, &p); err != nil {
		return nil, err
	}
	t := p.Ticket
	ev := closeloop.TicketEvent{
		Source: "gorgias", TicketID: string(t.ID), Subject: t.Subject,
		Customer: closeloop.Person{Email: t.Customer.Email, Name: t.Customer.Name, Locale: t.Language},
		Agent:    closeloop.Person{Email: t.Assignee.Email, Name: t.Assignee.Name},
	}
	for _, tag := range t.Tags {
		ev.Tags = append(ev.Tags, tag.Name)
	}
	switch strings.ToLower(t.Status) {
	case "closed":
		ev.Status = closeloop.StatusSolved
		ev.OccurredAt = orNow(parseTime(t.ClosedAt), now)
		ev.EventID = "gorgias:" + string(t.ID) + ":closed:" + t.ClosedAt
	case "open":
		ev.Status = closeloop.StatusReopened
		ev.OccurredAt = orNow(parseTime(t.UpdatedAt), now)
		ev.EventID = "gorgias:" + string(t.ID) + ":open:" + t.UpdatedAt
	case "":
		return nil, invalid("ticket.status is missing")
	default:
		ev.Status = closeloop.StatusOther
		ev.OccurredAt = orNow(parseTime(t.UpdatedAt), now)
		ev.EventID = "gorgias:" + string(t.ID) + ":" + t.Status + ":" + t.UpdatedAt
	}
	return done(ev, now)
}
