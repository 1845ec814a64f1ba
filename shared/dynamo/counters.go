package dynamo

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/closeloop/closeloop/shared/closeloop"
)

// AddCounters adds c to the counters of the day of t with one atomic ADD.
// Zero fields are left out; an all-zero c writes nothing.
func (s *Store) AddCounters(ctx context.Context, t time.Time, c closeloop.Counters) error {
	var parts []string
	vals := map[string]types.AttributeValue{}
	v, ty := reflect.ValueOf(c), reflect.TypeOf(c)
	for i := 0; i < ty.NumField(); i++ {
		n := v.Field(i).Int()
		if n == 0 {
			continue
		}
		attr := strings.Split(ty.Field(i).Tag.Get("dynamodbav"), ",")[0]
		parts = append(parts, fmt.Sprintf("%s :v%d", attr, i))
		vals[fmt.Sprintf(":v%d", i)] = num(n)
	}
	if len(parts) == 0 {
		return nil
	}
	expr := "ADD " + strings.Join(parts, ", ")
	_, err := s.update(ctx, &dynamodb.UpdateItemInput{
		Key: key(dayPrefix+day(t), "COUNTERS"), UpdateExpression: &expr, ExpressionAttributeValues: vals,
	})
	if err != nil {
		return fmt.Errorf("add counters of %s: %w", day(t), err)
	}
	return nil
}

// DayCounters is one day's counters.
type DayCounters struct {
	Day string // YYYY-MM-DD
	closeloop.Counters
}

// CountersBetween returns the counters of every day from from to to
// (inclusive, UTC), in order, with zero counters for days with none. It
// reads one item per day, in batches of 100, whatever the number of responses.
func (s *Store) CountersBetween(ctx context.Context, from, to time.Time) ([]DayCounters, error) {
	var days []string
	for d := from.UTC().Truncate(24 * time.Hour); !d.After(to); d = d.Add(24 * time.Hour) {
		days = append(days, day(d))
	}
	got := map[string]closeloop.Counters{}
	for start := 0; start < len(days); start += 100 {
		var keys []map[string]types.AttributeValue
		for _, d := range days[start:min(start+100, len(days))] {
			keys = append(keys, key(dayPrefix+d, "COUNTERS"))
		}
		req := map[string]types.KeysAndAttributes{s.table: {Keys: keys}}
		for len(req) > 0 {
			res, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req, ReturnConsumedCapacity: s.rcc()})
			if err != nil {
				return nil, fmt.Errorf("read counters: %w", err)
			}
			for i := range res.ConsumedCapacity {
				s.consumed("BatchGetItem", &res.ConsumedCapacity[i])
			}
			for _, m := range res.Responses[s.table] {
				var it struct {
					PK string `dynamodbav:"pk"`
					closeloop.Counters
				}
				if err := unmarshal(m, &it); err != nil {
					return nil, err
				}
				got[strings.TrimPrefix(it.PK, dayPrefix)] = it.Counters
			}
			req = res.UnprocessedKeys
		}
	}
	out := make([]DayCounters, len(days))
	for i, d := range days {
		out[i] = DayCounters{Day: d, Counters: got[d]}
	}
	return out, nil
}
