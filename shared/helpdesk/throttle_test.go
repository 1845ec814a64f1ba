package helpdesk

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

// A 429 tells how long to wait, in whichever header the vendor uses; the
// error keeps the wait and stays a retryable one.
func TestThrottledTellsTheWait(t *testing.T) {
	now := time.Now()
	for _, c := range []struct {
		name   string
		header http.Header
		want   time.Duration
	}{
		{"Retry-After seconds (Zendesk, Front, HubSpot)", http.Header{"Retry-After": {"120"}}, 2 * time.Minute},
		{"Retry-After date", http.Header{"Retry-After": {now.Add(10 * time.Minute).UTC().Format(http.TimeFormat)}}, 10 * time.Minute},
		{"Help Scout", http.Header{"X-Ratelimit-Retry-After": {"30"}}, 30 * time.Second},
		{"Intercom's reset time", http.Header{"X-Ratelimit-Reset": {formatUnix(now.Add(5 * time.Minute))}}, 5 * time.Minute},
		{"nothing said", http.Header{}, 0},
		{"nonsense", http.Header{"Retry-After": {"soon"}}, 0},
		{"a week: held to a day", http.Header{"Retry-After": {"604800"}}, 24 * time.Hour},
	} {
		api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			for k, v := range c.header {
				w.Header()[k] = v
			}
			http.Error(w, `{"error":"slow down"}`, http.StatusTooManyRequests)
		}))
		var out struct{}
		err := getJSON(context.Background(), api.Client(), api.URL, http.Header{}, "contact 1", &out)
		api.Close()
		var th *Throttled
		if !errors.As(err, &th) || !errors.Is(err, ErrLookupRetry) {
			t.Errorf("%s: %v; want a Throttled error that is retryable", c.name, err)
			continue
		}
		if d := th.After - c.want; d < -2*time.Second || d > 2*time.Second {
			t.Errorf("%s: wait %s, want %s", c.name, th.After, c.want)
		}
	}
}

func formatUnix(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }
