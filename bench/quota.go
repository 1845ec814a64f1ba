package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/dynamo"
	"github.com/closeloop/closeloop/shared/fn/closing"
	"github.com/closeloop/closeloop/shared/fn/surveysweep"
	"github.com/closeloop/closeloop/shared/fn/webhook"
	"github.com/closeloop/closeloop/shared/local/devstack"
	"github.com/closeloop/closeloop/shared/local/localaws"
	"github.com/closeloop/closeloop/shared/local/localqueue"
	"github.com/closeloop/closeloop/shared/mail"
)

// quotaSeconds is how long each quota scenario has work for, at the quota.
const quotaSeconds = 8

// quotaShare measures the sweep and the closing function sending at once,
// each sender with its own shared limiter over one table (as separate
// Lambda instances are), against an SES that refuses anything above the
// simulated quota: the combined rate as a share of the quota, the busiest
// second, and lost and duplicate emails.
func quotaShare(ctx context.Context, rep *Report, srv *localaws.Servers) error {
	for _, quota := range []int{50, 200, 1000} {
		if err := quotaRun(ctx, rep, srv, quota); err != nil {
			return err
		}
	}
	return nil
}

func quotaRun(ctx context.Context, rep *Report, srv *localaws.Servers, quota int) error {
	http.Post(srv.SES+"/clear-store", "application/json", nil)
	s, err := newStore(ctx, srv)
	if err != nil {
		return err
	}
	ses := &stampingSES{countingSES: countingSES{next: mail.SESClient(devstack.Env(closeloop.Config{}, srv.DynamoDB, srv.SES)), sent: map[string]int{}}, quota: quota}
	// Half the work is surveys due now (scheduled through the webhook's own
	// Apply), half a "you said, we did" announcement.
	surveys, announced := quota*quotaSeconds/2, quota*quotaSeconds/2
	theme := fmt.Sprintf("quota%d", quota)
	if err := answered(ctx, s, announced, time.Now().Add(-time.Hour), 30, theme); err != nil {
		return err
	}
	cfg := closeloop.Config{BaseURL: "https://fb.bench.example", SurveyKind: closeloop.CSAT, SendWindow: closeloop.SendWindow{Always: true}, ContactKey: benchKey}
	wh := webhook.New(cfg, s)
	solved := time.Now().Add(-2 * time.Hour)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)); i <= surveys; i = int(next.Add(1)) {
				ev := closeloop.TicketEvent{Source: "generic", EventID: fmt.Sprintf("q%d-%d", quota, i), TicketID: fmt.Sprintf("Q%d-%d", quota, i),
					Status: closeloop.StatusSolved, OccurredAt: solved, Customer: closeloop.Person{Email: fmt.Sprintf("s%d-%d@example.com", quota, i)}}
				if _, err := wh.Apply(ctx, ev, time.Now()); err != nil {
					fmt.Println("seed:", err)
				}
			}
		}()
	}
	wg.Wait()
	if _, err := s.PutTheme(ctx, closeloop.Theme{Name: theme}); err != nil {
		return err
	}
	im, err := closeloop.NewImprovement(theme, "Faster exports", "Exports take seconds now.", time.Now())
	if err != nil {
		return err
	}
	if err := s.CreateImprovement(ctx, im); err != nil {
		return err
	}
	sender := func() *mail.Sender {
		return mail.NewSender(ses, "bench@example.com", "", &mail.Shared{Store: s, Quota: mail.Fixed(float64(quota))})
	}
	cpu0 := cpuTimes()
	var calls atomic.Int64 // store calls while sending, of every sender
	s.Capacity = func(string, float64, float64) { calls.Add(1) }
	sweep := surveysweep.New(cfg, s, sender())
	q := &localqueue.Queue{Visibility: 5 * time.Second}
	q.Send(ctx, closing.Announce(im.ID))
	start := time.Now()
	// One sweep (reserved concurrency 1), five closing instances.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for time.Since(start) < 10*quotaSeconds*time.Second {
			res, err := sweep.Run(ctx)
			if err != nil || res.Sent+res.Retried == 0 {
				return
			}
		}
	}()
	for w := 0; w < 5; w++ {
		h := closing.New(cfg, s, sender(), q)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for q.Len() > 0 && time.Since(start) < 10*quotaSeconds*time.Second {
				if n, _ := q.Poll(ctx, h.Handle); n == 0 {
					time.Sleep(20 * time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	s.Capacity = nil
	emails, people, dups := ses.tally()
	rate, busiest := ses.steady()
	load := storeLoad{perSecond: float64(calls.Load()) / elapsed.Seconds(), perEmail: float64(calls.Load()) / float64(max(emails, 1)), busy: cpuTimes().busySince(cpu0)}
	if rate < 0.9*float64(quota) {
		if load.ceiling, err = storeCeiling(ctx, s, 5+surveysweep.DefaultWorkers); err != nil {
			return err
		}
	}
	lost := surveys + announced - people
	share := rate / float64(quota)
	rep.add(Figure{Section: "quota", Name: fmt.Sprintf("sweep and closing at once, simulated SES quota %d/s", quota),
		Value: fmt.Sprintf("%.0f emails/s together over the whole seconds (%.0f%% of the quota), busiest second %d; %d emails to %d people, %d refused by SES and retried, %d lost, %d duplicates",
			rate, 100*share, busiest, emails, people, ses.refuse, lost, dups),
		Target: "≥ 90% of the quota, never above it, 0 lost, 0 duplicates",
		Holds:  holds(share >= 0.9 && busiest <= quota && lost == 0 && dups == 0),
		Note:   quotaNote(quota, busiest, load)})
	return nil
}

// stampingSES is countingSES under a simulated account quota: it refuses,
// with SES's throttling error, any email beyond quota in one second, and
// notes per second the emails it accepted.
type stampingSES struct {
	countingSES
	quota  int
	smu    sync.Mutex
	perSec map[int64]int
	first  time.Time
	last   time.Time
}

func (s *stampingSES) SendEmail(ctx context.Context, in *sesv2.SendEmailInput, opts ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error) {
	now := time.Now()
	s.smu.Lock()
	if s.perSec == nil {
		s.perSec, s.first = map[int64]int{}, now
	}
	if s.perSec[now.Unix()] >= s.quota {
		s.smu.Unlock()
		s.mu.Lock()
		s.refuse++
		s.mu.Unlock()
		return nil, &types.TooManyRequestsException{Message: aws.String("injected: maximum sending rate exceeded")}
	}
	s.perSec[now.Unix()]++
	s.last = now
	s.smu.Unlock()
	return s.countingSES.SendEmail(ctx, in, opts...)
}

// steady is the mean of emails accepted per whole second, between the
// first second and the last (both partly used, so left out), and the most
// accepted in any one second.
func (s *stampingSES) steady() (mean float64, busiest int) {
	s.smu.Lock()
	defer s.smu.Unlock()
	total, secs := 0, 0
	for sec := s.first.Unix() + 1; sec < s.last.Unix(); sec++ {
		total += s.perSec[sec]
		secs++
	}
	for _, n := range s.perSec {
		busiest = max(busiest, n)
	}
	if secs == 0 {
		return 0, busiest
	}
	return float64(total) / float64(secs), busiest
}

// storeLoad is what the senders asked of the store: calls a second and
// per email, and, when they fell short of the quota, what the local
// DynamoDB server serves at most at the same concurrency.
type storeLoad struct {
	perSecond, perEmail, ceiling float64
	busy                         float64 // share of the machine's CPU time in use while sending; -1 when unknown
}

// cpu is the machine's CPU time so far, busy and in all, from /proc/stat.
type cpu struct{ busy, total float64 }

func cpuTimes() cpu {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpu{}
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	var c cpu
	for i, v := range f[1:] {
		n, _ := strconv.ParseFloat(v, 64)
		c.total += n
		if i != 3 && i != 4 { // idle and iowait
			c.busy += n
		}
	}
	return c
}

func (c cpu) busySince(start cpu) float64 {
	if c.total <= start.total {
		return -1
	}
	return (c.busy - start.busy) / (c.total - start.total)
}

// storeCeiling measures how many small conditional writes a second the
// local DynamoDB server serves to workers at once: the most the senders
// could get from it.
func storeCeiling(ctx context.Context, s *dynamo.Store, workers int) (float64, error) {
	var n atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Since(start) < 3*time.Second; i++ {
				// The shape of a claim: a conditional put of a new small item.
				if err := s.Claim(ctx, fmt.Sprintf("ceiling/%d/%d/%d", start.UnixNano(), w, i), time.Now()); err != nil {
					failed.Store(err)
					return
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		return 0, err
	}
	return float64(n.Load()) / time.Since(start).Seconds(), nil
}

// quotaNote says what held the rate back when the senders did not fill
// the quota.
func quotaNote(quota, busiest int, load storeLoad) string {
	ceiling := int(float64(quota) * mail.ShareOf)
	if busiest >= ceiling {
		return fmt.Sprintf("the limiter's ceiling is %d/s (%.0f%% of the quota, the rest left for other senders of the account and clock skew)", ceiling, 100*mail.ShareOf)
	}
	note := fmt.Sprintf("no second reached the limiter's ceiling of %d/s: the senders' own pace held them back, not the shared limiter. The senders made %.0f store calls a second (%.1f per email, surveys and closing emails together)", ceiling, load.perSecond, load.perEmail)
	if load.ceiling > 0 {
		note += fmt.Sprintf(", %.0f%% of the %.0f small writes a second the local DynamoDB server serves alone at the same concurrency, measured beside it", 100*load.perSecond/load.ceiling, load.ceiling)
	}
	if load.busy >= 0 {
		note += fmt.Sprintf("; the machine's %d cores were %.0f%% busy while sending, shared by the senders, the local DynamoDB server and the local SES server", runtime.NumCPU(), 100*load.busy)
		if load.busy > 0.8 {
			note += ": this machine's CPU, nearly spent, is the limit at this rate, not the limiter"
		}
	}
	return note
}
