package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/closeloop/closeloop/shared/closeloop"
)

func TestStatus(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{fmt.Errorf("x: %w", closeloop.ErrInvalid), 400},
		{fmt.Errorf("x: %w", closeloop.ErrUnauthorized), 401},
		{fmt.Errorf("x: %w", closeloop.ErrNotFound), 404},
		{closeloop.ErrConflict, 409},
		{closeloop.ErrExpired, 410},
		{ErrTooLarge, 413},
		{errors.New("boom"), 500},
	}
	for _, tt := range tests {
		if got := Status(tt.err); got != tt.want {
			t.Errorf("Status(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
	w := httptest.NewRecorder()
	Error(w, httptest.NewRequest("GET", "/", nil), errors.New("table arn:aws:dynamodb:secret-detail"))
	if w.Code != 500 || strings.Contains(w.Body.String(), "secret-detail") {
		t.Errorf("a 500 leaked its cause: %s", w.Body)
	}
}

func TestReadBody(t *testing.T) {
	for _, chunked := range []bool{false, true} {
		r := httptest.NewRequest("POST", "/", strings.NewReader(strings.Repeat("x", MaxBody+1)))
		if chunked {
			r.ContentLength = -1
		}
		if _, err := ReadBody(httptest.NewRecorder(), r); !errors.Is(err, ErrTooLarge) {
			t.Errorf("chunked %v: %v, want too large", chunked, err)
		}
	}
	r := httptest.NewRequest("POST", "/", strings.NewReader(strings.Repeat("x", MaxBody)))
	if b, err := ReadBody(httptest.NewRecorder(), r); err != nil || len(b) != MaxBody {
		t.Errorf("exactly 1 MiB: %d %v", len(b), err)
	}
	_ = http.StatusOK
}
