package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/local/awstest"
	"github.com/closeloop/closeloop/shared/local/localaws"
	"github.com/closeloop/closeloop/shared/mail"
)

// browser starts headless Debian chromium (make test installs it) and
// returns a tab's context.
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is not installed: run `make test`, which installs Debian's chromium")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(900, 1000),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	)
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(alloc)
	t.Cleanup(cancel2)
	return ctx
}

// shot saves a screenshot under build/screenshots for people to look at.
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	root, _ := localaws.FindRoot()
	dir := filepath.Join(root, "build", "screenshots")
	os.MkdirAll(dir, 0o755)
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestSurveyInBrowser follows a rating link in a real browser: the clicked
// rating is preselected, nothing is stored until the customer changes it,
// writes a comment and submits, and then exactly that is stored.
func TestSurveyInBrowser(t *testing.T) {
	s := startServer(t)
	email := awstest.Email()
	s.solve(t, "generic", "b-1", email, "Ada", "solved")
	m := waitMail(t, email, 1)[0]
	token := awstest.Token(m)
	ctx := browser(t)

	// The email itself, as a mail client shows it.
	emailFile := filepath.Join(t.TempDir(), "survey-email.html")
	os.WriteFile(emailFile, []byte(m.Body.HTML), 0o644)
	if err := chromedp.Do(ctx, chromedp.Navigate("file://"+emailFile)); err != nil {
		t.Fatal(err)
	}
	shot(t, ctx, "survey-email.png")
	closingMail, err := mail.ClosingEmail(email, mail.Closing{Name: "Ada", Quote: "Exporting my invoices to CSV takes forever and then fails.",
		Summary: "Exports are now 10x faster", Detail: "We rebuilt CSV export: large exports now finish in seconds.\n\nThank you for telling us.", UnsubscribeURL: s.URL + "/u/x"})
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(emailFile, []byte(closingMail.HTML), 0o644)
	if err := chromedp.Do(ctx, chromedp.Navigate("file://"+emailFile)); err != nil {
		t.Fatal(err)
	}
	shot(t, ctx, "closing-email.png")

	before := awstest.Snapshot(t, s.Config.Table)
	err = chromedp.Do(ctx,
		chromedp.Navigate(s.URL+"/s/"+token+"?r=4"),
		chromedp.WaitVisible(chromedp.CSS("form")),
	)
	if err != nil {
		t.Fatal(err)
	}
	checked, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('input[name=rating]:checked').value`))
	if err != nil || checked != "4" {
		t.Errorf("preselected rating %q, %v; want 4", checked, err)
	}
	shot(t, ctx, "survey-page.png")
	if after := awstest.Snapshot(t, s.Config.Table); after != before {
		t.Errorf("opening the page changed the table")
	}

	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`label[for=r2]`)),
		chromedp.SendKeys(chromedp.CSS(`#comment`), "Exports are too slow"),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`blockquote`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`main`)))
	if err != nil || !strings.Contains(text, "Thank you") {
		t.Errorf("thank-you page text %q, %v", text, err)
	}
	shot(t, ctx, "thank-you.png")
	sv, err := s.Store.GetSurvey(context.Background(), closeloop.SurveyIDOf(token))
	if err != nil || sv.Rating == nil || *sv.Rating != 2 || sv.Comment != "Exports are too slow" {
		t.Errorf("stored %+v, %v; want rating 2 and the comment", sv, err)
	}

	// The unsubscribe page, then its button.
	err = chromedp.Do(ctx,
		chromedp.Navigate(s.URL+"/u/"+token),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the unsubscribed page", func() bool {
		text, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`main`)))
		return strings.Contains(text, "You are unsubscribed")
	})
	c, err := s.Store.GetContact(context.Background(), sv.ContactID)
	if err != nil || c.Suppressed != "unsubscribed" {
		t.Errorf("after the unsubscribe button: %+v, %v", c, err)
	}
}
