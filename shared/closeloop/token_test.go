package closeloop_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/closeloop/closeloop/shared/closeloop"
)

func TestUnsubscribeToken(t *testing.T) {
	k := closeloop.ContactKey("0123456789abcdef0123456789abcdef-key")
	other := closeloop.ContactKey("0123456789abcdef0123456789abcdef-other")
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	cid, _ := k.ID("ada@example.com")
	tok, err := k.UnsubscribeToken(cid, now.Add(closeloop.UnsubscribeLinkTTL))
	if err != nil {
		t.Fatal(err)
	}
	if !closeloop.IsSignedToken(tok) || closeloop.CheckToken(tok) == nil {
		t.Errorf("signed token %q is not told apart from a random one", tok)
	}
	if got, err := k.UnsubscribeContact(tok, now); err != nil || got != cid {
		t.Fatalf("UnsubscribeContact = %q, %v; want %q", got, err, cid)
	}
	other2, _ := k.ID("bob@example.com")
	forged := other2 + tok[len(cid):] // another person's id under Ada's signature
	flipped := tok[:len(tok)-1] + map[bool]string{true: "A", false: "B"}[!strings.HasSuffix(tok, "A")]
	for name, c := range map[string]struct {
		key closeloop.ContactKey
		tok string
		at  time.Time
	}{
		"another key":          {other, tok, now},
		"another contact":      {k, forged, now},
		"a changed MAC":        {k, flipped, now},
		"expired":              {k, tok, now.Add(closeloop.UnsubscribeLinkTTL + time.Second)},
		"a random token":       {k, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", now},
		"no parts":             {k, "..", now},
		"a longer expiry":      {k, strings.Replace(tok, ".", ".z", 1), now},
		"no key":               {nil, tok, now},
		"upper-case id":        {k, strings.ToUpper(tok[:32]) + tok[32:], now},
		"an id of other shape": {k, "x" + tok[1:], now},
	} {
		if got, err := c.key.UnsubscribeContact(c.tok, c.at); !errors.Is(err, closeloop.ErrNotFound) {
			t.Errorf("%s: UnsubscribeContact = %q, %v; want ErrNotFound", name, got, err)
		}
	}
	if _, err := closeloop.ContactKey(nil).UnsubscribeToken(cid, now); !errors.Is(err, closeloop.ErrNoContactKey) {
		t.Errorf("no key: %v", err)
	}
	if _, err := k.UnsubscribeToken("ada@example.com", now); err == nil {
		t.Error("an address took the place of a contact id")
	}
}
