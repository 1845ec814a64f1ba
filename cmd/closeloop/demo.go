package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/helpdesk"
	"github.com/closeloop/closeloop/shared/local/localaws"
)

// demoCustomer is one customer of the demo: who they are and what they say.
type demoCustomer struct {
	source, ticket, email, name, locale, subject, comment string
	rating                                                int
}

var demoCustomers = []demoCustomer{
	{"zendesk", "4711", "ada@example.com", "Ada", "en", "CSV export times out", "Exporting my invoices to CSV takes forever and then fails.", 2},
	{"generic", "A-1001", "grace@example.org", "Grace", "de", "Export hängt", "Der Export ist sehr langsam.", 3},
	{"zendesk", "4712", "linus@example.net", "Linus", "en", "Password reset", "Quick and friendly, thanks!", 5},
}

// demo runs the whole loop against a local stack, as a helpdesk, a customer
// and an operator would, printing each step.
func demo(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	stay := fs.Bool("stay", false, "keep the whole local stack running after the demo, until Ctrl-C")
	keepMail := fs.Bool("keep-mail", false, "leave the local SES server and its page of sent mail running after the demo exits (make demo does)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError(fmt.Sprintf("usage: closeloop demo [--stay] [--keep-mail]; %q is not one of them", fs.Arg(0)))
	}
	cfg, err := localConfig(func(k string) string {
		if k == "CLOSELOOP_SURVEY_DELAY" || k == "CLOSELOOP_BASE_URL" || strings.HasPrefix(k, "CLOSELOOP_SECRET_") || k == "CLOSELOOP_ADMIN_TOKEN" {
			return "" // the demo chooses these
		}
		return getenv(k)
	})
	if err != nil {
		return err
	}
	cfg.SurveyDelay = 0
	cfg.CheckInDelay = 3 * time.Second // a week, in a demo
	if getenv("CLOSELOOP_ACKNOWLEDGE") == "" {
		cfg.Acknowledge = "detractors" // the demo shows it
	}
	cfg.AdminToken = randomToken()
	for _, s := range closeloop.Sources {
		cfg.Secrets[s] = randomToken()
	}
	logs, err := demoLog()
	if err != nil {
		return err
	}
	defer logs.Close()
	if *keepMail {
		stopKeptMail() // the previous demo's
	}
	lc, err := startLocal(ctx, func(k string) string {
		if k == "CLOSELOOP_BASE_URL" {
			return ""
		}
		return getenv(k)
	}, "127.0.0.1:0", 500*time.Millisecond, cfg, logs, *keepMail && !*stay)
	if err != nil {
		return err
	}
	defer lc.Close()
	d := &demoRun{api: lc.APIURL, mail: lc.MailURL(), token: cfg.AdminToken, secrets: cfg.Secrets, out: stdout}
	fmt.Fprintf(stdout, "Closeloop demo: local stack up (api %s, mail %s; logs in %s)\n\n", d.api, d.mail, logs.Name())
	if err := d.run(ctx); err != nil {
		return fmt.Errorf("demo failed: %w (logs: %s)", err, logs.Name())
	}
	fmt.Fprintf(stdout, "\nmail: %s  (the local SES server's page of sent mail)\n", d.mail)
	if dir, err := d.saveMail(); err == nil {
		fmt.Fprintf(stdout, "The emails are also saved as HTML in %s\n", dir)
	}
	// A sign-in link works only while this stack is up: with --stay.
	if !*stay {
		fmt.Fprintln(stdout, "console: `go run ./cmd/closeloop demo --stay` keeps the stack up and prints a sign-in link here")
	} else if link, err := lc.consoleLink(ctx); err == nil {
		fmt.Fprintf(stdout, "console: %s  (sign-in link for %s; works once, until Ctrl-C)\n", link, lc.Config.AdminEmail)
	}
	switch {
	case *stay:
		fmt.Fprintln(stdout, "Staying up: open the mail page above; Ctrl-C stops.")
		<-ctx.Done()
	case lc.Servers.SESPID != 0:
		if err := os.WriteFile(keptMailPIDFile(), []byte(fmt.Sprint(lc.Servers.SESPID)), 0o644); err == nil {
			fmt.Fprintln(stdout, "The mail page stays up after the demo; `make demo-stop` (or the next demo) stops it.")
		}
	default:
		fmt.Fprintln(stdout, "To browse the mail page, run `go run ./cmd/closeloop demo --stay` (or `closeloop dev`).")
	}
	return nil
}

// keptMailPIDFile records the SES server a demo left running.
func keptMailPIDFile() string {
	root, _ := localaws.FindRoot()
	return filepath.Join(root, "build", "demo-mail.pid")
}

// stopKeptMail stops the SES server an earlier demo left running, if any.
// The recorded pid is only trusted while it still names that server: once
// the server is gone the number may belong to any process (it once was a
// test binary's DynamoDB server), which must be left alone.
func stopKeptMail() {
	b, err := os.ReadFile(keptMailPIDFile())
	if err != nil {
		return
	}
	var pid int
	if _, err := fmt.Sscan(string(b), &pid); err == nil && pid > 1 && isKeptMail(pid) {
		syscall.Kill(-pid, syscall.SIGTERM) // its own session and process group
	}
	os.Remove(keptMailPIDFile())
}

// isKeptMail reports whether process pid is the local SES server.
func isKeptMail(pid int) bool {
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		out, err := exec.Command("ps", "-o", "args=", "-p", fmt.Sprint(pid)).Output() // no /proc (macOS)
		if err != nil {
			return false
		}
		cmdline = out
	}
	return strings.Contains(string(cmdline), "aws-ses-v2-local")
}

func demoLog() (*os.File, error) {
	root, err := localaws.FindRoot()
	if err != nil {
		return nil, err
	}
	os.MkdirAll(filepath.Join(root, "build"), 0o755)
	return os.Create(filepath.Join(root, "build", "demo.log"))
}

type demoRun struct {
	api, mail, token string
	secrets          map[string]string
	out              io.Writer
	step             int
}

func (d *demoRun) say(format string, args ...any) {
	d.step++
	fmt.Fprintf(d.out, "%2d. %s\n", d.step, fmt.Sprintf(format, args...))
}

func (d *demoRun) detail(format string, args ...any) {
	fmt.Fprintf(d.out, "    %s\n", fmt.Sprintf(format, args...))
}

func (d *demoRun) run(ctx context.Context) error {
	// 1. The helpdesk says three tickets were solved.
	surveys := map[string]string{} // email -> survey link
	for _, c := range demoCustomers {
		reply, err := d.solve(ctx, c, "solved")
		if err != nil {
			return err
		}
		d.say("ticket received: %s ticket %s solved (signed webhook) -> %s", c.source, c.ticket, reply)
	}
	reply, err := d.solve(ctx, demoCustomers[0], "solved")
	if err != nil {
		return err
	}
	d.say("same delivery again (a helpdesk retry) -> %s: still one survey", reply)

	// 2. The sweep sends each customer one survey email.
	for _, c := range demoCustomers {
		var links []string
		var subject string
		// A check-in may go out in the same run, before or after the survey.
		for n := 1; len(links) == 0 && n <= 2; n++ {
			m, err := d.waitMail(ctx, c.email, n)
			if err != nil {
				return err
			}
			for _, e := range m {
				if links = surveyLinks(e); len(links) > 0 {
					subject = e.Subject
					break
				}
			}
		}
		if len(links) == 0 {
			return fmt.Errorf("survey email to %s has no rating links", c.email)
		}
		d.say("survey sent to %s: %q with %d one-click rating links", c.name, subject, len(links))
		surveys[c.email] = links[0]
	}

	// 3. A mail scanner, then the customer, open a rating link: nothing is recorded.
	first := demoCustomers[0]
	link := strings.Replace(surveys[first.email], "?r=1", fmt.Sprintf("?r=%d", first.rating), 1)
	st, _, err := d.do(ctx, http.MethodGet, pathOf(link), nil, "")
	if err != nil || st != 200 {
		return fmt.Errorf("GET survey page: %d %v", st, err)
	}
	rs, err := d.responses(ctx)
	if err != nil {
		return err
	}
	d.say("link clicked: GET %s -> %d, page shows rating %d preselected; responses stored: %d", shorten(pathOf(link)), st, first.rating, len(rs))

	// 4. Each customer submits a rating and a comment.
	for _, c := range demoCustomers {
		form := url.Values{"rating": {fmt.Sprint(c.rating)}, "comment": {c.comment}}.Encode()
		st, _, err := d.do(ctx, http.MethodPost, strings.SplitN(pathOf(surveys[c.email]), "?", 2)[0], []byte(form), "application/x-www-form-urlencoded")
		if err != nil || st != 200 {
			return fmt.Errorf("POST survey answer: %d %v", st, err)
		}
		d.say("response stored: %s rated %d: %q", c.name, c.rating, c.comment)
	}

	// 4b. An unhappy answer opens a follow-up case, and the team is alerted;
	// an operator writes back personally.
	var cases struct{ Cases []map[string]any }
	if err := d.apiCall(ctx, http.MethodGet, "/api/cases?status=open", nil, &cases); err != nil {
		return err
	}
	if len(cases.Cases) != 1 {
		return fmt.Errorf("want one open follow-up case, got %d", len(cases.Cases))
	}
	caseID := fmt.Sprint(cases.Cases[0]["id"])
	d.say("follow-up case opened: %s rated %v, due within a day; the team's alert is queued (Slack and email when configured)", first.name, cases.Cases[0]["rating"])
	var c map[string]any
	if err := d.apiCall(ctx, http.MethodPost, "/api/cases/"+caseID+"/reply", map[string]any{
		"message": "Hi " + first.name + ", I am sorry the export failed you. We are on it and I will write again when it is fixed. Sam",
	}, &c); err != nil {
		return err
	}
	if _, err := d.waitMail(ctx, first.email, 3); err != nil { // the survey, the acknowledgement of the comment, the reply
		return err
	}
	d.say("%s's comment acknowledged once by email (it reached the team); operator replied personally -> case %v", first.name, c["status"])

	// 5. The team groups feedback into a theme.
	var theme map[string]any
	if err := d.apiCall(ctx, http.MethodPost, "/api/themes", map[string]any{"name": "exports", "keywords": []string{"export"}}, &theme); err != nil {
		return err
	}
	rs, err = d.responses(ctx)
	if err != nil {
		return err
	}
	tagged := 0
	for _, r := range rs {
		if strings.Contains(strings.ToLower(fmt.Sprint(r["comment"])), "export") {
			if err := d.apiCall(ctx, http.MethodPut, fmt.Sprintf("/api/responses/%s/themes", r["id"]), map[string]any{"themes": []string{"exports"}}, nil); err != nil {
				return err
			}
			tagged++
		}
	}
	d.say("theme assigned: \"exports\" (keyword \"export\") on %d of %d responses", tagged, len(rs))

	// 6. The team records what it changed.
	var imp map[string]string
	err = d.apiCall(ctx, http.MethodPost, "/api/improvements", map[string]any{
		"theme": "exports", "summary": "Exports are now 10x faster",
		"message": "We rebuilt CSV export: large exports now finish in seconds, and you get an email when a big one is ready.",
		"translations": map[string]any{"de": map[string]string{
			"summary": "Exporte sind jetzt zehnmal schneller",
			"message": "Wir haben den CSV-Export neu gebaut: Große Exporte sind in Sekunden fertig, und Sie bekommen eine E-Mail, wenn ein großer bereit ist.",
		}},
	}, &imp)
	if err != nil {
		return err
	}
	d.say("improvement announced: %q -> 202, id %s", "Exports are now 10x faster", imp["id"])

	// 7. Everyone who raised the theme hears back, once.
	var prog map[string]any
	deadline := time.Now().Add(60 * time.Second)
	for {
		if err := d.apiCall(ctx, http.MethodGet, "/api/improvements/"+imp["id"], nil, &prog); err != nil {
			return err
		}
		if prog["recipients"] == float64(tagged) && prog["sent"] == float64(tagged) {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("closing emails not sent within 60 s: %v", prog)
		}
		time.Sleep(300 * time.Millisecond)
	}
	for i, c := range demoCustomers[:2] {
		about := "Exports are now 10x faster"
		if i == 1 {
			about = "Exporte sind jetzt zehnmal schneller" // Grace reads German: the German text, framed in German
		}
		m, err := d.mailAbout(ctx, c.email, about)
		if err != nil {
			return err
		}
		d.say("closing email sent to %s: %q, quoting %q", c.name, m.Subject, c.comment)
	}
	d.detail("progress: recipients %v, sent %v, failed %v, suppressed %v", prog["recipients"], prog["sent"], prog["failed"], prog["suppressed"])

	// 7b. A week later (seconds, here), a check-in asks whether it still works.
	last := demoCustomers[len(demoCustomers)-1]
	ci, err := d.mailAbout(ctx, last.email, "still working")
	if err != nil {
		return err
	}
	var yes string
	for _, l := range checkInLinks(ci) {
		if strings.HasSuffix(l, "?a=yes") {
			yes = l
		}
	}
	if yes == "" {
		return fmt.Errorf("the check-in email has no yes link")
	}
	st, _, err = d.do(ctx, http.MethodPost, strings.SplitN(pathOf(yes), "?", 2)[0], []byte("answer=yes"), "application/x-www-form-urlencoded")
	if err != nil || st != 200 {
		return fmt.Errorf("answer the check-in: %d %v", st, err)
	}
	d.say("check-in sent to %s a week after the solve (%q); answered: still solved", last.name, ci.Subject)

	// 8. The numbers.
	day := time.Now().UTC().Format(time.DateOnly)
	var m map[string]any
	if err := d.apiCall(ctx, http.MethodGet, "/api/metrics?from="+day+"&to="+day, nil, &m); err != nil {
		return err
	}
	d.say("metrics for %s: surveys sent %v, responses %v, response rate %v, CSAT %v%%, loops closed %v",
		day, m["surveys_sent"], m["responses"], m["response_rate"], m["csat"], m["closing_sent"])
	d.detail("loop closure: detractors %v, contacted %v, median hours from answer to contact %v; check-ins sent %v, still solved %v",
		m["detractors"], m["detractors_contacted"], m["median_hours_to_contact"], m["checkins_sent"], m["checkins_still_solved"])
	return nil
}

func (d *demoRun) solve(ctx context.Context, c demoCustomer, status string) (string, error) {
	var body []byte
	switch c.source {
	case "zendesk":
		body, _ = json.Marshal(helpdesk.ZendeskPayload{
			TicketID: c.ticket, Status: "Solved", Subject: c.subject, RequesterEmail: c.email, RequesterName: c.name,
			AssigneeName: "Sam from Support", Locale: c.locale, UpdatedAt: "2026-11-24T10:00:00Z",
		})
	default:
		body, _ = json.Marshal(helpdesk.GenericPayload{
			EventID: "evt-" + c.ticket + "-" + status, TicketID: c.ticket, Status: status, Subject: c.subject,
			Customer: closeloop.Person{Email: c.email, Name: c.name, Locale: c.locale}, Agent: closeloop.Person{Name: "Sam from Support"},
		})
	}
	rc, _ := helpdesk.New(c.source, d.secrets[c.source])
	h := rc.(helpdesk.Signer).Sign(body, time.Now())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, d.api+"/webhooks/"+c.source, bytes.NewReader(body))
	req.Header = h
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var reply struct{ Action string }
	json.NewDecoder(res.Body).Decode(&reply)
	if res.StatusCode != 200 {
		return "", fmt.Errorf("webhook %s answered %s", c.source, res.Status)
	}
	return reply.Action, nil
}

func (d *demoRun) do(ctx context.Context, method, path string, body []byte, ctype string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, d.api+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if strings.HasPrefix(path, "/api/") {
		req.Header.Set("Authorization", "Bearer "+d.token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}

func (d *demoRun) apiCall(ctx context.Context, method, path string, in, out any) error {
	var body []byte
	if in != nil {
		body, _ = json.Marshal(in)
	}
	st, b, err := d.do(ctx, method, path, body, "application/json")
	if err != nil {
		return err
	}
	if st/100 != 2 {
		return fmt.Errorf("%s %s answered %d: %s", method, path, st, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

func (d *demoRun) responses(ctx context.Context) ([]map[string]any, error) {
	var r struct{ Responses []map[string]any }
	err := d.apiCall(ctx, http.MethodGet, "/api/responses", nil, &r)
	return r.Responses, err
}

// mailAbout waits for the email to to whose subject contains s.
func (d *demoRun) mailAbout(ctx context.Context, to, s string) (localaws.Mail, error) {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		all, err := localaws.SentMail(d.mail)
		if err != nil {
			return localaws.Mail{}, err
		}
		for _, m := range all {
			if m.To(to) && strings.Contains(m.Subject, s) {
				return m, nil
			}
		}
		select {
		case <-ctx.Done():
			return localaws.Mail{}, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return localaws.Mail{}, fmt.Errorf("no email to %s about %q within 60 s", to, s)
}

func (d *demoRun) waitMail(ctx context.Context, to string, n int) ([]localaws.Mail, error) {
	deadline := time.Now().Add(60 * time.Second)
	for {
		all, err := localaws.SentMail(d.mail)
		if err != nil {
			return nil, err
		}
		var got []localaws.Mail
		for _, m := range all {
			if m.To(to) {
				got = append(got, m)
			}
		}
		if len(got) >= n {
			return got, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("want %d emails to %s within 60 s, got %d", n, to, len(got))
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (d *demoRun) saveMail() (string, error) {
	all, err := localaws.SentMail(d.mail)
	if err != nil {
		return "", err
	}
	root, err := localaws.FindRoot()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(root, "build", "demo-mail")
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	var errs []error
	for i, m := range all {
		name := fmt.Sprintf("%02d-%s.html", i+1, strings.NewReplacer("@", "-at-", ".", "-").Replace(strings.Join(m.Destination.To, "_")))
		errs = append(errs, os.WriteFile(filepath.Join(dir, name), []byte(m.Body.HTML), 0o644))
	}
	return dir, errors.Join(errs...)
}

var linkRE = regexp.MustCompile(`https?://[^\s"'<>]+/s/[A-Za-z0-9_\-]+\?r=\d+`)

func surveyLinks(m localaws.Mail) []string {
	return linkRE.FindAllString(strings.ReplaceAll(m.Body.Text, "&amp;", "&"), -1)
}

func pathOf(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	return p.RequestURI()
}

func shorten(p string) string {
	if i := strings.Index(p, "/s/"); i >= 0 && len(p) > i+14 {
		q := ""
		if j := strings.Index(p, "?"); j >= 0 {
			q = p[j:]
		}
		return p[:i+11] + "…" + q
	}
	return p
}

// checkInLinks returns the check-in answer links of m.
func checkInLinks(m localaws.Mail) []string {
	var out []string
	for _, f := range strings.Fields(m.Body.Text) {
		if strings.Contains(f, "/s/") && strings.Contains(f, "?a=") {
			out = append(out, f)
		}
	}
	return out
}
