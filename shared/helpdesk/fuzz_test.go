package helpdesk_test

import (
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/helpdesk"
)

// FuzzParse feeds every source's parser arbitrary bodies, seeded with the
// sample events: no panic, an error is always a 400 with a reason, and an
// event it returns is one the domain accepts.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "events", "*.json"))
	for _, file := range files {
		source, _, _ := strings.Cut(filepath.Base(file), "-")
		for i, s := range closeloop.Sources {
			if s == source {
				_, body := sampleB(f, filepath.Base(file))
				f.Add(uint8(i), body)
			}
		}
	}
	now := time.Date(2026, 11, 24, 10, 1, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, src uint8, body []byte) {
		source := closeloop.Sources[int(src)%len(closeloop.Sources)]
		rc, _ := helpdesk.New(source, "secret")
		h := http.Header{}
		h.Set("Content-Type", "application/json")
		_ = rc.Verify(h, body, now) // must not panic on anything
		evs, err := rc.Parse(h, body, now)
		if err != nil {
			if !errors.Is(err, closeloop.ErrInvalid) {
				t.Fatalf("%s: error %v is not a 400", source, err)
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
