package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/local/devstack"
	"github.com/closeloop/closeloop/shared/local/localaws"
	"github.com/closeloop/closeloop/shared/platform/logging"
)

// local is a started local stack with its HTTP server.
type local struct {
	*devstack.Stack
	APIURL string
	cancel context.CancelFunc
	done   chan struct{}
}

// startLocal starts the local servers, the stack and its HTTP server on
// addr, and the scheduled jobs every tick. cfg.BaseURL is the server's own
// address unless CLOSELOOP_BASE_URL was set.
func startLocal(ctx context.Context, getenv func(string) string, addr string, tick time.Duration, cfg closeloop.Config, logs io.Writer, keepSES bool) (*local, error) {
	slog.SetDefault(slog.New(logging.Wrap(slog.NewTextHandler(logs, nil))))
	l, url, err := devstack.Listen(addr)
	if err != nil {
		return nil, err
	}
	if getenv("CLOSELOOP_BASE_URL") == "" {
		cfg.BaseURL = url
	}
	root, err := localaws.FindRoot()
	if err != nil {
		l.Close()
		return nil, err
	}
	os.MkdirAll(filepath.Join(root, "build"), 0o755)
	logFile, err := os.Create(filepath.Join(root, "build", "local-servers.log"))
	if err != nil {
		l.Close()
		return nil, err
	}
	st, err := devstack.Start(ctx, devstack.Options{
		Config: cfg, Root: root, Log: logFile, KeepSES: keepSES,
		DynamoDB: getenv("CLOSELOOP_DYNAMODB_ENDPOINT"), SES: getenv("CLOSELOOP_SES_ENDPOINT"),
	})
	if err != nil {
		l.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	lc := &local{Stack: st, APIURL: url, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(lc.done)
		go st.RunJobs(ctx, tick)
		if err := st.Serve(ctx, l); err != nil {
			slog.Error("serve", "err", err)
		}
	}()
	return lc, nil
}

// consoleLink makes the first admin an operator and returns a fresh
// sign-in link for them.
func (lc *local) consoleLink(ctx context.Context) (string, error) {
	if err := lc.API.EnsureAdmin(ctx); err != nil {
		return "", err
	}
	return lc.API.LoginLink(ctx, lc.Config.AdminEmail)
}

func (lc *local) Close() {
	lc.cancel()
	<-lc.done
	lc.Stop()
}

func dev(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8787", "address to serve the HTTP API on")
	tick := fs.Duration("tick", 2*time.Second, "how often the scheduled jobs run")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError(fmt.Sprintf("usage: closeloop dev [--addr HOST:PORT] [--tick DURATION]; %q is not one of them", fs.Arg(0)))
	}
	if *tick <= 0 {
		return usageError(fmt.Sprintf("--tick must be positive, got %s", *tick))
	}
	cfg, err := localConfig(getenv)
	if err != nil {
		return err
	}
	generated := false
	keyGenerated := getenv("CLOSELOOP_CONTACT_KEY") == ""
	if cfg.AdminToken == "" {
		cfg.AdminToken, generated = randomToken(), true
	}
	lc, err := startLocal(ctx, getenv, *addr, *tick, cfg, stderr, false)
	if err != nil {
		return err
	}
	defer lc.Close()
	fmt.Fprintf(stdout, "api: %s\n", lc.APIURL)
	fmt.Fprintf(stdout, "mail: %s\n", lc.MailURL())
	link, err := lc.consoleLink(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "console: %s\n", link)
	fmt.Fprintf(stdout, "  (a sign-in link for %s, the first admin (CLOSELOOP_ADMIN_EMAIL); it works once, for 15 minutes)\n", lc.Config.AdminEmail)
	fmt.Fprintf(stdout, "dynamodb: %s (table %s; `closeloop invoke` uses it with CLOSELOOP_DYNAMODB_ENDPOINT and CLOSELOOP_SES_ENDPOINT=%s)\n", lc.Servers.DynamoDB, cfg.Table, lc.Servers.SES)
	if generated {
		fmt.Fprintf(stdout, "admin token (generated; set CLOSELOOP_ADMIN_TOKEN to choose one): %s\n", cfg.AdminToken)
	}
	if keyGenerated {
		fmt.Fprintf(stdout, "contact key (generated; set CLOSELOOP_CONTACT_KEY to keep contact ids across restarts on the same DynamoDB, and for `closeloop invoke`): %s\n", cfg.ContactKey)
	}
	var missing []string
	for _, s := range closeloop.Sources {
		if cfg.Secrets[s] == "" {
			missing = append(missing, s)
		}
	}
	if len(missing) > 0 {
		fmt.Fprintf(stdout, "webhooks without a secret answer 401: %v (set CLOSELOOP_SECRET_<SOURCE>)\n", missing)
	}
	fmt.Fprintln(stdout, "ready; Ctrl-C stops")
	<-ctx.Done()
	return nil
}

// localConfig loads the configuration for a local run: like the Lambdas',
// except that, unless the environment says otherwise, mail goes out at any
// hour (a developer should not wait for Monday 09:00) and comments are not
// acknowledged by email (the contract's smoke test counts exactly the
// survey and the closing email to one detractor). Without
// CLOSELOOP_CONTACT_KEY it generates a contact key for this run.
func localConfig(getenv func(string) string) (closeloop.Config, error) {
	cfg, err := closeloop.LoadConfig(getenv)
	if err == nil && getenv("CLOSELOOP_SEND_WINDOW") == "" {
		cfg.SendWindow, err = closeloop.ParseSendWindow("always")
	}
	if getenv("CLOSELOOP_ACKNOWLEDGE") == "" {
		cfg.Acknowledge = "off"
	}
	if len(cfg.ContactKey) == 0 {
		cfg.ContactKey = closeloop.ContactKey(randomToken())
	}
	if cfg.AdminEmail == "" {
		cfg.AdminEmail = closeloop.DefaultAdminEmail // locally only: in AWS nobody is admin by default
	}
	return cfg, err
}

func randomToken() string {
	b := make([]byte, 24)
	rand.Read(b)
	return hex.EncodeToString(b)
}
