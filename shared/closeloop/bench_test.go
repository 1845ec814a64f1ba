package closeloop

import "testing"

func BenchmarkNewToken(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		NewToken()
	}
}

// BenchmarkCheckToken is what every survey link costs before any read.
func BenchmarkCheckToken(b *testing.B) {
	tok, _ := NewToken()
	b.ReportAllocs()
	for b.Loop() {
		if CheckToken(tok) != nil {
			b.Fatal("refused")
		}
		SurveyIDOf(tok)
	}
}
