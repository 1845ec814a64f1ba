// Package api is the operators' JSON API under /api: responses, themes,
// improvements with their send progress, metrics, CSV export and contact
// erasure. Every call needs the admin bearer token.
package api

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/closeloop/closeloop/shared/mail"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/fn/closing"
	"github.com/closeloop/closeloop/shared/platform/web"
	"github.com/closeloop/closeloop/shared/queue"
)

// Store is what the API and the console need of the store.
type Store interface {
	LookupFailures(ctx context.Context, now time.Time, limit int) ([]closeloop.LookupFailure, error)
	ListResponses(ctx context.Context, f closeloop.ResponseFilter) ([]closeloop.Survey, string, error)
	GetSurvey(ctx context.Context, id string) (closeloop.Survey, error)
	GetSurveys(ctx context.Context, ids []string) (map[string]closeloop.Survey, error)
	GetContact(ctx context.Context, id string) (closeloop.Contact, error)
	PutTheme(ctx context.Context, t closeloop.Theme) (closeloop.Theme, error)
	Themes(ctx context.Context) ([]closeloop.Theme, error)
	ThemeCount(ctx context.Context, theme string) (int, error)
	DeleteTheme(ctx context.Context, theme string) error
	RenameTheme(ctx context.Context, from, to string, now time.Time) error
	ThemeMembers(ctx context.Context, theme, after string, each func(closeloop.ThemeMember) error) error
	SetThemes(ctx context.Context, id string, themes []string) (closeloop.Survey, error)
	CreateImprovement(ctx context.Context, im closeloop.Improvement) error
	GetImprovement(ctx context.Context, id string) (closeloop.Improvement, error)
	PutPreview(ctx context.Context, id string, p closeloop.Preview, expires time.Time) error
	GetPreview(ctx context.Context, id string, now time.Time) (closeloop.Preview, error)
	Improvements(ctx context.Context, limit int) ([]closeloop.Improvement, error)
	CountersBetween(ctx context.Context, from, to time.Time) ([]closeloop.DayCounters, error)
	BreakdownCountersBetween(ctx context.Context, from, to time.Time, name, value string) ([]closeloop.DayCounters, error)
	Breakdown(ctx context.Context, from, to time.Time, name string) (map[string]closeloop.Counters, error)
	Erase(ctx context.Context, email string) (int, error)

	PutOperator(ctx context.Context, op closeloop.Operator) error
	GetOperator(ctx context.Context, email string) (closeloop.Operator, error)
	Operators(ctx context.Context) ([]closeloop.Operator, error)
	DeleteOperator(ctx context.Context, email string) error
	CountLoginLink(ctx context.Context, addrID string, now time.Time) (int, error)
	CreateLoginLink(ctx context.Context, id, email string, expires time.Time) error
	PeekLoginLink(ctx context.Context, id string, now time.Time) error
	ConsumeLoginLink(ctx context.Context, id string, now time.Time) (string, error)
	CreateSession(ctx context.Context, s closeloop.Session) error
	GetSession(ctx context.Context, id string) (closeloop.Session, error)
	TouchSession(ctx context.Context, id string, now time.Time) error
	DeleteSession(ctx context.Context, id string) error
	PutAPIToken(ctx context.Context, t closeloop.APIToken) error
	GetAPIToken(ctx context.Context, id string) (closeloop.APIToken, error)
	APITokens(ctx context.Context) ([]closeloop.APIToken, error)
	DeleteAPIToken(ctx context.Context, id string) error
	AddAudit(ctx context.Context, e closeloop.AuditEntry) error
	Cases(ctx context.Context, status closeloop.CaseStatus) ([]closeloop.Case, error)
	GetCase(ctx context.Context, id string) (closeloop.Case, error)
	UpdateCase(ctx context.Context, id string, change closeloop.CaseChange, by string, now time.Time) (closeloop.Case, error)
	Claim(ctx context.Context, name string, now time.Time) error
	Release(ctx context.Context, name string) error
	Audit(ctx context.Context, now time.Time, cursor string, limit int) ([]closeloop.AuditEntry, string, error)
	MigrateContactIDs(ctx context.Context, cursor string, limit int) (closeloop.Migration, error)
	ImportResponse(ctx context.Context, r closeloop.ImportedResponse) (bool, error)
	CustomerEvent(ctx context.Context, ev closeloop.CustomerEvent) (string, error)
	Retention(ctx context.Context, from, to time.Time) ([]closeloop.CohortRow, error)
	CaseStatuses(ctx context.Context, ids []string) (map[string]closeloop.CaseStatus, error)
	GetTicket(ctx context.Context, source, id string) (*closeloop.Ticket, error)
	Suppress(ctx context.Context, email, reason string) error
}

// Mailer sends one email: console sign-in links and test announcements.
type Mailer interface {
	Send(ctx context.Context, m mail.Message) (string, error)
}

// Handler serves /api/ and /console/.
type Handler struct {
	Store  Store
	Queue  queue.Sender // the closing queue
	Mailer Mailer
	Config closeloop.Config
	// DeadLetters are the dead-letter queues by name ("closing",
	// "ses-events"), for closeloop dlq.
	DeadLetters map[string]queue.DeadLetters
	Now         func() time.Time
	// SignInFloor overrides the package's SignInFloor (tests).
	SignInFloor time.Duration
	mux         *http.ServeMux
}

// Paths are the path prefixes the handler serves, for a server that mounts
// several handlers on one mux (API Gateway routes the same paths to it).
var Paths = []string{"/api/", "/console", "/console/"}

// New returns the operators' API and console over store, queueing
// improvements on closingQueue and sending sign-in links with mailer, with
// cfg's admin token, first admin and base URL. The Lambda, the local dev
// server and `closeloop invoke` all build it here.
func New(cfg closeloop.Config, store Store, closingQueue queue.Sender, mailer Mailer, deadLetters map[string]queue.DeadLetters) *Handler {
	h := &Handler{Store: store, Queue: closingQueue, Mailer: mailer, Config: cfg, DeadLetters: deadLetters, mux: http.NewServeMux()}
	m := h.mux
	viewer, editor, admin := closeloop.RoleViewer, closeloop.RoleEditor, closeloop.RoleAdmin
	api := func(pattern string, need closeloop.Role, f http.HandlerFunc) { m.Handle(pattern, h.apiAuth(need, f)) }
	api("GET /api/responses", viewer, h.listResponses)
	api("GET /api/responses/{id}", viewer, h.getResponse)
	api("PUT /api/responses/{id}/themes", editor, h.setThemes)
	api("GET /api/themes", viewer, h.listThemes)
	api("POST /api/themes", editor, h.putTheme)
	api("GET /api/improvements", viewer, h.listImprovements)
	api("POST /api/improvements", editor, h.createImprovement)
	api("GET /api/improvements/{id}", viewer, h.getImprovement)
	api("GET /api/metrics", viewer, h.metrics)
	api("DELETE /api/contacts/{email}", admin, h.erase)
	api("GET /api/operators", admin, h.listOperators)
	api("POST /api/operators", admin, h.addOperator)
	api("DELETE /api/operators/{email}", admin, h.deleteOperator)
	api("GET /api/tokens", viewer, h.listTokens)
	api("POST /api/tokens", viewer, h.createToken)
	api("DELETE /api/tokens/{id}", viewer, h.deleteToken)
	api("GET /api/audit", admin, h.listAudit)
	api("GET /api/me", viewer, h.me)
	api("GET /api/dlq/{queue}", admin, h.listDeadLetters)
	api("POST /api/dlq/{queue}/replay", admin, h.replayDeadLetters)
	api("POST /api/migrations/contact-ids", admin, h.migrateContactIDs)
	api("POST /api/import", admin, h.importRecords)
	api("POST /api/customers/events", editor, h.customerEvents)
	api("GET /api/tickets/{source}/{id}", viewer, h.getTicket)
	api("GET /api/lookups", viewer, h.listLookupFailures)
	api("GET /api/cases", viewer, h.listCases)
	api("GET /api/cases/{id}", viewer, h.getCase)
	api("PATCH /api/cases/{id}", editor, h.patchCase)
	api("POST /api/cases/{id}/reply", editor, h.replyCase)
	m.Handle("/api/", h.apiAuth(viewer, web.Fallback(m, "/api/")))
	h.consoleRoutes(m)
	return h
}

// MaxRange is the longest date range one call may ask for.
const MaxRange = 366

// DefaultLimit is how many responses one listing returns unless limit says
// otherwise (at most MaxLimit), oldest day first.
const (
	DefaultLimit = 1000
	MaxLimit     = 10000
)

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// Response is one response as the API shows it.
type Response struct {
	ID        string    `json:"id"`
	SurveyID  string    `json:"survey_id"`
	TicketID  string    `json:"ticket_id"`
	Source    string    `json:"source"`
	Kind      string    `json:"kind"`
	Rating    int       `json:"rating"`
	Comment   string    `json:"comment"`
	Themes    []string  `json:"themes"`
	CreatedAt time.Time `json:"created_at"`
	RevisedAt time.Time `json:"revised_at"`
	Flagged   bool      `json:"flagged"` // a detractor: the team should follow up
	SentAt    time.Time `json:"sent_at,omitzero"`
	Agent     string    `json:"agent,omitempty"`
	Locale    string    `json:"locale,omitempty"`
	FollowUp  string    `json:"follow_up,omitempty"` // the case's status: open, contacted or resolved
}

func responseOf(sv closeloop.Survey) Response {
	r := Response{
		ID: sv.ID, SurveyID: sv.ID, TicketID: sv.TicketID, Source: sv.Source, Kind: string(sv.Kind),
		Comment: sv.Comment, Themes: sv.Themes, CreatedAt: sv.RespondedAt, RevisedAt: sv.RevisedAt,
		SentAt: sv.SentAt, Agent: cmp.Or(sv.AgentName, sv.AgentEmail), Locale: sv.Locale,
	}
	if r.Themes == nil {
		r.Themes = []string{}
	}
	if sv.Rating != nil {
		r.Rating = *sv.Rating
		r.Flagged = sv.Kind.Detractor(*sv.Rating)
	}
	return r
}

// dateRange reads from and to (YYYY-MM-DD, inclusive), defaulting to the
// last 30 days.
func (h *Handler) dateRange(q url.Values) (from, to time.Time, err error) {
	// Dates are days in the team's zone, kept as midnight UTC of that date.
	now := h.now().In(cmp.Or(h.Config.TimeZone, time.UTC))
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	from, to = today.AddDate(0, 0, -29), today
	if v := q.Get("from"); v != "" {
		if from, err = time.Parse(time.DateOnly, v); err != nil {
			return from, to, closeloop.Errorf(closeloop.ErrInvalid, "from=%q is not a YYYY-MM-DD date", v)
		}
	}
	if v := q.Get("to"); v != "" {
		if to, err = time.Parse(time.DateOnly, v); err != nil {
			return from, to, closeloop.Errorf(closeloop.ErrInvalid, "to=%q is not a YYYY-MM-DD date", v)
		}
	}
	switch {
	case to.Before(from):
		return from, to, closeloop.Errorf(closeloop.ErrInvalid, "to is before from")
	case to.Sub(from) >= MaxRange*24*time.Hour:
		return from, to, closeloop.Errorf(closeloop.ErrInvalid, "the range is longer than %d days", MaxRange)
	}
	return from, to, nil
}

// responseFilter reads a listing's query: the date range, the narrowing
// fields (theme, source, kind, band, agent, locale, has_comment, q), limit
// and cursor. Unknown values are refused with a reason.
func (h *Handler) responseFilter(q url.Values) (closeloop.ResponseFilter, error) {
	from, to, err := h.dateRange(q)
	if err != nil {
		return closeloop.ResponseFilter{}, err
	}
	f := closeloop.ResponseFilter{
		From: from, To: to, Theme: q.Get("theme"), Source: q.Get("source"), Agent: q.Get("agent"),
		Locale: q.Get("locale"), Query: strings.TrimSpace(q.Get("q")), Cursor: q.Get("cursor"), Limit: DefaultLimit,
		HasComment: q.Get("has_comment") == "true" || q.Get("has_comment") == "1" || q.Get("has_comment") == "on",
	}
	if f.Source != "" && !closeloop.KnownSource(f.Source) && !slices.Contains(closeloop.ImportOrigins, f.Source) {
		return f, closeloop.Errorf(closeloop.ErrInvalid, "unknown source %q: want a helpdesk (%s) or an import's origin (%s)", f.Source, strings.Join(closeloop.Sources, ", "), strings.Join(closeloop.ImportOrigins, ", "))
	}
	if v := q.Get("kind"); v != "" {
		if f.Kind, err = closeloop.ParseKind(v); err != nil {
			return f, err
		}
	}
	if v := q.Get("band"); v != "" {
		if f.Band, err = closeloop.ParseBand(v); err != nil {
			return f, err
		}
	}
	if v := q.Get("limit"); v != "" {
		if f.Limit, err = strconv.Atoi(v); err != nil || f.Limit < 1 || f.Limit > MaxLimit {
			return f, closeloop.Errorf(closeloop.ErrInvalid, "limit must be a whole number from 1 to %d", MaxLimit)
		}
	}
	return f, nil
}

func (h *Handler) listResponses(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f, err := h.responseFilter(q)
	if err != nil {
		web.Error(w, r, err)
		return
	}
	svs, next, err := h.Store.ListResponses(r.Context(), f)
	if err != nil {
		web.Error(w, r, err)
		return
	}
	// A page ends at MaxPageBytes of responses, whatever limit says, so no
	// body nears Lambda's 6 MB: when the rows asked for are larger, the
	// page is read again with as many as fit, for the right cursor.
	size := 0
	for i, sv := range svs {
		b, _ := json.Marshal(responseOf(sv))
		if size += len(b) + 1; size > MaxPageBytes && i > 0 {
			f.Limit = i
			if svs, next, err = h.Store.ListResponses(r.Context(), f); err != nil {
				web.Error(w, r, err)
				return
			}
			break
		}
	}
	out := make([]Response, 0, len(svs))
	ids := make([]string, 0, len(svs))
	for _, sv := range svs {
		out = append(out, responseOf(sv))
		ids = append(ids, sv.ID)
	}
	// Each response's follow-up, if it has a case: one batch read a page.
	statuses, err := h.Store.CaseStatuses(r.Context(), ids)
	if err != nil {
		web.Error(w, r, err)
		return
	}
	for i := range out {
		out[i].FollowUp = string(statuses[out[i].ID])
	}
	if q.Get("format") == "csv" || strings.Contains(r.Header.Get("Accept"), "text/csv") {
		if next != "" {
			// The next page of the export: the same query with this cursor.
			w.Header().Set("X-Next-Cursor", next)
		}
		writeCSV(w, out)
		return
	}
	web.JSON(w, http.StatusOK, map[string]any{"responses": out, "next_cursor": next})
}

// MaxPageBytes bounds the responses of one page of GET /api/responses.
const MaxPageBytes = 900 << 10

func writeCSV(w http.ResponseWriter, rs []Response) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="closeloop-responses.csv"`)
	cw := csv.NewWriter(w)
	cw.Write([]string{"id", "ticket_id", "source", "kind", "rating", "comment", "themes", "created_at", "flagged", "sent_at", "agent", "locale", "follow_up"})
	for _, r := range rs {
		sent := ""
		if !r.SentAt.IsZero() {
			sent = r.SentAt.Format(time.RFC3339)
		}
		row := []string{r.ID, r.TicketID, r.Source, r.Kind, strconv.Itoa(r.Rating), r.Comment,
			strings.Join(r.Themes, " "), r.CreatedAt.Format(time.RFC3339), strconv.FormatBool(r.Flagged), sent, r.Agent, r.Locale, r.FollowUp}
		for i := range row {
			row[i] = csvSafe(row[i]) // every cell: ticket ids come from outside too
		}
		cw.Write(row)
	}
	cw.Flush()
}

// csvSafe defuses customer text that a spreadsheet would run as a formula.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func (h *Handler) getResponse(w http.ResponseWriter, r *http.Request) {
	sv, err := h.Store.GetSurvey(r.Context(), r.PathValue("id"))
	if err == nil && sv.Rating == nil {
		err = closeloop.Errorf(closeloop.ErrNotFound, "survey %s has no response yet", sv.ID)
	}
	if err != nil {
		web.Error(w, r, err)
		return
	}
	web.JSON(w, http.StatusOK, responseOf(sv))
}

// decode reads a JSON body into v, refusing unknown fields, with a reason.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := web.ReadBody(w, r)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return closeloop.Errorf(closeloop.ErrInvalid, "body is not the expected JSON: %v", err)
	}
	return nil
}

func (h *Handler) listThemes(w http.ResponseWriter, r *http.Request) {
	ts, err := h.Store.Themes(r.Context())
	if err != nil {
		web.Error(w, r, err)
		return
	}
	if ts == nil {
		ts = []closeloop.Theme{}
	}
	web.JSON(w, http.StatusOK, map[string]any{"themes": ts})
}

func (h *Handler) putTheme(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name     string   `json:"name"`
		Keywords []string `json:"keywords"`
	}
	if err := decode(w, r, &in); err != nil {
		web.Error(w, r, err)
		return
	}
	t, err := closeloop.NewTheme(in.Name, in.Keywords, h.now())
	if err != nil {
		web.Error(w, r, err)
		return
	}
	stored, err := h.Store.PutTheme(r.Context(), t)
	if err != nil {
		web.Error(w, r, err)
		return
	}
	slog.InfoContext(r.Context(), "theme saved", "theme", t.Name)
	h.audit(r.Context(), "theme.put", t.Name, strings.Join(t.Keywords, ", "))
	web.JSON(w, http.StatusCreated, stored)
}

// knownThemes checks that every name is an existing theme.
func (h *Handler) knownThemes(ctx context.Context, names []string) error {
	all, err := h.Store.Themes(ctx)
	if err != nil {
		return err
	}
	for _, n := range names {
		if !slices.ContainsFunc(all, func(t closeloop.Theme) bool { return t.Name == n }) {
			return closeloop.Errorf(closeloop.ErrInvalid, "unknown theme %q (create it with POST /api/themes)", n)
		}
	}
	return nil
}

func (h *Handler) setThemes(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Themes []string `json:"themes"`
	}
	if err := decode(w, r, &in); err != nil {
		web.Error(w, r, err)
		return
	}
	if in.Themes == nil {
		web.Error(w, r, closeloop.Errorf(closeloop.ErrInvalid, "themes is required (an empty list removes all)"))
		return
	}
	slices.Sort(in.Themes)
	in.Themes = slices.Compact(in.Themes)
	if err := h.knownThemes(r.Context(), in.Themes); err != nil {
		web.Error(w, r, err)
		return
	}
	sv, err := h.Store.SetThemes(r.Context(), r.PathValue("id"), in.Themes)
	if err != nil {
		web.Error(w, r, err)
		return
	}
	slog.InfoContext(r.Context(), "themes set", "survey", sv.ID, "themes", in.Themes)
	h.audit(r.Context(), "response.themes", sv.ID, strings.Join(in.Themes, ", "))
	web.JSON(w, http.StatusOK, responseOf(sv))
}

// ImprovementView is an improvement with its send progress.
type ImprovementView struct {
	closeloop.Improvement
	Pending int64 `json:"pending"` // claimed, outcome not yet recorded
}

// improvementExtras are an announcement's optional parts: the language of
// its text, translations, and who hears about it.
type improvementExtras struct {
	Locale       string                    `json:"locale"`
	Translations map[string]closeloop.Text `json:"translations"`
	Link         string                    `json:"link"`
	closeloop.Audience
}

// announce creates improvement (theme, summary, message) and queues its
// fan-out, as the caller of ctx. A non-empty key (the compose form's
// nonce, an API client's Idempotency-Key) names the announcement: the same
// key of the same operator again returns the improvement made the first
// time, so a double-clicked Send or a retried request tells nobody twice.
func (h *Handler) announce(ctx context.Context, key, theme, summary, message string, more improvementExtras) (closeloop.Improvement, error) {
	im, err := closeloop.NewImprovement(theme, summary, message, h.now())
	if err == nil && key != "" {
		if len(key) > 128 {
			return im, closeloop.Errorf(closeloop.ErrInvalid, "Idempotency-Key: at most 128 characters")
		}
		sum := sha256.Sum256([]byte("announce\x00" + principalOf(ctx).Email + "\x00" + key))
		im.ID = hex.EncodeToString(sum[:16])
	}
	if err == nil {
		im, err = im.WithTexts(more.Locale, more.Translations, more.Audience)
	}
	if err == nil {
		im, err = im.WithLink(more.Link)
	}
	if err == nil {
		err = h.knownThemes(ctx, []string{im.Theme})
	}
	if err != nil {
		return im, err
	}
	err = h.Store.CreateImprovement(ctx, im)
	again := errors.Is(err, closeloop.ErrDuplicate) && key != ""
	if again {
		first, gerr := h.Store.GetImprovement(ctx, im.ID)
		if gerr != nil {
			return im, gerr
		}
		if !sameAnnouncement(first, im) {
			// Returning the first would drop this one without a word.
			return first, closeloop.Errorf(closeloop.ErrConflict, "this key announced improvement %s already (%q on %s); a new announcement needs a new key", first.ID, first.Summary, first.Theme)
		}
		im, err = first, nil
	}
	if err != nil {
		return im, err
	}
	// Queued again on a repeat, in case the first attempt stored it and
	// failed to queue: the fan-out is idempotent.
	if err := h.Queue.Send(ctx, closing.Announce(im.ID)); err != nil {
		return im, fmt.Errorf("queue improvement %s: %w", im.ID, err)
	}
	if again {
		slog.InfoContext(ctx, "improvement announced again with the same key: the first stands", "improvement", im.ID)
		return im, nil
	}
	slog.InfoContext(ctx, "improvement announced", "improvement", im.ID, "theme", im.Theme)
	h.audit(ctx, "improvement.announce", im.ID, im.Theme+": "+im.Summary)
	return im, nil
}

// sameAnnouncement reports whether a and b say the same thing to the same
// people: a repeat of one announcement, not another one.
func sameAnnouncement(a, b closeloop.Improvement) bool {
	return a.Theme == b.Theme && a.Summary == b.Summary && a.Message == b.Message && a.Audience == b.Audience &&
		a.Locale == b.Locale && a.Link == b.Link && maps.Equal(a.Translations, b.Translations)
}

func (h *Handler) createImprovement(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Theme   string `json:"theme"`
		Summary string `json:"summary"`
		Message string `json:"message"`
		improvementExtras
	}
	if err := decode(w, r, &in); err != nil {
		web.Error(w, r, err)
		return
	}
	im, err := h.announce(r.Context(), r.Header.Get("Idempotency-Key"), in.Theme, in.Summary, in.Message, in.improvementExtras)
	if err != nil {
		web.Error(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/improvements/"+im.ID)
	web.JSON(w, http.StatusAccepted, map[string]string{"id": im.ID, "status": "/api/improvements/" + im.ID})
}

func (h *Handler) getImprovement(w http.ResponseWriter, r *http.Request) {
	im, err := h.Store.GetImprovement(r.Context(), r.PathValue("id"))
	if err != nil {
		web.Error(w, r, err)
		return
	}
	web.JSON(w, http.StatusOK, viewOf(im))
}

// Metrics is the answer of GET /api/metrics.
type Metrics struct {
	From string `json:"from"`
	To   string `json:"to"`
	closeloop.Scores
	closeloop.LoopFigures
	Series []Point `json:"series,omitempty"`
	// Filter names the one breakdown value the figures are limited to
	// ("source=zendesk"), when asked for.
	Filter string `json:"filter,omitempty"`
	// Breakdown scores each value of the breakdown asked for
	// (breakdown=source|agent|kind|theme), most responses first.
	Breakdown []BreakdownRow `json:"breakdown,omitempty"`
	// Retention is each monthly cohort of the range (customers by the month
	// of their first answer) by the band of that answer, from the churn and
	// renewal events of POST /api/customers/events.
	Retention []closeloop.CohortRow `json:"retention"`
}

// BreakdownRow is one value of a breakdown, e.g. one agent.
type BreakdownRow struct {
	Key string `json:"key"`
	closeloop.Scores
	ReopenRate           *float64 `json:"reopen_rate"`
	RepeatContactRate7d  *float64 `json:"repeat_contact_rate_7d"`
	RepeatContactRate30d *float64 `json:"repeat_contact_rate_30d"`
}

// Point is one day of a metrics series.
type Point struct {
	Day string `json:"day"` // the day, or the first day of the week (Monday) or month
	closeloop.Scores
}

// periodOf returns the first day of the period of day (YYYY-MM-DD) by day,
// week (ISO, from Monday) or month.
func periodOf(day, by string) string {
	t, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return day
	}
	switch by {
	case "week":
		t = t.AddDate(0, 0, -((int(t.Weekday()) + 6) % 7))
	case "month":
		t = time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
	return t.Format(time.DateOnly)
}

func (h *Handler) metrics(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	from, to, err := h.dateRange(q)
	if err != nil {
		web.Error(w, r, err)
		return
	}
	by := q.Get("by")
	switch by {
	case "", "day", "week", "month":
	default:
		web.Error(w, r, closeloop.Errorf(closeloop.ErrInvalid, "by=%q: want day, week or month", by))
		return
	}
	var filter, value string
	for _, name := range closeloop.Breakdowns {
		if v := q.Get(name); v != "" {
			if filter != "" {
				web.Error(w, r, closeloop.Errorf(closeloop.ErrInvalid, "%s and %s: the figures are kept per breakdown, so filter by one of source, agent, kind or theme at a time", filter, name))
				return
			}
			filter, value = name, v
		}
	}
	breakdown := q.Get("breakdown")
	if breakdown != "" && !slices.Contains(closeloop.Breakdowns, breakdown) {
		web.Error(w, r, closeloop.Errorf(closeloop.ErrInvalid, "breakdown=%q: want source, agent, kind or theme", breakdown))
		return
	}
	if breakdown != "" && filter != "" {
		// Its rows would be the whole team's under the filter's heading.
		web.Error(w, r, closeloop.Errorf(closeloop.ErrInvalid, "%s and breakdown=%s: the figures are kept one breakdown at a time, so a breakdown always covers the whole team; ask for the breakdown alone, or for %s alone", filter, breakdown, filter))
		return
	}
	var days []closeloop.DayCounters
	if filter == "" {
		days, err = h.Store.CountersBetween(r.Context(), from, to)
	} else {
		days, err = h.Store.BreakdownCountersBetween(r.Context(), from, to, filter, value)
	}
	if err != nil {
		web.Error(w, r, err)
		return
	}
	m := metricsOf(from, to, days, by)
	if filter == "" {
		if m.Retention, err = h.Store.Retention(r.Context(), from, to); err != nil {
			web.Error(w, r, err)
			return
		}
	}
	if m.Retention == nil {
		m.Retention = []closeloop.CohortRow{}
	}
	if filter != "" {
		m.Filter = filter + "=" + closeloop.DimValue(value)
	}
	if breakdown != "" {
		if m.Breakdown, err = h.breakdown(r.Context(), from, to, breakdown); err != nil {
			web.Error(w, r, err)
			return
		}
	}
	if filter == "" && breakdown == "" {
		web.JSON(w, http.StatusOK, m)
		return
	}
	// The figures counted for the whole team only answer null where a
	// filter or a breakdown row narrows the report, not a 0 that would
	// read as a figure.
	var out map[string]any
	b, _ := json.Marshal(m)
	if err := json.Unmarshal(b, &out); err != nil {
		web.Error(w, r, err)
		return
	}
	nulls := func(v any) {
		if row, ok := v.(map[string]any); ok {
			for _, k := range TeamOnly {
				if _, has := row[k]; has {
					row[k] = nil
				}
			}
		}
	}
	if filter != "" {
		for _, k := range TeamOnly {
			out[k] = nil
		}
		if series, ok := out["series"].([]any); ok {
			for _, p := range series {
				nulls(p)
			}
		}
	}
	if rows, ok := out["breakdown"].([]any); ok {
		for _, row := range rows {
			nulls(row)
		}
	}
	web.JSON(w, http.StatusOK, out)
}

// TeamOnly are the metrics counted for the whole team only, not per source,
// agent, kind or theme (cases, contacts, closing emails, check-ins and the
// loops they close): a filtered report answers null for them.
var TeamOnly = []string{"detractors", "detractors_contacted", "detractors_contacted_rate", "median_hours_to_contact",
	"theme_raisers", "theme_raisers_told", "median_hours_to_told", "checkins_sent", "checkins_still_solved",
	"closing_sent", "score_change_told", "score_change_not_told"}

// breakdown scores every value of breakdown name over [from, to], most
// responses first: one query a day, whatever the number of responses.
func (h *Handler) breakdown(ctx context.Context, from, to time.Time, name string) ([]BreakdownRow, error) {
	groups, err := h.Store.Breakdown(ctx, from, to, name)
	if err != nil {
		return nil, err
	}
	rows := make([]BreakdownRow, 0, len(groups))
	for k, c := range groups {
		f := c.Figures()
		rows = append(rows, BreakdownRow{Key: k, Scores: c.Score(), ReopenRate: f.ReopenRate, RepeatContactRate7d: f.RepeatContactRate7d, RepeatContactRate30d: f.RepeatContactRate30d})
	}
	slices.SortFunc(rows, func(a, b BreakdownRow) int {
		return cmp.Or(cmp.Compare(b.Responses, a.Responses), cmp.Compare(b.SurveysSent, a.SurveysSent), strings.Compare(a.Key, b.Key))
	})
	return rows, nil
}

// metricsOf sums days into the metrics of [from, to], with a series by day
// when by is "day". The API and the console's dashboard both answer with it.
func metricsOf(from, to time.Time, days []closeloop.DayCounters, by string) Metrics {
	var total closeloop.Counters
	m := Metrics{From: from.Format(time.DateOnly), To: to.Format(time.DateOnly)}
	var period closeloop.Counters
	start := ""
	for i, d := range days {
		total = total.Add(d.Counters)
		if by == "" {
			continue
		}
		key := periodOf(d.Day, by)
		if start == "" {
			start = key
		}
		if key != start {
			m.Series = append(m.Series, Point{Day: start, Scores: period.Score()})
			start, period = key, closeloop.Counters{}
		}
		period = period.Add(d.Counters)
		if i == len(days)-1 {
			m.Series = append(m.Series, Point{Day: start, Scores: period.Score()})
		}
	}
	m.Scores = total.Score()
	m.LoopFigures = total.Figures()
	return m
}

func (h *Handler) erase(w http.ResponseWriter, r *http.Request) {
	n, err := h.Store.Erase(r.Context(), r.PathValue("email"))
	if err != nil {
		web.Error(w, r, err)
		return
	}
	slog.InfoContext(r.Context(), "contact erased", "items", n)
	h.audit(r.Context(), "contact.erase", "", fmt.Sprintf("%d items changed", n))
	web.JSON(w, http.StatusOK, map[string]int{"erased": n})
}

// TicketView is what an operator sees of a ticket: where its survey is and,
// when it did not go, why (a failed look-up, SES refusing it, fatigue).
type TicketView struct {
	Source    string    `json:"source"`
	TicketID  string    `json:"ticket_id"`
	Status    string    `json:"status"`
	State     string    `json:"survey_state"`
	DueAt     time.Time `json:"due_at,omitzero"`
	SurveyID  string    `json:"survey_id,omitempty"`
	Reason    string    `json:"reason,omitempty"`
	LookingUp bool      `json:"looking_up,omitempty"` // the customer is still to be looked up through the helpdesk's API
}

func (h *Handler) getTicket(w http.ResponseWriter, r *http.Request) {
	t, err := h.Store.GetTicket(r.Context(), r.PathValue("source"), r.PathValue("id"))
	if err != nil {
		web.Error(w, r, err)
		return
	}
	web.JSON(w, http.StatusOK, TicketView{Source: t.Source, TicketID: t.TicketID, Status: string(t.Status), State: string(t.State),
		DueAt: t.DueAt, SurveyID: t.SurveyID, Reason: t.Reason, LookingUp: t.LookupID != "" && t.ContactID == ""})
}

// LookupFailureView is a failed look-up with the link to its ticket in the
// helpdesk, when the source's ticket URL is configured.
type LookupFailureView struct {
	closeloop.LookupFailure
	TicketURL string `json:"ticket_url,omitempty"`
}

// lookupFailureLimit bounds the failed look-ups one listing shows.
const lookupFailureLimit = 200

func (h *Handler) lookupFailures(ctx context.Context) ([]LookupFailureView, error) {
	fs, err := h.Store.LookupFailures(ctx, h.now(), lookupFailureLimit)
	out := make([]LookupFailureView, 0, len(fs))
	for _, f := range fs {
		out = append(out, LookupFailureView{LookupFailure: f, TicketURL: h.Config.TicketURL(f.Source, f.TicketID)})
	}
	return out, err
}

// listLookupFailures answers GET /api/lookups: the surveys of the last 90
// days not sent because the customer could not be looked up, newest first
// (at most 200), with why.
func (h *Handler) listLookupFailures(w http.ResponseWriter, r *http.Request) {
	fs, err := h.lookupFailures(r.Context())
	if err != nil {
		web.Error(w, r, err)
		return
	}
	web.JSON(w, http.StatusOK, map[string]any{"failures": fs})
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}
