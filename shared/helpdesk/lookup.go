package helpdesk

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/closeloop/closeloop/shared/closeloop"
)

// Lookup finds a helpdesk's customer by the helpdesk's own id, through its
// API, when a delivery carries no email (Intercom API 2.x notifications,
// Zendesk event subscriptions).
type Lookup interface {
	Person(ctx context.Context, id string) (closeloop.Person, error)
}

// ErrLookupRetry wraps a look-up failure a later try may get past:
// throttling (429), a server error, a timeout or a lost connection. Any
// other failure (404, a refused credential) is final.
var ErrLookupRetry = errors.New("look-up failed for now")

// LookupTimeout bounds one look-up request.
const LookupTimeout = 5 * time.Second

// Lookups returns a Lookup for every source whose API cfg configures
// (CLOSELOOP_API_<SOURCE>_URL and _TOKEN) and that Closeloop can look
// people up in: Intercom (a bearer access token) and Zendesk (an API token
// as "agent@example.com/token:TOKEN").
func Lookups(cfg closeloop.Config, client *http.Client) map[string]Lookup {
	if client == nil {
		client = &http.Client{Timeout: LookupTimeout}
	}
	out := map[string]Lookup{}
	for src, api := range cfg.APIs {
		switch src {
		case "intercom":
			out[src] = intercomLookup{api: api, http: client}
		case "zendesk":
			out[src] = zendeskLookup{api: api, http: client}
		case "hubspot":
			out[src] = hubspotLookup{api: api, http: client}
		}
	}
	return out
}

// LookupSources are the sources whose people Closeloop can look up.
var LookupSources = []string{"intercom", "zendesk", "hubspot"}

// CanLookUp reports whether cfg configures look-ups for source.
func CanLookUp(cfg closeloop.Config, source string) bool {
	_, ok := cfg.APIs[source]
	return ok && slices.Contains(LookupSources, source)
}

type intercomLookup struct {
	api  closeloop.VendorAPI
	http *http.Client
}

// Person reads GET /contacts/{id} (Intercom API 2.x): email, name and the
// language the contact chose or their browser's.
func (l intercomLookup) Person(ctx context.Context, id string) (closeloop.Person, error) {
	var c struct {
		Email            string `json:"email"`
		Name             string `json:"name"`
		LanguageOverride string `json:"language_override"`
		BrowserLanguage  string `json:"browser_language"`
	}
	h := http.Header{"Authorization": {"Bearer " + l.api.Token}, "Intercom-Version": {"2.11"}}
	if err := getJSON(ctx, l.http, l.api.URL+"/contacts/"+url.PathEscape(id), h, "intercom contact "+id, &c); err != nil {
		return closeloop.Person{}, err
	}
	locale := c.LanguageOverride
	if locale == "" {
		locale = c.BrowserLanguage
	}
	return closeloop.Person{ID: id, Email: c.Email, Name: c.Name, Locale: locale}, nil
}

type zendeskLookup struct {
	api  closeloop.VendorAPI
	http *http.Client
}

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
	h := http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(l.api.Token))}}
	if err := getJSON(ctx, l.http, l.api.URL+"/api/v2/users/"+url.PathEscape(id)+".json", h, "zendesk user "+id, &u); err != nil {
		return closeloop.Person{}, err
	}
	return closeloop.Person{ID: id, Email: u.User.Email, Name: u.User.Name, Locale: u.User.Locale, TimeZone: u.User.IANATimeZone}, nil
}

type hubspotLookup struct {
	api  closeloop.VendorAPI
	http *http.Client
}

// Person follows HubSpot ticket id's first associated contact (GET
// /crm/v3/objects/tickets/{id}?associations=contacts) and reads its email,
// name and language (GET /crm/v3/objects/contacts/{id}).
func (l hubspotLookup) Person(ctx context.Context, ticketID string) (closeloop.Person, error) {
	h := http.Header{"Authorization": {"Bearer " + l.api.Token}}
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

// getJSON GETs u with headers h into out. A 429, a 5xx, a timeout or a lost
// connection wraps ErrLookupRetry; any other failure is final. Its error
// names what was looked up, never a credential.
func getJSON(ctx context.Context, c *http.Client, u string, h http.Header, what string, out any) error {
	ctx, cancel := context.WithTimeout(ctx, LookupTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
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
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	switch {
	case res.StatusCode == http.StatusTooManyRequests || res.StatusCode >= 500:
		return fmt.Errorf("look up %s: %w: the API answered %s", what, ErrLookupRetry, res.Status)
	case res.StatusCode == http.StatusNotFound:
		return fmt.Errorf("look up %s: not found (404)", what)
	case res.StatusCode/100 != 2:
		return fmt.Errorf("look up %s: the API answered %s (check CLOSELOOP_API_<SOURCE>_TOKEN)", what, res.Status)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("look up %s: the answer is not the JSON expected: %v", what, err)
	}
	return nil
}

// LookupEnvNames names the variables that configure source's look-ups.
func LookupEnvNames(source string) string {
	s := strings.ToUpper(source)
	return "CLOSELOOP_API_" + s + "_URL and CLOSELOOP_API_" + s + "_TOKEN"
}
