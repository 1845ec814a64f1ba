// Package webhook is the POST /webhooks/{source} handler: it verifies a
// helpdesk delivery, parses it, and applies each event to its ticket with a
// conditional write, so duplicated, reordered and concurrent deliveries
// schedule at most one survey per ticket. It answers fast and sends nothing;
// the sweep sends.
package webhook

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/helpdesk"
	"github.com/closeloop/closeloop/shared/platform/logging"
	"github.com/closeloop/closeloop/shared/platform/web"
)

// Store is what the handler needs of the store.
type Store interface {
	GetTicket(ctx context.Context, source, id string) (*closeloop.Ticket, error)
	SaveTicket(ctx context.Context, t *closeloop.Ticket, prev int64) error
	UpsertContact(ctx context.Context, c closeloop.Contact) error
	ContactID(normalizedEmail string) (string, error)
	AddCounters(ctx context.Context, t time.Time, c closeloop.Counters, dims ...closeloop.Dims) error
	NoteSolve(ctx context.Context, id string, solve closeloop.Solve) (closeloop.Solve, error)
	ScheduleCheckIn(ctx context.Context, ci closeloop.CheckIn) error
}

// Handler serves POST /webhooks/{source}.
type Handler struct {
	Store   Store
	Secrets map[string]string // per source
	Policy  closeloop.Policy
	// CheckInDelay is how long after a solve the check-in goes; 0 for none.
	CheckInDelay time.Duration
	// PerSource overrides Policy and CheckInDelay for some helpdesks.
	PerSource map[string]closeloop.SourceSettings
	Now       func() time.Time // nil for time.Now
	mux       *http.ServeMux
}

// Paths are the path prefixes the handler serves, for a server that mounts
// several handlers on one mux (API Gateway routes the same paths to it).
var Paths = []string{"/webhooks/"}

// New returns the webhook handler for cfg's secrets and survey policy over
// store. The Lambda, the local dev server and `closeloop invoke` all build
// it here.
func New(cfg closeloop.Config, store Store) *Handler {
	h := &Handler{
		Store:        store,
		Secrets:      cfg.Secrets,
		Policy:       closeloop.Policy{Delay: cfg.SurveyDelay, Kind: cfg.SurveyKind},
		CheckInDelay: cfg.CheckInDelay,
		PerSource:    cfg.PerSource,
		mux:          http.NewServeMux(),
	}
	h.mux.HandleFunc("POST /webhooks/{source}", h.receive)
	return h
}

// Reply is the JSON answer to a delivery. Action is the outcome of the last
// event in it; Actions has one entry per event when a delivery carries
// several (HubSpot batches).
type Reply struct {
	Action  closeloop.Action   `json:"action"`
	Actions []closeloop.Action `json:"actions,omitempty"`
}

// maxAttempts bounds the read-decide-write loop under contention; between
// attempts the loop backs off a little, with jitter, so concurrent
// deliveries for one ticket take turns instead of colliding again.
const maxAttempts = 20

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// receive answers one delivery: 404 for an unknown source, 413 for a body
// over 1 MiB, 401 for a bad signature, 400 for a body it cannot use, and 200
// with a Reply otherwise. Nothing is stored unless the delivery is verified
// and valid.
func (h *Handler) receive(w http.ResponseWriter, r *http.Request) {
	source := r.PathValue("source")
	rc, ok := helpdesk.New(source, h.Secrets[source])
	if !ok {
		web.Error(w, r, closeloop.Errorf(closeloop.ErrNotFound, "unknown source %q", source))
		return
	}
	if hs, ok := rc.(helpdesk.HubSpot); ok {
		hs.ClosedStages = h.PerSource[source].Stages()
		rc = hs
	}
	body, err := web.ReadBody(w, r)
	if err != nil {
		web.Error(w, r, err)
		return
	}
	now := h.now()
	// HubSpot signs the URI it called; never trust a client's value for it.
	r.Header.Set(helpdesk.RequestURIHeader, publicURI(r))
	if err := rc.Verify(r.Header, body, now); err != nil {
		slog.WarnContext(r.Context(), "webhook refused", "source", source, "reason", err.Error())
		// Alarmed: a secret mistyped, or rotated on one side only, stops
		// every survey of that helpdesk with no error anywhere else.
		logging.Metrics(r.Context(), "webhook", map[string]int{closeloop.MetricWebhooksRejected: 1})
		web.Error(w, r, err)
		return
	}
	if ch, ok := rc.(helpdesk.Challenger); ok {
		if reply, ok := ch.Challenge(r.Header, body); ok {
			ct := "text/plain; charset=utf-8"
			if len(reply) > 0 && reply[0] == '{' && json.Valid(reply) {
				ct = "application/json"
			}
			w.Header().Set("Content-Type", ct)
			w.Write(reply)
			return
		}
	}
	events, err := rc.Parse(r.Header, body, now)
	if err != nil {
		web.Error(w, r, err)
		return
	}
	reply := Reply{Action: closeloop.ActionIgnored}
	for _, ev := range events {
		action, err := h.Apply(r.Context(), ev, now)
		if err != nil {
			web.Error(w, r, err)
			return
		}
		slog.InfoContext(r.Context(), "webhook", "source", source, "ticket", ev.TicketID, "event", ev.EventID, "status", ev.Status, "action", action)
		reply.Action = action
		if len(events) > 1 {
			reply.Actions = append(reply.Actions, action)
		}
	}
	web.JSON(w, http.StatusOK, reply)
}

// Apply applies one verified event to its ticket: read, decide
// (closeloop.Apply), write on the condition that nobody wrote in between,
// and on a lost race read and decide again. It is safe to call any number
// of times for the same event.
func (h *Handler) Apply(ctx context.Context, ev closeloop.TicketEvent, now time.Time) (closeloop.Action, error) {
	if err := ev.Validate(now); err != nil {
		return "", err
	}
	var contact closeloop.Contact
	lookup := ev.Status == closeloop.StatusSolved && ev.Customer.Email == "" && ev.Customer.ID != ""
	// A customer named by id only is looked up by the sweep before the
	// survey goes, even when the source has no API credential yet: the
	// sweep retries for a while, then lists the survey as failed with the
	// variables to set.
	// A delivery with the address but not the language (or zone) is
	// completed by a look-up in the sweep, where the source has one.
	// (The webhook holds no helpdesk API credential: the sweep skips the
	// look-up where the source has none.)
	enrich := ev.Status == closeloop.StatusSolved && !lookup && ev.Customer.ID != "" && helpdesk.Lacks(ev.Source, ev.Customer)
	if ev.Status == closeloop.StatusSolved && !lookup {
		addr, err := closeloop.NormalizeEmail(ev.Customer.Email)
		if err != nil {
			return "", closeloop.Errorf(closeloop.ErrInvalid, "customer email: %v", err)
		}
		id, err := h.Store.ContactID(addr)
		if err != nil {
			return "", err
		}
		contact = closeloop.Contact{ID: id, Email: addr, Name: ev.Customer.Name, Locale: ev.Customer.Locale}
	}
	for attempt := 0; attempt < maxAttempts; attempt++ {
		t, err := h.Store.GetTicket(ctx, ev.Source, ev.TicketID)
		if err != nil && !errors.Is(err, closeloop.ErrNotFound) {
			return "", err
		}
		var prev int64
		if t != nil {
			prev = t.Version
		}
		policy, checkInDelay := h.PerSource[ev.Source].Apply(h.Policy, h.CheckInDelay)
		action, next := closeloop.Apply(t, ev, contact.ID, policy, now)
		if next == nil {
			return action, nil
		}
		if action == closeloop.ActionScheduled && (lookup || enrich) {
			// Answer the helpdesk now; the sweep looks the customer up
			// before the survey is due.
			next.LookupID = ev.Customer.ID
		}
		if action == closeloop.ActionScheduled && !lookup {
			// The contact is stored before the survey that needs it, so a
			// survey is never scheduled for a contact the store cannot name.
			// Duplicates and reopens write no contact.
			// An erased person's contact refuses the address: nothing
			// about them is stored again and nothing is scheduled.
			err := h.Store.UpsertContact(ctx, contact)
			if errors.Is(err, closeloop.ErrErased) {
				return closeloop.ActionIgnored, nil
			}
			if err != nil {
				return "", err
			}
		}
		err = h.Store.SaveTicket(ctx, next, prev)
		if errors.Is(err, closeloop.ErrConflict) {
			select {
			case <-ctx.Done():
				return "", ctx.Err()
			case <-time.After(time.Duration(1+rand.IntN(5*(attempt+1))) * time.Millisecond):
			}
			continue
		}
		if err != nil {
			return "", err
		}
		h.count(ctx, t, next, ev.Tags)
		if action == closeloop.ActionScheduled && checkInDelay > 0 && next.ContactID != "" {
			// The check-in is scheduled after the survey it follows; the sweep
			// skips it if the ticket has reopened by then.
			ci := closeloop.CheckIn{ID: closeloop.CheckInID(next.Source, next.TicketID), Source: next.Source, TicketID: next.TicketID,
				ContactID: next.ContactID, Locale: next.Locale, TimeZone: next.TimeZone, Subject: next.Subject, DueAt: closeloop.CheckInDue(next.StatusAt, now, checkInDelay)}
			if err := h.Store.ScheduleCheckIn(ctx, ci); err != nil && !errors.Is(err, closeloop.ErrDuplicate) {
				return "", err
			}
		}
		return action, nil
	}
	return "", fmt.Errorf("apply event %s to ticket %s: %w", ev.EventID, ev.TicketID, closeloop.ErrConflict)
}

// count adds what the applied event changes to the reports: a first solve,
// a first reopen after it (on the solve's day), and, when the customer's
// previous ticket was solved within 30 days before this one, a repeat
// contact on that ticket's day. Counting is best effort: the event is
// stored already, and a failure is logged, not retried.
func (h *Handler) count(ctx context.Context, prev, next *closeloop.Ticket, tags []string) {
	c, day := closeloop.SolveCounts(prev, next)
	if c == (closeloop.Counters{}) {
		return
	}
	agent := cmp.Or(next.AgentEmail, next.AgentName)
	if err := h.Store.AddCounters(ctx, day, c, closeloop.Dims{Source: next.Source, Agent: agent}); err != nil {
		slog.ErrorContext(ctx, "count ticket", "source", next.Source, "ticket", next.TicketID, "err", err)
		return
	}
	if c.Solved == 0 || next.ContactID == "" {
		return
	}
	solve := closeloop.Solve{Ticket: next.Source + "#" + next.TicketID, Agent: agent, Tags: tags, At: next.SolvedAt}
	prevSolve, err := h.Store.NoteSolve(ctx, next.ContactID, solve)
	if err != nil {
		slog.ErrorContext(ctx, "note solve", "source", next.Source, "ticket", next.TicketID, "err", err)
		return
	}
	r := closeloop.RepeatCounts(prevSolve, solve)
	if r == (closeloop.Counters{}) {
		return
	}
	source, _, _ := strings.Cut(prevSolve.Ticket, "#")
	if err := h.Store.AddCounters(ctx, prevSolve.At, r, closeloop.Dims{Source: source, Agent: prevSolve.Agent}); err != nil {
		slog.ErrorContext(ctx, "count repeat contact", "source", next.Source, "ticket", next.TicketID, "err", err)
	}
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// publicURI is the absolute URI the client called.
func publicURI(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil || r.URL.Scheme == "https" || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	return scheme + "://" + r.Host + r.URL.RequestURI()
}
