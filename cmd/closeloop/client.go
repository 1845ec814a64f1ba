package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"
)

// apiClient speaks the operators' API of a running Closeloop: `closeloop
// dev` or a deployed stack, the same way.
type apiClient struct {
	base  string
	token string
	http  *http.Client
}

// clientFlags adds --api and --token to fs, defaulting to CLOSELOOP_API_URL
// and CLOSELOOP_TOKEN, and returns a constructor to call after Parse.
func clientFlags(fs *flag.FlagSet, getenv func(string) string) func() (*apiClient, error) {
	api := fs.String("api", getenv("CLOSELOOP_API_URL"), "base URL of the Closeloop API (default $CLOSELOOP_API_URL)")
	token := fs.String("token", getenv("CLOSELOOP_TOKEN"), "an operator's API token, or the admin token (default $CLOSELOOP_TOKEN)")
	return func() (*apiClient, error) {
		u, err := url.Parse(*api)
		if *api == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("--api (or CLOSELOOP_API_URL) must be the API's base URL, such as http://127.0.0.1:8787; got %q", *api)
		}
		if *token == "" {
			return nil, errors.New("--token (or CLOSELOOP_TOKEN) is required: an operator's API token, or CLOSELOOP_ADMIN_TOKEN")
		}
		return &apiClient{base: strings.TrimRight(*api, "/"), token: *token, http: &http.Client{Timeout: 30 * time.Second}}, nil
	}
}

// do sends one request; a non-2xx answer is an error carrying the API's
// reason.
func (c *apiClient) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	res, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 32<<20))
	if res.StatusCode/100 != 2 {
		var e struct{ Error string }
		json.Unmarshal(b, &e)
		return fmt.Errorf("%s %s: %s: %s", method, path, res.Status, cmp.Or(e.Error, strings.TrimSpace(string(b))))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: the answer is not JSON: %w", method, path, err)
		}
	}
	return nil
}

// operators runs `closeloop operators add EMAIL --role ROLE | list | remove EMAIL`.
func operators(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	const use = "usage: closeloop operators add EMAIL --role viewer|editor|admin | list | remove EMAIL  [--api URL] [--token TOKEN]"
	if len(args) == 0 {
		return errors.New(use)
	}
	sub, rest := args[0], args[1:]
	fs := flag.NewFlagSet("operators "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	client := clientFlags(fs, getenv)
	role := fs.String("role", "viewer", "the operator's role: viewer, editor or admin")
	pos, err := parseInterspersed(fs, rest)
	if err != nil {
		return err
	}
	c, err := client()
	if err != nil {
		return err
	}
	switch {
	case sub == "add" && len(pos) == 1:
		var op struct{ Email, Role string }
		if err := c.do(ctx, "POST", "/api/operators", map[string]string{"email": pos[0], "role": *role}, &op); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s is an operator with the %s role; they sign in at %s/console\n", op.Email, op.Role, c.base)
		return nil
	case sub == "remove" && len(pos) == 1:
		if err := c.do(ctx, "DELETE", "/api/operators/"+url.PathEscape(pos[0]), nil, nil); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s is no longer an operator\n", pos[0])
		return nil
	case sub == "list" && len(pos) == 0:
		var out struct {
			Operators []struct {
				Email, Role string
				CreatedAt   time.Time `json:"created_at"`
			}
		}
		if err := c.do(ctx, "GET", "/api/operators", nil, &out); err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "EMAIL\tROLE\tADDED")
		for _, o := range out.Operators {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", o.Email, o.Role, o.CreatedAt.Format(time.DateOnly))
		}
		return tw.Flush()
	}
	return errors.New(use)
}

// erase runs `closeloop erase EMAIL`: DELETE /api/contacts/{email}.
func erase(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("erase", flag.ContinueOnError)
	fs.SetOutput(stderr)
	client := clientFlags(fs, getenv)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("usage: closeloop erase EMAIL [--api URL] [--token TOKEN]")
	}
	c, err := client()
	if err != nil {
		return err
	}
	var out struct{ Erased int }
	if err := c.do(ctx, "DELETE", "/api/contacts/"+url.PathEscape(pos[0]), nil, &out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "erased: %d items changed\n", out.Erased)
	return nil
}

// parseInterspersed parses flags that may come before or after the
// positional arguments (`operators add EMAIL --role editor`).
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// dlq runs `closeloop dlq list|replay QUEUE`: the dead letters of a queue
// (SQS in AWS, the in-process list of closeloop dev), listed, or replayed
// into their queue once each.
func dlq(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	const use = "usage: closeloop dlq list|replay QUEUE [--api URL] [--token TOKEN] (queues: closing, ses-events)"
	if len(args) == 0 {
		return errors.New(use)
	}
	sub := args[0]
	fs := flag.NewFlagSet("dlq "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	client := clientFlags(fs, getenv)
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 || sub != "list" && sub != "replay" {
		return errors.New(use)
	}
	c, err := client()
	if err != nil {
		return err
	}
	path := "/api/dlq/" + url.PathEscape(pos[0])
	if sub == "replay" {
		var out struct{ Replayed int }
		if err := c.do(ctx, "POST", path+"/replay", nil, &out); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "replayed %d messages into %s\n", out.Replayed, pos[0])
		return nil
	}
	var out struct {
		Messages []struct{ ID, Body string }
	}
	if err := c.do(ctx, "GET", path, nil, &out); err != nil {
		return err
	}
	for _, m := range out.Messages {
		fmt.Fprintf(stdout, "%s\t%s\n", m.ID, m.Body)
	}
	fmt.Fprintf(stdout, "%d dead letters in %s\n", len(out.Messages), pos[0])
	return nil
}
