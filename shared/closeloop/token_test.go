package closeloop_test

import (
	"crypto/ed25519"
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
	pub, _ := k.LinkPublicKey()
	otherPub, _ := other.LinkPublicKey()
	if got, err := closeloop.UnsubscribeContact(pub, tok, now); err != nil || got != cid {
		t.Fatalf("UnsubscribeContact = %q, %v; want %q", got, err, cid)
	}
	other2, _ := k.ID("bob@example.com")
	forged := other2 + tok[len(cid):] // another person's id under Ada's signature
	mid := len(tok) - 20              // inside the signature, not its last character's padding bits
	flipped := tok[:mid] + map[bool]string{true: "A", false: "B"}[tok[mid] != 'A'] + tok[mid+1:]
	for name, c := range map[string]struct {
		key ed25519.PublicKey
		tok string
		at  time.Time
	}{
		"another key":          {otherPub, tok, now},
		"another contact":      {pub, forged, now},
		"a changed signature":  {pub, flipped, now},
		"expired":              {pub, tok, now.Add(closeloop.UnsubscribeLinkTTL + time.Second)},
		"a random token":       {pub, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", now},
		"no parts":             {pub, "..", now},
		"a longer expiry":      {pub, strings.Replace(tok, ".", ".z", 1), now},
		"no key":               {nil, tok, now},
		"upper-case id":        {pub, strings.ToUpper(tok[:32]) + tok[32:], now},
		"an id of other shape": {pub, "x" + tok[1:], now},
		"a short signature":    {pub, tok[:len(tok)-4], now},
	} {
		if got, err := closeloop.UnsubscribeContact(c.key, c.tok, c.at); !errors.Is(err, closeloop.ErrNotFound) {
			t.Errorf("%s: UnsubscribeContact = %q, %v; want ErrNotFound", name, got, err)
		}
	}
	if pub2, _ := k.LinkPublicKey(); !pub2.Equal(pub) {
		t.Error("the public key is not the same for the same contact key")
	}
	if _, err := closeloop.ContactKey(nil).UnsubscribeToken(cid, now); !errors.Is(err, closeloop.ErrNoContactKey) {
		t.Errorf("no key: %v", err)
	}
	if _, err := k.UnsubscribeToken("ada@example.com", now); err == nil {
		t.Error("an address took the place of a contact id")
	}
}
