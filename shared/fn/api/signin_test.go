package api_test

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/local/awstest"
)

// newToken creates an API token in b's console and returns it.
func newToken(t *testing.T, b *browser) string {
	t.Helper()
	res, page := b.do("POST", "/console/tokens", url.Values{"csrf": {b.csrf()}, "name": {"script"}, "expires_in_days": {"30"}})
	m := regexp.MustCompile(`data-new-token>([^<]+)<`).FindStringSubmatch(page)
	if res.StatusCode != http.StatusCreated || m == nil {
		t.Fatalf("create token: %d", res.StatusCode)
	}
	return m[1]
}

// TestRemovedOperatorStaysRemoved: an operator another admin removed gets
// no access back: not by asking for a sign-in link with the configured
// first admin's address (that address only starts a team with no admin),
// and not through the sessions and tokens they held, even when they are
// added again later.
func TestRemovedOperatorStaysRemoved(t *testing.T) {
	st, srv := stack(t)
	first := st.Config.AdminEmail
	a := newBrowser(t, srv)
	signIn(t, st, a, first)
	oldToken := newToken(t, a)
	second := awstest.Email()
	if w := call(t, st.Handler, "POST", "/api/operators", `{"email":"`+second+`","role":"admin"}`, oldToken, nil); w.Code != 201 {
		t.Fatalf("add the second admin: %d %s", w.Code, w.Body)
	}
	b := newBrowser(t, srv)
	signIn(t, st, b, second)
	secondToken := newToken(t, b)
	if w := call(t, st.Handler, "DELETE", "/api/operators/"+first, "", secondToken, nil); w.Code != 200 {
		t.Fatalf("remove the first admin: %d %s", w.Code, w.Body)
	}
	cookies := a.c.Jar.Cookies(mustURL(srv.URL))

	// Anyone asks for a link with the first admin's address.
	before := len(awstest.MailTo(t, first))
	if res, _ := newBrowser(t, srv).do("POST", "/console/login", url.Values{"email": {first}}); res.StatusCode != 200 {
		t.Fatalf("POST /console/login: %d", res.StatusCode)
	}
	if n := len(awstest.MailTo(t, first)) - before; n != 0 {
		t.Errorf("the removed first admin got %d sign-in links", n)
	}
	if w := call(t, st.Handler, "GET", "/api/operators", "", oldToken, nil); w.Code != 401 {
		t.Errorf("the removed admin's token after the link request: %d, want 401", w.Code)
	}

	// Added again, as a viewer: what they held before stays dead.
	if w := call(t, st.Handler, "POST", "/api/operators", `{"email":"`+first+`","role":"viewer"}`, secondToken, nil); w.Code != 201 {
		t.Fatalf("add the first admin again: %d", w.Code)
	}
	if w := call(t, st.Handler, "GET", "/api/themes", "", oldToken, nil); w.Code != 401 {
		t.Errorf("a token from before the removal: %d, want 401", w.Code)
	}
	old := newBrowser(t, srv)
	old.c.Jar.SetCookies(mustURL(srv.URL), cookies)
	if res, _ := old.do("GET", "/console", nil); res.StatusCode != http.StatusSeeOther {
		t.Errorf("a session from before the removal: %d, want a redirect to sign in", res.StatusCode)
	}
	// Signed in afresh, they act with their new role.
	signIn(t, st, a, first)
	if res, _ := a.do("GET", "/console/operators", nil); res.StatusCode != http.StatusForbidden {
		t.Errorf("the re-added viewer opens the operators page: %d", res.StatusCode)
	}
}

// TestFirstAdminStartsATeamWithoutAdmins: the configured address is made
// the admin only while the team has no admin; an existing team's admins
// are never changed by it.
func TestFirstAdminStartsATeamWithoutAdmins(t *testing.T) {
	st, srv := stack(t)
	b := newBrowser(t, srv)
	signIn(t, st, b, st.Config.AdminEmail) // a team with no admin: made one
	if ops, _ := st.Store.Operators(t.Context()); len(ops) != 1 || ops[0].Role != closeloop.RoleAdmin {
		t.Errorf("operators %+v, want the first admin", ops)
	}
	var audit struct{ Audit []closeloop.AuditEntry }
	call(t, st.Handler, "GET", "/api/audit", "", st.Config.AdminToken, &audit)
	found := false
	for _, e := range audit.Audit {
		found = found || e.Action == "operator.bootstrap" && e.Target == st.Config.AdminEmail
	}
	if !found {
		t.Errorf("no audit entry for the first admin's creation: %+v", audit.Audit)
	}
}

// TestLastAdminStays: nobody demotes the last admin, themselves included.
func TestLastAdminStays(t *testing.T) {
	st, srv := stack(t)
	b := newBrowser(t, srv)
	signIn(t, st, b, st.Config.AdminEmail)
	tok := newToken(t, b)
	if w := call(t, st.Handler, "POST", "/api/operators", `{"email":"`+st.Config.AdminEmail+`","role":"viewer"}`, tok, nil); w.Code != http.StatusConflict {
		t.Errorf("the last admin made a viewer: %d %s, want 409", w.Code, w.Body)
	}
	other := awstest.Email()
	call(t, st.Handler, "POST", "/api/operators", `{"email":"`+other+`","role":"admin"}`, tok, nil)
	if w := call(t, st.Handler, "POST", "/api/operators", `{"email":"`+st.Config.AdminEmail+`","role":"editor"}`, tok, nil); w.Code != 201 {
		t.Errorf("an admin steps down beside another admin: %d %s", w.Code, w.Body)
	}
}

// TestSignInLinkIsNotForcedCrossSite: another site cannot post a sign-in
// link (its own operator's) from a victim's browser to sign them in as
// that operator.
func TestSignInLinkIsNotForcedCrossSite(t *testing.T) {
	st, srv := stack(t)
	if err := st.API.EnsureAdmin(t.Context()); err != nil {
		t.Fatal(err)
	}
	link, err := st.API.LoginLink(t.Context(), st.Config.AdminEmail)
	if err != nil {
		t.Fatal(err)
	}
	path := strings.TrimPrefix(link, srv.URL)
	post := func(h map[string]string) *http.Response {
		req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(""))
		for k, v := range h {
			req.Header.Set(k, v)
		}
		res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	for _, h := range []map[string]string{
		{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
		{"Origin": "https://evil.example"},
		{"Sec-Fetch-Site": "same-site"},
	} {
		if res := post(h); res.StatusCode != http.StatusForbidden || len(res.Cookies()) != 0 {
			t.Errorf("sign-in posted with %v: %d, cookies %v; want 403 and no session", h, res.StatusCode, res.Cookies())
		}
	}
	// The link still works from its own page.
	if res := post(map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": srv.URL}); res.StatusCode != http.StatusSeeOther {
		t.Errorf("sign-in from the link's page: %d, want 303", res.StatusCode)
	}
}

// TestSignInLinksCannotBeExhaustedByOthers: someone asking for an
// operator's links from elsewhere uses up their own allowance, not the
// operator's; many sources together still cannot flood the mailbox.
func TestSignInLinksCannotBeExhaustedByOthers(t *testing.T) {
	st, _ := stack(t)
	st.API.SignInFloor = time.Millisecond
	admin := st.Config.AdminEmail
	ask := func(ip string) {
		w := httptest.NewRecorder()
		req := httptest.NewRequest("POST", "/console/login", strings.NewReader(url.Values{"email": {admin}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.RemoteAddr = ip + ":4711"
		st.Handler.ServeHTTP(w, req)
		if w.Code != 200 {
			t.Fatalf("POST /console/login: %d", w.Code)
		}
	}
	for i := 0; i < closeloop.LoginLinksPerHour+3; i++ {
		ask("203.0.113.9")
	}
	links := len(awstest.MailTo(t, admin))
	if links != closeloop.LoginLinksPerHour {
		t.Errorf("%d links for one source's %d requests, want %d", links, closeloop.LoginLinksPerHour+3, closeloop.LoginLinksPerHour)
	}
	ask("198.51.100.7")
	if n := len(awstest.MailTo(t, admin)); n != links+1 {
		t.Errorf("the operator's own request after another source's flood: %d new links, want 1", n-links)
	}
	for i := 0; i < 40; i++ {
		ask(fmt.Sprintf("192.0.2.%d", i))
	}
	if n := len(awstest.MailTo(t, admin)); n != closeloop.LoginLinksPerAddressHour {
		t.Errorf("%d links in all from many sources, want at most %d", n, closeloop.LoginLinksPerAddressHour)
	}
}

// TestSignInAnswersTakeTheSameTime: an operator's sign-in request and a
// stranger's are both answered no sooner than the floor, so the time taken
// does not tell who is an operator (a lower bound, not a speed).
func TestSignInAnswersTakeTheSameTime(t *testing.T) {
	st, srv := stack(t)
	st.API.SignInFloor = 300 * time.Millisecond
	for _, addr := range []string{st.Config.AdminEmail, awstest.Email()} {
		start := time.Now()
		if res, _ := newBrowser(t, srv).do("POST", "/console/login", url.Values{"email": {addr}}); res.StatusCode != 200 {
			t.Fatalf("POST /console/login: %d", res.StatusCode)
		}
		if took := time.Since(start); took < st.API.SignInFloor {
			t.Errorf("answered after %v, before the floor of %v", took, st.API.SignInFloor)
		}
	}
}

// TestPreviewTakesOnlyAnHTTPSLink: the improvement preview shows a draft
// the console stored, whose link an announcement could carry; a draft with
// another link is refused, and a crafted address shows nothing.
func TestPreviewTakesOnlyAnHTTPSLink(t *testing.T) {
	st, b, _, _ := consoleWithAnswer(t, 1, "the export hangs")
	if _, err := st.Store.PutTheme(t.Context(), closeloop.Theme{Name: "exports", Keywords: []string{"export"}}); err != nil {
		t.Fatal(err)
	}
	csrf := b.csrf()
	frameRE := regexp.MustCompile(`<iframe[^>]* src="([^"]+)"`)
	for link, want := range map[string]int{"https://status.example.com/exports": 200, "http://evil.example/login": 400, "javascript:alert(1)": 400} {
		form := url.Values{"csrf": {csrf}, "theme": {"exports"}, "summary": {"Exports are fast"}, "message": {"We rebuilt exports."}, "link": {link}, "action": {"preview"}}
		res, page := b.do("POST", "/console/improvements", form)
		if res.StatusCode != want {
			t.Errorf("preview with link %q: %d, want %d", link, res.StatusCode, want)
		}
		frame := frameRE.FindStringSubmatch(page)
		if want != 200 {
			if frame != nil {
				t.Errorf("preview with link %q has a frame", link)
			}
			continue
		}
		if frame == nil {
			t.Fatalf("preview with link %q: no frame", link)
		}
		res, preview := b.do("GET", html.UnescapeString(frame[1]), nil)
		if res.StatusCode != 200 || !strings.Contains(preview, link) {
			t.Errorf("preview frame with link %q: %d, want the email with its link", link, res.StatusCode)
		}
		if h := res.Header; h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") == "" || !strings.Contains(h.Get("Content-Security-Policy"), "sandbox") {
			t.Errorf("preview frame headers: %v", h)
		}
	}
	// The frame shows only what the console stored: an id it did not
	// give, a malformed one, or a query with the text, shows a short
	// message the frame can show (the console's own error page may not be
	// framed at all), not the text.
	for _, q := range []string{"id=0123456789abcdef0123456789abcdef", "id=" + strings.Repeat("a", 3000), "summary=Hi&message=Crafted&link=https://evil.example"} {
		res, page := b.do("GET", "/console/improvements/preview?"+q, nil)
		if res.StatusCode != 404 || strings.Contains(page, "Crafted") || !strings.Contains(page, "Preview the draft again") ||
			res.Header.Get("X-Frame-Options") == "DENY" || !strings.Contains(res.Header.Get("Content-Security-Policy"), "frame-ancestors 'self'") {
			t.Errorf("preview ?%.60s: %d %v, want 404 with a message the frame shows\n%s", q, res.StatusCode, res.Header, page)
		}
	}
}

// TestAnnouncingTwiceSendsOnce: a double-clicked Send (the compose form's
// nonce) and an API client retrying with the same Idempotency-Key make one
// improvement, so every customer gets one email; another key is another
// improvement.
func TestAnnouncingTwiceSendsOnce(t *testing.T) {
	st, b, e, m := consoleWithAnswer(t, 1, "the export hangs")
	if _, err := st.Store.PutTheme(t.Context(), closeloop.Theme{Name: "exports", Keywords: []string{"export"}}); err != nil {
		t.Fatal(err)
	}
	sv, _ := st.Store.GetSurvey(t.Context(), closeloop.SurveyIDOf(awstest.Token(m)))
	if _, err := st.Store.SetThemes(t.Context(), sv.ID, []string{"exports"}); err != nil {
		t.Fatal(err)
	}
	st.DrainQueue(t.Context())
	before := len(awstest.MailTo(t, e))

	_, page := b.do("GET", "/console/improvements", nil)
	nonce := regexp.MustCompile(`name="nonce" value="([^"]+)"`).FindStringSubmatch(page)
	if nonce == nil {
		t.Fatal("the compose form has no nonce")
	}
	form := url.Values{"csrf": {b.csrf()}, "nonce": {nonce[1]}, "theme": {"exports"}, "summary": {"Exports are fast"}, "message": {"We rebuilt them."}, "action": {"preview"}}
	_, page = b.do("POST", "/console/improvements", form)
	reviewed := regexp.MustCompile(`name="reviewed" value="([^"]+)"`).FindStringSubmatch(page)
	if reviewed == nil {
		t.Fatal("the preview lets nobody send")
	}
	form.Set("reviewed", reviewed[1])
	form.Set("action", "send")
	var where []string
	for i := 0; i < 2; i++ {
		res, _ := b.do("POST", "/console/improvements", form)
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("send %d: %d", i+1, res.StatusCode)
		}
		where = append(where, res.Header.Get("Location"))
	}
	if where[0] != where[1] {
		t.Errorf("a double-clicked Send made two improvements: %v", where)
	}
	var ids []string
	for i := 0; i < 2; i++ {
		r := httptest.NewRequest("POST", "/api/improvements", strings.NewReader(`{"theme":"exports","summary":"Billing fixed","message":"Done."}`))
		r.Header.Set("Authorization", "Bearer "+st.Config.AdminToken)
		r.Header.Set("Idempotency-Key", "retry-7")
		w := httptest.NewRecorder()
		st.Handler.ServeHTTP(w, r)
		var created struct{ ID string }
		if w.Code != 202 || json.Unmarshal(w.Body.Bytes(), &created) != nil {
			t.Fatalf("POST /api/improvements %d: %d %s", i+1, w.Code, w.Body)
		}
		ids = append(ids, created.ID)
	}
	if ids[0] != ids[1] {
		t.Errorf("a retried POST with one Idempotency-Key made two improvements: %v", ids)
	}
	// The same key with another announcement is refused, naming the first:
	// returning the first would drop the second without a word.
	r := httptest.NewRequest("POST", "/api/improvements", strings.NewReader(`{"theme":"exports","summary":"Invoices fixed","message":"Done."}`))
	r.Header.Set("Authorization", "Bearer "+st.Config.AdminToken)
	r.Header.Set("Idempotency-Key", "retry-7")
	w := httptest.NewRecorder()
	st.Handler.ServeHTTP(w, r)
	if w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), ids[0]) {
		t.Errorf("one key, another announcement: %d %s; want 409 naming %s", w.Code, w.Body, ids[0])
	}
	form.Set("summary", "Something else")
	_, page = b.do("POST", "/console/improvements", form) // shown for review first: it changed
	if reviewed = regexp.MustCompile(`name="reviewed" value="([^"]+)"`).FindStringSubmatch(page); reviewed == nil {
		t.Fatal("the changed draft is not shown for review")
	}
	form.Set("reviewed", reviewed[1])
	if res, page := b.do("POST", "/console/improvements", form); res.StatusCode == http.StatusSeeOther || !strings.Contains(page, "already") {
		t.Errorf("the sent form changed and sent again: %d to %q; want the page saying it went already", res.StatusCode, res.Header.Get("Location"))
	}
	if err := st.DrainQueue(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := len(awstest.MailTo(t, e)) - before; n != 2 {
		t.Errorf("%d closing emails, want 2 (one per improvement)", n)
	}
	ims, _ := st.Store.Improvements(t.Context(), 10)
	if len(ims) != 2 {
		t.Errorf("%d improvements listed, want 2", len(ims))
	}
}

// TestBootstrapTokenMakesNoDeadToken: the bootstrap admin token cannot make
// an API token for the configured first admin once that address is no
// operator of a team that has admins: the token would act as nobody.
func TestBootstrapTokenMakesNoDeadToken(t *testing.T) {
	st, srv := stack(t)
	b := newBrowser(t, srv)
	signIn(t, st, b, st.Config.AdminEmail)
	tok := newToken(t, b)
	other := awstest.Email()
	call(t, st.Handler, "POST", "/api/operators", `{"email":"`+other+`","role":"admin"}`, tok, nil)
	ob := newBrowser(t, srv)
	signIn(t, st, ob, other)
	if w := call(t, st.Handler, "DELETE", "/api/operators/"+st.Config.AdminEmail, "", newToken(t, ob), nil); w.Code != 200 {
		t.Fatalf("remove the first admin: %d", w.Code)
	}
	if w := call(t, st.Handler, "POST", "/api/tokens", `{"name":"ci"}`, st.Config.AdminToken, nil); w.Code != http.StatusConflict {
		t.Errorf("a token for a removed first admin: %d %s, want 409", w.Code, w.Body)
	}
}

// TestLongAnnouncementPreviews: a Japanese team's announcement at the
// longest (a 200-character summary, a 5,000-character message) and its
// English translation preview in the console: the form is taken (it was
// refused over 64 KB), and each preview frame's address stays short, since
// API Gateway refuses a request line and headers over 10,240 bytes (the
// frames carried the whole text in their query, so a long message showed
// an error in AWS). Each frame shows its own text.
func TestLongAnnouncementPreviews(t *testing.T) {
	st, b, _, _ := consoleWithAnswer(t, 1, "the export hangs")
	if _, err := st.Store.PutTheme(t.Context(), closeloop.Theme{Name: "exports", Keywords: []string{"export"}}); err != nil {
		t.Fatal(err)
	}
	summary, message := strings.Repeat("速", closeloop.MaxSummary), "書き出しを作り直しました。"+strings.Repeat("速", closeloop.MaxNote-13)
	form := url.Values{"csrf": {b.csrf()}, "theme": {"exports"}, "summary": {summary}, "message": {message}, "link": {"https://status.example.com/exports"},
		"t_lang": {"en"}, "t_summary": {"Exports are fast"}, "t_message": {"We rebuilt exports. " + strings.Repeat("Faster. ", 600)}, "action": {"preview"}}
	res, page := b.do("POST", "/console/improvements", form)
	if res.StatusCode != 200 || strings.Contains(page, `class="error"`) {
		t.Fatalf("POST a long announcement for preview: %d\n%.2000s", res.StatusCode, page)
	}
	frames := regexp.MustCompile(`<iframe[^>]* src="([^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(frames) != 2 {
		t.Fatalf("%d preview frames, want the announcement's and its translation's", len(frames))
	}
	for i, want := range []string{"書き出しを作り直しました。", "We rebuilt exports."} {
		src := html.UnescapeString(frames[i][1])
		if len(src) > 1024 {
			t.Errorf("preview frame %d: an address of %d bytes", i, len(src))
		}
		res, preview := b.do("GET", src, nil)
		if res.StatusCode != 200 || !strings.Contains(preview, want) {
			t.Errorf("preview frame %d: %d, want the email with %q", i, res.StatusCode, want)
		}
	}
}
