package response_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/fn/response"
	"github.com/closeloop/closeloop/shared/fn/webhook"
	"github.com/closeloop/closeloop/shared/local/awstest"
	"github.com/closeloop/closeloop/shared/local/devstack"
)

func TestMain(m *testing.M) { awstest.Main(m) }

// sent solves a ticket for a fresh address and sweeps, returning the survey
// email.
func sent(t *testing.T, st *devstack.Stack, kind closeloop.Kind) awstest.Mail {
	t.Helper()
	email := awstest.Email()
	h := webhook.New(closeloop.Config{SurveyKind: kind}, st.Store)
	ev := awstest.Solved(awstest.Name("T-"), email)
	ev.Subject = "Printer"
	if _, err := h.Apply(context.Background(), ev, time.Now()); err != nil {
		t.Fatal(err)
	}
	if res, err := st.Sweeper.Run(context.Background()); err != nil || res.Sent != 1 {
		t.Fatalf("sweep %+v %v", res, err)
	}
	m := awstest.MailTo(t, email)
	if len(m) != 1 {
		t.Fatalf("%d emails", len(m))
	}
	return m[0]
}

func do(st *devstack.Stack, method, path string, form url.Values) *httptest.ResponseRecorder {
	var r *http.Request
	if form != nil {
		r = httptest.NewRequest(method, path, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		r = httptest.NewRequest(method, path, nil)
	}
	w := httptest.NewRecorder()
	st.Handler.ServeHTTP(w, r)
	return w
}

// TestGETChangesNothing opens every link of a survey email, as a mail
// scanner does: the table is byte-for-byte the same afterwards.
func TestGETChangesNothing(t *testing.T) {
	st := awstest.Stack(t, closeloop.Config{})
	for _, kind := range []closeloop.Kind{closeloop.CSAT, closeloop.NPS, closeloop.CES} {
		m := sent(t, st, kind)
		links := awstest.Links(m)
		lo, hi := kind.Scale()
		if want := hi - lo + 1 + 1; len(links) != want { // ratings + unsubscribe
			t.Fatalf("%s: %d links %v, want %d", kind, len(links), links, want)
		}
		before := awstest.Snapshot(t, st.Config.Table)
		for _, l := range links {
			for _, method := range []string{http.MethodGet, http.MethodHead} {
				if w := do(st, method, l, nil); w.Code != http.StatusOK {
					t.Errorf("%s %s: %d", method, l, w.Code)
				}
			}
		}
		if after := awstest.Snapshot(t, st.Config.Table); after != before {
			t.Errorf("%s: GETs changed the table", kind)
		}
	}
}

func TestAnswerAndRevise(t *testing.T) {
	st := awstest.Stack(t, closeloop.Config{})
	m := sent(t, st, closeloop.CSAT)
	path := "/s/" + awstest.Token(m)

	w := do(st, http.MethodGet, path+"?r=4", nil)
	if !strings.Contains(w.Body.String(), `value="4" checked`) {
		t.Errorf("rating 4 not preselected")
	}
	before := awstest.Snapshot(t, st.Config.Table)
	for _, bad := range []string{"0", "6", "x", ""} {
		w := do(st, http.MethodPost, path, url.Values{"rating": {bad}, "comment": {"hello"}})
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "1–5") {
			t.Errorf("rating %q: %d, want 400 naming the scale", bad, w.Code)
		}
	}
	if after := awstest.Snapshot(t, st.Config.Table); after != before {
		t.Errorf("refused answers changed the table")
	}

	w = do(st, http.MethodPost, path, url.Values{"rating": {"2"}, "comment": {"  Exports are slow  "}})
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "Exports are slow") {
		t.Fatalf("answer: %d %s", w.Code, w.Body)
	}
	w = do(st, http.MethodPost, path, url.Values{"rating": {"5"}, "comment": {"Fixed now, thanks"}})
	if w.Code != http.StatusOK {
		t.Fatalf("revise: %d", w.Code)
	}
	sv, err := st.Store.GetSurvey(context.Background(), closeloop.SurveyIDOf(awstest.Token(m)))
	if err != nil {
		t.Fatal(err)
	}
	if sv.Rating == nil || *sv.Rating != 5 || sv.Comment != "Fixed now, thanks" {
		t.Errorf("stored %v %q, want the revision", sv.Rating, sv.Comment)
	}
	days, _ := st.Store.CountersBetween(context.Background(), time.Now(), time.Now())
	c := days[0].Counters
	if c.Responses != 1 || c.CSATCount != 1 || c.CSATSum != 5 || c.CSATSatisfied != 1 {
		t.Errorf("counters %+v, want one response of 5", c)
	}
}

func TestUnknownAndExpired(t *testing.T) {
	st := awstest.Stack(t, closeloop.Config{})
	m := sent(t, st, closeloop.CSAT)
	token := awstest.Token(m)
	unknown, _ := closeloop.NewToken()
	for _, p := range []string{"/s/" + unknown, "/s/short", "/u/" + unknown} {
		if w := do(st, http.MethodGet, p, nil); w.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, w.Code)
		}
	}
	// The same store, read by pages whose clock is past the expiry.
	later := time.Now().Add(closeloop.SurveyTTL + time.Hour)
	exp := *st
	expired := response.New(st.Config, st.Store, st.Queue)
	expired.Now = func() time.Time { return later }
	exp.Handler = expired
	if w := do(&exp, http.MethodGet, "/s/"+token, nil); w.Code != http.StatusGone {
		t.Errorf("expired GET: %d, want 410", w.Code)
	}
	if w := do(&exp, http.MethodPost, "/s/"+token, url.Values{"rating": {"3"}}); w.Code != http.StatusGone {
		t.Errorf("expired POST: %d, want 410", w.Code)
	}
}

func TestOneClickUnsubscribe(t *testing.T) {
	st := awstest.Stack(t, closeloop.Config{})
	m := sent(t, st, closeloop.CSAT)
	u := strings.Trim(m.Header("List-Unsubscribe"), "<>")
	p, _ := url.Parse(u)
	// RFC 8058: the mail client POSTs List-Unsubscribe=One-Click.
	r := httptest.NewRequest(http.MethodPost, p.Path, strings.NewReader("List-Unsubscribe=One-Click"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	st.Handler.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		t.Fatalf("one-click: %d", w.Code)
	}
	sv, _ := st.Store.GetSurvey(context.Background(), closeloop.SurveyIDOf(awstest.Token(m)))
	c, err := st.Store.GetContact(context.Background(), sv.ContactID)
	if err != nil || c.Suppressed != "unsubscribed" {
		t.Errorf("contact %+v, %v; want unsubscribed", c, err)
	}
	// Idempotent.
	if w := do(st, http.MethodPost, p.Path, url.Values{}); w.Code != http.StatusOK {
		t.Errorf("second unsubscribe: %d", w.Code)
	}
}

// TestSignedUnsubscribeLinks: the survey email's unsubscribe link is
// signed, not stored, and names its person; the same link for anyone else,
// under another key, altered or past its expiry answers 404 and
// unsubscribes nobody.
func TestSignedUnsubscribeLinks(t *testing.T) {
	st := awstest.Stack(t, closeloop.Config{})
	// Before any email was signed, no key is published: a signed-looking
	// link is unknown, not a server error.
	early, _ := st.Config.ContactKey.UnsubscribeToken(strings.Repeat("a", 32), time.Now().Add(time.Hour))
	if w := do(st, http.MethodPost, "/u/"+early, url.Values{}); w.Code != http.StatusNotFound {
		t.Errorf("a signed link before any key was published: %d, want 404", w.Code)
	}
	m := sent(t, st, closeloop.CSAT)
	sv, _ := st.Store.GetSurvey(context.Background(), closeloop.SurveyIDOf(awstest.Token(m)))
	u, _ := url.Parse(strings.Trim(m.Header("List-Unsubscribe"), "<>"))
	token := strings.TrimPrefix(u.Path, "/u/")
	if !closeloop.IsSignedToken(token) || !strings.HasPrefix(token, sv.ContactID+".") {
		t.Fatalf("unsubscribe link %q is not signed for contact %s", u.Path, sv.ContactID)
	}
	other, _ := st.Store.ContactID("someone.else@example.com")
	expired, _ := st.Config.ContactKey.UnsubscribeToken(sv.ContactID, time.Now().Add(-time.Minute))
	otherKey, _ := closeloop.ContactKey("another-key-0123456789abcdef0123456789").UnsubscribeToken(sv.ContactID, time.Now().Add(time.Hour))
	for name, tok := range map[string]string{
		"another person": other + token[len(sv.ContactID):],
		"expired":        expired,
		"another key":    otherKey,
		"altered":        token[:len(token)-2] + "xx",
	} {
		if w := do(st, http.MethodPost, "/u/"+tok, url.Values{}); w.Code != http.StatusNotFound {
			t.Errorf("%s: POST %d, want 404", name, w.Code)
		}
	}
	if c, _ := st.Store.GetContact(context.Background(), sv.ContactID); c.Suppressed != "" {
		t.Fatalf("a refused link unsubscribed %+v", c)
	}
	if w := do(st, http.MethodGet, u.Path, nil); w.Code != 200 || !strings.Contains(w.Body.String(), "<form") {
		t.Fatalf("unsubscribe page: %d", w.Code)
	}
	if w := do(st, http.MethodPost, u.Path, url.Values{}); w.Code != 200 {
		t.Fatalf("unsubscribe: %d", w.Code)
	}
	if c, _ := st.Store.GetContact(context.Background(), sv.ContactID); c.Suppressed != "unsubscribed" {
		t.Errorf("contact %+v, want unsubscribed", c)
	}
}

// TestStoredUnsubscribeLink: the stored link of an email sent before links
// were signed still unsubscribes its person.
func TestStoredUnsubscribeLink(t *testing.T) {
	st := awstest.Stack(t, closeloop.Config{})
	m := sent(t, st, closeloop.CSAT)
	sv, _ := st.Store.GetSurvey(context.Background(), closeloop.SurveyIDOf(awstest.Token(m)))
	token, linkID := closeloop.NewToken()
	if err := st.Store.CreateUnsubscribeLink(context.Background(), linkID, sv.ContactID, time.Now()); err != nil {
		t.Fatal(err)
	}
	if w := do(st, http.MethodGet, "/u/"+token, nil); w.Code != 200 || !strings.Contains(w.Body.String(), "<form") {
		t.Fatalf("unsubscribe page: %d", w.Code)
	}
	if w := do(st, http.MethodPost, "/u/"+token, url.Values{}); w.Code != 200 {
		t.Fatalf("unsubscribe: %d", w.Code)
	}
	c, _ := st.Store.GetContact(context.Background(), sv.ContactID)
	if c.Suppressed != "unsubscribed" {
		t.Errorf("contact %+v", c)
	}
}

// TestThanksPageKeepsLineBreaks: the thank-you page quotes a comment with
// its line breaks, as the customer wrote it.
func TestThanksPageKeepsLineBreaks(t *testing.T) {
	st := awstest.Stack(t, closeloop.Config{})
	m := sent(t, st, closeloop.CSAT)
	w := do(st, http.MethodPost, "/s/"+awstest.Token(m), url.Values{"rating": {"4"}, "comment": {"Fast <fix>.\r\nThanks,\r\nAda"}})
	if w.Code != 200 || !strings.Contains(w.Body.String(), "Fast &lt;fix&gt;.<br>Thanks,<br>Ada") {
		t.Errorf("%d, the comment without its line breaks (or unescaped):\n%s", w.Code, w.Body)
	}
}

// TestCustomerPagesSpeakTheirLanguage: what a customer reads on the pages
// is in their language: a check-in sent without a choice is asked again in
// German, not "answer must be yes or no" (and the browser asks first); a
// German contact's stored unsubscribe link shows the page in German; a
// failure of ours is a page asking to try again, not JSON.
func TestCustomerPagesSpeakTheirLanguage(t *testing.T) {
	var failing atomic.Bool
	faults := &awstest.Faults{Rule: func(op string, n int) awstest.Fault {
		if failing.Load() && op == "dynamodb.GetItem" {
			return awstest.ServerError
		}
		return awstest.Pass
	}}
	st := awstest.FaultyStack(t, closeloop.Config{}, faults)
	ctx := context.Background()
	now := time.Now()

	tid := awstest.Name("CI-")
	ci := closeloop.CheckIn{ID: closeloop.CheckInID("generic", tid), Source: "generic", TicketID: tid, ContactID: "c-de", Locale: "de", DueAt: now}
	if err := st.Store.ScheduleCheckIn(ctx, ci); err != nil {
		t.Fatal(err)
	}
	ci, err := st.Store.GetCheckIn(ctx, ci.ID)
	if err != nil {
		t.Fatal(err)
	}
	ci.State, ci.SentAt = closeloop.CheckInSent, now
	if err := st.Store.SaveCheckIn(ctx, ci); err != nil {
		t.Fatal(err)
	}
	token, linkID := closeloop.NewToken()
	if err := st.Store.CreateCheckInLink(ctx, linkID, ci.ID, ci.ContactID, now); err != nil {
		t.Fatal(err)
	}
	if w := do(st, http.MethodGet, "/s/"+token, nil); w.Code != 200 || !strings.Contains(w.Body.String(), `value="yes" required`) {
		t.Errorf("check-in page: %d, the answer is not required:\n%s", w.Code, w.Body)
	}
	if w := do(st, http.MethodPost, "/s/"+token, url.Values{"comment": {"hm"}}); w.Code != 400 || !strings.Contains(w.Body.String(), "Bitte wählen Sie Ja oder Nein") {
		t.Errorf("check-in without an answer: %d, want 400 asking in German:\n%s", w.Code, w.Body)
	}

	email := awstest.Email()
	cid, _ := st.Store.ContactID(email)
	if err := st.Store.UpsertContact(ctx, closeloop.Contact{ID: cid, Email: email, Locale: "de"}); err != nil {
		t.Fatal(err)
	}
	utoken, ulink := closeloop.NewToken()
	if err := st.Store.CreateUnsubscribeLink(ctx, ulink, cid, now); err != nil {
		t.Fatal(err)
	}
	if w := do(st, http.MethodGet, "/u/"+utoken, nil); !strings.Contains(w.Body.String(), `lang="de"`) {
		t.Errorf("a German contact's stored unsubscribe link: %d\n%s", w.Code, w.Body)
	}

	failing.Store(true)
	r := httptest.NewRequest(http.MethodGet, "/s/"+token, nil)
	r.Header.Set("Accept-Language", "de-DE,de;q=0.9")
	w := httptest.NewRecorder()
	st.Handler.ServeHTTP(w, r)
	if w.Code < 500 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") || !strings.Contains(w.Body.String(), "Bitte versuchen Sie es") {
		t.Errorf("a failure of ours: %d %s, want a page asking (in German) to try again:\n%s", w.Code, w.Header().Get("Content-Type"), w.Body)
	}
}
