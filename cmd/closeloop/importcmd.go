package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/closeloop/closeloop/shared/closeloop"
)

const importUsage = `usage: closeloop import delighted DIR                 a folder of Delighted API v1 JSON: survey_responses.json
                                                    (fetched with expand[]=person), people.json, unsubscribes.json, bounces.json
       closeloop import delighted --api-key KEY     the same, straight from Delighted's API
       closeloop import csv FILE                    a CSV of past answers (columns: ` + "id, email, name, kind, score, comment, date, tags" + `)
  [--api URL] [--token TOKEN]`

// importCmd runs `closeloop import delighted DIR | --api-key KEY` and
// `closeloop import csv FILE`: it reads the records here, sends them to
// the API in batches, and prints what was imported and every record
// skipped, with why. Running it again imports nothing twice.
func importCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "delighted" && args[0] != "csv" {
		return usageError(importUsage)
	}
	what := args[0]
	fs := flag.NewFlagSet("import "+what, flag.ContinueOnError)
	fs.SetOutput(stderr)
	client := clientFlags(fs, getenv)
	apiKey := fs.String("api-key", "", "Delighted API key: fetch straight from Delighted instead of a folder")
	delightedURL := fs.String("delighted-url", "https://api.delighted.com", "Delighted's API base URL")
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return err
	}
	if what == "csv" && len(pos) != 1 || what == "delighted" && (len(pos) == 1) == (*apiKey != "") {
		return usageError(importUsage)
	}
	c, err := client()
	if err != nil {
		return err
	}
	now := time.Now()
	var responses []closeloop.ImportedResponse
	var suppressions []closeloop.ImportedSuppression
	var skipped []closeloop.Skipped
	switch {
	case what == "csv":
		data, err := os.ReadFile(pos[0])
		if err != nil {
			return err
		}
		header, _, _ := strings.Cut(string(data), "\n")
		if closeloop.IsEventsCSV(header) {
			return importEvents(ctx, c, pos[0], data, now, stdout)
		}
		if responses, skipped, err = closeloop.ParseCSV(strings.NewReader(string(data)), now); err != nil {
			return fmt.Errorf("%s: %w", pos[0], err)
		}
	default:
		files := map[string][]byte{}
		if *apiKey != "" {
			d := &delightedAPI{base: strings.TrimRight(*delightedURL, "/"), key: *apiKey, http: &http.Client{Timeout: 60 * time.Second}, log: stderr}
			for _, name := range []string{"survey_responses", "unsubscribes", "bounces"} {
				query := ""
				if name == "survey_responses" {
					query = "&expand[]=person"
				}
				if files[name], err = d.all(ctx, name, query); err != nil {
					return err
				}
			}
		} else {
			for _, name := range []string{"survey_responses", "people", "unsubscribes", "bounces"} {
				b, err := os.ReadFile(filepath.Join(pos[0], name+".json"))
				if errors.Is(err, os.ErrNotExist) && name != "survey_responses" {
					continue
				}
				if err != nil {
					return err
				}
				files[name] = b
			}
		}
		if responses, skipped, err = closeloop.ParseDelighted(files["survey_responses"], files["people"], now); err != nil {
			return err
		}
		for name, reason := range map[string]string{"unsubscribes": "unsubscribed", "bounces": "bounce"} {
			if files[name] == nil {
				continue
			}
			sup, sk, err := closeloop.ParseDelightedSuppressions(files[name], reason)
			if err != nil {
				return err
			}
			suppressions, skipped = append(suppressions, sup...), append(skipped, sk...)
		}
	}
	// Suppressions first: an unsubscribed person is never surveyed, even if
	// the import stops halfway.
	total := closeloop.ImportReport{Skipped: skipped}
	for start := 0; start < len(suppressions); start += 500 {
		var rep closeloop.ImportReport
		if err := c.do(ctx, "POST", "/api/import", map[string]any{"suppressions": suppressions[start:min(start+500, len(suppressions))]}, &rep); err != nil {
			return fmt.Errorf("%w (run the import again to resume: nothing is imported twice)", err)
		}
		total.Add(rep)
	}
	for start := 0; start < len(responses); start += 200 {
		var rep closeloop.ImportReport
		if err := c.do(ctx, "POST", "/api/import", map[string]any{"responses": responses[start:min(start+200, len(responses))]}, &rep); err != nil {
			return fmt.Errorf("%w (imported so far: %d; run the import again to resume: nothing is imported twice)", err, total.Imported)
		}
		total.Add(rep)
	}
	fmt.Fprintf(stdout, "imported %d responses (%d were there already) and %d unsubscribes and bounces; skipped %d records\n",
		total.Imported, total.Already, total.Suppressions, len(total.Skipped))
	for _, s := range total.Skipped {
		fmt.Fprintf(stdout, "  skipped %s: %s\n", s.Record, s.Reason)
	}
	return nil
}

// importEvents sends a CSV of churn and renewal events (email,type,at) to
// POST /api/customers/events in batches, for the retention by cohort.
func importEvents(ctx context.Context, c *apiClient, name string, data []byte, now time.Time, stdout io.Writer) error {
	evs, skipped, err := closeloop.ParseEventsCSV(strings.NewReader(string(data)), now)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	applied := 0
	for start := 0; start < len(evs); start += 500 {
		var out struct {
			Applied int
			Skipped []closeloop.Skipped
		}
		if err := c.do(ctx, "POST", "/api/customers/events", map[string]any{"events": evs[start:min(start+500, len(evs))]}, &out); err != nil {
			return fmt.Errorf("%w (run the import again to resume: events already recorded change nothing)", err)
		}
		applied += out.Applied
		for _, s := range out.Skipped {
			// The API numbers events within its batch; name them by line here.
			s.Record = fmt.Sprintf("event %s of batch %d", strings.TrimPrefix(s.Record, "event "), start/500+1)
			skipped = append(skipped, s)
		}
	}
	fmt.Fprintf(stdout, "recorded %d churn and renewal events; skipped %d\n", applied, len(skipped))
	for _, s := range skipped {
		fmt.Fprintf(stdout, "  skipped %s: %s\n", s.Record, s.Reason)
	}
	return nil
}

// delightedAPI reads Delighted's API v1 (HTTP Basic with the key as the
// user name), page by page, waiting as its 429 answers ask.
type delightedAPI struct {
	base, key string
	http      *http.Client
	log       io.Writer
}

// all returns every page of GET /v1/<name>.json as one JSON array.
func (d *delightedAPI) all(ctx context.Context, name, query string) ([]byte, error) {
	var items []string
	for page := 1; page < 100000; page++ {
		u := fmt.Sprintf("%s/v1/%s.json?per_page=100&page=%d%s", d.base, name, page, query)
		var body []byte
		for attempt := 0; ; attempt++ {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
			if err != nil {
				return nil, err
			}
			req.SetBasicAuth(d.key, "")
			res, err := d.http.Do(req)
			if err != nil {
				return nil, fmt.Errorf("delighted %s: %w", name, err)
			}
			body, _ = io.ReadAll(io.LimitReader(res.Body, 64<<20))
			res.Body.Close()
			if res.StatusCode == http.StatusTooManyRequests && attempt < 10 {
				wait, _ := strconv.Atoi(res.Header.Get("Retry-After"))
				fmt.Fprintf(d.log, "delighted: rate limited; waiting %d s\n", max(wait, 1))
				select {
				case <-ctx.Done():
					return nil, ctx.Err()
				case <-time.After(time.Duration(max(wait, 1)) * time.Second):
				}
				continue
			}
			if res.StatusCode != http.StatusOK {
				return nil, fmt.Errorf("delighted %s page %d: %s", name, page, res.Status)
			}
			break
		}
		trimmed := strings.TrimSpace(string(body))
		if !strings.HasPrefix(trimmed, "[") || !strings.HasSuffix(trimmed, "]") {
			return nil, fmt.Errorf("delighted %s page %d: not a JSON array", name, page)
		}
		inner := strings.TrimSpace(trimmed[1 : len(trimmed)-1])
		if inner == "" {
			break
		}
		items = append(items, inner)
	}
	return []byte("[" + strings.Join(items, ",") + "]"), nil
}
