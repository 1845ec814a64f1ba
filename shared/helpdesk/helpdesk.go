// Package helpdesk verifies and parses the "ticket solved" webhooks of each
// helpdesk Closeloop supports, turning every vendor's shape into a
// closeloop.TicketEvent.
//
// Each vendor is one Receiver. Verification always runs over the raw body
// bytes and compares in constant time; parsing never trusts a field the
// signature did not cover.
package helpdesk

import (
	"crypto/hmac"
	"fmt"
	"hash"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/closeloop/closeloop/shared/closeloop"
)

// ErrUnauthorized means a delivery's signature or shared secret is missing or
// wrong, or its timestamp is outside the replay window. The webhook answers
// 401 and stores nothing.
var ErrUnauthorized = closeloop.ErrUnauthorized

// ReplayWindow is how far a signed timestamp may be from now, either way.
const ReplayWindow = 5 * time.Minute

// Receiver verifies and parses one source's deliveries.
type Receiver interface {
	// Verify checks the delivery's authentication over the raw body at now.
	// Its error wraps ErrUnauthorized.
	Verify(h http.Header, body []byte, now time.Time) error
	// Parse turns a verified body into the events it carries (usually one;
	// none for a delivery that is not about a ticket, such as a ping). Its
	// error wraps closeloop.ErrInvalid and says what is wrong.
	Parse(h http.Header, body []byte, now time.Time) ([]closeloop.TicketEvent, error)
}

// Challenger is implemented by receivers whose vendor sends a set-up
// handshake. Challenge returns the reply to write and true when the request
// is one.
type Challenger interface {
	Challenge(h http.Header, body []byte) (reply []byte, ok bool)
}

// Signer is implemented by receivers that can sign a body the way their
// vendor does. Tests, `closeloop invoke` and the demo use it to send
// deliveries a receiver accepts.
type Signer interface {
	Sign(body []byte, ts time.Time) http.Header
}

// New returns the Receiver for source, keyed with secret. ok is false for an
// unknown source. A known source with an empty secret gets a receiver that
// refuses every delivery: Closeloop never accepts unsigned webhooks.
func New(source, secret string) (r Receiver, ok bool) {
	mk, ok := receivers[source]
	if !ok {
		return nil, false
	}
	if secret == "" {
		return unconfigured(source), true
	}
	return mk(secret), true
}

// receivers maps each source to its constructor. Vendors register here.
var receivers = map[string]func(secret string) Receiver{
	"generic":   func(s string) Receiver { return Generic{Secret: []byte(s)} },
	"zendesk":   func(s string) Receiver { return Zendesk{Secret: []byte(s)} },
	"freshdesk": func(s string) Receiver { return Freshdesk{Secret: []byte(s)} },
	"intercom":  func(s string) Receiver { return Intercom{Secret: []byte(s)} },
	"hubspot":   func(s string) Receiver { return HubSpot{Secret: []byte(s)} },
	"helpscout": func(s string) Receiver { return HelpScout{Secret: []byte(s)} },
	"jira":      func(s string) Receiver { return Jira{Secret: []byte(s)} },
	"front":     func(s string) Receiver { return Front{Secret: []byte(s)} },
	"gorgias":   func(s string) Receiver { return Gorgias{Secret: []byte(s)} },
	"zammad":    func(s string) Receiver { return Zammad{Secret: []byte(s)} },
}

// Supported reports whether source has a receiver.
func Supported(source string) bool { _, ok := receivers[source]; return ok }

type unconfigured string

func (u unconfigured) Verify(http.Header, []byte, time.Time) error {
	return fmt.Errorf("%w: no secret is configured for %s (set CLOSELOOP_SECRET_%s)", ErrUnauthorized, string(u), strings.ToUpper(string(u)))
}

func (u unconfigured) Parse(http.Header, []byte, time.Time) ([]closeloop.TicketEvent, error) {
	return nil, fmt.Errorf("%w: %s is not configured", closeloop.ErrInvalid, string(u))
}

// mac returns HMAC(newHash, key, parts...).
func mac(newHash func() hash.Hash, key []byte, parts ...[]byte) []byte {
	m := hmac.New(newHash, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// checkUnix parses a unix-seconds timestamp header and checks it is within
// ReplayWindow of now.
func checkUnix(v string, now time.Time) error {
	if v == "" {
		return fmt.Errorf("%w: timestamp header is missing", ErrUnauthorized)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: timestamp is not unix seconds", ErrUnauthorized)
	}
	return checkTime(time.Unix(n, 0), now)
}

func checkTime(t, now time.Time) error {
	if d := now.Sub(t); d > ReplayWindow || d < -ReplayWindow {
		return fmt.Errorf("%w: timestamp is outside the %s replay window", ErrUnauthorized, ReplayWindow)
	}
	return nil
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{closeloop.ErrInvalid}, args...)...)
}
