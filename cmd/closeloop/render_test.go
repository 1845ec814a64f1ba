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
		const els = [...document.querySelectorAll(`+fmt.Sprintf("%q", sel)+`)];
		if (els.length === 0) return "no rating buttons";
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

// TestEmailsAndPagesRender renders the survey email of every kind and the
// survey page in headless chromium at 320, 375 and 1280 px: nothing
// overflows, every rating button is whole and at least 44 px tall, and
// axe-core finds nothing serious; the brand's name shows.
func TestEmailsAndPagesRender(t *testing.T) {
	s := startServer(t)
	axe := axeSource(t)
	ctx := browser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatal(err)
	}
	brand, _ := closeloop.ParseBrand("Acme Support", "#b91c1c", "")
	dir := t.TempDir()
	for _, kind := range []closeloop.Kind{closeloop.CSAT, closeloop.NPS, closeloop.CES} {
		m, err := mail.SurveyEmail("ada@example.com", mail.Survey{Name: "Ada", TicketSubject: "The CSV export times out on large files", AgentName: "Sam",
			Kind: kind, BaseURL: s.URL, Token: "tok", UnsubscribeToken: "unsub", Brand: brand})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(m.HTML, "Acme Support") || !strings.Contains(m.HTML, "#b91c1c") {
			t.Errorf("%s email without the brand", kind)
		}
		file := filepath.Join(dir, string(kind)+".html")
		os.WriteFile(file, []byte(m.HTML), 0o644)
		if err := chromedp.Do(ctx, chromedp.Navigate("file://"+file)); err != nil {
			t.Fatal(err)
		}
		for _, w := range []int64{320, 375, 1280} {
			fits(t, ctx, string(kind)+" email", ".rate a", w)
		}
		if kind == closeloop.NPS {
			chromedp.Do(ctx, chromedp.EmulateViewport(375, 800))
			shot(t, ctx, "survey-email-phone.png")
		}
		checkA11y(t, ctx, axe, string(kind)+" email")
	}
	for _, kind := range []closeloop.Kind{closeloop.NPS, closeloop.CES} {
		email := fmt.Sprintf("page-%s@example.com", kind)
		ev := closeloop.TicketEvent{Source: "generic", EventID: "render-" + string(kind), TicketID: "render-" + string(kind), Status: closeloop.StatusSolved,
			Kind: kind, Customer: closeloop.Person{Email: email}, Subject: "Exports"}
		s.applyEvent(t, ev)
		m := waitMail(t, email, 1)[0]
		link := surveyLinks(m)[0]
		if err := chromedp.Do(ctx, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("form"))); err != nil {
			t.Fatal(err)
		}
		for _, w := range []int64{320, 375, 1280} {
			fits(t, ctx, string(kind)+" page", ".scale label", w)
		}
		if kind == closeloop.NPS {
			chromedp.Do(ctx, chromedp.EmulateViewport(375, 800))
			shot(t, ctx, "survey-page-phone.png")
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
