package helpdesk

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"time"

	"github.com/closeloop/closeloop/shared/closeloop"
)

// Jira receives Jira Service Management admin webhooks (jira:issue_updated,
// with a secret), signed
//
//	X-Hub-Signature: sha256=<hex HMAC-SHA256(secret, body)>
//
// An issue whose status category is done is solved; one whose status moves
// out of done (per the changelog) is reopened. The reporter is surveyed;
// when Jira's privacy settings hide the reporter's email the event names
// them by account id, to look up through Jira's user API.
type Jira struct {
	Secret []byte
}

type jiraUser struct {
	AccountID    string `json:"accountId"`
	EmailAddress string `json:"emailAddress"`
	DisplayName  string `json:"displayName"`
	Locale       string `json:"locale"`
	TimeZone     string `json:"timeZone"`
}

// JiraPayload is the part of Jira's issue webhook used here.
type JiraPayload struct {
	WebhookEvent string     `json:"webhookEvent"`
	Timestamp    flexString `json:"timestamp"`
	Issue        struct {
		ID     flexString `json:"id"`
		Key    string     `json:"key"`
		Fields struct {
			Summary string `json:"summary"`
			Status  struct {
				Name           string `json:"name"`
				StatusCategory struct {
					Key string `json:"key"`
				} `json:"statusCategory"`
			} `json:"status"`
			Reporter *jiraUser `json:"reporter"`
			Assignee *jiraUser `json:"assignee"`
			Labels   []string  `json:"labels"`
			Updated  string    `json:"updated"`
		} `json:"fields"`
	} `json:"issue"`
	Changelog struct {
		Items []struct {
			Field      string `json:"field"`
			FromString string `json:"fromString"`
			ToString   string `json:"toString"`
		} `json:"items"`
	} `json:"changelog"`
}

// Sign implements Signer.
func (j Jira) Sign(body []byte, _ time.Time) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("X-Hub-Signature", "sha256="+hex.EncodeToString(mac(sha256.New, j.Secret, body)))
	return h
}

// Verify implements Receiver.
func (j Jira) Verify(h http.Header, body []byte, _ time.Time) error {
	return checkHex("X-Hub-Signature", h.Get("X-Hub-Signature"), "sha256=", sha256.New, j.Secret, body)
}

// Parse implements Receiver.
func (j Jira) Parse(h http.Header, body []byte, now time.Time) ([]closeloop.TicketEvent, error) {
	var p JiraPayload
	if err := decodeStrict(body, &p); err != nil {
		return nil, err
	}
	if p.WebhookEvent != "jira:issue_updated" {
		return nil, nil
	}
	f := p.Issue.Fields
	ev := closeloop.TicketEvent{
		Source: "jira", TicketID: p.Issue.Key, Subject: f.Summary, Tags: f.Labels,
		OccurredAt: orNow(parseTime(string(p.Timestamp)), now),
	}
	if ev.TicketID == "" {
		ev.TicketID = string(p.Issue.ID)
	}
	if f.Reporter != nil {
		ev.Customer = closeloop.Person{Email: f.Reporter.EmailAddress, Name: f.Reporter.DisplayName, Locale: f.Reporter.Locale, TimeZone: f.Reporter.TimeZone}
		ev.Customer.ID = f.Reporter.AccountID // to look up what the payload hides
	}
	if f.Assignee != nil {
		ev.Agent = closeloop.Person{Email: f.Assignee.EmailAddress, Name: f.Assignee.DisplayName}
	}
	statusChanged := false
	for _, it := range p.Changelog.Items {
		statusChanged = statusChanged || it.Field == "status"
	}
	switch {
	case strings.EqualFold(f.Status.StatusCategory.Key, "done"):
		ev.Status = closeloop.StatusSolved
	case statusChanged:
		ev.Status = closeloop.StatusReopened
	default:
		ev.Status = closeloop.StatusOther
	}
	if ev.Status == closeloop.StatusSolved && ev.Customer.Email == "" && ev.Customer.ID == "" {
		return nil, invalid("issue.fields.reporter has neither emailAddress nor accountId")
	}
	ev.EventID = h.Get("X-Atlassian-Webhook-Identifier")
	if ev.EventID == "" {
		ev.EventID = "jira:" + ev.TicketID + ":" + string(p.Timestamp)
	}
	return done(ev, now)
}
