package dynamo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
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
		{"ces_n", &c.CESCount}, {"ces_sum", &c.CESSum}, {"unhappy", &c.Unhappy},
		{"closing_sent", &c.ClosingSent},
		{"checkins_sent", &c.CheckInsSent}, {"checkins_yes", &c.CheckInsYes}, {"checkins_no", &c.CheckInsNo},
		{"answered", &c.Answered}, {"solved", &c.Solved}, {"reopened", &c.Reopened}, {"repeat_7d", &c.Repeat7}, {"repeat_30d", &c.Repeat30},
		{"repeat_tag_7d", &c.RepeatTag7}, {"repeat_tag_30d", &c.RepeatTag30},
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

// AddCounters adds c to the counters of the day of t (in the team's zone)
// with one atomic ADD, and to the same day's counters of each breakdown in
// dims (one ADD each). Zero fields are left out; an all-zero c writes
// nothing.
func (s *Store) AddCounters(ctx context.Context, t time.Time, c closeloop.Counters, dims ...closeloop.Dims) error {
	if err := s.addCountersAt(ctx, t, "COUNTERS", c); err != nil {
		return err
	}
	for _, d := range dims {
		for _, k := range d.Keys() {
			if err := s.addCountersAt(ctx, t, countersPrefix+k, c); err != nil {
				return err
			}
		}
	}
	return nil
}

// countersPrefix starts the sort key of a breakdown's counters:
// DAY#<date> / COUNTERS#<dimension>#<value>.
const countersPrefix = "COUNTERS#"

// addCountersAt adds c to the one counters item sk of the day of t.
func (s *Store) addCountersAt(ctx context.Context, t time.Time, sk string, c closeloop.Counters) error {
	var parts []string
	vals := map[string]types.AttributeValue{}
	for i, a := range counterAttrs(&c) {
		if *a.v != 0 {
			parts = append(parts, fmt.Sprintf("%s :v%d", a.name, i))
			vals[fmt.Sprintf(":v%d", i)] = num(*a.v)
		}
	}
	if len(parts) == 0 {
		return nil
	}
	_, err := s.update(ctx, &dynamodb.UpdateItemInput{
		Key: key(dayPrefix+s.day(t), sk), UpdateExpression: aws.String("ADD " + strings.Join(parts, ", ")), ExpressionAttributeValues: vals,
	}, atMostOnce)
	if err != nil {
		return fmt.Errorf("add counters of %s: %w", s.day(t), err)
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
// (inclusive dates, days in the team's zone), in order, with zero counters
// for days with none. It reads one item per day, in batches of 100,
// whatever the number of responses. Keys DynamoDB leaves unprocessed
// (throttling) are asked for again with a growing back-off.
func (s *Store) CountersBetween(ctx context.Context, from, to time.Time) ([]closeloop.DayCounters, error) {
	return s.countersBetween(ctx, from, to, "COUNTERS")
}

// BreakdownCountersBetween is CountersBetween for one value of one
// breakdown (closeloop.Breakdowns), e.g. "source", "zendesk".
func (s *Store) BreakdownCountersBetween(ctx context.Context, from, to time.Time, name, value string) ([]closeloop.DayCounters, error) {
	return s.countersBetween(ctx, from, to, countersPrefix+name+"#"+closeloop.DimValue(value))
}

func dates(from, to time.Time) []string {
	var days []string
	for d := from.UTC().Truncate(24 * time.Hour); !d.After(to); d = d.Add(24 * time.Hour) {
		days = append(days, d.Format(time.DateOnly))
	}
	return days
}

func (s *Store) countersBetween(ctx context.Context, from, to time.Time, sk string) ([]closeloop.DayCounters, error) {
	days := dates(from, to)
	keys := make([]map[string]types.AttributeValue, len(days))
	for i, d := range days {
		keys[i] = key(dayPrefix+d, sk)
	}
	got := map[string]closeloop.Counters{}
	err := s.batchGet(ctx, keys, false, func(m map[string]types.AttributeValue) error {
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

// Breakdown returns the counters of [from, to] of every value of breakdown
// name (closeloop.Breakdowns) that has any: one query per day, whatever the
// number of responses.
func (s *Store) Breakdown(ctx context.Context, from, to time.Time, name string) (map[string]closeloop.Counters, error) {
	out := map[string]closeloop.Counters{}
	prefix := countersPrefix + name + "#"
	for _, d := range dates(from, to) {
		err := s.query(ctx, &dynamodb.QueryInput{
			KeyConditionExpression:    aws.String("pk = :d AND begins_with(sk, :p)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":d": str(dayPrefix + d), ":p": str(prefix)},
		}, 0, func(m map[string]types.AttributeValue) error {
			sk, _ := m["sk"].(*types.AttributeValueMemberS)
			if sk == nil {
				return nil
			}
			c, err := countersOf(m)
			if err != nil {
				return err
			}
			v := strings.TrimPrefix(sk.Value, prefix)
			out[v] = out[v].Add(c)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("breakdown by %s on %s: %w", name, d, err)
		}
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
