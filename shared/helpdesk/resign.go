package helpdesk

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Resign returns headers with source's authentication headers replaced by
// ones that sign a POST of body to uri with secret at now, lower-cased as API
// Gateway passes them. Sample events carry placeholder signatures; tests and
// `closeloop invoke` resign them so the real verification accepts them.
func Resign(source, secret, uri string, headers map[string]string, body []byte, now time.Time) (map[string]string, error) {
	rc, ok := New(source, secret)
	if !ok {
		return nil, fmt.Errorf("unknown source %q", source)
	}
	signer, ok := rc.(Signer)
	if !ok {
		return nil, fmt.Errorf("source %q cannot sign", source)
	}
	out := make(map[string]string, len(headers))
	for k, v := range headers {
		out[strings.ToLower(k)] = v
	}
	signed := signer.Sign(body, now)
	if us, ok := rc.(interface {
		SignURI(method, uri string, body []byte, ts time.Time) http.Header
	}); ok {
		signed = us.SignURI(http.MethodPost, uri, body, now)
	}
	for k, v := range signed {
		out[strings.ToLower(k)] = strings.Join(v, ",")
	}
	return out, nil
}
