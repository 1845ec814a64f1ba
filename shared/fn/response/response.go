// Package surveypage serves the pages customers reach from Closeloop's
// emails: the survey page (GET shows it, POST records the answer) and the
// unsubscribe page (GET shows it, POST unsubscribes, including RFC 8058
// one-click POSTs from mail clients).
//
// GET never changes anything: mail scanners open every link in an email,
// so a rating in a link only preselects the answer on the page.
package response

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/i18n"
	"github.com/closeloop/closeloop/shared/platform/logging"
	"github.com/closeloop/closeloop/shared/platform/web"
	"github.com/closeloop/closeloop/shared/queue"
)

// Store is what the pages need of the store.
type Store interface {
	GetSurvey(ctx context.Context, id string) (closeloop.Survey, error)
	Answer(ctx context.Context, sv closeloop.Survey, rating int, comment string, themes []string, now time.Time) (closeloop.Survey, error)
	ThemesToTag(ctx context.Context) ([]closeloop.Theme, error)
	UnsubscribeLink(ctx context.Context, id string) (contactID string, err error)
	LinkKey(ctx context.Context) (ed25519.PublicKey, error)
	SurveyLink(ctx context.Context, id string) (surveyID string, err error)
	CheckInLink(ctx context.Context, id string) (checkInID string, err error)
	GetCheckIn(ctx context.Context, id string) (closeloop.CheckIn, error)
	AnswerCheckIn(ctx context.Context, id, answer, comment string, now time.Time) (closeloop.CheckIn, error)
	AddCounters(ctx context.Context, t time.Time, c closeloop.Counters, dims ...closeloop.Dims) error
	GetContact(ctx context.Context, id string) (closeloop.Contact, error)
	SuppressContact(ctx context.Context, id, email, reason string) error
	OpenCase(ctx context.Context, c closeloop.Case) error
	GetOperator(ctx context.Context, email string) (closeloop.Operator, error)
}

// Handler serves /s/{token} and /u/{token}.
type Handler struct {
	Store       Store
	FollowUps   queue.Sender     // the queue that alerts the team of a new case and acknowledges comments
	Acknowledge string           // "detractors", "all" or "off"
	Brand       closeloop.Brand  // the team's name, colour and logo on every page
	linkKey     linkKeyCache     // checks signed unsubscribe links
	Now         func() time.Time // nil for time.Now
	mux         *http.ServeMux
}

// Paths are the path prefixes the handler serves, for a server that mounts
// several handlers on one mux (API Gateway routes the same paths to it).
var Paths = []string{"/s/", "/u/"}

// New returns the customer pages' handler over store; a detractor's
// answer opens a follow-up case and queues the team's alerts on followUps.
// The Lambda, the local dev server and `closeloop invoke` all build it here.
func New(cfg closeloop.Config, store Store, followUps queue.Sender) *Handler {
	h := &Handler{Store: store, FollowUps: followUps, Acknowledge: cfg.Acknowledge, Brand: cfg.Brand, mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /s/{token}", h.showSurvey)
	h.mux.HandleFunc("POST /s/{token}", h.answer)
	h.mux.HandleFunc("GET /u/{token}", h.showUnsubscribe)
	h.mux.HandleFunc("POST /u/{token}", h.unsubscribe)
	return h
}

//go:embed templates
var templateFS embed.FS

// pages is parsed on first render, not at start.
var pages = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("").Funcs(template.FuncMap{"printf": fmt.Sprintf, "lines": closeloop.Lines}).ParseFS(templateFS, "templates/*.html"))
})

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// page is what every template gets.
type page struct {
	T        *i18n.Texts
	Survey   closeloop.Survey
	Question string
	Low      string
	High     string
	Ratings  []int
	Selected int // -1 for none
	Comment  string
	Error    string
	Message  string
	Until    string
	Action   string
	Title    string          // the page's own title; the brand's name follows it
	Brand    closeloop.Brand // set by render
}

func (h *Handler) load(w http.ResponseWriter, r *http.Request) (closeloop.Survey, bool) {
	token := r.PathValue("token")
	if err := closeloop.CheckToken(token); err != nil {
		h.render(w, r, http.StatusNotFound, "message.html", notFoundPage(r))
		return closeloop.Survey{}, false
	}
	sv, err := h.Store.GetSurvey(r.Context(), closeloop.SurveyIDOf(token))
	if errors.Is(err, closeloop.ErrNotFound) {
		// A reminder's link: a second token of the same survey.
		var id string
		if id, err = h.Store.SurveyLink(r.Context(), closeloop.SurveyIDOf(token)); err == nil {
			sv, err = h.Store.GetSurvey(r.Context(), id)
		}
	}
	if errors.Is(err, closeloop.ErrNotFound) {
		// A check-in's link.
		if id, cerr := h.Store.CheckInLink(r.Context(), closeloop.SurveyIDOf(token)); cerr == nil {
			h.serveCheckIn(w, r, id)
			return sv, false
		} else if !errors.Is(cerr, closeloop.ErrNotFound) {
			err = cerr
		}
	}
	if errors.Is(err, closeloop.ErrNotFound) {
		h.render(w, r, http.StatusNotFound, "message.html", notFoundPage(r))
		return sv, false
	}
	if err != nil {
		h.fail(w, r, nil, err)
		return sv, false
	}
	if t := i18n.For(sv.Locale); sv.Erased() || sv.Expired(h.now()) {
		h.render(w, r, http.StatusGone, "message.html", page{T: t, Message: t.Expired, Title: t.TitleGone})
		return sv, false
	}
	return sv, true
}

func (h *Handler) surveyPage(sv closeloop.Survey, selected int, comment string) page {
	t := i18n.For(sv.Locale)
	return page{
		T: t, Survey: sv, Question: t.Question[sv.Kind], Low: t.Low[sv.Kind], High: t.High[sv.Kind],
		Ratings: sv.Kind.Ratings(), Selected: selected, Comment: comment,
		Until: sv.ExpiresAt.In(time.UTC).Format(t.DateLayout), Title: t.Question[sv.Kind],
	}
}

func (h *Handler) showSurvey(w http.ResponseWriter, r *http.Request) {
	sv, ok := h.load(w, r)
	if !ok {
		return
	}
	selected := -1
	if sv.Rating != nil {
		selected = *sv.Rating
	}
	if n, err := sv.Kind.ParseRating(r.URL.Query().Get("r")); err == nil {
		selected = n
	}
	p := h.surveyPage(sv, selected, sv.Comment)
	if sv.Rating != nil {
		p.Title = p.T.TitleAnswered // the page shows the answer, to change it
	}
	h.render(w, r, http.StatusOK, "survey.html", p)
}

// notFoundPage is the page of a link Closeloop does not know, in the
// browser's language.
func notFoundPage(r *http.Request) page {
	t := i18n.ForRequest("", r.Header.Get("Accept-Language"))
	return page{T: t, Message: t.NotFound, Title: t.TitleUnknown}
}

func (h *Handler) answer(w http.ResponseWriter, r *http.Request) {
	sv, ok := h.load(w, r)
	if !ok {
		return
	}
	t := i18n.For(sv.Locale)
	now := h.now()
	if err := web.ParseForm(w, r, MaxForm); err != nil {
		if web.Status(err) == http.StatusRequestEntityTooLarge {
			h.render(w, r, http.StatusRequestEntityTooLarge, "survey.html", withError(h.surveyPage(sv, -1, ""), t.TooLong))
			return
		}
		h.render(w, r, http.StatusBadRequest, "survey.html", withError(h.surveyPage(sv, -1, ""), t.FormUnreadable))
		return
	}
	comment := closeloop.CleanComment(r.PostForm.Get("comment"))
	rating, err := sv.Kind.ParseRating(r.PostForm.Get("rating"))
	if err != nil {
		lo, hi := sv.Kind.Scale()
		msg := fmt.Sprintf("%s (%d–%d)", t.BadRating, lo, hi)
		h.render(w, r, http.StatusBadRequest, "survey.html", withError(h.surveyPage(sv, -1, comment), msg))
		return
	}
	var themes []string
	if comment != "" {
		all, err := h.Store.ThemesToTag(r.Context())
		if err != nil {
			h.fail(w, r, nil, err)
			return
		}
		themes = closeloop.MatchThemes(comment, all)
	}
	stored, err := h.Store.Answer(r.Context(), sv, rating, comment, themes, now)
	if errors.Is(err, closeloop.ErrExpired) { // erased since it was read
		h.render(w, r, http.StatusGone, "message.html", page{T: t, Message: t.Expired, Title: t.TitleGone})
		return
	}
	if err != nil {
		h.fail(w, r, nil, err)
		return
	}
	slog.InfoContext(r.Context(), "response recorded", "survey", sv.ID, "ticket", sv.TicketID, "kind", sv.Kind, "rating", rating, "revised", sv.Rating != nil)
	if sv.Rating == nil {
		logging.Metrics(r.Context(), "response", map[string]int{closeloop.MetricResponsesRecorded: 1}) // the dashboard's answers
	}
	if sv.Kind.Detractor(rating) {
		h.openCase(r.Context(), stored, now)
	}
	if comment != "" && h.FollowUps != nil && (h.Acknowledge == "all" || h.Acknowledge == "detractors" && sv.Kind.Detractor(rating)) {
		// The closing function sends it, once, whatever how often this is posted.
		if err := h.FollowUps.Send(r.Context(), queue.Ack(sv.ID)); err != nil {
			slog.ErrorContext(r.Context(), "queue acknowledgement", "survey", sv.ID, "err", err)
		}
	}
	p := h.surveyPage(stored, rating, comment)
	p.Message, p.Title = t.Thanks, t.ThanksTitle
	if sv.Kind.Detractor(rating) {
		p.Message = t.ThanksLow // a person follows up: the case is open
	}
	h.render(w, r, http.StatusOK, "thanks.html", p)
}

// serveCheckIn shows (GET, with ?a=yes|no preselected; records nothing)
// or records (POST) the answer to check-in id. "No" opens a follow-up case
// and alerts the team, once.
func (h *Handler) serveCheckIn(w http.ResponseWriter, r *http.Request, id string) {
	ci, err := h.Store.GetCheckIn(r.Context(), id)
	if err != nil {
		if errors.Is(err, closeloop.ErrNotFound) {
			h.render(w, r, http.StatusNotFound, "message.html", notFoundPage(r))
			return
		}
		h.fail(w, r, nil, err)
		return
	}
	t := i18n.For(ci.Locale)
	if ci.ContactID == "" || ci.State != closeloop.CheckInSent {
		h.render(w, r, http.StatusGone, "message.html", page{T: t, Message: t.Expired, Title: t.TitleGone})
		return
	}
	if r.Method != http.MethodPost {
		answer := r.URL.Query().Get("a")
		if ci.Answer != "" && answer == "" {
			answer = ci.Answer
		}
		h.render(w, r, http.StatusOK, "checkin.html", page{T: t, Message: answer, Comment: ci.Comment, Title: t.CheckInAsk})
		return
	}
	if err := web.ParseForm(w, r, MaxForm); err != nil {
		h.render(w, r, web.Status(err), "checkin.html", page{T: t, Error: t.TooLong, Title: t.CheckInAsk})
		return
	}
	comment := closeloop.CleanComment(r.PostForm.Get("comment"))
	answer, err := closeloop.ParseCheckInAnswer(r.PostForm.Get("answer"))
	if err != nil {
		h.render(w, r, http.StatusBadRequest, "checkin.html", page{T: t, Error: t.CheckInPick, Comment: comment, Title: t.CheckInAsk})
		return
	}
	now := h.now()
	old, err := h.Store.AnswerCheckIn(r.Context(), id, answer, comment, now)
	if errors.Is(err, closeloop.ErrExpired) {
		h.render(w, r, http.StatusGone, "message.html", page{T: t, Message: t.Expired, Title: t.TitleGone})
		return
	}
	if err != nil {
		h.fail(w, r, nil, err)
		return
	}
	// The day's counters follow the answer, counted once however revised.
	var d closeloop.Counters
	for _, a := range []struct {
		answer string
		sign   int64
	}{{old.Answer, -1}, {answer, 1}} {
		switch a.answer {
		case "yes":
			d.CheckInsYes += a.sign
		case "no":
			d.CheckInsNo += a.sign
		}
	}
	if err := h.Store.AddCounters(r.Context(), cmp.Or(old.SentAt, now), d); err != nil {
		slog.ErrorContext(r.Context(), "count check-in answer", "ticket", ci.TicketID, "err", err)
	}
	slog.InfoContext(r.Context(), "check-in answered", "source", ci.Source, "ticket", ci.TicketID, "answer", answer)
	if answer == "no" {
		h.openFollowUp(r.Context(), closeloop.NewCheckInCase(ci, "", now), ci.TicketID)
	}
	h.render(w, r, http.StatusOK, "checkin_thanks.html", page{T: t, Comment: comment, Title: t.ThanksTitle})
}

// openCase opens the follow-up case of detractor answer sv, once however
// often it is revised or posted, and queues the team's alerts. Nothing here
// fails the customer's answer: a case that could not be opened is logged,
// and one whose alert could not be queued shows in the console anyway.
func (h *Handler) openCase(ctx context.Context, sv closeloop.Survey, now time.Time) {
	owner := ""
	if sv.AgentEmail != "" {
		// The ticket's agent owns the case when they can act on it.
		if op, err := h.Store.GetOperator(ctx, sv.AgentEmail); err == nil && op.Role.Allows(closeloop.RoleEditor) {
			owner = sv.AgentEmail
		}
	}
	h.openFollowUp(ctx, closeloop.NewCase(sv, owner, now), sv.TicketID)
}

// openFollowUp stores case c unless it exists, and queues the team's alerts.
func (h *Handler) openFollowUp(ctx context.Context, c closeloop.Case, ticketID string) {
	err := h.Store.OpenCase(ctx, c)
	if errors.Is(err, closeloop.ErrDuplicate) {
		return
	}
	if err != nil {
		slog.ErrorContext(ctx, "open case", "case", c.ID, "err", err)
		return
	}
	slog.InfoContext(ctx, "case opened", "case", c.ID, "ticket", ticketID)
	if c.Reason == "" { // an unhappy answer; a check-in's "no" is no detractor
		if err := h.Store.AddCounters(ctx, c.OpenedAt, closeloop.Counters{Loops: closeloop.LoopCounters{Detractors: 1}}); err != nil {
			slog.ErrorContext(ctx, "count case", "case", c.ID, "err", err) // the alert matters more than the figure
		}
	}
	if h.FollowUps == nil {
		return
	}
	if err := h.FollowUps.Send(ctx, queue.Alert(c.ID)); err != nil {
		slog.ErrorContext(ctx, "queue alert", "case", c.ID, "err", err)
	}
}

func withError(p page, msg string) page { p.Error = msg; return p }

// fail answers a customer's request that failed on our side with a page in
// their language (t; nil for their browser's) asking to try again, with
// the status and log line web.Error would give.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, t *i18n.Texts, err error) {
	code := web.Failed(w, r, err)
	if t == nil {
		t = i18n.ForRequest("", r.Header.Get("Accept-Language"))
	}
	h.render(w, r, code, "message.html", page{T: t, Message: t.TryAgain, Title: t.TitleTryAgain})
}

// Form limits: a survey answer is a rating and a comment of at most
// closeloop.MaxComment characters (45 KB percent-encoded in Japanese, the
// page's box holding 2,500 emoji at most); an unsubscribe POST carries at most
// "List-Unsubscribe=One-Click". Larger bodies get 413.
const (
	MaxForm            = 64 << 10
	MaxUnsubscribeForm = 4 << 10
)

// unsubscribeTarget finds the contact a /u/ token stands for: a signed
// unsubscribe token (every email since links were signed), the token of a
// stored unsubscribe link (emails before that), or, for survey emails sent
// before those, the survey's token. ok is false when it has answered
// already: 404 for an unknown, forged or expired token, or "you are
// unsubscribed" when the person was erased.
func (h *Handler) unsubscribeTarget(w http.ResponseWriter, r *http.Request) (contactID, locale string, ok bool) {
	token := r.PathValue("token")
	nf := func() (string, string, bool) {
		h.render(w, r, http.StatusNotFound, "message.html", notFoundPage(r))
		return "", "", false
	}
	if closeloop.IsSignedToken(token) {
		pub, err := h.linkKey.get(r.Context(), h.Store)
		if errors.Is(err, closeloop.ErrNotFound) {
			return nf() // no link was ever signed here
		}
		if err != nil {
			h.fail(w, r, nil, err)
			return "", "", false
		}
		cid, err := closeloop.UnsubscribeContact(pub, token, h.now())
		if err != nil {
			return nf()
		}
		// An erased person's link went with them, as a stored link did.
		c, err := h.Store.GetContact(r.Context(), cid)
		if errors.Is(err, closeloop.ErrNotFound) || err == nil && c.Suppressed == closeloop.SuppressedErased {
			return nf()
		}
		if err != nil {
			h.fail(w, r, nil, err)
			return "", "", false
		}
		return cid, c.Locale, true
	}
	if closeloop.CheckToken(token) != nil {
		return nf()
	}
	id := closeloop.SurveyIDOf(token)
	cid, err := h.Store.UnsubscribeLink(r.Context(), id)
	if err == nil {
		return cid, "", true
	}
	if !errors.Is(err, closeloop.ErrNotFound) {
		h.fail(w, r, nil, err)
		return "", "", false
	}
	sv, err := h.Store.GetSurvey(r.Context(), id)
	if errors.Is(err, closeloop.ErrNotFound) {
		return nf()
	}
	if err != nil {
		h.fail(w, r, nil, err)
		return "", "", false
	}
	if sv.Erased() {
		t := i18n.For(sv.Locale)
		h.render(w, r, http.StatusOK, "message.html", page{T: t, Message: t.UnsubDone, Title: t.TitleUnsub})
		return "", "", false
	}
	return sv.ContactID, sv.Locale, true
}

func (h *Handler) showUnsubscribe(w http.ResponseWriter, r *http.Request) {
	cid, locale, ok := h.unsubscribeTarget(w, r)
	if !ok {
		return
	}
	c, err := h.Store.GetContact(r.Context(), cid)
	// A stored link names no language: the person's, else their browser's.
	t := i18n.ForRequest(cmp.Or(locale, c.Locale), r.Header.Get("Accept-Language"))
	if err == nil && c.Suppressed != "" {
		h.render(w, r, http.StatusOK, "message.html", page{T: t, Message: t.UnsubDone, Title: t.TitleUnsub})
		return
	}
	h.render(w, r, http.StatusOK, "unsubscribe.html", page{T: t, Message: t.UnsubExplain, Title: t.UnsubTitle})
}

// unsubscribe serves both the page's button and RFC 8058 one-click POSTs
// (body "List-Unsubscribe=One-Click"); either unsubscribes. It is idempotent.
func (h *Handler) unsubscribe(w http.ResponseWriter, r *http.Request) {
	if err := web.ParseForm(w, r, MaxUnsubscribeForm); err != nil {
		t := i18n.ForRequest("", r.Header.Get("Accept-Language"))
		h.render(w, r, web.Status(err), "message.html", page{T: t, Message: t.NotFound, Title: t.TitleUnknown})
		return
	}
	cid, locale, ok := h.unsubscribeTarget(w, r)
	if !ok {
		return
	}
	c, err := h.Store.GetContact(r.Context(), cid)
	t := i18n.ForRequest(cmp.Or(locale, c.Locale), r.Header.Get("Accept-Language"))
	if errors.Is(err, closeloop.ErrNotFound) {
		// Erased: there is nobody left to mail.
		h.render(w, r, http.StatusOK, "message.html", page{T: t, Message: t.UnsubDone, Title: t.TitleUnsub})
		return
	}
	if err != nil {
		h.fail(w, r, nil, err)
		return
	}
	if c.Suppressed == "" {
		if err := h.Store.SuppressContact(r.Context(), cid, c.Email, "unsubscribed"); err != nil {
			h.fail(w, r, nil, err)
			return
		}
		slog.InfoContext(r.Context(), "unsubscribed", "contact", cid)
	}
	h.render(w, r, http.StatusOK, "message.html", page{T: t, Message: t.UnsubDone, Title: t.TitleUnsub})
}

// renderCheck, set by the package's tests only, sees every page before it
// is rendered (shared/local/tmplcheck walks all its branches).
var renderCheck func(name string, p page)

func (h *Handler) render(w http.ResponseWriter, r *http.Request, code int, name string, p page) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src https:; form-action 'self'; base-uri 'none'")
	w.WriteHeader(code)
	p.Brand = h.Brand
	if p.Brand.Color == "" {
		p.Brand.Color = closeloop.DefaultBrandColor
	}
	if renderCheck != nil {
		renderCheck(name, p)
	}
	if err := pages().ExecuteTemplate(w, name, p); err != nil {
		slog.ErrorContext(r.Context(), "render page", "page", name, "err", err)
	}
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// linkKeyCache holds the public key that checks unsubscribe links, read
// from the table once it has been published, then kept.
type linkKeyCache struct {
	mu  sync.Mutex
	pub ed25519.PublicKey
}

func (c *linkKeyCache) get(ctx context.Context, store Store) (ed25519.PublicKey, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pub != nil {
		return c.pub, nil
	}
	pub, err := store.LinkKey(ctx)
	if err != nil {
		return nil, err
	}
	c.pub = pub
	return pub, nil
}
