package helpdesk

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/closeloop/closeloop/shared/closeloop"
)

// Zammad receives a Zammad webhook fired by a trigger, signed
//
//	X-Hub-Signature: sha1=<hex HMAC-SHA1(signature token, body)>
//
// and named by X-Zammad-Delivery. State closed is a solve; new, open and
// pending reminder are reopens.
type Zammad struct {
	Secret []byte
}

type zammadPerson struct {
	Email     string `json:"email"`
	Firstname string `json:"firstname"`
	Lastname  string `json:"lastname"`
}

// zammadState is a state given as a name or as an object with one.
type zammadState string

func (s *zammadState) UnmarshalJSON(b []byte) error {
	var name string
	if err := json.Unmarshal(b, &name); err == nil {
		*s = zammadState(name)
		return nil
	}
	var obj struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(b, &obj); err != nil {
		return err
	}
	*s = zammadState(obj.Name)
	return nil
}

// ZammadPayload is Zammad's default webhook body.
type ZammadPayload struct {
	Ticket struct {
		ID        flexString   `json:"id"`
		Number    flexString   `json:"number"`
		Title     string       `json:"title"`
		State     zammadState  `json:"state"`
		Customer  zammadPerson `json:"customer"`
		Owner     zammadPerson `json:"owner"`
		Tags      []string     `json:"tags"`
		UpdatedAt string       `json:"updated_at"`
		CloseAt   string       `json:"close_at"`
	} `json:"ticket"`
}

// Sign implements Signer.
func (z Zammad) Sign(body []byte, _ time.Time) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("X-Zammad-Trigger", "Closeloop: closed")
	h.Set("X-Hub-Signature", "sha1="+hex.EncodeToString(mac(sha1.New, z.Secret, body)))
	return h
}

// Verify implements Receiver.
func (z Zammad) Verify(h http.Header, body []byte, _ time.Time) error {
	return checkHex("X-Hub-Signature", h.Get("X-Hub-Signature"), "sha1=", sha1.New, z.Secret, body)
}

// Parse implements Receiver.
func (z Zammad) Parse(h http.Header, body []byte, now time.Time) ([]closeloop.TicketEvent, error) {
	var p ZammadPayload
	if err := decodeStrict(body, &p); err != nil {
		return nil, err
	}
	t := p.Ticket
	ev := closeloop.TicketEvent{
		Source: "zammad", TicketID: string(t.ID), Subject: t.Title, Tags: t.Tags,
		Customer:   closeloop.Person{Email: t.Customer.Email, Name: joinName(t.Customer.Firstname, t.Customer.Lastname)},
		Agent:      closeloop.Person{Email: t.Owner.Email, Name: joinName(t.Owner.Firstname, t.Owner.Lastname)},
		OccurredAt: orNow(parseTime(t.UpdatedAt), now),
	}
	switch strings.ToLower(string(t.State)) {
	case "closed":
		ev.Status = closeloop.StatusSolved
	case "new", "open", "pending reminder":
		ev.Status = closeloop.StatusReopened
	case "":
		return nil, invalid("ticket.state is missing")
	default:
		ev.Status = closeloop.StatusOther
	}
	ev.EventID = h.Get("X-Zammad-Delivery")
	if ev.EventID == "" {
		ev.EventID = "zammad:" + string(t.ID) + ":" + string(t.State) + ":" + t.UpdatedAt
	}
	return done(ev, now)
}
