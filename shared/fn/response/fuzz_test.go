package response

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/closeloop/closeloop/shared/closeloop"
)

// FuzzSurveyForm posts arbitrary bodies to the survey page: never a 5xx or
// a panic, and a comment that is stored is valid UTF-8 within the limit.
func FuzzSurveyForm(f *testing.F) {
	for _, s := range []string{"rating=4&comment=ok", "rating=x", "rating=5&comment=%ff%fe", "", "rating=1&rating=2", strings.Repeat("a", 70000)} {
		f.Add(s)
	}
	tok, id := closeloop.NewToken()
	st := &recording{memStore: &memStore{sv: closeloop.Survey{ID: id, ContactID: "c1", Kind: closeloop.NPS, ExpiresAt: time.Now().Add(time.Hour)}}}
	h := New(closeloop.Config{}, st, nil)
	f.Fuzz(func(t *testing.T, body string) {
		st.comments = nil
		r := httptest.NewRequest(http.MethodPost, "/s/"+tok, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		switch w.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("body %.80q: status %d", body, w.Code)
		}
		for _, c := range st.comments {
			if !utf8.ValidString(c) || len(c) > closeloop.MaxComment {
				t.Fatalf("body %.80q: stored a comment of %d bytes, valid UTF-8 %v", body, len(c), utf8.ValidString(c))
			}
		}
	})
}

// recording keeps the comments handed to the store.
type recording struct {
	*memStore
	comments []string
}

func (r *recording) Answer(ctx context.Context, sv closeloop.Survey, rating int, c string, themes []string, now time.Time) (closeloop.Survey, error) {
	r.comments = append(r.comments, c)
	return r.memStore.Answer(ctx, sv, rating, c, themes, now)
}
