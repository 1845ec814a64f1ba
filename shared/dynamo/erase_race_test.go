package dynamo_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/dynamo"
	"github.com/closeloop/closeloop/shared/local/awstest"
)

// hooked runs before, once, ahead of the first update of a ticket: the
// erasure has listed the person's items by then.
type hooked struct {
	dynamo.Client
	once   sync.Once
	before func()
}

func (h *hooked) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	if pk, ok := in.Key["pk"].(*types.AttributeValueMemberS); ok && strings.HasPrefix(pk.Value, "TICKET#") {
		h.once.Do(h.before)
	}
	return h.Client.UpdateItem(ctx, in, o...)
}

// TestSolveDuringErasure: a solve whose contact was stored just before an
// erasure began, and whose ticket lands while the erasure runs, is erased
// too; after the erasure began, a new solve stores nothing about the person.
func TestSolveDuringErasure(t *testing.T) {
	plain, table := storeAndTable(t)
	addr := awstest.Email()
	cid, _ := plain.ContactID(addr)
	if err := plain.UpsertContact(ctx, closeloop.Contact{ID: cid, Email: addr}); err != nil {
		t.Fatal(err)
	}
	first := &closeloop.Ticket{Source: "generic", TicketID: "race-1", ContactID: cid, Subject: "SUBJ-FIRST", State: closeloop.SurveyScheduled, DueAt: time.Now().Add(time.Hour)}
	if err := plain.SaveTicket(ctx, first, 0); err != nil {
		t.Fatal(err)
	}
	h := &hooked{Client: dynamo.FromSDK(awstest.DynamoDB()), before: func() {
		// A webhook that stored the contact a moment before, writing its
		// ticket now.
		late := &closeloop.Ticket{Source: "generic", TicketID: "race-2", ContactID: cid, Subject: "SUBJ-LATE", State: closeloop.SurveyScheduled, DueAt: time.Now().Add(time.Hour)}
		if err := plain.SaveTicket(ctx, late, 0); err != nil {
			t.Error(err)
		}
	}}
	erasing := dynamo.NewStore(h, table)
	erasing.Key = plain.Key
	if _, err := erasing.Erase(ctx, addr); err != nil {
		t.Fatal(err)
	}
	snap := awstest.Snapshot(t, table)
	for _, leak := range []string{addr, "SUBJ-FIRST", "SUBJ-LATE"} {
		if strings.Contains(snap, leak) {
			t.Errorf("%q is still in the table after the erasure", leak)
		}
	}
	if err := plain.UpsertContact(ctx, closeloop.Contact{ID: cid, Email: addr}); err == nil {
		t.Error("a solve after the erasure began stored the contact again")
	}
}

// TestErasureRemovesClosingMessageIDs: a response that was quoted in a
// "you said, we did" email keeps no SES message id after its person is
// erased (it would tie the kept rating to SES's delivery records).
func TestErasureRemovesClosingMessageIDs(t *testing.T) {
	s, table := storeAndTable(t)
	addr, _, sv := personWithSurvey(t, s, closeloop.CSAT)
	id := sv.ID
	if _, err := s.Answer(ctx, sv, 2, "Slow", nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordClosing(ctx, "imp1", id, closeloop.ClosingSent, "ses-MSGID-4711", time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Erase(ctx, addr); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetSurvey(ctx, id)
	if err != nil || got.Rating == nil {
		t.Fatalf("the rating should stay: %+v, %v", got, err)
	}
	if strings.Contains(awstest.Snapshot(t, table), "MSGID-4711") {
		t.Error("the closing email's SES message id is still on the survey")
	}
}

// storeAndTable is a store over a new table, and the table's name.
func storeAndTable(t *testing.T) (*dynamo.Store, string) {
	t.Helper()
	table := awstest.Name("t")
	if err := dynamo.CreateTable(ctx, awstest.DynamoDB(), table); err != nil {
		t.Fatal(err)
	}
	s := dynamo.NewStore(dynamo.FromSDK(awstest.DynamoDB()), table)
	s.Key = awstest.TestContactKey
	return s, table
}

// TestOlderAnswerIsNotTheLatest: an answer dated before the person's latest
// (an import of past answers after live ones) is not taken for their
// latest: it counts no change of score against the newer answer.
func TestOlderAnswerIsNotTheLatest(t *testing.T) {
	s, _ := storeAndTable(t)
	addr := awstest.Email()
	cid, _ := s.ContactID(addr)
	if err := s.UpsertContact(ctx, closeloop.Contact{ID: cid, Email: addr}); err != nil {
		t.Fatal(err)
	}
	live, past := time.Now().Add(-time.Hour), time.Now().AddDate(-1, 0, 0)
	answer := func(rating int, at time.Time) {
		_, id := closeloop.NewToken()
		sv := closeloop.Survey{ID: id, Source: "generic", TicketID: id[:6], ContactID: cid, Kind: closeloop.NPS, SentAt: at, ExpiresAt: at.Add(time.Hour)}
		if err := s.CreateSurvey(ctx, sv); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Answer(ctx, sv, rating, "", nil, at); err != nil {
			t.Fatal(err)
		}
	}
	answer(3, live)
	answer(9, past) // imported afterwards
	for _, day := range []time.Time{live, past} {
		days, _ := s.CountersBetween(ctx, day, day)
		for _, d := range days {
			if d.Loops.ScoreNotToldN != 0 || d.Loops.ScoreToldN != 0 {
				t.Errorf("%s: a change of score counted between a newer answer and an older one: %+v", d.Day, d.Loops)
			}
		}
	}
	answer(10, time.Now()) // a later live answer changes from the latest, 3
	days, _ := s.CountersBetween(ctx, live, live)
	if len(days) != 1 || days[0].Loops.ScoreNotToldN != 1 || days[0].Loops.ScoreNotToldSum != 700 {
		t.Errorf("the change from the latest answer (3 to 10): %+v", days)
	}
}

// TestErasedContactTakesNoAnswer: an answer or a check-in recorded after
// the erasure wrote the person's suppression (while it ran) leaves nothing
// on the kept item.
func TestErasedContactTakesNoAnswer(t *testing.T) {
	s, table := storeAndTable(t)
	_, cid, sv := personWithSurvey(t, s, closeloop.NPS)
	// The erasure's first write, the kept suppression, before it reaches
	// the survey.
	if _, err := awstest.DynamoDB().PutItem(ctx, &dynamodb.PutItemInput{TableName: &table, Item: map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "CONTACT#" + cid}, "sk": &types.AttributeValueMemberS{Value: "CONTACT"},
		"suppressed": &types.AttributeValueMemberS{Value: closeloop.SuppressedErased},
	}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Answer(ctx, sv, 3, "", nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := s.CountContact(ctx, cid, "checkin#x", time.Now()); err != nil {
		t.Fatal(err)
	}
	snap := awstest.Snapshot(t, table)
	for _, attr := range []string{"last_answer", "last_rating", "cohort", "last_survey"} {
		if strings.Contains(snap, attr) {
			t.Errorf("the erased person's item took %s: %s", attr, snap)
		}
	}
}

// personWithSurvey stores a person and a sent survey of kind to them.
func personWithSurvey(t *testing.T, s *dynamo.Store, kind closeloop.Kind) (addr, cid string, sv closeloop.Survey) {
	t.Helper()
	addr = awstest.Email()
	cid, _ = s.ContactID(addr)
	if err := s.UpsertContact(ctx, closeloop.Contact{ID: cid, Email: addr}); err != nil {
		t.Fatal(err)
	}
	_, id := closeloop.NewToken()
	sv = closeloop.Survey{ID: id, Source: "generic", TicketID: "1", ContactID: cid, Kind: kind, SentAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}
	if err := s.CreateSurvey(ctx, sv); err != nil {
		t.Fatal(err)
	}
	return addr, cid, sv
}
