package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/closeloop/closeloop/shared/closeloop"
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
		// A redirect is not followed: a POST would go on as a GET and
		// answer 200, a success that did not happen (do names the target).
		noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		return &apiClient{base: strings.TrimRight(*api, "/"), token: *token, http: &http.Client{Timeout: 30 * time.Second, CheckRedirect: noRedirect}}, nil
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
	if res.StatusCode/100 == 3 {
		return fmt.Errorf("%s %s: the API answered %s, a redirect to %q: use that URL as --api (or CLOSELOOP_API_URL); nothing was done", method, path, res.Status, res.Header.Get("Location"))
	}
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
		return usageError(use)
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
	if !(sub == "add" && len(pos) == 1 || sub == "remove" && len(pos) == 1 || sub == "list" && len(pos) == 0) {
		return usageError(use) // before the API settings, which a wrong command does not need
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
	return usageError(use)
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
		return usageError("usage: closeloop erase EMAIL [--api URL] [--token TOKEN]")
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
		if err := parseFlags(fs, args); err != nil {
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
		return usageError(use)
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
		return usageError(use)
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

// migrate runs `closeloop migrate contact-ids`: the move from the unkeyed
// contact ids of older releases to keyed ids, one page per API call until
// the last, printing the totals. It is safe to stop and run again.
func migrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	const use = "usage: closeloop migrate contact-ids [--api URL] [--token TOKEN]"
	if len(args) == 0 || args[0] != "contact-ids" {
		return usageError(use)
	}
	fs := flag.NewFlagSet("migrate contact-ids", flag.ContinueOnError)
	fs.SetOutput(stderr)
	client := clientFlags(fs, getenv)
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageError(use)
	}
	c, err := client()
	if err != nil {
		return err
	}
	var total closeloop.Migration
	cursor := ""
	for pages := 1; ; pages++ {
		var m closeloop.Migration
		if err := c.do(ctx, "POST", "/api/migrations/contact-ids", map[string]string{"cursor": cursor}, &m); err != nil {
			return fmt.Errorf("page %d: %w (moved so far: %d contacts, %d items; run again to resume)", pages, err, total.Contacts, total.Items)
		}
		total.Scanned += m.Scanned
		total.Contacts += m.Contacts
		total.Items += m.Items
		total.Keyed += m.Keyed
		if cursor = m.NextCursor; cursor == "" {
			fmt.Fprintf(stdout, "scanned %d items in %d pages: moved %d contacts and %d of their items to keyed ids; %d contacts were already keyed\n",
				total.Scanned, pages, total.Contacts, total.Items, total.Keyed)
			return nil
		}
	}
}

// report runs `closeloop report [--from D] [--to D] [--by day|week|month]
// [--json|--csv]`: /api/metrics for a range, as a table with sparklines,
// or as JSON or CSV.
func report(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	client := clientFlags(fs, getenv)
	from := fs.String("from", "", "first day, YYYY-MM-DD (default: 30 days ago)")
	to := fs.String("to", "", "last day, YYYY-MM-DD (default: today)")
	by := fs.String("by", "week", "series by day, week or month")
	asJSON := fs.Bool("json", false, "print the API's JSON")
	asCSV := fs.Bool("csv", false, "print the series as CSV")
	breakdown := fs.String("breakdown", "", "also score each source, agent, kind or theme")
	filters := map[string]*string{}
	for _, name := range []string{"source", "agent", "kind", "theme"} {
		filters[name] = fs.String(name, "", "only this "+name+" (one filter at a time)")
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 || *asJSON && *asCSV {
		return usageError("usage: closeloop report [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--by day|week|month] [--source S|--agent A|--kind K|--theme T] [--breakdown source|agent|kind|theme] [--json|--csv] [--api URL] [--token TOKEN]")
	}
	c, err := client()
	if err != nil {
		return err
	}
	q := url.Values{"by": {*by}}
	if *from != "" {
		q.Set("from", *from)
	}
	if *to != "" {
		q.Set("to", *to)
	}
	for name, v := range filters {
		if *v != "" {
			q.Set(name, *v)
		}
	}
	if *breakdown != "" {
		q.Set("breakdown", *breakdown)
	}
	var raw json.RawMessage
	if err := c.do(ctx, "GET", "/api/metrics?"+q.Encode(), nil, &raw); err != nil {
		return err
	}
	if *asJSON {
		_, err := fmt.Fprintf(stdout, "%s\n", raw)
		return err
	}
	var m struct {
		From, To, Filter string
		Series           []map[string]any
		Breakdown        []map[string]any
		Retention        []map[string]any
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return err
	}
	var totals map[string]any
	json.Unmarshal(raw, &totals)
	cols := []string{"surveys_sent", "responses", "response_rate", "csat", "nps", "ces", "closing_sent"}
	bcols := []string{"surveys_sent", "responses", "response_rate", "csat", "nps", "ces", "reopen_rate", "repeat_contact_rate_30d"}
	if *asCSV {
		// The series, or the breakdown when one is asked for; a figure
		// without a value is an empty cell.
		w := csv.NewWriter(stdout)
		first, keyOf, rows, columns := "period", "day", m.Series, cols
		if *breakdown != "" {
			first, keyOf, rows, columns = *breakdown, "key", m.Breakdown, bcols
		}
		w.Write(append([]string{first}, columns...))
		for _, p := range rows {
			row := []string{fmt.Sprint(p[keyOf])}
			for _, c := range columns {
				row = append(row, cell(p[c]))
			}
			w.Write(row)
		}
		w.Flush()
		return w.Error()
	}
	title := fmt.Sprintf("Closeloop, %s to %s, by %s", m.From, m.To, *by)
	if m.Filter != "" {
		title += ", " + m.Filter
	}
	fmt.Fprintf(stdout, "%s\n\n", title)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "measure\ttotal\ttrend")
	for _, c := range cols {
		var vals []*float64
		for _, p := range m.Series {
			if f, ok := p[c].(float64); ok {
				vals = append(vals, &f)
			} else {
				vals = append(vals, nil)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c, figure(totals[c]), sparkline(vals))
	}
	for _, c := range []string{"detractors", "detractors_contacted", "median_hours_to_contact", "theme_raisers", "theme_raisers_told", "checkins_sent", "checkins_still_solved",
		"reopen_rate", "repeat_contact_rate_7d", "repeat_contact_rate_30d"} {
		fmt.Fprintf(tw, "%s\t%s\t\n", c, figure(totals[c]))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(m.Retention) > 0 {
		fmt.Fprintf(stdout, "\nretention by cohort (month of first answer)\n")
		tw = tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "cohort\tband\tcustomers\tchurned\trenewed\tretention")
		for _, r := range m.Retention {
			fmt.Fprintf(tw, "%v\t%v\t%s\t%s\t%s\t%s\n", r["cohort"], r["band"], figure(r["customers"]), figure(r["churned"]), figure(r["renewed"]), figure(r["retention"]))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(m.Breakdown) == 0 {
		return nil
	}
	fmt.Fprintf(stdout, "\nby %s\n", *breakdown)
	tw = tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, *breakdown+"\t"+strings.Join(bcols, "\t"))
	for _, row := range m.Breakdown {
		line := fmt.Sprint(row["key"])
		for _, c := range bcols {
			line += "\t" + figure(row[c])
		}
		fmt.Fprintln(tw, line)
	}
	return tw.Flush()
}

// cell is a JSON number or null as a CSV cell: null is empty.
func cell(v any) string {
	if v == nil {
		return ""
	}
	return figure(v)
}

// figure prints a JSON number or null.
func figure(v any) string {
	f, ok := v.(float64)
	if !ok {
		return "–"
	}
	if f == float64(int64(f)) {
		return fmt.Sprint(int64(f))
	}
	return fmt.Sprintf("%.2f", f)
}

// sparkline draws vals (nil: no data) as block characters.
func sparkline(vals []*float64) string {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range vals {
		if v != nil {
			lo, hi = math.Min(lo, *v), math.Max(hi, *v)
		}
	}
	bars := []rune("▁▂▃▄▅▆▇█")
	var b strings.Builder
	for _, v := range vals {
		switch {
		case v == nil:
			b.WriteRune(' ')
		case hi == lo:
			b.WriteRune(bars[len(bars)/2])
		default:
			b.WriteRune(bars[int((*v-lo)/(hi-lo)*float64(len(bars)-1)+0.5)])
		}
	}
	return b.String()
}
