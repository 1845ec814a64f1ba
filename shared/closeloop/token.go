package closeloop

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
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
