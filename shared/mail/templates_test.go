package mail

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/i18n"
)

func TestSurveyEmail(t *testing.T) {
	for _, k := range []closeloop.Kind{closeloop.CSAT, closeloop.NPS, closeloop.CES} {
		m, err := SurveyEmail("a@example.com", Survey{Name: "<script>x</script>", TicketSubject: "Printer <b>fire</b>", Kind: k, BaseURL: "https://fb.test", Token: "TOK", UnsubscribeToken: "U"})
		if err != nil {
			t.Fatal(err)
		}
		lo, hi := k.Scale()
		for r := lo; r <= hi; r++ {
			link := fmt.Sprintf("https://fb.test/s/TOK?r=%d", r)
			if !strings.Contains(m.Text, link) || !strings.Contains(m.HTML, link) {
				t.Errorf("%s: link for %d missing", k, r)
			}
		}
		if strings.Count(m.Text, "/s/TOK?r=") != hi-lo+1 {
			t.Errorf("%s: %d links in text", k, strings.Count(m.Text, "/s/TOK?r="))
		}
		if strings.Contains(m.HTML, "<script>") || strings.Contains(m.HTML, "<b>fire") {
			t.Errorf("%s: customer text not escaped in HTML", k)
		}
		if m.Headers["List-Unsubscribe"] != "<https://fb.test/u/U>" || m.Headers["List-Unsubscribe-Post"] != "List-Unsubscribe=One-Click" {
			t.Errorf("headers %v", m.Headers)
		}
		if strings.ContainsAny(m.Subject, "\r\n") {
			t.Errorf("subject %q", m.Subject)
		}
	}
	de, _ := SurveyEmail("a@example.com", Survey{TicketSubject: "Drucker", Kind: closeloop.CSAT, Locale: "de-DE", BaseURL: "https://fb.test", Token: "T", UnsubscribeToken: "U"})
	if de.Subject != "Wie waren wir? (Drucker)" || !strings.Contains(de.Text, "Hallo,") {
		t.Errorf("German: %q\n%s", de.Subject, de.Text)
	}
	long, _ := SurveyEmail("a@example.com", Survey{TicketSubject: strings.Repeat("word ", 40) + "\nsecond line", Kind: closeloop.CSAT, BaseURL: "https://fb.test", Token: "T", UnsubscribeToken: "U"})
	if strings.Contains(long.Subject, "\n") || len([]rune(long.Subject)) > 100 {
		t.Errorf("subject not folded: %q", long.Subject)
	}
}

func TestClosingEmail(t *testing.T) {
	m, err := ClosingEmail("a@example.com", Closing{Name: "Ada", Quote: "Exports <fail> & hang", Summary: "Faster exports", Detail: "Para one.\n\nPara two.", UnsubscribeURL: "https://fb.test/u/L"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.Text, `"Exports <fail> & hang"`) || !strings.Contains(m.HTML, "Exports &lt;fail&gt; &amp; hang") {
		t.Errorf("quote missing or unescaped:\n%s\n%s", m.Text, m.HTML)
	}
	if strings.Count(m.HTML, "<p style=\"margin:0 0 12px\">Para") != 2 || m.Subject != "You said, we did: Faster exports" {
		t.Errorf("paragraphs or subject: %q", m.Subject)
	}
	none, _ := ClosingEmail("a@example.com", Closing{Summary: "S", Detail: "D"})
	if strings.Contains(none.Text, "you told us") || none.Headers["List-Unsubscribe"] != "" {
		t.Errorf("without a comment or link: %s %v", none.Text, none.Headers)
	}
}

// TestSurveyEmailNeedsItsOwnUnsubscribeToken: a survey email never carries
// the survey's token in its unsubscribe link.
func TestSurveyEmailNeedsItsOwnUnsubscribeToken(t *testing.T) {
	for _, unsub := range []string{"", "TOK"} {
		if _, err := SurveyEmail("a@example.com", Survey{Kind: closeloop.CSAT, BaseURL: "https://fb.test", Token: "TOK", UnsubscribeToken: unsub}); err == nil {
			t.Errorf("unsubscribe token %q accepted", unsub)
		}
	}
}

// TestButtonsHoldTheirSizeInOutlook: Outlook's Word engine ignores the
// padding of a link, so every button and rating cell carries its padding on
// its cell too (mso-padding-alt), or Outlook shows a strip as tall as the
// text; other clients keep the link's padding, the whole button clickable.
func TestButtonsHoldTheirSizeInOutlook(t *testing.T) {
	brand := closeloop.Brand{Color: "#1d4ed8"}
	var all []Message
	add := func(m Message, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, m)
	}
	for _, k := range []closeloop.Kind{closeloop.CSAT, closeloop.NPS, closeloop.CES} {
		add(SurveyEmail("a@example.com", Survey{TicketSubject: "Printer", Kind: k, BaseURL: "https://fb.test", Token: "TOK", UnsubscribeToken: "U", Brand: brand}))
	}
	add(CheckInEmail("a@example.com", "Ada", "de", "Printer", "https://fb.test", "TOK", "https://fb.test/u/U", brand))
	add(ClosingEmail("a@example.com", Closing{Summary: "S", Detail: "D", Link: "https://example.com/changelog", Brand: brand}))
	add(SignInEmail("a@example.com", "https://fb.test/console/login/T", 15, brand))
	add(AlertEmail("a@example.com", Alert{Kind: closeloop.CSAT, Rating: 1, Low: 1, High: 5, CaseURL: "https://fb.test/console/cases/1"}, brand))
	add(DigestEmail("a@example.com", closeloop.Digest{}, "https://fb.test/console", brand))
	cell := regexp.MustCompile(`<td[^>]*>\s*<a [^>]*style="[^"]*display:block;padding:([0-9px ]+)`)
	buttons := 0
	for _, m := range all {
		for _, c := range cell.FindAllStringSubmatch(m.HTML, -1) {
			buttons++
			if !strings.Contains(c[0], "mso-padding-alt:"+c[1]) {
				t.Errorf("%q: a button's cell lacks mso-padding-alt:%s: %s", m.Subject, c[1], c[0])
			}
		}
	}
	if buttons != 5+11+7+2+4 { // ratings, check-in answers, buttons
		t.Errorf("%d buttons found, want every rating, check-in answer and button", buttons)
	}
}

// TestDarkModeKeepsTheUnsubscribeLinkReadable: the emails opt into dark
// mode, so the footer's link gets a dark-mode colour readable on the dark
// background (its inline grey had 2.35:1 there).
func TestDarkModeKeepsTheUnsubscribeLinkReadable(t *testing.T) {
	m, err := SurveyEmail("a@example.com", Survey{TicketSubject: "Printer", Kind: closeloop.CSAT, BaseURL: "https://fb.test", Token: "TOK", UnsubscribeToken: "U"})
	if err != nil {
		t.Fatal(err)
	}
	dark := regexp.MustCompile(`@media \(prefers-color-scheme:dark\)\{(.*)\}`).FindStringSubmatch(m.HTML)
	bg := regexp.MustCompile(`\.bg\{background:(#[0-9a-f]{6})`)
	link := regexp.MustCompile(`(?:^|\})[^{}]*\.muted a[^{}]*\{color:(#[0-9a-f]{6})`)
	if dark == nil || bg.FindStringSubmatch(dark[1]) == nil || link.FindStringSubmatch(dark[1]) == nil {
		t.Fatalf("no dark-mode colour for the footer's link: %v", dark)
	}
	c, err := closeloop.Contrast(link.FindStringSubmatch(dark[1])[1], bg.FindStringSubmatch(dark[1])[1])
	if err != nil || c < 4.5 {
		t.Errorf("the footer's link in dark mode: %.2f:1 (%v), want 4.5:1 or more", c, err)
	}
	if !strings.Contains(m.HTML, `class="muted"`) || !strings.Contains(m.HTML, "/u/U") {
		t.Error("the footer with its link is missing")
	}
}

// TestEmailsWithoutATicketSubject: a ticket without a subject (an untitled
// Intercom conversation, a generic event without one) gives whole
// sentences and subjects in every language, not "How did we do? ()" or
// "Your request “” was solved".
func TestEmailsWithoutATicketSubject(t *testing.T) {
	empty := regexp.MustCompile(`\(\s*\)|（\s*）|“\s*”|„\s*“|„\s*”|«\s*»|「\s*」`)
	for _, lang := range i18n.Languages() {
		for _, agent := range []string{"", "Bo"} {
			m, err := SurveyEmail("a@example.com", Survey{TicketSubject: "  ", AgentName: agent, Kind: closeloop.CSAT, Locale: lang, BaseURL: "https://fb.test", Token: "TOK", UnsubscribeToken: "U"})
			if err != nil {
				t.Fatal(err)
			}
			if empty.MatchString(m.Subject) || empty.MatchString(m.Text) || empty.MatchString(m.HTML) {
				t.Errorf("%s survey (agent %q): an empty subject shows: %q\n%s", lang, agent, m.Subject, m.Text)
			}
			if agent != "" && !strings.Contains(m.Text, "Bo") {
				t.Errorf("%s survey: the agent is gone:\n%s", lang, m.Text)
			}
		}
		c, err := CheckInEmail("a@example.com", "Ada", lang, "", "https://fb.test", "TOK", "https://fb.test/u/U", closeloop.Brand{})
		if err != nil {
			t.Fatal(err)
		}
		if empty.MatchString(c.Subject) || strings.HasSuffix(c.Subject, " ") {
			t.Errorf("%s check-in: %q", lang, c.Subject)
		}
	}
	// With a subject, it is there.
	if m, _ := SurveyEmail("a@example.com", Survey{TicketSubject: "Printer", AgentName: "Bo", Kind: closeloop.CSAT, BaseURL: "https://fb.test", Token: "T", UnsubscribeToken: "U"}); m.Subject != "How did we do? (Printer)" || !strings.Contains(m.Text, "Your request “Printer” was solved by Bo.") {
		t.Errorf("with a subject: %q\n%s", m.Subject, m.Text)
	}
}

// TestLineBreaksSurviveInHTML: a line break inside a paragraph of an
// operator's reply, an announcement or a quoted comment is a line break in
// the HTML part too, as it is in the text part (a signature ran into the
// last sentence).
func TestLineBreaksSurviveInHTML(t *testing.T) {
	brand := closeloop.Brand{}
	var all []Message
	for _, m := range []func() (Message, error){
		func() (Message, error) {
			return ReplyEmail("a@example.com", "team@acme.example", "de", "Re: Drucker", "Danke für die Geduld.\nViele Grüße\nAnna", brand)
		},
		func() (Message, error) {
			return ClosingEmail("a@example.com", Closing{Quote: "Export slow.\nViele Grüße\nAnna", Summary: "S", Detail: "Para one.\nViele Grüße\nAnna"})
		},
		func() (Message, error) {
			return AckEmail("a@example.com", "Ada", "de", "Export slow.\nViele Grüße\nAnna", "https://fb.test/u/U", brand)
		},
	} {
		msg, err := m()
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, msg)
	}
	for _, m := range all {
		if !strings.Contains(m.HTML, "Viele Grüße<br>Anna") {
			t.Errorf("%q: the line break is lost in HTML:\n%s", m.Subject, m.HTML)
		}
	}
}

// TestReplyWithoutASubjectSpeaksTheCustomersLanguage: an operator's reply
// about a ticket without a subject is titled in the customer's language.
func TestReplyWithoutASubjectSpeaksTheCustomersLanguage(t *testing.T) {
	m, err := ReplyEmail("a@example.com", "team@acme.example", "de", "", "Hallo", closeloop.Brand{})
	if err != nil || m.Subject != "Zu Ihrer Anfrage" {
		t.Errorf("subject %q, %v; want Zu Ihrer Anfrage", m.Subject, err)
	}
	if m, _ := ReplyEmail("a@example.com", "team@acme.example", "de", "Re: Drucker", "Hallo", closeloop.Brand{}); m.Subject != "Re: Drucker" {
		t.Errorf("subject %q, want Re: Drucker", m.Subject)
	}
}
