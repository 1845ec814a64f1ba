package closeloop

import (
	"cmp"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // zones for CLOSELOOP_TIMEZONE and customers' zones: Lambda images have none
)

// Config is Closeloop's configuration, the same for every Lambda and the
// local dev server. Load it once, at start.
type Config struct {
	SurveyDelay     time.Duration             // CLOSELOOP_SURVEY_DELAY, default 1h
	SurveyKind      Kind                      // CLOSELOOP_SURVEY_KIND, default csat
	FatigueWindow   time.Duration             // CLOSELOOP_FATIGUE_WINDOW, default 168h (7 days)
	Secrets         map[string]string         // CLOSELOOP_SECRET_<SOURCE>; a source without one refuses every delivery
	AdminToken      string                    // CLOSELOOP_ADMIN_TOKEN; /api refuses every call without one
	From            string                    // CLOSELOOP_FROM, default "Closeloop <feedback@closeloop.localhost>"
	BaseURL         string                    // CLOSELOOP_BASE_URL, default http://127.0.0.1:8787; no trailing slash
	AlertWebhookURL string                    // CLOSELOOP_ALERT_WEBHOOK_URL; no Slack alerts when empty
	SESMaxRate      float64                   // CLOSELOOP_SES_MAX_RATE: emails a second every sender shares; 0 for the account's SES quota
	AlertEmail      string                    // CLOSELOOP_ALERT_EMAIL: the team's address for detractor alerts; none when empty
	Table           string                    // CLOSELOOP_TABLE, default "closeloop"
	AdminEmail      string                    // CLOSELOOP_ADMIN_EMAIL: the first admin operator; none unless set (closeloop dev: admin@closeloop.localhost)
	TimeZone        *time.Location            // CLOSELOOP_TIMEZONE, default UTC: the team's zone
	ReminderDelay   time.Duration             // CLOSELOOP_REMINDER_DELAY, default 72h: one reminder this long after an unanswered survey; 0 for none
	CheckInDelay    time.Duration             // CLOSELOOP_CHECKIN_DELAY, default 168h: the check-in this long after the solve; 0 for none
	Brand           Brand                     // CLOSELOOP_BRAND_NAME, CLOSELOOP_BRAND_COLOR, CLOSELOOP_BRAND_LOGO_URL
	Acknowledge     string                    // CLOSELOOP_ACKNOWLEDGE: "detractors" (default), "all" or "off": who gets the one "we read your comment" email
	SendWindow      SendWindow                // CLOSELOOP_SEND_WINDOW, default 09:00-18:00 Mon-Fri: when surveys go out, in the customer's zone when known
	ContactKey      ContactKey                // CLOSELOOP_CONTACT_KEY: keys contact ids; the functions that turn addresses into ids refuse to without it
	APIs            map[string]VendorAPI      // CLOSELOOP_API_<SOURCE>_URL and _TOKEN: a helpdesk's API for look-ups
	PerSource       map[string]SourceSettings // CLOSELOOP_SOURCE_<SOURCE>_SURVEY_KIND, _SURVEY_DELAY, _CHECKIN, _TICKET_URL

	// Set by the stack in AWS only.
	ClosingQueueURL     string // CLOSELOOP_CLOSING_QUEUE_URL: the closing function's SQS queue
	SESConfigurationSet string // CLOSELOOP_SES_CONFIGURATION_SET: where SES sends bounce and complaint events
}

// SourceSettings override the defaults for one helpdesk, without code
// changes: its survey kind and delay, whether its tickets get a check-in,
// and the template of a link to one of its tickets ("{id}" is replaced).
type SourceSettings struct {
	Kind      Kind
	Delay     *time.Duration
	CheckIn   *bool
	TicketURL string // e.g. https://acme.zendesk.com/agent/tickets/{id}
	// ClosedStages (HubSpot only) are the pipeline stage ids, comma
	// separated, that close a ticket, beside the default pipeline's "4".
	ClosedStages string
}

// Stages returns s.ClosedStages as a list.
func (s SourceSettings) Stages() []string {
	var out []string
	for _, v := range strings.Split(s.ClosedStages, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// Apply returns the scheduling policy and check-in delay for a source
// with settings s, from the defaults p and checkIn.
func (s SourceSettings) Apply(p Policy, checkIn time.Duration) (Policy, time.Duration) {
	if s.Kind != "" {
		p.Kind = s.Kind
	}
	if s.Delay != nil {
		p.Delay = *s.Delay
	}
	if s.CheckIn != nil && !*s.CheckIn {
		checkIn = 0
	}
	return p, checkIn
}

// TicketURL is the link to ticket id of source in its helpdesk, or "" when
// no template is configured.
func (c Config) TicketURL(source, id string) string {
	t := c.PerSource[source].TicketURL
	if t == "" || id == "" {
		return ""
	}
	return strings.ReplaceAll(t, "{id}", url.PathEscape(id))
}

// VendorAPI is a helpdesk's API base URL and credential, for look-ups.
type VendorAPI struct {
	URL   string
	Token string
}

// sourceSettings reads CLOSELOOP_SOURCE_<SOURCE>_*; an invalid value is
// an error naming the variable.
func sourceSettings(getenv func(string) string, source string) (SourceSettings, error) {
	var s SourceSettings
	pre := "CLOSELOOP_SOURCE_" + strings.ToUpper(source) + "_"
	if v := getenv(pre + "SURVEY_KIND"); v != "" {
		k, err := ParseKind(v)
		if err != nil {
			return s, fmt.Errorf("%sSURVEY_KIND: %w", pre, err)
		}
		s.Kind = k
	}
	if v := getenv(pre + "SURVEY_DELAY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return s, fmt.Errorf("%sSURVEY_DELAY=%q: want a Go duration such as 2h", pre, v)
		}
		s.Delay = &d
	}
	if v := getenv(pre + "CHECKIN"); v != "" {
		on := v == "on" || v == "true" || v == "1"
		if !on && v != "off" && v != "false" && v != "0" {
			return s, fmt.Errorf("%sCHECKIN=%q: want on or off", pre, v)
		}
		s.CheckIn = &on
	}
	if v := getenv(pre + "TICKET_URL"); v != "" {
		u, err := url.Parse(strings.ReplaceAll(v, "{id}", "1"))
		if err != nil || u.Scheme != "https" && u.Scheme != "http" || u.Host == "" || !strings.Contains(v, "{id}") {
			return s, fmt.Errorf("%sTICKET_URL=%q: want an http(s) URL with {id} where the ticket id goes", pre, v)
		}
		s.TicketURL = v
	}
	if v := getenv(pre + "CLOSED_STAGES"); v != "" {
		if source != "hubspot" {
			return s, fmt.Errorf("%sCLOSED_STAGES: only HubSpot tickets have pipeline stages", pre)
		}
		s.ClosedStages = v
		for _, id := range s.Stages() {
			if strings.ContainsFunc(id, func(r rune) bool { return r < '0' || r > '9' }) {
				return s, fmt.Errorf("%sCLOSED_STAGES=%q: want HubSpot stage ids (numbers) separated by commas", pre, v)
			}
		}
	}
	return s, nil
}

// Defaults for unset configuration.
const (
	DefaultSurveyDelay   = time.Hour
	DefaultFatigueWindow = 7 * 24 * time.Hour
	DefaultFrom          = "Closeloop <feedback@closeloop.localhost>"
	DefaultBaseURL       = "http://127.0.0.1:8787"
	DefaultTable         = "closeloop"
	DefaultAdminEmail    = "admin@closeloop.localhost"
	DefaultReminderDelay = 72 * time.Hour
)

// LoadConfig reads the configuration through getenv (os.Getenv, or a map in
// tests). An invalid value is an error naming the variable; an unset one gets
// its default.
func LoadConfig(getenv func(string) string) (Config, error) {
	c := Config{
		SurveyDelay:     DefaultSurveyDelay,
		SurveyKind:      CSAT,
		ReminderDelay:   DefaultReminderDelay,
		CheckInDelay:    DefaultCheckInDelay,
		FatigueWindow:   DefaultFatigueWindow,
		Secrets:         map[string]string{},
		AdminToken:      getenv("CLOSELOOP_ADMIN_TOKEN"),
		From:            cmp.Or(getenv("CLOSELOOP_FROM"), DefaultFrom),
		BaseURL:         strings.TrimRight(cmp.Or(getenv("CLOSELOOP_BASE_URL"), DefaultBaseURL), "/"),
		AlertWebhookURL: getenv("CLOSELOOP_ALERT_WEBHOOK_URL"),
		AlertEmail:      getenv("CLOSELOOP_ALERT_EMAIL"),
		Table:           cmp.Or(getenv("CLOSELOOP_TABLE"), DefaultTable),
		AdminEmail:      getenv("CLOSELOOP_ADMIN_EMAIL"),

		ClosingQueueURL:     getenv("CLOSELOOP_CLOSING_QUEUE_URL"),
		SESConfigurationSet: getenv("CLOSELOOP_SES_CONFIGURATION_SET"),
	}
	var err error
	if v := getenv("CLOSELOOP_SURVEY_DELAY"); v != "" {
		if c.SurveyDelay, err = time.ParseDuration(v); err != nil || c.SurveyDelay < 0 {
			return c, fmt.Errorf("CLOSELOOP_SURVEY_DELAY=%q: want a Go duration such as 1h or 30m", v)
		}
	}
	if v := getenv("CLOSELOOP_FATIGUE_WINDOW"); v != "" {
		if c.FatigueWindow, err = time.ParseDuration(v); err != nil || c.FatigueWindow < 0 {
			return c, fmt.Errorf("CLOSELOOP_FATIGUE_WINDOW=%q: want a Go duration such as 168h", v)
		}
	}
	if c.Brand, err = ParseBrand(getenv("CLOSELOOP_BRAND_NAME"), getenv("CLOSELOOP_BRAND_COLOR"), getenv("CLOSELOOP_BRAND_LOGO_URL")); err != nil {
		return c, err
	}
	switch c.Acknowledge = cmp.Or(getenv("CLOSELOOP_ACKNOWLEDGE"), "detractors"); c.Acknowledge {
	case "detractors", "all", "off":
	default:
		return c, fmt.Errorf("CLOSELOOP_ACKNOWLEDGE=%q: want detractors, all or off", c.Acknowledge)
	}
	if v := getenv("CLOSELOOP_CHECKIN_DELAY"); v != "" {
		if c.CheckInDelay, err = time.ParseDuration(v); err != nil || c.CheckInDelay < 0 {
			return c, fmt.Errorf("CLOSELOOP_CHECKIN_DELAY=%q: want a Go duration such as 168h, or 0 for no check-ins", v)
		}
	}
	if v := getenv("CLOSELOOP_REMINDER_DELAY"); v != "" {
		if c.ReminderDelay, err = time.ParseDuration(v); err != nil || c.ReminderDelay < 0 {
			return c, fmt.Errorf("CLOSELOOP_REMINDER_DELAY=%q: want a Go duration such as 72h, or 0 for no reminders", v)
		}
	}
	if v := getenv("CLOSELOOP_SURVEY_KIND"); v != "" {
		if c.SurveyKind, err = ParseKind(v); err != nil {
			return c, fmt.Errorf("CLOSELOOP_SURVEY_KIND: %w", err)
		}
	}
	for _, s := range Sources {
		if v := getenv("CLOSELOOP_SECRET_" + strings.ToUpper(s)); v != "" {
			c.Secrets[s] = v
		}
		if ss, err := sourceSettings(getenv, s); err != nil {
			return c, err
		} else if ss != (SourceSettings{}) {
			if c.PerSource == nil {
				c.PerSource = map[string]SourceSettings{}
			}
			c.PerSource[s] = ss
		}
		u, tok := getenv("CLOSELOOP_API_"+strings.ToUpper(s)+"_URL"), getenv("CLOSELOOP_API_"+strings.ToUpper(s)+"_TOKEN")
		if tok == "" {
			continue // no credential: no look-ups for this source
		}
		if u == "" {
			u = map[string]string{"intercom": "https://api.intercom.io", "hubspot": "https://api.hubapi.com",
				"front": "https://api2.frontapp.com", "helpscout": "https://api.helpscout.net"}[s]
		}
		if pu, err := url.Parse(u); err != nil || (pu.Scheme != "https" && pu.Scheme != "http") || pu.Host == "" {
			return c, fmt.Errorf("CLOSELOOP_API_%s_URL=%q: want the API's base URL, such as https://acme.zendesk.com", strings.ToUpper(s), u)
		}
		if c.APIs == nil {
			c.APIs = map[string]VendorAPI{}
		}
		c.APIs[s] = VendorAPI{URL: strings.TrimRight(u, "/"), Token: tok}
	}
	if v := getenv("CLOSELOOP_SES_MAX_RATE"); v != "" {
		if c.SESMaxRate, err = strconv.ParseFloat(v, 64); err != nil || c.SESMaxRate <= 0 || c.SESMaxRate > 100000 {
			return c, fmt.Errorf("CLOSELOOP_SES_MAX_RATE=%q: want the emails a second to keep to, such as 14", v)
		}
	}
	if c.TimeZone, err = time.LoadLocation(cmp.Or(getenv("CLOSELOOP_TIMEZONE"), "UTC")); err != nil {
		return c, fmt.Errorf("CLOSELOOP_TIMEZONE=%q: want an IANA zone such as Europe/Berlin", getenv("CLOSELOOP_TIMEZONE"))
	}
	if c.SendWindow, err = ParseSendWindow(cmp.Or(getenv("CLOSELOOP_SEND_WINDOW"), DefaultSendWindow)); err != nil {
		return c, fmt.Errorf("CLOSELOOP_SEND_WINDOW: %v", err)
	}
	if v := getenv("CLOSELOOP_CONTACT_KEY"); v != "" {
		if len(v) < MinContactKeyLen {
			return c, fmt.Errorf("CLOSELOOP_CONTACT_KEY: want at least %d characters of random data, got %d", MinContactKeyLen, len(v))
		}
		c.ContactKey = ContactKey(v)
	}
	if c.AlertEmail != "" {
		if c.AlertEmail, err = NormalizeEmail(c.AlertEmail); err != nil {
			return c, fmt.Errorf("CLOSELOOP_ALERT_EMAIL: %v", err)
		}
	}
	if _, err := SenderAddress(c.From); err != nil {
		return c, fmt.Errorf("CLOSELOOP_FROM=%q: %v (want like %q)", c.From, err, DefaultFrom)
	}
	if c.AdminEmail != "" {
		if c.AdminEmail, err = NormalizeEmail(c.AdminEmail); err != nil {
			return c, fmt.Errorf("CLOSELOOP_ADMIN_EMAIL: %v", err)
		}
	}
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c, fmt.Errorf("CLOSELOOP_BASE_URL=%q: want an absolute http(s) URL", c.BaseURL)
	}
	if v := c.AlertWebhookURL; v != "" {
		if u, err := url.Parse(v); err != nil || u.Scheme != "https" && u.Scheme != "http" {
			return c, fmt.Errorf("CLOSELOOP_ALERT_WEBHOOK_URL: want an http(s) URL")
		}
	}
	return c, nil
}

// SecretPlaceholder is the key of the value Secrets Manager generates in
// each of the stack's secrets whose variables start empty (a generated
// secret keeps values out of the template): no variable, skipped when a
// secret is read.
const SecretPlaceholder = "unused"
