package closeloop

import (
	"slices"
	"strings"
	"time"
)

// SurveyTTL is how long a survey link accepts answers.
const SurveyTTL = 30 * 24 * time.Hour

// Survey is one survey that went out, and the one response to it. The
// response's id is the survey's id: one response per survey, revised in
// place by a later answer.
type Survey struct {
	ID         string
	Source     string
	TicketID   string
	ContactID  string
	Kind       Kind
	Locale     string
	Subject    string
	AgentName  string
	AgentEmail string // the solving agent's address, if known
	SentAt     time.Time
	ExpiresAt  time.Time

	// The response, once there is one.
	Rating      *int
	Comment     string
	Themes      []string
	RespondedAt time.Time // first answer
	RevisedAt   time.Time // last answer
	// DetractorAt is the first detractor answer's time, kept when the answer
	// is revised upward: that answer opened a follow-up case. Surveys
	// answered before the 2026-11-26 release leave it zero.
	DetractorAt time.Time
}

// WasDetractor reports whether the response is, or was before a revision, a
// detractor's: one that opened a follow-up case.
func (s Survey) WasDetractor() bool {
	return !s.DetractorAt.IsZero() || s.Rating != nil && s.Kind.Detractor(*s.Rating)
}

// Expired reports whether the survey's link no longer takes answers at now.
func (s Survey) Expired(now time.Time) bool { return !s.ExpiresAt.IsZero() && now.After(s.ExpiresAt) }

// Erased reports whether the survey's person was erased: the survey keeps
// only its anonymous rating and takes no answer any more.
func (s Survey) Erased() bool { return s.ContactID == "" }

// MaxComment is the longest comment kept, in characters: the survey page's
// box takes as many (a comment in Japanese or with emoji takes 3 or 4 bytes
// a character, up to 20,000 bytes in all).
const MaxComment = 5000

// CleanComment drops invalid UTF-8 from c, trims it, and cuts it to
// MaxComment characters.
func CleanComment(c string) string {
	return strings.TrimSpace(cutRunes(strings.TrimSpace(strings.ToValidUTF8(c, "")), MaxComment))
}

// Lines splits text at its line breaks (\n or \r\n), for pages and emails
// that show each break as one.
func Lines(text string) []string {
	return strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
}

// cutRunes returns the first n characters of valid UTF-8 s.
func cutRunes(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}

// MatchThemes returns the names of the themes whose keywords occur in
// comment, case-insensitively, in the order of themes.
func MatchThemes(comment string, themes []Theme) []string {
	c := strings.ToLower(comment)
	var out []string
	for _, t := range themes {
		for _, k := range t.Keywords {
			if k = strings.ToLower(strings.TrimSpace(k)); k != "" && strings.Contains(c, k) {
				out = append(out, t.Name)
				break
			}
		}
	}
	return out
}

// ResponseFilter narrows a listing of responses. Zero fields do not
// narrow.
type ResponseFilter struct {
	From, To   time.Time // days, inclusive, UTC
	Theme      string    // only responses with this theme
	Source     string    // only responses from this helpdesk
	Kind       Kind      // only this survey kind
	Band       Band      // only detractors, passives or promoters
	Agent      string    // only tickets solved by this agent (name or address, any case)
	Locale     string    // only this language (prefix of the locale, e.g. "de")
	HasComment bool      // only responses with a comment
	Query      string    // only comments containing this text (any case)
	Limit      int       // at most this many; 0 for no limit
	Cursor     string    // continue after a previous page (its next cursor)
	Newest     bool      // newest first (oldest first otherwise)
}

// Match reports whether answered survey sv passes every narrowing field of
// f except the date range, which the store reads by.
func (f ResponseFilter) Match(sv Survey) bool {
	switch {
	case sv.Rating == nil:
		return false
	case f.Source != "" && sv.Source != f.Source:
		return false
	case f.Theme != "" && !slices.Contains(sv.Themes, f.Theme):
		return false
	case f.Kind != "" && sv.Kind != f.Kind:
		return false
	case f.Band != "" && sv.Kind.Band(*sv.Rating) != f.Band:
		return false
	case f.Agent != "" && !strings.EqualFold(sv.AgentName, f.Agent) && !strings.EqualFold(sv.AgentEmail, f.Agent):
		return false
	case f.Locale != "" && !strings.HasPrefix(strings.ToLower(sv.Locale), strings.ToLower(f.Locale)):
		return false
	case f.HasComment && sv.Comment == "":
		return false
	case f.Query != "" && !strings.Contains(strings.ToLower(sv.Comment), strings.ToLower(f.Query)):
		return false
	}
	return true
}
