// Package digest is the weekly digest: every Monday morning in the team's
// zone, one email to the team's address with last week's figures against
// the week before. The schedule fires every hour; the digest goes on the
// first run from 08:00 on Monday, once per week however often it fires.
package digest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/mail"
)

// Store is what the digest needs of the store.
type Store interface {
	CountersBetween(ctx context.Context, from, to time.Time) ([]closeloop.DayCounters, error)
	Breakdown(ctx context.Context, from, to time.Time, name string) (map[string]closeloop.Counters, error)
	Cases(ctx context.Context, status closeloop.CaseStatus) ([]closeloop.Case, error)
	Claim(ctx context.Context, name string, now time.Time) error
	Release(ctx context.Context, name string) error
}

// Mailer sends one email.
type Mailer interface {
	Send(ctx context.Context, m mail.Message) (string, error)
}

// Handler sends the digest.
type Handler struct {
	Store   Store
	Mailer  Mailer
	To      string         // the team's address (CLOSELOOP_ALERT_EMAIL); no digest when empty
	Zone    *time.Location // the team's zone
	BaseURL string
	Brand   closeloop.Brand
	Hour    int              // the hour of Monday from which it goes; 0 for DefaultHour
	Now     func() time.Time // nil for time.Now
}

// DefaultHour is when on Monday the digest goes, in the team's zone.
const DefaultHour = 8

// New returns the digest over store, sending with mailer to cfg's team
// address. The Lambda, the local dev server and `closeloop invoke` all build
// it here.
func New(cfg closeloop.Config, store Store, mailer Mailer) *Handler {
	return &Handler{Store: store, Mailer: mailer, To: cfg.AlertEmail, Zone: cmp.Or(cfg.TimeZone, time.UTC), BaseURL: cfg.BaseURL, Brand: cfg.Brand}
}

// Result says what one run did.
type Result struct {
	Sent    bool   `json:"sent"`
	Week    string `json:"week,omitempty"` // the Monday of the week summarised
	Skipped string `json:"skipped,omitempty"`
}

// Run sends last week's digest if it is Monday from the digest's hour on
// and it has not gone yet. An error means it did not go and the next run
// tries again.
func (h *Handler) Run(ctx context.Context) (Result, error) {
	now := h.now()
	local := now.In(h.Zone)
	if h.To == "" {
		return Result{Skipped: "no team address (CLOSELOOP_ALERT_EMAIL)"}, nil
	}
	if local.Weekday() != time.Monday || local.Hour() < cmp.Or(h.Hour, DefaultHour) {
		return Result{Skipped: "not Monday morning yet"}, nil
	}
	monday, sunday := closeloop.DigestWeek(now, h.Zone)
	res := Result{Week: monday.Format(time.DateOnly)}
	claim := "digest/" + res.Week
	err := h.Store.Claim(ctx, claim, now)
	if errors.Is(err, closeloop.ErrDuplicate) {
		res.Skipped = "sent already"
		return res, nil
	}
	if err != nil {
		return res, err
	}
	if err := h.send(ctx, monday, sunday); err != nil {
		// Nothing went: give the week back so the next hourly run tries again.
		if rerr := h.Store.Release(ctx, claim); rerr != nil {
			return res, errors.Join(err, rerr)
		}
		return res, err
	}
	slog.InfoContext(ctx, "digest sent", "week", res.Week)
	res.Sent = true
	return res, nil
}

func (h *Handler) send(ctx context.Context, monday, sunday time.Time) error {
	this, err := h.total(ctx, monday, sunday)
	if err != nil {
		return err
	}
	prev, err := h.total(ctx, monday.AddDate(0, 0, -7), sunday.AddDate(0, 0, -7))
	if err != nil {
		return err
	}
	themes, err := h.Store.Breakdown(ctx, monday, sunday, "theme")
	if err != nil {
		return err
	}
	open, err := h.Store.Cases(ctx, closeloop.CaseOpen)
	if err != nil {
		return err
	}
	d := closeloop.NewDigest(monday, this, prev, themes, len(open))
	m, err := mail.DigestEmail(h.To, d, h.BaseURL+"/console/cases", h.Brand)
	if err != nil {
		return err
	}
	m.Tags = map[string]string{"closeloop_kind": "digest"}
	if _, err := h.Mailer.Send(ctx, m); err != nil {
		return fmt.Errorf("send digest: %w", err)
	}
	return nil
}

func (h *Handler) total(ctx context.Context, from, to time.Time) (closeloop.Counters, error) {
	days, err := h.Store.CountersBetween(ctx, from, to)
	var c closeloop.Counters
	for _, d := range days {
		c = c.Add(d.Counters)
	}
	return c, err
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}
