package response

import (
	"context"
	"crypto/ed25519"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/closeloop/closeloop/shared/closeloop"
)

// memStore is a benchmark fixture: it measures the handler's own cost
// (routing, token checks, templates, form parsing), not storage, which the
// integration tests exercise against the local DynamoDB server.
type memStore struct{ sv closeloop.Survey }

func (m *memStore) GetSurvey(context.Context, string) (closeloop.Survey, error) { return m.sv, nil }
func (m *memStore) Answer(_ context.Context, sv closeloop.Survey, r int, c string, _ []string, now time.Time) (closeloop.Survey, error) {
	sv.Rating, sv.Comment, sv.RevisedAt = &r, c, now
	return sv, nil
}
func (m *memStore) ThemesToTag(context.Context) ([]closeloop.Theme, error) {
	return []closeloop.Theme{{Name: "exports", Keywords: []string{"export"}}}, nil
}
func (m *memStore) LinkKey(context.Context) (ed25519.PublicKey, error) {
	return nil, closeloop.ErrNotFound
}
func (m *memStore) UnsubscribeLink(context.Context, string) (string, error) {
	return "", closeloop.ErrNotFound
}
func (m *memStore) GetContact(context.Context, string) (closeloop.Contact, error) {
	return closeloop.Contact{}, nil
}
func (m *memStore) SuppressContact(context.Context, string, string, string) error { return nil }
func (m *memStore) SurveyLink(context.Context, string) (string, error) {
	return "", closeloop.ErrNotFound
}
func (m *memStore) CheckInLink(context.Context, string) (string, error) {
	return "", closeloop.ErrNotFound
}
func (m *memStore) GetCheckIn(context.Context, string) (closeloop.CheckIn, error) {
	return closeloop.CheckIn{}, closeloop.ErrNotFound
}
func (m *memStore) AnswerCheckIn(context.Context, string, string, string, time.Time) (closeloop.CheckIn, error) {
	return closeloop.CheckIn{}, nil
}
func (m *memStore) AddCounters(context.Context, time.Time, closeloop.Counters, ...closeloop.Dims) error {
	return nil
}
func (m *memStore) OpenCase(context.Context, closeloop.Case) error { return nil }
func (m *memStore) GetOperator(context.Context, string) (closeloop.Operator, error) {
	return closeloop.Operator{}, closeloop.ErrNotFound
}

func BenchmarkSurveyPage(b *testing.B) {
	tok, id := closeloop.NewToken()
	h := New(closeloop.Config{}, &memStore{sv: closeloop.Survey{ID: id, ContactID: "c1", Kind: closeloop.CSAT, ExpiresAt: time.Now().Add(time.Hour)}}, nil)
	form := url.Values{"rating": {"2"}, "comment": {"The export is slow"}}.Encode()
	b.Run("GET", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/s/"+tok+"?r=4", nil))
			if w.Code != 200 {
				b.Fatal(w.Code)
			}
		}
	})
	b.Run("POST", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r := httptest.NewRequest(http.MethodPost, "/s/"+tok, strings.NewReader(form))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != 200 {
				b.Fatal(w.Code)
			}
		}
	})
}
