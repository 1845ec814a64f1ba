package closeloop

import (
	"cmp"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
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
	Audience
	// Locale is the language of Summary and Message ("en" by default).
	Locale string `json:"locale"`
	// Translations holds the operator's text in other languages, by
	// language ("de"). A customer whose language has none gets the whole
	// email in Locale: never half in one language and half in another.
	Translations map[string]Text `json:"translations,omitempty"`
	// Link is an optional https page to read more, in every language.
	Link string `json:"link,omitempty"`
	Progress
}

// Text is an improvement's summary and message in one language.
type Text struct {
	Summary string `json:"summary"`
	Message string `json:"message"`
}

// Preview is one language's text of a draft improvement, with its link, as
// the console's preview frame shows it. The console keeps it for a day under
// a random id (PreviewFor), so that the frame's address stays short: API
// Gateway refuses a request whose request line and headers pass 10,240
// bytes, and a message may be 5,000 characters.
type Preview struct {
	Text
	Locale string // the translation's language; empty for the draft's own
	Link   string
}

// PreviewFor is how long a stored preview can be shown.
const PreviewFor = 24 * time.Hour

// Audience limits who hears about an improvement.
type Audience struct {
	OnlyDetractors bool `json:"only_detractors,omitempty"` // only those whose answer was unhappy
	SinceDays      int  `json:"since_days,omitempty"`      // only answers of the last N days; 0 for all
}

// Includes reports whether answered survey sv is in the audience at now.
func (a Audience) Includes(sv Survey, now time.Time) bool {
	if a.OnlyDetractors && (sv.Rating == nil || !sv.Kind.Detractor(*sv.Rating)) {
		return false
	}
	return a.SinceDays <= 0 || !sv.RespondedAt.Before(now.AddDate(0, 0, -a.SinceDays))
}

// PrimaryLanguage is the lower-case language code of locale: "de" for
// "de", "de-AT", "DE_at", and for a language's name in English or in itself
// ("German", "Deutsch", "Portuguese (Brazil)"), as some helpdesks'
// placeholders give it, for the languages Closeloop speaks.
func PrimaryLanguage(locale string) string {
	l := strings.ToLower(strings.TrimSpace(locale))
	if i := strings.IndexAny(l, "-_ ("); i >= 0 {
		l = l[:i]
	}
	if code, ok := languageNames[l]; ok {
		return code
	}
	return l
}

// languageNames are the languages Closeloop speaks by their names, in
// English and in themselves, lower-case.
var languageNames = map[string]string{
	"english": "en", "german": "de", "deutsch": "de", "french": "fr", "français": "fr", "francais": "fr",
	"spanish": "es", "español": "es", "espanol": "es", "portuguese": "pt", "português": "pt", "portugues": "pt",
	"italian": "it", "italiano": "it", "dutch": "nl", "nederlands": "nl", "japanese": "ja", "日本語": "ja",
}

// TextFor returns the text and the language to write to a customer of
// locale: their language's translation when there is one, else the
// improvement's own language.
func (im Improvement) TextFor(locale string) (Text, string) {
	lang := PrimaryLanguage(locale)
	if t, ok := im.Translations[lang]; ok && lang != "" {
		return t, lang
	}
	return Text{Summary: im.Summary, Message: im.Message}, cmp.Or(im.Locale, "en")
}

// validText checks one language's text.
func validText(t Text) error {
	switch {
	case t.Summary == "":
		return Errorf(ErrInvalid, "summary is required")
	case utf8.RuneCountInString(t.Summary) > MaxSummary:
		return Errorf(ErrInvalid, "summary is longer than %d characters", MaxSummary)
	case t.Message == "":
		return Errorf(ErrInvalid, "message is required")
	}
	return ValidOperatorText("message", t.Message)
}

// MaxSummary is the longest summary of an improvement, in characters (the
// console's field allows as many, counting a character outside the Basic
// Multilingual Plane, such as an emoji, twice).
const MaxSummary = 200

// MaxImprovementText is the most an improvement's summaries and messages,
// its translations included, may take together, in bytes: it is one
// DynamoDB item, of 400 KB at most, and a message of 5,000 characters may
// take 20 KB.
const MaxImprovementText = 256 << 10

// WithLink returns im with link to read more: an absolute https URL (http
// only for local hosts), or empty.
func (im Improvement) WithLink(link string) (Improvement, error) {
	link = strings.TrimSpace(link)
	if link != "" {
		u, err := url.Parse(link)
		local := u != nil && (u.Hostname() == "localhost" || u.Hostname() == "127.0.0.1")
		if err != nil || u.Host == "" || !(u.Scheme == "https" || u.Scheme == "http" && local) || len(link) > 2000 {
			return im, Errorf(ErrInvalid, "link must be an https URL")
		}
	}
	im.Link = link
	return im, nil
}

// WithTexts returns im in language locale with translations, and audience
// a, validated.
func (im Improvement) WithTexts(locale string, translations map[string]Text, a Audience) (Improvement, error) {
	im.Locale = cmp.Or(strings.ToLower(strings.TrimSpace(locale)), "en")
	if len(im.Locale) > 8 {
		return im, Errorf(ErrInvalid, "locale %q is not a language such as en or de", locale)
	}
	if len(translations) > 20 {
		return im, Errorf(ErrInvalid, "at most 20 translations")
	}
	im.Translations = map[string]Text{}
	for lang, t := range translations {
		lang = strings.ToLower(strings.TrimSpace(lang))
		t = Text{Summary: strings.TrimSpace(t.Summary), Message: strings.TrimSpace(t.Message)}
		if len(lang) < 2 || len(lang) > 8 {
			return im, Errorf(ErrInvalid, "translation language %q is not a language such as de", lang)
		}
		if err := validText(t); err != nil {
			return im, Errorf(ErrInvalid, "translation %s: %v", lang, err)
		}
		im.Translations[lang] = t
	}
	size := len(im.Summary) + len(im.Message)
	for _, t := range im.Translations {
		size += len(t.Summary) + len(t.Message)
	}
	if size > MaxImprovementText {
		return im, Errorf(ErrInvalid, "the summary and message with their translations take %d KB, more than the %d KB one improvement holds: shorten them or send fewer translations", (size+1023)>>10, MaxImprovementText>>10)
	}
	if a.SinceDays < 0 || a.SinceDays > 3660 {
		return im, Errorf(ErrInvalid, "since_days must be from 0 to 3660")
	}
	im.Audience = a
	return im, nil
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

// Add returns p with d added.
func (p Progress) Add(d Progress) Progress {
	return Progress{Recipients: p.Recipients + d.Recipients, Sent: p.Sent + d.Sent, Failed: p.Failed + d.Failed, Suppressed: p.Suppressed + d.Suppressed}
}

// NewImprovement validates and returns an improvement with a new id.
func NewImprovement(theme, summary, message string, now time.Time) (Improvement, error) {
	summary, message = strings.TrimSpace(summary), strings.TrimSpace(message)
	if err := ValidateThemeName(theme); err != nil {
		return Improvement{}, err
	}
	if err := validText(Text{Summary: summary, Message: message}); err != nil {
		return Improvement{}, err
	}
	return Improvement{ID: NewID(), Theme: theme, Summary: summary, Message: message, CreatedAt: now, Locale: "en"}, nil
}

// ThemeMember is one response carrying a theme: the survey to quote and the
// contact to tell.
type ThemeMember struct {
	SurveyID    string
	ContactID   string
	RespondedAt time.Time // zero for links stored before it was recorded
}

// ClosingClaim is the claim of one person's "you said, we did" email of
// one improvement: which response it quotes, which batch of the fan-out
// claimed it (and counts it), and since when.
type ClosingClaim struct {
	SurveyID  string
	Batch     string // "" for claims made before batches were counted on their own
	Adopted   bool   // an older release's claim a batch took over: that release counted the recipient
	State     ClosingState
	ClaimedAt time.Time
}

// ClosingBatch is everything one batch of a fan-out reads before it sends,
// in one request: the improvement, the responses to quote, their people,
// the claims already made on them and the outcomes already recorded.
type ClosingBatch struct {
	Improvement Improvement
	Surveys     map[string]Survey       // by survey id; an erased survey has no ContactID
	Outcomes    map[string]ClosingState // by survey id: this improvement's recorded email, if any
	Contacts    map[string]Contact      // by contact id
	Claims      map[string]ClosingClaim // by contact id
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

// UniqueThemes returns names without repeats or empty names, in their
// first order: a theme is named once on a response (DynamoDB refuses a set
// with repeats, and a repeat would be counted twice).
func UniqueThemes(names []string) []string {
	var out []string
	for _, n := range names {
		if n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}
