package mail

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

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
// SendQuota.MaxSendRate), once an hour at most.
func AccountQuota(ses interface {
	GetAccount(context.Context, *sesv2.GetAccountInput, ...func(*sesv2.Options)) (*sesv2.GetAccountOutput, error)
}) Quota {
	var mu sync.Mutex
	var rate float64
	var read time.Time
	return func(ctx context.Context) (float64, error) {
		mu.Lock()
		defer mu.Unlock()
		if rate > 0 && time.Since(read) < time.Hour {
			return rate, nil
		}
		out, err := ses.GetAccount(ctx, &sesv2.GetAccountInput{})
		if err != nil {
			return 0, fmt.Errorf("read the SES sending quota: %w", err)
		}
		if out.SendQuota == nil || out.SendQuota.MaxSendRate <= 0 {
			return 0, fmt.Errorf("read the SES sending quota: the account reports no sending rate")
		}
		rate, read = out.SendQuota.MaxSendRate, time.Now()
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
		limit := int(math.Floor(q * ShareOf))
		limit = max(1, limit)
		ask := max(1, limit/40)
		got, err := l.Store.TakeSendTokens(ctx, sec, ask, limit)
		if err != nil {
			return err
		}
		l.mu.Lock()
		if l.second == sec {
			l.tokens += got
			if got < ask {
				l.exhausted = sec
			}
		} else if got < ask {
			l.exhausted = sec
		}
		l.mu.Unlock()
		if got == 0 {
			slog.DebugContext(ctx, "sending quota spent for this second", "limit", limit)
		}
	}
}

func (l *Shared) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}
