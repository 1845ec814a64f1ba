package closeloop

import "time"

// CheckInDue is when the check-in of a ticket solved at solved, whose solve
// arrived at arrived, is due: delay after the solve, or after its arrival
// when it arrived late (a retried delivery days later, old tickets), so a
// check-in never goes before its survey.
func CheckInDue(solved, arrived time.Time, delay time.Duration) time.Time {
	if solved.Before(arrived) {
		solved = arrived
	}
	return solved.Add(delay)
}

// CheckIn is the "is everything still working?" email a while after a
// solve. It belongs to its ticket's conversation: the ticket's own survey
// does not hold it back, but sending it counts as a contact in the fatigue
// window for later tickets.
type CheckIn struct {
	ID         string // "<source>#<ticket id>": one per ticket
	Source     string
	TicketID   string
	ContactID  string
	Locale     string
	TimeZone   string
	Subject    string
	State      CheckInState
	DueAt      time.Time
	SentAt     time.Time
	Answer     string // "yes" (still solved) or "no"; empty until answered
	Comment    string
	AnsweredAt time.Time
	Version    int64
}

// CheckInState is where a check-in is.
type CheckInState string

// The check-in states.
const (
	CheckInScheduled CheckInState = "scheduled"
	CheckInSent      CheckInState = "sent"
	CheckInSkipped   CheckInState = "skipped" // reopened, unsubscribed, bounced or erased
)

// DefaultCheckInDelay is how long after a solve the check-in goes out.
const DefaultCheckInDelay = 7 * 24 * time.Hour

// CheckInID names the check-in of a ticket.
func CheckInID(source, ticketID string) string { return source + "#" + ticketID }

// ParseCheckInAnswer reads "yes" or "no", with a reason otherwise.
func ParseCheckInAnswer(s string) (string, error) {
	if s == "yes" || s == "no" {
		return s, nil
	}
	return "", Errorf(ErrInvalid, "answer must be yes or no")
}
