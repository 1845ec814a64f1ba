// Package web holds what Closeloop's HTTP handlers share: the one mapping
// from errors to status codes, JSON replies, and the body size limit.
package web

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"

	"github.com/closeloop/closeloop/shared/closeloop"
)

// MaxBody is the largest request body accepted: 1 MiB.
const MaxBody = 1 << 20

// ErrTooLarge is answered with 413.
var ErrTooLarge = errors.New("request body is larger than 1 MiB")

// Status maps an error to its HTTP status: 400 for invalid input, 401, 404,
// 409 for a lost race the client may retry, 410 for an expired link, 413, and
// 500 for anything else.
func Status(err error) int {
	var mbe *http.MaxBytesError
	switch {
	case errors.Is(err, closeloop.ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, closeloop.ErrUnauthorized):
		return http.StatusUnauthorized
	case errors.Is(err, closeloop.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, closeloop.ErrConflict):
		return http.StatusConflict
	case errors.Is(err, closeloop.ErrExpired):
		return http.StatusGone
	case errors.Is(err, ErrTooLarge), errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusInternalServerError
}

// Error answers err as JSON {"error": "..."}. A 5xx hides the error's text
// from the caller and logs it; a 4xx shows its reason.
func Error(w http.ResponseWriter, r *http.Request, err error) {
	code := Status(err)
	msg := err.Error()
	if code >= 500 {
		slog.ErrorContext(r.Context(), "request failed", "method", r.Method, "route", r.Pattern, "err", err)
		msg = "internal error"
	}
	JSON(w, code, map[string]string{"error": msg})
}

// JSON writes v as a JSON reply with status code.
func JSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// ReadBody reads r's body up to MaxBody; a larger body is ErrTooLarge.
func ReadBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > MaxBody {
		return nil, ErrTooLarge
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, ErrTooLarge
	}
	return b, err
}
