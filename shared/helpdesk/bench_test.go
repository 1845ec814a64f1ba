package helpdesk_test

import (
	"testing"
	"time"

	"github.com/closeloop/closeloop/shared/helpdesk"
)

// BenchmarkVerifyAndParse measures one delivery's verification and parsing,
// the webhook's hot path before storage.
func BenchmarkVerifyAndParse(b *testing.B) {
	for _, source := range []string{"generic", "zendesk", "intercom", "jira"} {
		b.Run(source, func(b *testing.B) {
			h, body := sampleB(b, source+"-solved.json")
			now := time.Now()
			headers, _ := helpdesk.Resign(source, secret, "https://hooks.acme.example/webhooks/"+source, flat(h), body, now)
			for k, v := range headers {
				h.Set(k, v)
			}
			rc, _ := helpdesk.New(source, secret)
			b.ReportAllocs()
			for b.Loop() {
				if err := rc.Verify(h, body, now); err != nil {
					b.Fatal(err)
				}
				if _, err := rc.Parse(h, body, now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
