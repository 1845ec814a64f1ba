package closing_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/fn/closing"
	"github.com/closeloop/closeloop/shared/local/awstest"
	"github.com/closeloop/closeloop/shared/local/devstack"
	"github.com/closeloop/closeloop/shared/mail"
)

func TestMain(m *testing.M) { awstest.Main(m) }

// answered stores a sent survey to email with an answer carrying themes, as
// the sweep and the survey page would.
func answered(t *testing.T, st *devstack.Stack, email, comment string, themes ...string) closeloop.Survey {
	t.Helper()
	return answeredWith(t, st, email, comment, 2, themes...)
}

// answeredWith is answered with a CSAT rating of its own.
func answeredWith(t *testing.T, st *devstack.Stack, email, comment string, rating int, themes ...string) closeloop.Survey {
	t.Helper()
	ctx := context.Background()
	addr, _ := closeloop.NormalizeEmail(email)
	cid, err := st.Store.ContactID(addr)
	if err != nil {
		t.Fatal(err)
	}
	c := closeloop.Contact{ID: cid, Email: addr, Name: "Ada"}
	if err := st.Store.UpsertContact(ctx, c); err != nil {
		t.Fatal(err)
	}
	_, id := closeloop.NewToken()
	sv := closeloop.Survey{ID: id, Source: "generic", TicketID: id[:6], ContactID: c.ID, Kind: closeloop.CSAT, SentAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}
	if err := st.Store.CreateSurvey(ctx, sv); err != nil {
		t.Fatal(err)
	}
	sv, err = st.Store.Answer(ctx, sv, rating, comment, themes, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return sv
}

// batchOf is the queue message of one fan-out batch of im quoting svs.
func batchOf(im closeloop.Improvement, svs ...closeloop.Survey) string {
	m := closing.Message{ImprovementID: im.ID}
	for _, sv := range svs {
		m.Recipients = append(m.Recipients, closing.Recipient{SurveyID: sv.ID, ContactID: sv.ContactID})
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func announce(t *testing.T, st *devstack.Stack, theme string) closeloop.Improvement {
	t.Helper()
	ctx := context.Background()
	if _, err := st.Store.PutTheme(ctx, closeloop.Theme{Name: theme}); err != nil {
		t.Fatal(err)
	}
	im, err := closeloop.NewImprovement(theme, "Exports are fast now", "We rebuilt exports.", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Store.CreateImprovement(ctx, im); err != nil {
		t.Fatal(err)
	}
	return im
}

func progress(t *testing.T, st *devstack.Stack, id string) closeloop.Progress {
	t.Helper()
	im, err := st.Store.GetImprovement(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return im.Progress
}

// TestClosingTwiceSendsOnce runs the whole fan-out twice, concurrently, from
// a duplicated announcement: every person gets one email, quoting them.
func TestClosingTwiceSendsOnce(t *testing.T) {
	st := awstest.Stack(t, closeloop.Config{})
	var people []string
	for i := 0; i < 60; i++ {
		e := awstest.Email()
		people = append(people, e)
		answered(t, st, e, fmt.Sprintf("Export number %d is slow", i), "exports")
	}
	twice := awstest.Email() // two responses on the theme: still one email
	answered(t, st, twice, "Exports time out", "exports")
	answered(t, st, twice, "Exports time out again", "exports")
	other := awstest.Email()
	answered(t, st, other, "Login is fine", "login")
	im := announce(t, st, "exports")

	st.Queue.Send(context.Background(), closing.Announce(im.ID), closing.Announce(im.ID))
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); st.DrainQueue(context.Background()) }()
	}
	wg.Wait()

	for i, e := range people {
		got := awstest.MailTo(t, e)
		if len(got) != 1 {
			t.Fatalf("%s got %d closing emails, want 1", e, len(got))
		}
		if want := fmt.Sprintf("Export number %d is slow", i); !strings.Contains(got[0].Body.Text, want) {
			t.Errorf("closing email to %s does not quote %q", e, want)
		}
	}
	if n := len(awstest.MailTo(t, twice)); n != 1 {
		t.Errorf("person with two responses got %d emails, want 1", n)
	}
	if n := len(awstest.MailTo(t, other)); n != 0 {
		t.Errorf("person on another theme got %d emails", n)
	}
	want := closeloop.Progress{Recipients: 61, Sent: 61}
	if got := progress(t, st, im.ID); got != want {
		t.Errorf("progress %+v, want %+v", got, want)
	}
	if d := st.Queue.Dead(); len(d) != 0 {
		t.Errorf("dead letters: %v", d)
	}
}

// TestAudienceChoosesTheResponse: a person with several responses on the
// theme is told once, quoting a response inside the improvement's
// audience, even when their latest response is outside it.
func TestAudienceChoosesTheResponse(t *testing.T) {
	st := awstest.Stack(t, closeloop.Config{})
	e := awstest.Email()
	answeredWith(t, st, e, "Exports failed me twice", 1, "exports")
	time.Sleep(5 * time.Millisecond)
	answeredWith(t, st, e, "Exports are fine now", 5, "exports")
	both := awstest.Email()
	answeredWith(t, st, both, "Exports are slow", 2, "exports")
	time.Sleep(5 * time.Millisecond)
	answeredWith(t, st, both, "Exports are still slow", 1, "exports")
	im := announce(t, st, "exports")
	im.Audience = closeloop.Audience{OnlyDetractors: true}
	im.ID = closeloop.NewID()
	if err := st.Store.CreateImprovement(context.Background(), im); err != nil {
		t.Fatal(err)
	}
	st.Queue.Send(context.Background(), closing.Announce(im.ID))
	st.DrainQueue(context.Background())
	got := awstest.MailTo(t, e)
	if len(got) != 1 || !strings.Contains(got[0].Body.Text, "Exports failed me twice") {
		t.Fatalf("%d emails to the person whose latest answer is a promoter's, want one quoting their detractor answer", len(got))
	}
	got = awstest.MailTo(t, both)
	if len(got) != 1 || !strings.Contains(got[0].Body.Text, "Exports are still slow") {
		t.Errorf("%d emails to the person with two detractor answers, want one quoting the latest", len(got))
	}
	if p, want := progress(t, st, im.ID), (closeloop.Progress{Recipients: 2, Sent: 2}); p != want {
		t.Errorf("progress %+v, want %+v", p, want)
	}
}

func TestSuppressedAreCountedNotMailed(t *testing.T) {
	st := awstest.Stack(t, closeloop.Config{})
	e := awstest.Email()
	answered(t, st, e, "Exports slow", "exports")
	if err := st.Store.Suppress(context.Background(), e, "unsubscribed"); err != nil {
		t.Fatal(err)
	}
	im := announce(t, st, "exports")
	st.Queue.Send(context.Background(), closing.Announce(im.ID))
	st.DrainQueue(context.Background())
	if n := len(awstest.MailTo(t, e)); n != 0 {
		t.Errorf("suppressed person got %d emails", n)
	}
	if got, want := progress(t, st, im.ID), (closeloop.Progress{Recipients: 1, Suppressed: 1}); got != want {
		t.Errorf("progress %+v, want %+v", got, want)
	}
}

// throttled fails every send with a temporary error until opened.
type throttled struct {
	open atomic.Bool
	next *mail.Sender
}

func (f *throttled) Send(ctx context.Context, m mail.Message) (string, error) {
	if !f.open.Load() {
		return "", fmt.Errorf("injected throttling: %w", mail.ErrTemporary)
	}
	return f.next.Send(ctx, m)
}

// TestThrottledBatchIsRetried: SES throttling fails the batch item, the
// claim is released, and the retry sends once.
func TestThrottledBatchIsRetried(t *testing.T) {
	st := awstest.Stack(t, closeloop.Config{})
	e := awstest.Email()
	sv := answered(t, st, e, "Exports slow", "exports")
	im := announce(t, st, "exports")
	f := &throttled{next: st.Sender}
	st.Closing.Mailer = f
	batch := batchOf(im, sv)
	ev := events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m1", Body: batch}}}
	res, err := st.Closing.Handle(context.Background(), ev)
	if err != nil || len(res.BatchItemFailures) != 1 {
		t.Fatalf("throttled batch: %+v, %v; want one item failure", res, err)
	}
	if got := progress(t, st, im.ID); got != (closeloop.Progress{}) {
		t.Errorf("progress after a released claim %+v, want zero", got)
	}
	f.open.Store(true)
	for i := 0; i < 2; i++ { // the retry, and a duplicate of it
		if res, err := st.Closing.Handle(context.Background(), ev); err != nil || len(res.BatchItemFailures) != 0 {
			t.Fatalf("retry: %+v, %v", res, err)
		}
	}
	if n := len(awstest.MailTo(t, e)); n != 1 {
		t.Errorf("%d emails, want 1", n)
	}
	if got, want := progress(t, st, im.ID), (closeloop.Progress{Recipients: 1, Sent: 1}); got != want {
		t.Errorf("progress %+v, want %+v", got, want)
	}
}

// progressFails fails the first write of a batch's progress, as a
// throttled or unreachable table would.
type progressFails struct {
	closing.Store
	failed atomic.Bool
}

func (f *progressFails) PutBatchProgress(ctx context.Context, id, batch string, p closeloop.Progress) error {
	if !f.failed.Swap(true) {
		return errors.New("injected: table unreachable")
	}
	return f.Store.PutBatchProgress(ctx, id, batch, p)
}

// TestCountFailureIsMendedByTheRetry: when the batch's progress cannot be
// written after its email went, the batch fails, and its retry counts the
// email without sending it again.
func TestCountFailureIsMendedByTheRetry(t *testing.T) {
	st := awstest.Stack(t, closeloop.Config{})
	e := awstest.Email()
	sv := answered(t, st, e, "Exports slow", "exports")
	im := announce(t, st, "exports")
	st.Closing.Store = &progressFails{Store: st.Store}
	batch := batchOf(im, sv)
	ev := events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m1", Body: batch}}}
	if res, err := st.Closing.Handle(context.Background(), ev); err != nil || len(res.BatchItemFailures) != 1 {
		t.Fatalf("failed count: %+v, %v; want one item failure", res, err)
	}
	if got := progress(t, st, im.ID); got != (closeloop.Progress{}) {
		t.Errorf("progress after the lost write %+v, want none yet", got)
	}
	for i := 0; i < 2; i++ { // the retry, and a duplicate of it
		if res, err := st.Closing.Handle(context.Background(), ev); err != nil || len(res.BatchItemFailures) != 0 {
			t.Fatalf("retry: %+v, %v", res, err)
		}
	}
	if n := len(awstest.MailTo(t, e)); n != 1 {
		t.Errorf("%d emails after the retry, want 1", n)
	}
	if got, want := progress(t, st, im.ID), (closeloop.Progress{Recipients: 1, Sent: 1}); got != want {
		t.Errorf("progress %+v, want %+v", got, want)
	}
}

func TestUnusableMessagesAreDropped(t *testing.T) {
	st := awstest.Stack(t, closeloop.Config{})
	ev := events.SQSEvent{Records: []events.SQSMessage{
		{MessageId: "garbage", Body: "not json"},
		{MessageId: "unknown", Body: closing.Announce("no-such-improvement")},
	}}
	res, err := st.Closing.Handle(context.Background(), ev)
	if err != nil || len(res.BatchItemFailures) != 0 {
		t.Errorf("got %+v, %v; want both dropped, not retried", res, err)
	}
}

// TestUnsubscribeSurvivesTheKeyedIDMigration: a person still stored under
// the unkeyed id of releases before keyed ids gets a "you said, we did"
// email whose unsubscribe link still works after the migration moves them
// to their keyed id.
func TestUnsubscribeSurvivesTheKeyedIDMigration(t *testing.T) {
	st := awstest.Stack(t, closeloop.Config{})
	ctx := context.Background()
	addr, _ := closeloop.NormalizeEmail(awstest.Email())
	legacy := closeloop.LegacyContactID(addr)
	if err := st.Store.UpsertContact(ctx, closeloop.Contact{ID: legacy, Email: addr, Name: "Ada"}); err != nil {
		t.Fatal(err)
	}
	_, id := closeloop.NewToken()
	sv := closeloop.Survey{ID: id, Source: "generic", TicketID: id[:6], ContactID: legacy, Kind: closeloop.CSAT, SentAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}
	if err := st.Store.CreateSurvey(ctx, sv); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Store.Answer(ctx, sv, 2, "Exports are slow", []string{"exports"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	im := announce(t, st, "exports")
	st.Queue.Send(ctx, closing.Announce(im.ID))
	st.DrainQueue(ctx)
	ms := awstest.MailTo(t, addr)
	if len(ms) != 1 {
		t.Fatalf("%d emails, want 1", len(ms))
	}
	link := strings.Trim(ms[0].Header("List-Unsubscribe"), "<>")
	for cursor := ""; ; {
		m, err := st.Store.MigrateContactIDs(ctx, cursor, 100)
		if err != nil {
			t.Fatal(err)
		}
		if cursor = m.NextCursor; cursor == "" {
			break
		}
	}
	path := link[strings.Index(link, "/u/"):]
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader("List-Unsubscribe=One-Click"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	st.Handler.ServeHTTP(w, r)
	keyed, _ := st.Store.ContactID(addr)
	c, err := st.Store.GetContact(ctx, keyed)
	if w.Code != http.StatusOK || err != nil || c.Suppressed != "unsubscribed" {
		t.Errorf("one-click unsubscribe after the migration: %d; contact %+v, %v; want them unsubscribed", w.Code, c, err)
	}
}

// slowSES takes its time over every email (a fault injected on purpose)
// and runs hook before the first.
type slowSES struct {
	next  closing.Mailer
	delay time.Duration
	hook  sync.Once
	first func()
}

func (s *slowSES) Send(ctx context.Context, m mail.Message) (string, error) {
	s.hook.Do(s.first)
	time.Sleep(s.delay)
	return s.next.Send(ctx, m)
}

// TestUnsubscribeDuringASlowBatch: a person who unsubscribes while a batch
// slowed by the sending rate is under way is not mailed by it: the batch
// reads its people again when its read grows old.
func TestUnsubscribeDuringASlowBatch(t *testing.T) {
	st := awstest.Stack(t, closeloop.Config{})
	var svs []closeloop.Survey
	var people []string
	for i := 0; i < 4; i++ {
		e := awstest.Email()
		people = append(people, e)
		svs = append(svs, answered(t, st, e, "Exports are slow", "exports"))
	}
	im := announce(t, st, "exports")
	st.Closing.Senders = 1
	st.Closing.Mailer = &slowSES{next: st.Sender, delay: 800 * time.Millisecond, first: func() {
		if err := st.Store.Suppress(context.Background(), people[3], "unsubscribed"); err != nil {
			t.Error(err)
		}
	}}
	batch := batchOf(im, svs...)
	if res, err := st.Closing.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m1", Body: batch}}}); err != nil || len(res.BatchItemFailures) != 0 {
		t.Fatalf("batch: %+v, %v", res, err)
	}
	if n := len(awstest.MailTo(t, people[3])); n != 0 {
		t.Errorf("the person who unsubscribed during the batch got %d emails", n)
	}
	if got, want := progress(t, st, im.ID), (closeloop.Progress{Recipients: 4, Sent: 3, Suppressed: 1}); got != want {
		t.Errorf("progress %+v, want %+v", got, want)
	}
}

// TestAnOlderReleasesOpenClaimIsSettled: a claim an older release made and
// left open (it counted the recipient on the improvement) is settled by
// the new fan-out after its lease, as failed and never resent, so the
// progress ends with nothing pending.
func TestAnOlderReleasesOpenClaimIsSettled(t *testing.T) {
	st := awstest.Stack(t, closeloop.Config{})
	ctx := context.Background()
	e := awstest.Email()
	sv := answered(t, st, e, "Exports are slow", "exports")
	im := announce(t, st, "exports")
	if err := st.Store.ClaimClosing(ctx, im.ID, sv.ContactID, sv.ID, "", closeloop.ClosingClaimed, time.Now().Add(-closing.ClaimLease-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := awstest.DynamoDB().UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(st.Store.Table()),
		Key:                       map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "IMPROVEMENT#" + im.ID}, "sk": &types.AttributeValueMemberS{Value: "IMPROVEMENT"}},
		UpdateExpression:          aws.String("ADD recipients :one"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": &types.AttributeValueMemberN{Value: "1"}},
	}); err != nil {
		t.Fatal(err)
	}
	// Two batches carry the response: the older release's own batch,
	// delivered again, and the new fan-out's.
	other := awstest.Email()
	osv := answered(t, st, other, "Exports are slow too", "exports")
	_ = osv
	old := batchOf(im, sv)
	st.Queue.Send(ctx, old, closing.Announce(im.ID))
	st.DrainQueue(ctx)
	if n := len(awstest.MailTo(t, e)); n != 0 {
		t.Errorf("%d emails to a person whose email an older release may have sent", n)
	}
	if got, want := progress(t, st, im.ID), (closeloop.Progress{Recipients: 2, Sent: 1, Failed: 1}); got != want {
		t.Errorf("progress %+v, want %+v (the open claim settled once)", got, want)
	}
	if d := st.Queue.Dead(); len(d) != 0 {
		t.Errorf("dead letters: %v", d)
	}
}

// TestNoClaimNearTheDeadline: a batch delivered to an instance about to
// reach its deadline claims nobody (a claim it could not give back would
// later count as failed, never resent); its retry sends to everyone once.
func TestNoClaimNearTheDeadline(t *testing.T) {
	st := awstest.Stack(t, closeloop.Config{})
	e := awstest.Email()
	sv := answered(t, st, e, "Exports are slow", "exports")
	im := announce(t, st, "exports")
	batch := batchOf(im, sv)
	ev := events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m1", Body: batch}, {MessageId: "m2", Body: closing.Announce(im.ID)}}}
	ctx, cancel := context.WithTimeout(context.Background(), mail.SendMargin/2)
	defer cancel()
	// Both go back on the queue as new messages, rather than use up one of
	// their few deliveries before the dead-letter queue.
	res, err := st.Closing.Handle(ctx, ev)
	if err != nil || len(res.BatchItemFailures) != 0 || st.Queue.Len() != 2 {
		t.Fatalf("near the deadline: %+v, %v, %d queued; want both queued again", res, err, st.Queue.Len())
	}
	b, err := st.Store.ClosingBatch(context.Background(), im.ID, []closeloop.ThemeMember{{SurveyID: sv.ID, ContactID: sv.ContactID}})
	if err != nil || len(b.Claims) != 0 {
		t.Fatalf("claims near the deadline: %+v, %v; want none", b.Claims, err)
	}
	st.DrainQueue(context.Background())
	if d := st.Queue.Dead(); len(d) != 0 {
		t.Errorf("dead letters: %v", d)
	}
	if n := len(awstest.MailTo(t, e)); n != 1 {
		t.Errorf("%d emails, want 1", n)
	}
}

// TestRevisedUpDetractorIsContacted: a customer whose unhappy answer
// opened a case, and who revised it upward since, is reached by the "you
// said, we did" email all the same: their case is contacted.
func TestRevisedUpDetractorIsContacted(t *testing.T) {
	st := awstest.Stack(t, closeloop.Config{})
	ctx := context.Background()
	e := awstest.Email()
	sv := answeredWith(t, st, e, "Exports are slow", 1, "exports")
	if err := st.Store.OpenCase(ctx, closeloop.NewCase(sv, "", time.Now())); err != nil {
		t.Fatal(err)
	}
	sv, err := st.Store.Answer(ctx, sv, 4, "Exports are slow, but support was kind", nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	im := announce(t, st, "exports")
	if res, err := st.Closing.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m1", Body: batchOf(im, sv)}}}); err != nil || len(res.BatchItemFailures) != 0 {
		t.Fatalf("batch: %+v, %v", res, err)
	}
	if n := len(awstest.MailTo(t, e)); n != 1 {
		t.Fatalf("%d emails, want 1", n)
	}
	c, err := st.Store.GetCase(ctx, sv.ID)
	if err != nil || c.Status != closeloop.CaseContacted {
		t.Errorf("case %s, %v; want contacted", c.Status, err)
	}
}

// TestRecordedOutcomeStandsWithoutItsClaim: a recipient whose claim is gone
// (erasure removes claims before it suppresses the person) but whose
// outcome is recorded on the response is not mailed again by a redelivered
// batch.
func TestRecordedOutcomeStandsWithoutItsClaim(t *testing.T) {
	st := awstest.Stack(t, closeloop.Config{})
	ctx := context.Background()
	e := awstest.Email()
	sv := answered(t, st, e, "Exports are slow", "exports")
	im := announce(t, st, "exports")
	ev := events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m1", Body: batchOf(im, sv)}}}
	if res, err := st.Closing.Handle(ctx, ev); err != nil || len(res.BatchItemFailures) != 0 {
		t.Fatalf("batch: %+v, %v", res, err)
	}
	if err := st.Store.ReleaseClosing(ctx, im.ID, sv.ContactID); err != nil {
		t.Fatal(err)
	}
	if res, err := st.Closing.Handle(ctx, ev); err != nil || len(res.BatchItemFailures) != 0 {
		t.Fatalf("redelivery: %+v, %v", res, err)
	}
	if n := len(awstest.MailTo(t, e)); n != 1 {
		t.Errorf("%d emails, want 1", n)
	}
}

// TestToldDetractorCountsInOneWrite: the email that tells a detractor what
// changed closes their loop and contacts their case, and the day's
// counters take both in the batch's one write a day, not one write each.
func TestToldDetractorCountsInOneWrite(t *testing.T) {
	var closingRuns atomic.Bool
	var dayWrites atomic.Int32
	faults := &awstest.Faults{BodyRule: func(op, body string) awstest.Fault {
		if closingRuns.Load() && op == "dynamodb.UpdateItem" && strings.Contains(body, `"DAY#`) {
			dayWrites.Add(1)
		}
		return awstest.Pass
	}}
	st := awstest.FaultyStack(t, closeloop.Config{}, faults)
	ctx := context.Background()
	e := awstest.Email()
	sv := answeredWith(t, st, e, "Exports are slow", 1, "exports")
	opened := time.Now()
	if err := st.Store.OpenCase(ctx, closeloop.NewCase(sv, "", opened)); err != nil {
		t.Fatal(err)
	}
	im := announce(t, st, "exports")
	st.Closing.Now = func() time.Time { return opened } // the answer's, the case's and the emails' day are one
	closingRuns.Store(true)
	if res, err := st.Closing.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m1", Body: batchOf(im, sv)}}}); err != nil || len(res.BatchItemFailures) != 0 {
		t.Fatalf("batch: %+v, %v", res, err)
	}
	closingRuns.Store(false)
	if n := len(awstest.MailTo(t, e)); n != 1 {
		t.Fatalf("%d emails, want 1", n)
	}
	if c, err := st.Store.GetCase(ctx, sv.ID); err != nil || c.Status != closeloop.CaseContacted {
		t.Errorf("case %s, %v; want contacted", c.Status, err)
	}
	days, err := st.Store.CountersBetween(ctx, opened, opened)
	if err != nil || len(days) != 1 {
		t.Fatalf("counters: %v, %v", days, err)
	}
	got := days[0].Counters
	if got.ClosingSent != 1 || got.Loops.ThemeRaisersTold != 1 || got.Loops.DetractorsContacted != 1 || got.Loops.ContactHours[0] != 1 {
		t.Errorf("counters: closing sent %d, raisers told %d, detractors contacted %d, contacted within the hour %d; want 1 each",
			got.ClosingSent, got.Loops.ThemeRaisersTold, got.Loops.DetractorsContacted, got.Loops.ContactHours[0])
	}
	if n := dayWrites.Load(); n != 1 {
		t.Errorf("closing wrote the day's counters %d times, want once", n)
	}
}
