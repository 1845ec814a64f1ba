package helpdesk_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/helpdesk"
)

// FuzzParse feeds every source's parser arbitrary bodies, seeded with the
// sample events (the email-less shapes included), under the headers of the
// source's sample (Help Scout names its event in a header): no panic, an
// error is always a 400 with a reason, and an event it returns is one the
// domain accepts.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "events", "*.json"))
	headers := map[string]http.Header{}
	for _, file := range files {
		source, _, _ := strings.Cut(filepath.Base(file), "-")
		for i, s := range closeloop.Sources {
			if s == source {
				h, body := sampleB(f, filepath.Base(file))
				f.Add(uint8(i), body)
				if strings.HasSuffix(file, "-solved.json") {
					headers[source] = h
				}
			}
		}
	}
	now := time.Date(2026, 11, 24, 10, 1, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, src uint8, body []byte) {
		source := closeloop.Sources[int(src)%len(closeloop.Sources)]
		rc, _ := helpdesk.New(source, "secret")
		if hs, ok := rc.(helpdesk.HubSpot); ok {
			hs.ClosedStages = []string{"88123456"}
			rc = hs
		}
		h := headers[source].Clone()
		if h == nil {
			h = http.Header{}
		}
		_ = rc.Verify(h, body, now) // must not panic on anything
		evs, err := rc.Parse(h, body, now)
		if err != nil {
			if !errors.Is(err, closeloop.ErrInvalid) || len(err.Error()) < 8 {
				t.Fatalf("%s: error %v is not a 400 with a reason", source, err)
			}
			return
		}
		for _, ev := range evs {
			if err := ev.Validate(now); err != nil {
				t.Fatalf("%s: Parse returned an event Validate refuses: %v", source, err)
			}
		}
	})
}

// FuzzNormalizeEmail: an address it takes is one plain mailbox, lower
// case, and normalising it again changes nothing.
func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{"ada@example.com", `"a,b"@x.com`, "Ada <ada@example.com>", "a@b@c", " X@Y.Z ", "o'brien@example.ie"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := closeloop.NormalizeEmail(s)
		if err != nil {
			return
		}
		if strings.Count(got, "@") != 1 || strings.ContainsAny(got, " \t\r\n\",<>;:()[]") || got != strings.ToLower(got) || len(got) > closeloop.MaxEmail {
			t.Fatalf("NormalizeEmail(%q) = %q", s, got)
		}
		if again, err := closeloop.NormalizeEmail(got); err != nil || again != got {
			t.Fatalf("not idempotent: %q -> %q, %v", got, again, err)
		}
	})
}

// FuzzLookupAnswers: whatever a vendor's API answers with 200, every
// look-up returns without panicking, and an answer it cannot use is a final
// failure with a reason, never one to retry for ever.
func FuzzLookupAnswers(f *testing.F) {
	for _, seed := range []string{
		`{"type":"contact","id":"1","email":"a@example.com","browser_language":"de"}`,
		`{"user":{"email":"a@example.com","locale":"en-US","iana_time_zone":"Europe/Oslo"}}`,
		`{"associations":{"contacts":{"results":[{"id":"901"}]}},"properties":{"email":"a@example.com"}}`,
		`{"accountId":"qm:1","emailAddress":"a@example.com","locale":"nb_NO","timeZone":"Europe/Oslo"}`,
		`{"recipient":{"handle":"+47","_links":{"related":{"contact":"https://x/contacts/crd_1"}}},"handles":[{"handle":"a@example.com","source":"email"}]}`,
		`{"access_token":"t","expires_in":60,"firstName":"J","_embedded":{"emails":[{"value":"a@example.com"}]}}`,
		`[]`, `null`, `{"handles":null}`, `{"_embedded":{"emails":[{}]}}`,
	} {
		f.Add([]byte(seed))
	}
	var answer atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(answer.Load().([]byte))
	}))
	defer srv.Close()
	cfg := closeloop.Config{APIs: map[string]closeloop.VendorAPI{}}
	for _, s := range helpdesk.LookupSources {
		cfg.APIs[s] = closeloop.VendorAPI{URL: srv.URL, Token: "id:secret"}
	}
	lookups := helpdesk.Lookups(cfg, srv.Client())
	f.Fuzz(func(t *testing.T, body []byte) {
		answer.Store(body)
		for src, l := range lookups {
			for _, id := range []string{"1", "cnv_1"} {
				p, err := l.Person(context.Background(), id)
				if errors.Is(err, helpdesk.ErrLookupRetry) {
					t.Fatalf("%s: a 200 answer %q is taken for a failure to retry: %v", src, body, err)
				}
				if err != nil && !strings.Contains(err.Error(), "look up") {
					t.Fatalf("%s: error without a reason: %v", src, err)
				}
				_ = p
			}
		}
	})
}
