package closeloop

import (
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
	Email  string `json:"email"`
	Name   string `json:"name"`
	Locale string `json:"locale,omitempty"`
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
}

// Validate checks what every source must supply. Its error wraps ErrInvalid
// and names the missing field.
func (e TicketEvent) Validate() error {
	switch {
	case e.TicketID == "":
		return Errorf(ErrInvalid, "ticket id is missing")
	case e.EventID == "":
		return Errorf(ErrInvalid, "event id is missing")
	case len(e.TicketID) > 128 || len(e.EventID) > 256:
		return Errorf(ErrInvalid, "ticket or event id is too long")
	case e.OccurredAt.IsZero():
		return Errorf(ErrInvalid, "event time is missing")
	}
	if e.Status == StatusSolved {
		if _, err := NormalizeEmail(e.Customer.Email); err != nil {
			return Errorf(ErrInvalid, "customer email: %v", err)
		}
	}
	if e.Kind != "" && !e.Kind.Valid() {
		return Errorf(ErrInvalid, "unknown survey kind %q", e.Kind)
	}
	return nil
}

// NormalizeEmail returns the lower-cased bare address of s, or an error if s
// is not one email address.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("empty")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s && a.Name == "" {
		return "", fmt.Errorf("not an email address")
	}
	return strings.ToLower(a.Address), nil
}
