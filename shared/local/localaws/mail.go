package localaws

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// Mail is one email in the local SES server's store.
type Mail struct {
	MessageID   string `json:"messageId"`
	From        string `json:"from"`
	Subject     string `json:"subject"`
	Destination struct {
		To []string `json:"to"`
	} `json:"destination"`
	Body struct {
		HTML string `json:"html"`
		Text string `json:"text"`
	} `json:"body"`
	Headers []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"headers"`
}

// Header returns the value of header name, or "".
func (m Mail) Header(name string) string {
	for _, h := range m.Headers {
		if strings.EqualFold(h.Name, name) {
			return h.Value
		}
	}
	return ""
}

// To reports whether addr is among m's recipients.
func (m Mail) To(addr string) bool {
	for _, d := range m.Destination.To {
		if strings.EqualFold(d, addr) {
			return true
		}
	}
	return false
}

// SentMail returns every email the local SES server at base holds.
func SentMail(base string) ([]Mail, error) {
	res, err := http.Get(base + "/store")
	if err != nil {
		return nil, fmt.Errorf("read the local SES store: %w", err)
	}
	defer res.Body.Close()
	var store struct{ Emails []Mail }
	if err := json.NewDecoder(res.Body).Decode(&store); err != nil {
		return nil, fmt.Errorf("read the local SES store: %w", err)
	}
	return store.Emails, nil
}
