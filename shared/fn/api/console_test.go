package api_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/fn/api"
	"github.com/closeloop/closeloop/shared/fn/webhook"
	"github.com/closeloop/closeloop/shared/local/awstest"
	"github.com/closeloop/closeloop/shared/local/devstack"
)

// browser is an HTTP client with a cookie jar that does not follow
// redirects, over a test server of the whole stack.
type browser struct {
	t    testing.TB
	base string
	c    *http.Client
}

func newBrowser(t testing.TB, srv *httptest.Server) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: srv.URL, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) do(method, path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, b.base+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	bs, _ := io.ReadAll(res.Body)
	return res, string(bs)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf reads the CSRF token from a console page.
func (b *browser) csrf() string {
	b.t.Helper()
	_, page := b.do("GET", "/console/tokens", nil)
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		b.t.Fatalf("no CSRF field on the page")
	}
	return m[1]
}

// stack starts the whole stack over a test server whose address is the
// base URL of every link.
func stack(t testing.TB) (*devstack.Stack, *httptest.Server) {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	srv.Start()
	t.Cleanup(srv.Close)
	cfg := awstest.Config()
	cfg.BaseURL = srv.URL
	cfg.AdminEmail = awstest.Email()
	st := awstest.Stack(t, cfg)
	srv.Config.Handler = st.Handler
	return st, srv
}

var signInRE = regexp.MustCompile(`https?://[^\s"<>]+/console/login/([A-Za-z0-9_-]{43})`)

// signIn signs b in as email through the emailed link.
func signIn(t testing.TB, st *devstack.Stack, b *browser, email string) {
	t.Helper()
	before := len(awstest.MailTo(t, email))
	if res, _ := b.do("POST", "/console/login", url.Values{"email": {email}}); res.StatusCode != 200 {
		t.Fatalf("POST /console/login: %d", res.StatusCode)
	}
	mails := awstest.MailTo(t, email)
	if len(mails) != before+1 {
		t.Fatalf("%d sign-in emails to %s, want %d", len(mails), email, before+1)
	}
	m := signInRE.FindStringSubmatch(mails[len(mails)-1].Body.Text)
	if m == nil {
		t.Fatalf("no sign-in link in %q", mails[len(mails)-1].Body.Text)
	}
	path := "/console/login/" + m[1]
	res, _ := b.do("GET", path, nil)
	if res.StatusCode != 200 || len(res.Cookies()) != 0 {
		t.Fatalf("GET of the link: %d, cookies %v; want 200 and no session", res.StatusCode, res.Cookies())
	}
	res, _ = b.do("POST", path, url.Values{})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/console" {
		t.Fatalf("POST of the link: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	var c *http.Cookie
	for _, k := range res.Cookies() {
		if k.Name == api.SessionCookie {
			c = k
		}
	}
	if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Lax", c)
	}
	if res, _ := b.do("POST", path, url.Values{}); res.StatusCode/100 != 4 {
		t.Errorf("the link worked twice: %d", res.StatusCode)
	}
}

// consoleWithAnswer is a stack with a browser signed in as its first admin
// and one customer who answered rating with comment: their address and
// survey email.
func consoleWithAnswer(t *testing.T, rating int, comment string) (*devstack.Stack, *browser, string, awstest.Mail) {
	t.Helper()
	st, srv := stack(t)
	b := newBrowser(t, srv)
	signIn(t, st, b, st.Config.AdminEmail)
	email, m := awstest.Surveyed(t, st, "generic", "", closeloop.CSAT)
	awstest.Answer(t, st, m, rating, comment)
	return st, b, email, m
}

func TestSignIn(t *testing.T) {
	st, srv := stack(t)
	b := newBrowser(t, srv)
	if res, _ := b.do("GET", "/console", nil); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/console/login" {
		t.Fatalf("GET /console without a session: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	// An unknown address gets the same page and no email.
	stranger := awstest.Email()
	_, known := b.do("POST", "/console/login", url.Values{"email": {st.Config.AdminEmail}})
	res, unknown := b.do("POST", "/console/login", url.Values{"email": {stranger}})
	if res.StatusCode != 200 || unknown != known {
		t.Errorf("unknown address: %d, page differs from an operator's", res.StatusCode)
	}
	if n := len(awstest.MailTo(t, stranger)); n != 0 {
		t.Errorf("%d emails to a stranger", n)
	}
	signIn(t, st, b, st.Config.AdminEmail)
	if res, page := b.do("GET", "/console", nil); res.StatusCode != 200 || !strings.Contains(page, "Inbox") {
		t.Fatalf("GET /console with a session: %d", res.StatusCode)
	}
	if res.Header.Get("Content-Security-Policy") == "" || strings.Contains(res.Header.Get("Content-Security-Policy"), "unsafe-inline") {
		t.Errorf("CSP %q", res.Header.Get("Content-Security-Policy"))
	}
	// Signing out ends the session server-side.
	jar := b.c.Jar
	cookies := jar.Cookies(mustURL(srv.URL))
	b.do("POST", "/console/logout", url.Values{"csrf": {b.csrf()}})
	replay := newBrowser(t, srv)
	replay.c.Jar.SetCookies(mustURL(srv.URL), cookies)
	if res, _ := replay.do("GET", "/console", nil); res.StatusCode != http.StatusSeeOther {
		t.Errorf("a signed-out session still works: %d", res.StatusCode)
	}
	// An expired link.
	link, _ := st.API.LoginLink(context.Background(), st.Config.AdminEmail)
	late := api.New(st.Config, st.Store, st.Queue, st.Sender, nil)
	late.Now = func() time.Time { return time.Now().Add(closeloop.LoginLinkTTL + time.Minute) }
	w := httptest.NewRecorder()
	late.ServeHTTP(w, httptest.NewRequest("POST", strings.TrimPrefix(link, srv.URL), nil))
	if w.Code != http.StatusGone {
		t.Errorf("expired link: %d, want 410", w.Code)
	}
}

func mustURL(s string) *url.URL { u, _ := url.Parse(s); return u }

func TestCSRFAndRoles(t *testing.T) {
	st, srv := stack(t)
	admin := newBrowser(t, srv)
	signIn(t, st, admin, st.Config.AdminEmail)
	before := awstest.Snapshot(t, st.Config.Table)
	// A cross-site form: the session cookie, no CSRF field.
	for _, path := range []string{"/console/themes", "/console/operators", "/console/tokens", "/console/improvements", "/console/logout"} {
		res, _ := admin.do("POST", path, url.Values{"name": {"exports"}, "email": {"eve@example.com"}, "role": {"admin"}})
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s without CSRF: %d, want 403", path, res.StatusCode)
		}
	}
	if after := awstest.Snapshot(t, st.Config.Table); after != before {
		t.Error("a POST without its CSRF token changed the table")
	}
	// The JSON API with a session needs the CSRF header for changes.
	req, _ := http.NewRequest("POST", srv.URL+"/api/themes", strings.NewReader(`{"name":"x"}`))
	res, err := admin.c.Do(req)
	if err != nil || res.StatusCode != http.StatusForbidden {
		t.Errorf("POST /api/themes with a session and no CSRF header: %v %v", res.StatusCode, err)
	}

	// A viewer reads and changes nothing.
	viewerEmail := awstest.Email()
	if res, _ := admin.do("POST", "/console/operators", url.Values{"csrf": {admin.csrf()}, "email": {viewerEmail}, "role": {"viewer"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("add viewer: %d", res.StatusCode)
	}
	viewer := newBrowser(t, srv)
	signIn(t, st, viewer, viewerEmail)
	if res, _ := viewer.do("GET", "/console", nil); res.StatusCode != 200 {
		t.Errorf("viewer GET /console: %d", res.StatusCode)
	}
	before = awstest.Snapshot(t, st.Config.Table)
	csrf := viewer.csrf()
	for _, path := range []string{"/console/themes", "/console/operators", "/console/improvements", "/console/responses/x/themes", "/console/themes/x/delete",
		"/console/themes/x/rename", "/console/cases/x", "/console/cases/x/reply", "/console/operators/" + viewerEmail + "/delete"} {
		res, _ := viewer.do("POST", path, url.Values{"csrf": {csrf}, "name": {"exports"}, "theme": {"x"}, "summary": {"s"}, "message": {"m"}, "action": {"send"}, "email": {"eve@example.com"}, "role": {"admin"}})
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("viewer POST %s: %d, want 403", path, res.StatusCode)
		}
	}
	for _, path := range []string{"/console/operators", "/console/audit"} {
		if res, _ := viewer.do("GET", path, nil); res.StatusCode != http.StatusForbidden {
			t.Errorf("viewer GET %s: %d, want 403", path, res.StatusCode)
		}
	}
	if after := awstest.Snapshot(t, st.Config.Table); after != before {
		t.Error("a viewer changed the table")
	}
	// A viewer's API token acts as a viewer.
	res, page := viewer.do("POST", "/console/tokens", url.Values{"csrf": {csrf}, "name": {"script"}, "expires_in_days": {"30"}})
	m := regexp.MustCompile(`data-new-token>([^<]+)<`).FindStringSubmatch(page)
	if res.StatusCode != http.StatusCreated || m == nil {
		t.Fatalf("create token: %d", res.StatusCode)
	}
	token := m[1]
	for _, tt := range []struct {
		method, path, body string
		want               int
	}{
		{"GET", "/api/themes", "", 200},
		{"GET", "/api/responses", "", 200},
		{"GET", "/api/metrics", "", 200},
		{"POST", "/api/themes", `{"name":"exports"}`, 403},
		{"PUT", "/api/responses/x/themes", `{"themes":[]}`, 403},
		{"POST", "/api/improvements", `{"theme":"x","summary":"s","message":"m"}`, 403},
		{"DELETE", "/api/contacts/ada@example.com", "", 403},
		{"POST", "/api/operators", `{"email":"eve@example.com","role":"admin"}`, 403},
		{"DELETE", "/api/operators/" + st.Config.AdminEmail, "", 403},
		{"GET", "/api/operators", "", 403},
		{"GET", "/api/audit", "", 403},
		{"PATCH", "/api/cases/x", `{"status":"resolved"}`, 403},
		{"POST", "/api/cases/x/reply", `{"message":"hi"}`, 403},
		{"GET", "/api/dlq/closing", "", 403},
		{"POST", "/api/dlq/closing/replay", "", 403},
	} {
		if w := call(t, st.Handler, tt.method, tt.path, tt.body, token, nil); w.Code != tt.want {
			t.Errorf("viewer token %s %s: %d, want %d", tt.method, tt.path, w.Code, tt.want)
		}
	}
	// Revoked and expired tokens are refused.
	var list struct{ Tokens []closeloop.APIToken }
	call(t, st.Handler, "GET", "/api/tokens", "", token, &list)
	if len(list.Tokens) != 1 {
		t.Fatalf("viewer sees %d tokens", len(list.Tokens))
	}
	late := api.New(st.Config, st.Store, st.Queue, st.Sender, nil)
	late.Now = func() time.Time { return time.Now().AddDate(0, 0, 31) }
	if w := call(t, late, "GET", "/api/themes", "", token, nil); w.Code != 401 {
		t.Errorf("expired token: %d", w.Code)
	}
	if w := call(t, st.Handler, "DELETE", "/api/tokens/"+list.Tokens[0].ID, "", token, nil); w.Code != 200 {
		t.Fatalf("revoke: %d", w.Code)
	}
	if w := call(t, st.Handler, "GET", "/api/themes", "", token, nil); w.Code != 401 {
		t.Errorf("revoked token: %d", w.Code)
	}
	// Removing the operator ends their session.
	admin.do("POST", "/console/operators/"+viewerEmail+"/delete", url.Values{"csrf": {admin.csrf()}})
	if res, _ := viewer.do("GET", "/console", nil); res.StatusCode != http.StatusSeeOther {
		t.Errorf("removed operator's session: %d", res.StatusCode)
	}
	// The audit log has it all, without customer addresses.
	var audit struct{ Audit []closeloop.AuditEntry }
	call(t, st.Handler, "GET", "/api/audit", "", st.Config.AdminToken, &audit)
	var actions []string
	for _, e := range audit.Audit {
		actions = append(actions, e.Action)
	}
	for _, want := range []string{"sign-in", "operator.put", "token.create", "token.revoke", "operator.delete"} {
		if !strings.Contains(strings.Join(actions, " "), want) {
			t.Errorf("audit log lacks %s: %v", want, actions)
		}
	}
	// A session idle past its limit is over.
	idle := api.New(st.Config, st.Store, st.Queue, st.Sender, nil)
	idle.Now = func() time.Time { return time.Now().Add(closeloop.SessionIdle + time.Minute) }
	idleSrv := httptest.NewServer(idle)
	defer idleSrv.Close()
	stale := newBrowser(t, idleSrv)
	stale.c.Jar.SetCookies(mustURL(idleSrv.URL), admin.c.Jar.Cookies(mustURL(srv.URL)))
	if res, _ := stale.do("GET", "/console", nil); res.StatusCode != http.StatusSeeOther {
		t.Errorf("an idle session: %d, want 303 to sign in", res.StatusCode)
	}
}

func TestOperatorsAndTokensAPI(t *testing.T) {
	st, _ := stack(t)
	tok := st.Config.AdminToken
	var op closeloop.Operator
	if w := call(t, st.Handler, "POST", "/api/operators", `{"email":"Grace@Example.com","role":"editor"}`, tok, &op); w.Code != 201 || op.Email != "grace@example.com" || op.Role != "editor" {
		t.Fatalf("add operator: %d %+v", w.Code, op)
	}
	for _, body := range []string{`{"email":"grace@example.com","role":"owner"}`, `{"email":"not an address","role":"viewer"}`} {
		if w := call(t, st.Handler, "POST", "/api/operators", body, tok, nil); w.Code != 400 {
			t.Errorf("POST /api/operators %s: %d, want 400", body, w.Code)
		}
	}
	var ops struct{ Operators []closeloop.Operator }
	call(t, st.Handler, "GET", "/api/operators", "", tok, &ops)
	if len(ops.Operators) != 1 {
		t.Errorf("operators %+v", ops.Operators)
	}
	var created struct{ ID, Token string }
	if w := call(t, st.Handler, "POST", "/api/tokens", `{"name":"ci","expires_in_days":7}`, tok, &created); w.Code != 201 || created.Token == "" {
		t.Fatalf("create token: %d", w.Code)
	}
	var me struct{ Email, Role string }
	call(t, st.Handler, "GET", "/api/me", "", created.Token, &me)
	if me.Email != st.Config.AdminEmail || me.Role != "admin" {
		t.Errorf("the bootstrap admin's token acts as %+v, want the first admin", me)
	}
	if w := call(t, st.Handler, "DELETE", "/api/operators/grace@example.com", "", created.Token, nil); w.Code != 200 {
		t.Errorf("delete operator: %d", w.Code)
	}
	if w := call(t, st.Handler, "POST", "/api/tokens", `{"name":"","expires_in_days":7}`, tok, nil); w.Code != 400 {
		t.Errorf("nameless token: %d", w.Code)
	}
}

func TestConsolePagesEscapeAndWork(t *testing.T) {
	st, b, _, _ := consoleWithAnswer(t, 1, `<script>alert(1)</script> the export hangs`)
	_, m2 := awstest.Surveyed(t, st, "generic", "", closeloop.CSAT)
	awstest.Answer(t, st, m2, 5, "all good")
	_, page := b.do("GET", "/console?band=detractor", nil)
	if strings.Contains(page, "<script>alert") || !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt; the export hangs") {
		t.Errorf("comment not escaped in the inbox")
	}
	if strings.Contains(page, "all good") {
		t.Error("the detractor filter shows a promoter")
	}
	// A keyword theme: preview, then save and back-fill.
	csrf := b.csrf()
	_, page = b.do("POST", "/console/themes", url.Values{"csrf": {csrf}, "name": {"exports"}, "keywords": {"export"}, "action": {"preview"}})
	if !strings.Contains(page, "1 existing responses") {
		t.Errorf("preview does not count the match")
	}
	if res, _ := b.do("POST", "/console/themes", url.Values{"csrf": {csrf}, "name": {"exports"}, "keywords": {"export"}, "action": {"save"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("save theme: %d", res.StatusCode)
	}
	if n, _ := st.Store.ThemeCount(context.Background(), "exports"); n != 1 {
		t.Errorf("back-fill tagged %d responses, want 1", n)
	}
	// An improvement: preview with its audience, a test to me, then send.
	form := url.Values{"csrf": {csrf}, "theme": {"exports"}, "summary": {"Exports <b>fast</b>"}, "message": {"We rebuilt it."}}
	form.Set("action", "preview")
	_, page = b.do("POST", "/console/improvements", form)
	if !strings.Contains(page, `data-people>1<`) || strings.Contains(page, "<b>fast</b>") {
		t.Errorf("preview: audience or escaping wrong")
	}
	form.Set("action", "test")
	_, page = b.do("POST", "/console/improvements", form)
	if n := len(awstest.MailTo(t, st.Config.AdminEmail)); n != 2 { // the sign-in link and the test
		t.Errorf("%d emails to the operator, want the sign-in link and one test", n)
	}
	// Send from a fresh form (no audience or email shown yet) shows them
	// and sends nothing; from the page that showed them, it sends.
	fresh := url.Values{"csrf": {csrf}, "theme": {"exports"}, "summary": {"Exports <b>fast</b>"}, "message": {"We rebuilt it."}, "action": {"send"}}
	if res, p := b.do("POST", "/console/improvements", fresh); res.StatusCode != 200 || !strings.Contains(p, "data-review") || !strings.Contains(p, `data-people>1<`) {
		t.Errorf("Send on a fresh form: %d, want the audience and the email shown first", res.StatusCode)
	}
	if ims, _ := st.Store.Improvements(context.Background(), 10); len(ims) != 0 {
		t.Fatalf("Send on a fresh form announced %d improvements", len(ims))
	}
	reviewed := regexp.MustCompile(`name="reviewed" value="([^"]+)"`).FindStringSubmatch(page)
	if reviewed == nil {
		t.Fatal("the page showing the audience and the email lets nobody send")
	}
	form.Set("reviewed", reviewed[1])
	form.Set("action", "send")
	res, _ := b.do("POST", "/console/improvements", form)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("send: %d", res.StatusCode)
	}
	if err := st.DrainQueue(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, page = b.do("GET", res.Header.Get("Location"), nil)
	if !strings.Contains(page, `data-progress="sent">1<`) {
		t.Errorf("progress page does not show the one email sent")
	}
	// The dashboard's figures are the API's.
	today := time.Now().UTC().Format(time.DateOnly)
	_, page = b.do("GET", "/console/dashboard?from="+today+"&to="+today, nil)
	var metrics map[string]any
	w := call(t, st.Handler, "GET", "/api/metrics?from="+today+"&to="+today, "", st.Config.AdminToken, nil)
	json.Unmarshal(w.Body.Bytes(), &metrics)
	for name, want := range map[string]string{"responses": "2", "surveys_sent": "2", "csat": "50.0", "closing_sent": "1", "response_rate": "1.00", "reopen_rate": "0.00"} {
		if !strings.Contains(page, `data-metric="`+name+`">`+want+`<`) {
			t.Errorf("dashboard %s is not %s (API: %v)", name, want, metrics[name])
		}
	}
	// Breakdowns and cohorts come from the rollups: both answers were to
	// generic tickets; both customers are in this month's cohorts.
	for _, want := range []string{"By helpdesk", "<td>generic</td><td>2</td><td>2</td><td>1.00</td>", "Retention by cohort", "<td>" + today[:7] + "</td>"} {
		if !strings.Contains(page, want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}
	// Every page renders for an admin.
	for _, p := range []string{"/console/themes", "/console/improvements", "/console/operators", "/console/tokens", "/console/audit", "/console/dashboard", "/console/lookups"} {
		if res, _ := b.do("GET", p, nil); res.StatusCode != 200 {
			t.Errorf("GET %s: %d", p, res.StatusCode)
		}
	}
}

func TestResponsesCursor(t *testing.T) {
	st := awstest.Stack(t, closeloop.Config{})
	for i := 0; i < 5; i++ {
		_, m := awstest.Surveyed(t, st, "generic", "", closeloop.CSAT)
		awstest.Answer(t, st, m, 3, "")
	}
	seen := map[string]bool{}
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("cursor never ends")
		}
		var page struct {
			Responses  []api.Response
			NextCursor string `json:"next_cursor"`
		}
		call(t, st.Handler, "GET", "/api/responses?limit=2&cursor="+url.QueryEscape(cursor), "", st.Config.AdminToken, &page)
		for _, r := range page.Responses {
			if seen[r.ID] {
				t.Errorf("response %s on two pages", r.ID)
			}
			seen[r.ID] = true
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	if len(seen) != 5 {
		t.Errorf("pages held %d responses, want 5", len(seen))
	}
	if w := call(t, st.Handler, "GET", "/api/responses?cursor=garbage", "", st.Config.AdminToken, nil); w.Code != 400 {
		t.Errorf("bad cursor: %d", w.Code)
	}
}

// TestThemeRenameAndLink: a renamed theme keeps its responses; an
// improvement's link shows in its email as a button and a line.
func TestThemeRenameAndLink(t *testing.T) {
	st, srv := stack(t)
	b := newBrowser(t, srv)
	signIn(t, st, b, st.Config.AdminEmail)
	tok := st.Config.AdminToken
	call(t, st.Handler, "POST", "/api/themes", `{"name":"exprts","keywords":["export"]}`, tok, nil)
	email, m := awstest.Surveyed(t, st, "generic", "", closeloop.CSAT)
	awstest.Answer(t, st, m, 2, "export broken")
	csrf := b.csrf()
	if res, _ := b.do("POST", "/console/themes/exprts/rename", url.Values{"csrf": {csrf}, "to": {"exports"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("rename: %d", res.StatusCode)
	}
	sv, _ := st.Store.GetSurvey(context.Background(), closeloop.SurveyIDOf(awstest.Token(m)))
	if len(sv.Themes) != 1 || sv.Themes[0] != "exports" {
		t.Errorf("themes after rename %v", sv.Themes)
	}
	if n, _ := st.Store.ThemeCount(context.Background(), "exports"); n != 1 {
		t.Errorf("renamed theme counts %d", n)
	}
	if res, _ := b.do("POST", "/console/themes/exports/rename", url.Values{"csrf": {csrf}, "to": {"exports"}}); res.StatusCode != http.StatusConflict {
		t.Errorf("rename onto itself: %d, want 409", res.StatusCode)
	}
	if w := call(t, st.Handler, "POST", "/api/improvements", `{"theme":"exports","summary":"Faster","message":"Done.","link":"javascript:alert(1)"}`, tok, nil); w.Code != 400 {
		t.Errorf("a javascript: link: %d, want 400", w.Code)
	}
	call(t, st.Handler, "POST", "/api/improvements", `{"theme":"exports","summary":"Faster","message":"Done.","link":"https://acme.example/changelog"}`, tok, nil)
	st.DrainQueue(context.Background())
	mails := awstest.MailTo(t, email)
	last := mails[len(mails)-1]
	if !strings.Contains(last.Body.HTML, `href="https://acme.example/changelog"`) || !strings.Contains(last.Body.Text, "Read more: https://acme.example/changelog") {
		t.Errorf("closing email without the link: %d emails, last %q\n%s", len(mails), last.Subject, last.Body.Text)
	}
}

// TestResponsesPagesStaySmall: 300 responses with 4 KB comments (1.2 MB in
// all) asked for with the largest limit come back over several pages, each
// body under 1 MB, every response exactly once; the CSV export pages the
// same way, with the next cursor in X-Next-Cursor.
func TestResponsesPagesStaySmall(t *testing.T) {
	st := awstest.Stack(t, closeloop.Config{})
	ctx := context.Background()
	comment := strings.Repeat("Long feedback. ", 270)[:4000]
	now := time.Now()
	for i := 0; i < 300; i++ {
		sv := closeloop.Survey{ID: awstest.Name("sv"), Source: "generic", TicketID: fmt.Sprint(i), ContactID: "c", Kind: closeloop.CSAT, SentAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := st.Store.CreateSurvey(ctx, sv); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Store.Answer(ctx, sv, 3, comment, nil, now); err != nil {
			t.Fatal(err)
		}
	}
	for _, format := range []string{"json", "csv"} {
		seen, pages, cursor := map[string]bool{}, 0, ""
		for ; pages < 20; pages++ {
			w := call(t, st.Handler, "GET", fmt.Sprintf("/api/responses?limit=%d&format=%s&cursor=%s", api.MaxLimit, format, url.QueryEscape(cursor)), "", st.Config.AdminToken, nil)
			if w.Code != 200 || w.Body.Len() > 1<<20 {
				t.Fatalf("%s page %d: %d, %d bytes", format, pages, w.Code, w.Body.Len())
			}
			var ids []string
			if format == "json" {
				var page struct {
					Responses  []api.Response
					NextCursor string `json:"next_cursor"`
				}
				json.Unmarshal(w.Body.Bytes(), &page)
				for _, r := range page.Responses {
					ids = append(ids, r.ID)
				}
				cursor = page.NextCursor
			} else {
				rows, _ := csv.NewReader(w.Body).ReadAll()
				for _, row := range rows[1:] {
					ids = append(ids, row[0])
				}
				cursor = w.Header().Get("X-Next-Cursor")
			}
			for _, id := range ids {
				if seen[id] {
					t.Errorf("%s: response %s on two pages", format, id)
				}
				seen[id] = true
			}
			if cursor == "" {
				break
			}
		}
		if len(seen) != 300 || pages < 1 {
			t.Errorf("%s: %d responses over %d pages, want 300 over more than one", format, len(seen), pages+1)
		}
	}
}

// TestLookupFailuresPage: a survey not sent because its customer could not
// be looked up is listed, with why and a link to the ticket, in the console
// (for every operator) and through GET /api/lookups.
func TestLookupFailuresPage(t *testing.T) {
	cfg := awstest.Config()
	cfg.PerSource = map[string]closeloop.SourceSettings{"zendesk": {TicketURL: "https://acme.zendesk.com/agent/tickets/{id}"}}
	st := awstest.Stack(t, cfg)
	srv := httptest.NewServer(st.Handler)
	defer srv.Close()
	ctx := context.Background()
	st.Store.AddLookupFailure(ctx, closeloop.LookupFailure{At: time.Now().Add(-100 * 24 * time.Hour), Source: "zendesk", TicketID: "1", Reason: "too old to show"})
	st.Store.AddLookupFailure(ctx, closeloop.LookupFailure{At: time.Now(), Source: "zendesk", TicketID: "35436", Reason: "look up zendesk user 42: not found (404)"})
	var got struct{ Failures []api.LookupFailureView }
	if w := call(t, st.Handler, "GET", "/api/lookups", "", st.Config.AdminToken, &got); w.Code != 200 || len(got.Failures) != 1 ||
		got.Failures[0].TicketID != "35436" || got.Failures[0].TicketURL != "https://acme.zendesk.com/agent/tickets/35436" {
		t.Errorf("GET /api/lookups: %d %+v", w.Code, got)
	}
	st.Store.PutOperator(ctx, closeloop.Operator{Email: "viewer@acme.example", Role: closeloop.RoleViewer, CreatedAt: time.Now()})
	b := newBrowser(t, srv)
	signIn(t, st, b, "viewer@acme.example")
	res, page := b.do("GET", "/console/lookups", nil)
	if res.StatusCode != 200 || !strings.Contains(page, "not found (404)") || !strings.Contains(page, `href="https://acme.zendesk.com/agent/tickets/35436"`) || strings.Contains(page, "too old") {
		t.Errorf("GET /console/lookups: %d\n%s", res.StatusCode, page)
	}
}

// importResponse stores rec as an imported answer, as POST /api/import
// would, for a test that needs responses in the inbox.
func importResponse(t *testing.T, st *devstack.Stack, rec closeloop.ImportedResponse) {
	t.Helper()
	if err := rec.Validate(time.Now().UTC()); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Store.ImportResponse(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
}

var responseLinkRE = regexp.MustCompile(`/console/responses/([0-9a-f]{32})`)

// TestConsoleLinksKeepTheirQuery: the inbox's "Older responses" link and
// the improvement preview's frame carry their query as a query (html/template
// escaped it as one value: "band%3ddetractor%26cursor%3d…"), so the next
// page is the next page with the same filter, and the preview shows the
// draft.
func TestConsoleLinksKeepTheirQuery(t *testing.T) {
	st, srv := stack(t)
	now := time.Now().UTC()
	for i := range api.InboxPage + 3 {
		importResponse(t, st, closeloop.ImportedResponse{Origin: "csv", ID: fmt.Sprint("inbox-", i), Email: awstest.Email(), Kind: closeloop.CSAT, Score: 1, At: now.Add(-time.Duration(i+1) * time.Minute), Comment: "The export is slow"})
	}
	b := newBrowser(t, srv)
	signIn(t, st, b, st.Config.AdminEmail)
	_, first := b.do("GET", "/console?band=detractor", nil)
	next := regexp.MustCompile(`<a href="(/console\?[^"]+)">Older responses</a>`).FindStringSubmatch(first)
	if next == nil {
		t.Fatalf("no link to older responses on a full page:\n%s", first)
	}
	link := html.UnescapeString(next[1])
	u, err := url.Parse(link)
	if err != nil || u.Query().Get("band") != "detractor" || u.Query().Get("cursor") == "" {
		t.Fatalf("older responses link %q: want band=detractor and a cursor as query parameters", link)
	}
	_, second := b.do("GET", link, nil)
	seen := map[string]bool{}
	for _, m := range responseLinkRE.FindAllStringSubmatch(first, -1) {
		seen[m[1]] = true
	}
	olders := responseLinkRE.FindAllStringSubmatch(second, -1)
	if len(olders) == 0 {
		t.Fatalf("the second page lists nothing")
	}
	for _, m := range olders {
		if seen[m[1]] {
			t.Errorf("response %s on both pages", m[1])
		}
	}

	call(t, st.Handler, "POST", "/api/themes", `{"name":"exports","keywords":["export"]}`, st.Config.AdminToken, nil)
	_, page := b.do("POST", "/console/improvements", url.Values{"csrf": {b.csrf()}, "action": {"preview"}, "theme": {"exports"}, "summary": {"Faster exports"}, "message": {"Exports take seconds now."}})
	src := regexp.MustCompile(`<iframe[^>]* src="([^"]+)"`).FindStringSubmatch(page)
	if src == nil {
		t.Fatalf("no preview frame:\n%s", page)
	}
	pu, err := url.Parse(html.UnescapeString(src[1]))
	if err != nil || pu.Query().Get("id") == "" {
		t.Fatalf("preview frame %q: want the stored draft's id as a query parameter", src[1])
	}
	if _, preview := b.do("GET", pu.String(), nil); !strings.Contains(preview, "Exports take seconds now.") {
		t.Errorf("the preview does not show the draft:\n%s", preview)
	}
}

var formFieldsRE = regexp.MustCompile(`<input type="hidden" name="(was_[a-z]+)" value="([^"]*)">`)

// TestStaleCaseFormKeepsOthersChanges: a case page loaded before another
// operator resolved and took the case, used to add a note, leaves status
// and owner as the other set them (the form sent back the old ones and
// reopened the case, unassigned).
func TestStaleCaseFormKeepsOthersChanges(t *testing.T) {
	st, srv := stack(t)
	admin := newBrowser(t, srv)
	signIn(t, st, admin, st.Config.AdminEmail)
	_, m := awstest.Surveyed(t, st, "generic", "", closeloop.CSAT)
	awstest.Answer(t, st, m, 1, "slow")
	id := closeloop.SurveyIDOf(awstest.Token(m))
	_, stale := admin.do("GET", "/console/cases/"+id, nil)
	form := url.Values{"csrf": {admin.csrf()}, "status": {"open"}, "owner": {""}, "note": {"called, no answer"}}
	for _, f := range formFieldsRE.FindAllStringSubmatch(stale, -1) {
		form.Set(f[1], html.UnescapeString(f[2]))
	}
	// Meanwhile another admin resolves it and takes it.
	if w := call(t, st.Handler, "PATCH", "/api/cases/"+id, `{"status":"resolved","owner":"`+st.Config.AdminEmail+`"}`, st.Config.AdminToken, nil); w.Code != 200 {
		t.Fatalf("PATCH: %d %s", w.Code, w.Body)
	}
	if res, _ := admin.do("POST", "/console/cases/"+id, form); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("note from the stale page: %d", res.StatusCode)
	}
	c, err := st.Store.GetCase(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != closeloop.CaseResolved || c.Owner != st.Config.AdminEmail || len(c.Notes) == 0 {
		t.Errorf("after a note from a stale page: status %s, owner %q, %d notes; want resolved, %s, the note", c.Status, c.Owner, len(c.Notes), st.Config.AdminEmail)
	}
}

// TestConsoleTimesInTheTeamsZone: the console shows times in the team's
// zone (CLOSELOOP_TIMEZONE), named, as its days are: an answer of 06:30
// UTC on the 20th is 22:30 on the 19th in Los Angeles (it showed UTC,
// unlabelled, under the 19th's filter).
func TestConsoleTimesInTheTeamsZone(t *testing.T) {
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	srv.Start()
	t.Cleanup(srv.Close)
	cfg := awstest.Config()
	cfg.BaseURL, cfg.AdminEmail, cfg.TimeZone = srv.URL, awstest.Email(), la
	st := awstest.Stack(t, cfg)
	srv.Config.Handler = st.Handler
	at := time.Date(2026, 11, 20, 6, 30, 0, 0, time.UTC)
	rec := closeloop.ImportedResponse{Origin: "csv", ID: awstest.Name("zone-"), Email: awstest.Email(), Kind: closeloop.CSAT, Score: 4, At: at}
	if err := rec.Validate(time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Store.ImportResponse(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, srv)
	signIn(t, st, b, cfg.AdminEmail)
	if _, page := b.do("GET", "/console?from=2026-11-19&to=2026-11-19", nil); !strings.Contains(page, "2026-11-19 22:30 PST") {
		t.Errorf("the inbox of the 19th in Los Angeles does not show the answer at 22:30 PST:\n%s", page)
	}
}

// TestThemeDeleteAsksFirst: Delete on the themes page asks, naming how many
// responses lose the theme, and deletes only when confirmed (one click
// removed a theme from every response, and with it who raised it).
func TestThemeDeleteAsksFirst(t *testing.T) {
	st, b, _, m := consoleWithAnswer(t, 2, "the invoice is wrong")
	call(t, st.Handler, "POST", "/api/themes", `{"name":"billing","keywords":["invoice"]}`, st.Config.AdminToken, nil)
	id := closeloop.SurveyIDOf(awstest.Token(m))
	call(t, st.Handler, "PUT", "/api/responses/"+id+"/themes", `{"themes":["billing"]}`, st.Config.AdminToken, nil)
	csrf := b.csrf()
	res, page := b.do("POST", "/console/themes/billing/delete", url.Values{"csrf": {csrf}})
	if res.StatusCode != 200 || !strings.Contains(page, "data-confirm-delete") || !strings.Contains(page, "1 response") {
		t.Errorf("Delete without confirming: %d, want a page asking, with the count", res.StatusCode)
	}
	if themes, _ := st.Store.Themes(context.Background()); len(themes) != 1 {
		t.Fatalf("Delete without confirming deleted the theme")
	}
	if res, _ := b.do("POST", "/console/themes/billing/delete", url.Values{"csrf": {csrf}, "confirm": {"billing"}}); res.StatusCode != http.StatusSeeOther {
		t.Errorf("confirmed Delete: %d", res.StatusCode)
	}
	if themes, _ := st.Store.Themes(context.Background()); len(themes) != 0 {
		t.Errorf("confirmed Delete left %d themes", len(themes))
	}
}

// TestCaseShowsARevisedRating: a case whose customer revised their answer
// shows the rating now beside the one that opened it (a red 2 stood beside
// the revised, happy comment), on the case, in the list and in the API.
func TestCaseShowsARevisedRating(t *testing.T) {
	st, b, _, m := consoleWithAnswer(t, 2, "it did not arrive")
	awstest.Answer(t, st, m, 5, "it arrived after all, thanks")
	id := closeloop.SurveyIDOf(awstest.Token(m))
	for _, path := range []string{"/console/cases/" + id, "/console/cases?status="} {
		if _, page := b.do("GET", path, nil); !regexp.MustCompile(`revised to(</span>)? <span class="score [a-z]+">5</span>`).MatchString(page) {
			t.Errorf("%s does not show the revised rating:\n%s", path, page)
		}
	}
	var out struct{ Cases []api.CaseView }
	call(t, st.Handler, "GET", "/api/cases", "", st.Config.AdminToken, &out)
	if len(out.Cases) != 1 || out.Cases[0].Rating != 2 || out.Cases[0].RevisedRating == nil || *out.Cases[0].RevisedRating != 5 {
		t.Errorf("GET /api/cases: %+v, want rating 2 revised to 5", out.Cases)
	}
}

// TestSameReplyTextLaterStillGoes: a reply is sent once per form (a double
// click sends one email, and the page says the second went already), but the
// same words written again later, from a new page, go again (they were
// skipped for 400 days while the page said they went).
func TestSameReplyTextLaterStillGoes(t *testing.T) {
	_, b, email, m := consoleWithAnswer(t, 1, "broken")
	id := closeloop.SurveyIDOf(awstest.Token(m))
	before := len(awstest.MailTo(t, email))
	nonceRE := regexp.MustCompile(`name="nonce" value="([^"]+)"`)
	form := func() url.Values {
		_, page := b.do("GET", "/console/cases/"+id, nil)
		n := nonceRE.FindStringSubmatch(page)
		if n == nil {
			t.Fatal("the reply form has no nonce")
		}
		return url.Values{"csrf": {b.csrf()}, "nonce": {n[1]}, "message": {"Did this fix it?"}}
	}
	first := form()
	for range 2 { // a double click
		b.do("POST", "/console/cases/"+id+"/reply", first)
	}
	res, _ := b.do("POST", "/console/cases/"+id+"/reply", first)
	_, page := b.do("GET", res.Header.Get("Location"), nil)
	if !strings.Contains(page, "went already") {
		t.Errorf("the page after a repeated form does not say the reply went already")
	}
	b.do("POST", "/console/cases/"+id+"/reply", form()) // days later, the same words
	if n := len(awstest.MailTo(t, email)) - before; n != 2 {
		t.Errorf("%d replies emailed, want 2 (one per form)", n)
	}
}

// TestFollowUpListReadsInBatches: the follow-up list reads its cases'
// answers in batches, not one read per case after another (a year of
// cases was thousands of reads in a row, past API Gateway's 29 s).
func TestFollowUpListReadsInBatches(t *testing.T) {
	st := awstest.Stack(t, closeloop.Config{})
	const n = 30
	for range n {
		_, m := awstest.Surveyed(t, st, "generic", "", closeloop.CSAT)
		awstest.Answer(t, st, m, 1, "broken")
	}
	var mu sync.Mutex
	ops := map[string]int{}
	st.Store.Capacity = func(op string, r, w float64) { mu.Lock(); ops[op]++; mu.Unlock() }
	var out struct{ Cases []api.CaseView }
	if w := call(t, st.Handler, "GET", "/api/cases", "", st.Config.AdminToken, &out); w.Code != 200 || len(out.Cases) != n {
		t.Fatalf("GET /api/cases: %d, %d cases", w.Code, len(out.Cases))
	}
	for _, c := range out.Cases {
		if c.Comment != "broken" {
			t.Fatalf("case %s without its answer's comment", c.ID)
		}
	}
	if ops["GetItem"] > 1 || ops["BatchGetItem"] > 1 {
		t.Errorf("listing %d cases took %v; want their answers read in one batch", n, ops)
	}
}

// TestCaseOwnersCanAct: a case goes only to an operator who can act on it
// (an editor or admin): a viewer cannot reply or change it, so the case
// would sit with nobody.
func TestCaseOwnersCanAct(t *testing.T) {
	st, b, _, m := consoleWithAnswer(t, 1, "broken")
	call(t, st.Handler, "POST", "/api/operators", `{"email":"vic@example.com","role":"viewer"}`, st.Config.AdminToken, nil)
	call(t, st.Handler, "POST", "/api/operators", `{"email":"eda@example.com","role":"editor"}`, st.Config.AdminToken, nil)
	id := closeloop.SurveyIDOf(awstest.Token(m))
	if w := call(t, st.Handler, "PATCH", "/api/cases/"+id, `{"owner":"vic@example.com"}`, st.Config.AdminToken, nil); w.Code != 400 || !strings.Contains(w.Body.String(), "viewer") {
		t.Errorf("a viewer as owner: %d %s, want 400 saying a viewer cannot act on it", w.Code, w.Body)
	}
	if w := call(t, st.Handler, "PATCH", "/api/cases/"+id, `{"owner":"eda@example.com"}`, st.Config.AdminToken, nil); w.Code != 200 {
		t.Errorf("an editor as owner: %d %s", w.Code, w.Body)
	}
	if _, page := b.do("GET", "/console/cases/"+id, nil); strings.Contains(page, `<option value="vic@example.com"`) || !strings.Contains(page, `<option value="eda@example.com"`) {
		t.Errorf("the owner list offers a viewer, or not the editor")
	}
}

// TestSendButtonCountsWhoIsMailed: the compose page's Send button counts the
// customers who will get the email, not those who unsubscribed.
func TestSendButtonCountsWhoIsMailed(t *testing.T) {
	st, srv := stack(t)
	b := newBrowser(t, srv)
	signIn(t, st, b, st.Config.AdminEmail)
	call(t, st.Handler, "POST", "/api/themes", `{"name":"exports","keywords":["export"]}`, st.Config.AdminToken, nil)
	var gone string
	for i, comment := range []string{"export slow", "export broken"} {
		e, m := awstest.Surveyed(t, st, "generic", "", closeloop.CSAT)
		awstest.Answer(t, st, m, 2, comment)
		call(t, st.Handler, "PUT", "/api/responses/"+closeloop.SurveyIDOf(awstest.Token(m))+"/themes", `{"themes":["exports"]}`, st.Config.AdminToken, nil)
		if i == 0 {
			gone = e
		}
	}
	cid, _ := st.Store.ContactID(gone)
	if err := st.Store.SuppressContact(context.Background(), cid, gone, "unsubscribed"); err != nil {
		t.Fatal(err)
	}
	_, page := b.do("POST", "/console/improvements", url.Values{"csrf": {b.csrf()}, "action": {"preview"}, "theme": {"exports"}, "summary": {"Fast"}, "message": {"Done."}})
	if !strings.Contains(page, "Send to 1 customers") && !strings.Contains(page, "Send to 1 customer<") {
		t.Errorf("the Send button does not count the one customer who will be mailed:\n%s", regexp.MustCompile(`<button[^>]*value="send"[^>]*>[^<]*`).FindString(page))
	}
}

// TestReplyKeysNameOneReply: an Idempotency-Key names one reply of one
// operator: the same key with other words is another reply and goes (it
// answered 200 and sent nothing), and a repeat says it went already.
func TestReplyKeysNameOneReply(t *testing.T) {
	st, _, email, m := consoleWithAnswer(t, 1, "broken")
	id := closeloop.SurveyIDOf(awstest.Token(m))
	before := len(awstest.MailTo(t, email))
	send := func(message string) map[string]any {
		r := httptest.NewRequest("POST", "/api/cases/"+id+"/reply", strings.NewReader(`{"message":"`+message+`"}`))
		r.Header.Set("Authorization", "Bearer "+st.Config.AdminToken)
		r.Header.Set("Idempotency-Key", "reply-1")
		w := httptest.NewRecorder()
		st.Handler.ServeHTTP(w, r)
		var out map[string]any
		if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &out) != nil {
			t.Fatalf("reply %q: %d %s", message, w.Code, w.Body)
		}
		return out
	}
	send("First words")
	if again := send("First words"); again["replied_already"] != true {
		t.Errorf("a repeated reply does not say it went already: %v", again)
	}
	send("Entirely different follow-up")
	if n := len(awstest.MailTo(t, email)) - before; n != 2 {
		t.Errorf("%d replies emailed, want 2 (the first once, then the other words)", n)
	}
}

// TestViewerAgentOwnsNoCase: a ticket's agent who is a viewer does not
// become its case's owner (they cannot act on it), and a case page saved
// for a note keeps an owner it does not list (it unassigned them).
func TestViewerAgentOwnsNoCase(t *testing.T) {
	st, srv := stack(t)
	b := newBrowser(t, srv)
	signIn(t, st, b, st.Config.AdminEmail)
	call(t, st.Handler, "POST", "/api/operators", `{"email":"agent@example.com","role":"viewer"}`, st.Config.AdminToken, nil)
	email := awstest.Email()
	ev := awstest.Solved(awstest.Name("va-"), email)
	ev.Agent = closeloop.Person{Name: "Agent", Email: "agent@example.com"}
	if _, err := webhook.New(st.Config, st.Store).Apply(context.Background(), ev, time.Now()); err != nil {
		t.Fatal(err)
	}
	st.Sweeper.Run(context.Background())
	m := awstest.MailTo(t, email)[0]
	awstest.Answer(t, st, m, 1, "broken")
	id := closeloop.SurveyIDOf(awstest.Token(m))
	c, err := st.Store.GetCase(context.Background(), id)
	if err != nil || c.Owner != "" {
		t.Fatalf("case of a viewer agent's ticket: owner %q, %v; want unassigned", c.Owner, err)
	}
	// An owner the list does not offer (made viewer since) stays on a save.
	st.Store.UpdateCase(context.Background(), id, closeloop.CaseChange{Owner: ptr("agent@example.com")}, "test", time.Now())
	_, page := b.do("GET", "/console/cases/"+id, nil)
	form := url.Values{"csrf": {b.csrf()}, "note": {"called"}, "status": {"open"}}
	for _, f := range formFieldsRE.FindAllStringSubmatch(page, -1) {
		form.Set(f[1], html.UnescapeString(f[2]))
	}
	if sel := regexp.MustCompile(`<option value="([^"]*)" selected>`).FindAllStringSubmatch(page, -1); len(sel) > 1 {
		form.Set("owner", html.UnescapeString(sel[1][1]))
	} else {
		form.Set("owner", "")
	}
	b.do("POST", "/console/cases/"+id, form)
	if c, _ := st.Store.GetCase(context.Background(), id); c.Owner != "agent@example.com" {
		t.Errorf("a note saved from the page changed the owner to %q", c.Owner)
	}
}

func ptr[T any](v T) *T { return &v }

// TestAuditLogPages: the audit log pages back through every entry, in the
// API (next_cursor) and in the console (Older entries), instead of showing
// the newest 200 and nothing before them.
func TestAuditLogPages(t *testing.T) {
	st, srv := stack(t)
	b := newBrowser(t, srv)
	signIn(t, st, b, st.Config.AdminEmail)
	ctx := context.Background()
	start := time.Now().Add(-time.Hour)
	const n = api.DefaultAuditLimit + 5
	for i := range n {
		if err := st.Store.AddAudit(ctx, closeloop.AuditEntry{At: start.Add(time.Duration(i) * time.Second), Actor: "test", Action: "test.entry", Target: fmt.Sprint("e", i)}); err != nil {
			t.Fatal(err)
		}
	}
	seen, cursor := map[string]bool{}, ""
	for pages := 0; ; pages++ {
		if pages > n {
			t.Fatal("the cursor never ends")
		}
		var page struct {
			Audit      []closeloop.AuditEntry `json:"audit"`
			NextCursor string                 `json:"next_cursor"`
		}
		if w := call(t, st.Handler, "GET", "/api/audit?limit=50&cursor="+url.QueryEscape(cursor), "", st.Config.AdminToken, &page); w.Code != 200 {
			t.Fatalf("GET /api/audit: %d %s", w.Code, w.Body)
		}
		for _, e := range page.Audit {
			if e.Action == "test.entry" {
				if seen[e.Target] {
					t.Fatalf("entry %s on two pages", e.Target)
				}
				seen[e.Target] = true
			}
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if len(seen) != n {
		t.Errorf("the pages held %d of %d entries", len(seen), n)
	}
	_, first := b.do("GET", "/console/audit", nil)
	older := regexp.MustCompile(`<a href="(/console/audit\?[^"]+)">Older entries</a>`).FindStringSubmatch(first)
	if older == nil {
		t.Fatal("the audit page has no link to older entries")
	}
	if _, second := b.do("GET", html.UnescapeString(older[1]), nil); !strings.Contains(second, ">e0<") {
		t.Errorf("the second page does not hold the oldest entry")
	}
}

// TestResponsePageNamesTheCustomerOrTheirErasure: a response's page shows
// who answered, and after erasure says so instead, with no address left.
// (The page asked the survey whether it was erased with a method call,
// which the bootstraps' text/template does not make: a 500 for every
// response page in AWS.)
func TestResponsePageNamesTheCustomerOrTheirErasure(t *testing.T) {
	st, srv := stack(t)
	ctx := context.Background()
	now := time.Now().UTC()
	email := awstest.Email()
	importResponse(t, st, closeloop.ImportedResponse{Origin: "csv", ID: "erasable", Email: email, Kind: closeloop.CSAT, Score: 2, At: now.Add(-time.Hour), Comment: "The export is slow"})
	b := newBrowser(t, srv)
	signIn(t, st, b, st.Config.AdminEmail)
	_, inbox := b.do("GET", "/console", nil)
	m := responseLinkRE.FindStringSubmatch(inbox)
	if m == nil {
		t.Fatalf("no response in the inbox:\n%s", inbox)
	}
	res, page := b.do("GET", m[0], nil)
	if res.StatusCode != 200 || !strings.Contains(page, email) || strings.Contains(page, "was erased") {
		t.Fatalf("GET %s: %d, want the customer's address\n%s", m[0], res.StatusCode, page)
	}
	if _, err := st.Store.Erase(ctx, email); err != nil {
		t.Fatal(err)
	}
	res, page = b.do("GET", m[0], nil)
	if res.StatusCode != 200 || strings.Contains(page, email) || !strings.Contains(page, "This customer was erased.") {
		t.Errorf("GET %s after erasure: %d, want the erasure said and no address\n%s", m[0], res.StatusCode, page)
	}
}
