package mail

import (
	"fmt"
	"strings"
	"testing"

	"github.com/closeloop/closeloop/shared/closeloop"
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
