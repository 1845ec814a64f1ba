// Package api is the operators' JSON API under /api: responses, themes,
// improvements with their send progress, metrics, CSV export and contact
// erasure. Every call needs the admin bearer token.
package api

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/fn/closing"
	"github.com/closeloop/closeloop/shared/platform/web"
	"github.com/closeloop/closeloop/shared/queue"
)

// Store is what the API needs of the store.
type Store interface {
	ListResponses(ctx context.Context, f closeloop.ResponseFilter) ([]closeloop.Survey, error)
	GetSurvey(ctx context.Context, id string) (closeloop.Survey, error)
	PutTheme(ctx context.Context, t closeloop.Theme) (closeloop.Theme, error)
	Themes(ctx context.Context) ([]closeloop.Theme, error)
	SetThemes(ctx context.Context, id string, themes []string) (closeloop.Survey, error)
	CreateImprovement(ctx context.Context, im closeloop.Improvement) error
	GetImprovement(ctx context.Context, id string) (closeloop.Improvement, error)
	CountersBetween(ctx context.Context, from, to time.Time) ([]closeloop.DayCounters, error)
	Erase(ctx context.Context, email string) (int, error)
}

// Handler serves /api/.
type Handler struct {
	Store      Store
	Queue      queue.Sender // the closing queue
	AdminToken string
	Now        func() time.Time
	mux        *http.ServeMux
}

// Paths are the path prefixes the handler serves, for a server that mounts
// several handlers on one mux (API Gateway routes the same paths to it).
var Paths = []string{"/api/"}

// New returns the operators' API over store, queueing improvements on
// closingQueue, with cfg's admin token. The Lambda, the local dev server
// and `closeloop invoke` all build it here.
func New(cfg closeloop.Config, store Store, closingQueue queue.Sender) *Handler {
	h := &Handler{Store: store, Queue: closingQueue, AdminToken: cfg.AdminToken, mux: http.NewServeMux()}
	m := h.mux
	m.HandleFunc("GET /api/responses", h.listResponses)
	m.HandleFunc("GET /api/responses/{id}", h.getResponse)
	m.HandleFunc("PUT /api/responses/{id}/themes", h.setThemes)
	m.HandleFunc("GET /api/themes", h.listThemes)
	m.HandleFunc("POST /api/themes", h.putTheme)
	m.HandleFunc("POST /api/improvements", h.createImprovement)
	m.HandleFunc("GET /api/improvements/{id}", h.getImprovement)
	m.HandleFunc("GET /api/metrics", h.metrics)
	m.HandleFunc("DELETE /api/contacts/{email}", h.erase)
	m.HandleFunc("/api/", web.Fallback(m, "/api/"))
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
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := h.authorize(r); err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="closeloop"`)
		web.Error(w, r, err)
		return
	}
	h.mux.ServeHTTP(w, r)
}

func (h *Handler) authorize(r *http.Request) error {
	if h.AdminToken == "" {
		return closeloop.Errorf(closeloop.ErrUnauthorized, "the API is disabled until CLOSELOOP_ADMIN_TOKEN is set")
	}
	scheme, got, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare([]byte(got), []byte(h.AdminToken)) != 1 {
		return closeloop.Errorf(closeloop.ErrUnauthorized, "missing or wrong bearer token")
	}
	return nil
}

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
}

func responseOf(sv closeloop.Survey) Response {
	r := Response{
		ID: sv.ID, SurveyID: sv.ID, TicketID: sv.TicketID, Source: sv.Source, Kind: string(sv.Kind),
		Comment: sv.Comment, Themes: sv.Themes, CreatedAt: sv.RespondedAt, RevisedAt: sv.RevisedAt,
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
func (h *Handler) dateRange(r *http.Request) (from, to time.Time, err error) {
	today := h.now().UTC().Truncate(24 * time.Hour)
	from, to = today.AddDate(0, 0, -29), today
	if v := r.URL.Query().Get("from"); v != "" {
		if from, err = time.Parse(time.DateOnly, v); err != nil {
			return from, to, closeloop.Errorf(closeloop.ErrInvalid, "from=%q is not a YYYY-MM-DD date", v)
		}
	}
	if v := r.URL.Query().Get("to"); v != "" {
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

func (h *Handler) listResponses(w http.ResponseWriter, r *http.Request) {
	from, to, err := h.dateRange(r)
	if err != nil {
		web.Error(w, r, err)
		return
	}
	q := r.URL.Query()
	f := closeloop.ResponseFilter{From: from, To: to, Theme: q.Get("theme"), Source: q.Get("source"), Limit: DefaultLimit}
	if f.Source != "" && !closeloop.KnownSource(f.Source) {
		web.Error(w, r, closeloop.Errorf(closeloop.ErrInvalid, "unknown source %q", f.Source))
		return
	}
	if v := q.Get("limit"); v != "" {
		if f.Limit, err = strconv.Atoi(v); err != nil || f.Limit < 1 || f.Limit > MaxLimit {
			web.Error(w, r, closeloop.Errorf(closeloop.ErrInvalid, "limit must be a whole number from 1 to %d", MaxLimit))
			return
		}
	}
	svs, err := h.Store.ListResponses(r.Context(), f)
	if err != nil {
		web.Error(w, r, err)
		return
	}
	out := make([]Response, 0, len(svs))
	for _, sv := range svs {
		out = append(out, responseOf(sv))
	}
	if q.Get("format") == "csv" || strings.Contains(r.Header.Get("Accept"), "text/csv") {
		writeCSV(w, out)
		return
	}
	web.JSON(w, http.StatusOK, map[string]any{"responses": out})
}

func writeCSV(w http.ResponseWriter, rs []Response) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="closeloop-responses.csv"`)
	cw := csv.NewWriter(w)
	cw.Write([]string{"id", "ticket_id", "source", "kind", "rating", "comment", "themes", "created_at", "flagged"})
	for _, r := range rs {
		row := []string{r.ID, r.TicketID, r.Source, r.Kind, strconv.Itoa(r.Rating), r.Comment,
			strings.Join(r.Themes, " "), r.CreatedAt.Format(time.RFC3339), strconv.FormatBool(r.Flagged)}
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
	web.JSON(w, http.StatusOK, responseOf(sv))
}

// ImprovementView is an improvement with its send progress.
type ImprovementView struct {
	closeloop.Improvement
	Pending int64 `json:"pending"` // claimed, outcome not yet recorded
}

func (h *Handler) createImprovement(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Theme   string `json:"theme"`
		Summary string `json:"summary"`
		Message string `json:"message"`
	}
	if err := decode(w, r, &in); err != nil {
		web.Error(w, r, err)
		return
	}
	im, err := closeloop.NewImprovement(in.Theme, in.Summary, in.Message, h.now())
	if err == nil {
		err = h.knownThemes(r.Context(), []string{im.Theme})
	}
	if err != nil {
		web.Error(w, r, err)
		return
	}
	if err := h.Store.CreateImprovement(r.Context(), im); err != nil {
		web.Error(w, r, err)
		return
	}
	if err := h.Queue.Send(r.Context(), closing.Announce(im.ID)); err != nil {
		web.Error(w, r, fmt.Errorf("queue improvement %s: %w", im.ID, err))
		return
	}
	slog.InfoContext(r.Context(), "improvement announced", "improvement", im.ID, "theme", im.Theme)
	w.Header().Set("Location", "/api/improvements/"+im.ID)
	web.JSON(w, http.StatusAccepted, map[string]string{"id": im.ID, "status": "/api/improvements/" + im.ID})
}

func (h *Handler) getImprovement(w http.ResponseWriter, r *http.Request) {
	im, err := h.Store.GetImprovement(r.Context(), r.PathValue("id"))
	if err != nil {
		web.Error(w, r, err)
		return
	}
	web.JSON(w, http.StatusOK, ImprovementView{Improvement: im, Pending: im.Recipients - im.Sent - im.Failed - im.Suppressed})
}

// Metrics is the answer of GET /api/metrics.
type Metrics struct {
	From string `json:"from"`
	To   string `json:"to"`
	closeloop.Scores
	Series []Point `json:"series,omitempty"`
}

// Point is one day of a metrics series.
type Point struct {
	Day string `json:"day"`
	closeloop.Scores
}

func (h *Handler) metrics(w http.ResponseWriter, r *http.Request) {
	from, to, err := h.dateRange(r)
	if err != nil {
		web.Error(w, r, err)
		return
	}
	by := r.URL.Query().Get("by")
	if by != "" && by != "day" {
		web.Error(w, r, closeloop.Errorf(closeloop.ErrInvalid, "by=%q: only by=day is supported", by))
		return
	}
	days, err := h.Store.CountersBetween(r.Context(), from, to)
	if err != nil {
		web.Error(w, r, err)
		return
	}
	var total closeloop.Counters
	m := Metrics{From: from.Format(time.DateOnly), To: to.Format(time.DateOnly)}
	for _, d := range days {
		total = total.Add(d.Counters)
		if by == "day" {
			m.Series = append(m.Series, Point{Day: d.Day, Scores: d.Counters.Score()})
		}
	}
	m.Scores = total.Score()
	web.JSON(w, http.StatusOK, m)
}

func (h *Handler) erase(w http.ResponseWriter, r *http.Request) {
	n, err := h.Store.Erase(r.Context(), r.PathValue("email"))
	if err != nil {
		web.Error(w, r, err)
		return
	}
	slog.InfoContext(r.Context(), "contact erased", "items", n)
	web.JSON(w, http.StatusOK, map[string]int{"erased": n})
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}
