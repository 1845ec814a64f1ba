// Package devstack assembles the whole of Closeloop on one machine: the
// local DynamoDB and SES servers, the table, every handler on one HTTP mux,
// the scheduled jobs on a ticker, and an in-process queue in place of SQS.
// `closeloop dev`, `closeloop demo` and the end-to-end tests run it; the
// handlers are the very ones the Lambdas run.
package devstack

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/dynamo"
	"github.com/closeloop/closeloop/shared/fn/api"
	"github.com/closeloop/closeloop/shared/fn/closing"
	"github.com/closeloop/closeloop/shared/fn/digest"
	"github.com/closeloop/closeloop/shared/fn/response"
	"github.com/closeloop/closeloop/shared/fn/sesevents"
	"github.com/closeloop/closeloop/shared/fn/surveysweep"
	"github.com/closeloop/closeloop/shared/fn/webhook"
	"github.com/closeloop/closeloop/shared/local/localaws"
	"github.com/closeloop/closeloop/shared/local/localqueue"
	"github.com/closeloop/closeloop/shared/mail"
	"github.com/closeloop/closeloop/shared/platform/boot"
	"github.com/closeloop/closeloop/shared/platform/logging"
	"github.com/closeloop/closeloop/shared/queue"
)

// Options configure a Stack.
type Options struct {
	Config   closeloop.Config
	DynamoDB string   // DynamoDB endpoint to use instead of starting dynalite
	SES      string   // SES endpoint to use instead of starting aws-ses-v2-local
	Root     string   // project root (node_modules); found from the working directory when empty
	Log      *os.File // where the local servers' output goes; nil discards it
	SESRate  float64  // emails a second every sender shares (as in AWS); 0 for Config.SESMaxRate, and no limit when that is 0 too
	KeepSES  bool     // leave the SES server (and its mail page) running after Stop
}

// Stack is a running local Closeloop.
type Stack struct {
	Config    closeloop.Config
	Env       boot.Env // the same client wiring the Lambdas use, pointed at the local servers
	Servers   *localaws.Servers
	Store     *dynamo.Store
	Sender    *mail.Sender
	Queue     *localqueue.Queue // the closing queue
	Sweeper   *surveysweep.Handler
	Closing   *closing.Handler
	SESEvents *sesevents.Handler
	Digest    *digest.Handler // the weekly digest
	API       *api.Handler    // the operators' API and console
	Handler   http.Handler    // every route of the HTTP surface
}

// Start starts the local servers (unless o names endpoints), creates the
// table and assembles the handlers. Stop it when done.
func Start(ctx context.Context, o Options) (*Stack, error) {
	srv, err := localaws.Start(ctx, localaws.Options{Root: o.Root, DynamoDB: o.DynamoDB, SES: o.SES, Log: o.Log, KeepSES: o.KeepSES})
	if err != nil {
		return nil, err
	}
	s, err := Assemble(ctx, o.Config, srv.DynamoDB, srv.SES, o.SESRate)
	if err != nil {
		srv.Stop()
		return nil, err
	}
	s.Servers = srv
	return s, nil
}

// Assemble builds a stack over running servers at the given endpoints and
// creates the configured table there. Every handler is built by its
// package's New, exactly as the Lambdas build them; only the clients point
// at the local servers and the closing queue is in-process.
func Assemble(ctx context.Context, cfg closeloop.Config, dynamoURL, sesURL string, sesRate float64) (*Stack, error) {
	return AssembleEnv(ctx, Env(cfg, dynamoURL, sesURL), sesRate)
}

// AssembleEnv is Assemble over env's clients (tests inject faults through
// env.AWS.HTTPClient).
func AssembleEnv(ctx context.Context, env boot.Env, sesRate float64) (*Stack, error) {
	cfg := env.Config
	db := env.DynamoDB()
	if err := dynamo.CreateTable(ctx, db, cfg.Table); err != nil {
		return nil, err
	}
	s := &Stack{Config: cfg, Env: env, Store: env.Store(), Queue: &localqueue.Queue{Visibility: 5 * time.Second}}
	// Locally there is no account quota to read: a rate given is shared by
	// every sender through the table, as in AWS; none means no limit.
	var lim mail.Limiter
	if r := cmp.Or(sesRate, cfg.SESMaxRate); r > 0 {
		lim = &mail.Shared{Store: s.Store, Quota: mail.Fixed(r)}
	}
	s.Sender = mail.NewSender(mail.SESClient(env), cfg.From, cfg.SESConfigurationSet, lim)
	s.Sweeper = surveysweep.New(cfg, s.Store, s.Sender)
	s.Closing = closing.New(cfg, s.Store, s.Sender, s.Queue)
	s.SESEvents = sesevents.New(s.Store)
	s.Digest = digest.New(cfg, s.Store, s.Sender)
	mux := http.NewServeMux()
	mount := func(paths []string, h http.Handler) {
		for _, p := range paths {
			mux.Handle(p, h)
		}
	}
	mount(webhook.Paths, webhook.New(cfg, s.Store))
	mount(response.Paths, response.New(cfg, s.Store, s.Queue))
	s.API = api.New(cfg, s.Store, s.Queue, s.Sender, map[string]queue.DeadLetters{"closing": s.Queue})
	mount(api.Paths, s.API)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "Closeloop is running. Webhooks: POST /webhooks/{source}. Operators' console: /console. Operators' API: /api/ (bearer token).")
	})
	s.Handler = logging.Middleware(mux)
	return s, nil
}

// Env returns the client wiring the Lambdas use (boot.Env), pointed at
// local servers at the given endpoints, with static local credentials.
func Env(cfg closeloop.Config, dynamoURL, sesURL string) boot.Env {
	endpoints := map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": dynamoURL, "AWS_ENDPOINT_URL_SESV2": sesURL}
	return boot.Env{Config: cfg, AWS: localaws.Config(), Getenv: func(k string) string { return endpoints[k] }}
}

// Stop stops the local servers the stack started.
func (s *Stack) Stop() {
	if s.Servers != nil {
		s.Servers.Stop()
	}
}

// MailURL is the local SES server's web page of sent mail.
func (s *Stack) MailURL() string {
	if s.Servers == nil {
		return ""
	}
	return s.Servers.SES
}

// Listen binds addr ("127.0.0.1:0" for any free port) and returns the
// listener and its base URL.
func Listen(addr string) (net.Listener, string, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("listen on %s: %w", addr, err)
	}
	return l, "http://" + l.Addr().String(), nil
}

// Serve serves the HTTP surface on l until ctx ends.
func (s *Stack) Serve(ctx context.Context, l net.Listener) error {
	srv := &http.Server{Handler: s.Handler, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}()
	err := srv.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// RunJobs runs the scheduled jobs until ctx ends: the survey sweep and the
// weekly digest every tick, as the schedules do in AWS, and the closing
// queue's consumer, as the SQS event source mapping does.
func (s *Stack) RunJobs(ctx context.Context, tick time.Duration) {
	// Each run gets a request id of its own, as each invocation does in AWS.
	run := func(ctx context.Context) context.Context { return logging.WithRequestID(ctx, logging.NewRequestID()) }
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		t := time.NewTicker(tick)
		defer t.Stop()
		for {
			s.Sweep(run(ctx))
			if _, err := s.Digest.Run(run(ctx)); err != nil && ctx.Err() == nil {
				slog.ErrorContext(ctx, "digest", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			n, err := s.Queue.Poll(run(ctx), s.Closing.Handle)
			if err != nil {
				slog.ErrorContext(ctx, "closing queue", "err", err)
			}
			if n == 0 {
				select {
				case <-ctx.Done():
				case <-time.After(200 * time.Millisecond):
				}
			}
		}
	}()
	wg.Wait()
}

// Sweep runs the survey sweep once and logs what it did.
func (s *Stack) Sweep(ctx context.Context) surveysweep.Result {
	res, err := s.Sweeper.Run(ctx)
	if err != nil && ctx.Err() == nil {
		slog.ErrorContext(ctx, "sweep", "err", err)
	}
	if res != (surveysweep.Result{}) {
		slog.InfoContext(ctx, "sweep", "sent", res.Sent, "throttled", res.Throttled, "suppressed", res.Suppressed, "failed", res.Failed, "retried", res.Retried)
	}
	return res
}

// DrainQueue polls the closing queue until it is empty or ctx ends.
func (s *Stack) DrainQueue(ctx context.Context) error {
	for s.Queue.Len() > 0 {
		n, err := s.Queue.Poll(ctx, s.Closing.Handle)
		if err != nil {
			return err
		}
		if n == 0 { // only messages in flight: wait for their visibility
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return nil
}
