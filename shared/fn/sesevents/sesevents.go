// Package sesevents suppresses addresses that SES reports as bouncing
// permanently or complaining, so Closeloop never mails them again. Events
// arrive from the configuration set through EventBridge (or SNS) and SQS.
package sesevents

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/closeloop/closeloop/shared/closeloop"
)

// Store is what the handler needs of the store.
type Store interface {
	Suppress(ctx context.Context, email, reason string) error
}

// Event is the part of an SES event (or identity notification) used here.
type Event struct {
	EventType        string `json:"eventType"`        // configuration-set events
	NotificationType string `json:"notificationType"` // identity notifications
	Bounce           *struct {
		BounceType        string      `json:"bounceType"`
		BouncedRecipients []recipient `json:"bouncedRecipients"`
	} `json:"bounce"`
	Complaint *struct {
		ComplainedRecipients []recipient `json:"complainedRecipients"`
	} `json:"complaint"`
}

type recipient struct {
	EmailAddress string `json:"emailAddress"`
}

// envelope is what may wrap an SES event: an SNS notification (when raw
// message delivery is off) or an EventBridge event (SES's event bus
// destination, which the stack uses).
type envelope struct {
	Type    string          `json:"Type"`    // SNS: "Notification"
	Message string          `json:"Message"` // SNS: the SES event as a string
	Source  string          `json:"source"`  // EventBridge: "aws.ses"
	Detail  json.RawMessage `json:"detail"`  // EventBridge: the SES event
}

// Handler is the ses-events function.
type Handler struct {
	Store Store
}

// New returns the ses-events function over store. The Lambda and
// `closeloop invoke` build it here.
func New(store Store) *Handler { return &Handler{Store: store} }

// Suppressions returns the addresses ev asks to suppress, with the reason:
// every recipient of a permanent bounce or a complaint. Transient bounces
// suppress nobody.
func Suppressions(ev Event) map[string]string {
	out := map[string]string{}
	kind := strings.ToLower(ev.EventType + ev.NotificationType)
	if kind == "bounce" && ev.Bounce != nil && ev.Bounce.BounceType == "Permanent" {
		for _, r := range ev.Bounce.BouncedRecipients {
			out[r.EmailAddress] = "bounce"
		}
	}
	if kind == "complaint" && ev.Complaint != nil {
		for _, r := range ev.Complaint.ComplainedRecipients {
			out[r.EmailAddress] = "complaint"
		}
	}
	return out
}

// Parse reads one SQS body: an SES event, raw, inside an SNS notification,
// or inside an EventBridge event.
func Parse(body string) (Event, error) {
	var env envelope
	if err := json.Unmarshal([]byte(body), &env); err == nil {
		switch {
		case env.Type == "Notification" && env.Message != "":
			body = env.Message
		case env.Source == "aws.ses" && len(env.Detail) > 0:
			body = string(env.Detail)
		}
	}
	var ev Event
	err := json.Unmarshal([]byte(body), &ev)
	return ev, err
}

// Handle is the SQS handler; a message whose suppression could not be stored
// is retried.
func (h *Handler) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var res events.SQSEventResponse
	for _, rec := range ev.Records {
		e, err := Parse(rec.Body)
		if err != nil {
			slog.ErrorContext(ctx, "ses event: unusable message dropped", "message", rec.MessageId)
			continue
		}
		for addr, reason := range Suppressions(e) {
			err := h.Store.Suppress(ctx, addr, reason)
			if errors.Is(err, closeloop.ErrInvalid) {
				slog.WarnContext(ctx, "ses event: not an address", "message", rec.MessageId)
				continue
			}
			if err != nil {
				slog.ErrorContext(ctx, "ses event", "message", rec.MessageId, "err", err)
				res.BatchItemFailures = append(res.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
				break
			}
			slog.InfoContext(ctx, "address suppressed", "message", rec.MessageId, "reason", reason)
		}
	}
	return res, nil
}
