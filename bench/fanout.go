package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/dynamo"
	"github.com/closeloop/closeloop/shared/fn/closing"
	"github.com/closeloop/closeloop/shared/local/devstack"
	"github.com/closeloop/closeloop/shared/local/localaws"
	"github.com/closeloop/closeloop/shared/local/localqueue"
	"github.com/closeloop/closeloop/shared/mail"
)

const (
	fanOutRecipients   = 10000
	throttledRecipient = 1000
	throttledRate      = 50 // emails a second the injected SES allows
	workers            = 4  // concurrent consumers, and concurrent senders in the bare loop
)

// countingSES records what SES accepted, per recipient, and can refuse calls
// above a rate with SES's throttling error: a fault injected on purpose.
type countingSES struct {
	next  mail.Client
	limit int // calls a second; 0 for none

	mu     sync.Mutex
	window time.Time
	inWin  int
	sent   map[string]int
	refuse int
}

func (c *countingSES) SendEmail(ctx context.Context, in *sesv2.SendEmailInput, opts ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error) {
	if c.limit > 0 {
		c.mu.Lock()
		now := time.Now()
		if now.Sub(c.window) >= time.Second {
			c.window, c.inWin = now, 0
		}
		c.inWin++
		over := c.inWin > c.limit
		if over {
			c.refuse++
		}
		c.mu.Unlock()
		if over {
			return nil, &types.TooManyRequestsException{Message: aws.String("injected: maximum sending rate exceeded")}
		}
	}
	out, err := c.next.SendEmail(ctx, in, opts...)
	if err == nil {
		c.mu.Lock()
		c.sent[in.Destination.ToAddresses[0]]++
		c.mu.Unlock()
	}
	return out, err
}

func (c *countingSES) tally() (emails, people, dups int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.sent {
		emails += n
		people++
		if n > 1 {
			dups += n - 1
		}
	}
	return
}

func fanOut(ctx context.Context, rep *Report, srv *localaws.Servers) error {
	ses := mail.SESClient(devstack.Env(closeloop.Config{}, srv.DynamoDB, srv.SES))
	clear := func() { http.Post(srv.SES+"/clear-store", "application/json", nil) }
	s, err := newStore(ctx, srv)
	if err != nil {
		return err
	}
	if err := answered(ctx, s, fanOutRecipients, time.Now(), 30, "fanout"); err != nil {
		return err
	}

	// The bare loop: the same number of SendEmail calls, same concurrency.
	clear()
	bare := &countingSES{next: ses, sent: map[string]int{}}
	sender := mail.NewSender(bare, "bench@example.com", "", nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= fanOutRecipients; i = next.Add(1) {
				m, _ := mail.ClosingEmail(fmt.Sprintf("bare%d@example.com", i), mail.Closing{Quote: "The export is slow", Summary: "Faster exports", Detail: "Exports take seconds now.", UnsubscribeURL: "https://fb.bench.example/u/x"})
				sender.Send(ctx, m)
			}
		}()
	}
	wg.Wait()
	bareRate := float64(fanOutRecipients) / time.Since(start).Seconds()
	rep.add(Figure{Section: "fanout", Name: fmt.Sprintf("bare SendEmail loop, %d emails, %d at a time", fanOutRecipients, workers), Value: fmt.Sprintf("%.0f emails/s (baseline)", bareRate)})

	// Closeloop's fan-out of one improvement to every recipient.
	clear()
	counted := &countingSES{next: ses, sent: map[string]int{}}
	rate, prog, dead, perEmail, err := runFanOut(ctx, s, counted, 0, "fanout")
	if err != nil {
		return err
	}
	emails, people, dups := counted.tally()
	rep.add(Figure{Section: "fanout", Name: fmt.Sprintf("closing fan-out to %d recipients, %d consumers", fanOutRecipients, workers),
		Value:  fmt.Sprintf("%.0f emails/s, %.2f× the bare loop; %d emails to %d people, %d duplicates, %d dead letters", rate, rate/bareRate, emails, people, dups, dead),
		Target: "≥ 0.8× the bare loop", Holds: holds(rate/bareRate >= 0.8),
		Note: fmt.Sprintf("each email also costs %.1f store calls, counted: its claim and its outcome with the told marker, plus per batch of %d one read of everything, the batch's progress and the day's counters; the bare loop makes none, and each call to the local DynamoDB server takes longer than the local SES server's answer", perEmail, closing.BatchSize)})
	rep.add(Figure{Section: "fanout", Name: "closing: store calls per email", Value: fmt.Sprintf("%.1f", perEmail), Target: "≤ 3", Holds: holds(perEmail <= 3)})
	rep.add(Figure{Section: "fanout", Name: "fan-out progress", Value: fmt.Sprintf("recipients %d, sent %d, failed %d, suppressed %d", prog.Recipients, prog.Sent, prog.Failed, prog.Suppressed),
		Target: "every recipient sent once", Holds: holds(prog.Sent == fanOutRecipients && dups == 0 && people == fanOutRecipients)})

	// With SES throttling injected at a fixed rate, and the sender keeping to it.
	clear()
	if err := answered(ctx, s, throttledRecipient, time.Now().Add(-time.Hour), 30, "throttled"); err != nil {
		return err
	}
	throttled := &countingSES{next: ses, sent: map[string]int{}, limit: throttledRate}
	rate, prog, dead, _, err = runFanOut(ctx, s, throttled, throttledRate, "throttled")
	if err != nil {
		return err
	}
	emails, people, dups = throttled.tally()
	lost := throttledRecipient - people
	rep.add(Figure{Section: "fanout", Name: fmt.Sprintf("fan-out to %d with SES refusing above %d/s", throttledRecipient, throttledRate),
		Value:  fmt.Sprintf("%.1f emails/s (%.0f%% of the allowed rate); %d refused by SES and retried; %d lost, %d duplicates, %d dead letters", rate, 100*rate/throttledRate, throttled.refuse, lost, dups, dead),
		Target: "holds the rate, no loss or duplicate", Holds: holds(lost == 0 && dups == 0 && rate >= 0.8*throttledRate && emails == throttledRecipient)})
	return nil
}

// runFanOut announces an improvement on theme and runs the closing function
// over an in-process queue with workers consumers until every message is
// handled. It returns the email rate, the final progress, dead letters and
// the store calls the closing function made per email sent.
func runFanOut(ctx context.Context, s *dynamo.Store, ses *countingSES, perSecond float64, theme string) (float64, closeloop.Progress, int, float64, error) {
	if _, err := s.PutTheme(ctx, closeloop.Theme{Name: theme}); err != nil {
		return 0, closeloop.Progress{}, 0, 0, err
	}
	im, err := closeloop.NewImprovement(theme, "Faster exports", "Exports take seconds now.", time.Now())
	if err != nil {
		return 0, closeloop.Progress{}, 0, 0, err
	}
	if err := s.CreateImprovement(ctx, im); err != nil {
		return 0, closeloop.Progress{}, 0, 0, err
	}
	var calls atomic.Int64
	var opsMu sync.Mutex
	ops := map[string]int{}
	s.Capacity = func(op string, _, _ float64) {
		calls.Add(1)
		opsMu.Lock()
		ops[op]++
		opsMu.Unlock()
	}
	defer func() {
		if os.Getenv("BENCH_FANOUT_TRACE") != "" {
			fmt.Fprintln(os.Stderr, "store calls by operation:", ops)
		}
	}()
	defer func() { s.Capacity = nil }()
	q := &localqueue.Queue{Visibility: 2 * time.Second}
	var lim mail.Limiter // the shared limiter every sender of a stack uses
	if perSecond > 0 {
		lim = &mail.Shared{Store: s, Quota: mail.Fixed(perSecond)}
	}
	h := closing.New(closeloop.Config{BaseURL: "https://fb.bench.example", ContactKey: benchKey}, s, mail.NewSender(ses, "bench@example.com", "", lim), q)
	q.Send(ctx, closing.Announce(im.ID))
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for q.Len() > 0 {
				if n, _ := q.Poll(ctx, h.Handle); n == 0 {
					time.Sleep(20 * time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	got, err := s.GetImprovement(ctx, im.ID)
	if err != nil {
		return 0, closeloop.Progress{}, 0, 0, err
	}
	emails, _, _ := ses.tally()
	perEmail := 0.0
	if emails > 0 {
		perEmail = float64(calls.Load()) / float64(emails)
	}
	return float64(emails) / elapsed.Seconds(), got.Progress, len(q.Dead()), perEmail, nil
}
