// Package lambdahttp runs an ordinary http.Handler behind API Gateway HTTP
// APIs (payload format 2.0), so that Lambda, the local dev server and tests
// all serve the same handler.
package lambdahttp

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// Request turns an API Gateway v2 event into an *http.Request. The body's
// bytes are kept exactly, because webhook signatures cover them.
func Request(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (*http.Request, error) {
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
			return nil, fmt.Errorf("decode body: %w", err)
		}
	}
	method := ev.RequestContext.HTTP.Method
	path := ev.RawPath
	if path == "" {
		path = ev.RequestContext.HTTP.Path
	}
	u := &url.URL{Path: path, RawQuery: ev.RawQueryString}
	if host := ev.RequestContext.DomainName; host != "" {
		u.Scheme, u.Host = "https", host
	}
	r, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	for k, v := range ev.Headers {
		// API Gateway joins repeated headers with commas.
		r.Header.Set(k, v)
	}
	if len(ev.Cookies) > 0 {
		r.Header.Set("Cookie", strings.Join(ev.Cookies, "; "))
	}
	r.RemoteAddr = ev.RequestContext.HTTP.SourceIP
	r.RequestURI = u.RequestURI()
	return r, nil
}

// Recorder is the http.ResponseWriter a handler writes to inside Lambda.
// (httptest's recorder would do, but it links test certificates into every
// function and adds to its start-up.)
type Recorder struct {
	Code    int
	header  http.Header
	Body    bytes.Buffer
	written bool
}

// NewRecorder returns a recorder whose status is 200 until written.
func NewRecorder() *Recorder { return &Recorder{Code: http.StatusOK, header: http.Header{}} }

// Header implements http.ResponseWriter.
func (r *Recorder) Header() http.Header { return r.header }

// WriteHeader implements http.ResponseWriter; only the first call counts.
func (r *Recorder) WriteHeader(code int) {
	if !r.written {
		r.Code, r.written = code, true
	}
}

// Write implements http.ResponseWriter.
func (r *Recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.Body.Write(b)
}

// Response turns a recorded response into an API Gateway v2 response,
// base64-encoding bodies that are not UTF-8 text.
func Response(rec *Recorder) events.APIGatewayV2HTTPResponse {
	res := events.APIGatewayV2HTTPResponse{StatusCode: rec.Code, Headers: map[string]string{}}
	for k, v := range rec.Header() {
		if strings.EqualFold(k, "Set-Cookie") {
			res.Cookies = append(res.Cookies, v...)
			continue
		}
		res.Headers[k] = strings.Join(v, ",")
	}
	b := rec.Body.Bytes()
	if utf8.Valid(b) {
		res.Body = string(b)
	} else {
		res.Body, res.IsBase64Encoded = base64.StdEncoding.EncodeToString(b), true
	}
	return res
}

// Handler adapts h to a Lambda handler for API Gateway HTTP API events.
func Handler(h http.Handler) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		r, err := Request(ctx, ev)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusBadRequest, Body: `{"error":"unreadable request"}`}, nil
		}
		rec := NewRecorder()
		h.ServeHTTP(rec, r)
		return Response(rec), nil
	}
}
