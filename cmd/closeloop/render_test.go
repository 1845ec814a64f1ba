package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/fn/webhook"
	"github.com/closeloop/closeloop/shared/mail"
)

// fits checks the current page at width: no horizontal overflow, and every
// element matching sel (the rating buttons) fully visible and at least 44
// px tall.
func fits(t *testing.T, ctx context.Context, what, sel string, width int64) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, 800)); err != nil {
		t.Fatal(err)
	}
	res, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
		const w = document.documentElement.clientWidth;
		if (document.documentElement.scrollWidth > w + 1) return "overflows: " + document.documentElement.scrollWidth + " > " + w;
		const sel = `+fmt.Sprintf("%q", sel)+`;
		const els = sel ? [...document.querySelectorAll(sel)] : [];
		if (sel && els.length === 0) return "no buttons";
		for (const e of els) {
			const r = e.getBoundingClientRect();
			if (r.left < 0 || r.right > w + 1) return "button " + e.textContent + " is off-screen";
			if (r.height < 44) return "button " + e.textContent + " is " + r.height + " px tall";
		}
		return "";
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	if res != "" {
		t.Errorf("%s at %d px: %s", what, width, res)
	}
}

// TestEmailsAndPagesRender renders every email (the survey in every kind,
// the closing email, the acknowledgement, the check-in, the personal reply,
// the team's alert and the sign-in link) and every customer page (the
// survey in every kind, thank-you after a low and a high score, unsubscribe,
// check-in, not found) in headless chromium at 320, 375 and 1280 px:
// nothing overflows, every rating button is whole and at least 44 px tall,
// axe-core finds nothing serious, and the brand's name is everywhere.
func TestEmailsAndPagesRender(t *testing.T) {
	brand, _ := closeloop.ParseBrand("Acme Support", "#b91c1c", "")
	s := startServer(t)
	axe := axeSource(t)
	ctx := browser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	emails := map[string]mail.Message{}
	for _, kind := range []closeloop.Kind{closeloop.CSAT, closeloop.NPS, closeloop.CES} {
		m, err := mail.SurveyEmail("ada@example.com", mail.Survey{Name: "Ada", TicketSubject: "The CSV export times out on large files", AgentName: "Sam",
			Kind: kind, BaseURL: s.URL, Token: "tok", UnsubscribeToken: "unsub", Brand: brand})
		if err != nil {
			t.Fatal(err)
		}
		emails["survey-"+string(kind)] = m
	}
	must := func(m mail.Message, err error) mail.Message {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	emails["closing"] = must(mail.ClosingEmail("ada@example.com", mail.Closing{Name: "Ada", Quote: "Exports fail", Summary: "Exports are 10x faster",
		Detail: "We rebuilt it.\n\nThanks.", Link: "https://acme.example/changelog", UnsubscribeURL: s.URL + "/u/x", Brand: brand}))
	emails["ack"] = must(mail.AckEmail("ada@example.com", "Ada", "en", "Exports fail", s.URL+"/u/x", brand))
	emails["checkin"] = must(mail.CheckInEmail("ada@example.com", "Ada", "en", "Exports", s.URL, "tok", s.URL+"/u/x", brand))
	emails["reply"] = must(mail.ReplyEmail("ada@example.com", "team@acme.example", "en", "Re: Exports", "Sorry.\n\nIt is fixed.", brand))
	emails["alert"] = must(mail.AlertEmail("team@acme.example", mail.Alert{Kind: closeloop.CSAT, Rating: 1, Source: "zendesk", TicketID: "4711", Comment: "Broken", CaseURL: s.URL + "/console/cases/x"}, brand))
	emails["signin"] = must(mail.SignInEmail("lead@acme.example", s.URL+"/console/login/x", 15, brand))
	for name, m := range emails {
		sel := map[string]string{"closing": "a.btn", "alert": "a.btn", "signin": "a.btn", "ack": "", "reply": ""}[name]
		if strings.HasPrefix(name, "survey") || name == "checkin" {
			sel = ".rate a"
		}
		if !strings.Contains(m.HTML, "Acme Support") || !strings.Contains(m.HTML, "#b91c1c") && sel != "" && name != "checkin" {
			t.Errorf("%s email without the brand's name or colour", name)
		}
		file := filepath.Join(dir, name+".html")
		os.WriteFile(file, []byte(m.HTML), 0o644)
		if err := chromedp.Do(ctx, chromedp.Navigate("file://"+file)); err != nil {
			t.Fatal(err)
		}
		for _, w := range []int64{320, 375, 1280} {
			fits(t, ctx, name+" email", sel, w)
		}
		if name == "survey-nps" {
			chromedp.Do(ctx, chromedp.EmulateViewport(375, 800))
			shot(t, ctx, "survey-email-phone.png")
		}
		checkA11y(t, ctx, axe, name+" email")
	}

	// The pages, for a branded stack.
	pages := startServerWith(t, func(cfg *closeloop.Config) { cfg.Brand = brand })
	page := func(name, url, sel string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("main"))); err != nil {
			t.Fatal(err)
		}
		text, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
		if !strings.Contains(text, "Acme Support") {
			t.Errorf("%s page without the brand's name", name)
		}
		for _, w := range []int64{320, 375, 1280} {
			fits(t, ctx, name+" page", sel, w)
		}
		checkA11y(t, ctx, axe, name+" page")
	}
	for i, kind := range []closeloop.Kind{closeloop.CSAT, closeloop.NPS, closeloop.CES} {
		email := fmt.Sprintf("page-%s@example.com", kind)
		pages.applyEvent(t, closeloop.TicketEvent{Source: "generic", EventID: "render-" + string(kind), TicketID: "render-" + string(kind),
			Status: closeloop.StatusSolved, Kind: kind, Customer: closeloop.Person{Email: email}, Subject: "Exports"})
		m := waitMail(t, email, 1)[0]
		link := surveyLinks(m)[0]
		page(string(kind)+" survey", link, ".scale label")
		if kind == closeloop.NPS {
			chromedp.Do(ctx, chromedp.EmulateViewport(375, 800))
			shot(t, ctx, "survey-page-phone.png")
		}
		// Low for one kind, high for the others: two thank-you pages.
		rating := map[int]string{0: "1", 1: "10", 2: "7"}[i]
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`label[for=r`+rating+`]`)), chromedp.Click(chromedp.CSS(`button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS(`h1`))); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the thank-you page", func() bool {
			title, _ := chromedp.Run(ctx, chromedp.Title())
			return strings.HasPrefix(title, "Thank you")
		})
		text, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
		if low := strings.Contains(text, "sorry"); low != (rating == "1") {
			t.Errorf("after %s on %s, the apology shows: %v", rating, kind, low)
		}
		checkA11y(t, ctx, axe, string(kind)+" thank-you page")
		if i == 0 {
			page("unsubscribe", strings.Trim(m.Header("List-Unsubscribe"), "<>"), "button")
		}
	}
	page("not found", pages.URL+"/s/"+strings.Repeat("A", 43), "")
}

// TestEveryLanguageWhole: a survey to a customer in Portuguese, Italian,
// Dutch or Japanese arrives wholly in that language.
func TestEveryLanguageWhole(t *testing.T) {
	english := []string{"How ", "Pick a rating", "Unsubscribe", "solved", "Very "}
	for _, locale := range []string{"pt-BR", "it", "nl", "ja"} {
		m, err := mail.SurveyEmail("ada@example.com", mail.Survey{Name: "Ada", TicketSubject: "Exports", AgentName: "Sam", Kind: closeloop.CSAT,
			Locale: locale, BaseURL: "https://fb.acme.example", Token: "tok", UnsubscribeToken: "u"})
		if err != nil {
			t.Fatal(err)
		}
		for _, part := range []string{m.Subject, m.Text, m.HTML} {
			for _, w := range english {
				if strings.Contains(part, w) {
					t.Errorf("%s survey email holds English %q", locale, w)
				}
			}
		}
		if !strings.Contains(m.HTML, `lang="`+locale[:2]+`"`) {
			t.Errorf("%s email not marked as its language", locale)
		}
	}
}

// applyEvent applies ev as the webhook would, now.
func (s *server) applyEvent(t *testing.T, ev closeloop.TicketEvent) {
	t.Helper()
	ev.OccurredAt = time.Now()
	if _, err := webhook.New(s.Config, s.Store).Apply(context.Background(), ev, time.Now()); err != nil {
		t.Fatal(err)
	}
}
