// Package loadtest drives the whole stack through its HTTP API the way a
// busy helpdesk would: thousands of signed deliveries at once, duplicated,
// reopened and solved again in random order, with faults injected between
// the functions and DynamoDB and SES, then several sweeps at once. It
// checks the one promise that matters: exactly one survey email per ticket
// that ended solved, none for a ticket that ended reopened.
//
// make test runs it small (500 deliveries); make load runs the issue's
// full size (CLOSELOOP_LOAD=full: 5,000 deliveries for 3,000 tickets) and
// prints the figures docs/reliability.md records.
package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/helpdesk"
	"github.com/closeloop/closeloop/shared/local/awstest"
	"github.com/closeloop/closeloop/shared/local/localaws"
)

func TestMain(m *testing.M) { awstest.Main(m) }

// delivery is one signed webhook call; dup marks a resend of an earlier one.
type delivery struct {
	ticket, event, status string
	at                    time.Time
	dup                   bool
}

func TestLoad(t *testing.T) {
	tickets, deliveries, concurrency, sweepers := 300, 500, 50, 4
	if os.Getenv("CLOSELOOP_LOAD") == "full" {
		tickets, deliveries = 3000, 5000
	}
	rng := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))

	// One customer per ticket; a tenth of the tickets are reopened, half of
	// those solved again; the rest of the deliveries (about 30%) resend
	// earlier ones. Every event has its own time; the last decides.
	run := awstest.Name("")
	base := time.Now().Add(-40 * time.Minute)
	var plan []delivery
	endsSolved := map[string]bool{}
	for i := 0; i < tickets; i++ {
		id := fmt.Sprintf("L%s-%d", run, i)
		at := base.Add(time.Duration(rng.IntN(600)) * time.Second)
		seq := []string{"solved"}
		switch {
		case i%20 == 0:
			seq = append(seq, "reopened")
		case i%20 == 10:
			seq = append(seq, "reopened", "solved")
		}
		for k, status := range seq {
			plan = append(plan, delivery{ticket: id, event: fmt.Sprintf("%s-e%d", id, k), status: status, at: at.Add(time.Duration(k) * time.Minute)})
		}
		endsSolved[id] = seq[len(seq)-1] == "solved"
	}
	unique := len(plan)
	for len(plan) < deliveries {
		d := plan[rng.IntN(unique)]
		d.dup = true
		plan = append(plan, d)
	}
	rng.Shuffle(len(plan), func(i, j int) { plan[i], plan[j] = plan[j], plan[i] })

	// Faults between the functions and the servers: DynamoDB throttles one
	// call in a hundred, SES one send in fifty, and one SES answer in two
	// hundred is lost after the email went out.
	var frng sync.Mutex
	roll := func() float64 { frng.Lock(); defer frng.Unlock(); return rng.Float64() }
	faults := &awstest.Faults{Rule: func(op string, n int) awstest.Fault {
		x := roll()
		switch {
		case strings.HasPrefix(op, "dynamodb.") && x < 0.01:
			return awstest.Throttle
		case op == "ses.SendEmail" && x < 0.02:
			return awstest.Throttle
		case op == "ses.SendEmail" && x < 0.025:
			return awstest.LoseResponse
		}
		return awstest.Pass
	}}
	cfg := awstest.Config()
	cfg.SurveyDelay = time.Hour // nothing is due until every delivery is in
	cfg.ReminderDelay, cfg.CheckInDelay = 0, 0
	st := awstest.FaultyStack(t, cfg, faults)
	srv := httptest.NewServer(st.Handler)
	defer srv.Close()
	secret := cfg.Secrets["generic"]

	// Deliver at the given concurrency; a 5xx or 409 is retried, as every
	// helpdesk retries, up to five times with a short back-off.
	start := time.Now()
	var next atomic.Int64
	var retries, failures atomic.Int64
	actions := map[string]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 30 * time.Second}
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(plan) {
					return
				}
				d := plan[i]
				body, _ := json.Marshal(map[string]any{
					"event_id": d.event, "ticket_id": d.ticket, "status": d.status, "solved_at": d.at.UTC().Format(time.RFC3339),
					"customer": map[string]string{"email": strings.ToLower(d.ticket) + "@load.example.com", "name": "Load"}, "subject": "Load test",
				})
				var action string
				for attempt := 0; ; attempt++ {
					code, a, err := post(client, srv.URL+"/webhooks/generic", secret, body)
					if err == nil && code == 200 {
						action = a
						break
					}
					if attempt == 5 || (err == nil && code < 500 && code != 409) {
						failures.Add(1)
						t.Errorf("delivery %s of %s: %d %v", d.event, d.ticket, code, err)
						break
					}
					retries.Add(1)
					time.Sleep(time.Duration(50*(attempt+1)) * time.Millisecond)
				}
				mu.Lock()
				actions[action]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	deliverSecs := time.Since(start).Seconds()

	// Several sweeps at once, an hour later, until none has work left.
	later := time.Now().Add(2 * time.Hour)
	st.Sweeper.Now = func() time.Time { return later }
	var sent, retried atomic.Int64
	for round := 0; round < 20; round++ {
		var sw sync.WaitGroup
		var did atomic.Int64
		for w := 0; w < sweepers; w++ {
			sw.Add(1)
			go func() {
				defer sw.Done()
				res, err := st.Sweeper.Run(context.Background())
				if err != nil {
					t.Logf("sweep: %v", err)
				}
				sent.Add(int64(res.Sent))
				retried.Add(int64(res.Retried))
				did.Add(int64(res.Sent + res.Retried + res.Failed))
			}()
		}
		sw.Wait()
		if did.Load() == 0 {
			break
		}
		later = later.Add(time.Hour) // past every retry's back-off
	}

	// Count the emails the local SES server holds, per customer.
	_, sesURL := awstest.Endpoints()
	all, err := localaws.SentMail(sesURL)
	if err != nil {
		t.Fatal(err)
	}
	per := map[string]int{}
	for _, m := range all {
		for _, to := range m.Destination.To {
			if strings.HasSuffix(to, "@load.example.com") && strings.HasPrefix(strings.ToLower(to), "l"+run+"-") {
				per[strings.TrimSuffix(to, "@load.example.com")]++
			}
		}
	}
	emails, dupEmails, missing, wrongly := 0, 0, 0, 0
	for id, solved := range endsSolved {
		n := per[strings.ToLower(id)]
		emails += n
		switch {
		case n > 1:
			dupEmails += n - 1
		case solved && n == 0:
			missing++
		case !solved && n > 0:
			wrongly++
		}
	}
	eligible := 0
	for _, s := range endsSolved {
		if s {
			eligible++
		}
	}
	fmt.Printf("load: %d deliveries (%d unique, %d duplicates) for %d tickets at concurrency %d in %.1f s; actions %v; %d retried by the sender, %d failed\n",
		len(plan), unique, len(plan)-unique, tickets, concurrency, deliverSecs, actions, retries.Load(), failures.Load())
	fmt.Printf("load: faults injected %d %v\n", faults.Total(), faults.Injected())
	fmt.Printf("load: %d sweepers: %d surveys sent, %d rescheduled after a throttled send; %d emails for %d tickets that ended solved; duplicate emails %d, missing %d, to reopened tickets %d\n",
		sweepers, sent.Load(), retried.Load(), emails, eligible, dupEmails, missing, wrongly)
	if dupEmails != 0 || missing != 0 || wrongly != 0 || failures.Load() != 0 {
		t.Errorf("duplicate emails %d, missing surveys %d, surveys to reopened tickets %d, failed deliveries %d: want all zero", dupEmails, missing, wrongly, failures.Load())
	}
	if faults.Total() == 0 {
		t.Errorf("no fault was injected")
	}
}

// post signs body as the generic source and posts it; it returns the
// status and the reply's action.
func post(c *http.Client, url, secret string, body []byte) (int, string, error) {
	h, err := helpdesk.Resign("generic", secret, "", map[string]string{"Content-Type": "application/json"}, body, time.Now())
	if err != nil {
		return 0, "", err
	}
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	for k, v := range h {
		req.Header.Set(k, v)
	}
	res, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	var r struct{ Action closeloop.Action }
	json.NewDecoder(res.Body).Decode(&r)
	return res.StatusCode, string(r.Action), nil
}
