package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/closeloop/closeloop/shared/local/awstest"
	"github.com/closeloop/closeloop/shared/local/localaws"
)

// axeSource is axe-core, pinned in package.json.
func axeSource(t *testing.T) string {
	t.Helper()
	root, _ := localaws.FindRoot()
	b, err := os.ReadFile(filepath.Join(root, "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		t.Fatalf("axe-core is not installed (npm ci installs it): %v", err)
	}
	return string(b)
}

// checkA11y runs axe-core on the current page at phone and desktop widths
// and fails on any serious or critical violation.
func checkA11y(t *testing.T, ctx context.Context, axe, page string) {
	t.Helper()
	for _, width := range []int64{390, 1280} {
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, 900)); err != nil {
			t.Fatal(err)
		}
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](axe+";true")); err != nil {
			t.Fatalf("inject axe-core on %s: %v", page, err)
		}
		res, err := chromedp.Run(ctx, chromedp.Evaluate[string](`axe.run(document, {resultTypes: ["violations"]}).then(r => JSON.stringify(
			r.violations.filter(v => v.impact === "serious" || v.impact === "critical")
			 .map(v => v.impact + " " + v.id + ": " + v.nodes.map(n => n.target.join(" ")).join(", "))))`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("axe-core on %s: %v", page, err)
		}
		var violations []string
		json.Unmarshal([]byte(res), &violations)
		for _, v := range violations {
			t.Errorf("%s at %dpx: %s", page, width, v)
		}
	}
}

// TestConsoleInBrowser drives the console end to end in headless chromium
// against the local stack: sign in from the emailed link, read and filter
// the inbox, tag a theme, create a keyword theme and back-fill it, compose,
// preview, test and send an improvement until every recipient has it, and
// check the dashboard against /api/metrics; axe-core checks every page.
func TestConsoleInBrowser(t *testing.T) {
	s := startServer(t)
	axe := axeSource(t)
	// Three answered surveys: a detractor about exports, a passive, a promoter.
	answers := []struct {
		rating  int
		comment string
	}{{1, "The CSV export <b>never</b> finishes"}, {3, "It was fine"}, {5, "Quick and friendly"}}
	var tokens []string
	for i, a := range answers {
		email := awstest.Email()
		s.solve(t, "generic", "c-"+strconv.Itoa(i), email, "Ada", "solved")
		m := waitMail(t, email, 1)[0]
		tokens = append(tokens, awstest.Token(m))
		form := url.Values{"rating": {strconv.Itoa(a.rating)}, "comment": {a.comment}}
		res, err := http.PostForm(s.URL+"/s/"+awstest.Token(m), form)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("answer %d: %v %v", i, res.StatusCode, err)
		}
		res.Body.Close()
	}
	ctx := browser(t)
	// The first action starts the browser: it runs without a timeout, which
	// would stop the browser with it.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatal(err)
	}
	run := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := chromedp.Do(tctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	// clickNav clicks sel and waits for the page it leads to.
	clickNav := func(what, sel string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__stale = true`)); err != nil {
			t.Fatal(err)
		}
		run(what, chromedp.Click(chromedp.CSS(sel)))
		waitFor(t, what, func() bool {
			v, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`!window.__stale && document.readyState === "complete"`))
			return v
		})
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	count := func(sel string) int {
		n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(`+strconv.Quote(sel)+`).length`))
		return n
	}

	// The survey page and its thank-you page pass axe-core too.
	run("survey page", chromedp.Navigate(s.URL+"/s/"+tokens[1]+"?r=4"), chromedp.WaitVisible(chromedp.CSS("form")))
	checkA11y(t, ctx, axe, "survey page")
	clickNav("thank-you page", `button[type=submit]`)
	checkA11y(t, ctx, axe, "thank-you page")

	// Sign in from the link in the local SES server.
	admin := s.Config.AdminEmail
	run("sign-in form", chromedp.Navigate(s.URL+"/console"), chromedp.WaitVisible(chromedp.CSS("#email")))
	checkA11y(t, ctx, axe, "sign-in page")
	run("type the address", chromedp.SendKeys(chromedp.CSS("#email"), admin))
	clickNav("ask for a link", `main button[type=submit]`)
	checkA11y(t, ctx, axe, "sign-in link sent page")
	mails := waitMail(t, admin, 1)
	link := regexp.MustCompile(`https?://\S+/console/login/\S+`).FindString(mails[0].Body.Text)
	run("open the link", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS(`button[type=submit]`)))
	checkA11y(t, ctx, axe, "sign-in link page")
	clickNav("sign in", `main button[type=submit]`)

	// The inbox shows the seeded responses; filter the detractors.
	if n := count(`tr[data-response]`); n != 3 {
		t.Fatalf("inbox shows %d responses, want 3", n)
	}
	checkA11y(t, ctx, axe, "inbox")
	shot(t, ctx, "console-inbox.png")
	run("choose detractors", chromedp.SetValue(chromedp.CSS("#band"), "detractor"))
	clickNav("filter detractors", `form[aria-label] button[type=submit]`)
	if n := count(`tr[data-response]`); n != 1 || !strings.Contains(text("tbody"), "<b>never</b> finishes") {
		t.Fatalf("detractor filter shows %d rows: %q", n, text("tbody"))
	}
	if strings.Contains(text("tbody"), "<b>") && count("tbody b") > 0 {
		t.Error("the comment's HTML was rendered")
	}

	// A theme without keywords, tagged by hand on the response.
	run("new theme", chromedp.Navigate(s.URL+"/console/themes"), chromedp.SendKeys(chromedp.CSS("#name"), "support"))
	clickNav("create a theme", `button[value=save]`)
	run("theme listed", chromedp.WaitVisible(chromedp.CSS(`tr[data-theme=support]`)))
	run("inbox", chromedp.Navigate(s.URL+"/console?band=detractor"), chromedp.WaitVisible(chromedp.CSS(`tr[data-response] a`)))
	clickNav("open the response", `tr[data-response] a`)
	checkA11y(t, ctx, axe, "response page")
	run("check the theme", chromedp.Click(chromedp.CSS(`input[value=support]`)))
	clickNav("tag it", `form[action$="/themes"] button[type=submit]`)
	if count(`input[value=support]:checked`) != 1 {
		t.Error("the theme did not stick")
	}

	// A keyword theme, previewed, then saved with back-fill.
	run("keyword theme", chromedp.Navigate(s.URL+"/console/themes"), chromedp.SendKeys(chromedp.CSS("#name"), "exports"),
		chromedp.SendKeys(chromedp.CSS("#keywords"), "export"))
	clickNav("preview a keyword theme", `button[value=preview]`)
	if !strings.Contains(text(`div[role=status]`), "1 existing responses") {
		t.Errorf("preview: %q", text(`div[role=status]`))
	}
	checkA11y(t, ctx, axe, "themes page")
	clickNav("save and back-fill", `button[value=save]`)
	if got := text(`tr[data-theme=exports] td[data-count]`); got != "1" {
		t.Errorf("exports tags %s responses after back-fill, want 1", got)
	}

	// Compose an improvement: preview, a test to me, then send.
	run("compose", chromedp.Navigate(s.URL+"/console/improvements"), chromedp.SetValue(chromedp.CSS("#theme"), "exports"),
		chromedp.SendKeys(chromedp.CSS("#summary"), "Exports are now 10x faster"),
		chromedp.SendKeys(chromedp.CSS("#message"), "We rebuilt CSV export."))
	clickNav("preview the improvement", `button[value=preview]`)
	if !strings.Contains(text(`[data-audience]`), "1 customers") {
		t.Errorf("audience: %q", text(`[data-audience]`))
	}
	checkA11y(t, ctx, axe, "improvement preview")
	clickNav("send a test", `button[value=test]`)
	if count(`p.flash`) != 1 {
		t.Error("no word that the test went")
	}
	if n := len(waitMail(t, admin, 2)); n != 2 {
		t.Errorf("%d emails to the operator, want the sign-in link and the test", n)
	}
	clickNav("send", `button[value=send]`)
	waitFor(t, "every recipient sent", func() bool {
		chromedp.Do(ctx, chromedp.Reload())
		sent, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-progress=sent]`)))
		recipients, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-progress=recipients]`)))
		return sent == "1" && recipients == "1"
	})
	checkA11y(t, ctx, axe, "improvement progress")

	// The dashboard's figures are /api/metrics for the same range.
	today := time.Now().UTC().Format(time.DateOnly)
	run("dashboard", chromedp.Navigate(s.URL+"/console/dashboard?from="+today+"&to="+today), chromedp.WaitVisible(chromedp.CSS(`svg.chart`)))
	checkA11y(t, ctx, axe, "dashboard")
	shot(t, ctx, "console-dashboard.png")
	// The charts' labels stay readable on a phone, and with three score
	// charts side by side (the page shows one per kind answered; two more
	// are copied in here): an SVG scaled to its box shrank its 13-unit
	// labels to about 7 pixels.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { const f = document.querySelector("svg.dist").closest("figure"); f.after(f.cloneNode(true)); f.after(f.cloneNode(true)); return true })()`)); err != nil {
		t.Fatalf("three score charts: %v", err)
	}
	for _, width := range []int64{390, 900, 1280} {
		run("dashboard width", chromedp.EmulateViewport(width, 900))
		small, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`Math.min(...[...document.querySelectorAll("svg.chart text.label")].map(e => e.getBoundingClientRect().height))`))
		if err != nil || small < 11 {
			t.Errorf("at %dpx the smallest chart label is %.1f pixels high (%v), want 11 or more", width, small, err)
		}
		overflow, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`[...document.querySelectorAll("svg.chart text.label")].some(e => { const l = e.getBoundingClientRect(), s = e.closest("svg").getBoundingClientRect(); return l.right > s.right + 1 || l.left < s.left - 1 })`))
		if overflow {
			t.Errorf("at %dpx a chart label runs out of its chart", width)
		}
	}
	var m map[string]any
	s.call(t, "GET", "/api/metrics?from="+today+"&to="+today, nil, &m)
	for name, format := range map[string]string{"surveys_sent": "%.0f", "responses": "%.0f", "response_rate": "%.2f", "csat": "%.1f", "closing_sent": "%.0f"} {
		v, _ := m[name].(float64)
		if got, want := text(`[data-metric=`+name+`]`), fmt.Sprintf(format, v); got != want {
			t.Errorf("dashboard %s = %s, /api/metrics %s", name, got, want)
		}
	}
	run("follow-up", chromedp.Navigate(s.URL+"/console/cases?status="), chromedp.WaitVisible(chromedp.CSS(`tr[data-case] a`)))
	checkA11y(t, ctx, axe, "follow-up cases")
	clickNav("open the case", `tr[data-case] a`)
	checkA11y(t, ctx, axe, "follow-up case")
	run("reply", chromedp.SendKeys(chromedp.CSS("#message"), "Sorry about the export. It is fixed now."))
	clickNav("send the reply", `form[action$="/reply"] button[type=submit]`)
	if got := text(`[data-case-status]`); got != "contacted" {
		t.Errorf("case status after the reply: %q", got)
	}
	for _, p := range []string{"/console/operators", "/console/tokens", "/console/audit", "/console/lookups", "/console/responses/nosuch"} {
		run(p, chromedp.Navigate(s.URL+p), chromedp.WaitVisible(chromedp.CSS(`main h1`)))
		checkA11y(t, ctx, axe, p)
	}
}
