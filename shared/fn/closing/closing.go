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
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/mail"
	"github.com/closeloop/closeloop/shared/platform/logging"
	"github.com/closeloop/closeloop/shared/platform/workers"
	"github.com/closeloop/closeloop/shared/queue"
	"github.com/closeloop/closeloop/shared/slack"
)

// Store is what closing needs of the store.
type Store interface {
	GetImprovement(ctx context.Context, id string) (closeloop.Improvement, error)
	ThemeMembers(ctx context.Context, theme, after string, each func(closeloop.ThemeMember) error) error
	ClosingBatch(ctx context.Context, impID string, recipients []closeloop.ThemeMember) (closeloop.ClosingBatch, error)
	ClaimClosing(ctx context.Context, impID, contactID, surveyID, batch string, state closeloop.ClosingState, now time.Time) error
	RecordClosing(ctx context.Context, impID, surveyID string, state closeloop.ClosingState, messageID string, now time.Time) (firstTold bool, err error)
	ReleaseClosing(ctx context.Context, impID, contactID string) error
	AdoptClosing(ctx context.Context, impID, contactID, batch string) error
	PutBatchProgress(ctx context.Context, impID, batch string, p closeloop.Progress) error
	AddCounters(ctx context.Context, t time.Time, c closeloop.Counters, dims ...closeloop.Dims) error
	GetSurvey(ctx context.Context, id string) (closeloop.Survey, error)
	GetContact(ctx context.Context, id string) (closeloop.Contact, error)
	CreateUnsubscribeLink(ctx context.Context, id, contactID string, now time.Time) error // contacts not yet under their keyed id
	PublishLinkKey(ctx context.Context, pub ed25519.PublicKey) error
	GetCase(ctx context.Context, id string) (closeloop.Case, error)
	MarkContacted(ctx context.Context, id string, now time.Time) (closeloop.Counters, time.Time, error)
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

// DefaultSenders is how many of a batch's emails are on their way at once
// in one instance. More fill the account's rate with fewer instances; each
// is one more email whose outcome is unknown, and so not resent, when the
// network fails under a batch (docs/reliability.md).
const DefaultSenders = 5

// BatchSize is how many recipients one queue message carries: small enough
// to send within a Lambda timeout at the function's share of SES's rate,
// and to read in one request (an improvement and three items a recipient:
// at most 100 keys), large enough that fan-out to thousands takes few
// messages and little per-batch work per email.
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
	Links   *closeloop.LinkSigner // unsubscribe links
	Senders int                   // a batch's emails on their way at once; 0 for DefaultSenders
	Zone    *time.Location        // the team's zone, whose days the counters count; nil for UTC
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
	h := &Handler{Store: store, Mailer: mailer, Queue: closingQueue, BaseURL: cfg.BaseURL, Links: &closeloop.LinkSigner{Key: cfg.ContactKey, Publish: store.PublishLinkKey}, Zone: cfg.TimeZone, AlertEmail: cfg.AlertEmail, Brand: cfg.Brand, TicketURL: cfg.TicketURL}
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
	// later puts a message this instance has no time for back on the queue,
	// as a new message: handing it back to SQS would use up one of its few
	// deliveries before the dead-letter queue. Every message is safe to
	// handle twice.
	later := func(rec events.SQSMessage) {
		if err := h.Queue.Send(ctx, rec.Body); err != nil {
			slog.ErrorContext(ctx, "closing: requeue", "message", rec.MessageId, "err", err)
			res.BatchItemFailures = append(res.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
		}
	}
	for _, rec := range ev.Records {
		if outOfTime(ctx) {
			later(rec) // too close to the deadline to start
			continue
		}
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
		if err != nil && onlyNoTime(err) {
			later(rec) // no failure: the rest of it goes with the new message
			continue
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

// fanOut queues every response carrying the improvement's theme, in
// batches, people in the order of their latest response, newest first, so
// a batch's responses fall on few days (their loop counters are added per
// day). Running it twice queues them twice; the per-person claim makes
// that safe.
func (h *Handler) fanOut(ctx context.Context, id string) error {
	im, err := h.Store.GetImprovement(ctx, id)
	if err != nil {
		return err
	}
	var members []closeloop.ThemeMember
	err = h.Store.ThemeMembers(ctx, im.Theme, "", func(m closeloop.ThemeMember) error {
		members = append(members, m)
		return nil
	})
	if err != nil {
		return fmt.Errorf("fan out improvement %s: %w", id, err)
	}
	slices.SortStableFunc(members, func(a, b closeloop.ThemeMember) int {
		return cmp.Or(b.RespondedAt.Compare(a.RespondedAt), cmp.Compare(a.SurveyID, b.SurveyID))
	})
	// Each person's responses go together, newest first, in one batch,
	// which quotes the newest its audience includes.
	var order []string
	people := map[string][]Recipient{}
	for _, m := range members {
		if people[m.ContactID] == nil {
			order = append(order, m.ContactID)
		}
		if len(people[m.ContactID]) < BatchSize {
			people[m.ContactID] = append(people[m.ContactID], Recipient{SurveyID: m.SurveyID, ContactID: m.ContactID})
		}
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
	for _, cid := range order {
		if len(batch)+len(people[cid]) > BatchSize {
			flush()
		}
		batch = append(batch, people[cid]...)
	}
	flush()
	if err := h.Queue.Send(ctx, bodies...); err != nil {
		return fmt.Errorf("fan out improvement %s: %w", id, err)
	}
	slog.InfoContext(ctx, "improvement fanned out", "improvement", id, "theme", im.Theme, "people", len(order), "batches", len(bodies))
	return nil
}

// BatchID names a batch of improvement impID's fan-out by its recipients,
// so every delivery of one batch, and of the same batch queued by a second
// fan-out, has the same name.
func BatchID(impID string, rs []Recipient) string {
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.SurveyID
	}
	slices.Sort(ids)
	sum := sha256.Sum256([]byte(impID + "|" + strings.Join(ids, ",")))
	return hex.EncodeToString(sum[:12])
}

// tally is what one attempt at a batch counts: the progress of every
// recipient the batch claimed (by this attempt or an earlier one), and
// what this attempt itself sent, for the day's counters.
type tally struct {
	mu       sync.Mutex // the batch's recipients are sent to several at a time
	progress closeloop.Progress
	sent     int64
	days     map[string]dayCount // the day's counters, by the day (in the team's zone) they count on
}

// dayCount is one day's counters and a time on that day.
type dayCount struct {
	at time.Time
	c  closeloop.Counters
}

// addDay adds c to the counters of day, on which at falls.
func (t *tally) addDay(day string, at time.Time, c closeloop.Counters) {
	d := t.days[day]
	if d.at.IsZero() {
		d.at = at
	}
	d.c = d.c.Add(c)
	t.days[day] = d
}

func (t *tally) count(state closeloop.ClosingState) { t.add(state, true) }

// add counts an outcome; a recipient counted already (claimed by a
// release that counted recipients on the improvement) adds only its outcome.
func (t *tally) add(state closeloop.ClosingState, recipient bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if recipient {
		t.progress.Recipients++
	}
	switch state {
	case closeloop.ClosingSent:
		t.progress.Sent++
	case closeloop.ClosingSuppressed:
		t.progress.Suppressed++
	default:
		t.progress.Failed++
	}
}

// send sends one batch: one read of everything the batch needs, then for
// each person a claim, the email and its recorded outcome, then the
// batch's progress and counters. It returns an error (and the batch is
// retried) only when SES or the store failed in a way a retry can mend;
// people already claimed are not sent to again on the retry.
func (h *Handler) send(ctx context.Context, id string, rs []Recipient) error {
	now := h.now()
	members := make([]closeloop.ThemeMember, len(rs))
	for i, r := range rs {
		members[i] = closeloop.ThemeMember{SurveyID: r.SurveyID, ContactID: r.ContactID}
	}
	view := &batchView{read: func() (closeloop.ClosingBatch, error) { return h.Store.ClosingBatch(ctx, id, members) }}
	if _, err := view.current(); err != nil {
		return err
	}
	batch := BatchID(id, rs)
	t := &tally{days: map[string]dayCount{}}
	// A few recipients at a time: an email is a claim, SES and a record,
	// three round trips, and one after another they would hold each
	// instance far below the account's sending rate.
	var people [][]Recipient // each person's responses, newest first, as queued
	at := map[string]int{}
	for _, r := range rs {
		i, ok := at[r.ContactID]
		if !ok {
			i = len(people)
			at[r.ContactID] = i
			people = append(people, nil)
		}
		people[i] = append(people[i], r)
	}
	var errs []error
	var mu sync.Mutex
	workers.Each(people, cmp.Or(h.Senders, DefaultSenders), func(_ int, p []Recipient) {
		b, err := view.current()
		if err == nil {
			err = h.person(ctx, b, view.current, batch, p, now, t)
		}
		if err != nil {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		}
	})
	// The batch's progress, whatever happened: each attempt writes the
	// whole batch's tally, so a retry completes what a failed attempt
	// could not write.
	if t.progress != (closeloop.Progress{}) {
		if err := h.Store.PutBatchProgress(ctx, id, batch, t.progress); err != nil {
			errs = append(errs, err)
		}
	}
	// The counters count this attempt's own emails: a lost write leaves the
	// day's figures short by them (logged), never counted twice. One write
	// a day: today's emails, the loops closed on the days their responses
	// came, and the cases contacted on the days they opened (today's in the
	// same write).
	if t.sent > 0 {
		t.addDay(h.day(now), now, closeloop.Counters{ClosingSent: t.sent})
	}
	for day, d := range t.days {
		if err := h.Store.AddCounters(ctx, d.at, d.c); err != nil {
			slog.ErrorContext(ctx, "count closing emails and loops closed", "improvement", id, "day", day, "err", err)
		}
	}
	return errors.Join(errs...)
}

// batchFreshness is how old the batch's read may be when a person's email
// is decided on it: a batch slowed by the sending rate reads again, so an
// unsubscribe or an erasure during the batch is seen within this long, as
// when each email read its own items.
const batchFreshness = 2 * time.Second

// batchView is a batch's read, read again when it is older than
// batchFreshness.
type batchView struct {
	read func() (closeloop.ClosingBatch, error)
	mu   sync.Mutex
	b    closeloop.ClosingBatch
	at   time.Time
}

func (v *batchView) current() (closeloop.ClosingBatch, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if !v.at.IsZero() && time.Since(v.at) < batchFreshness {
		return v.b, nil
	}
	b, err := v.read()
	if err != nil {
		return b, err
	}
	v.b, v.at = b, time.Now()
	return b, nil
}

// person settles one person of batch, whose responses on the theme are
// rs, newest first: counted when the batch claimed them before, else told
// once, quoting the newest response the improvement's audience includes.
//
// reread gives the batch's read again when it has grown old (batchView), to
// check the person once their email may go.
func (h *Handler) person(ctx context.Context, b closeloop.ClosingBatch, reread func() (closeloop.ClosingBatch, error), batch string, rs []Recipient, now time.Time, t *tally) error {
	im := b.Improvement
	if cl, ok := b.Claims[rs[0].ContactID]; ok {
		sv, ok := b.Surveys[cl.SurveyID]
		if !ok || sv.ContactID != rs[0].ContactID {
			return nil // erased since
		}
		if cl.Batch == "" && cl.State == closeloop.ClosingClaimed && slices.ContainsFunc(rs, func(r Recipient) bool { return r.SurveyID == cl.SurveyID }) {
			// An older release's claim left open, and this batch carries
			// its response: one batch takes it over and settles it.
			err := h.Store.AdoptClosing(ctx, im.ID, rs[0].ContactID, batch)
			if errors.Is(err, closeloop.ErrConflict) {
				return nil // another batch took it over
			}
			if err != nil {
				return err
			}
			cl.Batch, cl.Adopted = batch, true
		}
		if cl.Batch != batch {
			return nil // another batch's, or an older release's settled claim: they count it
		}
		return h.settle(ctx, b, batch, sv, cl, now, t)
	}
	for _, r := range rs {
		if _, told := b.Outcomes[r.SurveyID]; told {
			return nil // its email's outcome is recorded: the person was settled, even if the claim is gone since (erasure removes claims first)
		}
	}
	for _, r := range rs {
		sv, ok := b.Surveys[r.SurveyID]
		if !ok || sv.ContactID == "" || sv.ContactID != r.ContactID {
			continue // erased, or its contact moved to a keyed id since it was queued
		}
		if !slices.Contains(sv.Themes, im.Theme) || !im.Audience.Includes(sv, im.CreatedAt) {
			continue // the theme was taken off this response, or it is outside the audience
		}
		if c, ok := b.Contacts[sv.ContactID]; ok {
			return h.tell(ctx, b, reread, batch, sv, c, now, t)
		}
		return nil
	}
	return nil
}

// tell claims and sends the email to c quoting sv, and records it. Once the
// sending rate lets the email go, c is checked again on reread's batch (read
// again when older than batchFreshness): an unsubscribe during a long wait
// for the account's quota is honoured, counted as suppressed.
func (h *Handler) tell(ctx context.Context, b closeloop.ClosingBatch, reread func() (closeloop.ClosingBatch, error), batch string, sv closeloop.Survey, c closeloop.Contact, now time.Time, t *tally) error {
	im := b.Improvement
	if outOfTime(ctx) {
		// A claim the instance could not give back before its end would
		// count as failed, never resent: claim nobody this late.
		return fmt.Errorf("closing %s/%s: %w", im.ID, sv.ID, mail.ErrNoTime)
	}
	state := closeloop.ClosingClaimed
	if c.Suppressed != "" {
		state = closeloop.ClosingSuppressed
	}
	err := h.Store.ClaimClosing(ctx, im.ID, c.ID, sv.ID, batch, state, now)
	if errors.Is(err, closeloop.ErrDuplicate) {
		// Claimed since the batch was read: by a concurrent delivery of
		// this batch, which counts it, or another batch. Come back later.
		return fmt.Errorf("closing %s/%s: %w", im.ID, sv.ID, errClaimOpen)
	}
	if err != nil {
		return err
	}
	if state == closeloop.ClosingSuppressed {
		t.count(state)
		return nil
	}
	token, err := h.Links.Link(ctx, c.ID, c.Email, now, func(linkID string) error { return h.Store.CreateUnsubscribeLink(ctx, linkID, c.ID, now) })
	if err != nil {
		return h.release(ctx, im.ID, c.ID, err)
	}
	text, lang := im.TextFor(cmp.Or(sv.Locale, c.Locale))
	msg, err := mail.ClosingEmail(c.Email, mail.Closing{
		Name: c.Name, Locale: lang, Quote: sv.Comment,
		Summary: text.Summary, Detail: text.Message, Link: im.Link, Brand: h.Brand, UnsubscribeURL: h.BaseURL + "/u/" + token,
	})
	if err != nil {
		return h.record(ctx, im.ID, sv, closeloop.ClosingFailed, "", now, t)
	}
	msg.Tags = map[string]string{"closeloop_kind": "closing", "improvement_id": im.ID}
	msg.Recheck = func(context.Context) error {
		b, err := reread()
		if err != nil {
			return fmt.Errorf("%w: %w", mail.ErrRecheck, err)
		}
		if cur, ok := b.Contacts[c.ID]; !ok || cur.Suppressed != "" {
			return mail.ErrUnsubscribed
		}
		return nil
	}
	messageID, err := h.Mailer.Send(ctx, msg)
	if errors.Is(err, mail.ErrUnsubscribed) {
		return h.record(ctx, im.ID, sv, closeloop.ClosingSuppressed, "", now, t)
	}
	if errors.Is(err, mail.ErrTemporary) {
		return h.release(ctx, im.ID, c.ID, err)
	}
	if err != nil {
		slog.ErrorContext(ctx, "closing email refused", "improvement", im.ID, "survey", sv.ID, "err", err)
		return h.record(ctx, im.ID, sv, closeloop.ClosingFailed, "", now, t)
	}
	if err := h.record(ctx, im.ID, sv, closeloop.ClosingSent, messageID, now, t); err != nil {
		return err
	}
	// Telling an unhappy customer what changed reaches them: their case
	// (opened for detractor answers only, and kept when the answer was
	// revised upward) is contacted.
	if sv.WasDetractor() {
		c, opened, err := h.Store.MarkContacted(ctx, sv.ID, now)
		if err != nil {
			slog.ErrorContext(ctx, "mark case contacted", "survey", sv.ID, "err", err)
		} else if c != (closeloop.Counters{}) {
			// Counted with the batch's own, in its one write a day.
			t.mu.Lock()
			t.addDay(h.day(opened), opened, c)
			t.mu.Unlock()
		}
	}
	return nil
}

// record records the outcome of the email quoting sv and counts it. An
// outcome that could not be recorded fails the batch: its retry finds the
// claim open and settles it (settle).
func (h *Handler) record(ctx context.Context, impID string, sv closeloop.Survey, state closeloop.ClosingState, messageID string, now time.Time, t *tally) error {
	return h.recordAs(ctx, impID, sv, state, messageID, now, t, true)
}

// recordAs is record, counting the recipient too unless it was counted
// already (recipient false).
func (h *Handler) recordAs(ctx context.Context, impID string, sv closeloop.Survey, state closeloop.ClosingState, messageID string, now time.Time, t *tally, recipient bool) error {
	first, err := h.Store.RecordClosing(ctx, impID, sv.ID, state, messageID, now)
	if err != nil && !errors.Is(err, closeloop.ErrConflict) { // a conflict: erased since, or settled by another delivery
		return err
	}
	slog.InfoContext(ctx, "closing email", "improvement", impID, "survey", sv.ID, "state", state, "message", messageID)
	t.add(state, recipient)
	t.mu.Lock()
	defer t.mu.Unlock()
	if state == closeloop.ClosingSent {
		t.sent++
	}
	if first {
		t.addDay(h.day(sv.RespondedAt), sv.RespondedAt, closeloop.Counters{Loops: closeloop.LoopCounters{ThemeRaisersTold: 1, ToldHours: closeloop.HistOf(now.Sub(sv.RespondedAt))}})
	}
	return nil
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
			err := h.Slack.Post(ctx, text+"\nCase: "+caseURL)
			if errors.Is(err, slack.ErrOutcomeUnknown) {
				// Posting again could show it twice: at most once, as
				// for email.
				slog.WarnContext(ctx, "slack alert: no answer after the post; counted as posted, not retried", "case", c.ID, "err", err)
				return nil
			}
			return err
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
	read := time.Now()
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
		now := h.now()
		token, err := h.Links.Link(ctx, c.ID, c.Email, now, func(linkID string) error { return h.Store.CreateUnsubscribeLink(ctx, linkID, c.ID, now) })
		if err != nil {
			return err
		}
		m, err := mail.AckEmail(c.Email, c.Name, cmp.Or(sv.Locale, c.Locale), sv.Comment, h.BaseURL+"/u/"+token, h.Brand)
		if err != nil {
			return err
		}
		m.Tags = map[string]string{"closeloop_kind": "ack", "survey_id": id}
		m.Recheck = mail.StillMailable(read, c.ID, h.Store.GetContact)
		if _, err := h.Mailer.Send(ctx, m); errors.Is(err, mail.ErrUnsubscribed) {
			slog.InfoContext(ctx, "comment not acknowledged: unsubscribed while the email waited for the sending rate", "survey", id)
			return nil
		} else if err != nil {
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

// onlyNoTime reports whether err, and every error joined in it, is the
// sender's "no time left" (mail.ErrNoTime): nothing failed.
func onlyNoTime(err error) bool {
	if err == mail.ErrNoTime {
		return true
	}
	switch e := err.(type) {
	case interface{ Unwrap() []error }:
		errs := e.Unwrap()
		for _, x := range errs {
			if !onlyNoTime(x) {
				return false
			}
		}
		return len(errs) > 0
	case interface{ Unwrap() error }:
		return onlyNoTime(e.Unwrap())
	}
	return false
}

// outOfTime reports whether the invocation is too close to its deadline to
// start anything more: an email (mail.SendMargin) with its claim and record
// around it.
func outOfTime(ctx context.Context) bool {
	d, ok := ctx.Deadline()
	return ok && time.Until(d) < mail.SendMargin+2*time.Second
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

// settle counts a recipient this batch claimed before. A recorded outcome
// (or a suppressed claim) is counted. A claim still open within its lease
// belongs to a running attempt: the batch comes back later. A claim open
// past its lease belongs to an attempt that died, or that sent and could
// not record it: whether the email went is unknown, so it is recorded as
// failed and never resent (at most once, like the survey;
// docs/reliability.md).
//
// A claim an older release made (no batch) and left open is settled the
// same way by the batch that carries its response; that release counted
// the recipient on the improvement already, so only the outcome is added.
func (h *Handler) settle(ctx context.Context, b closeloop.ClosingBatch, batch string, sv closeloop.Survey, cl closeloop.ClosingClaim, now time.Time, t *tally) error {
	counted := cl.Adopted // the older release that claimed it counted the recipient
	if cl.State != closeloop.ClosingClaimed {
		t.add(cl.State, !counted)
		return nil
	}
	if o, ok := b.Outcomes[sv.ID]; ok {
		t.add(o, !counted)
		return nil
	}
	if now.Sub(cl.ClaimedAt) < ClaimLease {
		return fmt.Errorf("closing %s/%s: %w", b.Improvement.ID, sv.ID, errClaimOpen)
	}
	slog.WarnContext(ctx, "closing email: claim lease expired; outcome unknown, not resent", "improvement", b.Improvement.ID, "survey", sv.ID)
	return h.recordAs(ctx, b.Improvement.ID, sv, closeloop.ClosingFailed, "", now, t, !counted)
}

// release gives a claim back after a failure that sent nothing, so the
// retried batch can claim it again.
func (h *Handler) release(ctx context.Context, impID, contactID string, cause error) error {
	if err := h.Store.ReleaseClosing(ctx, impID, contactID); err != nil {
		return errors.Join(cause, err)
	}
	return cause
}

// day is t's date in the team's zone: the day its counters are on.
func (h *Handler) day(t time.Time) string {
	return t.In(cmp.Or(h.Zone, time.UTC)).Format(time.DateOnly)
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}
