package closeloop

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"sync"
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

// NewID returns a random 128-bit id in hex from crypto/rand: unguessable,
// though not treated as a secret (it may appear in logs and addresses).
func NewID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// UnsubscribeLinkTTL is how long an unsubscribe link works: well beyond
// any mail client's memory of an email, like the link items it replaced.
const UnsubscribeLinkTTL = 400 * 24 * time.Hour

// linkKey is the Ed25519 key unsubscribe links are signed with, derived
// from k: the functions that hold the contact key sign, and the survey
// page checks with the public half alone (LinkSigner publishes it in the
// table), so the public function holds no secret.
func (k ContactKey) linkKey() (ed25519.PrivateKey, error) {
	if len(k) < MinContactKeyLen {
		return nil, ErrNoContactKey
	}
	m := hmac.New(sha256.New, k)
	m.Write([]byte("closeloop unsubscribe link v1"))
	return ed25519.NewKeyFromSeed(m.Sum(nil)), nil
}

// LinkPublicKey is the public key that checks k's unsubscribe links.
func (k ContactKey) LinkPublicKey() (ed25519.PublicKey, error) {
	priv, err := k.linkKey()
	if err != nil {
		return nil, err
	}
	return priv.Public().(ed25519.PublicKey), nil
}

// UnsubscribeToken returns the token of a link that unsubscribes contact
// contactID until expires. It is signed, not stored: the contact id, the
// expiry and an Ed25519 signature under a key derived from k, so writing
// an email costs no link item, reading the table gives nobody a working
// link, and checking one needs no secret.
func (k ContactKey) UnsubscribeToken(contactID string, expires time.Time) (string, error) {
	priv, err := k.linkKey()
	if err != nil {
		return "", err
	}
	if !IsHexID(contactID) {
		return "", Errorf(ErrInvalid, "contact id %q is not an id", contactID)
	}
	exp := strconv.FormatInt(expires.Unix(), 36)
	sig := ed25519.Sign(priv, linkMessage(contactID, exp))
	return contactID + "." + exp + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// UnsubscribeContact returns the contact a signed unsubscribe token names,
// checked with public key pub, or an error wrapping ErrNotFound when the
// token is malformed, forged or expired at now.
func UnsubscribeContact(pub ed25519.PublicKey, token string, now time.Time) (string, error) {
	id, rest, ok := strings.Cut(token, ".")
	exp, sig64, ok2 := strings.Cut(rest, ".")
	sig, err := base64.RawURLEncoding.DecodeString(sig64)
	if !ok || !ok2 || !IsHexID(id) || err != nil || len(sig) != ed25519.SignatureSize || len(pub) != ed25519.PublicKeySize {
		return "", Errorf(ErrNotFound, "malformed unsubscribe token")
	}
	if !ed25519.Verify(pub, linkMessage(id, exp), sig) {
		return "", Errorf(ErrNotFound, "unsubscribe token does not verify")
	}
	if t, err := strconv.ParseInt(exp, 36, 64); err != nil || now.After(time.Unix(t, 0)) {
		return "", Errorf(ErrNotFound, "unsubscribe token expired")
	}
	return id, nil
}

func linkMessage(contactID, exp string) []byte {
	return []byte("closeloop unsubscribe link v1|" + contactID + "|" + exp)
}

// IsSignedToken reports whether a link token has the shape of a signed
// unsubscribe token (UnsubscribeToken), rather than a random one (NewToken).
func IsSignedToken(s string) bool { return strings.Count(s, ".") == 2 }

// LinkSigner makes the unsubscribe links of one function's emails, and
// publishes, once per instance, the public key the survey page checks
// them with, before the first link that needs it.
type LinkSigner struct {
	Key     ContactKey
	Publish func(ctx context.Context, pub ed25519.PublicKey) error

	mu        sync.Mutex
	published bool
}

// Ensure publishes the public key unless this signer has already.
func (s *LinkSigner) Ensure(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.published {
		return nil
	}
	pub, err := s.Key.LinkPublicKey()
	if err != nil {
		return err
	}
	if err := s.Publish(ctx, pub); err != nil {
		return fmt.Errorf("publish the unsubscribe link key: %w", err)
	}
	s.published = true
	return nil
}

// Link returns the token of the unsubscribe link for contact contactID,
// whose address is email: signed for a contact under their keyed id; for
// one still under the unkeyed id of releases before keyed ids, a random
// token whose link store keeps (store(linkID)), since the migration to
// keyed ids moves stored links and would leave a signed one naming an id
// that is gone.
func (s *LinkSigner) Link(ctx context.Context, contactID, email string, now time.Time, store func(linkID string) error) (string, error) {
	if id, err := s.Key.ID(email); err != nil || id != contactID {
		token, linkID := NewToken()
		return token, store(linkID)
	}
	if err := s.Ensure(ctx); err != nil {
		return "", err
	}
	return s.Key.UnsubscribeToken(contactID, now.Add(UnsubscribeLinkTTL))
}

// IsHexID reports whether s is an id as ContactKey.ID and NewID make
// them: 32 lower-case hex digits.
func IsHexID(s string) bool {
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
