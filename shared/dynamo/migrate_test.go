package dynamo_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/local/awstest"
)

// TestMigrateContactIDs: a person stored under the unkeyed id of an older
// release (contact with suppression and survey history, ticket, answered
// survey with a theme, links, a case, a claim with and one without
// contact_key) moves to the keyed id page by page; what the keyed contact
// already holds wins; a second run finds nothing to move; afterwards the
// table holds no unkeyed id, and erasure finds everything under the new one.
func TestMigrateContactIDs(t *testing.T) {
	ctx := context.Background()
	s := awstest.Store(t)
	now := time.Now()
	addr := awstest.Email()
	legacy := closeloop.LegacyContactID(addr)
	nid, err := s.ContactID(addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.UpsertContact(ctx, closeloop.Contact{ID: legacy, Email: addr, Name: "Old name", Locale: "de"}); err != nil {
		t.Fatal(err)
	}
	if err := s.TakeSurveySlot(ctx, closeloop.Contact{ID: legacy}, "sv-old", now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.SuppressContact(ctx, legacy, addr, "unsubscribed"); err != nil {
		t.Fatal(err)
	}
	// A solve after the deploy, before the migration: the keyed contact exists.
	if err := s.UpsertContact(ctx, closeloop.Contact{ID: nid, Email: addr, Name: "New name"}); err != nil {
		t.Fatal(err)
	}
	s.PutTheme(ctx, closeloop.Theme{Name: "exports"})
	if err := s.SaveTicket(ctx, &closeloop.Ticket{Source: "generic", TicketID: "M1", ContactID: legacy, Subject: "Old ticket", State: closeloop.SurveySent}, 0); err != nil {
		t.Fatal(err)
	}
	sv := closeloop.Survey{ID: awstest.Name("sv"), Source: "generic", TicketID: "M1", ContactID: legacy, Kind: closeloop.CSAT, SentAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := s.CreateSurvey(ctx, sv); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Answer(ctx, sv, 1, "The export is slow", []string{"exports"}, now); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUnsubscribeLink(ctx, awstest.Name("link"), legacy, now); err != nil {
		t.Fatal(err)
	}
	if err := s.OpenCase(ctx, closeloop.Case{ID: sv.ID, ContactID: legacy, Source: "generic", TicketID: "M1", Kind: closeloop.CSAT, Status: closeloop.CaseOpen, OpenedAt: now}); err != nil {
		t.Fatal(err)
	}
	for _, imp := range []string{"imp-a", "imp-b"} {
		if err := s.ClaimClosing(ctx, imp, legacy, sv.ID, "", closeloop.ClosingClaimed, now); err != nil {
			t.Fatal(err)
		}
	}
	// imp-b's claim is from before claims carried contact_key.
	if _, err := awstest.DynamoDB().UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.Table()), UpdateExpression: aws.String("REMOVE contact_key"),
		Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "IMPROVEMENT#imp-b"}, "sk": &types.AttributeValueMemberS{Value: "TO#" + legacy}},
	}); err != nil {
		t.Fatal(err)
	}
	// A contact of another scheme is left alone.
	if err := s.UpsertContact(ctx, closeloop.Contact{ID: "not-a-hash", Email: awstest.Email()}); err != nil {
		t.Fatal(err)
	}

	run := func() (total closeloop.Migration) {
		cursor, pages := "", 0
		for {
			m, err := s.MigrateContactIDs(ctx, cursor, 4)
			if err != nil {
				t.Fatal(err)
			}
			total.Contacts += m.Contacts
			total.Items += m.Items
			total.Keyed += m.Keyed
			total.Scanned += m.Scanned
			if pages++; m.NextCursor == "" || pages > 100 {
				return total
			}
			cursor = m.NextCursor
		}
	}
	first := run()
	if first.Contacts != 1 || first.Keyed != 1 {
		t.Errorf("first run %+v, want one contact moved and one already keyed", first)
	}
	if second := run(); second.Contacts != 0 || second.Keyed != 1 {
		t.Errorf("second run %+v, want nothing moved", second)
	}
	snap := awstest.Snapshot(t, s.Table())
	if strings.Contains(snap, legacy) {
		t.Errorf("after the migration the table still holds the unkeyed id:\n%s", snap)
	}
	c, err := s.GetContact(ctx, nid)
	if err != nil || c.Email != addr || c.Name != "New name" || c.Locale != "de" || c.Suppressed != "unsubscribed" || c.LastSurveyID != "sv-old" {
		t.Errorf("keyed contact after the migration %+v %v", c, err)
	}
	if svs, _ := s.SurveysOf(ctx, nid, 10); len(svs) != 1 || svs[0].ID != sv.ID {
		t.Errorf("surveys of the keyed contact %+v", svs)
	}
	if tk, _ := s.GetTicket(ctx, "generic", "M1"); tk == nil || tk.ContactID != nid {
		t.Errorf("ticket after the migration %+v", tk)
	}
	if err := s.ClaimClosing(ctx, "imp-a", nid, sv.ID, "", closeloop.ClosingClaimed, now); err == nil {
		t.Errorf("the moved claim does not hold: a second email could be claimed")
	}
	if _, err := s.Erase(ctx, addr); err != nil {
		t.Fatal(err)
	}
	snap = awstest.Snapshot(t, s.Table())
	for _, bad := range []string{addr, "The export is slow", "Old ticket", "TO#"} {
		if strings.Contains(snap, bad) {
			t.Errorf("after migration and erasure the table holds %q", bad)
		}
	}
	if _, err := s.MigrateContactIDs(ctx, "garbage", 4); err == nil {
		t.Errorf("a made-up cursor was accepted")
	}
}
