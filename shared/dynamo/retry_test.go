package dynamo_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/local/awstest"
)

// TestDynamoDBThrottlingRetriedFourTimes: the functions' DynamoDB client
// makes 4 attempts, DynamoDB's own default in the SDK (25 ms base delay),
// so three throttled answers in a row still read the item. The service
// module held before schema-based serialization (go.mod) makes 3 unless
// boot sets it.
func TestDynamoDBThrottlingRetriedFourTimes(t *testing.T) {
	f := &awstest.Faults{Rule: awstest.FirstCalls("dynamodb.GetItem", 3, awstest.Throttle)}
	st := awstest.FaultyStack(t, awstest.Config(), f)
	if _, err := st.Store.GetContact(context.Background(), "nobody"); !errors.Is(err, closeloop.ErrNotFound) {
		t.Fatalf("GetContact after 3 throttled answers: %v, want ErrNotFound (the fourth attempt answered)", err)
	}
	if got := f.Injected()["dynamodb.GetItem throttle"]; got != 3 {
		t.Errorf("%d throttled answers injected, want 3", got)
	}
}

// TestCaseFullOfNotesRefusesMore: a case keeps its notes and replies in its
// one item (400 KB at most); once another would not fit, adding one is
// refused as invalid, saying so, and the case keeps what it had (it was a
// server error). With notes of 5,000 characters that is about the
// eightieth; in 4-byte characters, about the twentieth.
func TestCaseFullOfNotesRefusesMore(t *testing.T) {
	ctx := context.Background()
	s := awstest.Store(t)
	now := time.Now().UTC()
	if err := s.OpenCase(ctx, closeloop.Case{ID: "full", ContactID: "c", Source: "generic", TicketID: "F1", Kind: closeloop.CSAT, Status: closeloop.CaseOpen, OpenedAt: now}); err != nil {
		t.Fatal(err)
	}
	note := strings.Repeat("x", closeloop.MaxNote)
	var err error
	added := 0
	for ; added < 200; added++ {
		if _, err = s.UpdateCase(ctx, "full", closeloop.CaseChange{Note: note}, "ops@example.com", now); err != nil {
			break
		}
	}
	if !errors.Is(err, closeloop.ErrInvalid) || !strings.Contains(err.Error(), "notes") {
		t.Fatalf("note %d: %v, want ErrInvalid saying the case's notes are full", added+1, err)
	}
	c, gerr := s.GetCase(ctx, "full")
	if gerr != nil || len(c.Notes) != added {
		t.Errorf("the case has %d notes (%v), want the %d added before", len(c.Notes), gerr, added)
	}
}

// TestCaseNoteAddedOnceWhenTheAnswerIsLost: DynamoDB adds the note, then the
// connection drops before its answer and the SDK sends the update again:
// the case has the note once, and the call succeeds. (Appending to a list
// is not idempotent: the retry added it twice. The local server's answers
// to large items sometimes fail their checksum, which retries the same
// way.)
func TestCaseNoteAddedOnceWhenTheAnswerIsLost(t *testing.T) {
	f := &awstest.Faults{BodyRule: awstest.LoseFirst("dynamodb.UpdateItem", "called them back")}
	st := awstest.FaultyStack(t, awstest.Config(), f)
	ctx := context.Background()
	now := time.Now().UTC()
	if err := st.Store.OpenCase(ctx, closeloop.Case{ID: "lost", ContactID: "c", Source: "generic", TicketID: "L1", Kind: closeloop.CSAT, Status: closeloop.CaseOpen, OpenedAt: now}); err != nil {
		t.Fatal(err)
	}
	c, err := st.Store.UpdateCase(ctx, "lost", closeloop.CaseChange{Note: "called them back"}, "ops@example.com", now)
	if err != nil {
		t.Fatalf("UpdateCase with its first answer lost: %v", err)
	}
	if f.Total() != 1 {
		t.Fatalf("%d faults injected, want the one lost answer", f.Total())
	}
	got, err := st.Store.GetCase(ctx, "lost")
	if err != nil || len(got.Notes) != 1 || len(c.Notes) != 1 {
		t.Errorf("the case has %d notes (the call answered %d, %v), want 1", len(got.Notes), len(c.Notes), err)
	}
}
