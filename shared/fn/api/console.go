package api

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/mail"
	"github.com/closeloop/closeloop/shared/platform/web"
)

// The console: server-rendered pages for the team's half of the loop,
// served by the api function beside /api. Every page needs a session
// (sign-in by emailed link); every state-changing form carries the
// session's CSRF token; pages load nothing from elsewhere and run no
// script, under a CSP without 'unsafe-inline'.

//go:embed templates static
var consoleFS embed.FS

// consoleT is parsed on first render, not at start: webhooks-only cold
// starts of the api function (the /api routes) do not pay for it.
var consoleT = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("").Funcs(consoleFuncs()).ParseFS(consoleFS, "templates/*.html"))
})

// consoleFuncs are the console templates' functions (pure: the tests call
// them to walk what they return, shared/local/tmplcheck).
func consoleFuncs() template.FuncMap {
	return template.FuncMap{
		"date":  func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04") },
		"day":   func(t time.Time) string { return t.UTC().Format(time.DateOnly) },
		"pct":   func(f *float64) string { return fmtMetric(f, "%.1f") },
		"num":   func(f *float64) string { return fmtMetric(f, "%.2f") },
		"band":  func(k closeloop.Kind, r int) string { return string(k.Band(r)) },
		"short": func(s string) string { return short(s, 160) },
		"join":  strings.Join,
		"param": func(v url.Values, k string) string { return v.Get(k) },
		"set":   func(t time.Time) bool { return !t.IsZero() },
		"has":   slices.Contains[[]string],
		// A query string built here is a URL's query, not one value of it:
		// html/template escapes a plain string after "?" ("a%3d1%26b%3d2").
		"query":   func(v url.Values) template.URL { return template.URL(v.Encode()) },
		"sources": func() []string { return closeloop.Sources },
		"add":     func(a, b int) int { return a + b },
		"addf":    func(a, b float64) float64 { return a + b },
		"mul":     func(a, b int) int { return a * b },
		"scale":   func(a, b float64) float64 { return a * b },
		"deref": func(p *int) int {
			if p == nil {
				return 0
			}
			return *p
		},
		"list": func(xs ...string) []string { return xs },
		"deref64": func(p *int64) string {
			if p == nil {
				return "–"
			}
			return strconv.FormatInt(*p, 10)
		},
		"pair": func(a string, b any) struct {
			A string
			B any
		} {
			return struct {
				A string
				B any
			}{a, b}
		},
	}
}

func fmtMetric(f *float64, format string) string {
	if f == nil {
		return "–"
	}
	return fmt.Sprintf(format, *f)
}

func short(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// consoleCSP is the console's content security policy: nothing from
// elsewhere, no inline script or style; the only frame is the email preview.
const consoleCSP = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-src 'self'; frame-ancestors 'none'; base-uri 'none'"

// view is what every console template gets.
type view struct {
	Title string
	Nav   string // the active section
	P     closeloop.Principal
	Error string
	Flash string
	Data  any
	// Refresh, when set, reloads the page after that many seconds (the
	// progress of an improvement being sent; no script needed).
	Refresh int

	// Filled from P by render: the templates read fields and call no
	// method, since the bootstraps are built without text/template's
	// method lookup (shared/local/lambdabuild).
	CSRF                    string
	Admin, Editor, SignedIn bool
}

func (h *Handler) consoleRoutes(m *http.ServeMux) {
	viewer, editor, admin := closeloop.RoleViewer, closeloop.RoleEditor, closeloop.RoleAdmin
	m.HandleFunc("GET /console", h.page(viewer, h.inbox))
	m.HandleFunc("GET /console/{$}", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/console", http.StatusSeeOther) })
	m.HandleFunc("GET /console/static/console.css", h.css)
	m.HandleFunc("GET /console/login", h.loginForm)
	m.HandleFunc("POST /console/login", h.loginSend)
	m.HandleFunc("GET /console/login/{token}", h.loginLink)
	m.HandleFunc("POST /console/login/{token}", h.loginStart)
	m.HandleFunc("POST /console/logout", h.form(viewer, h.logout))
	m.HandleFunc("GET /console/responses/{id}", h.page(viewer, h.responsePage))
	m.HandleFunc("POST /console/responses/{id}/themes", h.form(editor, h.responseThemes))
	m.HandleFunc("GET /console/themes", h.page(viewer, h.themesPage))
	m.HandleFunc("POST /console/themes", h.form(editor, h.themeSave))
	m.HandleFunc("POST /console/themes/{name}/delete", h.form(editor, h.themeDelete))
	m.HandleFunc("POST /console/themes/{name}/rename", h.form(editor, h.themeRename))
	m.HandleFunc("GET /console/improvements", h.page(viewer, h.improvementsPage))
	m.HandleFunc("POST /console/improvements", h.form(editor, h.improvementPost))
	m.HandleFunc("GET /console/improvements/preview", h.page(editor, h.improvementPreview))
	m.HandleFunc("GET /console/improvements/{id}", h.page(viewer, h.improvementPage))
	m.HandleFunc("GET /console/dashboard", h.page(viewer, h.dashboard))
	m.HandleFunc("GET /console/cases", h.page(viewer, h.casesPage))
	m.HandleFunc("GET /console/cases/{id}", h.page(viewer, h.casePage))
	m.HandleFunc("POST /console/cases/{id}", h.form(editor, h.caseUpdate))
	m.HandleFunc("POST /console/cases/{id}/reply", h.form(editor, h.caseReply))
	m.HandleFunc("GET /console/operators", h.page(admin, h.operatorsPage))
	m.HandleFunc("POST /console/operators", h.form(admin, h.operatorAdd))
	m.HandleFunc("POST /console/operators/{email}/delete", h.form(admin, h.operatorDelete))
	m.HandleFunc("GET /console/tokens", h.page(viewer, h.tokensPage))
	m.HandleFunc("POST /console/tokens", h.form(viewer, h.tokenCreate))
	m.HandleFunc("POST /console/tokens/{id}/delete", h.form(viewer, h.tokenDelete))
	m.HandleFunc("GET /console/audit", h.page(admin, h.auditPage))
	m.HandleFunc("GET /console/lookups", h.page(viewer, h.lookupsPage))
}

// pageFunc renders one page for a signed-in operator.
type pageFunc func(w http.ResponseWriter, r *http.Request, v view) error

// page serves a console page to operators with at least role need; others
// are sent to sign in (303) or shown 403.
func (h *Handler) page(need closeloop.Role, f pageFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := h.principal(r, true)
		if err == nil {
			err = allow(p, need, r, "")
		}
		h.serve(w, r, p, err, f)
	}
}

// form handles a console form POST from operators with at least role
// need, carrying the session's CSRF token in field "csrf"; without it the
// answer is 403 and nothing changes.
func (h *Handler) form(need closeloop.Role, f pageFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := h.principal(r, true)
		if err == nil {
			err = web.ParseForm(w, r, MaxConsoleForm)
		}
		if err == nil {
			err = allow(p, need, r, r.PostForm.Get("csrf"))
		}
		h.serve(w, r, p, err, f)
	}
}

// MaxConsoleForm is the largest console form body accepted.
const MaxConsoleForm = 256 << 10

func (h *Handler) serve(w http.ResponseWriter, r *http.Request, p closeloop.Principal, err error, f pageFunc) {
	if err == nil {
		ctx := context.WithValue(r.Context(), principalKey{}, p)
		err = f(w, r.WithContext(ctx), view{P: p})
	}
	if err == nil {
		return
	}
	if web.Status(err) == http.StatusUnauthorized {
		http.Redirect(w, r, "/console/login", http.StatusSeeOther)
		return
	}
	code, msg := web.Failed(w, r, err), err.Error()
	if code >= 500 {
		msg = "Something went wrong on our side. Try again in a moment."
	}
	if err := h.render(w, r, code, "error.html", view{Title: http.StatusText(code), P: p, Error: msg}); err != nil {
		slog.ErrorContext(r.Context(), "console", "err", err)
		http.Error(w, msg, code)
	}
}

// zoned holds the console's templates by the zone they show times in.
var zoned struct {
	sync.Mutex
	by map[string]*template.Template
}

// consoleIn returns the console's templates showing every time in loc, the
// team's zone, with the zone's name, as its days are: a clone of consoleT
// (which is never executed itself, so it can be cloned) per zone.
func consoleIn(loc *time.Location) *template.Template {
	zoned.Lock()
	defer zoned.Unlock()
	if t, ok := zoned.by[loc.String()]; ok {
		return t
	}
	t := template.Must(consoleT().Clone()).Funcs(template.FuncMap{
		"date": func(t time.Time) string { return t.In(loc).Format("2006-01-02 15:04 MST") },
		"day":  func(t time.Time) string { return t.In(loc).Format(time.DateOnly) },
	})
	if zoned.by == nil {
		zoned.by = map[string]*template.Template{}
	}
	zoned.by[loc.String()] = t
	return t
}

// renderCheck, set by the package's tests only, sees every page before it
// is rendered (shared/local/tmplcheck walks all its branches).
var renderCheck func(set *template.Template, name string, data any)

func (h *Handler) render(w http.ResponseWriter, r *http.Request, code int, name string, v view) error {
	v.CSRF, v.SignedIn = v.P.CSRF, v.P.Email != ""
	v.Admin, v.Editor = v.P.Role.Allows(closeloop.RoleAdmin), v.P.Role.Allows(closeloop.RoleEditor)
	set := consoleIn(cmp.Or(h.Config.TimeZone, time.UTC))
	if renderCheck != nil {
		renderCheck(set, name, v)
	}
	var b bytes.Buffer
	if err := set.ExecuteTemplate(&b, name, v); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "same-origin")
	w.Header().Set("Content-Security-Policy", consoleCSP)
	w.WriteHeader(code)
	w.Write(b.Bytes())
	return nil
}

func (h *Handler) css(w http.ResponseWriter, r *http.Request) {
	b, _ := consoleFS.ReadFile("static/console.css")
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Write(b)
}

// secure reports whether cookies must be Secure: the base URL is https.
func (h *Handler) secure() bool { return strings.HasPrefix(h.Config.BaseURL, "https://") }

// ---- sign-in ----

func (h *Handler) loginForm(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, "login.html", view{Title: "Sign in"})
}

// loginSend answers every address the same way, and no sooner than
// SignInFloor after the request came, whether or not a link was sent: how
// long the answer took tells nobody who is an operator. Only an operator
// gets a link, at most LoginLinksPerHour an hour asked from one network
// address, and LoginLinksPerAddressHour in all.
func (h *Handler) loginSend(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if err := web.ParseForm(w, r, 4<<10); err != nil {
		h.render(w, r, web.Status(err), "login.html", view{Title: "Sign in", Error: err.Error()})
		return
	}
	addr, err := closeloop.NormalizeEmail(r.PostForm.Get("email"))
	if err != nil {
		h.render(w, r, http.StatusBadRequest, "login.html", view{Title: "Sign in", Error: "Enter your email address, such as ada@example.com."})
		return
	}
	if err := h.sendLoginLink(r.Context(), addr, source(r)); err != nil {
		slog.ErrorContext(r.Context(), "sign-in link", "err", err)
	}
	floor := cmp.Or(h.SignInFloor, SignInFloor)
	select {
	case <-time.After(floor - time.Since(start)):
	case <-r.Context().Done():
	}
	h.render(w, r, http.StatusOK, "login_sent.html", view{Title: "Check your email"})
}

// SignInFloor is how long every answer to a sign-in request takes at least:
// longer than the store and SES calls of an operator's link take.
const SignInFloor = 800 * time.Millisecond

// source is the network a request came from (API Gateway's source IP in
// AWS): the IPv4 address, or the IPv6 /64 (one subscriber's, who could
// otherwise ask from many addresses of it).
func source(r *http.Request) string {
	host := r.RemoteAddr
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		host = h
	}
	if ip := net.ParseIP(host); ip != nil && ip.To4() == nil {
		return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
	}
	return host
}

func (h *Handler) sendLoginLink(ctx context.Context, addr, from string) error {
	if addr == h.Config.AdminEmail {
		if err := h.EnsureAdmin(ctx); err != nil {
			return err
		}
	}
	if _, err := h.Store.GetOperator(ctx, addr); errors.Is(err, closeloop.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	// Per network address first: someone else asking for an operator's
	// links uses up their own allowance, not the operator's. Then per
	// address, so many sources cannot flood a mailbox.
	n, err := h.Store.CountLoginLink(ctx, closeloop.SecretID(addr+"\x00"+from), h.now())
	if err != nil {
		return err
	}
	if n > closeloop.LoginLinksPerHour {
		slog.WarnContext(ctx, "sign-in links rate-limited for one network address", "count", n)
		return nil
	}
	n, err = h.Store.CountLoginLink(ctx, closeloop.SecretID(addr), h.now())
	if err != nil {
		return err
	}
	if n > closeloop.LoginLinksPerAddressHour {
		slog.WarnContext(ctx, "sign-in links rate-limited", "count", n)
		return nil
	}
	link, err := h.LoginLink(ctx, addr)
	if err != nil {
		return err
	}
	m, err := mail.SignInEmail(addr, link, int(closeloop.LoginLinkTTL.Minutes()), h.Config.Brand)
	if err != nil {
		return err
	}
	m.Tags = map[string]string{"closeloop_kind": "signin"}
	if _, err := h.Mailer.Send(ctx, m); err != nil {
		return err
	}
	return nil
}

// LoginLink creates a single-use sign-in link for operator addr and returns
// its URL. `closeloop dev` prints one for the first admin.
func (h *Handler) LoginLink(ctx context.Context, addr string) (string, error) {
	token, _ := closeloop.NewToken()
	if err := h.Store.CreateLoginLink(ctx, closeloop.SecretID(token), addr, h.now().Add(closeloop.LoginLinkTTL)); err != nil {
		return "", err
	}
	return h.Config.BaseURL + "/console/login/" + token, nil
}

// loginLink shows the "Sign in" button of a link and changes nothing: mail
// scanners open every link.
func (h *Handler) loginLink(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	err := closeloop.CheckToken(token)
	if err == nil {
		err = h.Store.PeekLoginLink(r.Context(), closeloop.SecretID(token), h.now())
	}
	if err != nil {
		h.loginFailed(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "login_link.html", view{Title: "Sign in", Data: r.URL.Path})
}

func (h *Handler) loginFailed(w http.ResponseWriter, r *http.Request, err error) {
	code := web.Status(err)
	if code >= 500 {
		slog.ErrorContext(r.Context(), "sign-in", "err", err)
	} else {
		code = cmp.Or(map[int]int{http.StatusGone: http.StatusGone}[code], http.StatusNotFound)
	}
	h.render(w, r, code, "login.html", view{Title: "Sign in", Error: "This sign-in link has expired or was used already. Ask for a new one below."})
}

// loginStart uses the link once and starts a session.
func (h *Handler) loginStart(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	if err := closeloop.CheckToken(token); err != nil {
		h.loginFailed(w, r, err)
		return
	}
	if !sameOrigin(r, h.Config.BaseURL) {
		// Another site posting a link (its own operator's) from this
		// browser would sign the browser in as that operator.
		h.render(w, r, http.StatusForbidden, "login.html", view{Title: "Sign in", Error: "Open the link from your email and use its Sign in button."})
		return
	}
	now := h.now()
	email, err := h.Store.ConsumeLoginLink(r.Context(), closeloop.SecretID(token), now)
	if err == nil {
		_, err = h.operator(r.Context(), email)
	}
	if err != nil {
		h.loginFailed(w, r, err)
		return
	}
	secret, _ := closeloop.NewToken()
	sess := closeloop.Session{ID: closeloop.SecretID(secret), Email: email, CSRF: closeloop.NewCSRF(), CreatedAt: now, LastSeenAt: now}
	if err := h.Store.CreateSession(r.Context(), sess); err != nil {
		h.loginFailed(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: secret, Path: "/", HttpOnly: true, Secure: h.secure(),
		SameSite: http.SameSiteLaxMode, MaxAge: int(closeloop.SessionAbsolute.Seconds()),
	})
	ctx := context.WithValue(r.Context(), principalKey{}, closeloop.Principal{Email: email})
	h.audit(ctx, "sign-in", email, "")
	http.Redirect(w, r, "/console", http.StatusSeeOther)
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request, v view) error {
	if err := h.Store.DeleteSession(r.Context(), v.P.Session); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", HttpOnly: true, Secure: h.secure(), SameSite: http.SameSiteLaxMode, MaxAge: -1})
	h.audit(r.Context(), "sign-out", v.P.Email, "")
	http.Redirect(w, r, "/console/login", http.StatusSeeOther)
	return nil
}

// ---- responses ----

// InboxPage is the size of a page of the inbox.
const InboxPage = 50

type inboxData struct {
	Responses []closeloop.Survey
	Themes    []closeloop.Theme
	Query     url.Values
	Next      url.Values // the next page's query; nil on the last page
}

func (h *Handler) inbox(w http.ResponseWriter, r *http.Request, v view) error {
	q := r.URL.Query()
	f, err := h.responseFilter(q)
	if err != nil {
		return err
	}
	f.Newest, f.Limit = true, InboxPage
	svs, next, err := h.Store.ListResponses(r.Context(), f)
	if err != nil {
		return err
	}
	themes, err := h.Store.Themes(r.Context())
	if err != nil {
		return err
	}
	d := inboxData{Responses: svs, Themes: themes, Query: q}
	if next != "" {
		d.Next = maps.Clone(q)
		d.Next.Set("cursor", next)
	}
	v.Title, v.Nav, v.Data = "Inbox", "inbox", d
	return h.render(w, r, http.StatusOK, "inbox.html", v)
}

type responseData struct {
	TicketURL string // the ticket in its helpdesk, when configured
	Survey    closeloop.Survey
	Erased    bool // Survey.Erased(), for the template, which calls no method
	Contact   closeloop.Contact
	Earlier   []closeloop.Survey
	Themes    []closeloop.Theme
}

// SurveysOf is the store's look-up of one person's surveys, when it has one.
type SurveysOf interface {
	SurveysOf(ctx context.Context, contactID string, limit int) ([]closeloop.Survey, error)
}

func (h *Handler) responsePage(w http.ResponseWriter, r *http.Request, v view) error {
	sv, err := h.Store.GetSurvey(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	d := responseData{Survey: sv, Erased: sv.Erased(), TicketURL: h.Config.TicketURL(sv.Source, sv.TicketID)}
	if !sv.Erased() {
		if d.Contact, err = h.Store.GetContact(r.Context(), sv.ContactID); err != nil && !errors.Is(err, closeloop.ErrNotFound) {
			return err
		}
		if so, ok := h.Store.(SurveysOf); ok {
			all, err := so.SurveysOf(r.Context(), sv.ContactID, 20)
			if err != nil {
				return err
			}
			for _, e := range all {
				if e.ID != sv.ID {
					d.Earlier = append(d.Earlier, e)
				}
			}
		}
	}
	if d.Themes, err = h.Store.Themes(r.Context()); err != nil {
		return err
	}
	v.Title, v.Nav, v.Data = "Response", "inbox", d
	return h.render(w, r, http.StatusOK, "response.html", v)
}

func (h *Handler) responseThemes(w http.ResponseWriter, r *http.Request, v view) error {
	themes := r.PostForm["theme"]
	slices.Sort(themes)
	themes = slices.Compact(themes)
	if err := h.knownThemes(r.Context(), themes); err != nil {
		return err
	}
	sv, err := h.Store.SetThemes(r.Context(), r.PathValue("id"), themes)
	if err != nil {
		return err
	}
	h.audit(r.Context(), "response.themes", sv.ID, strings.Join(themes, ", "))
	http.Redirect(w, r, "/console/responses/"+url.PathEscape(sv.ID), http.StatusSeeOther)
	return nil
}

// ---- themes ----

type themeRow struct {
	closeloop.Theme
	Count int
}

type themesData struct {
	Themes  []themeRow
	Draft   closeloop.Theme    // the theme being previewed
	Matches []closeloop.Survey // responses the draft's keywords would tag
	Preview bool
	Delete  *themeRow // the theme whose deletion waits for a confirmation
}

// BackfillDays is how far back a new keyword theme tags existing responses.
const BackfillDays = 365

func (h *Handler) themeRows(ctx context.Context) ([]themeRow, error) {
	ts, err := h.Store.Themes(ctx)
	if err != nil {
		return nil, err
	}
	rows := make([]themeRow, 0, len(ts))
	for _, t := range ts {
		n, err := h.Store.ThemeCount(ctx, t.Name)
		if err != nil {
			return nil, err
		}
		rows = append(rows, themeRow{Theme: t, Count: n})
	}
	return rows, nil
}

func (h *Handler) themesPage(w http.ResponseWriter, r *http.Request, v view) error {
	rows, err := h.themeRows(r.Context())
	if err != nil {
		return err
	}
	v.Title, v.Nav, v.Data = "Themes", "themes", themesData{Themes: rows}
	return h.render(w, r, http.StatusOK, "themes.html", v)
}

// matches returns the answered responses of the last BackfillDays whose
// comments t's keywords match and that do not carry t yet.
func (h *Handler) matches(ctx context.Context, t closeloop.Theme) ([]closeloop.Survey, error) {
	if len(t.Keywords) == 0 {
		return nil, nil
	}
	today := h.now().UTC().Truncate(24 * time.Hour)
	all, _, err := h.Store.ListResponses(ctx, closeloop.ResponseFilter{From: today.AddDate(0, 0, -BackfillDays), To: today, HasComment: true, Newest: true})
	if err != nil {
		return nil, err
	}
	var out []closeloop.Survey
	for _, sv := range all {
		if !slices.Contains(sv.Themes, t.Name) && len(closeloop.MatchThemes(sv.Comment, []closeloop.Theme{t})) > 0 {
			out = append(out, sv)
		}
	}
	return out, nil
}

// themeSave previews (action=preview) or saves a theme; saving tags the
// existing responses its keywords match (the back-fill the preview showed).
func (h *Handler) themeSave(w http.ResponseWriter, r *http.Request, v view) error {
	var kws []string
	for _, k := range strings.Split(r.PostForm.Get("keywords"), ",") {
		kws = append(kws, k)
	}
	t, err := closeloop.NewTheme(strings.TrimSpace(r.PostForm.Get("name")), kws, h.now())
	if err != nil {
		rows, rerr := h.themeRows(r.Context())
		if rerr != nil {
			return rerr
		}
		v.Title, v.Nav, v.Error = "Themes", "themes", strings.TrimPrefix(err.Error(), "invalid: ")
		v.Data = themesData{Themes: rows, Draft: closeloop.Theme{Name: r.PostForm.Get("name"), Keywords: kws}}
		return h.render(w, r, http.StatusBadRequest, "themes.html", v)
	}
	matches, err := h.matches(r.Context(), t)
	if err != nil {
		return err
	}
	if r.PostForm.Get("action") == "preview" {
		rows, err := h.themeRows(r.Context())
		if err != nil {
			return err
		}
		v.Title, v.Nav, v.Data = "Themes", "themes", themesData{Themes: rows, Draft: t, Matches: matches, Preview: true}
		return h.render(w, r, http.StatusOK, "themes.html", v)
	}
	if _, err := h.Store.PutTheme(r.Context(), t); err != nil {
		return err
	}
	for _, sv := range matches {
		if _, err := h.Store.SetThemes(r.Context(), sv.ID, append(slices.Clone(sv.Themes), t.Name)); err != nil {
			return err
		}
	}
	h.audit(r.Context(), "theme.put", t.Name, fmt.Sprintf("keywords %s; tagged %d existing responses", strings.Join(t.Keywords, ", "), len(matches)))
	http.Redirect(w, r, "/console/themes", http.StatusSeeOther)
	return nil
}

func (h *Handler) themeRename(w http.ResponseWriter, r *http.Request, v view) error {
	from, to := r.PathValue("name"), strings.TrimSpace(r.PostForm.Get("to"))
	if err := closeloop.ValidateThemeName(to); err != nil {
		return err
	}
	if err := h.Store.RenameTheme(r.Context(), from, to, h.now()); err != nil {
		return err
	}
	h.audit(r.Context(), "theme.rename", from, "to "+to)
	http.Redirect(w, r, "/console/themes", http.StatusSeeOther)
	return nil
}

func (h *Handler) themeDelete(w http.ResponseWriter, r *http.Request, v view) error {
	name := r.PathValue("name")
	if err := closeloop.ValidateThemeName(name); err != nil {
		return err
	}
	if r.PostForm.Get("confirm") != name {
		// Asked first: the theme leaves every response, and no
		// improvement can reach the customers who raised it any more.
		rows, err := h.themeRows(r.Context())
		if err != nil {
			return err
		}
		d := themesData{Themes: rows}
		for i := range rows {
			if rows[i].Name == name {
				d.Delete = &rows[i]
			}
		}
		if d.Delete == nil {
			return closeloop.Errorf(closeloop.ErrNotFound, "no theme %q", name)
		}
		v.Title, v.Nav, v.Data = "Themes", "themes", d
		return h.render(w, r, http.StatusOK, "themes.html", v)
	}
	if err := h.Store.DeleteTheme(r.Context(), name); err != nil {
		return err
	}
	h.audit(r.Context(), "theme.delete", name, "")
	http.Redirect(w, r, "/console/themes", http.StatusSeeOther)
	return nil
}

// ---- improvements ----

// audience is who an improvement of a theme would reach.
type audience struct {
	People     int
	Suppressed int
	Mailed     int // People less Suppressed: who gets the email
	Languages  map[string]int
}

func (h *Handler) audienceOf(ctx context.Context, im closeloop.Improvement) (audience, error) {
	a := audience{Languages: map[string]int{}}
	seen := map[string]bool{}
	limited := im.Audience != (closeloop.Audience{})
	err := h.Store.ThemeMembers(ctx, im.Theme, "", func(m closeloop.ThemeMember) error {
		if seen[m.ContactID] || m.ContactID == "" {
			return nil
		}
		if limited {
			sv, err := h.Store.GetSurvey(ctx, m.SurveyID)
			if errors.Is(err, closeloop.ErrNotFound) {
				return nil
			}
			if err != nil {
				return err
			}
			if !im.Audience.Includes(sv, h.now()) {
				return nil
			}
		}
		seen[m.ContactID] = true
		c, err := h.Store.GetContact(ctx, m.ContactID)
		if errors.Is(err, closeloop.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		a.People++
		if c.Suppressed != "" {
			a.Suppressed++
		}
		_, lang := im.TextFor(c.Locale)
		a.Languages[lang]++
		return nil
	})
	a.Mailed = a.People - a.Suppressed
	return a, err
}

type improvementsData struct {
	Improvements []ImprovementView
	Themes       []closeloop.Theme
	Draft        struct {
		Theme, Summary, Message   string
		OnlyDetractors            bool
		SinceDays                 int
		TLang, TSummary, TMessage string
		Link                      string
		Nonce                     string // names the announcement: a double-clicked Send makes one
		Reviewed                  string // reviewDigest of the draft whose audience and email the page shows
	}
	Review           bool // Send was pressed before the audience and the email were shown
	Audience         *audience
	PreviewQuery     template.URL // encoded here (url.Values.Encode)
	TranslationQuery template.URL
	Sent             string // the address a test went to
}

// reviewDigest names a compose form's draft: its text, link, translation
// and audience.
func reviewDigest(f url.Values) string {
	h := sha256.New()
	for _, k := range []string{"theme", "summary", "message", "link", "only_detractors", "since_days", "t_lang", "t_summary", "t_message"} {
		fmt.Fprintf(h, "%s=%q\n", k, f.Get(k))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

func (h *Handler) improvementsData(ctx context.Context) (improvementsData, error) {
	var d improvementsData
	ims, err := h.Store.Improvements(ctx, 50)
	if err != nil {
		return d, err
	}
	for _, im := range ims {
		d.Improvements = append(d.Improvements, viewOf(im))
	}
	d.Draft.Nonce = closeloop.NewID()
	d.Themes, err = h.Store.Themes(ctx)
	return d, err
}

func (h *Handler) improvementsPage(w http.ResponseWriter, r *http.Request, v view) error {
	d, err := h.improvementsData(r.Context())
	if err != nil {
		return err
	}
	d.Draft.Theme = r.URL.Query().Get("theme")
	v.Title, v.Nav, v.Data = "Improvements", "improvements", d
	return h.render(w, r, http.StatusOK, "improvements.html", v)
}

// improvementPost previews, sends a test of, or sends an improvement
// (field action: preview, test, send).
func (h *Handler) improvementPost(w http.ResponseWriter, r *http.Request, v view) error {
	theme, summary, message := r.PostForm.Get("theme"), r.PostForm.Get("summary"), r.PostForm.Get("message")
	var extras improvementExtras
	extras.OnlyDetractors = r.PostForm.Get("only_detractors") != ""
	extras.Link = r.PostForm.Get("link")
	extras.SinceDays, _ = strconv.Atoi(r.PostForm.Get("since_days"))
	if lang := r.PostForm.Get("t_lang"); lang != "" && (r.PostForm.Get("t_summary") != "" || r.PostForm.Get("t_message") != "") {
		extras.Translations = map[string]closeloop.Text{lang: {Summary: r.PostForm.Get("t_summary"), Message: r.PostForm.Get("t_message")}}
	}
	// Send goes only from a page that showed this very draft's audience and
	// email: one click on a fresh form would mail everyone who raised the
	// theme, unseen.
	reviewed := reviewDigest(r.PostForm)
	review := r.PostForm.Get("action") == "send" && r.PostForm.Get("reviewed") != reviewed
	if r.PostForm.Get("action") == "send" && !review {
		im, err := h.announce(r.Context(), r.PostForm.Get("nonce"), theme, summary, message, extras)
		if err == nil {
			http.Redirect(w, r, "/console/improvements/"+im.ID, http.StatusSeeOther)
			return nil
		}
		if web.Status(err) >= 500 {
			return err
		}
		v.Error = err.Error()
	}
	d, err := h.improvementsData(r.Context())
	if err != nil {
		return err
	}
	d.Draft.Theme, d.Draft.Summary, d.Draft.Message = theme, summary, message
	d.Draft.OnlyDetractors, d.Draft.SinceDays, d.Draft.Link = extras.OnlyDetractors, extras.SinceDays, extras.Link
	d.Draft.TLang, d.Draft.TSummary, d.Draft.TMessage = r.PostForm.Get("t_lang"), r.PostForm.Get("t_summary"), r.PostForm.Get("t_message")
	if n := r.PostForm.Get("nonce"); n != "" {
		d.Draft.Nonce = n // the same draft after a preview or a test
	}
	code := http.StatusOK
	draft, verr := closeloop.NewImprovement(theme, summary, message, h.now())
	if verr == nil {
		draft, verr = draft.WithTexts("", extras.Translations, extras.Audience)
	}
	if verr == nil {
		draft, verr = draft.WithLink(extras.Link)
	}
	if verr != nil {
		v.Error, code = verr.Error(), http.StatusBadRequest
	} else if v.Error == "" {
		a, err := h.audienceOf(r.Context(), draft)
		if err != nil {
			return err
		}
		d.Audience, d.Draft.Reviewed, d.Review = &a, reviewed, review
		if d.PreviewQuery, err = h.keepPreview(r.Context(), closeloop.Preview{Text: closeloop.Text{Summary: summary, Message: message}, Link: draft.Link}); err != nil {
			return err
		}
		if t, ok := draft.Translations[d.Draft.TLang]; ok {
			if d.TranslationQuery, err = h.keepPreview(r.Context(), closeloop.Preview{Text: t, Locale: d.Draft.TLang, Link: draft.Link}); err != nil {
				return err
			}
		}
		if r.PostForm.Get("action") == "test" {
			m, err := h.improvementEmail(h.owner(v.P), "", summary, message, draft.Link)
			if err != nil {
				return err
			}
			m.Tags = map[string]string{"closeloop_kind": "test"}
			if _, err := h.Mailer.Send(r.Context(), m); err != nil {
				return err
			}
			d.Sent = m.To
			h.audit(r.Context(), "improvement.test", theme, summary)
		}
	} else {
		code = http.StatusBadRequest
	}
	v.Title, v.Nav, v.Data = "Improvements", "improvements", d
	return h.render(w, r, code, "improvements.html", v)
}

// improvementEmail renders an improvement's email for a preview or test,
// quoting a placeholder where each customer's own words will stand.
func (h *Handler) improvementEmail(to, locale, summary, message, link string) (mail.Message, error) {
	// Only a link an announcement could carry: the preview's address can
	// be crafted and opened by anyone signed in.
	if _, err := (closeloop.Improvement{}).WithLink(link); err != nil {
		return mail.Message{}, err
	}
	return mail.ClosingEmail(to, mail.Closing{
		Name: "Ada", Locale: locale, Link: link, Brand: h.Config.Brand, Quote: "(Each customer's own comment on this theme is quoted here.)",
		Summary: strings.TrimSpace(summary), Detail: strings.TrimSpace(message), UnsubscribeURL: h.Config.BaseURL + "/u/preview",
	})
}

// keepPreview stores p for the compose page's preview frame and returns
// the frame's query: the preview's id, not its text (closeloop.Preview).
func (h *Handler) keepPreview(ctx context.Context, p closeloop.Preview) (template.URL, error) {
	id := closeloop.NewID()
	if err := h.Store.PutPreview(ctx, id, p, h.now().Add(closeloop.PreviewFor)); err != nil {
		return "", err
	}
	return template.URL(url.Values{"id": {id}}.Encode()), nil
}

// improvementPreview is the rendered email, shown in the compose page's
// frame. Email HTML needs inline styles, so this one response allows them
// (and nothing else); it can only be framed by the console itself.
func (h *Handler) improvementPreview(w http.ResponseWriter, r *http.Request, v view) error {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; frame-ancestors 'self'; base-uri 'none'; form-action 'none'; sandbox")
	// Its errors are written here, not as the console's error page, which
	// may not be framed: the frame would stay blank.
	id := r.URL.Query().Get("id")
	var p closeloop.Preview
	err := error(closeloop.ErrNotFound) // an id NewID cannot have made
	if closeloop.IsHexID(id) {
		p, err = h.Store.GetPreview(r.Context(), id, h.now())
	}
	if errors.Is(err, closeloop.ErrNotFound) {
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`<!doctype html><html lang="en"><title>Preview</title><p style="font-family:sans-serif">This preview has expired or is unknown. Preview the draft again.</p>`))
		return nil
	}
	if err != nil {
		return err
	}
	m, err := h.improvementEmail("preview@closeloop.localhost", p.Locale, p.Summary, p.Message, p.Link)
	if err != nil {
		return err
	}
	w.Write([]byte(m.HTML))
	return nil
}

func (h *Handler) improvementPage(w http.ResponseWriter, r *http.Request, v view) error {
	im, err := h.Store.GetImprovement(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	iv := viewOf(im)
	live := iv.Pending > 0 || iv.Recipients == 0 && h.now().Sub(im.CreatedAt) < 2*time.Minute
	if live {
		v.Refresh = 2
	}
	v.Title, v.Nav, v.Data = "Improvement", "improvements", struct {
		ImprovementView
		Live bool
	}{iv, live}
	return h.render(w, r, http.StatusOK, "improvement.html", v)
}

// ---- dashboard ----

type breakdownRow struct {
	Name      string
	Responses int
	Scores    closeloop.Scores
	Row       BreakdownRow // with the reopen and repeat-contact rates
}

type dashboardData struct {
	From, To     string
	Metrics      Metrics
	Charts       []chart
	Distribution map[closeloop.Kind][]bar
	BySource     []breakdownRow
	ByAgent      []breakdownRow
	ByTheme      []breakdownRow
	Retention    []closeloop.CohortRow
}

func (h *Handler) dashboard(w http.ResponseWriter, r *http.Request, v view) error {
	q := r.URL.Query()
	from, to, err := h.dateRange(q)
	if err != nil {
		return err
	}
	days, err := h.Store.CountersBetween(r.Context(), from, to)
	if err != nil {
		return err
	}
	d := dashboardData{From: from.Format(time.DateOnly), To: to.Format(time.DateOnly), Metrics: metricsOf(from, to, days, "")}
	d.Charts = charts(days)
	svs, _, err := h.Store.ListResponses(r.Context(), closeloop.ResponseFilter{From: from, To: to})
	if err != nil {
		return err
	}
	d.Distribution = distribution(svs)
	// The breakdowns come from the daily rollups: one query a day each.
	for name, rows := range map[string]*[]breakdownRow{"source": &d.BySource, "agent": &d.ByAgent, "theme": &d.ByTheme} {
		br, err := h.breakdown(r.Context(), from, to, name)
		if err != nil {
			return err
		}
		for _, b := range br {
			if b.Responses > 0 || b.SurveysSent > 0 {
				*rows = append(*rows, breakdownRow{Name: b.Key, Responses: int(b.Responses), Scores: b.Scores, Row: b})
			}
		}
	}
	if d.Retention, err = h.Store.Retention(r.Context(), from, to); err != nil {
		return err
	}
	v.Title, v.Nav, v.Data = "Dashboard", "dashboard", d
	return h.render(w, r, http.StatusOK, "dashboard.html", v)
}

// ---- operators, tokens, audit ----

func (h *Handler) operatorsPage(w http.ResponseWriter, r *http.Request, v view) error {
	ops, err := h.Store.Operators(r.Context())
	if err != nil {
		return err
	}
	v.Title, v.Nav, v.Data = "Operators", "operators", ops
	return h.render(w, r, http.StatusOK, "operators.html", v)
}

func (h *Handler) operatorAdd(w http.ResponseWriter, r *http.Request, v view) error {
	if _, err := h.addOperatorAs(r, r.PostForm.Get("email"), r.PostForm.Get("role")); err != nil {
		return err
	}
	http.Redirect(w, r, "/console/operators", http.StatusSeeOther)
	return nil
}

func (h *Handler) operatorDelete(w http.ResponseWriter, r *http.Request, v view) error {
	if err := h.removeOperator(r, r.PathValue("email")); err != nil {
		return err
	}
	http.Redirect(w, r, "/console/operators", http.StatusSeeOther)
	return nil
}

type tokensData struct {
	Tokens []closeloop.APIToken
	New    string // a token just created, shown once
}

func (h *Handler) tokensPage(w http.ResponseWriter, r *http.Request, v view) error {
	ts, err := h.tokensOf(r)
	if err != nil {
		return err
	}
	v.Title, v.Nav, v.Data = "API tokens", "tokens", tokensData{Tokens: ts}
	return h.render(w, r, http.StatusOK, "tokens.html", v)
}

func (h *Handler) tokenCreate(w http.ResponseWriter, r *http.Request, v view) error {
	days, _ := strconv.Atoi(cmp.Or(r.PostForm.Get("expires_in_days"), "0"))
	_, secret, err := h.newToken(r, r.PostForm.Get("name"), days)
	if err != nil {
		return err
	}
	ts, err := h.tokensOf(r)
	if err != nil {
		return err
	}
	v.Title, v.Nav, v.Data = "API tokens", "tokens", tokensData{Tokens: ts, New: secret}
	return h.render(w, r, http.StatusCreated, "tokens.html", v)
}

func (h *Handler) tokenDelete(w http.ResponseWriter, r *http.Request, v view) error {
	if err := h.revokeToken(r, r.PathValue("id")); err != nil {
		return err
	}
	http.Redirect(w, r, "/console/tokens", http.StatusSeeOther)
	return nil
}

// lookupsPage lists the surveys not sent because the helpdesk could not
// name the customer, with why and a link to the ticket.
func (h *Handler) lookupsPage(w http.ResponseWriter, r *http.Request, v view) error {
	fs, err := h.lookupFailures(r.Context())
	if err != nil {
		return err
	}
	v.Title, v.Nav, v.Data = "Look-ups that failed", "lookups", fs
	return h.render(w, r, http.StatusOK, "lookups.html", v)
}

func (h *Handler) auditPage(w http.ResponseWriter, r *http.Request, v view) error {
	es, next, err := h.Store.Audit(r.Context(), h.now(), r.URL.Query().Get("cursor"), DefaultAuditLimit)
	if err != nil {
		return err
	}
	d := struct {
		Entries []closeloop.AuditEntry
		Next    url.Values
	}{Entries: es}
	if next != "" {
		d.Next = url.Values{"cursor": {next}}
	}
	v.Title, v.Nav, v.Data = "Audit log", "audit", d
	return h.render(w, r, http.StatusOK, "audit.html", v)
}
