package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/helpdesk"
	"github.com/closeloop/closeloop/shared/local/devstack"
	"github.com/closeloop/closeloop/shared/local/localaws"
)

// Prices (us-east-1, on demand), as AWS publishes them; see priceNotes.
const (
	priceWRU      = 0.625 / 1e6  // $ per write request unit
	priceRRU      = 0.125 / 1e6  // $ per read request unit
	priceEmail    = 0.10 / 1000  // $ per SES email
	priceLambdaRq = 0.20 / 1e6   // $ per Lambda request
	priceLambdaGB = 0.0000133334 // $ per GB-second, arm64
	// The SaaS comparator: an estimate, see priceNotes.
	saasPer1000 = 100.0
)

func priceNotes() []string {
	return []string{
		"DynamoDB on demand, us-east-1: $0.625 per million write request units, $0.125 per million read request units (AWS's prices since the November 2024 on-demand price cut; recorded 2026-11-24 from AWS's pricing page as we know it — the stored copies searched here did not show the table, so check before quoting).",
		"Amazon SES: $0.10 per 1,000 emails sent (outbound, no attachments); Lambda arm64: $0.20 per million requests and $0.0000133334 per GB-second (AWS pricing pages, same caveat).",
		"SaaS comparator: an estimate of $100 per 1,000 survey responses, the order of magnitude of per-response pricing in entry CSAT/NPS survey plans (plans of roughly $50–$300 a month for about 1,000 responses). No stored page confirmed a current plan price, so treat the ratio as indicative.",
	}
}

// capacity drives one full loop through the HTTP surface and the jobs and
// records the capacity DynamoDB reports for every call, step by step.
func capacity(ctx context.Context, rep *Report, srv *localaws.Servers) error {
	cfg := benchConfig()
	// SES's default production quota, shared through the table as in AWS:
	// its permission writes count too.
	var mu sync.Mutex
	step := ""
	type units struct{ r, w, ix float64 }
	perStep := map[string]*units{}
	var order []string
	var ledger []ledgerEntry
	env := devstack.Env(cfg, srv.DynamoDB, srv.SES)
	env.AWS.HTTPClient = &http.Client{Transport: &indexWrites{next: http.DefaultTransport, db: env.DynamoDB(), table: cfg.Table, add: func(u float64) {
		mu.Lock()
		defer mu.Unlock()
		if perStep[step] == nil {
			perStep[step] = &units{}
		}
		perStep[step].ix += u
	}, note: func(op, kind string, r, w, ix float64) {
		mu.Lock()
		defer mu.Unlock()
		ledger = append(ledger, ledgerEntry{step: step, op: op, kind: kind, r: r, w: w, ix: ix})
	}}}
	st, err := devstack.AssembleEnv(ctx, env, 14)
	if err != nil {
		return err
	}
	st.Store.Capacity = func(op string, r, w float64) {
		mu.Lock()
		defer mu.Unlock()
		if perStep[step] == nil {
			perStep[step] = &units{}
		}
		perStep[step].r += r
		perStep[step].w += w
		if os.Getenv("BENCH_CAPACITY_TRACE") != "" {
			fmt.Fprintf(os.Stderr, "%-50.50s %-14s %4.1f RCU %4.1f WCU\n", step, op, r, w)
		}
	}
	begin := func(name string) { mu.Lock(); step = name; order = append(order, name); mu.Unlock() }
	do := func(method, path, body, ctype string, h http.Header) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		for k, v := range h {
			r.Header[k] = v
		}
		if ctype != "" {
			r.Header.Set("Content-Type", ctype)
		}
		if strings.HasPrefix(path, "/api/") {
			r.Header.Set("Authorization", "Bearer "+cfg.AdminToken)
		}
		w := httptest.NewRecorder()
		st.Handler.ServeHTTP(w, r)
		return w
	}
	email := fmt.Sprintf("bench%d@example.com", time.Now().UnixNano())

	// Set-up that is not per loop: the theme exists, and each sender has
	// published the key that checks its unsubscribe links (once per instance).
	begin("(set-up: create the theme once)")
	if err := errors.Join(st.Sweeper.Links.Ensure(ctx), st.Closing.Links.Ensure(ctx)); err != nil {
		return err
	}
	if w := do("POST", "/api/themes", `{"name":"exports","keywords":["export"]}`, "application/json", nil); w.Code != 201 {
		return fmt.Errorf("theme: %d %s", w.Code, w.Body)
	}

	begin("webhook: solve received, survey scheduled")
	body, _ := json.Marshal(helpdesk.GenericPayload{EventID: "e1", TicketID: "T1", Status: "solved", Customer: closeloop.Person{Email: email, Name: "Ada"}, Subject: "Exports"})
	if w := do("POST", "/webhooks/generic", string(body), "", helpdesk.Generic{Secret: []byte(cfg.Secrets["generic"])}.Sign(body, time.Now())); w.Code != 200 {
		return fmt.Errorf("webhook: %d %s", w.Code, w.Body)
	}
	begin("survey-sweep: claim, send, record")
	if res, err := st.Sweeper.Run(ctx); err != nil || res.Sent != 1 {
		return fmt.Errorf("sweep: %+v %v", res, err)
	}
	mails, err := localaws.SentMail(srv.SES)
	if err != nil {
		return err
	}
	var token string
	for _, m := range mails {
		if m.To(email) {
			token = regexp.MustCompile(`/s/([A-Za-z0-9_-]{43})`).FindStringSubmatch(m.Body.Text)[1]
		}
	}
	begin("survey page: GET (records nothing)")
	do("GET", "/s/"+token+"?r=2", "", "", nil)
	begin("response: POST rating and comment")
	form := url.Values{"rating": {"2"}, "comment": {"The export is slow"}}.Encode()
	if w := do("POST", "/s/"+token, form, "application/x-www-form-urlencoded", nil); w.Code != 200 {
		return fmt.Errorf("answer: %d", w.Code)
	}
	begin("operator: theme set on the response")
	if w := do("PUT", "/api/responses/"+closeloop.SurveyIDOf(token)+"/themes", `{"themes":["exports"]}`, "application/json", nil); w.Code != 200 {
		return fmt.Errorf("set themes: %d %s", w.Code, w.Body)
	}
	begin("operator: improvement announced")
	if w := do("POST", "/api/improvements", `{"theme":"exports","summary":"Faster exports","message":"Exports take seconds now."}`, "application/json", nil); w.Code != 202 {
		return fmt.Errorf("improvement: %d %s", w.Code, w.Body)
	}
	begin("closing: fan-out and the \"you said, we did\" email")
	if err := st.DrainQueue(ctx); err != nil {
		return err
	}
	begin("metrics: one day")
	day := time.Now().UTC().Format(time.DateOnly)
	do("GET", "/api/metrics?from="+day+"&to="+day, "", "", nil)

	// The same loop for many customers at once, as a team's week runs it:
	// n solves, one sweep run, n answers themed by the keyword, one
	// improvement telling all of them. What is per batch or per improvement
	// (the sweep's and the fan-out's reads, the announcement) is shared.
	const n = 20
	batch := "(batch)"
	mu.Lock()
	step = batch
	mu.Unlock()
	var emails []string
	for i := range n {
		e := fmt.Sprintf("batch%d-%d@example.com", time.Now().UnixNano(), i)
		emails = append(emails, e)
		body, _ := json.Marshal(helpdesk.GenericPayload{EventID: fmt.Sprint("b", i), TicketID: fmt.Sprint("B", i), Status: "solved", Customer: closeloop.Person{Email: e, Name: "Ada"}, Subject: "Exports"})
		if w := do("POST", "/webhooks/generic", string(body), "", helpdesk.Generic{Secret: []byte(cfg.Secrets["generic"])}.Sign(body, time.Now())); w.Code != 200 {
			return fmt.Errorf("batch webhook: %d %s", w.Code, w.Body)
		}
	}
	if res, err := st.Sweeper.Run(ctx); err != nil || res.Sent != n {
		return fmt.Errorf("batch sweep: %+v %v", res, err)
	}
	if mails, err = localaws.SentMail(srv.SES); err != nil {
		return err
	}
	answered := 0
	for _, m := range mails {
		for _, e := range emails {
			if m.To(e) {
				tok := regexp.MustCompile(`/s/([A-Za-z0-9_-]{43})`).FindStringSubmatch(m.Body.Text)[1]
				form := url.Values{"rating": {"2"}, "comment": {"The export is slow"}}.Encode()
				if w := do("POST", "/s/"+tok, form, "application/x-www-form-urlencoded", nil); w.Code != 200 {
					return fmt.Errorf("batch answer: %d", w.Code)
				}
				answered++
			}
		}
	}
	if answered != n {
		return fmt.Errorf("batch: %d answers, want %d", answered, n)
	}
	if w := do("POST", "/api/improvements", `{"theme":"exports","summary":"Faster exports","message":"Exports take seconds now."}`, "application/json", nil); w.Code != 202 {
		return fmt.Errorf("batch improvement: %d %s", w.Code, w.Body)
	}
	if err := st.DrainQueue(ctx); err != nil {
		return err
	}
	mu.Lock()
	b := *perStep[batch]
	mu.Unlock()

	inLoop := func(name string) bool {
		return name != "" && !strings.HasPrefix(name, "(") && !strings.HasPrefix(name, "metrics")
	}
	var loopR, loopW, loopIx float64
	for _, name := range order {
		u := perStep[name]
		if u == nil {
			u = &units{}
		}
		rep.add(Figure{Section: "capacity", Name: name, Value: fmt.Sprintf("%.1f RCU, %.1f WCU (%.0f table, %.0f index)", u.r, u.w+u.ix, u.w, u.ix)})
		if inLoop(name) {
			loopR += u.r
			loopW += u.w
			loopIx += u.ix
		}
	}
	loopW += loopIx
	rep.add(Figure{Section: "capacity", Name: "full loop: write capacity units", Value: fmt.Sprintf("%.1f WCU (%.0f table, %.0f index)", loopW, loopW-loopIx, loopIx), Target: "≤ 12 (indexes included)", Holds: holds(loopW <= 12),
		Note: fmt.Sprintf("%.0f over the target, %.1f× it; ", loopW-12, loopW/12) + "table writes as the local server reports them; index writes counted from each item before and after every write, by DynamoDB's rules (bench/indexes.go). Most writes are needed: the ticket's schedule (written at the solve, the claim and the outcome, each entering or moving in the due index), the survey, the person's fatigue slot and answer, the claims that keep every email single. The rest are the day's counters: the solve, the survey sent, the answer, each once for the day and again for each breakdown (source, kind, agent, theme), which keep every report O(days); the ledger below lists every write and read that succeeded, by item, with what it is for (a write refused by its condition is billed too, and appears in neither)"})
	rep.add(Figure{Section: "capacity", Name: fmt.Sprintf("full loop, %d customers at once, per customer", n),
		Value: fmt.Sprintf("%.1f WCU (%.1f table, %.1f index), %.1f RCU", (b.w+b.ix)/n, b.w/n, b.ix/n, b.r/n),
		Note:  "the same loop for " + fmt.Sprint(n) + " customers: their solves, one sweep run, their answers posted (no page opened first) and themed by the keyword (no operator tagging), one improvement telling all of them; what goes per run, per batch of the fan-out or per improvement is shared, as in a team's week. The targets are judged on the lone loop above, the dearer case"})
	rep.add(Figure{Section: "capacity", Name: "full loop: read capacity units", Value: fmt.Sprintf("%.1f RCU", loopR), Target: "≤ 6", Holds: holds(loopR <= 6),
		Note: fmt.Sprintf("%.0f over the target, %.1f× it; ", loopR-6, loopR/6) + "strongly consistent reads of each item before a conditional write dominate: the sweep reads the ticket and the person before claiming, the page and the answer read the survey, and the closing function reads again what it sends (the detractor alert and the comment's acknowledgement each read the survey, the case or the person; the fan-out reads the improvement, its theme's members and, for each batch, the improvement, responses, people and claims at once), since erasure or an unsubscribe may have come in between"})
	// The same units by item, each with what it is for: the ledger sums to
	// the loop's figures above, or the run fails.
	mu.Lock()
	figs := ledgerFigures(ledger, inLoop)
	var lr, lw float64
	for _, e := range ledger {
		if inLoop(e.step) {
			lr, lw = lr+e.r, lw+e.w+e.ix
		}
	}
	mu.Unlock()
	if math.Abs(lr-loopR) > 0.01 || math.Abs(lw-loopW) > 0.01 {
		return fmt.Errorf("capacity ledger: %.1f RCU, %.1f WCU by item, but %.1f RCU, %.1f WCU by step", lr, lw, loopR, loopW)
	}
	// Seven invocations a loop (webhook, sweep share, page, answer, tag, announce, closing), ~100 ms at 256 MB each.
	lambda := 7*priceLambdaRq + 7*0.1*0.25*priceLambdaGB
	dynamo := 1000 * (loopW*priceWRU + loopR*priceRRU)
	per1000 := dynamo + 1000*(2*priceEmail+lambda)
	atTarget := 1000 * (min(loopW, 12)*priceWRU + min(loopR, 6)*priceRRU)
	rep.add(Figure{Section: "capacity", Name: "cost per 1,000 closed loops (DynamoDB + 2 SES emails + Lambda)", Value: fmt.Sprintf("$%.4f", per1000),
		Note: fmt.Sprintf("DynamoDB $%.4f (%.0f%%), SES $%.4f (%.0f%%), Lambda $%.4f (%.0f%%); at the capacity targets DynamoDB would cost $%.4f, saving $%.4f per 1,000 loops (%.0f%% of the total)",
			dynamo, 100*dynamo/per1000, 1000*2*priceEmail, 100*1000*2*priceEmail/per1000, 1000*lambda, 100*1000*lambda/per1000, atTarget, dynamo-atTarget, 100*(dynamo-atTarget)/per1000)})
	rep.add(Figure{Section: "capacity", Name: "against a SaaS plan's price per 1,000 responses (estimate)", Value: fmt.Sprintf("$%.0f, %.0f× Closeloop's cost", saasPer1000, saasPer1000/per1000)})
	for _, f := range figs {
		rep.add(f)
	}
	return nil
}

// benchKey is the contact key of every store and configuration here.
var benchKey = closeloop.ContactKey("bench-contact-key-0123456789abcdef0123456789abcdef")

func benchConfig() closeloop.Config {
	cfg, _ := closeloop.LoadConfig(func(string) string { return "" })
	cfg.SurveyDelay = 0
	cfg.FatigueWindow = 0
	cfg.SendWindow, _ = closeloop.ParseSendWindow("always") // measure at any hour
	cfg.AdminToken = "bench"
	cfg.ContactKey = benchKey
	cfg.BaseURL = "https://fb.bench.example"
	cfg.Table = fmt.Sprintf("bench%d", time.Now().UnixNano())
	for _, s := range closeloop.Sources {
		cfg.Secrets[s] = "bench-secret"
	}
	return cfg
}
