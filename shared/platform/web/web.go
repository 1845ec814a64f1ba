// Package web holds what Closeloop's HTTP handlers share: the one mapping
// from errors to status codes, JSON replies, and the body size limit.
package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/closeloop/closeloop/shared/closeloop"
)

// MaxBody is the largest request body accepted: 1 MiB.
const MaxBody = 1 << 20

// ErrTooLarge is answered with 413.
var ErrTooLarge = errors.New("request body is too large")

// Status maps an error to its HTTP status: 400 for invalid input, 401, 404,
// 409 for a lost race the client may retry, 410 for an expired link, 413,
// 503 when AWS throttled the request beyond the SDK's own retries, and 500
// for anything else.
func Status(err error) int {
	var mbe *http.MaxBytesError
	switch {
	case errors.Is(err, closeloop.ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, closeloop.ErrUnauthorized):
		return http.StatusUnauthorized
	case errors.Is(err, closeloop.ErrForbidden):
		return http.StatusForbidden
	case errors.Is(err, closeloop.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, closeloop.ErrConflict):
		return http.StatusConflict
	case errors.Is(err, closeloop.ErrExpired):
		return http.StatusGone
	case errors.Is(err, ErrTooLarge), errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge
	case throttled(err):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// throttled reports whether err is an AWS service's throttling error
// (DynamoDB's ProvisionedThroughputExceededException and the like), as the
// SDK's error codes name them.
func throttled(err error) bool {
	var coded interface{ ErrorCode() string }
	if !errors.As(err, &coded) {
		return false
	}
	switch coded.ErrorCode() {
	case "ProvisionedThroughputExceededException", "ThrottlingException", "Throttling", "RequestLimitExceeded",
		"TooManyRequestsException", "LimitExceededException", "RequestThrottled":
		return true
	}
	return false
}

// Error answers err as JSON {"error": "..."}. A 5xx hides the error's text
// from the caller and logs it; a 4xx shows its reason.
func Error(w http.ResponseWriter, r *http.Request, err error) {
	code := Failed(w, r, err)
	msg := err.Error()
	switch {
	case code == http.StatusServiceUnavailable:
		msg = "busy: try again shortly"
	case code >= 500:
		msg = "internal error"
	}
	JSON(w, code, map[string]string{"error": msg})
}

// Failed is the status answering err, for JSON and pages alike: a server
// error is logged (its details never reach the client), and a busy one
// (503) asks to come back in 5 s.
func Failed(w http.ResponseWriter, r *http.Request, err error) int {
	code := Status(err)
	if code >= 500 {
		slog.ErrorContext(r.Context(), "request failed", "method", r.Method, "route", r.Pattern, "err", err)
	}
	if code == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "5")
	}
	return code
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

// ParseForm parses r's form, reading at most limit bytes of body; a larger
// body is ErrTooLarge (413), an unreadable one wraps closeloop.ErrInvalid.
func ParseForm(w http.ResponseWriter, r *http.Request, limit int64) error {
	if r.ContentLength > limit {
		return tooLarge(limit)
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return tooLarge(limit)
		}
		return closeloop.Errorf(closeloop.ErrInvalid, "the form could not be read: %v", err)
	}
	return nil
}

// ReadBody reads r's body up to MaxBody; a larger body is ErrTooLarge.
func ReadBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > MaxBody {
		return nil, tooLarge(MaxBody)
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, tooLarge(MaxBody)
	}
	return b, err
}

func tooLarge(limit int64) error {
	if limit%(1<<20) == 0 {
		return closeloop.Errorf(ErrTooLarge, "request body is larger than %d MiB", limit>>20)
	}
	return closeloop.Errorf(ErrTooLarge, "request body is larger than %d KiB", limit>>10)
}

// Fallback is the handler of a mux's catch-all pattern (such as "/api/"):
// a path that the mux serves with other methods gets 405 with an Allow
// header, any other path 404, both as JSON with a reason.
func Fallback(mux *http.ServeMux, catchAll string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var allowed []string
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, pattern := mux.Handler(probe); pattern != "" && pattern != catchAll {
				allowed = append(allowed, m)
			}
		}
		if len(allowed) > 0 {
			w.Header().Set("Allow", strings.Join(allowed, ", "))
			JSON(w, http.StatusMethodNotAllowed, map[string]string{"error": fmt.Sprintf("%s is not allowed on %s; use %s", r.Method, r.URL.Path, strings.Join(allowed, ", "))})
			return
		}
		Error(w, r, closeloop.Errorf(closeloop.ErrNotFound, "no route %s %s", r.Method, r.URL.Path))
	}
}
