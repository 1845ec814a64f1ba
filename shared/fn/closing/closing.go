// Package closing sends "you said, we did" emails, and the team's alerts of
// unhappy answers, from one queue. An improvement is
// announced once; the fan-out walks every response carrying its theme and
// queues them in batches; each batch sends one email per person, claimed
// with a conditional write first, so duplicated messages, retried batches and
// two jobs at once send nobody the same email twice.
package closing

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/mail"
	"github.com/closeloop/closeloop/shared/platform/logging"
	"github.com/closeloop/closeloop/shared/queue"
	"github.com/closeloop/closeloop/shared/slack"
)

// Store is what closing needs of the store.
type Store interface {
	GetImprovement(ctx context.Context, id string) (closeloop.Improvement, error)
	ThemeMembers(ctx context.Context, theme, after string, each func(closeloop.ThemeMember) error) error
	GetSurvey(ctx context.Context, id string) (closeloop.Survey, error)
	GetContact(ctx context.Context, id string) (closeloop.Contact, error)
	ClaimClosing(ctx context.Context, impID, contactID, surveyID string, now time.Time) error
	ClosingClaim(ctx context.Context, impID, contactID string) (closeloop.ClosingState, time.Time, error)
	ReleaseClosing(ctx context.Context, impID, contactID string) error
	FinishClosing(ctx context.Context, impID, contactID string, state closeloop.ClosingState, messageID string) error
	AddProgress(ctx context.Context, id string, d closeloop.Progress) error
	AddCounters(ctx context.Context, t time.Time, c closeloop.Counters, dims ...closeloop.Dims) error
	CreateUnsubscribeLink(ctx context.Context, id, contactID string, now time.Time) error
	GetCase(ctx context.Context, id string) (closeloop.Case, error)
	MarkContacted(ctx context.Context, id string, now time.Time) error
	MarkTold(ctx context.Context, sv closeloop.Survey, now time.Time) error
	Claim(ctx context.Context, name string, now time.Time) error
	Release(ctx context.Context, name string) error
}

// Poster posts to a Slack-compatible incoming webhook.
type Poster interface {
	Post(ctx context.Context, text string) error
}

// Mailer sends one email.
type Mailer interface {
	Send(ctx context.Context, m mail.Message) (string, error)
}

// Message is a queue message for the closing function.
type Message struct {
	// Announce asks for the fan-out of improvement ImprovementID.
	ImprovementID string `json:"improvement_id"`
	// Recipients, when set, is one batch of the fan-out to send.
	Recipients []Recipient `json:"recipients,omitempty"`
	// Alert asks for the team's alerts of follow-up case Alert
	// (queue.Alert makes the message).
	Alert string `json:"alert,omitempty"`
	// Ack asks for the one acknowledgement of the comment on survey Ack
	// (queue.Ack makes the message).
	Ack string `json:"ack,omitempty"`
}

// Recipient is one response to quote.
type Recipient struct {
	SurveyID  string `json:"survey_id"`
	ContactID string `json:"contact_id"`
}

// BatchSize is how many recipients one queue message carries: small enough
// to send within a Lambda timeout at the function's share of SES's rate,
// large enough that fan-out to thousands takes few messages.
const BatchSize = 25

// Announce returns the queue message that starts the fan-out of improvement id.
func Announce(id string) string {
	b, _ := json.Marshal(Message{ImprovementID: id})
	return string(b)
}

// Handler is the closing function.
type Handler struct {
	Store   Store
	Mailer  Mailer
	Queue   queue.Sender // where fan-out batches go: the queue this handler consumes
	BaseURL string
	Now     func() time.Time

	Slack      Poster // detractor alerts to the team's channel; nil for none
	AlertEmail string // detractor alerts to the team's address; "" for none
	// TicketURL links a ticket in its helpdesk in alerts ("" when the
	// source has no CLOSELOOP_SOURCE_<SOURCE>_TICKET_URL).
	TicketURL func(source, id string) string
	Brand     closeloop.Brand
}

// New returns the closing function over store, sending with mailer and
// queueing fan-out batches on closingQueue (the queue it consumes), with
// links to cfg's base URL. The Lambda, the local dev server and
// `closeloop invoke` all build it here.
func New(cfg closeloop.Config, store Store, mailer Mailer, closingQueue queue.Sender) *Handler {
	h := &Handler{Store: store, Mailer: mailer, Queue: closingQueue, BaseURL: cfg.BaseURL, AlertEmail: cfg.AlertEmail, Brand: cfg.Brand, TicketURL: cfg.TicketURL}
	if cfg.AlertWebhookURL != "" {
		h.Slack = slack.Slack{URL: cfg.AlertWebhookURL, Client: &http.Client{Timeout: 5 * time.Second}}
	}
	return h
}

// Handle is the SQS handler. A message that fails for a reason a retry can
// mend is reported in BatchItemFailures; one that can never succeed is
// logged and dropped.
func (h *Handler) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var res events.SQSEventResponse
	failed := map[string]int{closeloop.MetricAlertsFailed: 0, closeloop.MetricClosingFailed: 0}
	defer func() { logging.Metrics(ctx, "closing", failed) }()
	for _, rec := range ev.Records {
		var m Message
		if err := json.Unmarshal([]byte(rec.Body), &m); err != nil || m.ImprovementID == "" && m.Alert == "" && m.Ack == "" {
			slog.ErrorContext(ctx, "closing: unusable message dropped", "message", rec.MessageId)
			continue
		}
		var err error
		switch {
		case m.Alert != "":
			err = h.alert(ctx, m.Alert)
		case m.Ack != "":
			err = h.ack(ctx, m.Ack)
		case m.Recipients == nil:
			err = h.fanOut(ctx, m.ImprovementID)
		default:
			err = h.send(ctx, m.ImprovementID, m.Recipients)
		}
		if err != nil {
			slog.ErrorContext(ctx, "closing", "improvement", m.ImprovementID, "message", rec.MessageId, "err", err)
			if !errors.Is(err, closeloop.ErrNotFound) {
				res.BatchItemFailures = append(res.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
				if m.Alert != "" {
					failed[closeloop.MetricAlertsFailed]++
				} else {
					failed[closeloop.MetricClosingFailed]++
				}
			}
		}
	}
	return res, nil
}

// fanOut queues every response carrying the improvement's theme, in batches.
// Running it twice queues them twice; the per-person claim makes that safe.
func (h *Handler) fanOut(ctx context.Context, id string) error {
	im, err := h.Store.GetImprovement(ctx, id)
	if err != nil {
		return err
	}
	var batch []Recipient
	var bodies []string
	flush := func() {
		if len(batch) > 0 {
			b, _ := json.Marshal(Message{ImprovementID: id, Recipients: batch})
			bodies = append(bodies, string(b))
			batch = nil
		}
	}
	n := 0
	err = h.Store.ThemeMembers(ctx, im.Theme, "", func(m closeloop.ThemeMember) error {
		batch = append(batch, Recipient{SurveyID: m.SurveyID, ContactID: m.ContactID})
		n++
		if len(batch) == BatchSize {
			flush()
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("fan out improvement %s: %w", id, err)
	}
	flush()
	if err := h.Queue.Send(ctx, bodies...); err != nil {
		return fmt.Errorf("fan out improvement %s: %w", id, err)
	}
	slog.InfoContext(ctx, "improvement fanned out", "improvement", id, "theme", im.Theme, "responses", n, "batches", len(bodies))
	return nil
}

// send sends one batch. It returns an error (and the batch is retried) only
// when SES or the store failed in a way a retry can mend; people already
// claimed are skipped on the retry.
func (h *Handler) send(ctx context.Context, id string, rs []Recipient) error {
	im, err := h.Store.GetImprovement(ctx, id)
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range rs {
		if err := h.one(ctx, im, r); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (h *Handler) one(ctx context.Context, im closeloop.Improvement, r Recipient) error {
	now := h.now()
	sv, err := h.Store.GetSurvey(ctx, r.SurveyID)
	if errors.Is(err, closeloop.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if sv.ContactID == "" || !slices.Contains(sv.Themes, im.Theme) || !im.Audience.Includes(sv, im.CreatedAt) {
		return nil // erased, the theme was taken off this response, or outside the audience
	}
	c, err := h.Store.GetContact(ctx, sv.ContactID)
	if errors.Is(err, closeloop.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	err = h.Store.ClaimClosing(ctx, im.ID, c.ID, sv.ID, now)
	if errors.Is(err, closeloop.ErrDuplicate) {
		return h.settle(ctx, im.ID, c.ID, sv.ID, now)
	}
	if err != nil {
		return err
	}
	if err := h.Store.AddProgress(ctx, im.ID, closeloop.Progress{Recipients: 1}); err != nil {
		if rerr := h.Store.ReleaseClosing(ctx, im.ID, c.ID); rerr != nil {
			return errors.Join(err, rerr)
		}
		return err // uncounted and unclaimed: the retry starts afresh
	}
	if c.Suppressed != "" {
		return h.finish(ctx, im.ID, c.ID, sv.ID, closeloop.ClosingSuppressed, "", closeloop.Progress{Suppressed: 1})
	}
	token, linkID := closeloop.NewToken()
	if err := h.Store.CreateUnsubscribeLink(ctx, linkID, c.ID, now); err != nil {
		return h.release(ctx, im.ID, c.ID, err)
	}
	text, lang := im.TextFor(cmp.Or(sv.Locale, c.Locale))
	msg, err := mail.ClosingEmail(c.Email, mail.Closing{
		Name: c.Name, Locale: lang, Quote: sv.Comment,
		Summary: text.Summary, Detail: text.Message, Link: im.Link, Brand: h.Brand, UnsubscribeURL: h.BaseURL + "/u/" + token,
	})
	if err != nil {
		return h.finish(ctx, im.ID, c.ID, sv.ID, closeloop.ClosingFailed, "", closeloop.Progress{Failed: 1})
	}
	msg.Tags = map[string]string{"closeloop_kind": "closing", "improvement_id": im.ID}
	messageID, err := h.Mailer.Send(ctx, msg)
	if errors.Is(err, mail.ErrTemporary) {
		return h.release(ctx, im.ID, c.ID, err)
	}
	if err != nil {
		slog.ErrorContext(ctx, "closing email refused", "improvement", im.ID, "survey", sv.ID, "err", err)
		return h.finish(ctx, im.ID, c.ID, sv.ID, closeloop.ClosingFailed, "", closeloop.Progress{Failed: 1})
	}
	if err := h.Store.AddCounters(ctx, now, closeloop.Counters{ClosingSent: 1}); err != nil {
		slog.ErrorContext(ctx, "count closing email", "improvement", im.ID, "err", err)
	}
	// Telling an unhappy customer what changed reaches them: their case, if
	// any, is contacted.
	if err := h.Store.MarkContacted(ctx, sv.ID, now); err != nil {
		slog.ErrorContext(ctx, "mark case contacted", "survey", sv.ID, "err", err)
	}
	if err := h.Store.MarkTold(ctx, sv, now); err != nil {
		slog.ErrorContext(ctx, "count theme raiser told", "survey", sv.ID, "err", err)
	}
	return h.finish(ctx, im.ID, c.ID, sv.ID, closeloop.ClosingSent, messageID, closeloop.Progress{Sent: 1})
}

// alert tells the team about case id once per channel: each channel's
// alert is claimed before it goes, and given back when it failed, so a
// retried message sends only what did not go. An error leaves the message
// to SQS's retries and, in the end, its dead-letter queue; the case itself
// is stored already and shows in the console either way.
func (h *Handler) alert(ctx context.Context, id string) error {
	c, err := h.Store.GetCase(ctx, id)
	if errors.Is(err, closeloop.ErrNotFound) {
		return nil // erased since
	}
	if err != nil {
		return err
	}
	var sv closeloop.Survey
	if c.SurveyID != "" {
		if sv, err = h.Store.GetSurvey(ctx, c.SurveyID); err != nil && !errors.Is(err, closeloop.ErrNotFound) {
			return err
		}
	}
	caseURL := h.BaseURL + "/console/cases/" + c.ID
	ticketURL := ""
	if h.TicketURL != nil {
		ticketURL = h.TicketURL(c.Source, c.TicketID)
	}
	var errs []error
	if h.Slack != nil {
		text := fmt.Sprintf(":rotating_light: %s ticket %s: %s", c.Source, c.TicketID, c.Reason)
		if c.Reason == "" {
			text = slack.Text(closeloop.Survey{ID: c.SurveyID, Source: c.Source, TicketID: c.TicketID, Kind: c.Kind, Rating: &c.Rating, Comment: sv.Comment, AgentName: sv.AgentName})
		}
		errs = append(errs, h.once(ctx, "alert/slack/"+c.ID, func(ctx context.Context) error {
			if ticketURL != "" {
				text += "\nTicket: " + ticketURL
			}
			return h.Slack.Post(ctx, text+"\nCase: "+caseURL)
		}))
	}
	if h.AlertEmail != "" {
		errs = append(errs, h.once(ctx, "alert/email/"+c.ID, func(ctx context.Context) error {
			comment := sv.Comment
			if c.Reason != "" {
				comment = c.Reason
			}
			m, err := mail.AlertEmail(h.AlertEmail, mail.Alert{Kind: cmp.Or(c.Kind, closeloop.CSAT), Rating: c.Rating, Source: c.Source, TicketID: c.TicketID,
				Agent: sv.AgentName, Comment: comment, CaseURL: caseURL, TicketURL: ticketURL}, h.Brand)
			if err != nil {
				return err
			}
			m.Tags = map[string]string{"closeloop_kind": "alert"}
			_, err = h.Mailer.Send(ctx, m)
			return err
		}))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("alert case %s: %w", id, err)
	}
	slog.InfoContext(ctx, "detractor alerted", "case", id)
	return nil
}

// ack sends the one acknowledgement of the comment on survey id, unless
// the survey was erased, has no comment, or its person may not be mailed.
func (h *Handler) ack(ctx context.Context, id string) error {
	sv, err := h.Store.GetSurvey(ctx, id)
	if errors.Is(err, closeloop.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if sv.Erased() || sv.Comment == "" {
		return nil
	}
	c, err := h.Store.GetContact(ctx, sv.ContactID)
	if errors.Is(err, closeloop.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if c.Suppressed != "" {
		return nil
	}
	return h.once(ctx, "ack/"+id, func(ctx context.Context) error {
		token, linkID := closeloop.NewToken()
		if err := h.Store.CreateUnsubscribeLink(ctx, linkID, c.ID, h.now()); err != nil {
			return err
		}
		m, err := mail.AckEmail(c.Email, c.Name, cmp.Or(sv.Locale, c.Locale), sv.Comment, h.BaseURL+"/u/"+token, h.Brand)
		if err != nil {
			return err
		}
		m.Tags = map[string]string{"closeloop_kind": "ack", "survey_id": id}
		if _, err := h.Mailer.Send(ctx, m); err != nil {
			return err
		}
		slog.InfoContext(ctx, "comment acknowledged", "survey", id)
		return nil
	})
}

// once runs f as the one-time job name: claimed first, given back when f
// fails, so it runs at most once to success.
func (h *Handler) once(ctx context.Context, name string, f func(context.Context) error) error {
	err := h.Store.Claim(ctx, name, h.now())
	if errors.Is(err, closeloop.ErrDuplicate) {
		return nil
	}
	if err != nil {
		return err
	}
	fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := f(fctx); err != nil {
		if rerr := h.Store.Release(ctx, name); rerr != nil {
			return errors.Join(err, rerr)
		}
		return err
	}
	return nil
}

func (h *Handler) finish(ctx context.Context, impID, contactID, surveyID string, state closeloop.ClosingState, messageID string, d closeloop.Progress) error {
	if err := h.Store.FinishClosing(ctx, impID, contactID, state, messageID); err != nil {
		return err
	}
	slog.InfoContext(ctx, "closing email", "improvement", impID, "survey", surveyID, "state", state, "message", messageID)
	return h.Store.AddProgress(ctx, impID, d)
}

// ClaimLease is how long a claimed "you said, we did" email may stay
// unrecorded before a later delivery of its batch settles it: far longer
// than one batch takes (the function's timeout is a minute), and shorter
// than SQS's five deliveries of a batch, six minutes apart.
const ClaimLease = 15 * time.Minute

// errClaimOpen fails a batch whose recipient another attempt has claimed
// and not yet recorded, so that SQS delivers the batch again later, when
// that attempt has finished or its lease has run out.
var errClaimOpen = errors.New("claimed by another attempt, not yet recorded")

// settle handles a recipient someone already claimed. A recorded claim is
// done. A claim still open within its lease belongs to a running attempt:
// the batch comes back later. A claim open past its lease belongs to an
// attempt that died, or that sent and could not record it: whether the
// email went is unknown, so it is recorded as failed and never resent
// (at most once, like the survey; docs/reliability.md).
func (h *Handler) settle(ctx context.Context, impID, contactID, surveyID string, now time.Time) error {
	state, claimedAt, err := h.Store.ClosingClaim(ctx, impID, contactID)
	if errors.Is(err, closeloop.ErrNotFound) {
		return fmt.Errorf("closing %s/%s: %w", impID, surveyID, errClaimOpen) // released a moment ago: claim it on the next delivery
	}
	if err != nil || state != closeloop.ClosingClaimed {
		return err
	}
	if now.Sub(claimedAt) < ClaimLease {
		return fmt.Errorf("closing %s/%s: %w", impID, surveyID, errClaimOpen)
	}
	slog.WarnContext(ctx, "closing email: claim lease expired; outcome unknown, not resent", "improvement", impID, "survey", surveyID)
	err = h.finish(ctx, impID, contactID, surveyID, closeloop.ClosingFailed, "", closeloop.Progress{Failed: 1})
	if errors.Is(err, closeloop.ErrConflict) {
		return nil // settled by a concurrent delivery
	}
	return err
}

// release gives a claim back after a failure that sent nothing, so the
// retried batch can claim it again.
func (h *Handler) release(ctx context.Context, impID, contactID string, cause error) error {
	if err := h.Store.ReleaseClosing(ctx, impID, contactID); err != nil {
		return errors.Join(cause, err)
	}
	if err := h.Store.AddProgress(ctx, impID, closeloop.Progress{Recipients: -1}); err != nil {
		return errors.Join(cause, err)
	}
	return cause
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}
