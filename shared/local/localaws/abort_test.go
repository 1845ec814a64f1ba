package localaws

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestDynamoDBOutlivesAnAbortedRequest: a client that gives up halfway
// through a request body (a cancelled context, a test's cleanup) leaves the
// local DynamoDB server running: dynalite threw the aborted request's error
// and exited, failing every later test of the package.
func TestDynamoDBOutlivesAnAbortedRequest(t *testing.T) {
	root, err := FindRoot()
	if err != nil {
		t.Fatal(err)
	}
	s, err := Start(context.Background(), Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	u, _ := url.Parse(s.DynamoDB)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	if died := s.Died(); len(died) != 0 {
		t.Fatal(died)
	}
	conn.Write([]byte("POST / HTTP/1.1\r\nHost: " + u.Host + "\r\nX-Amz-Target: DynamoDB_20120810.ListTables\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: 100\r\n\r\n{\"Lim"))
	time.Sleep(100 * time.Millisecond)
	conn.Close()
	time.Sleep(300 * time.Millisecond)
	if died := s.Died(); len(died) != 0 {
		t.Fatalf("the local DynamoDB server ended after a client gave up mid-request: %v", died)
	}
	res, err := http.Post(s.DynamoDB, "application/x-amz-json-1.0", strings.NewReader("{}"))
	if err != nil {
		t.Fatalf("the local DynamoDB server no longer answers: %v", err)
	}
	res.Body.Close()
}
