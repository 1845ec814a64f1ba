package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/local/awstest"
)

// FuzzAPIBodies sends arbitrary JSON bodies to every /api route that takes
// one, against the real local table: never a 5xx or a panic, and a 4xx
// always says why in {"error"}.
func FuzzAPIBodies(f *testing.F) {
	st := awstest.Stack(f, awstest.Config())
	tok := st.Config.AdminToken
	ctx := context.Background()
	email, m := awstest.Surveyed(f, st, "generic", "", closeloop.CSAT)
	awstest.Answer(f, st, m, 1, "The export is slow")
	sv, err := st.Store.GetSurvey(ctx, closeloop.SurveyIDOf(awstest.Token(m)))
	if err != nil {
		f.Fatal(err)
	}
	// Replies to this case stop at the suppression: the fuzzer sends no mail.
	if err := st.Store.SuppressContact(ctx, sv.ContactID, email, "unsubscribed"); err != nil {
		f.Fatal(err)
	}
	routes := []struct{ method, path string }{
		{"POST", "/api/themes"},
		{"PUT", "/api/responses/" + sv.ID + "/themes"},
		{"POST", "/api/improvements"},
		{"POST", "/api/operators"},
		{"POST", "/api/tokens"},
		{"PATCH", "/api/cases/" + sv.ID},
		{"POST", "/api/cases/" + sv.ID + "/reply"},
		{"POST", "/api/migrations/contact-ids"},
		{"POST", "/api/import"},
		{"POST", "/api/customers/events"},
	}
	for i, bodies := range [][]string{
		{`{"name":"exports","keywords":["export","csv"]}`, `{"name":""}`, `{"name":"x","keywords":"nope"}`},
		{`{"themes":["exports"]}`, `{"themes":[1]}`, `{"themes":null}`},
		{`{"theme":"exports","summary":"Faster","message":"Done."}`, `{"theme":"exports","summary":"","message":"` + strings.Repeat("a", 9000) + `"}`, `{"theme":"exports","summary":"s","message":"m","translations":{"x-bad":{"summary":"","message":""}},"since_days":-1}`},
		{`{"email":"grace@example.com","role":"editor"}`, `{"email":"\"a b\"@example.com","role":"admin"}`, `{"role":"owner"}`},
		{`{"name":"nightly","expires_in_days":30}`, `{"name":"x","expires_in_days":100000}`, `{"name":"` + strings.Repeat("n", 500) + `"}`},
		{`{"status":"resolved","note":"Called"}`, `{"status":"done"}`, `{"owner":"nobody@example.com"}`},
		{`{"message":"Hello"}`, `{"message":""}`, `{"message":"` + strings.Repeat("m", 20000) + `"}`},
		{`{}`, `{"cursor":"garbage"}`, `{"limit":-5}`},
		{`{"responses":[{"origin":"csv","id":"1","email":"ada@example.com","kind":"csat","score":5,"at":"2025-09-01T00:00:00Z","themes":["Billing"]}]}`,
			`{"suppressions":[{"email":"x@example.com","reason":"bounce"},{"email":"bad","reason":"bounce"},{"email":"y@example.com","reason":"spam"}]}`,
			`{"responses":[{"origin":"other","id":"","email":"","kind":"x","score":99,"at":"3000-01-01T00:00:00Z"}]}`},
		{`{"events":[{"email":"ada@example.com","type":"churned","at":"2026-11-01T00:00:00Z"}]}`,
			`{"events":[{"email":"x","type":"paused","at":"3000-01-01T00:00:00Z"}]}`, `{"events":[]}`},
	} {
		for _, b := range append(bodies, "", "null", "[]", "{", `{"a":`+strings.Repeat("[", 200)) {
			f.Add(uint8(i), b)
		}
	}
	f.Fuzz(func(t *testing.T, route uint8, body string) {
		r := routes[int(route)%len(routes)]
		w := call(t, st.Handler, r.method, r.path, body, tok, nil)
		if w.Code >= 500 {
			t.Fatalf("%s %s %.120q: %d %s", r.method, r.path, body, w.Code, w.Body)
		}
		if w.Code >= 400 {
			var e struct{ Error string }
			if json.Unmarshal(w.Body.Bytes(), &e) != nil || e.Error == "" {
				t.Fatalf("%s %s %.120q: %d without a reason: %s", r.method, r.path, body, w.Code, w.Body)
			}
		}
	})
}

// FuzzConsoleForms posts arbitrary form bodies, with a valid session and
// CSRF token, to every console form that changes data: never a 5xx or a
// panic.
func FuzzConsoleForms(f *testing.F) {
	st, srv := stack(f)
	b := newBrowser(f, srv)
	signIn(f, st, b, st.Config.AdminEmail)
	csrf := b.csrf()
	email, m := awstest.Surveyed(f, st, "generic", "", closeloop.CSAT)
	awstest.Answer(f, st, m, 1, "The export is slow")
	sv, err := st.Store.GetSurvey(context.Background(), closeloop.SurveyIDOf(awstest.Token(m)))
	if err != nil {
		f.Fatal(err)
	}
	if err := st.Store.SuppressContact(context.Background(), sv.ContactID, email, "unsubscribed"); err != nil {
		f.Fatal(err)
	}
	paths := []string{
		"/console/themes", "/console/responses/" + sv.ID + "/themes", "/console/themes/exports/rename",
		"/console/improvements", "/console/cases/" + sv.ID, "/console/cases/" + sv.ID + "/reply",
		"/console/operators", "/console/tokens",
	}
	for i, seeds := range [][]string{
		{"name=exports&keywords=export,csv", "name=&keywords=", "name=" + strings.Repeat("x", 300)},
		{"theme=exports", "theme=nope&theme=", ""},
		{"name=billing", "name=", "name=%00"},
		{"theme=exports&summary=Faster&message=Done&action=preview", "theme=exports&summary=s&message=m&since_days=x&t_lang=zz&t_summary=a", "action=send"},
		{"status=resolved&owner=&note=ok", "status=bogus", "owner=not-an-operator@example.com"},
		{"message=Hello", "message=", "message=" + strings.Repeat("m", 30000)},
		{"email=grace@example.com&role=viewer", "email=%22a%22@b.c&role=admin", "role=owner"},
		{"name=script&expires_in_days=30", "expires_in_days=-1", "name=" + strings.Repeat("t", 400)},
	} {
		for _, s := range append(seeds, "%", "a=%zz", strings.Repeat("&", 100)) {
			f.Add(uint8(i), s)
		}
	}
	f.Fuzz(func(t *testing.T, route uint8, body string) {
		p := paths[int(route)%len(paths)]
		req, _ := http.NewRequest("POST", srv.URL+p, strings.NewReader(body+"&csrf="+url.QueryEscape(csrf)))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode >= 500 {
			t.Fatalf("POST %s %.120q: %d", p, body, res.StatusCode)
		}
	})
}
