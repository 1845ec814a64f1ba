package closeloop

import (
	"slices"
	"strings"
	"time"
)

// SurveyState is where a ticket's survey is in its life.
type SurveyState string

// Survey states. A ticket has at most one survey; its state only moves
// forward, except that a reopen cancels a scheduled survey and a later solve
// schedules it again.
const (
	SurveyNone       SurveyState = ""           // never scheduled
	SurveyScheduled  SurveyState = "scheduled"  // waiting for DueAt
	SurveyCancelled  SurveyState = "cancelled"  // the ticket reopened before it went out
	SurveySending    SurveyState = "sending"    // claimed by a sweep; the email may or may not be out
	SurveySent       SurveyState = "sent"       // SES accepted the email
	SurveyThrottled  SurveyState = "throttled"  // the contact was surveyed within the fatigue window
	SurveySuppressed SurveyState = "suppressed" // the contact unsubscribed, bounced or complained
	SurveyFailed     SurveyState = "failed"     // SES refused it, or a sweep died mid-send (never resent)
)

// Reminder is where a sent survey's one reminder is.
type Reminder string

// The reminder states. A reminder is decided once: sent, or skipped
// because the survey was answered, the person unsubscribed, bounced or was
// erased, or the link is about to expire.
const (
	ReminderNone      Reminder = ""
	ReminderScheduled Reminder = "scheduled"
	ReminderSent      Reminder = "sent"
	ReminderSkipped   Reminder = "skipped"
)

// Ticket is what Closeloop remembers of one helpdesk ticket and its survey.
// It holds no email address: the contact is named by ContactID.
type Ticket struct {
	Source     string      // helpdesk
	TicketID   string      // the helpdesk's id
	Status     Status      // last status applied
	StatusAt   time.Time   // OccurredAt of the last event applied
	Events     []string    // the most recent event ids seen, newest last
	ContactID  string      // see ContactID
	Subject    string      // ticket subject
	AgentName  string      // who solved it
	AgentEmail string      // their address, when the helpdesk gave it (a case's owner when they are an operator)
	Kind       Kind        // survey kind
	Locale     string      // the customer's language, if the helpdesk said
	TimeZone   string      // the customer's IANA zone, if the helpdesk said
	State      SurveyState // the survey's state
	DueAt      time.Time   // when a scheduled survey goes out
	SurveyID   string      // set when the survey is claimed for sending
	Attempts   int         // send attempts that SES refused with a retryable error
	Reminder   Reminder    // the survey's one reminder; DueAt is its time while scheduled
	Version    int64       // optimistic lock: each stored write adds one
	ReceivedAt time.Time   // when the first event arrived
	SolvedAt   time.Time   // the first solve: the day the ticket counts as solved (reopen and repeat-contact rates)
	LookupID   string      // the helpdesk's id of a customer the delivery named without an email: looked up before the survey goes
	// ThrottledAt is when the helpdesk's API first answered this survey's
	// look-up with 429 (zero otherwise): the survey waits a day at most.
	ThrottledAt time.Time
	Reason      string // why the survey was not sent (failed, suppressed, throttled), for operators
	Reopened    bool   // reopened since its first solve (counted once)
}

// The windows of the repeat-contact rates: another ticket of the same
// customer solved within this long after a ticket's first solve.
const (
	RepeatWindow7  = 7 * 24 * time.Hour
	RepeatWindow30 = 30 * 24 * time.Hour
)

// Solve is a ticket's first solve as its customer's contact remembers it,
// for the repeat-contact rates.
type Solve struct {
	Ticket string // source#id
	Agent  string
	Tags   []string
	At     time.Time
}

// RepeatCounts returns what a customer's new solve next adds to the day of
// their previous solve prev: a repeat contact within 7 and 30 days, and
// the same when the two tickets share a helpdesk tag.
func RepeatCounts(prev, next Solve) Counters {
	var c Counters
	gap := next.At.Sub(prev.At)
	if prev.Ticket == "" || prev.Ticket == next.Ticket || gap < 0 || gap > RepeatWindow30 {
		return c
	}
	shared := false
	for _, t := range next.Tags {
		for _, p := range prev.Tags {
			shared = shared || strings.EqualFold(t, p)
		}
	}
	c.Repeat30 = 1
	if shared {
		c.RepeatTag30 = 1
	}
	if gap <= RepeatWindow7 {
		c.Repeat7, c.RepeatTag7 = 1, c.RepeatTag30
	}
	return c
}

// SolveCounts returns what the move from prev (nil for a new ticket) to
// next adds to the counters, and the day it belongs to: a ticket's first
// solve counts as solved on its day, its first reopen after that counts as
// reopened on the day of that solve.
func SolveCounts(prev, next *Ticket) (Counters, time.Time) {
	var c Counters
	if next == nil || next.SolvedAt.IsZero() {
		return c, time.Time{}
	}
	if prev == nil || prev.SolvedAt.IsZero() {
		c.Solved = 1
	}
	if next.Reopened && (prev == nil || !prev.Reopened) {
		c.Reopened = 1
	}
	return c, next.SolvedAt
}

// ForgetPerson strips t of what names its person (contact, subject, agent,
// the helpdesk's id for them, a reason that may quote them), as erasure
// does to the tickets it finds.
func (t *Ticket) ForgetPerson() {
	t.ContactID, t.Subject, t.AgentName, t.AgentEmail, t.LookupID, t.Reason = "", "", "", "", "", ""
}

// TicketRef names a ticket.
type TicketRef struct {
	Source, TicketID string
	CheckIn          bool // the ticket's check-in is due, not its survey
}

// Action is what a webhook delivery did, as reported to the helpdesk.
type Action string

// The actions a webhook answers with.
const (
	ActionScheduled Action = "scheduled" // a survey is now scheduled
	ActionCancelled Action = "cancelled" // a scheduled survey was cancelled
	ActionDuplicate Action = "duplicate" // this delivery, or this solve, was already handled
	ActionIgnored   Action = "ignored"   // nothing to do (other status, stale event, already sent)
)

// keepEvents bounds Ticket.Events: enough to recognise a helpdesk's retries
// of recent deliveries, small enough to keep the item small.
const keepEvents = 8

// Policy holds the knobs of scheduling.
type Policy struct {
	Delay time.Duration // from solve to survey
	Kind  Kind          // default survey kind
}

// Apply decides what event ev does to ticket t (nil if Closeloop has never
// seen the ticket) at time now. It returns the action and the ticket to
// store; when the action is ActionDuplicate nothing needs storing and next is
// nil. Apply is pure: the caller stores next with a condition on t.Version,
// so concurrent deliveries for one ticket are decided one at a time.
//
// Rules: a delivery whose event id was seen is a duplicate (a Repeatable
// one only when it repeats the ticket's last event). An event older
// than the last one applied is stale (helpdesks deliver out of order) and
// ignored. A solve schedules the ticket's one survey unless it is already
// scheduled or out; a reopen cancels it if it has not gone out.
func Apply(t *Ticket, ev TicketEvent, contactID string, p Policy, now time.Time) (Action, *Ticket) {
	if t != nil && (slices.Contains(t.Events, ev.EventID) && !ev.Repeatable || ev.Repeatable && len(t.Events) > 0 && t.Events[len(t.Events)-1] == ev.EventID) {
		return ActionDuplicate, nil
	}
	if ev.Status == StatusOther {
		// A status Closeloop does not act on (Zendesk's Closed days after
		// the solve, a custom status) changes nothing: the ticket stays
		// solved for its check-in, and nothing is written.
		return ActionIgnored, nil
	}
	var next Ticket
	if t == nil {
		next = Ticket{Source: ev.Source, TicketID: ev.TicketID, ReceivedAt: now}
	} else {
		next = *t
		next.Events = slices.Clone(t.Events)
	}
	// A helpdesk clock a little ahead of ours (Validate refuses more than
	// MaxClockAhead) counts as now, so it neither delays the survey nor makes
	// the ticket's next events look stale.
	at := ev.OccurredAt
	if at.After(now) {
		at = now
	}
	next.Events = append(next.Events, ev.EventID)
	if len(next.Events) > keepEvents {
		next.Events = next.Events[len(next.Events)-keepEvents:]
	}
	if t != nil && at.Before(t.StatusAt) {
		// Stale: a later event was applied already. A solve of a ticket whose
		// survey exists is still a repeat of what was done.
		if ev.Status == StatusSolved && next.State != SurveyNone && next.State != SurveyCancelled {
			return ActionDuplicate, &next
		}
		if ev.Status == StatusSolved && next.SolvedAt.IsZero() && next.Status == StatusReopened {
			// The solve a reopen delivered first followed: no survey (the
			// ticket is open), but it was solved, and reopened, then.
			next.SolvedAt, next.Reopened = at, true
		}
		return ActionIgnored, &next
	}
	next.Status, next.StatusAt = ev.Status, at
	switch ev.Status {
	case StatusSolved:
		if next.State != SurveyNone && next.State != SurveyCancelled {
			return ActionDuplicate, &next
		}
		if next.SolvedAt.IsZero() {
			next.SolvedAt = at
		}
		next.State = SurveyScheduled
		next.Attempts, next.ThrottledAt = 0, time.Time{} // a new survey starts its tries afresh
		next.DueAt = at.Add(p.Delay)
		if next.DueAt.Before(now) {
			next.DueAt = now
		}
		next.ContactID = contactID
		next.Subject = ev.Subject
		next.AgentName = ev.Agent.Name
		next.AgentEmail, _ = NormalizeEmail(ev.Agent.Email)
		next.Locale = ev.Customer.Locale
		next.TimeZone = ev.Customer.TimeZone
		next.Kind = ev.Kind
		if next.Kind == "" {
			next.Kind = p.Kind
		}
		return ActionScheduled, &next
	case StatusReopened:
		if !next.SolvedAt.IsZero() {
			next.Reopened = true
		}
		if next.State == SurveyScheduled {
			next.State = SurveyCancelled
			next.DueAt = time.Time{}
			return ActionCancelled, &next
		}
	}
	return ActionIgnored, &next
}

// LookupFailure is a survey that was not sent because its customer could
// not be looked up in the helpdesk; operators see the list in the console
// and through the API, to follow up by hand or fix the credential.
type LookupFailure struct {
	At       time.Time `json:"at"`
	Source   string    `json:"source"`
	TicketID string    `json:"ticket_id"`
	Reason   string    `json:"reason"`
}
