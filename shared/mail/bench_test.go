package mail

import (
	"testing"

	"github.com/closeloop/closeloop/shared/closeloop"
)

func BenchmarkSurveyEmail(b *testing.B) {
	tok, _ := closeloop.NewToken()
	s := Survey{Name: "Ada", TicketSubject: "CSV export times out", AgentName: "Sam", Kind: closeloop.NPS, Locale: "de", BaseURL: "https://fb.acme.example", Token: tok, UnsubscribeToken: "unsub"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := SurveyEmail("ada@example.com", s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkClosingEmail(b *testing.B) {
	c := Closing{Name: "Ada", Quote: "Exports are slow", Summary: "Exports are 10x faster", Detail: "We rebuilt exports.\n\nThanks.", UnsubscribeURL: "https://fb.acme.example/u/x"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ClosingEmail("ada@example.com", c); err != nil {
			b.Fatal(err)
		}
	}
}
