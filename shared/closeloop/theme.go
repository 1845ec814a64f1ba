package closeloop

import (
	"strings"
	"time"
)

// Theme is a named group of feedback, with keywords that tag new comments.
type Theme struct {
	Name      string    `json:"name"`
	Keywords  []string  `json:"keywords"`
	CreatedAt time.Time `json:"created_at"`
}

// ValidateThemeName checks that name is a theme name: 1 to 64 lower-case
// letters, digits, '-' or '_', starting with a letter or digit. Its error
// wraps ErrInvalid.
func ValidateThemeName(name string) error {
	ok := len(name) >= 1 && len(name) <= 64 && name[0] != '-' && name[0] != '_'
	for i := 0; ok && i < len(name); i++ {
		c := name[i]
		ok = c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
	}
	if !ok {
		return Errorf(ErrInvalid, "theme name %q must be 1 to 64 lower-case letters, digits, '-' or '_'", name)
	}
	return nil
}

// NewTheme validates and returns a theme.
func NewTheme(name string, keywords []string, now time.Time) (Theme, error) {
	if err := ValidateThemeName(name); err != nil {
		return Theme{}, err
	}
	var kw []string
	for _, k := range keywords {
		if k = strings.TrimSpace(k); k != "" {
			kw = append(kw, k)
		}
	}
	if len(kw) > 50 {
		return Theme{}, Errorf(ErrInvalid, "at most 50 keywords")
	}
	return Theme{Name: name, Keywords: kw, CreatedAt: now}, nil
}

// Improvement is what a team changed about a theme, announced to everyone who
// raised it.
type Improvement struct {
	ID        string    `json:"id"`
	Theme     string    `json:"theme"`
	Summary   string    `json:"summary"`
	Message   string    `json:"message"`
	CreatedAt time.Time `json:"created_at"`
	Progress
}

// Progress counts an improvement's "you said, we did" emails. Recipients are
// distinct contacts; each ends up in exactly one of Sent, Failed and
// Suppressed once the fan-out is done.
type Progress struct {
	Recipients int64 `json:"recipients"`
	Sent       int64 `json:"sent"`
	Failed     int64 `json:"failed"`
	Suppressed int64 `json:"suppressed"`
}

// NewImprovement validates and returns an improvement with a new id.
func NewImprovement(theme, summary, message string, now time.Time) (Improvement, error) {
	summary, message = strings.TrimSpace(summary), strings.TrimSpace(message)
	if err := ValidateThemeName(theme); err != nil {
		return Improvement{}, err
	}
	switch {
	case summary == "":
		return Improvement{}, Errorf(ErrInvalid, "summary is required")
	case len(summary) > 200:
		return Improvement{}, Errorf(ErrInvalid, "summary is longer than 200 bytes")
	case message == "":
		return Improvement{}, Errorf(ErrInvalid, "message is required")
	case len(message) > 5000:
		return Improvement{}, Errorf(ErrInvalid, "message is longer than 5000 bytes")
	}
	return Improvement{ID: NewID(), Theme: theme, Summary: summary, Message: message, CreatedAt: now}, nil
}

// ThemeMember is one response carrying a theme: the survey to quote and the
// contact to tell.
type ThemeMember struct {
	SurveyID  string
	ContactID string
}

// ClosingState is where one person's "you said, we did" email of one
// improvement is.
type ClosingState string

// Closing delivery states, per improvement and contact.
const (
	ClosingClaimed    ClosingState = "claimed"    // a closing job owns this person's email
	ClosingSent       ClosingState = "sent"       // SES accepted it
	ClosingFailed     ClosingState = "failed"     // SES refused it, or the job died after claiming
	ClosingSuppressed ClosingState = "suppressed" // the person may not be mailed
)
