// Package lambdatest serves the Lambda Runtime API, so a test or a
// benchmark can start a function's real bootstrap binary, invoke it, and
// read its answers, as the Lambda service does. (The Runtime Interface
// Emulator is not available here; this is the part of it Closeloop needs.)
package lambdatest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"time"
)

const prefix = "/2018-06-01/runtime"

// Runtime is one function instance's Runtime API endpoint.
type Runtime struct {
	srv     *httptest.Server
	pending chan invocation

	mu        sync.Mutex
	waiting   map[string]chan Result
	seq       int
	firstNext time.Time
	initErr   []byte
}

type invocation struct {
	id      string
	payload []byte
}

// Result is what the function answered to one invocation.
type Result struct {
	Payload []byte // the response, or the error document
	IsError bool
}

// New starts a Runtime API server on 127.0.0.1.
func New() *Runtime {
	r := &Runtime{pending: make(chan invocation, 16), waiting: map[string]chan Result{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+prefix+"/invocation/next", r.next)
	mux.HandleFunc("POST "+prefix+"/invocation/{id}/response", r.result(false))
	mux.HandleFunc("POST "+prefix+"/invocation/{id}/error", r.result(true))
	mux.HandleFunc("POST "+prefix+"/init/error", func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.initErr = b
		r.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	})
	r.srv = httptest.NewServer(mux)
	return r
}

// Addr is the value for AWS_LAMBDA_RUNTIME_API.
func (r *Runtime) Addr() string { return r.srv.Listener.Addr().String() }

// Close stops the server.
func (r *Runtime) Close() { r.srv.Close() }

// FirstNext returns when the function first asked for work, the end of its
// init, or the zero time if it has not yet.
func (r *Runtime) FirstNext() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.firstNext
}

// InitError returns what the function reported when it failed to start.
func (r *Runtime) InitError() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.initErr
}

func (r *Runtime) next(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	if r.firstNext.IsZero() {
		r.firstNext = time.Now()
	}
	r.mu.Unlock()
	select {
	case inv := <-r.pending:
		h := w.Header()
		h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
		h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(time.Minute).UnixMilli(), 10))
		h.Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:closeloop-test")
		h.Set("Lambda-Runtime-Trace-Id", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0")
		w.Header().Set("Content-Type", "application/json")
		w.Write(inv.payload)
	case <-req.Context().Done():
	}
}

func (r *Runtime) result(isErr bool) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		ch := r.waiting[req.PathValue("id")]
		delete(r.waiting, req.PathValue("id"))
		r.mu.Unlock()
		if ch == nil {
			http.Error(w, "unknown request id", http.StatusBadRequest)
			return
		}
		ch <- Result{Payload: b, IsError: isErr}
		w.WriteHeader(http.StatusAccepted)
	}
}

// Invoke hands payload to the function and waits for its answer.
func (r *Runtime) Invoke(ctx context.Context, payload []byte) (Result, error) {
	r.mu.Lock()
	r.seq++
	id := fmt.Sprintf("req-%d", r.seq)
	ch := make(chan Result, 1)
	r.waiting[id] = ch
	r.mu.Unlock()
	select {
	case r.pending <- invocation{id: id, payload: payload}:
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
	select {
	case res := <-ch:
		return res, nil
	case <-ctx.Done():
		return Result{}, fmt.Errorf("no answer from the function: %w", ctx.Err())
	}
}

// Start runs the bootstrap binary as a function instance of r, with env
// added to a minimal Lambda-like environment. Stop it with Process.Kill.
func (r *Runtime) Start(bootstrap string, env []string, stderr io.Writer) (*exec.Cmd, error) {
	cmd := exec.Command(bootstrap)
	cmd.Env = append([]string{
		"AWS_LAMBDA_RUNTIME_API=" + r.Addr(),
		"AWS_LAMBDA_FUNCTION_NAME=closeloop-test",
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256",
		"_HANDLER=bootstrap",
		"TZ=:UTC",
		"PATH=" + os.Getenv("PATH"),
	}, env...)
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bootstrap, err)
	}
	return cmd, nil
}
