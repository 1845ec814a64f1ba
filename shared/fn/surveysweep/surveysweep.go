// Package sweep sends due surveys. It runs on a schedule (every minute in
// AWS, every tick locally) and may run twice at once: each survey is claimed
// with a conditional write before its email goes out, so it is sent at most
// once.
//
// Delivery is at most once, by choice: a sweep that dies after claiming and
// before recording the outcome leaves the ticket "sending" with a lease; the
// next sweep after the lease marks it failed rather than risk a second email.
// SES errors that say nothing was sent (throttling) put the survey back on
// the schedule with a back-off.
package surveysweep

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/helpdesk"
	"github.com/closeloop/closeloop/shared/mail"
	"github.com/closeloop/closeloop/shared/platform/logging"
	"github.com/closeloop/closeloop/shared/platform/workers"
)

// Store is what the sweep needs of the store.
type Store interface {
	DueTickets(ctx context.Context, now time.Time, limit int) ([]closeloop.TicketRef, error)
	GetTicket(ctx context.Context, source, id string) (*closeloop.Ticket, error)
	GetCase(ctx context.Context, id string) (closeloop.Case, error)
	SaveTicket(ctx context.Context, t *closeloop.Ticket, prev int64) error
	ClaimTicket(ctx context.Context, t *closeloop.Ticket, prev int64) error
	EraseTicket(ctx context.Context, source, ticketID string) error
	GetContact(ctx context.Context, id string) (closeloop.Contact, error)
	TakeSurveySlot(ctx context.Context, c closeloop.Contact, slot string, now time.Time) error
	CreateSurvey(ctx context.Context, s closeloop.Survey) error
	EraseSurvey(ctx context.Context, id string) error
	GetSurvey(ctx context.Context, id string) (closeloop.Survey, error)
	CreateUnsubscribeLink(ctx context.Context, id, contactID string, now time.Time) error // contacts not yet under their keyed id
	PublishLinkKey(ctx context.Context, pub ed25519.PublicKey) error
	CreateSurveyLink(ctx context.Context, id, surveyID, contactID string, expires time.Time) error
	GetCheckIn(ctx context.Context, id string) (closeloop.CheckIn, error)
	SaveCheckIn(ctx context.Context, ci closeloop.CheckIn) error
	CreateCheckInLink(ctx context.Context, id, checkInID, contactID string, now time.Time) error
	CountContact(ctx context.Context, id, slot string, now time.Time) error
	DeleteSurvey(ctx context.Context, id string) error
	AddCounters(ctx context.Context, t time.Time, c closeloop.Counters, dims ...closeloop.Dims) error
	ContactID(normalizedEmail string) (string, error)
	UpsertContact(ctx context.Context, c closeloop.Contact) error
	AddAudit(ctx context.Context, e closeloop.AuditEntry) error
	ScheduleCheckIn(ctx context.Context, ci closeloop.CheckIn) error
	AddLookupFailure(ctx context.Context, f closeloop.LookupFailure) error
}

// Mailer sends one email and returns its message id.
type Mailer interface {
	Send(ctx context.Context, m mail.Message) (string, error)
}

// New returns the sweep over store, sending with mailer, with cfg's links
// and fatigue window. The Lambda, the local dev server and
// `closeloop invoke` all build it here.
func New(cfg closeloop.Config, store Store, mailer Mailer) *Handler {
	return &Handler{Store: store, Mailer: mailer, BaseURL: cfg.BaseURL, Links: &closeloop.LinkSigner{Key: cfg.ContactKey, Publish: store.PublishLinkKey}, FatigueWindow: cfg.FatigueWindow, Window: cfg.SendWindow, Zone: cmp.Or(cfg.TimeZone, time.UTC), ReminderDelay: cfg.ReminderDelay, Brand: cfg.Brand,
		Lookups: helpdesk.Lookups(cfg, nil), CheckInDelay: cfg.CheckInDelay, PerSource: cfg.PerSource}
}

// Handler sends the surveys that are due.
type Handler struct {
	Store         Store
	Mailer        Mailer
	BaseURL       string
	Links         *closeloop.LinkSigner // unsubscribe links
	FatigueWindow time.Duration
	Window        closeloop.SendWindow       // when surveys may go out
	Zone          *time.Location             // the team's zone: the window's zone for customers of no known zone
	ReminderDelay time.Duration              // one reminder this long after an unanswered survey; 0 for none
	Brand         closeloop.Brand            // the team's name, colour and logo in every email
	Lease         time.Duration              // how long a claim may stay unresolved; 0 for DefaultLease
	Batch         int                        // surveys per run; 0 for DefaultBatch
	Workers       int                        // surveys handled at once; 0 for DefaultWorkers
	Lookups       map[string]helpdesk.Lookup // per source: finds a customer a delivery named by id only
	CheckInDelay  time.Duration              // the check-in this long after a looked-up customer's solve; 0 for none
	PerSource     map[string]closeloop.SourceSettings
	Now           func() time.Time // nil for time.Now

	throttled throttles // per source, until when its API asked for no call (kept while the instance lives)
}

// throttles holds, per source, the time before which its helpdesk's API
// asked for no call (a 429), so one refused look-up spares the API the
// run's other look-ups of that source.
type throttles struct {
	mu    sync.Mutex
	until map[string]time.Time
}

// throttle keeps source's API uncalled for the wait its 429 th asked for
// (a minute at least).
func (h *Handler) throttle(source string, th *helpdesk.Throttled) {
	h.throttled.set(source, h.now().Add(max(th.After, time.Minute)))
}

func (t *throttles) set(source string, until time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.until == nil {
		t.until = map[string]time.Time{}
	}
	if until.After(t.until[source]) {
		t.until[source] = until
	}
}

func (t *throttles) get(source string) time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.until[source]
}

// Defaults for a Handler's zero fields.
const (
	DefaultLease = 15 * time.Minute
	DefaultBatch = 500 // about 36 s of sending at SES's default 14/s
	// DefaultWorkers is how many surveys a run handles at once: enough to
	// send a few hundred a second at SES's usual round trip, few enough
	// for the function's memory and the table's burst.
	DefaultWorkers = 16
	maxAttempts    = 5
	// maxThrottled is how long a survey whose customer's look-up the
	// helpdesk throttles (429) keeps waiting from the first 429: the waits
	// use up none of its maxAttempts.
	maxThrottled = 24 * time.Hour
	// deadlineMargin is the time left before the invocation's deadline at
	// which a run stops claiming, so it never dies mid-send.
	deadlineMargin = 5 * time.Second
	// lookupMargin is the time a run keeps for a survey whose customer is
	// still to be looked up: the longest look-up (Help Scout renewing its
	// token: four requests of helpdesk.LookupTimeout) and the send after it.
	lookupMargin = 4*helpdesk.LookupTimeout + deadlineMargin
)

// deferred is what one reports for a survey put off to the send window; it
// is never stored.
const (
	deferred        closeloop.SurveyState = "deferred"
	reminded        closeloop.SurveyState = "reminded"
	reminderSkipped closeloop.SurveyState = "reminder skipped"
	checkedIn       closeloop.SurveyState = "checked in"
	checkInSkipped  closeloop.SurveyState = "check-in skipped"
)

// Result counts what one run did.
type Result struct {
	Sent, Throttled, Suppressed, Failed, Retried, Skipped int
	Deferred                                              int // outside the customer's send window: due again at its next start
	Reminded, ReminderSkipped                             int // reminders sent, and skipped (answered, unsubscribed, expired)
	CheckIns, CheckInsSkipped                             int // check-ins sent, and skipped (reopened, unsubscribed, erased)
}

// Run sends every survey due now, up to the batch size. It returns what it
// did; an error means the due list could not be read. Errors with single
// surveys are logged and counted, and do not stop the run.
func (h *Handler) Run(ctx context.Context) (Result, error) {
	var res Result
	now := h.now()
	batch := h.Batch
	if batch == 0 {
		batch = DefaultBatch
	}
	refs, err := h.Store.DueTickets(ctx, now, batch)
	if err != nil {
		return res, err
	}
	// Several at a time, so that the run keeps up with the account's
	// sending rate (the shared limiter holds every sender to it) rather
	// than with one SES round trip after another. Two tickets of one
	// person race safely: the survey slot is a conditional write.
	var mu sync.Mutex
	workers.Each(refs, h.workers(), func(_ int, ref closeloop.TicketRef) {
		if d, ok := ctx.Deadline(); ok && time.Until(d) < deadlineMargin {
			return // it stays scheduled for the next run
		}
		outcome, err := h.one(ctx, ref, now)
		if err != nil {
			slog.ErrorContext(ctx, "sweep", "source", ref.Source, "ticket", ref.TicketID, "err", err)
		}
		mu.Lock()
		res.count(outcome)
		mu.Unlock()
	})
	// Failures the run survives raise nothing by themselves: they are
	// metrics, which alarms watch.
	logging.Metrics(ctx, "survey-sweep", map[string]int{closeloop.MetricSurveysSent: res.Sent, closeloop.MetricSurveysFailed: res.Failed, closeloop.MetricSurveysRetried: res.Retried})
	return res, nil
}

func (h *Handler) workers() int {
	if h.Workers > 0 {
		return h.Workers
	}
	return DefaultWorkers
}

func (res *Result) count(outcome closeloop.SurveyState) {
	switch outcome {
	case closeloop.SurveySent:
		res.Sent++
	case closeloop.SurveyThrottled:
		res.Throttled++
	case closeloop.SurveySuppressed:
		res.Suppressed++
	case closeloop.SurveyFailed:
		res.Failed++
	case closeloop.SurveyScheduled:
		res.Retried++
	case deferred:
		res.Deferred++
	case reminded:
		res.Reminded++
	case reminderSkipped:
		res.ReminderSkipped++
	case checkedIn:
		res.CheckIns++
	case checkInSkipped:
		res.CheckInsSkipped++
	default:
		res.Skipped++
	}
}

// one handles one due ticket and returns the state it left the survey in
// ("" when it left it to someone else).
func (h *Handler) one(ctx context.Context, ref closeloop.TicketRef, now time.Time) (closeloop.SurveyState, error) {
	if ref.CheckIn {
		return h.checkIn(ctx, closeloop.CheckInID(ref.Source, ref.TicketID), now)
	}
	t, err := h.Store.GetTicket(ctx, ref.Source, ref.TicketID)
	if err != nil {
		return "", err
	}
	if t.DueAt.After(now) {
		return "", nil // the index lagged behind a reschedule
	}
	if t.State == closeloop.SurveyScheduled || t.State == closeloop.SurveySent && t.Reminder == closeloop.ReminderScheduled {
		loc := closeloop.Location(t.TimeZone, cmp.Or(h.Zone, time.UTC))
		if next := h.Window.Next(now, loc); next.After(now) {
			// Quiet hours: not now, but at the window's next start in the
			// customer's zone. Nothing is claimed, so nothing can be lost.
			later := *t
			later.DueAt = next
			if err := h.Store.SaveTicket(ctx, &later, t.Version); err != nil && !errors.Is(err, closeloop.ErrConflict) {
				return "", err
			}
			return deferred, nil
		}
	}
	switch t.State {
	case closeloop.SurveySent:
		if t.Reminder == closeloop.ReminderScheduled {
			return h.remind(ctx, t, now)
		}
		return "", nil
	case closeloop.SurveySending:
		// A sweep claimed it and never said how it went: never resend.
		return h.finish(ctx, t, t.Version, closeloop.SurveyFailed, "lease expired; outcome unknown, not resent")
	case closeloop.SurveyScheduled:
	default:
		return "", nil
	}

	if d, ok := ctx.Deadline(); ok && t.LookupID != "" && h.Lookups[t.Source] != nil && time.Until(d) < lookupMargin {
		return "", nil // a look-up may take a while: leave it to the next run rather than die holding the claim
	}
	if until := h.throttled.get(t.Source); t.ContactID == "" && t.LookupID != "" && until.After(now) {
		// The helpdesk's API asked for no call before then: the survey
		// waits for its customer's look-up, unclaimed, for a day at most.
		if !t.ThrottledAt.IsZero() && now.Sub(t.ThrottledAt) > maxThrottled {
			why := fmt.Sprintf("look up %s customer %s: the API answered 429 Too Many Requests for over %s", t.Source, t.LookupID, maxThrottled)
			h.auditLookup(ctx, t, why)
			return h.finish(ctx, t, t.Version, closeloop.SurveyFailed, why)
		}
		later := *t
		later.DueAt, later.ThrottledAt = until, cmp.Or(t.ThrottledAt, now)
		if err := h.Store.SaveTicket(ctx, &later, t.Version); err != nil && !errors.Is(err, closeloop.ErrConflict) {
			return "", err
		}
		return deferred, nil
	}
	// Claim: from here on no other sweep touches this ticket.
	token, surveyID := closeloop.NewToken()
	claimed := *t
	claimed.State, claimed.DueAt, claimed.SurveyID = closeloop.SurveySending, now.Add(h.lease()), surveyID
	if err := h.Store.ClaimTicket(ctx, &claimed, t.Version); err != nil {
		if errors.Is(err, closeloop.ErrConflict) {
			return "", nil // another sweep won, or the ticket reopened
		}
		return "", err
	}
	slog.InfoContext(ctx, "survey claimed", "source", t.Source, "ticket", t.TicketID, "survey", surveyID)

	if claimed.ContactID != "" && claimed.LookupID != "" {
		h.enrich(ctx, &claimed)
	}
	if claimed.ContactID == "" && claimed.LookupID != "" {
		state, why, err := h.lookUp(ctx, &claimed)
		if err != nil {
			// The helpdesk's API is busy or slow: try again after a back-off.
			state, rerr := h.retry(ctx, &claimed, err)
			if state == closeloop.SurveyFailed {
				h.auditLookup(ctx, &claimed, err.Error())
			}
			return state, rerr
		}
		if state != "" {
			if state != closeloop.SurveySuppressed { // an erased person was found: nothing failed
				h.auditLookup(ctx, &claimed, why)
			}
			return h.finish(ctx, &claimed, claimed.Version, state, why)
		}
	}
	if claimed.TimeZone != t.TimeZone {
		// The look-up told the customer's zone: keep their quiet hours.
		if next := h.Window.Next(now, closeloop.Location(claimed.TimeZone, cmp.Or(h.Zone, time.UTC))); next.After(now) {
			later := claimed
			later.State, later.SurveyID, later.DueAt = closeloop.SurveyScheduled, "", next
			if err := h.Store.SaveTicket(ctx, &later, claimed.Version); err != nil {
				return h.retry(ctx, &claimed, err)
			}
			return deferred, nil
		}
	}
	read := time.Now()
	contact, state, why, err := h.eligible(ctx, &claimed, now)
	if err != nil {
		// Unknown whether the slot was taken: put it back on the schedule.
		return h.retry(ctx, &claimed, err)
	}
	if state != "" {
		return h.finish(ctx, &claimed, claimed.Version, state, why)
	}

	sv := closeloop.Survey{
		ID: surveyID, Source: t.Source, TicketID: t.TicketID, ContactID: claimed.ContactID, Kind: t.Kind, // a look-up found the contact after t was read
		Locale: cmp.Or(claimed.Locale, contact.Locale), Subject: t.Subject, AgentName: t.AgentName, AgentEmail: t.AgentEmail,
		SentAt: now, ExpiresAt: now.Add(closeloop.SurveyTTL),
	}
	if err := h.Store.CreateSurvey(ctx, sv); err != nil {
		return h.retry(ctx, &claimed, err)
	}
	// The unsubscribe link has a token of its own, signed, not stored: mail
	// providers fetch it, and it must not open the survey.
	unsubToken, err := h.Links.Link(ctx, claimed.ContactID, contact.Email, now, func(linkID string) error {
		return h.Store.CreateUnsubscribeLink(ctx, linkID, claimed.ContactID, now)
	})
	if err != nil {
		if derr := h.Store.DeleteSurvey(ctx, surveyID); derr != nil {
			slog.WarnContext(ctx, "delete unsent survey", "survey", surveyID, "err", derr)
		}
		return h.retry(ctx, &claimed, err)
	}
	msg, err := mail.SurveyEmail(contact.Email, mail.Survey{
		Name: contact.Name, TicketSubject: t.Subject, AgentName: t.AgentName, Kind: t.Kind,
		Locale: sv.Locale, BaseURL: h.BaseURL, Token: token, UnsubscribeToken: unsubToken, Brand: h.Brand,
	})
	if err != nil {
		return h.finish(ctx, &claimed, claimed.Version, closeloop.SurveyFailed, err.Error())
	}
	msg.Tags = map[string]string{"closeloop_kind": "survey", "survey_id": surveyID}
	msg.Recheck = mail.StillMailable(read, claimed.ContactID, h.Store.GetContact)
	messageID, err := h.Mailer.Send(ctx, msg)
	if errors.Is(err, mail.ErrUnsubscribed) {
		if derr := h.Store.DeleteSurvey(ctx, surveyID); derr != nil {
			slog.WarnContext(ctx, "delete unsent survey", "survey", surveyID, "err", derr)
		}
		return h.finish(ctx, &claimed, claimed.Version, closeloop.SurveySuppressed, "unsubscribed while the email waited for the sending rate")
	}
	if errors.Is(err, mail.ErrTemporary) {
		// SES did not take it: forget this survey and try again later with a
		// new link.
		if derr := h.Store.DeleteSurvey(ctx, surveyID); derr != nil {
			slog.WarnContext(ctx, "delete unsent survey", "survey", surveyID, "err", derr)
		}
		return h.retry(ctx, &claimed, err)
	}
	if err != nil {
		return h.finish(ctx, &claimed, claimed.Version, closeloop.SurveyFailed, err.Error())
	}
	slog.InfoContext(ctx, "survey sent", "source", t.Source, "ticket", t.TicketID, "survey", surveyID, "message", messageID, "kind", t.Kind)
	dims := closeloop.Dims{Source: t.Source, Agent: cmp.Or(t.AgentEmail, t.AgentName), Kind: t.Kind}
	if err := h.Store.AddCounters(ctx, now, closeloop.Counters{SurveysSent: 1}, dims); err != nil {
		slog.ErrorContext(ctx, "count survey", "survey", surveyID, "err", err)
	}
	state, err = h.finish(ctx, &claimed, claimed.Version, closeloop.SurveySent, "")
	if err == nil && t.ContactID == "" && claimed.ContactID != "" {
		// A customer this run looked up: until this record, the ticket held
		// no contact id, so an erasure meanwhile could not find it. Do
		// what it would have.
		if _, why, merr := h.mailable(ctx, claimed.ContactID); merr == nil && why == closeloop.SuppressedErased {
			slog.InfoContext(ctx, "survey sent while its looked-up person was erased", "source", t.Source, "ticket", t.TicketID, "survey", surveyID)
			if err := h.Store.EraseTicket(ctx, t.Source, t.TicketID); err != nil {
				return state, err
			}
		}
	}
	return state, err
}

// eligible decides whether the contact may get the claimed survey now and
// takes their fatigue slot if so. A non-empty state says why not.
func (h *Handler) eligible(ctx context.Context, t *closeloop.Ticket, now time.Time) (closeloop.Contact, closeloop.SurveyState, string, error) {
	slot := t.Source + "#" + t.TicketID // a retried send of this ticket keeps its slot
	for attempt := 0; attempt < 3; attempt++ {
		c, err := h.Store.GetContact(ctx, t.ContactID)
		if errors.Is(err, closeloop.ErrNotFound) {
			return c, closeloop.SurveySuppressed, "contact erased", nil
		}
		if err != nil {
			return c, "", "", err
		}
		switch {
		case c.Suppressed == closeloop.SuppressedErased:
			// A ticket written while its person was being erased, after
			// erasure listed their items: it keeps nothing about them.
			t.ForgetPerson()
			return c, closeloop.SurveySuppressed, "contact erased", nil
		case c.Suppressed != "":
			return c, closeloop.SurveySuppressed, c.Suppressed, nil
		case !c.FatigueOK(slot, h.FatigueWindow, now):
			return c, closeloop.SurveyThrottled, "surveyed within the fatigue window", nil
		}
		err = h.Store.TakeSurveySlot(ctx, c, slot, now)
		if errors.Is(err, closeloop.ErrConflict) {
			continue // the contact changed under us: decide again
		}
		return c, "", "", err
	}
	return closeloop.Contact{}, closeloop.SurveyThrottled, "contact busy", nil
}

// finish records a final state for a claimed ticket.
func (h *Handler) finish(ctx context.Context, t *closeloop.Ticket, prev int64, state closeloop.SurveyState, why string) (closeloop.SurveyState, error) {
	if why != "" {
		slog.InfoContext(ctx, "survey not sent", "source", t.Source, "ticket", t.TicketID, "state", state, "reason", why)
	}
	err := h.save(ctx, t, prev, func(next *closeloop.Ticket) {
		next.State, next.DueAt = state, time.Time{}
		if why != "" {
			next.Reason = logging.Redact(why) // SES errors may name the recipient
		}
		if state != closeloop.SurveySent && state != closeloop.SurveyFailed {
			next.SurveyID = ""
		}
		if state == closeloop.SurveySent && h.ReminderDelay > 0 && next.Reminder == closeloop.ReminderNone {
			next.Reminder, next.DueAt = closeloop.ReminderScheduled, h.now().Add(h.ReminderDelay)
		}
	})
	if err != nil {
		return state, fmt.Errorf("record survey %s as %s: %w", t.SurveyID, state, err)
	}
	return state, nil
}

// save writes the ticket mutate makes of t, which this run holds (claimed
// at version prev). A delivery may write the ticket meanwhile (a repeated
// solve, a reopen, an erasure): that changes its version, not the claim.
// The ticket is then read again and, while it is still the same claim
// (the same state and survey), mutate is applied over what is stored,
// keeping what this run worked out itself (a look-up's contact, language
// and zone, an erased person's ticket stripped), so neither the delivery's
// change nor the run's is lost. A person erased meanwhile (their contact
// says so) stays erased, and a survey sent to them is stripped as erasure
// would have.
func (h *Handler) save(ctx context.Context, t *closeloop.Ticket, prev int64, mutate func(*closeloop.Ticket)) error {
	cur, version := t, prev
	for attempt := 0; ; attempt++ {
		next := *cur
		mutate(&next)
		err := h.Store.SaveTicket(ctx, &next, version)
		if !errors.Is(err, closeloop.ErrConflict) || attempt == 3 {
			return err
		}
		fresh, gerr := h.Store.GetTicket(ctx, t.Source, t.TicketID)
		if gerr != nil {
			return errors.Join(err, gerr)
		}
		if fresh.State != t.State || fresh.SurveyID != t.SurveyID {
			return err // no longer this claim: another run decided it
		}
		merged := *fresh
		merged.Locale, merged.TimeZone = t.Locale, t.TimeZone // a look-up's or enrichment's
		erased := false
		switch {
		case fresh.ContactID == "" && t.ContactID != "" && fresh.LookupID != "":
			// A customer this run looked up (not stored on the ticket
			// yet), unless erased since: the contact item tells.
			c, cerr := h.Store.GetContact(ctx, t.ContactID)
			if cerr != nil && !errors.Is(cerr, closeloop.ErrNotFound) {
				return errors.Join(err, cerr)
			}
			erased = cerr != nil || c.Suppressed == closeloop.SuppressedErased
			if !erased {
				merged.ContactID, merged.LookupID = t.ContactID, t.LookupID
				merged.Subject, merged.AgentName, merged.AgentEmail = t.Subject, t.AgentName, t.AgentEmail
			}
		case fresh.ContactID == "" && t.ContactID != "":
			erased = true // the stored ticket lost its contact: erasure took it
		}
		if erased {
			merged.ForgetPerson()
			if next.State == closeloop.SurveySent && t.SurveyID != "" {
				slog.InfoContext(ctx, "survey sent while its person was erased", "source", t.Source, "ticket", t.TicketID, "survey", t.SurveyID)
				if err := h.Store.EraseSurvey(ctx, t.SurveyID); err != nil {
					return err
				}
			}
		}
		cur, version = &merged, fresh.Version
	}
}

// remind sends the one reminder of sent survey t, unless it was answered,
// the person unsubscribed, bounced or was erased, or the link expires
// within a day. The decision is stored before the email goes (at most
// once, like the survey): a reminder whose email SES then refuses for a
// while is not retried, since reminders are a courtesy; one the run had no
// time left to try is put back, due at once.
func (h *Handler) remind(ctx context.Context, t *closeloop.Ticket, now time.Time) (closeloop.SurveyState, error) {
	sv, err := h.Store.GetSurvey(ctx, t.SurveyID)
	if err != nil && !errors.Is(err, closeloop.ErrNotFound) {
		return "", err
	}
	var c closeloop.Contact
	var read time.Time
	why := ""
	switch {
	case err != nil || sv.Erased():
		why = "survey gone"
	case sv.Rating != nil:
		why = "answered"
	case sv.Expired(now.Add(24 * time.Hour)):
		why = "link expires within a day"
	default:
		read = time.Now()
		if c, why, err = h.mailable(ctx, t.ContactID); err != nil {
			return "", err
		}
	}
	next := *t
	next.DueAt = time.Time{}
	next.Reminder = closeloop.ReminderSent
	if why != "" {
		next.Reminder = closeloop.ReminderSkipped
	}
	if err := h.Store.SaveTicket(ctx, &next, t.Version); err != nil {
		if errors.Is(err, closeloop.ErrConflict) {
			return "", nil // another sweep decided it
		}
		return "", err
	}
	if why != "" {
		slog.InfoContext(ctx, "reminder skipped", "survey", sv.ID, "reason", why)
		return reminderSkipped, nil
	}
	token, linkID := closeloop.NewToken()
	unsubToken, err := h.Links.Link(ctx, t.ContactID, c.Email, now, func(linkID string) error { return h.Store.CreateUnsubscribeLink(ctx, linkID, t.ContactID, now) })
	if err != nil {
		return "", err
	}
	if err := h.Store.CreateSurveyLink(ctx, linkID, sv.ID, t.ContactID, sv.ExpiresAt); err != nil {
		return "", err
	}
	msg, err := mail.SurveyEmail(c.Email, mail.Survey{
		Name: c.Name, TicketSubject: sv.Subject, AgentName: sv.AgentName, Kind: sv.Kind, Locale: sv.Locale,
		BaseURL: h.BaseURL, Token: token, UnsubscribeToken: unsubToken, Reminder: true, Brand: h.Brand,
	})
	if err != nil {
		return "", err
	}
	msg.Tags = map[string]string{"closeloop_kind": "reminder", "survey_id": sv.ID}
	msg.Recheck = mail.StillMailable(read, t.ContactID, h.Store.GetContact)
	if _, err := h.Mailer.Send(ctx, msg); err != nil {
		if errors.Is(err, mail.ErrUnsubscribed) {
			skipped := next
			skipped.Reminder = closeloop.ReminderSkipped
			if serr := h.Store.SaveTicket(ctx, &skipped, next.Version); serr != nil {
				slog.WarnContext(ctx, "reminder skipped, not recorded", "survey", sv.ID, "err", serr)
			}
			slog.InfoContext(ctx, "reminder skipped", "survey", sv.ID, "reason", "unsubscribed while the email waited for the sending rate")
			return reminderSkipped, nil
		}
		if errors.Is(err, mail.ErrNoTime) || errors.Is(err, mail.ErrRecheck) {
			// Nothing was tried: the run was out of time, or its person
			// could not be read again after the wait. The reminder is due
			// again at once. (A reminder SES refused is not retried: at
			// most once, like the survey's send.)
			back := next
			back.Reminder, back.DueAt = closeloop.ReminderScheduled, now
			if serr := h.Store.SaveTicket(ctx, &back, next.Version); serr != nil {
				return "", errors.Join(err, serr)
			}
			return closeloop.SurveyScheduled, err
		}
		return "", fmt.Errorf("remind survey %s: %w", sv.ID, err)
	}
	slog.InfoContext(ctx, "reminder sent", "survey", sv.ID, "ticket", t.TicketID)
	return reminded, nil
}

// mailable reads contact id and says why they may not be mailed ("" when
// they may): erased (closeloop.SuppressedErased, also for a contact that is
// gone), unsubscribed, bounced or complained.
func (h *Handler) mailable(ctx context.Context, id string) (closeloop.Contact, string, error) {
	c, err := h.Store.GetContact(ctx, id)
	switch {
	case errors.Is(err, closeloop.ErrNotFound):
		return c, closeloop.SuppressedErased, nil
	case err != nil:
		return c, "", err
	}
	return c, c.Suppressed, nil
}

// checkIn sends the check-in id when it is due, unless the ticket has
// reopened since or its person may not be mailed. Like surveys, it is
// marked sent before the email goes: at most once.
func (h *Handler) checkIn(ctx context.Context, id string, now time.Time) (closeloop.SurveyState, error) {
	ci, err := h.Store.GetCheckIn(ctx, id)
	if errors.Is(err, closeloop.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if ci.State != closeloop.CheckInScheduled || ci.DueAt.After(now) {
		return "", nil // the index lagged behind a change
	}
	t, terr := h.Store.GetTicket(ctx, ci.Source, ci.TicketID)
	if terr == nil {
		// The check-in was scheduled at the solve; a look-up before the
		// survey may have told the customer's language and zone since.
		ci.Locale, ci.TimeZone = cmp.Or(ci.Locale, t.Locale), cmp.Or(ci.TimeZone, t.TimeZone)
	}
	if next := h.Window.Next(now, closeloop.Location(ci.TimeZone, cmp.Or(h.Zone, time.UTC))); next.After(now) {
		later := ci
		later.DueAt = next
		if err := h.Store.SaveCheckIn(ctx, later); err != nil && !errors.Is(err, closeloop.ErrConflict) {
			return "", err
		}
		return deferred, nil
	}
	caseOpen := false
	if terr == nil && t.SurveyID != "" {
		// An unhappy answer's check-in follows its follow-up case: not
		// while the team works on it, but a check-in delay after the case
		// is resolved; a case open for a month goes without one.
		c, err := h.Store.GetCase(ctx, t.SurveyID)
		if err != nil && !errors.Is(err, closeloop.ErrNotFound) {
			return "", err
		}
		_, delay := h.PerSource[ci.Source].Apply(closeloop.Policy{}, h.CheckInDelay)
		var later time.Time
		switch {
		case err != nil || c.Reason != "": // no case, or a check-in's own
		case c.Status != closeloop.CaseResolved && now.Sub(c.OpenedAt) > caseCheckInWait:
			// Still open after a month: skipped below with the reason.
		case c.Status != closeloop.CaseResolved:
			later = now.Add(24 * time.Hour) // looked at again tomorrow
		case c.ResolvedAt.Add(delay).After(now):
			later = c.ResolvedAt.Add(delay)
		}
		if !later.IsZero() {
			next := ci
			next.DueAt = later
			if err := h.Store.SaveCheckIn(ctx, next); err != nil && !errors.Is(err, closeloop.ErrConflict) {
				return "", err
			}
			return deferred, nil
		}
		caseOpen = err == nil && c.Reason == "" && c.Status != closeloop.CaseResolved
	}
	why := ""
	err = terr
	switch {
	case err != nil && !errors.Is(err, closeloop.ErrNotFound):
		return "", err
	case err != nil || t.Status == closeloop.StatusReopened:
		// (Tickets of older releases may hold another status, stored from
		// a status Closeloop does not act on: still solved.)
		why = "reopened"
	case t.ContactID == "" || ci.ContactID == "":
		why = closeloop.SuppressedErased
	case caseOpen:
		why = "follow-up case still open after a month"
	}
	var c closeloop.Contact
	read := time.Now()
	if why == "" {
		if c, why, err = h.mailable(ctx, ci.ContactID); err != nil {
			return "", err
		}
	}
	next := ci
	next.State, next.SentAt = closeloop.CheckInSent, now
	if why != "" {
		next.State, next.SentAt = closeloop.CheckInSkipped, time.Time{}
	}
	if why == closeloop.SuppressedErased {
		// Scheduled in the instant of an erasure: it keeps nothing about
		// the person.
		next.ContactID, next.Subject = "", ""
	}
	if err := h.Store.SaveCheckIn(ctx, next); err != nil {
		if errors.Is(err, closeloop.ErrConflict) {
			return "", nil // another sweep decided it
		}
		return "", err
	}
	if why != "" {
		slog.InfoContext(ctx, "check-in skipped", "source", ci.Source, "ticket", ci.TicketID, "reason", why)
		return checkInSkipped, nil
	}
	token, linkID := closeloop.NewToken()
	unsubToken, err := h.Links.Link(ctx, ci.ContactID, c.Email, now, func(linkID string) error { return h.Store.CreateUnsubscribeLink(ctx, linkID, ci.ContactID, now) })
	if err != nil {
		return "", err
	}
	if err := h.Store.CreateCheckInLink(ctx, linkID, ci.ID, ci.ContactID, now); err != nil {
		return "", err
	}
	msg, err := mail.CheckInEmail(c.Email, c.Name, cmp.Or(ci.Locale, c.Locale), ci.Subject, h.BaseURL, token, h.BaseURL+"/u/"+unsubToken, h.Brand)
	if err != nil {
		return "", err
	}
	msg.Tags = map[string]string{"closeloop_kind": "checkin"}
	msg.Recheck = mail.StillMailable(read, ci.ContactID, h.Store.GetContact)
	if _, err := h.Mailer.Send(ctx, msg); err != nil {
		if errors.Is(err, mail.ErrUnsubscribed) {
			skipped := next
			skipped.Version, skipped.State, skipped.SentAt = next.Version+1, closeloop.CheckInSkipped, time.Time{}
			if serr := h.Store.SaveCheckIn(ctx, skipped); serr != nil {
				slog.WarnContext(ctx, "check-in skipped, not recorded", "ticket", ci.TicketID, "err", serr)
			}
			slog.InfoContext(ctx, "check-in skipped", "source", ci.Source, "ticket", ci.TicketID, "reason", "unsubscribed while the email waited for the sending rate")
			return checkInSkipped, nil
		}
		if errors.Is(err, mail.ErrNoTime) || errors.Is(err, mail.ErrRecheck) {
			// Nothing was tried: the run was out of time, or its person
			// could not be read again after the wait. The check-in is due
			// again at once (one SES refused is not retried).
			back := next
			back.Version, back.State, back.SentAt, back.DueAt = next.Version+1, closeloop.CheckInScheduled, time.Time{}, now
			if serr := h.Store.SaveCheckIn(ctx, back); serr != nil {
				return "", errors.Join(err, serr)
			}
			return closeloop.SurveyScheduled, err
		}
		return "", fmt.Errorf("check-in %s/%s: %w", ci.Source, ci.TicketID, err)
	}
	if err := h.Store.AddCounters(ctx, now, closeloop.Counters{CheckInsSent: 1}); err != nil {
		slog.ErrorContext(ctx, "count check-in", "ticket", ci.TicketID, "err", err)
	}
	// A contact in the fatigue window for later tickets.
	if err := h.Store.CountContact(ctx, ci.ContactID, "checkin#"+ci.ID, now); err != nil {
		slog.ErrorContext(ctx, "count contact", "ticket", ci.TicketID, "err", err)
	}
	slog.InfoContext(ctx, "check-in sent", "source", ci.Source, "ticket", ci.TicketID)
	return checkedIn, nil
}

// caseCheckInWait is how long an unhappy answer's check-in waits for its
// follow-up case to be resolved before it goes without.
const caseCheckInWait = 30 * 24 * time.Hour

// retry puts a claimed ticket back on the schedule after a failure that sent
// nothing, with a growing back-off, and fails it after maxAttempts.
func (h *Handler) retry(ctx context.Context, t *closeloop.Ticket, cause error) (closeloop.SurveyState, error) {
	var throttled *helpdesk.Throttled
	wait := errors.As(cause, &throttled)
	if wait {
		// The helpdesk asked to wait: no call to it before then, from this
		// survey or any other, and no try used up, for a day at most.
		h.throttle(t.Source, throttled)
		if !t.ThrottledAt.IsZero() && h.now().Sub(t.ThrottledAt) > maxThrottled {
			_, err := h.finish(ctx, t, t.Version, closeloop.SurveyFailed, fmt.Sprintf("%v (throttled for over %s)", cause, maxThrottled))
			return closeloop.SurveyFailed, errors.Join(cause, err)
		}
	} else if !errors.Is(cause, mail.ErrNoTime) && t.Attempts+1 >= maxAttempts {
		_, err := h.finish(ctx, t, t.Version, closeloop.SurveyFailed, cause.Error())
		return closeloop.SurveyFailed, errors.Join(cause, err)
	}
	state := closeloop.SurveyScheduled
	err := h.save(ctx, t, t.Version, func(next *closeloop.Ticket) {
		next.State, next.SurveyID = closeloop.SurveyScheduled, ""
		switch {
		case errors.Is(cause, mail.ErrNoTime):
			// Nothing was tried: the run ran out of time. Due again at
			// once, and no attempt of the survey's.
			next.DueAt = h.now()
		case wait:
			next.DueAt = h.now().Add(max(throttled.After, time.Duration(1<<(next.Attempts+1))*time.Minute))
			next.ThrottledAt = cmp.Or(next.ThrottledAt, h.now())
		default:
			next.Attempts++
			next.DueAt = h.now().Add(time.Duration(1<<next.Attempts) * time.Minute)
		}
		if next.Status == closeloop.StatusReopened {
			// Reopened while this run held it: cancelled, as a reopen
			// cancels a scheduled survey.
			next.State, next.DueAt = closeloop.SurveyCancelled, time.Time{}
		}
		state = next.State
	})
	if err != nil {
		return "", errors.Join(cause, err)
	}
	return state, cause
}

// lookUp finds the customer of ticket t, which its delivery named by the
// helpdesk's id only, and makes them t's contact. It returns an error
// wrapping helpdesk.ErrLookupRetry when a later try may succeed, and a
// state with its reason when the survey cannot go: no look-up configured,
// the customer unknown or without a usable email, or erased.
func (h *Handler) lookUp(ctx context.Context, t *closeloop.Ticket) (closeloop.SurveyState, string, error) {
	l := h.Lookups[t.Source]
	if l == nil {
		// Retried with the usual back-off: time to set the credential.
		return "", "", fmt.Errorf("look up %s customer %s: %w: no %s API credential is configured (set %s)", t.Source, t.LookupID, helpdesk.ErrLookupRetry, t.Source, helpdesk.LookupEnvNames(t.Source))
	}
	p, err := l.Person(ctx, t.LookupID)
	if errors.Is(err, helpdesk.ErrLookupRetry) {
		return "", "", err
	}
	if err != nil {
		return closeloop.SurveyFailed, err.Error(), nil
	}
	addr, err := closeloop.NormalizeEmail(p.Email)
	if err != nil {
		return closeloop.SurveyFailed, fmt.Sprintf("look up %s customer %s: no usable email (%v)", t.Source, t.LookupID, err), nil
	}
	cid, err := h.Store.ContactID(addr)
	if err != nil {
		return closeloop.SurveyFailed, "look-up: " + err.Error(), nil
	}
	err = h.Store.UpsertContact(ctx, closeloop.Contact{ID: cid, Email: addr, Name: p.Name, Locale: p.Locale})
	if errors.Is(err, closeloop.ErrErased) {
		// Nothing about an erased person stays: not the ticket's subject,
		// agent or the helpdesk's id for them (no contact id would lead a
		// later erasure here).
		t.ForgetPerson()
		return closeloop.SurveySuppressed, "contact erased", nil
	}
	if err != nil {
		return "", "", err
	}
	t.Locale, t.TimeZone = cmp.Or(t.Locale, p.Locale), cmp.Or(t.TimeZone, p.TimeZone)
	// The webhook schedules a solve's check-in when it knows the contact;
	// for a looked-up one that is now. If it cannot be stored the ticket
	// keeps no contact, so the retry looks up and schedules again.
	if _, delay := h.PerSource[t.Source].Apply(closeloop.Policy{}, h.CheckInDelay); delay > 0 {
		ci := closeloop.CheckIn{ID: closeloop.CheckInID(t.Source, t.TicketID), Source: t.Source, TicketID: t.TicketID,
			ContactID: cid, Locale: t.Locale, TimeZone: t.TimeZone, Subject: t.Subject, DueAt: closeloop.CheckInDue(t.StatusAt, t.ReceivedAt, delay)}
		if err := h.Store.ScheduleCheckIn(ctx, ci); err != nil && !errors.Is(err, closeloop.ErrDuplicate) {
			return "", "", err
		}
	}
	t.ContactID, t.LookupID = cid, "" // found: never asked again
	slog.InfoContext(ctx, "customer looked up", "source", t.Source, "ticket", t.TicketID)
	return "", "", nil
}

// enrich completes what the delivery told of ticket t's customer (their
// language, their time zone) from the helpdesk's API, once. A failure is
// logged and the survey goes without: it is never held back for this.
func (h *Handler) enrich(ctx context.Context, t *closeloop.Ticket) {
	id := t.LookupID
	t.LookupID = ""
	l := h.Lookups[t.Source]
	if l == nil {
		return
	}
	if h.throttled.get(t.Source).After(h.now()) {
		return // the helpdesk asked to wait: the survey goes without the details
	}
	p, err := l.Person(ctx, id)
	if err != nil {
		if th := (*helpdesk.Throttled)(nil); errors.As(err, &th) {
			h.throttle(t.Source, th)
		}
		slog.WarnContext(ctx, "customer details not looked up", "source", t.Source, "ticket", t.TicketID, "err", logging.Redact(err.Error()))
		return
	}
	t.Locale, t.TimeZone = cmp.Or(t.Locale, p.Locale), cmp.Or(t.TimeZone, p.TimeZone)
}

// auditLookup records a failed look-up in the list operators see in the
// console and through GET /api/lookups, and in the audit log.
func (h *Handler) auditLookup(ctx context.Context, t *closeloop.Ticket, why string) {
	why = logging.Redact(why)
	logging.Metrics(ctx, "survey-sweep", map[string]int{closeloop.MetricLookupsFailed: 1}) // alarmed: a credential may be broken
	f := closeloop.LookupFailure{At: h.now(), Source: t.Source, TicketID: t.TicketID, Reason: why}
	if err := h.Store.AddLookupFailure(ctx, f); err != nil {
		slog.ErrorContext(ctx, "record failed look-up", "source", t.Source, "ticket", t.TicketID, "err", err)
	}
	e := closeloop.AuditEntry{At: h.now(), Actor: "survey-sweep", Action: "survey.lookup-failed", Target: t.Source + " ticket " + t.TicketID, Detail: why}
	if err := h.Store.AddAudit(ctx, e); err != nil {
		slog.ErrorContext(ctx, "audit look-up", "source", t.Source, "ticket", t.TicketID, "err", err)
	}
}

func (h *Handler) lease() time.Duration {
	if h.Lease > 0 {
		return h.Lease
	}
	return DefaultLease
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}
