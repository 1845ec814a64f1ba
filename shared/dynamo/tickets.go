package dynamo

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/closeloop/closeloop/shared/closeloop"
)

type ticketItem struct {
	PK         string   `dynamodbav:"pk"`
	SK         string   `dynamodbav:"sk"`
	Source     string   `dynamodbav:"source"`
	TicketID   string   `dynamodbav:"ticket_id"`
	Status     string   `dynamodbav:"status"`
	StatusAt   string   `dynamodbav:"status_at"`
	Events     []string `dynamodbav:"events,omitempty"`
	ContactKey string   `dynamodbav:"contact_key,omitempty"` // by_contact index
	Subject    string   `dynamodbav:"subject,omitempty"`
	AgentName  string   `dynamodbav:"agent_name,omitempty"`
	AgentEmail string   `dynamodbav:"agent_email,omitempty"`
	Kind       string   `dynamodbav:"kind,omitempty"`
	Locale     string   `dynamodbav:"locale,omitempty"`
	TimeZone   string   `dynamodbav:"time_zone,omitempty"`
	State      string   `dynamodbav:"state,omitempty"`
	DueAt      string   `dynamodbav:"due_at,omitempty"`
	DuePK      string   `dynamodbav:"due_pk,omitempty"` // due index, only while the sweep must look at it
	DueSK      string   `dynamodbav:"due_sk,omitempty"`
	SurveyID   string   `dynamodbav:"survey_id,omitempty"`
	Attempts   int      `dynamodbav:"attempts,omitempty"`
	Reminder   string   `dynamodbav:"reminder,omitempty"`
	Version    int64    `dynamodbav:"version"`
	ReceivedAt string   `dynamodbav:"received_at"`
	SolvedAt   string   `dynamodbav:"solved_at,omitempty"`
	LookupID   string   `dynamodbav:"lookup_id,omitempty"`
	Throttled  string   `dynamodbav:"throttled_at,omitempty"`
	Reason     string   `dynamodbav:"reason,omitempty"`
	Reopened   bool     `dynamodbav:"reopened,omitempty"`
}

func ticketPK(source, id string) string { return ticketPrefix + source + "#" + id }

// GetTicket returns the ticket source/id, or an error wrapping
// closeloop.ErrNotFound.
func (s *Store) GetTicket(ctx context.Context, source, id string) (*closeloop.Ticket, error) {
	var it ticketItem
	if err := s.get(ctx, ticketPK(source, id), "TICKET", &it); err != nil {
		return nil, fmt.Errorf("get ticket %s/%s: %w", source, id, err)
	}
	return it.ticket(), nil
}

// SaveTicket stores t if the stored ticket's version is still prev (0: the
// ticket must not exist yet), and sets t.Version to prev+1. A lost race is an
// error wrapping closeloop.ErrConflict: read again and decide again.
//
// A scheduled ticket, and one being sent, is in the due index under its
// DueAt; any other state takes it out.
func (s *Store) SaveTicket(ctx context.Context, t *closeloop.Ticket, prev int64) error {
	return s.saveTicket(ctx, t, prev, s.put)
}

// ClaimTicket is SaveTicket for a sweep's claim of t for a new survey (a
// new, random survey id, so the item is unique to the sweep): a claim whose
// answer was lost is known as the sweep's own (putClaim).
func (s *Store) ClaimTicket(ctx context.Context, t *closeloop.Ticket, prev int64) error {
	if t.State != closeloop.SurveySending || t.SurveyID == "" {
		return fmt.Errorf("claim ticket %s/%s: not a claim for a new survey", t.Source, t.TicketID)
	}
	return s.saveTicket(ctx, t, prev, s.putClaim)
}

func (s *Store) saveTicket(ctx context.Context, t *closeloop.Ticket, prev int64, put func(context.Context, any, string, map[string]string, map[string]types.AttributeValue) error) error {
	it := ticketItem{
		PK: ticketPK(t.Source, t.TicketID), SK: "TICKET",
		Source: t.Source, TicketID: t.TicketID, Status: string(t.Status), StatusAt: ts(t.StatusAt),
		Events: t.Events, ContactKey: t.ContactID, Subject: t.Subject, AgentName: t.AgentName, AgentEmail: t.AgentEmail,
		Kind: string(t.Kind), Locale: t.Locale, TimeZone: t.TimeZone, State: string(t.State), DueAt: ts(t.DueAt),
		SurveyID: t.SurveyID, Attempts: t.Attempts, Reminder: string(t.Reminder), Version: prev + 1, ReceivedAt: ts(t.ReceivedAt),
		SolvedAt: ts(t.SolvedAt), Reopened: t.Reopened, LookupID: t.LookupID, Reason: t.Reason, Throttled: ts(t.ThrottledAt),
	}
	if t.State == closeloop.SurveyScheduled || t.State == closeloop.SurveySending || t.State == closeloop.SurveySent && t.Reminder == closeloop.ReminderScheduled {
		it.DuePK, it.DueSK = shard(it.PK), ts(t.DueAt)
	}
	var err error
	if prev == 0 {
		err = put(ctx, it, "attribute_not_exists(pk)", nil, nil)
	} else {
		err = put(ctx, it, "version = :v", nil, map[string]types.AttributeValue{":v": num(prev)})
	}
	if conditionFailed(err) {
		return fmt.Errorf("save ticket %s/%s: %w", t.Source, t.TicketID, closeloop.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("save ticket %s/%s: %w", t.Source, t.TicketID, err)
	}
	t.Version = prev + 1
	return nil
}

// DueTickets returns up to limit tickets whose DueAt is at or before now and
// that are scheduled or being sent, oldest first within each shard. The index
// is eventually consistent: read each ticket again before acting on it.
func (s *Store) DueTickets(ctx context.Context, now time.Time, limit int) ([]closeloop.TicketRef, error) {
	var out []closeloop.TicketRef
	for i := 0; i < dueShards && len(out) < limit; i++ {
		in := &dynamodb.QueryInput{
			IndexName:              aws.String("due"),
			KeyConditionExpression: aws.String("due_pk = :p AND due_sk <= :now"),
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":p": str(fmt.Sprintf("%s%d", duePrefix, i)), ":now": str(ts(now)),
			},
			Limit: aws.Int32(int32(limit - len(out))),
		}
		err := s.query(ctx, in, limit-len(out), func(item map[string]types.AttributeValue) error {
			var k struct {
				PK string `dynamodbav:"pk"`
			}
			if err := attributevalue.UnmarshalMap(item, &k); err != nil {
				return err
			}
			if strings.HasPrefix(k.PK, checkInPrefix) {
				src, id := splitAfter(k.PK, checkInPrefix)
				out = append(out, closeloop.TicketRef{Source: src, TicketID: id, CheckIn: true})
				return nil
			}
			src, id := splitTicketPK(k.PK)
			out = append(out, closeloop.TicketRef{Source: src, TicketID: id})
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("query due surveys: %w", err)
		}
	}
	return out, nil
}

// splitTicketPK reverses ticketPK. Source names contain no '#'; ticket ids may.
func splitTicketPK(pk string) (source, id string) { return splitAfter(pk, ticketPrefix) }

// splitAfter splits "<prefix><source>#<id>".
func splitAfter(pk, prefix string) (source, id string) {
	rest := pk[len(prefix):]
	for i := 0; i < len(rest); i++ {
		if rest[i] == '#' {
			return rest[:i], rest[i+1:]
		}
	}
	return rest, ""
}

func (it ticketItem) ticket() *closeloop.Ticket {
	return &closeloop.Ticket{
		Source: it.Source, TicketID: it.TicketID, Status: closeloop.Status(it.Status), StatusAt: parseTS(it.StatusAt),
		Events: it.Events, ContactID: it.ContactKey, Subject: it.Subject, AgentName: it.AgentName, AgentEmail: it.AgentEmail,
		Kind: closeloop.Kind(it.Kind), Locale: it.Locale, TimeZone: it.TimeZone, State: closeloop.SurveyState(it.State), DueAt: parseTS(it.DueAt),
		SurveyID: it.SurveyID, Attempts: it.Attempts, Reminder: closeloop.Reminder(it.Reminder), Version: it.Version, ReceivedAt: parseTS(it.ReceivedAt),
		SolvedAt: parseTS(it.SolvedAt), Reopened: it.Reopened, LookupID: it.LookupID, Reason: it.Reason, ThrottledAt: parseTS(it.Throttled),
	}
}
