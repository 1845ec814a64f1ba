package sesevents

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"
)

func TestParseAndSuppressions(t *testing.T) {
	b, err := os.ReadFile("../../../events/ses-events-bounce.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev events.SQSEvent
	json.Unmarshal(b, &ev)
	eventBridge, raw := ev.Records[0].Body, ev.Records[1].Body
	var inner struct {
		Detail json.RawMessage `json:"detail"`
	}
	json.Unmarshal([]byte(eventBridge), &inner)
	sns, _ := json.Marshal(map[string]string{"Type": "Notification", "Message": string(inner.Detail)})
	transient := `{"eventType":"Bounce","bounce":{"bounceType":"Transient","bouncedRecipients":[{"emailAddress":"full@example.com"}]}}`
	delivery := `{"eventType":"Delivery","mail":{"destination":["ok@example.com"]}}`
	tests := []struct {
		name, body string
		want       map[string]string
	}{
		{"eventbridge bounce", eventBridge, map[string]string{"gone@example.com": "bounce"}},
		{"sns bounce", string(sns), map[string]string{"gone@example.com": "bounce"}},
		{"raw complaint", raw, map[string]string{"angry@example.com": "complaint"}},
		{"transient bounce", transient, map[string]string{}},
		{"delivery", delivery, map[string]string{}},
	}
	for _, tt := range tests {
		e, err := Parse(tt.body)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if d := cmp.Diff(tt.want, Suppressions(e)); d != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, d)
		}
	}
}

type store struct {
	got  map[string]string
	fail string
}

func (s *store) Suppress(_ context.Context, email, reason string) error {
	if email == s.fail {
		return errors.New("injected")
	}
	s.got[email] = reason
	return nil
}

func TestHandleReportsFailures(t *testing.T) {
	s := &store{got: map[string]string{}, fail: "angry@example.com"}
	ev := events.SQSEvent{Records: []events.SQSMessage{
		{MessageId: "1", Body: `{"eventType":"Bounce","bounce":{"bounceType":"Permanent","bouncedRecipients":[{"emailAddress":"gone@example.com"}]}}`},
		{MessageId: "2", Body: `{"eventType":"Complaint","complaint":{"complainedRecipients":[{"emailAddress":"angry@example.com"}]}}`},
		{MessageId: "3", Body: `not json`},
	}}
	res, err := (&Handler{Store: s}).Handle(context.Background(), ev)
	if err != nil || len(res.BatchItemFailures) != 1 || res.BatchItemFailures[0].ItemIdentifier != "2" {
		t.Errorf("failures %+v, %v; want only message 2 retried", res.BatchItemFailures, err)
	}
	if s.got["gone@example.com"] != "bounce" {
		t.Errorf("stored %v", s.got)
	}
}
