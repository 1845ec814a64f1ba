package lambdahttp

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

func TestRoundTrip(t *testing.T) {
	b, err := os.ReadFile("../../../events/generic-solved.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev events.APIGatewayV2HTTPRequest
	json.Unmarshal(b, &ev)
	ev.RawQueryString = "a=1&b=%C3%A9"
	var gotBody []byte
	var gotSource, gotQuery, gotSig, gotURL string
	mux := http.NewServeMux()
	mux.HandleFunc("POST /webhooks/{source}", func(w http.ResponseWriter, r *http.Request) {
		gotBody, _ = io.ReadAll(r.Body)
		gotSource, gotQuery, gotSig, gotURL = r.PathValue("source"), r.URL.Query().Get("b"), r.Header.Get("X-Closeloop-Signature"), r.URL.String()
		w.Header().Set("X-Test", "yes")
		w.WriteHeader(http.StatusTeapot)
		w.Write([]byte{0xff, 0xfe, 0x00})
	})
	res, err := Handler(mux)(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if string(gotBody) != ev.Body || gotSource != "generic" || gotQuery != "é" || gotSig != ev.Headers["x-closeloop-signature"] {
		t.Errorf("request: body equal %v, source %q, query %q, sig %q", string(gotBody) == ev.Body, gotSource, gotQuery, gotSig)
	}
	if gotURL != "https://abc123.execute-api.eu-west-1.amazonaws.com/webhooks/generic?a=1&b=%C3%A9" {
		t.Errorf("url %s", gotURL)
	}
	raw, _ := base64.StdEncoding.DecodeString(res.Body)
	if res.StatusCode != http.StatusTeapot || res.Headers["X-Test"] != "yes" || !res.IsBase64Encoded || string(raw) != "\xff\xfe\x00" {
		t.Errorf("response %+v", res)
	}
	// A binary request body arrives base64-encoded and is decoded exactly.
	ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString([]byte{1, 2, 0xff}), true
	Handler(mux)(context.Background(), ev)
	if string(gotBody) != "\x01\x02\xff" {
		t.Errorf("binary body %v", gotBody)
	}
}
