package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/local/devstack"
	"github.com/closeloop/closeloop/shared/local/localaws"
)

// pageRounds is how many times each request is timed, interleaved.
const pageRounds = 400

// pageLatency times the survey page (GET with a one-click rating, POST of
// the answer with a comment) and, interleaved with them, the same server's
// page for an unknown link (rendered without touching the store), all
// through a real HTTP server over the local DynamoDB server, and compares
// their percentiles.
func pageLatency(ctx context.Context, rep *Report, srv *localaws.Servers) error {
	st, err := devstack.Assemble(ctx, benchConfig(), srv.DynamoDB, srv.SES, 0)
	if err != nil {
		return err
	}
	web := httptest.NewServer(st.Handler)
	defer web.Close()
	cid := "bench-page-contact"
	if err := st.Store.UpsertContact(ctx, closeloop.Contact{ID: cid, Email: "page@example.com", Name: "Page"}); err != nil {
		return err
	}
	token, id := closeloop.NewToken()
	now := time.Now()
	if err := st.Store.CreateSurvey(ctx, closeloop.Survey{ID: id, Source: "generic", TicketID: "P-1", ContactID: cid, Kind: closeloop.CSAT,
		SentAt: now, ExpiresAt: now.Add(closeloop.SurveyTTL)}); err != nil {
		return err
	}
	timed := func(req func() (*http.Response, error)) (time.Duration, error) {
		start := time.Now()
		res, err := req()
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		d := time.Since(start)
		if res.StatusCode >= 500 {
			return d, fmt.Errorf("status %d", res.StatusCode)
		}
		return d, nil
	}
	var get, post, missing []time.Duration
	form := url.Values{"rating": {"4"}, "comment": {"The export was slow, now it is fine."}}.Encode()
	for i := 0; i < pageRounds; i++ {
		d, err := timed(func() (*http.Response, error) { return http.Get(web.URL + "/s/" + token + "?r=4") })
		if err != nil {
			return fmt.Errorf("survey page GET: %w", err)
		}
		get = append(get, d)
		d, err = timed(func() (*http.Response, error) {
			return http.Post(web.URL+"/s/"+token, "application/x-www-form-urlencoded", strings.NewReader(form))
		})
		if err != nil {
			return fmt.Errorf("survey page POST: %w", err)
		}
		post = append(post, d)
		d, err = timed(func() (*http.Response, error) { return http.Get(web.URL + "/s/not-a-link") })
		if err != nil {
			return fmt.Errorf("unknown link page: %w", err)
		}
		missing = append(missing, d)
	}
	pct := func(ds []time.Duration, p float64) time.Duration {
		s := slices.Clone(ds)
		slices.Sort(s)
		return s[int(p*float64(len(s)-1))]
	}
	base50, base99 := pct(missing, 0.5), pct(missing, 0.99)
	rep.add(Figure{Section: "page", Name: "unknown link page (no store call): p50, p99", Value: fmt.Sprintf("%s, %s (baseline)", base50.Round(time.Microsecond), base99.Round(time.Microsecond))})
	for _, c := range []struct {
		name string
		ds   []time.Duration
	}{{"survey page GET (one-click rating shown)", get}, {"survey page POST (answer and comment recorded)", post}} {
		p50, p90, p99 := pct(c.ds, 0.5), pct(c.ds, 0.9), pct(c.ds, 0.99)
		rep.add(Figure{Section: "page", Name: c.name + ": p50, p90, p99", Value: fmt.Sprintf("%s, %s, %s: %.1f× and %.1f× the unknown link page's p50 and p99",
			p50.Round(time.Microsecond), p90.Round(time.Microsecond), p99.Round(time.Microsecond), float64(p50)/float64(base50), float64(p99)/float64(base99)),
			Note: fmt.Sprintf("%d requests each, interleaved, through one HTTP server over the local DynamoDB server", pageRounds)})
	}
	return nil
}
