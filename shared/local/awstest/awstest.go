// Package awstest runs tests against the real local AWS-compatible servers
// (dynalite and aws-ses-v2-local): TestMain starts them once per test
// binary, and each test gets a fresh table, so storage and sending are
// tested for real, not against fakes.
package awstest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/dynamo"
	"github.com/closeloop/closeloop/shared/fn/webhook"
	"github.com/closeloop/closeloop/shared/helpdesk"
	"github.com/closeloop/closeloop/shared/local/devstack"
	"github.com/closeloop/closeloop/shared/local/localaws"
	"github.com/closeloop/closeloop/shared/mail"
)

var servers *localaws.Servers

// Main starts the local servers, runs the package's tests and stops them.
// Call it from TestMain. Endpoints in CLOSELOOP_DYNAMODB_ENDPOINT and
// CLOSELOOP_SES_ENDPOINT are used instead of starting servers.
func Main(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	// The servers' own output goes to a file, shown when a server died
	// during the tests (it is otherwise noise).
	logFile, _ := os.CreateTemp("", "closeloop-local-servers-*.log")
	var err error
	servers, err = localaws.Start(ctx, localaws.Options{
		DynamoDB: os.Getenv("CLOSELOOP_DYNAMODB_ENDPOINT"), SES: os.Getenv("CLOSELOOP_SES_ENDPOINT"), Log: logFile,
	})
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "awstest: the local AWS servers are needed for these tests:", err)
		os.Exit(1)
	}
	code := m.Run()
	if died := servers.Died(); len(died) > 0 && logFile != nil {
		b, _ := os.ReadFile(logFile.Name())
		fmt.Fprintf(os.Stderr, "awstest: a local server ended during the tests: %s\nits output (last 4 KB):\n%s\n", strings.Join(died, "; "), b[max(0, len(b)-4096):])
	}
	servers.Stop()
	if logFile != nil {
		logFile.Close()
		os.Remove(logFile.Name())
	}
	os.Exit(code)
}

// DynamoDB returns an SDK client for the local DynamoDB server.
func DynamoDB() *dynamodb.Client {
	return devstack.Env(closeloop.Config{}, servers.DynamoDB, servers.SES).DynamoDB()
}

// SES returns an SDK client for the local SES server.
func SES() *sesv2.Client {
	return mail.SESClient(devstack.Env(closeloop.Config{}, servers.DynamoDB, servers.SES))
}

// Name returns a fresh random name with prefix, for tables and addresses
// that must not collide between tests.
func Name(prefix string) string {
	b := make([]byte, 6)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// Store returns a store over a fresh table.
func Store(t testing.TB) *dynamo.Store {
	t.Helper()
	db := DynamoDB()
	table := Name("t")
	if err := dynamo.CreateTable(context.Background(), db, table); err != nil {
		t.Fatal(err)
	}
	s := dynamo.NewStore(db, table)
	s.Key = TestContactKey
	return s
}

// TestContactKey is the contact key of every test store and configuration.
var TestContactKey = closeloop.ContactKey("test-contact-key-0123456789abcdef0123456789")

// Config returns a configuration for tests: no survey delay, a known admin
// token and a secret for every source.
func Config() closeloop.Config {
	cfg, err := closeloop.LoadConfig(func(string) string { return "" })
	if err != nil {
		panic(err)
	}
	cfg.SurveyDelay = 0
	cfg.SendWindow, _ = closeloop.ParseSendWindow("always")
	cfg.AdminToken = "test-admin-token"
	cfg.AdminEmail = closeloop.DefaultAdminEmail // as closeloop dev has it
	cfg.Table = Name("t")
	cfg.BaseURL = "http://closeloop.test"
	cfg.ContactKey = TestContactKey
	for _, s := range closeloop.Sources {
		cfg.Secrets[s] = "test-secret-" + s
	}
	return cfg
}

// Stack assembles the whole local stack over a fresh table with cfg
// (Config() when cfg.Table is empty).
func Stack(t testing.TB, cfg closeloop.Config) *devstack.Stack {
	t.Helper()
	if cfg.Table == "" {
		cfg = Config()
	}
	s, err := devstack.Assemble(context.Background(), cfg, servers.DynamoDB, servers.SES, 0)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Mail is one email in the local SES server's store.
type Mail = localaws.Mail

// MailTo returns every email the local SES server holds for address to.
func MailTo(t testing.TB, to string) []Mail {
	t.Helper()
	all, err := localaws.SentMail(servers.SES)
	if err != nil {
		t.Fatal(err)
	}
	var out []Mail
	for _, m := range all {
		if m.To(to) {
			out = append(out, m)
		}
	}
	return out
}

// Email returns a fresh address at example.com.
func Email() string { return Name("c") + "@example.com" }

// Solved is a generic source's event saying ticket of email was solved now,
// with a fresh event id; tests change the fields they care about.
func Solved(ticket, email string) closeloop.TicketEvent {
	return closeloop.TicketEvent{Source: "generic", EventID: Name("e"), TicketID: ticket, Status: closeloop.StatusSolved,
		OccurredAt: time.Now(), Customer: closeloop.Person{Email: email, Name: "Ada"}, Subject: "Ticket " + ticket}
}

// Snapshot returns every item of table as sorted JSON lines, to compare the
// whole stored state before and after a request that must change nothing.
func Snapshot(t testing.TB, table string) string {
	t.Helper()
	db := DynamoDB()
	var lines []string
	p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{TableName: &table, ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			var m map[string]any
			if err := attributevalue.UnmarshalMap(it, &m); err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(m)
			lines = append(lines, string(b))
		}
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// LoadEvent reads a sample API Gateway v2 event from the project's events/
// folder, resigned for its source with the Config() secrets at now when it is
// a webhook.
func LoadEvent(t testing.TB, name string, now time.Time) events.APIGatewayV2HTTPRequest {
	t.Helper()
	root, err := localaws.FindRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "events", name))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if src := ev.PathParameters["source"]; src != "" && strings.HasPrefix(ev.RawPath, "/webhooks/") {
		uri := "https://" + ev.RequestContext.DomainName + ev.RawPath
		if ev.Headers, err = helpdesk.Resign(src, Config().Secrets[src], uri, ev.Headers, []byte(ev.Body), now); err != nil {
			t.Fatal(err)
		}
	}
	return ev
}

var linkRE = regexp.MustCompile(`https?://[^\s"'<>]+/(s|u)/([A-Za-z0-9_-]+)`)

// Links returns the paths of every survey (/s/) and unsubscribe (/u/) link
// in m's text and HTML bodies and headers, with their query, once each.
func Links(m Mail) []string {
	text := m.Body.Text + "\n" + strings.ReplaceAll(m.Body.HTML, "&amp;", "&")
	for _, h := range m.Headers {
		text += "\n" + h.Value
	}
	seen := map[string]bool{}
	var out []string
	for _, u := range regexp.MustCompile(`https?://[^\s"'<>]+`).FindAllString(text, -1) {
		if !linkRE.MatchString(u) {
			continue
		}
		p, err := url.Parse(u)
		if err != nil {
			continue
		}
		if path := p.RequestURI(); !seen[path] {
			seen[path] = true
			out = append(out, path)
		}
	}
	return out
}

// Token returns the survey token in m's links, or "".
func Token(m Mail) string {
	if s := linkRE.FindStringSubmatch(m.Body.Text); s != nil {
		return s[2]
	}
	return ""
}

// Endpoints returns the local DynamoDB and SES endpoint URLs.
func Endpoints() (dynamoDB, ses string) { return servers.DynamoDB, servers.SES }

// Surveyed solves ticket (a fresh id when empty) of source for a fresh
// address with st's webhook handler and sweeps: it returns the address and
// the survey email that went out.
func Surveyed(t testing.TB, st *devstack.Stack, source, ticket string, kind closeloop.Kind) (string, Mail) {
	t.Helper()
	email := Email()
	if ticket == "" {
		ticket = Name("T-")
	}
	ev := closeloop.TicketEvent{
		Source: source, EventID: Name("e"), TicketID: ticket, Status: closeloop.StatusSolved, Kind: kind,
		OccurredAt: time.Now(), Customer: closeloop.Person{Email: email, Name: "Ada"}, Subject: "Printer",
	}
	if a, err := webhook.New(st.Config, st.Store).Apply(context.Background(), ev, time.Now()); err != nil || a != closeloop.ActionScheduled {
		t.Fatalf("solve %s: %s %v", ticket, a, err)
	}
	if res, err := st.Sweeper.Run(context.Background()); err != nil || res.Sent < 1 {
		t.Fatalf("sweep %+v %v", res, err)
	}
	m := MailTo(t, email)
	if len(m) != 1 {
		t.Fatalf("%d emails to the surveyed address", len(m))
	}
	return email, m[0]
}

// Answer posts rating and comment to the survey of email m through st's
// HTTP surface, as the survey page's form does, and returns the status.
func Answer(t testing.TB, st *devstack.Stack, m Mail, rating int, comment string) int {
	t.Helper()
	form := url.Values{"rating": {fmt.Sprint(rating)}, "comment": {comment}}
	r := httptest.NewRequest(http.MethodPost, "/s/"+Token(m), strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	st.Handler.ServeHTTP(w, r)
	return w.Code
}
