package mail

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"golang.org/x/time/rate"
)

// Limiter decides when the next email may go.
type Limiter interface {
	Wait(ctx context.Context) error
}

// Every is a limiter of this process alone: perSecond emails a second.
func Every(perSecond float64) Limiter {
	return rate.NewLimiter(rate.Limit(perSecond), max(1, int(perSecond)))
}

// TokenStore hands out the stack's sending permission, second by second,
// to every sender together (dynamo.Store.TakeSendTokens).
type TokenStore interface {
	TakeSendTokens(ctx context.Context, second int64, n, limit int) (int, error)
}

// Quota says how many emails a second the account may send.
type Quota func(ctx context.Context) (float64, error)

// Fixed is a quota of perSecond emails a second.
func Fixed(perSecond float64) Quota {
	return func(context.Context) (float64, error) { return perSecond, nil }
}

// AccountQuota reads the account's SES sending rate (GetAccount's
// SendQuota.MaxSendRate), once an hour at most. When SES will not say
// (a denied or failing call), sending goes on at SES's smallest rate, one a
// second, and the quota is asked again after a minute: never once per
// email, and never a stop.
func AccountQuota(ses interface {
	GetAccount(context.Context, *sesv2.GetAccountInput, ...func(*sesv2.Options)) (*sesv2.GetAccountOutput, error)
}) Quota {
	var mu sync.Mutex
	var rate float64
	var until time.Time
	return func(ctx context.Context) (float64, error) {
		mu.Lock()
		defer mu.Unlock()
		if time.Now().Before(until) {
			return rate, nil
		}
		// A read: the SDK's usual retries, not the senders' at-most-once.
		out, err := ses.GetAccount(ctx, &sesv2.GetAccountInput{}, func(o *sesv2.Options) { o.Retryer = retry.NewStandard() })
		if err == nil && (out.SendQuota == nil || out.SendQuota.MaxSendRate <= 0) {
			err = errors.New("the account reports no sending rate")
		}
		if err != nil {
			slog.WarnContext(ctx, "ses: the sending quota cannot be read; sending at 1 a second for a minute", "err", err)
			rate, until = 1, time.Now().Add(time.Minute)
			return rate, nil
		}
		rate, until = out.SendQuota.MaxSendRate, time.Now().Add(time.Hour)
		return rate, nil
	}
}

// Shared is the limiter every sender of a stack shares: in each second,
// their emails together stay at or under the quota, whatever their number.
// It takes permission from the store a few emails at a time (a fortieth of
// a second's worth), so at larger quotas most emails cost no store call;
// permission left over at the end of a second is dropped.
type Shared struct {
	Store TokenStore
	Quota Quota
	Now   func() time.Time // nil for time.Now

	mu        sync.Mutex
	second    int64
	tokens    int
	exhausted int64 // a second whose quota is spent
}

// ShareOf is the part of the account's quota Closeloop uses: the rest is
// left for anything else that sends from the account, and for clock skew
// between instances.
const ShareOf = 0.95

// Wait implements Limiter.
func (l *Shared) Wait(ctx context.Context) error {
	for {
		now := l.now()
		sec := now.Unix()
		l.mu.Lock()
		if sec != l.second {
			l.second, l.tokens = sec, 0
		}
		if l.tokens > 0 {
			l.tokens--
			l.mu.Unlock()
			return nil
		}
		spent := l.exhausted == sec
		l.mu.Unlock()
		if spent {
			next := time.Unix(sec+1, 0)
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(next.Sub(l.now())):
			}
			continue
		}
		q, err := l.Quota(ctx)
		if err != nil {
			return err
		}
		limit := max(1, int(math.Floor(q*ShareOf)))
		ask := max(1, limit/40)
		got, err := l.Store.TakeSendTokens(ctx, sec, ask, limit)
		if err != nil {
			return err
		}
		l.mu.Lock()
		if l.second == sec { // permission for a second already past is dropped
			l.tokens += got
			if got < ask {
				l.exhausted = sec
			}
		}
		l.mu.Unlock()
	}
}

func (l *Shared) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}
