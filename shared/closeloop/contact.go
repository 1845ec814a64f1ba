package closeloop

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// ContactID names a contact without their address: the hex SHA-256 of the
// normalized email, cut to 128 bits. It is stable, so every ticket of one
// person lands on one contact, and one erase finds all of them. It is not a
// secret; logs still carry survey and ticket ids rather than contact ids.
func ContactID(normalizedEmail string) string {
	sum := sha256.Sum256([]byte(normalizedEmail))
	return hex.EncodeToString(sum[:16])
}

// Contact is the one item that holds a person's address.
type Contact struct {
	ID           string
	Email        string
	Name         string
	Locale       string
	Suppressed   string    // why mail must not go out: "unsubscribed", "bounce", "complaint"; empty if it may
	LastSurveyAt time.Time // when the last survey went out
	LastSurveyID string
}

// FatigueOK reports whether c may be sent survey surveyID at now when at most
// one survey per window is allowed. Asking again for the survey that already
// holds the slot is allowed, so a retried send is not throttled by itself.
func (c Contact) FatigueOK(surveyID string, window time.Duration, now time.Time) bool {
	if c.LastSurveyID == surveyID || c.LastSurveyAt.IsZero() {
		return true
	}
	return !now.Before(c.LastSurveyAt.Add(window))
}
