// Package dynamo is Closeloop's DynamoDB store: one table (see package
// schema), concrete methods per access pattern, and conditional writes for
// every step that may run twice. It turns ConditionalCheckFailed into the
// domain's sentinel errors (closeloop.ErrConflict, closeloop.ErrDuplicate).
// It uses no transactions, streams or TTL, so it runs unchanged on dynalite.
package dynamo

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/platform/awsretry"
)

// Client is the part of the DynamoDB SDK client the store uses.
type Client interface {
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	BatchGetItem(context.Context, *dynamodb.BatchGetItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	Scan(context.Context, *dynamodb.ScanInput, ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) // the contact-id migration only
}

// Store reads and writes Closeloop's items in one table. It is safe for
// concurrent use.
type Store struct {
	db    Client
	table string
	// Capacity, when set, receives the capacity units every call consumed
	// (benchmarks use it; it is nil in production).
	Capacity func(op string, read, write float64)
	// Key keys contact ids (closeloop.ContactKey). Only the functions that
	// turn addresses into ids need it: webhook, ses-events and api.
	Key closeloop.ContactKey
	// Zone is the team's zone (CLOSELOOP_TIMEZONE): the days of counts and
	// responses. nil is UTC.
	Zone *time.Location
}

// ContactID is the keyed id of the contact with the normalized address, or
// closeloop.ErrNoContactKey when the store has no key.
func (s *Store) ContactID(normalizedEmail string) (string, error) { return s.Key.ID(normalizedEmail) }

// NewStore returns a store over table.
func NewStore(db Client, table string) *Store { return &Store{db: db, table: table} }

// dueShards spreads the due index over a few partitions so the sweep's
// queries do not all hit one.
const dueShards = 4

// Key prefixes. Every item has pk and sk; docs/data-model.md describes each.
const (
	ticketPrefix      = "TICKET#"
	contactPrefix     = "CONTACT#"
	surveyPrefix      = "SURVEY#"
	themePrefix       = "THEME#"
	improvementPrefix = "IMPROVEMENT#"
	dayPrefix         = "DAY#"
	duePrefix         = "DUE#"
	respDayPrefix     = "RESP#"
	toPrefix          = "TO#"
	themesPK          = "THEMES"
	linkPrefix        = "LINK#"
)

// timeLayout sorts lexically in time order (fixed width, UTC).
const timeLayout = "2006-01-02T15:04:05.000Z"

func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeLayout)
}

func parseTS(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, _ := time.Parse(timeLayout, s)
	return t
}

func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": str(pk), "sk": str(sk)}
}

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: fmt.Sprint(n)}
}

func shard(pk string) string {
	h := fnv.New32a()
	h.Write([]byte(pk))
	return fmt.Sprintf("%s%d", duePrefix, h.Sum32()%dueShards)
}

// conditionFailed reports whether err is a failed condition of a write.
func conditionFailed(err error) bool {
	var cf *types.ConditionalCheckFailedException
	return errors.As(err, &cf)
}

// tooLarge reports whether DynamoDB refused a write because the item would
// pass its 400 KB: nothing was written.
func tooLarge(err error) bool {
	var api smithy.APIError
	return errors.As(err, &api) && api.ErrorCode() == "ValidationException" && strings.Contains(api.ErrorMessage(), "exceeded the maximum allowed size")
}

// consumed reports capacity to s.Capacity.
func (s *Store) consumed(op string, cc ...*types.ConsumedCapacity) {
	if s.Capacity == nil {
		return
	}
	var r, w float64
	for _, c := range cc {
		if c == nil {
			continue
		}
		r += aws.ToFloat64(c.ReadCapacityUnits)
		w += aws.ToFloat64(c.WriteCapacityUnits)
		if c.ReadCapacityUnits == nil && c.WriteCapacityUnits == nil {
			// dynalite reports only the total; attribute it by operation.
			if isRead(op) {
				r += aws.ToFloat64(c.CapacityUnits)
			} else {
				w += aws.ToFloat64(c.CapacityUnits)
			}
		}
	}
	s.Capacity(op, r, w)
}

func isRead(op string) bool { return op == "GetItem" || op == "Query" || op == "BatchGetItem" }

func (s *Store) rcc() types.ReturnConsumedCapacity {
	if s.Capacity == nil {
		return types.ReturnConsumedCapacityNone
	}
	return types.ReturnConsumedCapacityIndexes
}

func (s *Store) get(ctx context.Context, pk, sk string, out any) error {
	res, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.table, Key: key(pk, sk), ConsistentRead: aws.Bool(true),
		ReturnConsumedCapacity: s.rcc(),
	})
	if err != nil {
		return err
	}
	s.consumed("GetItem", res.ConsumedCapacity)
	if res.Item == nil {
		return closeloop.ErrNotFound
	}
	return attributevalue.UnmarshalMap(res.Item, out)
}

// batchGet reads the items of keys, strongly consistent or not, in
// batches of 100, calling each for every item found (in no particular order). Keys
// DynamoDB leaves unprocessed (throttling) are asked for again with a
// growing back-off.
func (s *Store) batchGet(ctx context.Context, keys []map[string]types.AttributeValue, consistent bool, each func(map[string]types.AttributeValue) error) error {
	for start := 0; start < len(keys); start += 100 {
		req := map[string]types.KeysAndAttributes{s.table: {Keys: keys[start:min(start+100, len(keys))], ConsistentRead: aws.Bool(consistent)}}
		for attempt := 0; len(req) > 0; attempt++ {
			if attempt > 0 {
				if err := backOff(ctx, attempt); err != nil {
					return err
				}
			}
			res, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req, ReturnConsumedCapacity: s.rcc()})
			if err != nil {
				return err
			}
			for i := range res.ConsumedCapacity {
				s.consumed("BatchGetItem", &res.ConsumedCapacity[i])
			}
			for _, m := range res.Responses[s.table] {
				if err := each(m); err != nil {
					return err
				}
			}
			req = res.UnprocessedKeys
		}
	}
	return nil
}

func (s *Store) put(ctx context.Context, item any, cond string, names map[string]string, values map[string]types.AttributeValue) error {
	return s.putAs(ctx, false, item, cond, names, values)
}

// putClaim is put for an item unique to its writer (a claim with a nonce,
// a ticket claimed for a new survey id): when the write went through and
// its answer was lost, the SDK's retry fails its own condition; finding the
// item exactly as written, the writer knows it as its own.
func (s *Store) putClaim(ctx context.Context, item any, cond string, names map[string]string, values map[string]types.AttributeValue) error {
	return s.putAs(ctx, true, item, cond, names, values)
}

func (s *Store) putAs(ctx context.Context, claim bool, item any, cond string, names map[string]string, values map[string]types.AttributeValue) error {
	av, err := attributevalue.MarshalMap(item)
	if err != nil {
		return err
	}
	in := &dynamodb.PutItemInput{TableName: &s.table, Item: av, ReturnConsumedCapacity: s.rcc()}
	if cond != "" {
		in.ConditionExpression = &cond
	}
	if len(names) > 0 {
		in.ExpressionAttributeNames = names
	}
	if len(values) > 0 {
		in.ExpressionAttributeValues = values
	}
	res, err := s.db.PutItem(ctx, in)
	if claim && cond != "" && conditionFailed(err) && s.ours(ctx, av) {
		return nil // ours: the answer was lost (putClaim)
	}
	if err != nil {
		return err
	}
	s.consumed("PutItem", res.ConsumedCapacity)
	return nil
}

// ours reports whether the stored item at av's key is av itself.
func (s *Store) ours(ctx context.Context, av map[string]types.AttributeValue) bool {
	res, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.table, Key: map[string]types.AttributeValue{"pk": av["pk"], "sk": av["sk"]}, ConsistentRead: aws.Bool(true),
		ReturnConsumedCapacity: s.rcc(),
	})
	if err != nil || res.Item == nil {
		return false
	}
	s.consumed("GetItem", res.ConsumedCapacity)
	return reflect.DeepEqual(res.Item, av)
}

func (s *Store) update(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	in.TableName = &s.table
	in.ReturnConsumedCapacity = s.rcc()
	res, err := s.db.UpdateItem(ctx, in, opts...)
	if err != nil {
		return nil, err
	}
	s.consumed("UpdateItem", res.ConsumedCapacity)
	return res, nil
}

func (s *Store) del(ctx context.Context, pk, sk string) error {
	res, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table, Key: key(pk, sk), ReturnConsumedCapacity: s.rcc()})
	if err != nil {
		return err
	}
	s.consumed("DeleteItem", res.ConsumedCapacity)
	return nil
}

// query runs in to the end (or until limit items, if limit > 0), page by page.
func (s *Store) query(ctx context.Context, in *dynamodb.QueryInput, limit int, each func(map[string]types.AttributeValue) error) error {
	in.TableName = &s.table
	in.ReturnConsumedCapacity = s.rcc()
	n := 0
	for {
		res, err := s.db.Query(ctx, in)
		if err != nil {
			return err
		}
		s.consumed("Query", res.ConsumedCapacity)
		for _, it := range res.Items {
			if err := each(it); err != nil {
				return err
			}
			n++
			if limit > 0 && n >= limit {
				return nil
			}
		}
		if len(res.LastEvaluatedKey) == 0 {
			return nil
		}
		in.ExclusiveStartKey = res.LastEvaluatedKey
	}
}

// Table returns the name of the store's table.
func (s *Store) Table() string { return s.table }

// atMostOnce is the option of an atomic ADD to a counter: a connection lost
// after the request left is not retried, since DynamoDB may have added it
// already; a count is then short by one rather than counted twice.
func atMostOnce(o *dynamodb.Options) { o.Retryer = atMostOnceRetryer() }

// atMostOnceRetryer is made once: a retryer keeps its retry tokens across
// calls, as the client's own does.
var atMostOnceRetryer = sync.OnceValue(awsretry.Retryer)
