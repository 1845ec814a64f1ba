package dynamo

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/closeloop/closeloop/shared/closeloop"
)

// Failed look-ups are one partition, newest last, each kept 90 days: they
// are rare (a credential or a customer the helpdesk cannot name) and read
// together.
const (
	lookupFailPK   = "LOOKUPFAIL"
	lookupFailKeep = 90 * 24 * time.Hour
)

type lookupFailureItem struct {
	PK       string `dynamodbav:"pk"`
	SK       string `dynamodbav:"sk"`
	At       string `dynamodbav:"at"`
	Source   string `dynamodbav:"source"`
	TicketID string `dynamodbav:"ticket_id"`
	Reason   string `dynamodbav:"reason"`
	TTL      int64  `dynamodbav:"expires_ttl"`
}

// AddLookupFailure records f. A repeat for the same ticket at the same
// time overwrites itself.
func (s *Store) AddLookupFailure(ctx context.Context, f closeloop.LookupFailure) error {
	it := lookupFailureItem{PK: lookupFailPK, SK: ts(f.At) + "#" + f.Source + "#" + f.TicketID, At: ts(f.At),
		Source: f.Source, TicketID: f.TicketID, Reason: f.Reason, TTL: f.At.Add(lookupFailKeep).Unix()}
	if err := s.put(ctx, it, "", nil, nil); err != nil {
		return fmt.Errorf("record failed look-up of %s ticket %s: %w", f.Source, f.TicketID, err)
	}
	return nil
}

// LookupFailures returns up to limit failed look-ups of the last 90 days,
// newest first.
func (s *Store) LookupFailures(ctx context.Context, now time.Time, limit int) ([]closeloop.LookupFailure, error) {
	var out []closeloop.LookupFailure
	err := s.query(ctx, &dynamodb.QueryInput{
		KeyConditionExpression:    aws.String("pk = :p AND sk >= :since"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": str(lookupFailPK), ":since": str(ts(now.Add(-lookupFailKeep)))},
		ScanIndexForward:          aws.Bool(false),
	}, limit, func(item map[string]types.AttributeValue) error {
		var it lookupFailureItem
		if err := unmarshal(item, &it); err != nil {
			return err
		}
		out = append(out, closeloop.LookupFailure{At: parseTS(it.At), Source: it.Source, TicketID: it.TicketID, Reason: it.Reason})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read failed look-ups: %w", err)
	}
	return out, nil
}
