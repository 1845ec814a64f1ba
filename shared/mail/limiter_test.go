package mail_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/closeloop/closeloop/shared/local/awstest"
	"github.com/closeloop/closeloop/shared/mail"
)

// stamped records when each SendEmail call reached the real local SES.
type stamped struct {
	next mail.Client
	mu   sync.Mutex
	at   []time.Time
}

func (s *stamped) SendEmail(ctx context.Context, in *sesv2.SendEmailInput, o ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error) {
	s.mu.Lock()
	s.at = append(s.at, time.Now())
	s.mu.Unlock()
	return s.next.SendEmail(ctx, in, o...)
}

// TestSharedLimiterKeepsTheQuota: four senders, each with its own limiter
// (as four Lambda instances have) over one table, sending as fast as they
// can against a quota of 20 a second: in no second do they send more than
// the quota's share between them, and every email goes.
func TestSharedLimiterKeepsTheQuota(t *testing.T) {
	store := awstest.Store(t)
	ses := &stamped{next: awstest.SES()}
	const quota, each = 20, 15
	var wg sync.WaitGroup
	for range 4 {
		s := mail.NewSender(ses, "Acme <support@acme.test>", "", &mail.Shared{Store: store, Quota: mail.Fixed(quota)})
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				if _, err := s.Send(context.Background(), mail.Message{To: awstest.Email(), Subject: "s", Text: "t"}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if len(ses.at) != 4*each {
		t.Fatalf("%d emails sent, want %d", len(ses.at), 4*each)
	}
	per := map[int64]int{}
	for _, at := range ses.at {
		per[at.Unix()]++
	}
	ceiling := int(quota * mail.ShareOf)
	for sec, n := range per {
		if n > ceiling {
			t.Errorf("second %d: %d emails, over the shared ceiling of %d", sec, n, ceiling)
		}
	}
	if len(per) < (4*each+ceiling-1)/ceiling {
		t.Errorf("%d emails in %d seconds: faster than the quota allows", 4*each, len(per))
	}
}

// TestAccountQuota reads the sending rate from SES's GetAccount (the local
// server answers as an account with the default production quota).
func TestAccountQuota(t *testing.T) {
	q, err := mail.AccountQuota(awstest.SES())(context.Background())
	if err != nil || q != 14 {
		t.Errorf("quota %v %v, want 14", q, err)
	}
}

// failingAccount is an SES whose GetAccount always fails: a fault injected
// on purpose.
type failingAccount struct{ calls int }

func (f *failingAccount) GetAccount(context.Context, *sesv2.GetAccountInput, ...func(*sesv2.Options)) (*sesv2.GetAccountOutput, error) {
	f.calls++
	return nil, errors.New("injected: AccessDenied")
}

// TestAccountQuotaUnreadable: when SES will not say the quota, sending goes
// on at SES's smallest rate (one a second, the sandbox's) rather than
// stopping, and the quota is asked again after a minute, not per email.
func TestAccountQuotaUnreadable(t *testing.T) {
	f := &failingAccount{}
	q := mail.AccountQuota(f)
	for range 50 {
		if r, err := q(context.Background()); err != nil || r != 1 {
			t.Fatalf("quota %v %v, want 1 a second", r, err)
		}
	}
	if f.calls != 1 {
		t.Errorf("%d GetAccount calls for 50 emails, want 1", f.calls)
	}
}

// TestNoEmailStartsNearTheDeadline: a sender whose invocation ends within
// mail.SendMargin sends nothing and says so as a temporary error (the
// caller gives its claim back), and one waiting for the shared rate stops
// waiting in time, rather than be killed holding a claim whose email may
// or may not have gone.
func TestNoEmailStartsNearTheDeadline(t *testing.T) {
	ses := &stamped{next: awstest.SES()}
	s := mail.NewSender(ses, "Acme <support@acme.test>", "", nil)
	ctx, cancel := context.WithTimeout(context.Background(), mail.SendMargin/2)
	defer cancel()
	if _, err := s.Send(ctx, mail.Message{To: awstest.Email(), Subject: "s", Text: "t"}); !errors.Is(err, mail.ErrTemporary) {
		t.Errorf("send at the deadline: %v, want a temporary error", err)
	}
	// A limiter that would let it wait forever (a fault injected on
	// purpose): the wait ends a margin before the deadline.
	waiting := mail.NewSender(ses, "Acme <support@acme.test>", "", never{})
	ctx, cancel = context.WithTimeout(context.Background(), mail.SendMargin+300*time.Millisecond)
	defer cancel()
	if _, err := waiting.Send(ctx, mail.Message{To: awstest.Email(), Subject: "s", Text: "t"}); !errors.Is(err, mail.ErrTemporary) || ctx.Err() != nil {
		t.Errorf("send waiting past the margin: %v (the invocation's context: %v); want a temporary error before the deadline", err, ctx.Err())
	}
	if _, err := s.Send(context.Background(), mail.Message{To: awstest.Email(), Subject: "s", Text: "t"}); err != nil {
		t.Fatalf("send without a deadline: %v", err)
	}
	if len(ses.at) != 1 {
		t.Errorf("%d emails reached SES, want only the one without a deadline", len(ses.at))
	}
}

// never is a limiter that never grants.
type never struct{}

func (never) Wait(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
