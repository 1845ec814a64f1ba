package closeloop

import (
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
)

// Status is what a helpdesk says happened to a ticket, reduced to what
// Closeloop acts on.
type Status string

// The statuses a TicketEvent can carry.
const (
	StatusSolved   Status = "solved"   // solved, resolved or closed: survey the customer
	StatusReopened Status = "reopened" // back in progress: cancel a survey not yet sent
	StatusOther    Status = "other"    // anything else: ignored
)

// Person is a customer or an agent as the helpdesk names them.
type Person struct {
	// ID is the helpdesk's own id of the person, for a look-up through its
	// API when the delivery carries no email (Intercom 2.x, Zendesk event
	// subscriptions).
	ID     string `json:"id,omitempty"`
	Email  string `json:"email"`
	Name   string `json:"name"`
	Locale string `json:"locale,omitempty"`
	// TimeZone is the person's IANA zone, when the helpdesk knows it: surveys
	// go out inside the send window of their day.
	TimeZone string `json:"timezone,omitempty"`
}

// TicketEvent is one helpdesk delivery, parsed and verified, in the same shape
// for every source.
type TicketEvent struct {
	Source     string    // one of Sources
	EventID    string    // the delivery's identity, stable across retries
	TicketID   string    // the helpdesk's ticket id
	Status     Status    // what happened
	OccurredAt time.Time // when it happened, by the helpdesk's clock
	Customer   Person    // who to survey
	Agent      Person    // who solved it
	Subject    string    // ticket subject, shown to the customer
	Tags       []string  // helpdesk tags
	Kind       Kind      // survey kind asked for by the source; empty for the default
	// Repeatable says EventID names the delivery's content rather than one
	// change, for bodies that carry no change time (Freshdesk's templates,
	// HubSpot's reopen workflow): the same content comes again when the
	// ticket is solved, reopened and solved again. Such an event is a
	// duplicate only of the last event applied to its ticket (a retry); once
	// another change came between, it is a new one.
	Repeatable bool
}

// Field limits of a TicketEvent, in bytes. They keep every item far below
// DynamoDB's 400 KB and every email header sane; a delivery over them is
// refused with a reason (400), so the helpdesk stops retrying.
const (
	MaxTicketID = 128
	MaxEventID  = 256
	MaxSubject  = 1000
	MaxName     = 256
	MaxLocale   = 35 // BCP 47 tags are shorter
	MaxTags     = 50
	MaxTag      = 128
)

// MaxClockAhead is how far ahead of Closeloop's clock an event's time may
// be. A helpdesk clock running a little fast is taken as "now" (Apply clamps
// it); an event dated further ahead is refused, so it can neither schedule a
// survey for that date nor make later events of the ticket look stale.
const MaxClockAhead = time.Hour

// Validate checks what every source must supply, at now. Its error wraps
// ErrInvalid and names the field.
func (e TicketEvent) Validate(now time.Time) error {
	switch {
	case e.TicketID == "":
		return Errorf(ErrInvalid, "ticket id is missing")
	case e.EventID == "":
		return Errorf(ErrInvalid, "event id is missing")
	case len(e.TicketID) > MaxTicketID:
		return Errorf(ErrInvalid, "ticket id is longer than %d bytes", MaxTicketID)
	case len(e.EventID) > MaxEventID:
		return Errorf(ErrInvalid, "event id is longer than %d bytes", MaxEventID)
	case e.OccurredAt.IsZero():
		return Errorf(ErrInvalid, "event time is missing")
	case e.OccurredAt.After(now.Add(MaxClockAhead)):
		return Errorf(ErrInvalid, "event time %s is in the future (more than %s ahead)", e.OccurredAt.UTC().Format(time.RFC3339), MaxClockAhead)
	case len(e.Subject) > MaxSubject:
		return Errorf(ErrInvalid, "subject is longer than %d bytes", MaxSubject)
	case len(e.Customer.Name) > MaxName:
		return Errorf(ErrInvalid, "customer name is longer than %d bytes", MaxName)
	case len(e.Agent.Name) > MaxName:
		return Errorf(ErrInvalid, "agent name is longer than %d bytes", MaxName)
	case len(e.Agent.Email) > MaxEmail:
		return Errorf(ErrInvalid, "agent email is longer than %d bytes", MaxEmail)
	case len(e.Customer.TimeZone) > MaxName:
		return Errorf(ErrInvalid, "customer time zone is longer than %d bytes", MaxName)
	case len(e.Customer.Locale) > MaxLocale:
		return Errorf(ErrInvalid, "customer locale is longer than %d bytes", MaxLocale)
	case len(e.Tags) > MaxTags:
		return Errorf(ErrInvalid, "more than %d tags", MaxTags)
	}
	for _, t := range e.Tags {
		if len(t) > MaxTag {
			return Errorf(ErrInvalid, "a tag is longer than %d bytes", MaxTag)
		}
	}
	if len(e.Customer.ID) > MaxTicketID {
		return Errorf(ErrInvalid, "customer id is longer than %d bytes", MaxTicketID)
	}
	if e.Status == StatusSolved && (e.Customer.Email != "" || e.Customer.ID == "") {
		// Without an email, the helpdesk's id of the customer is looked up.
		if _, err := NormalizeEmail(e.Customer.Email); err != nil {
			return Errorf(ErrInvalid, "customer email: %v", err)
		}
	}
	if e.Kind != "" && !e.Kind.Valid() {
		return Errorf(ErrInvalid, "unknown survey kind %q", e.Kind)
	}
	return nil
}

// MaxEmail is the longest address accepted (RFC 5321's path limit less the
// angle brackets).
const MaxEmail = 254

// NormalizeEmail returns s as one plain mailbox, local@domain, lower-cased,
// or an error saying why it is not one. Only a dot-atom local part is taken
// (letters, digits and !#$%&'*+/=?^_`{|}~- between single dots; no quotes,
// spaces, commas or angle brackets) and a domain name of at least two
// labels of letters, digits and inner hyphens: anything an SES destination
// or a mail header could read as a second recipient, or as someone else, is
// refused rather than repaired.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("empty")
	}
	if len(s) > MaxEmail {
		return "", fmt.Errorf("longer than %d bytes", MaxEmail)
	}
	local, domain, ok := strings.Cut(s, "@")
	if !ok || strings.Contains(domain, "@") {
		return "", errors.New("not one local@domain address")
	}
	if len(local) == 0 || len(local) > 64 || !dotAtom(local, isAtext) {
		return "", errors.New("the part before @ is not a plain mailbox name")
	}
	if !strings.Contains(domain, ".") || len(domain) > 253 || !dotAtom(domain, isLabelChar) {
		return "", errors.New("the part after @ is not a domain name")
	}
	for _, label := range strings.Split(domain, ".") {
		if len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return "", errors.New("the part after @ is not a domain name")
		}
	}
	return strings.ToLower(s), nil
}

// SenderAddress returns the plain address of a sender such as
// "Acme Support <support@acme.example>" or "support@acme.example", or an
// error when it is not one display name and one plain mailbox.
func SenderAddress(from string) (string, error) {
	a, err := mail.ParseAddress(from)
	if err != nil {
		return "", fmt.Errorf("not an address: %v", err)
	}
	return NormalizeEmail(a.Address)
}

// dotAtom reports whether s is runs of ok bytes joined by single dots.
func dotAtom(s string, ok func(byte) bool) bool {
	for _, part := range strings.Split(s, ".") {
		if part == "" {
			return false
		}
		for i := 0; i < len(part); i++ {
			if !ok(part[i]) {
				return false
			}
		}
	}
	return true
}

func isLabelChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-'
}

// isAtext is RFC 5322's atext: what a local part may hold unquoted.
func isAtext(c byte) bool { return isLabelChar(c) || strings.IndexByte("!#$%&'*+/=?^_`{|}~", c) >= 0 }
