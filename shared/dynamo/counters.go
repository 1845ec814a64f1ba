package dynamo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/closeloop/closeloop/shared/closeloop"
)

// counterAttrs maps each field of closeloop.Counters to its attribute on a
// DAY#<date>/COUNTERS item, in one place for writing and reading.
func counterAttrs(c *closeloop.Counters) []struct {
	name string
	v    *int64
} {
	l := &c.Loops
	attrs := []struct {
		name string
		v    *int64
	}{
		{"surveys_sent", &c.SurveysSent}, {"responses", &c.Responses},
		{"csat_n", &c.CSATCount}, {"csat_sat", &c.CSATSatisfied}, {"csat_sum", &c.CSATSum},
		{"nps_n", &c.NPSCount}, {"nps_pro", &c.NPSPromoters}, {"nps_det", &c.NPSDetractors},
		{"ces_n", &c.CESCount}, {"ces_sum", &c.CESSum},
		{"closing_sent", &c.ClosingSent},
		{"checkins_sent", &c.CheckInsSent}, {"checkins_yes", &c.CheckInsYes}, {"checkins_no", &c.CheckInsNo},
		{"detractors", &l.Detractors}, {"detractors_contacted", &l.DetractorsContacted},
		{"theme_raisers", &l.ThemeRaisers}, {"theme_raisers_told", &l.ThemeRaisersTold},
		{"score_told_sum", &l.ScoreToldSum}, {"score_told_n", &l.ScoreToldN},
		{"score_not_told_sum", &l.ScoreNotToldSum}, {"score_not_told_n", &l.ScoreNotToldN},
	}
	for i := range l.ContactHours {
		attrs = append(attrs, struct {
			name string
			v    *int64
		}{fmt.Sprintf("contact_h%d", i), &l.ContactHours[i]}, struct {
			name string
			v    *int64
		}{fmt.Sprintf("told_h%d", i), &l.ToldHours[i]})
	}
	return attrs
}

// AddCounters adds c to the counters of the day of t with one atomic ADD.
// Zero fields are left out; an all-zero c writes nothing.
func (s *Store) AddCounters(ctx context.Context, t time.Time, c closeloop.Counters) error {
	var parts []string
	vals := map[string]types.AttributeValue{}
	for i, a := range counterAttrs(&c) {
		if *a.v == 0 {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s :v%d", a.name, i))
		vals[fmt.Sprintf(":v%d", i)] = num(*a.v)
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

// countersOf reads a counters item; attributes it lacks are zero.
func countersOf(m map[string]types.AttributeValue) (closeloop.Counters, error) {
	var c closeloop.Counters
	for _, a := range counterAttrs(&c) {
		n, ok := m[a.name].(*types.AttributeValueMemberN)
		if !ok {
			continue
		}
		v, err := strconv.ParseInt(n.Value, 10, 64)
		if err != nil {
			return c, fmt.Errorf("counter %s: %w", a.name, err)
		}
		*a.v = v
	}
	return c, nil
}

// CountersBetween returns the counters of every day from from to to
// (inclusive, UTC), in order, with zero counters for days with none. It
// reads one item per day, in batches of 100, whatever the number of
// responses. Keys DynamoDB leaves unprocessed (throttling) are asked for
// again with a growing back-off.
func (s *Store) CountersBetween(ctx context.Context, from, to time.Time) ([]closeloop.DayCounters, error) {
	var days []string
	for d := from.UTC().Truncate(24 * time.Hour); !d.After(to); d = d.Add(24 * time.Hour) {
		days = append(days, day(d))
	}
	keys := make([]map[string]types.AttributeValue, len(days))
	for i, d := range days {
		keys[i] = key(dayPrefix+d, "COUNTERS")
	}
	got := map[string]closeloop.Counters{}
	err := s.batchGet(ctx, keys, func(m map[string]types.AttributeValue) error {
		pk, _ := m["pk"].(*types.AttributeValueMemberS)
		if pk == nil {
			return nil
		}
		c, err := countersOf(m)
		if err != nil {
			return fmt.Errorf("counters of %s: %w", pk.Value, err)
		}
		got[strings.TrimPrefix(pk.Value, dayPrefix)] = c
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read counters: %w", err)
	}
	out := make([]closeloop.DayCounters, len(days))
	for i, d := range days {
		out[i] = closeloop.DayCounters{Day: d, Counters: got[d]}
	}
	return out, nil
}

// maxBackOff caps the wait between retries of unprocessed keys.
const maxBackOff = 2 * time.Second

// backOff waits before retry attempt (1, 2, …): 50 ms doubling up to
// maxBackOff, with full jitter, as AWS advises for unprocessed items.
func backOff(ctx context.Context, attempt int) error {
	d := min(maxBackOff, 50*time.Millisecond<<min(attempt-1, 10))
	t := time.NewTimer(time.Duration(rand.Int64N(int64(d)) + 1))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
