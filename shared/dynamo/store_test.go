package dynamo_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/dynamo"
	"github.com/closeloop/closeloop/shared/dynamo/schema"
	"github.com/closeloop/closeloop/shared/local/awstest"
)

func TestMain(m *testing.M) { awstest.Main(m) }

var ctx = context.Background()

func TestCreateTableFollowsSchema(t *testing.T) {
	db := awstest.DynamoDB()
	name := awstest.Name("t")
	for i := 0; i < 2; i++ { // creating it again is not an error
		if err := dynamo.CreateTable(ctx, db, name); err != nil {
			t.Fatal(err)
		}
	}
	out, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &name})
	if err != nil {
		t.Fatal(err)
	}
	var got, want []string
	for _, ix := range out.Table.GlobalSecondaryIndexes {
		got = append(got, *ix.IndexName+":"+*ix.KeySchema[0].AttributeName+"/"+*ix.KeySchema[1].AttributeName+":"+string(ix.Projection.ProjectionType))
	}
	for _, ix := range schema.Closeloop.Indexes {
		want = append(want, ix.Name+":"+ix.PartitionKey+"/"+ix.SortKey+":"+string(ix.Projection))
	}
	slices.Sort(got)
	slices.Sort(want)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("indexes (-schema +table):\n%s", d)
	}
}

func TestSaveTicketIsConditional(t *testing.T) {
	s := awstest.Store(t)
	tk := &closeloop.Ticket{Source: "generic", TicketID: "a#b", State: closeloop.SurveyScheduled, DueAt: time.Now()}
	if err := s.SaveTicket(ctx, tk, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveTicket(ctx, tk, 0); !errors.Is(err, closeloop.ErrConflict) {
		t.Errorf("second create: %v, want conflict", err)
	}
	if err := s.SaveTicket(ctx, tk, 7); !errors.Is(err, closeloop.ErrConflict) {
		t.Errorf("wrong version: %v, want conflict", err)
	}
	got, err := s.GetTicket(ctx, "generic", "a#b")
	if err != nil || got.Version != 1 || got.TicketID != "a#b" {
		t.Fatalf("got %+v, %v", got, err)
	}
	refs, err := s.DueTickets(ctx, time.Now().Add(time.Second), 10)
	if err != nil || len(refs) != 1 || refs[0] != (closeloop.TicketRef{Source: "generic", TicketID: "a#b"}) {
		t.Errorf("due %v, %v", refs, err)
	}
	got.State = closeloop.SurveyCancelled
	if err := s.SaveTicket(ctx, got, got.Version); err != nil {
		t.Fatal(err)
	}
	if refs, _ := s.DueTickets(ctx, time.Now().Add(time.Hour), 10); len(refs) != 0 {
		t.Errorf("a cancelled ticket is still due: %v", refs)
	}
}

func TestSurveySlotRace(t *testing.T) {
	s := awstest.Store(t)
	c := closeloop.Contact{ID: "c1", Email: "a@example.com"}
	if err := s.UpsertContact(ctx, c); err != nil {
		t.Fatal(err)
	}
	read, _ := s.GetContact(ctx, "c1")
	var won atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.TakeSurveySlot(ctx, read, "slot", time.Now())
			if err == nil {
				won.Add(1)
			} else if !errors.Is(err, closeloop.ErrConflict) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if won.Load() != 1 {
		t.Errorf("%d sweeps took the slot, want 1", won.Load())
	}
}

// TestConcurrentAnswersKeepCountersExact: many revisions of one response at
// once leave the day's counters equal to one response with the final rating.
func TestConcurrentAnswersKeepCountersExact(t *testing.T) {
	s := awstest.Store(t)
	for _, kind := range []closeloop.Kind{closeloop.CSAT, closeloop.NPS, closeloop.CES} {
		_, id := closeloop.NewToken()
		sv := closeloop.Survey{ID: id, Source: "generic", TicketID: "1", ContactID: "c", Kind: kind, SentAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}
		if err := s.CreateSurvey(ctx, sv); err != nil {
			t.Fatal(err)
		}
		before, _ := s.CountersBetween(ctx, time.Now(), time.Now())
		kindBefore, _ := s.BreakdownCountersBetween(ctx, time.Now(), time.Now(), "kind", string(kind))
		var wg sync.WaitGroup
		lo, hi := kind.Scale()
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := s.Answer(ctx, sv, lo+rand.IntN(hi-lo+1), "", nil, time.Now()); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		final, _ := s.GetSurvey(ctx, id)
		after, _ := s.CountersBetween(ctx, time.Now(), time.Now())
		got := after[0].Counters.Sub(before[0].Counters)
		want := closeloop.RatingCounters(kind, *final.Rating)
		want.Answered = 1 // the survey was sent today and answered, however often revised
		if got != want {
			t.Errorf("%s: counters moved by %+v, want %+v", kind, got, want)
		}
		kindAfter, _ := s.BreakdownCountersBetween(ctx, time.Now(), time.Now(), "kind", string(kind))
		if got := kindAfter[0].Counters.Sub(kindBefore[0].Counters); got != want {
			t.Errorf("%s: the kind's breakdown moved by %+v, want %+v", kind, got, want)
		}
	}
}

func TestCountersBetweenManyDays(t *testing.T) {
	s := awstest.Store(t)
	start := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for _, d := range []int{0, 99, 100, 149} {
		if err := s.AddCounters(ctx, start.AddDate(0, 0, d), closeloop.Counters{SurveysSent: int64(d + 1), Responses: 1}); err != nil {
			t.Fatal(err)
		}
	}
	days, err := s.CountersBetween(ctx, start, start.AddDate(0, 0, 149))
	if err != nil {
		t.Fatal(err)
	}
	if len(days) != 150 || days[0].Day != "2026-01-01" || days[149].Day != "2026-05-30" {
		t.Fatalf("%d days from %s to %s", len(days), days[0].Day, days[len(days)-1].Day)
	}
	var total closeloop.Counters
	for _, d := range days {
		total = total.Add(d.Counters)
	}
	if total.SurveysSent != 1+100+101+150 || total.Responses != 4 {
		t.Errorf("total %+v", total)
	}
}

func TestThemesAndErase(t *testing.T) {
	s := awstest.Store(t)
	email := "Erase.Me@Example.com"
	addr, _ := closeloop.NormalizeEmail(email)
	cid, _ := s.ContactID(addr)
	s.UpsertContact(ctx, closeloop.Contact{ID: cid, Email: addr, Name: "Erase Me"})
	for _, th := range []string{"exports", "billing"} {
		s.PutTheme(ctx, closeloop.Theme{Name: th})
	}
	_, id := closeloop.NewToken()
	sv := closeloop.Survey{ID: id, Source: "generic", TicketID: "9", ContactID: cid, Kind: closeloop.CSAT, Subject: "My invoice", SentAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}
	s.CreateSurvey(ctx, sv)
	if _, err := s.Answer(ctx, sv, 1, "Secret complaint", []string{"exports"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetThemes(ctx, id, []string{"billing"}); err != nil {
		t.Fatal(err)
	}
	members := func(th string) []string {
		var out []string
		s.ThemeMembers(ctx, th, "", func(m closeloop.ThemeMember) error { out = append(out, m.SurveyID); return nil })
		return out
	}
	if got := members("exports"); len(got) != 0 {
		t.Errorf("exports still links %v", got)
	}
	if got := members("billing"); !slices.Equal(got, []string{id}) {
		t.Errorf("billing links %v", got)
	}
	scheduled := &closeloop.Ticket{Source: "generic", TicketID: "10", ContactID: cid, Subject: "Another", State: closeloop.SurveyScheduled, DueAt: time.Now()}
	s.SaveTicket(ctx, scheduled, 0)
	s.CreateUnsubscribeLink(ctx, "link1", cid, time.Now())
	countersBefore, _ := s.CountersBetween(ctx, time.Now(), time.Now())

	if _, err := s.Erase(ctx, email); err != nil {
		t.Fatal(err)
	}
	if c, err := s.GetContact(ctx, cid); err != nil || c.Email != "" || c.Name != "" || c.Suppressed != closeloop.SuppressedErased {
		t.Errorf("contact after erase %+v %v: want only the suppression", c, err)
	}
	if err := s.UpsertContact(ctx, closeloop.Contact{ID: cid, Email: addr}); !errors.Is(err, closeloop.ErrErased) {
		t.Errorf("storing the address again after erasure: %v, want ErrErased", err)
	}
	if err := s.Suppress(ctx, addr, "bounce"); err != nil {
		t.Errorf("a bounce after erasure: %v", err)
	}
	if c, _ := s.GetContact(ctx, cid); c.Email != "" || c.Suppressed != closeloop.SuppressedErased {
		t.Errorf("a bounce after erasure changed the kept suppression: %+v", c)
	}
	got, _ := s.GetSurvey(ctx, id)
	if got.Comment != "" || got.ContactID != "" || got.Subject != "" || got.Rating == nil {
		t.Errorf("survey after erase %+v: want no comment, contact or subject, rating kept", got)
	}
	if m := members("billing"); len(m) != 0 {
		t.Errorf("theme links after erase %v", m)
	}
	tk, _ := s.GetTicket(ctx, "generic", "10")
	if tk.State != closeloop.SurveyCancelled || tk.ContactID != "" || tk.Subject != "" {
		t.Errorf("ticket after erase %+v", tk)
	}
	if _, err := s.UnsubscribeLink(ctx, "link1"); !errors.Is(err, closeloop.ErrNotFound) {
		t.Errorf("unsubscribe link after erase: %v", err)
	}
	countersAfter, _ := s.CountersBetween(ctx, time.Now(), time.Now())
	if countersAfter[0] != countersBefore[0] {
		t.Errorf("erase changed the counters")
	}
	if _, err := s.Erase(ctx, "nobody@example.com"); err != nil {
		t.Errorf("erasing an unknown address: %v", err)
	}
	if _, err := s.Erase(ctx, "not an address"); !errors.Is(err, closeloop.ErrInvalid) {
		t.Errorf("erasing garbage: %v", err)
	}
}

// TestClosingClaimsAndOutcomes: one claim per person and improvement; an
// outcome is recorded once on the response, which is told once across
// improvements; a batch's progress only grows; the improvement's progress
// adds its batches to what older releases counted on the item.
func TestClosingClaimsAndOutcomes(t *testing.T) {
	s := awstest.Store(t)
	now := time.Now()
	addr := awstest.Email()
	cid, _ := s.ContactID(addr)
	if err := s.UpsertContact(ctx, closeloop.Contact{ID: cid, Email: addr}); err != nil {
		t.Fatal(err)
	}
	_, svID := closeloop.NewToken()
	sv := closeloop.Survey{ID: svID, Source: "generic", TicketID: "T1", ContactID: cid, Kind: closeloop.CSAT, SentAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := s.CreateSurvey(ctx, sv); err != nil {
		t.Fatal(err)
	}
	im, _ := closeloop.NewImprovement("exports", "Fast", "Faster exports.", now)
	if err := s.CreateImprovement(ctx, im); err != nil {
		t.Fatal(err)
	}
	if err := s.ClaimClosing(ctx, im.ID, cid, svID, "b1", closeloop.ClosingClaimed, now); err != nil {
		t.Fatal(err)
	}
	if err := s.ClaimClosing(ctx, im.ID, cid, "sv2", "b2", closeloop.ClosingClaimed, now); !errors.Is(err, closeloop.ErrDuplicate) {
		t.Errorf("second claim: %v", err)
	}
	b, err := s.ClosingBatch(ctx, im.ID, []closeloop.ThemeMember{{SurveyID: svID, ContactID: cid}, {SurveyID: "gone", ContactID: "gone"}})
	if err != nil {
		t.Fatal(err)
	}
	if b.Improvement.ID != im.ID || b.Surveys[svID].ContactID != cid || b.Contacts[cid].Email != addr || len(b.Surveys) != 1 || len(b.Contacts) != 1 {
		t.Errorf("batch read %+v", b)
	}
	if c := b.Claims[cid]; c.Batch != "b1" || c.SurveyID != svID || c.State != closeloop.ClosingClaimed || c.ClaimedAt.IsZero() {
		t.Errorf("claim read %+v", c)
	}
	if _, ok := b.Outcomes[svID]; ok {
		t.Error("an outcome before any was recorded")
	}
	first, err := s.RecordClosing(ctx, im.ID, svID, closeloop.ClosingSent, "m1", now)
	if err != nil || !first {
		t.Fatalf("first record: told first %v, %v", first, err)
	}
	if _, err := s.RecordClosing(ctx, im.ID, svID, closeloop.ClosingFailed, "", now); !errors.Is(err, closeloop.ErrConflict) {
		t.Errorf("second record: %v, want conflict", err)
	}
	if err := s.ReleaseClosing(ctx, im.ID, cid); err != nil {
		t.Errorf("release of a claim whose outcome is on the survey: %v", err)
	}
	im2, _ := closeloop.NewImprovement("exports", "Faster", "Even faster exports.", now.Add(time.Second))
	if err := s.CreateImprovement(ctx, im2); err != nil {
		t.Fatal(err)
	}
	if first, err := s.RecordClosing(ctx, im2.ID, svID, closeloop.ClosingSent, "m2", now); err != nil || first {
		t.Errorf("a second improvement's email: told first %v, %v; want told already", first, err)
	}
	if b, _ := s.ClosingBatch(ctx, im.ID, []closeloop.ThemeMember{{SurveyID: svID, ContactID: cid}}); b.Outcomes[svID] != closeloop.ClosingSent {
		t.Errorf("outcome read back %q", b.Outcomes[svID])
	}
	if _, err := s.ClosingBatch(ctx, "no-such-improvement", nil); !errors.Is(err, closeloop.ErrNotFound) {
		t.Errorf("batch of an unknown improvement: %v", err)
	}
	for _, p := range []closeloop.Progress{{Recipients: 2, Sent: 1, Failed: 1}, {Recipients: 1, Sent: 1}, {Recipients: 3, Sent: 2, Failed: 1}} {
		if err := s.PutBatchProgress(ctx, im.ID, "b1", p); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutBatchProgress(ctx, im.ID, "b2", closeloop.Progress{Recipients: 1, Suppressed: 1}); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetImprovement(ctx, im.ID)
	if want := (closeloop.Progress{Recipients: 4, Sent: 2, Failed: 1, Suppressed: 1}); err != nil || got.Progress != want {
		t.Errorf("progress %+v, %v; want %+v (the larger tally of b1 kept, b2 added)", got.Progress, err, want)
	}
	list, err := s.Improvements(ctx, 10)
	if err != nil || len(list) != 2 || list[0].ID != im2.ID || list[1].Progress != got.Progress {
		t.Errorf("listing %+v, %v", list, err)
	}
}

// TestHousekeepingAndErasure: an unanswered survey expires by TTL for
// housekeeping (the code never relies on it), and erasure removes the
// person's "you said, we did" claims, which hold their contact id, and the
// items of releases before keyed ids, which the migration has not reached.
func TestHousekeepingAndErasure(t *testing.T) {
	ctx := context.Background()
	s := awstest.Store(t)
	now := time.Now()
	addr := awstest.Email()
	cid, _ := s.ContactID(addr)
	if err := s.UpsertContact(ctx, closeloop.Contact{ID: cid, Email: addr}); err != nil {
		t.Fatal(err)
	}
	sv := closeloop.Survey{ID: "sv-ttl", Source: "generic", TicketID: "1", ContactID: cid, Kind: closeloop.CSAT, SentAt: now, ExpiresAt: now.Add(closeloop.SurveyTTL)}
	if err := s.CreateSurvey(ctx, sv); err != nil {
		t.Fatal(err)
	}
	if snap := awstest.Snapshot(t, s.Table()); !strings.Contains(snap, `"expires_ttl"`) {
		t.Errorf("an unanswered survey has no expires_ttl: %s", snap)
	}
	if err := s.ClaimClosing(ctx, "imp-1", cid, sv.ID, "", closeloop.ClosingClaimed, now); err != nil {
		t.Fatal(err)
	}
	legacy := closeloop.LegacyContactID(addr)
	if err := s.UpsertContact(ctx, closeloop.Contact{ID: legacy, Email: addr}); err != nil {
		t.Fatal(err)
	}
	old := closeloop.Survey{ID: "sv-legacy", Source: "generic", TicketID: "0", ContactID: legacy, Kind: closeloop.CSAT, Subject: "Old subject", SentAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := s.CreateSurvey(ctx, old); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Answer(ctx, old, 2, "An old comment", nil, now); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Erase(ctx, addr); err != nil {
		t.Fatal(err)
	}
	snap := awstest.Snapshot(t, s.Table())
	for _, bad := range []string{addr, legacy, "An old comment", "Old subject", "imp-1"} {
		if strings.Contains(snap, bad) {
			t.Errorf("after erasure the table still holds %q:\n%s", bad, snap)
		}
	}
	if c, err := s.GetContact(ctx, cid); err != nil || c.Suppressed != closeloop.SuppressedErased {
		t.Errorf("erasure kept no suppression under the keyed id: %+v %v", c, err)
	}
}

// TestListsReadInBatches: the improvements and a contact's surveys are read
// with one batch each (not one read per item), and come back in order.
func TestListsReadInBatches(t *testing.T) {
	s := awstest.Store(t)
	var reads atomic.Int64
	s.Capacity = func(op string, _, _ float64) {
		if op == "GetItem" {
			reads.Add(1)
		}
	}
	start := time.Now().Add(-time.Hour)
	var want []string
	for i := 0; i < 5; i++ {
		im, err := closeloop.NewImprovement("exports", fmt.Sprint("Change ", i), "Done.", start.Add(time.Duration(i)*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.CreateImprovement(ctx, im); err != nil {
			t.Fatal(err)
		}
		want = append([]string{im.Summary}, want...)
	}
	ims, err := s.Improvements(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, im := range ims {
		got = append(got, im.Summary)
	}
	if !slices.Equal(got, want) {
		t.Errorf("improvements %v, want newest first %v", got, want)
	}
	for i := 0; i < 3; i++ {
		sv := closeloop.Survey{ID: awstest.Name("sv"), Source: "generic", TicketID: fmt.Sprint("T", i), ContactID: "contact-batch", Kind: closeloop.CSAT,
			SentAt: start.Add(time.Duration(i) * time.Minute), ExpiresAt: start.Add(24 * time.Hour)}
		if err := s.CreateSurvey(ctx, sv); err != nil {
			t.Fatal(err)
		}
	}
	svs, err := s.SurveysOf(ctx, "contact-batch", 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(svs) != 2 || svs[0].TicketID != "T2" || svs[1].TicketID != "T1" {
		t.Errorf("surveys of a contact %+v, want T2 then T1", svs)
	}
	if n := reads.Load(); n != 0 {
		t.Errorf("%d single-item reads for two lists, want 0", n)
	}
}

// TestReportCostDoesNotGrowWithResponses: a 90-day report with every
// breakdown issues the same DynamoDB requests, reading the same capacity,
// for 1,000 responses as for 50,000. The first 1,000 are answered through
// the store. The other 49,000 are written in the store's item shape (batch
// writes of answered surveys) with their counters added in aggregate per
// day, helpdesk and agent, which is what their answers sum to; storing them
// one by one takes minutes (make bench does, and finds the same).
func TestReportCostDoesNotGrowWithResponses(t *testing.T) {
	s := awstest.Store(t)
	end := time.Now().UTC()
	from := end.AddDate(0, 0, -89)
	sources, agents := []string{"zendesk", "generic"}, []string{"agent0@example.com", "agent1@example.com", "agent2@example.com"}
	at := func(i int) time.Time { return end.Add(-time.Duration(i%90) * 24 * time.Hour) }
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < 1000; i += 8 {
				sv := closeloop.Survey{ID: awstest.Name("sv"), Source: sources[i%2], TicketID: fmt.Sprint(i), ContactID: "c",
					Kind: closeloop.CSAT, AgentEmail: agents[i%3], SentAt: at(i), ExpiresAt: at(i).Add(time.Hour)}
				if err := s.CreateSurvey(ctx, sv); err != nil {
					t.Error(err)
					return
				}
				if _, err := s.Answer(ctx, sv, 1+i%5, "", []string{"exports"}, at(i)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	report := func() (calls int, rcu float64) {
		s.Capacity = func(op string, r, w float64) { calls++; rcu += r }
		defer func() { s.Capacity = nil }()
		if _, err := s.CountersBetween(ctx, from, end); err != nil {
			t.Fatal(err)
		}
		for _, name := range closeloop.Breakdowns {
			if _, err := s.Breakdown(ctx, from, end, name); err != nil {
				t.Fatal(err)
			}
		}
		return calls, rcu
	}
	smallCalls, smallRCU := report()

	db := awstest.DynamoDB()
	str := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	type group struct {
		day           int
		source, agent string
	}
	sums := map[group]closeloop.Counters{}
	batches := make(chan []types.WriteRequest, 16)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				in := &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{s.Table(): b}}
				for len(in.RequestItems[s.Table()]) > 0 {
					out, err := db.BatchWriteItem(ctx, in)
					if err != nil {
						t.Error(err)
						return
					}
					in.RequestItems = out.UnprocessedItems
				}
			}
		}()
	}
	var batch []types.WriteRequest
	flush := func() {
		if len(batch) > 0 {
			batches <- batch
			batch = nil
		}
	}
	for i := 1000; i < 50000; i++ {
		stamp := at(i).Format("2006-01-02T15:04:05.000Z")
		id := fmt.Sprintf("bulk%028d", i)
		batch = append(batch, types.WriteRequest{PutRequest: &types.PutRequest{Item: map[string]types.AttributeValue{
			"pk": str("SURVEY#" + id), "sk": str("SURVEY"), "id": str(id), "source": str(sources[i%2]), "ticket_id": str(fmt.Sprint(i)),
			"contact_key": str("c"), "kind": str("csat"), "agent_email": str(agents[i%3]), "rating": &types.AttributeValueMemberN{Value: fmt.Sprint(1 + i%5)},
			"themes": &types.AttributeValueMemberSS{Value: []string{"exports"}}, "sent_at": str(stamp), "responded_at": str(stamp), "revised_at": str(stamp),
			"day_pk": str("RESP#" + at(i).Format(time.DateOnly)), "day_sk": str(stamp + "#" + id),
		}}})
		if len(batch) == 25 {
			flush()
		}
		g := group{i % 90, sources[i%2], agents[i%3]}
		c := closeloop.RatingCounters(closeloop.CSAT, 1+i%5)
		c.Answered, c.Loops.ThemeRaisers = 1, 1
		sums[g] = sums[g].Add(c)
	}
	flush()
	close(batches)
	wg.Wait()
	for g, c := range sums {
		day := end.Add(-time.Duration(g.day) * 24 * time.Hour)
		if err := s.AddCounters(ctx, day, c, closeloop.Dims{Source: g.source, Agent: g.agent, Kind: closeloop.CSAT, Themes: []string{"exports"}}); err != nil {
			t.Fatal(err)
		}
	}
	total, _ := s.CountersBetween(ctx, from, end)
	var n int64
	for _, d := range total {
		n += d.Responses
	}
	if n != 50000 {
		t.Fatalf("the table counts %d responses, want 50,000", n)
	}
	largeCalls, largeRCU := report()
	if smallCalls != largeCalls || smallRCU != largeRCU {
		t.Errorf("report: %d requests, %.1f RCU with 1,000 responses; %d, %.1f with 50,000: want the same", smallCalls, smallRCU, largeCalls, largeRCU)
	}
	if smallCalls != 1+4*90 {
		t.Errorf("%d requests, want one batch of totals and a query a day for each of 4 breakdowns (361)", smallCalls)
	}
}

// TestThemesToTagCostHalf: the survey page's read of the themes, for each
// comment, is eventually consistent, at half the read units of the
// console's; both read the same themes.
func TestThemesToTagCostHalf(t *testing.T) {
	s := awstest.Store(t)
	if _, err := s.PutTheme(ctx, closeloop.Theme{Name: "exports", Keywords: []string{"export"}}); err != nil {
		t.Fatal(err)
	}
	var rcu float64
	s.Capacity = func(_ string, r, _ float64) { rcu += r }
	all, err := s.Themes(ctx)
	consistent := rcu
	rcu = 0
	tag, err2 := s.ThemesToTag(ctx)
	if err != nil || err2 != nil || !cmp.Equal(all, tag) || len(tag) != 1 {
		t.Fatalf("themes %v, %v; to tag %v, %v", all, err, tag, err2)
	}
	if rcu != consistent/2 {
		t.Errorf("the themes to tag cost %.1f read units, the console's %.1f; want half", rcu, consistent)
	}
}

// TestLastPageHasNoCursor: a page that ends the responses carries no next
// cursor, also when it is exactly full (a client made one more call for an
// empty page, and a check for the end on the last page with data failed).
func TestLastPageHasNoCursor(t *testing.T) {
	s := awstest.Store(t)
	ctx := context.Background()
	now := time.Now().UTC()
	day := now.Truncate(24 * time.Hour).Add(-24 * time.Hour) // yesterday, whole
	for i := range 3 {
		rec := closeloop.ImportedResponse{Origin: "csv", ID: fmt.Sprint("page-", i), Email: awstest.Email(), Kind: closeloop.CSAT, Score: 4, At: day.Add(12*time.Hour + time.Duration(i)*time.Minute)}
		if err := rec.Validate(now); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ImportResponse(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	all, next, err := s.ListResponses(ctx, closeloop.ResponseFilter{From: day, To: day, Limit: 3})
	if err != nil || len(all) != 3 || next != "" {
		t.Errorf("limit 3 of 3: %d responses, cursor %q, %v; want all three and no cursor", len(all), next, err)
	}
	first, next, err := s.ListResponses(ctx, closeloop.ResponseFilter{From: day, To: day, Limit: 2})
	if err != nil || len(first) != 2 || next == "" {
		t.Fatalf("limit 2 of 3: %d responses, cursor %q, %v; want two and a cursor", len(first), next, err)
	}
	rest, next, err := s.ListResponses(ctx, closeloop.ResponseFilter{From: day, To: day, Limit: 2, Cursor: next})
	if err != nil || len(rest) != 1 || next != "" || rest[0].ID == first[0].ID || rest[0].ID == first[1].ID {
		t.Errorf("the second page: %d responses, cursor %q, %v; want the third alone and no cursor", len(rest), next, err)
	}
}
