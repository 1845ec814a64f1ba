package mail

import (
	"bytes"
	"cmp"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"strings"
	"sync"
	texttemplate "text/template"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/i18n"
)

//go:embed templates
var templateFS embed.FS

// The templates are parsed on first use, not at start: a cold start that
// sends nothing (most of the api function's) does not pay for them.
var (
	htmlT = sync.OnceValue(func() *htmltemplate.Template {
		return htmltemplate.Must(htmltemplate.New("").Funcs(htmltemplate.FuncMap{"printf": fmt.Sprintf, "lines": closeloop.Lines, "button": func(url, label, color string) map[string]string {
			return map[string]string{"URL": url, "Label": label, "Color": color}
		}}).ParseFS(templateFS, "templates/*.html"))
	})
	textT = sync.OnceValue(func() *texttemplate.Template {
		return texttemplate.Must(texttemplate.New("").Funcs(texttemplate.FuncMap{"printf": fmt.Sprintf, "dec": func(n int) int { return n - 1 }}).ParseFS(templateFS, "templates/*.txt"))
	})
)

// RatingLink is one one-click rating in a survey email.
type RatingLink struct {
	Rating int
	URL    string
}

// Survey is what a survey email says.
type Survey struct {
	Name          string // the customer's name, may be empty
	TicketSubject string
	AgentName     string // may be empty
	Kind          closeloop.Kind
	Locale        string
	BaseURL       string // public base URL, no trailing slash
	Token         string // the survey's link token
	// UnsubscribeToken is the token of the email's unsubscribe link: never
	// the survey's, since mail providers fetch List-Unsubscribe links and
	// must not get a link that reads or changes the answer.
	UnsubscribeToken string
	UnsubscribeURL   string // set by SurveyEmail
	Reminder         bool   // the one reminder of an unanswered survey
	Brand            closeloop.Brand
}

// SurveyEmail renders the survey email to to. Each rating is a link to the
// survey page with that rating preselected; opening it records nothing, so a
// mail scanner that follows every link cannot answer for the customer.
func SurveyEmail(to string, s Survey) (Message, error) {
	if s.UnsubscribeToken == "" || s.UnsubscribeToken == s.Token {
		return Message{}, errors.New("survey email: an unsubscribe token of its own is required")
	}
	t := i18n.For(s.Locale)
	s.UnsubscribeURL = s.BaseURL + "/u/" + s.UnsubscribeToken
	var links []RatingLink
	for _, r := range s.Kind.Ratings() {
		links = append(links, RatingLink{Rating: r, URL: fmt.Sprintf("%s/s/%s?r=%d", s.BaseURL, s.Token, r)})
	}
	question := t.Question[s.Kind]
	var solved string
	switch ticket := strings.TrimSpace(s.TicketSubject); {
	case ticket != "" && s.AgentName != "":
		solved = fmt.Sprintf(t.SolvedBy, ticket, s.AgentName)
	case ticket != "":
		solved = fmt.Sprintf(t.SolvedPlain, ticket)
	case s.AgentName != "":
		solved = fmt.Sprintf(t.SolvedByAgent, s.AgentName)
	default:
		solved = t.SolvedUntitled
	}
	data := map[string]any{"T": t, "S": s, "B": brandOf(s.Brand), "Links": links, "Question": question, "Low": t.Low[s.Kind], "High": t.High[s.Kind],
		"Title": question, "Preheader": question + " " + t.OneClick, "UnsubscribeURL": s.UnsubscribeURL, "Solved": solved}
	subject := aboutTicket(t.SurveySubject, s.TicketSubject)
	if s.Reminder {
		subject = t.ReminderPrefix + subject
	}
	return render(to, subject, "survey", data, s.UnsubscribeURL)
}

// Closing is what a "you said, we did" email says.
type Closing struct {
	Name           string
	Locale         string
	Quote          string // the customer's own comment
	Summary        string // what changed, in a line
	Detail         string // what changed, in full
	Link           string // an optional https link to read more
	Brand          closeloop.Brand
	UnsubscribeURL string
}

// ClosingEmail renders the "you said, we did" email to to, quoting the
// customer's own words.
func ClosingEmail(to string, c Closing) (Message, error) {
	t := i18n.For(c.Locale)
	data := map[string]any{"T": t, "C": c, "B": brandOf(c.Brand), "Title": c.Summary, "UnsubscribeURL": c.UnsubscribeURL,
		"Paragraphs": strings.Split(strings.ReplaceAll(c.Detail, "\r\n", "\n"), "\n\n")}
	subject := fmt.Sprintf(t.ClosingSubject, oneLine(c.Summary, 100))
	return render(to, subject, "closing", data, c.UnsubscribeURL)
}

// renderCheck, set by the package's tests only, sees every email before it
// is rendered (shared/local/tmplcheck walks all its branches).
var renderCheck func(name string, data map[string]any)

func render(to, subject, name string, data map[string]any, unsubscribe string) (Message, error) {
	if renderCheck != nil {
		renderCheck(name, data)
	}
	var h, x bytes.Buffer
	if err := htmlT().ExecuteTemplate(&h, name+".html", data); err != nil {
		return Message{}, fmt.Errorf("render %s email: %w", name, err)
	}
	if err := textT().ExecuteTemplate(&x, name+".txt", data); err != nil {
		return Message{}, fmt.Errorf("render %s email: %w", name, err)
	}
	m := Message{To: to, Subject: subject, HTML: h.String(), Text: x.String(), Headers: map[string]string{}}
	if unsubscribe != "" {
		m.Headers["List-Unsubscribe"] = "<" + unsubscribe + ">"
		m.Headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
	}
	return m, nil
}

// oneLine folds s to one line of at most n runes, for subjects.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		s = string(r[:n-1]) + "…"
	}
	return s
}

// SignInEmail renders the console sign-in email to operator to, with link
// (valid for minutes). It has no unsubscribe link: an operator asked for it.
func SignInEmail(to, link string, minutes int, brand closeloop.Brand) (Message, error) {
	data := map[string]any{"Email": to, "Link": link, "Minutes": minutes, "B": brandOf(brand), "Title": "Sign in to Closeloop"}
	return render(to, "Sign in to Closeloop", "signin", data, "")
}

// Alert is what a detractor alert to the team says.
type Alert struct {
	Kind      closeloop.Kind
	Rating    int
	Low, High int
	Source    string
	TicketID  string
	Agent     string
	Comment   string
	CaseURL   string
	TicketURL string // the ticket in its helpdesk; "" when not configured
}

// AlertEmail renders the detractor alert to the team's address to. It
// names the ticket and quotes the comment; it never holds the customer's
// address.
func AlertEmail(to string, a Alert, brand closeloop.Brand) (Message, error) {
	a.Low, a.High = a.Kind.Scale()
	subject := fmt.Sprintf("Unhappy customer: %d on %s ticket %s", a.Rating, a.Source, oneLine(a.TicketID, 40))
	return render(to, subject, "alert", map[string]any{
		"Kind": a.Kind, "Rating": a.Rating, "Low": a.Low, "High": a.High, "Source": a.Source, "TicketID": a.TicketID,
		"Agent": a.Agent, "Comment": a.Comment, "CaseURL": a.CaseURL, "TicketURL": a.TicketURL, "B": brandOf(brand), "Title": subject,
	}, "")
}

// ReplyEmail renders an operator's personal reply to customer to, about
// their ticket: their own words, nothing added, with replies going to
// replyTo. An empty subject is "About your request" in their language.
func ReplyEmail(to, replyTo, locale, subject, message string, brand closeloop.Brand) (Message, error) {
	t := i18n.For(locale)
	subject = cmp.Or(subject, t.ReplySubject)
	data := map[string]any{"T": t, "Subject": subject, "Title": subject, "Message": message, "B": brandOf(brand),
		"Paragraphs": strings.Split(strings.ReplaceAll(strings.TrimSpace(message), "\r\n", "\n"), "\n\n")}
	m, err := render(to, oneLine(subject, 100), "reply", data, "")
	m.ReplyTo = replyTo
	return m, err
}

// AckEmail renders the one acknowledgement of a customer's comment: a
// person read it, and they will hear back when something changes.
func AckEmail(to, name, locale, quote, unsubscribeURL string, brand closeloop.Brand) (Message, error) {
	t := i18n.For(locale)
	return render(to, t.AckSubject, "ack", map[string]any{"T": t, "Title": t.AckSubject, "Name": name, "Quote": quote, "UnsubscribeURL": unsubscribeURL, "B": brandOf(brand)}, unsubscribeURL)
}

// CheckInEmail renders the check-in of a solved ticket: yes and no links to
// a page that records nothing until the customer submits it (mail scanners
// open every link).
func CheckInEmail(to, name, locale, ticketSubject, baseURL, token, unsubscribeURL string, brand closeloop.Brand) (Message, error) {
	t := i18n.For(locale)
	subject := aboutTicket(t.CheckInSubject, ticketSubject)
	data := map[string]any{"T": t, "Name": name, "Subject": subject, "Title": subject, "UnsubscribeURL": unsubscribeURL, "B": brandOf(brand),
		"YesURL": baseURL + "/s/" + token + "?a=yes", "NoURL": baseURL + "/s/" + token + "?a=no"}
	return render(to, subject, "checkin", data, unsubscribeURL)
}

// aboutTicket is a subject format ending in the ticket's subject in
// brackets, " (%s)" or "（%s）", with subject in it, or without the brackets
// for a ticket without one.
func aboutTicket(format, subject string) string {
	if strings.TrimSpace(subject) == "" {
		return strings.TrimSuffix(strings.TrimSuffix(format, " (%s)"), "（%s）")
	}
	return fmt.Sprintf(format, oneLine(subject, 80))
}

// brandOf fills in the default colour of a brand given no colour.
func brandOf(b closeloop.Brand) closeloop.Brand {
	if b.Color == "" {
		b.Color = closeloop.DefaultBrandColor
	}
	return b
}

// DigestRow is one measure of the weekly digest, formatted.
type DigestRow struct{ Name, This, Prev string }

// DigestEmail renders the team's weekly digest to to. It holds figures,
// themes and counts only: no customer's address or comment.
func DigestEmail(to string, d closeloop.Digest, consoleURL string, brand closeloop.Brand) (Message, error) {
	f := func(p *float64, unit string) string {
		if p == nil {
			return "–"
		}
		return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.1f", *p), "0"), ".") + unit
	}
	pct := func(p *float64) string {
		if p == nil {
			return "–"
		}
		v := *p * 100
		return f(&v, "%")
	}
	rows := []DigestRow{
		{"Surveys sent", fmt.Sprint(d.This.SurveysSent), fmt.Sprint(d.Prev.SurveysSent)},
		{"Responses", fmt.Sprint(d.This.Responses), fmt.Sprint(d.Prev.Responses)},
		{"Response rate", pct(d.This.ResponseRate), pct(d.Prev.ResponseRate)},
		{"CSAT (satisfied)", f(d.This.CSAT, "%"), f(d.Prev.CSAT, "%")},
		{"NPS", f(d.This.NPS, ""), f(d.Prev.NPS, "")},
		{"CES (1–7)", f(d.This.CES, ""), f(d.Prev.CES, "")},
		{"Loops closed", fmt.Sprint(d.This.ClosingSent), fmt.Sprint(d.Prev.ClosingSent)},
	}
	subject := fmt.Sprintf("Closeloop weekly: %s to %s", d.WeekStart, d.WeekEnd)
	if d.Warning != "" {
		subject += " (CSAT and NPS moved apart)"
	}
	return render(to, subject, "digest", map[string]any{"D": d, "Rows": rows, "ConsoleURL": consoleURL, "B": brandOf(brand), "Title": "Your week in feedback"}, "")
}
