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
	"hash"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/closeloop/closeloop/shared/closeloop"
)

// ReplayWindow is how far a signed timestamp may be from now, either way.
const ReplayWindow = 5 * time.Minute

// Receiver verifies and parses one source's deliveries.
type Receiver interface {
	// Verify checks the delivery's authentication over the raw body at now.
	// Its error wraps closeloop.ErrUnauthorized.
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
//
// The sources are closeloop.Sources; each has a receiver here (a test holds
// the two together).
func New(source, secret string) (r Receiver, ok bool) {
	if !closeloop.KnownSource(source) {
		return nil, false
	}
	if secret == "" {
		return unconfigured(source), true
	}
	s := []byte(secret)
	switch source {
	case "generic":
		return Generic{Secret: s}, true
	case "zendesk":
		return Zendesk{Secret: s}, true
	case "freshdesk":
		return Freshdesk{Secret: s}, true
	case "intercom":
		return Intercom{Secret: s}, true
	case "hubspot":
		return HubSpot{Secret: s}, true
	case "helpscout":
		return HelpScout{Secret: s}, true
	case "jira":
		return Jira{Secret: s}, true
	case "front":
		return Front{Secret: s}, true
	case "gorgias":
		return Gorgias{Secret: s}, true
	case "zammad":
		return Zammad{Secret: s}, true
	}
	panic("helpdesk: no receiver for source " + source) // a test keeps this unreachable
}

type unconfigured string

func (u unconfigured) Verify(http.Header, []byte, time.Time) error {
	return closeloop.Errorf(closeloop.ErrUnauthorized, "no secret is configured for %s (set CLOSELOOP_SECRET_%s)", string(u), strings.ToUpper(string(u)))
}

func (u unconfigured) Parse(http.Header, []byte, time.Time) ([]closeloop.TicketEvent, error) {
	return nil, closeloop.Errorf(closeloop.ErrInvalid, "%s is not configured", string(u))
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
		return closeloop.Errorf(closeloop.ErrUnauthorized, "timestamp header is missing")
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return closeloop.Errorf(closeloop.ErrUnauthorized, "timestamp is not unix seconds")
	}
	return checkTime(time.Unix(n, 0), now)
}

func checkTime(t, now time.Time) error {
	if d := now.Sub(t); d > ReplayWindow || d < -ReplayWindow {
		return closeloop.Errorf(closeloop.ErrUnauthorized, "timestamp is outside the %s replay window", ReplayWindow)
	}
	return nil
}

func invalid(format string, args ...any) error {
	return closeloop.Errorf(closeloop.ErrInvalid, format, args...)
}
