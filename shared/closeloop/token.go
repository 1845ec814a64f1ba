package closeloop

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// tokenBytes is the entropy of a link token: 256 bits, well above the 128
// that makes guessing hopeless.
const tokenBytes = 32

// NewToken returns a fresh random link token, URL-safe, and the survey id it
// belongs to. Only the id is stored; the token lives in the email alone, so
// reading the table does not give anyone a working link.
func NewToken() (token, surveyID string) {
	b := make([]byte, tokenBytes)
	rand.Read(b) // never returns an error; it panics if the OS cannot supply randomness
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, SurveyIDOf(token)
}

// SurveyIDOf returns the survey id a token belongs to: the hex SHA-256 of the
// token, cut to 128 bits. Anyone holding the id cannot work back to the token.
func SurveyIDOf(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:16])
}

// CheckToken returns an error wrapping ErrNotFound if s cannot be a token, so
// that malformed links are refused before any read.
func CheckToken(s string) error {
	if len(s) != base64.RawURLEncoding.EncodedLen(tokenBytes) {
		return Errorf(ErrNotFound, "malformed token")
	}
	if _, err := base64.RawURLEncoding.DecodeString(s); err != nil {
		return Errorf(ErrNotFound, "malformed token")
	}
	return nil
}

// NewID returns a random 128-bit id in hex, for items whose id is not secret.
func NewID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// UnsubscribeLinkTTL is how long an unsubscribe link works: well beyond
// any mail client's memory of an email, like the link items it replaced.
const UnsubscribeLinkTTL = 400 * 24 * time.Hour

// UnsubscribeToken returns the token of a link that unsubscribes contact
// contactID until expires. It is signed, not stored: the contact id, the
// expiry and an HMAC under a key derived from k, so writing an email costs
// no link item, and reading the table gives nobody a working link.
func (k ContactKey) UnsubscribeToken(contactID string, expires time.Time) (string, error) {
	if len(k) < MinContactKeyLen {
		return "", ErrNoContactKey
	}
	if !isHexID(contactID) {
		return "", Errorf(ErrInvalid, "contact id %q is not an id", contactID)
	}
	exp := strconv.FormatInt(expires.Unix(), 36)
	return contactID + "." + exp + "." + k.unsubscribeMAC(contactID, exp), nil
}

// UnsubscribeContact returns the contact a signed unsubscribe token names,
// or an error wrapping ErrNotFound when the token is malformed, forged or
// expired at now.
func (k ContactKey) UnsubscribeContact(token string, now time.Time) (string, error) {
	id, rest, ok := strings.Cut(token, ".")
	exp, mac, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 || !isHexID(id) || len(k) < MinContactKeyLen {
		return "", Errorf(ErrNotFound, "malformed unsubscribe token")
	}
	if !hmac.Equal([]byte(mac), []byte(k.unsubscribeMAC(id, exp))) {
		return "", Errorf(ErrNotFound, "unsubscribe token does not verify")
	}
	if t, err := strconv.ParseInt(exp, 36, 64); err != nil || now.After(time.Unix(t, 0)) {
		return "", Errorf(ErrNotFound, "unsubscribe token expired")
	}
	return id, nil
}

// IsSignedToken reports whether a link token has the shape of a signed
// unsubscribe token (UnsubscribeToken), rather than a random one (NewToken).
func IsSignedToken(s string) bool { return strings.Count(s, ".") == 2 }

func (k ContactKey) unsubscribeMAC(contactID, exp string) string {
	// A key of its own for these links, derived from the contact key, so
	// an unsubscribe MAC is never also a contact id.
	d := hmac.New(sha256.New, k)
	d.Write([]byte("closeloop unsubscribe link v1"))
	m := hmac.New(sha256.New, d.Sum(nil))
	m.Write([]byte(contactID + "." + exp))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

// isHexID reports whether s is an id as ContactKey.ID and NewID make
// them: 32 lower-case hex digits.
func isHexID(s string) bool {
	if len(s) != 32 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// UnsubscribeLink returns the token of the unsubscribe link for contact
// contactID, whose address is email: signed (UnsubscribeToken) for a
// contact under their keyed id; for one still under the unkeyed id of
// releases before keyed ids, a random token whose link store keeps
// (store(linkID)), since the migration to keyed ids moves stored links
// and would leave a signed one naming an id that is gone.
func (k ContactKey) UnsubscribeLink(contactID, email string, now time.Time, store func(linkID string) error) (string, error) {
	if id, err := k.ID(email); err != nil || id != contactID {
		token, linkID := NewToken()
		return token, store(linkID)
	}
	return k.UnsubscribeToken(contactID, now.Add(UnsubscribeLinkTTL))
}
