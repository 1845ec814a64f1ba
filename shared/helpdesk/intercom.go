package helpdesk

import (
	"crypto/sha1"
	"encoding/hex"
	"net/http"
	"strings"
	"time"

	"github.com/closeloop/closeloop/shared/closeloop"
)

// Intercom receives an Intercom app's webhook notifications, signed
//
//	X-Hub-Signature: sha1=<hex HMAC-SHA1(client secret, body)>
//
// Topics conversation.admin.closed and ticket.closed are solves;
// conversation.admin.opened is a reopen; ping and other topics are
// acknowledged and ignored. Intercom sends no timestamp header; the
// notification id names the delivery. The customer's email is in the item's
// user (API 1.x shape) or, for API 2.x, in contacts only when the app's
// payload includes it; without one the event names the contact by id, to
// look up through Intercom's contacts API.
type Intercom struct {
	Secret []byte
}

type intercomPerson struct {
	ID    flexString `json:"id"`
	Email string     `json:"email"`
	Name  string     `json:"name"`
	Role  string     `json:"role"` // API 2.x contacts: user or lead
}

// IntercomPayload is the notification envelope with the fields used.
type IntercomPayload struct {
	Type      string     `json:"type"`
	Topic     string     `json:"topic"`
	ID        string     `json:"id"`
	CreatedAt flexString `json:"created_at"`
	Data      struct {
		Item struct {
			ID       flexString `json:"id"`
			TicketID flexString `json:"ticket_id"`
			Title    string     `json:"title"`
			// Tickets (API 2.x) carry their title among their attributes.
			TicketAttributes struct {
				Title string `json:"_default_title_"`
			} `json:"ticket_attributes"`
			User     intercomPerson `json:"user"`
			Assignee intercomPerson `json:"assignee"`
			Contacts struct {
				Contacts []intercomPerson `json:"contacts"`
			} `json:"contacts"`
			Source struct {
				Subject string `json:"subject"`
			} `json:"source"`
			Tags struct {
				Tags []struct {
					Name string `json:"name"`
				} `json:"tags"`
			} `json:"tags"`
			UpdatedAt flexString `json:"updated_at"`
		} `json:"item"`
	} `json:"data"`
}

// Sign implements Signer.
func (i Intercom) Sign(body []byte, _ time.Time) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("X-Hub-Signature", "sha1="+hex.EncodeToString(mac(sha1.New, i.Secret, body)))
	return h
}

// Verify implements Receiver.
func (i Intercom) Verify(h http.Header, body []byte, _ time.Time) error {
	return checkHex("X-Hub-Signature", h.Get("X-Hub-Signature"), "sha1=", sha1.New, i.Secret, body)
}

// Parse implements Receiver.
func (i Intercom) Parse(h http.Header, body []byte, now time.Time) ([]closeloop.TicketEvent, error) {
	var p IntercomPayload
	if err := decodeStrict(body, &p); err != nil {
		return nil, err
	}
	var status closeloop.Status
	switch p.Topic {
	case "conversation.admin.closed", "ticket.closed":
		status = closeloop.StatusSolved
	case "conversation.admin.opened", "ticket.reopened":
		status = closeloop.StatusReopened
	case "":
		return nil, invalid("topic is missing")
	default:
		return nil, nil // ping, or a topic Closeloop does not act on
	}
	it := p.Data.Item
	customer := it.User
	if customer.Email == "" && len(it.Contacts.Contacts) > 0 {
		customer = it.Contacts.Contacts[0]
	}
	if customer.Email == "" {
		// API 2.x names contacts by id only: the customer is the first user
		// or lead, looked up through Intercom's API before the survey goes.
		for _, c := range it.Contacts.Contacts {
			if c.Role == "user" || c.Role == "lead" || c.Role == "" {
				customer = c
				break
			}
		}
	}
	if status == closeloop.StatusSolved && customer.Email == "" && customer.ID == "" {
		return nil, invalid("the notification names no customer: neither an email nor a contact id")
	}
	ev := closeloop.TicketEvent{
		Source: "intercom", EventID: p.ID, TicketID: string(it.ID), Status: status,
		OccurredAt: orNow(parseTime(string(p.CreatedAt)), now),
		Customer:   closeloop.Person{ID: string(customer.ID), Email: customer.Email, Name: customer.Name},
		Agent:      closeloop.Person{Email: it.Assignee.Email, Name: it.Assignee.Name},
		Subject:    firstOf(it.Title, it.TicketAttributes.Title, stripTags(it.Source.Subject)),
	}
	if it.TicketID != "" {
		ev.TicketID = string(it.TicketID)
	}
	for _, t := range it.Tags.Tags {
		ev.Tags = append(ev.Tags, t.Name)
	}
	return done(ev, now)
}

func firstOf(xs ...string) string {
	for _, x := range xs {
		if x != "" {
			return x
		}
	}
	return ""
}

// stripTags removes HTML tags from a short string such as a subject.
func stripTags(s string) string {
	var b strings.Builder
	in := false
	for _, r := range s {
		switch {
		case r == '<':
			in = true
		case r == '>':
			in = false
		case !in:
			b.WriteRune(r)
		}
	}
	return strings.TrimSpace(b.String())
}
