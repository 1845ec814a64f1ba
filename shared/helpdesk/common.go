package helpdesk

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/closeloop/closeloop/shared/closeloop"
)

// checkHex checks header value got (with prefix, e.g. "sha1=") against the
// hex HMAC of parts.
func checkHex(name, got, prefix string, newHash func() hash.Hash, key []byte, parts ...[]byte) error {
	v, ok := strings.CutPrefix(got, prefix)
	if !ok || v == "" {
		return closeloop.Errorf(closeloop.ErrUnauthorized, "%s is missing or not %s<hex>", name, prefix)
	}
	b, err := hex.DecodeString(v)
	if err != nil || !hmac.Equal(b, mac(newHash, key, parts...)) {
		return closeloop.Errorf(closeloop.ErrUnauthorized, "%s does not match", name)
	}
	return nil
}

// checkBase64 checks header value got against the base64 HMAC of parts.
func checkBase64(name, got string, newHash func() hash.Hash, key []byte, parts ...[]byte) error {
	if got == "" {
		return closeloop.Errorf(closeloop.ErrUnauthorized, "%s is missing", name)
	}
	b, err := base64.StdEncoding.DecodeString(got)
	if err != nil || !hmac.Equal(b, mac(newHash, key, parts...)) {
		return closeloop.Errorf(closeloop.ErrUnauthorized, "%s does not match", name)
	}
	return nil
}

// checkToken accepts secret as the Basic-auth password (any user) or in
// X-Closeloop-Token, for helpdesks that cannot sign.
func checkToken(h http.Header, secret []byte) error {
	var got string
	if t := h.Get("X-Closeloop-Token"); t != "" {
		got = t
	} else if _, p, ok := (&http.Request{Header: h}).BasicAuth(); ok {
		got = p // any user name: Freshdesk requires one
	}
	if got == "" {
		return closeloop.Errorf(closeloop.ErrUnauthorized, "send the secret as the Basic-auth password or in X-Closeloop-Token")
	}
	if subtle.ConstantTimeCompare([]byte(got), secret) != 1 {
		return closeloop.Errorf(closeloop.ErrUnauthorized, "the shared secret does not match")
	}
	return nil
}

// tokenHeaders is what a sender of token-authenticated webhooks sends.
func tokenHeaders(secret []byte) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("X-Closeloop-Token", string(secret))
	return h
}

// checkMillis parses a unix-milliseconds timestamp and checks the window.
func checkMillis(name, v string, now time.Time) error {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return closeloop.Errorf(closeloop.ErrUnauthorized, "%s is missing or not unix milliseconds", name)
	}
	return checkTime(time.UnixMilli(n), now)
}

// flexString reads a JSON string or number as a string: helpdesks send ids
// both ways.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*f = flexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("want a string or a number, got %s", b)
	}
	*f = flexString(n.String())
	return nil
}

// parseTime reads the time formats helpdesks use: RFC 3339 (with or
// without fraction), or unix seconds or milliseconds as a number. The zero
// time means absent or unreadable.
func parseTime(v string) time.Time {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000-0700", "2006-01-02T15:04:05-0700", "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t
		}
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil && f > 0 {
		if f > 1e12 {
			return time.UnixMilli(int64(f))
		}
		sec := int64(f)
		return time.Unix(sec, int64((f-float64(sec))*1e9))
	}
	return time.Time{}
}

// orNow returns t, or now when t is zero.
func orNow(t, now time.Time) time.Time {
	if t.IsZero() {
		return now
	}
	return t
}

// joinName joins first and last names.
func joinName(parts ...string) string {
	return strings.TrimSpace(strings.Join(parts, " "))
}

// done validates ev and returns it as the delivery's one event.
func done(ev closeloop.TicketEvent, now time.Time) ([]closeloop.TicketEvent, error) {
	if err := ev.Validate(now); err != nil {
		return nil, err
	}
	return []closeloop.TicketEvent{ev}, nil
}

// bodyKey names a delivery by its body, for vendors that send neither a
// delivery id nor a timestamp: a retry resends the same bytes, so it gets
// the same key. (A later delivery with the very same bytes is then taken
// for a retry too; with no timestamp nothing tells them apart.)
func bodyKey(body []byte) string {
	sum := sha256.Sum256(body)
	return "body-" + hex.EncodeToString(sum[:12])
}
