package dynamo_test

import (
	"slices"
	"testing"
	"time"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/local/awstest"
)

// TestRepeatedThemesAreOne: a theme named twice (an import's "Exports;
// exports", a form posting a theme twice) is stored once; DynamoDB refuses a
// string set with duplicates, which would fail the answer, and an import
// would stop at that record on every run.
func TestRepeatedThemesAreOne(t *testing.T) {
	s := awstest.Store(t)
	_, id := closeloop.NewToken()
	sv := closeloop.Survey{ID: id, Source: "generic", TicketID: "1", ContactID: "c", Kind: closeloop.CSAT, SentAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}
	if err := s.CreateSurvey(ctx, sv); err != nil {
		t.Fatal(err)
	}
	got, err := s.Answer(ctx, sv, 4, "", []string{"exports", "exports", "billing"}, time.Now())
	if err != nil {
		t.Fatalf("answer with a theme named twice: %v", err)
	}
	if slices.Sort(got.Themes); !slices.Equal(got.Themes, []string{"billing", "exports"}) {
		t.Errorf("themes %v", got.Themes)
	}
	if _, err := s.SetThemes(ctx, id, []string{"refunds", "refunds"}); err != nil {
		t.Errorf("set a theme named twice: %v", err)
	}
}

// TestErasedResponseTakesNoThemes: an erased response keeps its rating
// for the figures but takes no theme again, which would count it a second
// time.
func TestErasedResponseTakesNoThemes(t *testing.T) {
	s := awstest.Store(t)
	_, id := closeloop.NewToken()
	sv := closeloop.Survey{ID: id, Source: "generic", TicketID: "1", ContactID: "c", Kind: closeloop.CSAT, SentAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}
	if err := s.CreateSurvey(ctx, sv); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Answer(ctx, sv, 2, "Slow", []string{"exports"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := s.EraseSurvey(ctx, id); err != nil {
		t.Fatal(err)
	}
	before, _ := s.CountersBetween(ctx, time.Now(), time.Now())
	if _, err := s.SetThemes(ctx, id, []string{"exports"}); err == nil {
		t.Error("an erased response took a theme")
	}
	after, _ := s.CountersBetween(ctx, time.Now(), time.Now())
	if len(before) != len(after) || len(after) > 0 && after[0].Counters != before[0].Counters {
		t.Errorf("the counters moved: %+v to %+v", before, after)
	}
}
