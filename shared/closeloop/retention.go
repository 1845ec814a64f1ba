package closeloop

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// CustomerEvent says a customer churned or renewed at a time (POST
// /api/customers/events, or a CSV of email,type,at).
type CustomerEvent struct {
	Email string    `json:"email"`
	Type  string    `json:"type"` // "churned" or "renewed"
	At    time.Time `json:"at"`
}

// Validate checks e and normalises its address; its error wraps ErrInvalid.
func (e *CustomerEvent) Validate(now time.Time) error {
	addr, err := NormalizeEmail(e.Email)
	if err != nil {
		return Errorf(ErrInvalid, "email: %v", err)
	}
	e.Email = addr
	e.Type = strings.ToLower(strings.TrimSpace(e.Type))
	if e.Type != "churned" && e.Type != "renewed" {
		return Errorf(ErrInvalid, "type %q: want churned or renewed", e.Type)
	}
	if e.At.IsZero() || e.At.After(now.Add(MaxClockAhead)) {
		return Errorf(ErrInvalid, "at: want the time of the event, not in the future")
	}
	return nil
}

// CohortRow is the retention of one monthly cohort (customers by the month
// of their first answered survey) in one band of that first answer.
type CohortRow struct {
	Cohort    string   `json:"cohort"` // YYYY-MM in the team's zone
	Band      Band     `json:"band"`   // of their first answer
	Customers int64    `json:"customers"`
	Churned   int64    `json:"churned"`   // whose latest event is a churn
	Renewed   int64    `json:"renewed"`   // whose latest event is a renewal
	Retention *float64 `json:"retention"` // 1 - churned/customers; null without customers
}

// CohortCounts are one cohort band's additive counts.
type CohortCounts struct{ Customers, Churned, Renewed int64 }

// Row returns the cohort band's row.
func (c CohortCounts) Row(cohort string, band Band) CohortRow {
	r := CohortRow{Cohort: cohort, Band: band, Customers: c.Customers, Churned: c.Churned, Renewed: c.Renewed}
	if c.Customers > 0 {
		v := round3(1 - float64(c.Churned)/float64(c.Customers))
		r.Retention = &v
	}
	return r
}

// StatusChange is what moving a customer's latest event from old ("" for
// none) to next adds to their cohort's counts.
func StatusChange(old, next string) CohortCounts {
	var c CohortCounts
	add := func(s string, d int64) {
		switch s {
		case "churned":
			c.Churned += d
		case "renewed":
			c.Renewed += d
		}
	}
	if old != next {
		add(old, -1)
		add(next, 1)
	}
	return c
}

// ParseEventsCSV reads a CSV of churn and renewal events: a header naming
// email, type and at (RFC 3339 or YYYY-MM-DD), then one event a line.
func ParseEventsCSV(r io.Reader, now time.Time) ([]CustomerEvent, []Skipped, error) {
	var out []CustomerEvent
	skipped, err := readCSV(r, []string{"email", "type", "at"}, "email, type, at", func(where string, get func(string) string) string {
		at, ok := parseDate(get("at"))
		if !ok {
			return fmt.Sprintf("at %q: want RFC 3339 or YYYY-MM-DD", get("at"))
		}
		ev := CustomerEvent{Email: get("email"), Type: get("type"), At: at}
		if err := ev.Validate(now); err != nil {
			return err.Error()
		}
		out = append(out, ev)
		return ""
	})
	return out, skipped, err
}

// IsEventsCSV reports whether a CSV header is the churn and renewal events'
// (email, type, at) rather than past answers'.
func IsEventsCSV(header string) bool {
	h := strings.ToLower(header)
	return strings.Contains(h, "type") && strings.Contains(h, "at") && !strings.Contains(h, "score")
}
