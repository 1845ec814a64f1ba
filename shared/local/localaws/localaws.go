// Package localaws starts the local servers that speak the AWS wire
// protocols (dynalite for DynamoDB, aws-ses-v2-local for SES v2) from the
// project's node_modules, and builds AWS SDK configuration that points at
// them. The dev server, the demo and the integration tests use it, so all of
// them exercise the real SDK clients against real servers.
package localaws

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Servers are running local servers. Stop them when done.
type Servers struct {
	DynamoDB string // endpoint URL of the DynamoDB server
	SES      string // endpoint URL of the SES v2 server; its web page of sent mail is at "/"
	// SESPID is the process id of a kept SES server (Options.KeepSES).
	SESPID int

	procs    []*proc
	once     sync.Once
	stopping atomic.Bool
}

// Options say which servers to start. An endpoint that is already set is
// used as it is and nothing is started for it.
type Options struct {
	Root     string // project root holding node_modules; found from the working directory when empty
	DynamoDB string // existing DynamoDB endpoint, e.g. from CLOSELOOP_DYNAMODB_ENDPOINT
	SES      string // existing SES endpoint, e.g. from CLOSELOOP_SES_ENDPOINT
	Log      *os.File
	// KeepSES leaves the SES server running after Stop and after this
	// process exits, so its page of sent mail stays readable (the demo).
	KeepSES bool
}

// Start starts the servers o does not already name, on free ports of
// 127.0.0.1, and waits until they answer. It fails with a message naming the
// fix when node_modules is missing.
func Start(ctx context.Context, o Options) (*Servers, error) {
	s := &Servers{DynamoDB: o.DynamoDB, SES: o.SES}
	if s.DynamoDB != "" && s.SES != "" {
		return s, nil
	}
	root := o.Root
	if root == "" {
		var err error
		if root, err = FindRoot(); err != nil {
			return nil, err
		}
	}
	bin := filepath.Join(root, "node_modules", ".bin")
	if _, err := os.Stat(filepath.Join(bin, "dynalite")); err != nil {
		return nil, fmt.Errorf("local servers are not installed in %s: run `npm ci` (or `make deps`) in the project root", filepath.Join(root, "node_modules"))
	}
	if s.DynamoDB == "" {
		guard, err := abortGuard()
		if err != nil {
			return nil, err
		}
		url, err := s.startOnFreePort(ctx, o.Log, "", func(port string) []string {
			return []string{"node", "--require", guard, filepath.Join(root, "node_modules", "dynalite", "cli.js"),
				"--host", "127.0.0.1", "--port", port, "--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0"}
		})
		if err != nil {
			s.Stop()
			return nil, err
		}
		s.DynamoDB = url
	}
	if s.SES == "" {
		port, err := freePort()
		if err != nil {
			s.Stop()
			return nil, err
		}
		if o.KeepSES {
			cmd := exec.Command(filepath.Join(bin, "aws-ses-v2-local"), "--host", "127.0.0.1", "--port", port)
			cmd.Env = sesEnv()
			cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // outlives us, by request
			if err := cmd.Start(); err != nil {
				s.Stop()
				return nil, fmt.Errorf("start aws-ses-v2-local: %w", err)
			}
			s.SESPID = cmd.Process.Pid
			go cmd.Wait()
			s.SES = "http://127.0.0.1:" + port
		} else {
			url, err := s.startOnFreePort(ctx, o.Log, "/store", func(port string) []string {
				return []string{filepath.Join(bin, "aws-ses-v2-local"), "--host", "127.0.0.1", "--port", port}
			})
			if err != nil {
				s.Stop()
				return nil, err
			}
			s.SES = url
		}
	}
	for _, u := range []string{s.DynamoDB, s.SES + "/store"} {
		if err := waitHTTP(ctx, u, nil); err != nil {
			s.Stop()
			return nil, err
		}
	}
	return s, nil
}

// errExited means a server process ended on its own: the port picked for
// it was taken meanwhile by another test binary's server (parallel packages
// each start their own servers).
var errExited = errors.New("the server exited")

// startOnFreePort starts the server argv(port) names on a free port and
// waits until it, and not another process on that port, answers at path;
// a server that exits (its port taken meanwhile) is started again on
// another port.
func (s *Servers) startOnFreePort(ctx context.Context, log *os.File, path string, argv func(port string) []string) (string, error) {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		var port string
		if port, err = freePort(); err != nil {
			return "", err
		}
		args := argv(port)
		var p *proc
		if p, err = s.start(log, args[0], args[1:]...); err != nil {
			return "", err
		}
		url := "http://127.0.0.1:" + port
		if err = waitHTTP(ctx, url+path, p.done); err == nil {
			return url, nil
		}
		if !errors.Is(err, errExited) {
			return "", err
		}
		s.procs = slices.DeleteFunc(s.procs, func(q *proc) bool { return q == p }) // lost its port: not one of ours
	}
	return "", err
}

// abortGuardJS keeps dynalite running when a client gives up halfway
// through a request (a cancelled context, a test's cleanup): dynalite
// throws the request's "aborted" error, which ended the server and failed
// every later user of it. Any other uncaught error still ends it.
const abortGuardJS = `process.on('uncaughtException', function (err) {
  if (err && (err.code === 'ECONNRESET' || err.message === 'aborted')) return
  console.error(err)
  process.exit(1)
})
`

// abortGuard writes abortGuardJS where node can --require it.
func abortGuard() (string, error) {
	path := filepath.Join(os.TempDir(), "closeloop-dynalite-abort-guard.js")
	if b, err := os.ReadFile(path); err == nil && string(b) == abortGuardJS {
		return path, nil
	}
	tmp, err := os.CreateTemp(os.TempDir(), "closeloop-guard-*.js")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(abortGuardJS); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	return path, os.Rename(tmp.Name(), path) // whole, for servers started at once
}

// proc is a started server and a channel closed when it exits.
type proc struct {
	name  string // the server's: its command, or the package of the script node runs
	cmd   *exec.Cmd
	done  chan struct{}
	state string // how it ended, once done is closed
}

func (s *Servers) start(log *os.File, name string, args ...string) (*proc, error) {
	cmd := exec.Command(name, args...)
	if strings.HasSuffix(name, "aws-ses-v2-local") {
		cmd.Env = sesEnv()
	}
	cmd.Stdout, cmd.Stderr = log, log
	// Its own process group, so Stop ends node and anything it spawned.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	// Pdeathsig fires when the OS thread that started the server ends, not
	// this process: Go may end threads, which killed a test binary's
	// DynamoDB server halfway through its tests. The server is started and
	// waited for on a thread kept for it, as chromedp does for Chrome.
	p := &proc{name: filepath.Base(name), cmd: cmd, done: make(chan struct{})}
	for _, a := range args {
		if strings.HasSuffix(a, "cli.js") {
			p.name = filepath.Base(filepath.Dir(a)) // node_modules/dynalite/cli.js: dynalite
		}
	}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			close(p.done)
			return
		}
		started <- nil
		err := cmd.Wait()
		p.state = fmt.Sprint(cmd.ProcessState, " ", err)
		close(p.done)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("start %s: %w", filepath.Base(name), err)
	}
	s.procs = append(s.procs, p)
	return p, nil
}

// Died describes each server that ended before Stop (a crash, or a kill
// from outside), with how it ended; tests print it when they fail.
func (s *Servers) Died() []string {
	if s.stopping.Load() {
		return nil
	}
	var out []string
	for _, p := range s.procs {
		select {
		case <-p.done:
			out = append(out, fmt.Sprintf("%s (pid %d): %s", p.name, p.cmd.Process.Pid, p.state))
		default:
		}
	}
	return out
}

// Stop ends the servers Start started. It is safe to call more than once.
func (s *Servers) Stop() {
	s.stopping.Store(true)
	s.once.Do(func() {
		for _, p := range s.procs {
			select {
			case <-p.done:
				// Ended already: its pid, and so its group id, may be
				// another process's by now (pids wrap at 32,768 here).
				continue
			default:
			}
			syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
			<-p.done
		}
	})
}

// Config returns SDK configuration for local servers: a fixed region and
// dummy static credentials (the local servers check neither).
func Config() aws.Config {
	return aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
	}
}

// FindRoot returns the nearest directory at or above the working directory
// that holds package.json and go.mod: the project root.
func FindRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		_, e1 := os.Stat(filepath.Join(dir, "package.json"))
		_, e2 := os.Stat(filepath.Join(dir, "go.mod"))
		if e1 == nil && e2 == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no project root (a directory with go.mod and package.json) above the working directory")
		}
		dir = parent
	}
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port, nil
}

// waitHTTP waits until u answers. With a process's done channel, it also
// waits a moment after the first answer: a server that lost its port to
// another exits within it, and the answer was someone else's (errExited).
func waitHTTP(ctx context.Context, u string, done <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
			if done == nil {
				return nil
			}
			select {
			case <-done:
				return errExited
			case <-time.After(time.Second):
				return nil
			}
		}
		select {
		case <-done:
			return errExited
		case <-ctx.Done():
			return fmt.Errorf("local server at %s did not answer: %w", strings.TrimSuffix(u, "/store"), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// SESAccount is what the local SES server answers GetAccount with: an
// account out of the sandbox with SES's default production quota, 14
// emails a second.
const SESAccount = `{"DedicatedIpAutoWarmupEnabled":false,"Details":{"AdditionalContactEmailAddresses":[],"ContactLanguage":"EN",` +
	`"MailType":"TRANSACTIONAL","ReviewDetails":{"CaseId":"local","Status":"GRANTED"},"UseCaseDescription":"Closeloop, locally",` +
	`"WebsiteURL":"http://127.0.0.1"},"EnforcementStatus":"HEALTHY","ProductionAccessEnabled":true,"SendingEnabled":true,` +
	`"SendQuota":{"Max24HourSend":50000,"MaxSendRate":14,"SentLast24Hours":0},"SuppressionAttributes":{"SuppressedReasons":[]}}`

// sesEnv is the local SES server's environment: ours, with SESAccount.
func sesEnv() []string {
	return append(os.Environ(), "AWS_SES_ACCOUNT="+SESAccount)
}
