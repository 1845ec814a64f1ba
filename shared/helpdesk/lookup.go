package helpdesk

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/closeloop/closeloop/shared/closeloop"
)

// Lookup finds a helpdesk's customer by the helpdesk's own id, through its
// API, when a delivery carries no email (Intercom API 2.x notifications,
// Zendesk event subscriptions, HubSpot property changes, Jira reporters
// whose profile hides their email, Front recipients known by phone or
// social handle, Help Scout conversations without the customer's email).
type Lookup interface {
	Person(ctx context.Context, id string) (closeloop.Person, error)
}

// ErrLookupRetry wraps a look-up failure a later try may get past:
// throttling (429), a server error, a timeout or a lost connection. Any
// other failure (404, a refused credential) is final.
var ErrLookupRetry = errors.New("look-up failed for now")

// Throttled is a 429 from a helpdesk's API: no call should go to it before
// After has passed (0 when the API did not say; at most MaxThrottleWait).
// It wraps ErrLookupRetry.
type Throttled struct {
	What   string        // what was looked up, never a credential
	Status string        // the answer's status line
	After  time.Duration // the wait the API asked for
}

func (e *Throttled) Error() string {
	msg := fmt.Sprintf("look up %s: %v: the API answered %s", e.What, ErrLookupRetry, e.Status)
	if e.After > 0 {
		msg += fmt.Sprintf(", asking to wait %s", e.After.Round(time.Second))
	}
	return msg
}

func (e *Throttled) Unwrap() error { return ErrLookupRetry }

// MaxThrottleWait bounds the wait a 429 may ask for.
const MaxThrottleWait = 24 * time.Hour

// throttleWait reads the wait a 429 asks for from the header the vendor
// uses: Retry-After (seconds or a date: Zendesk, Front, HubSpot, Jira),
// X-RateLimit-Retry-After (seconds: Help Scout) or X-RateLimit-Reset (the
// Unix time the window resets: Intercom). 0 when none says.
func throttleWait(h http.Header, now time.Time) time.Duration {
	var d time.Duration
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			d = time.Duration(n) * time.Second
		} else if at, err := http.ParseTime(v); err == nil {
			d = at.Sub(now)
		}
	} else if n, err := strconv.ParseInt(strings.TrimSpace(h.Get("X-RateLimit-Retry-After")), 10, 64); err == nil {
		d = time.Duration(n) * time.Second
	} else if n, err := strconv.ParseInt(strings.TrimSpace(h.Get("X-RateLimit-Reset")), 10, 64); err == nil {
		if n > 1e9 { // a Unix time, not a count of seconds
			d = time.Unix(n, 0).Sub(now)
		} else {
			d = time.Duration(n) * time.Second
		}
	}
	return min(max(d, 0), MaxThrottleWait)
}

// LookupTimeout bounds one look-up request.
const LookupTimeout = 5 * time.Second

// Lookups returns a Lookup for every source whose API cfg configures
// (CLOSELOOP_API_<SOURCE>_URL and _TOKEN) and that Closeloop can look
// people up in. The token's form per source:
//
//	intercom   an access token (bearer)
//	zendesk    "agent@example.com/token:API_TOKEN" (basic)
//	hubspot    a private app's access token (bearer)
//	jira       "agent@example.com:API_TOKEN" (basic)
//	front      an API token (bearer)
//	helpscout  "APP_ID:APP_SECRET" of a Help Scout app (OAuth client credentials)
func Lookups(cfg closeloop.Config, client *http.Client) map[string]Lookup {
	if client == nil {
		client = &http.Client{Timeout: LookupTimeout}
	}
	out := map[string]Lookup{}
	for src, api := range cfg.APIs {
		v := vendorAPI{api: api, http: client}
		switch src {
		case "intercom":
			out[src] = intercomLookup{v}
		case "zendesk":
			out[src] = zendeskLookup{v}
		case "hubspot":
			out[src] = hubspotLookup{v}
		case "jira":
			out[src] = jiraLookup{v}
		case "front":
			out[src] = frontLookup{v}
		case "helpscout":
			out[src] = &helpScoutLookup{vendorAPI: v}
		}
	}
	return out
}

// LookupSources are the sources whose people Closeloop can look up.
var LookupSources = []string{"intercom", "zendesk", "hubspot", "jira", "front", "helpscout"}

// Lacks reports whether source's API would tell more about p than its
// delivery did: a language (Intercom, Zendesk, HubSpot and Jira know one;
// Front and Help Scout do not), or a time zone (Zendesk, Jira). The
// webhook then asks the sweep to look p up before the survey goes, without
// holding the survey back if that fails.
func Lacks(source string, p closeloop.Person) bool {
	switch source {
	case "zendesk", "jira":
		return p.Locale == "" || p.TimeZone == ""
	case "intercom", "hubspot":
		return p.Locale == ""
	}
	return false
}

type intercomLookup struct{ vendorAPI }

// Person reads GET /contacts/{id} (Intercom API 2.x): email, name and the
// language the contact chose or their browser's.
func (l intercomLookup) Person(ctx context.Context, id string) (closeloop.Person, error) {
	var c struct {
		Email            string `json:"email"`
		Name             string `json:"name"`
		LanguageOverride string `json:"language_override"`
		BrowserLanguage  string `json:"browser_language"`
	}
	h := l.bearer(l.api.Token)
	h.Set("Intercom-Version", "2.11")
	if err := getJSON(ctx, l.http, l.api.URL+"/contacts/"+url.PathEscape(id), h, "intercom contact "+id, &c); err != nil {
		return closeloop.Person{}, err
	}
	locale := c.LanguageOverride
	if locale == "" {
		locale = c.BrowserLanguage
	}
	return closeloop.Person{ID: id, Email: c.Email, Name: c.Name, Locale: locale}, nil
}

type zendeskLookup struct{ vendorAPI }

// Person reads GET /api/v2/users/{id}.json: email, name, locale and the
// user's IANA time zone.
func (l zendeskLookup) Person(ctx context.Context, id string) (closeloop.Person, error) {
	var u struct {
		User struct {
			Email        string `json:"email"`
			Name         string `json:"name"`
			Locale       string `json:"locale"`
			IANATimeZone string `json:"iana_time_zone"`
		} `json:"user"`
	}
	h := l.basic()
	if err := getJSON(ctx, l.http, l.api.URL+"/api/v2/users/"+url.PathEscape(id)+".json", h, "zendesk user "+id, &u); err != nil {
		return closeloop.Person{}, err
	}
	return closeloop.Person{ID: id, Email: u.User.Email, Name: u.User.Name, Locale: u.User.Locale, TimeZone: u.User.IANATimeZone}, nil
}

type hubspotLookup struct{ vendorAPI }

// Person follows HubSpot ticket id's first associated contact (GET
// /crm/v3/objects/tickets/{id}?associations=contacts) and reads its email,
// name and language (GET /crm/v3/objects/contacts/{id}).
func (l hubspotLookup) Person(ctx context.Context, ticketID string) (closeloop.Person, error) {
	h := l.bearer(l.api.Token)
	var t struct {
		Associations struct {
			Contacts struct {
				Results []struct {
					ID string `json:"id"`
				} `json:"results"`
			} `json:"contacts"`
		} `json:"associations"`
	}
	if err := getJSON(ctx, l.http, l.api.URL+"/crm/v3/objects/tickets/"+url.PathEscape(ticketID)+"?associations=contacts", h, "hubspot ticket "+ticketID, &t); err != nil {
		return closeloop.Person{}, err
	}
	if len(t.Associations.Contacts.Results) == 0 {
		return closeloop.Person{}, fmt.Errorf("look up hubspot ticket %s: no associated contact", ticketID)
	}
	cid := t.Associations.Contacts.Results[0].ID
	var c struct {
		Properties struct {
			Email      string `json:"email"`
			FirstName  string `json:"firstname"`
			LastName   string `json:"lastname"`
			HSLanguage string `json:"hs_language"`
		} `json:"properties"`
	}
	if err := getJSON(ctx, l.http, l.api.URL+"/crm/v3/objects/contacts/"+url.PathEscape(cid)+"?properties=email,firstname,lastname,hs_language", h, "hubspot contact "+cid, &c); err != nil {
		return closeloop.Person{}, err
	}
	p := c.Properties
	return closeloop.Person{ID: cid, Email: p.Email, Name: strings.TrimSpace(p.FirstName + " " + p.LastName), Locale: p.HSLanguage}, nil
}

type jiraLookup struct{ vendorAPI }

// Person reads GET /rest/api/3/user?accountId={id}: email, display name,
// locale and IANA time zone. Jira returns the email only where the user's
// profile visibility (or, for service desk customers, the site's settings)
// allows it; when it does not, the look-up fails for good with that reason.
func (l jiraLookup) Person(ctx context.Context, id string) (closeloop.Person, error) {
	var u struct {
		EmailAddress string `json:"emailAddress"`
		DisplayName  string `json:"displayName"`
		Locale       string `json:"locale"`
		TimeZone     string `json:"timeZone"`
	}
	h := l.basic()
	if err := getJSON(ctx, l.http, l.api.URL+"/rest/api/3/user?accountId="+url.QueryEscape(id), h, "jira user "+id, &u); err != nil {
		return closeloop.Person{}, err
	}
	if u.EmailAddress == "" {
		return closeloop.Person{}, fmt.Errorf("look up jira user %s: Jira hides this user's email (profile visibility); survey them through an Automation rule's web request instead", id)
	}
	return closeloop.Person{ID: id, Email: u.EmailAddress, Name: u.DisplayName, Locale: strings.ReplaceAll(u.Locale, "_", "-"), TimeZone: u.TimeZone}, nil
}

type frontLookup struct{ vendorAPI }

// Person finds a Front customer by contact id (crd_…), reading GET
// /contacts/{id} for its name and first email handle, or by conversation
// id (cnv_…, from an event preview or a recipient without a contact link),
// reading GET /conversations/{id} for its recipient first.
func (l frontLookup) Person(ctx context.Context, id string) (closeloop.Person, error) {
	h := l.bearer(l.api.Token)
	name := ""
	if strings.HasPrefix(id, "cnv_") {
		var c struct {
			Recipient *frontRecipient `json:"recipient"`
		}
		if err := getJSON(ctx, l.http, l.api.URL+"/conversations/"+url.PathEscape(id), h, "front conversation "+id, &c); err != nil {
			return closeloop.Person{}, err
		}
		switch r := c.Recipient; {
		case r == nil:
			return closeloop.Person{}, fmt.Errorf("look up front conversation %s: it has no recipient", id)
		case isAddress(r.Handle):
			return closeloop.Person{ID: id, Email: r.Handle, Name: r.Name}, nil
		case r.Links.Related.Contact == "":
			return closeloop.Person{}, fmt.Errorf("look up front conversation %s: its recipient has no email and no contact", id)
		default:
			id, name = path.Base(r.Links.Related.Contact), r.Name
		}
	}
	var c struct {
		Name    string `json:"name"`
		Handles []struct {
			Handle string `json:"handle"`
			Source string `json:"source"`
		} `json:"handles"`
	}
	if err := getJSON(ctx, l.http, l.api.URL+"/contacts/"+url.PathEscape(id), h, "front contact "+id, &c); err != nil {
		return closeloop.Person{}, err
	}
	for _, hd := range c.Handles {
		if hd.Source == "email" {
			return closeloop.Person{ID: id, Email: hd.Handle, Name: cmp.Or(c.Name, name)}, nil
		}
	}
	return closeloop.Person{}, fmt.Errorf("look up front contact %s: it has no email handle", id)
}

// helpScoutLookup reads Help Scout's customers API with an access token it
// gets, and renews, by OAuth client credentials.
type helpScoutLookup struct {
	vendorAPI

	mu      sync.Mutex
	token   string
	expires time.Time
}

// Person reads GET /v2/customers/{id}: name and first email. A refused
// access token is renewed once.
func (l *helpScoutLookup) Person(ctx context.Context, id string) (closeloop.Person, error) {
	var c struct {
		FirstName string `json:"firstName"`
		LastName  string `json:"lastName"`
		Embedded  struct {
			Emails []struct {
				Value string `json:"value"`
			} `json:"emails"`
		} `json:"_embedded"`
	}
	for try := 0; ; try++ {
		tok, err := l.accessToken(ctx)
		if err != nil {
			return closeloop.Person{}, err
		}
		h := l.bearer(tok)
		err = getJSON(ctx, l.http, l.api.URL+"/v2/customers/"+url.PathEscape(id), h, "helpscout customer "+id, &c)
		if errors.Is(err, errUnauthorized) && try == 0 {
			l.forget(tok)
			continue
		}
		if err != nil {
			return closeloop.Person{}, err
		}
		break
	}
	if len(c.Embedded.Emails) == 0 {
		return closeloop.Person{}, fmt.Errorf("look up helpscout customer %s: the customer has no email", id)
	}
	return closeloop.Person{ID: id, Email: c.Embedded.Emails[0].Value, Name: joinName(c.FirstName, c.LastName)}, nil
}

// accessToken returns a token from POST /v2/oauth2/token, reusing one until
// a minute before it expires.
func (l *helpScoutLookup) accessToken(ctx context.Context) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.token != "" && time.Now().Before(l.expires) {
		return l.token, nil
	}
	appID, secret, ok := strings.Cut(l.api.Token, ":")
	if !ok {
		return "", errors.New("look up helpscout: CLOSELOOP_API_HELPSCOUT_TOKEN is not APP_ID:APP_SECRET")
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {appID}, "client_secret": {secret}}
	var t struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := postForm(ctx, l.http, l.api.URL+"/v2/oauth2/token", form, "helpscout access token", &t); err != nil {
		return "", err
	}
	if t.AccessToken == "" {
		return "", errors.New("look up helpscout access token: the answer holds no access_token")
	}
	l.token, l.expires = t.AccessToken, time.Now().Add(time.Duration(t.ExpiresIn)*time.Second-time.Minute)
	return l.token, nil
}

func (l *helpScoutLookup) forget(tok string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.token == tok {
		l.token = ""
	}
}

// errUnauthorized marks a 401: a credential refused.
var errUnauthorized = errors.New("credential refused")

// vendorAPI is a helpdesk's API: where it is, its credential, and the
// HTTP client to reach it with.
type vendorAPI struct {
	api  closeloop.VendorAPI
	http *http.Client
}

// basic is the credential as HTTP basic authentication ("user:password"
// forms: Zendesk's "email/token:TOKEN", Jira's "email:TOKEN").
func (v vendorAPI) basic() http.Header {
	return http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(v.api.Token))}}
}

// bearer is token as a bearer credential.
func (v vendorAPI) bearer(token string) http.Header {
	return http.Header{"Authorization": {"Bearer " + token}}
}

// getJSON GETs u with headers h into out. A 429, a 5xx, a timeout or a lost
// connection wraps ErrLookupRetry; any other failure is final. Its error
// names what was looked up, never a credential.
func getJSON(ctx context.Context, c *http.Client, u string, h http.Header, what string, out any) error {
	return call(ctx, c, http.MethodGet, u, h, nil, what, out)
}

// postForm POSTs form to u into out, as getJSON does.
func postForm(ctx context.Context, c *http.Client, u string, form url.Values, what string, out any) error {
	h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	return call(ctx, c, http.MethodPost, u, h, strings.NewReader(form.Encode()), what, out)
}

func call(ctx context.Context, c *http.Client, method, u string, h http.Header, body io.Reader, what string, out any) error {
	ctx, cancel := context.WithTimeout(ctx, LookupTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return fmt.Errorf("look up %s: %v", what, err)
	}
	req.Header = h
	req.Header.Set("Accept", "application/json")
	res, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("look up %s: %w: %v", what, ErrLookupRetry, errors.Unwrap(err))
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	switch {
	case res.StatusCode == http.StatusTooManyRequests:
		return &Throttled{What: what, Status: res.Status, After: throttleWait(res.Header, time.Now())}
	case res.StatusCode >= 500:
		return fmt.Errorf("look up %s: %w: the API answered %s", what, ErrLookupRetry, res.Status)
	case res.StatusCode == http.StatusNotFound:
		return fmt.Errorf("look up %s: not found (404)", what)
	case res.StatusCode == http.StatusUnauthorized:
		return fmt.Errorf("look up %s: %w: the API answered %s (check CLOSELOOP_API_<SOURCE>_TOKEN)", what, errUnauthorized, res.Status)
	case res.StatusCode/100 != 2:
		return fmt.Errorf("look up %s: the API answered %s (check CLOSELOOP_API_<SOURCE>_TOKEN)", what, res.Status)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("look up %s: the answer is not the JSON expected: %v", what, err)
	}
	return nil
}

// LookupEnvNames names the variables that configure source's look-ups.
func LookupEnvNames(source string) string {
	s := strings.ToUpper(source)
	return "CLOSELOOP_API_" + s + "_URL and CLOSELOOP_API_" + s + "_TOKEN"
}
