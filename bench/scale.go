package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/dynamo"
	"github.com/closeloop/closeloop/shared/local/devstack"
	"github.com/closeloop/closeloop/shared/local/localaws"
)

// newStore is a store over a fresh table on the local server.
func newStore(ctx context.Context, srv *localaws.Servers) (*dynamo.Store, error) {
	db := devstack.Env(closeloop.Config{}, srv.DynamoDB, srv.SES).DynamoDB()
	table := fmt.Sprintf("bench%d", time.Now().UnixNano())
	if err := dynamo.CreateTable(ctx, db, table); err != nil {
		return nil, err
	}
	s := dynamo.NewStore(db, table)
	s.Key = benchKey
	return s, nil
}

// answered stores n answered surveys through the store's real methods, one
// contact each, spread over the days before end; themes go on every answer.
func answered(ctx context.Context, s *dynamo.Store, n int, end time.Time, days int, themes ...string) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				at := end.Add(-time.Duration(i%days) * 24 * time.Hour)
				email := fmt.Sprintf("c%d-%d@example.com", end.UnixNano(), i)
				cid, err := s.ContactID(email) // keyed, as every contact since keyed ids
				if err != nil {
					errs <- err
					return
				}
				if len(themes) > 0 {
					if err := s.UpsertContact(ctx, closeloop.Contact{ID: cid, Email: email, Name: "Customer"}); err != nil {
						errs <- err
						return
					}
				}
				_, id := closeloop.NewToken()
				sv := closeloop.Survey{ID: id, Source: "generic", TicketID: id[:8], ContactID: cid, Kind: closeloop.CSAT, SentAt: at, ExpiresAt: at.Add(closeloop.SurveyTTL)}
				if err := s.CreateSurvey(ctx, sv); err != nil {
					errs <- err
					return
				}
				if _, err := s.Answer(ctx, sv, 1+i%5, "The export is slow", themes, at); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// metricsScale measures what the 90-day metrics read costs with 1,000 and
// with 50,000 responses stored: the totals, a breakdown by each of source,
// agent, kind and theme, and the figures of one source.
func metricsScale(ctx context.Context, rep *Report, srv *localaws.Servers) error {
	s, err := newStore(ctx, srv)
	if err != nil {
		return err
	}
	var rcu float64
	var calls int
	read := func() (float64, int, error) {
		rcu, calls = 0, 0
		s.Capacity = func(op string, r, w float64) { rcu += r; calls++ }
		end := time.Now().UTC()
		from := end.AddDate(0, 0, -89)
		_, err := s.CountersBetween(ctx, from, end)
		for _, name := range closeloop.Breakdowns {
			if err == nil {
				_, err = s.Breakdown(ctx, from, end, name)
			}
		}
		if err == nil {
			_, err = s.BreakdownCountersBetween(ctx, from, end, "source", "generic")
		}
		s.Capacity = nil
		return rcu, calls, err
	}
	end := time.Now().UTC()
	if err := answered(ctx, s, 1000, end, 90); err != nil {
		return err
	}
	small, smallCalls, err := read()
	if err != nil {
		return err
	}
	started := time.Now()
	if err := answered(ctx, s, 49000, end.Add(-time.Nanosecond), 90); err != nil {
		return err
	}
	fill := time.Since(started)
	large, largeCalls, err := read()
	if err != nil {
		return err
	}
	rep.add(Figure{Section: "scale", Name: "90-day report with breakdowns, 1,000 responses", Value: fmt.Sprintf("%.1f RCU in %d requests", small, smallCalls)})
	rep.add(Figure{Section: "scale", Name: "90-day report with breakdowns, 50,000 responses", Value: fmt.Sprintf("%.1f RCU in %d requests (%.2f× the 1,000 case)", large, largeCalls, large/small),
		Target: "same as at 1,000", Holds: holds(large == small && largeCalls == smallCalls),
		Note: fmt.Sprintf("49,000 more responses stored through the real store in %s", fill.Round(time.Second))})
	return nil
}
