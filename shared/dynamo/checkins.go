package dynamo

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/closeloop/closeloop/shared/closeloop"
)

const checkInPrefix = "CHECKIN#"

type checkInItem struct {
	PK         string `dynamodbav:"pk"` // CHECKIN#<source>#<ticket id>
	SK         string `dynamodbav:"sk"`
	Source     string `dynamodbav:"source"`
	TicketID   string `dynamodbav:"ticket_id"`
	ContactKey string `dynamodbav:"contact_key,omitempty"` // by_contact index, for erasure
	Locale     string `dynamodbav:"locale,omitempty"`
	TimeZone   string `dynamodbav:"time_zone,omitempty"`
	Subject    string `dynamodbav:"subject,omitempty"`
	State      string `dynamodbav:"state"`
	DueAt      string `dynamodbav:"due_at,omitempty"`
	DuePK      string `dynamodbav:"due_pk,omitempty"` // due index while scheduled
	DueSK      string `dynamodbav:"due_sk,omitempty"`
	SentAt     string `dynamodbav:"sent_at,omitempty"`
	Answer     string `dynamodbav:"answer,omitempty"`
	Comment    string `dynamodbav:"comment,omitempty"`
	AnsweredAt string `dynamodbav:"answered_at,omitempty"`
	Version    int64  `dynamodbav:"version"`
	ExpiresTTL int64  `dynamodbav:"expires_ttl"`
}

func (it checkInItem) checkIn() closeloop.CheckIn {
	return closeloop.CheckIn{
		ID: closeloop.CheckInID(it.Source, it.TicketID), Source: it.Source, TicketID: it.TicketID, ContactID: it.ContactKey,
		Locale: it.Locale, TimeZone: it.TimeZone, Subject: it.Subject, State: closeloop.CheckInState(it.State), DueAt: parseTS(it.DueAt),
		SentAt: parseTS(it.SentAt), Answer: it.Answer, Comment: it.Comment, AnsweredAt: parseTS(it.AnsweredAt), Version: it.Version,
	}
}

func checkInItemOf(ci closeloop.CheckIn, version int64) checkInItem {
	it := checkInItem{
		PK: checkInPrefix + ci.ID, SK: "CHECKIN", Source: ci.Source, TicketID: ci.TicketID, ContactKey: ci.ContactID,
		Locale: ci.Locale, TimeZone: ci.TimeZone, Subject: ci.Subject, State: string(ci.State), DueAt: ts(ci.DueAt),
		SentAt: ts(ci.SentAt), Answer: ci.Answer, Comment: ci.Comment, AnsweredAt: ts(ci.AnsweredAt), Version: version,
		ExpiresTTL: ci.DueAt.Add(400 * 24 * time.Hour).Unix(),
	}
	if ci.State == closeloop.CheckInScheduled {
		it.DuePK, it.DueSK = shard(it.PK), ts(ci.DueAt)
	}
	return it
}

// ScheduleCheckIn schedules check-in ci, or reschedules it after a new
// solve; one already sent stays as it is (ErrDuplicate).
func (s *Store) ScheduleCheckIn(ctx context.Context, ci closeloop.CheckIn) error {
	ci.State = closeloop.CheckInScheduled
	err := s.put(ctx, checkInItemOf(ci, 1), "attribute_not_exists(pk) OR #s <> :sent", map[string]string{"#s": "state"},
		map[string]types.AttributeValue{":sent": str(string(closeloop.CheckInSent))})
	if conditionFailed(err) {
		return fmt.Errorf("schedule check-in %s: %w", ci.ID, closeloop.ErrDuplicate)
	}
	if err != nil {
		return fmt.Errorf("schedule check-in %s: %w", ci.ID, err)
	}
	return nil
}

// GetCheckIn returns check-in id, or an error wrapping ErrNotFound.
func (s *Store) GetCheckIn(ctx context.Context, id string) (closeloop.CheckIn, error) {
	var it checkInItem
	if err := s.get(ctx, checkInPrefix+id, "CHECKIN", &it); err != nil {
		return closeloop.CheckIn{}, fmt.Errorf("get check-in %s: %w", id, err)
	}
	return it.checkIn(), nil
}

// SaveCheckIn stores ci if its stored version is still ci.Version; a lost
// race wraps closeloop.ErrConflict.
func (s *Store) SaveCheckIn(ctx context.Context, ci closeloop.CheckIn) error {
	err := s.put(ctx, checkInItemOf(ci, ci.Version+1), "version = :v", nil, map[string]types.AttributeValue{":v": num(ci.Version)})
	if conditionFailed(err) {
		return fmt.Errorf("save check-in %s: %w", ci.ID, closeloop.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("save check-in %s: %w", ci.ID, err)
	}
	return nil
}

// AnswerCheckIn records answer ("yes" or "no") and comment on sent
// check-in id at now, and returns the check-in as it was before (to count
// a revised answer once). An erased check-in, or one not sent, wraps
// closeloop.ErrExpired.
func (s *Store) AnswerCheckIn(ctx context.Context, id, answer, comment string, now time.Time) (closeloop.CheckIn, error) {
	expr := "SET answer = :a, answered_at = :now"
	vals := map[string]types.AttributeValue{":a": str(answer), ":now": str(ts(now)), ":sent": str(string(closeloop.CheckInSent))}
	names := map[string]string{"#s": "state", "#c": "comment"}
	if comment != "" {
		expr += ", #c = :c"
		vals[":c"] = str(comment)
	} else {
		expr += " REMOVE #c"
	}
	res, err := s.update(ctx, &dynamodb.UpdateItemInput{
		Key: key(checkInPrefix+id, "CHECKIN"), UpdateExpression: &expr,
		ConditionExpression:      aws.String("#s = :sent AND attribute_exists(contact_key)"),
		ExpressionAttributeNames: names, ExpressionAttributeValues: vals, ReturnValues: types.ReturnValueAllOld,
	})
	if conditionFailed(err) {
		return closeloop.CheckIn{}, closeloop.Errorf(closeloop.ErrExpired, "check-in %s is no longer open", id)
	}
	if err != nil {
		return closeloop.CheckIn{}, fmt.Errorf("answer check-in %s: %w", id, err)
	}
	var old checkInItem
	if err := unmarshal(res.Attributes, &old); err != nil {
		return closeloop.CheckIn{}, err
	}
	return old.checkIn(), nil
}

// CreateCheckInLink stores link id (closeloop.SurveyIDOf of a fresh token)
// as the answer link of check-in checkInID.
func (s *Store) CreateCheckInLink(ctx context.Context, id, checkInID, contactID string, now time.Time) error {
	it := linkItem{PK: linkPrefix + id, SK: "CHECKINLINK", ContactKey: contactID, CheckIn: checkInID, ExpiresTTL: now.Add(400 * 24 * time.Hour).Unix()}
	if err := s.put(ctx, it, "", nil, nil); err != nil {
		return fmt.Errorf("create check-in link: %w", err)
	}
	return nil
}

// CheckInLink returns the check-in of link id, or an error wrapping
// closeloop.ErrNotFound.
func (s *Store) CheckInLink(ctx context.Context, id string) (string, error) {
	var it linkItem
	if err := s.get(ctx, linkPrefix+id, "CHECKINLINK", &it); err != nil {
		return "", fmt.Errorf("get check-in link: %w", err)
	}
	return it.CheckIn, nil
}

// CountContact records that contact id was written to at now by slot (a
// check-in), so later tickets' surveys respect the fatigue window. An
// unknown contact is left alone.
func (s *Store) CountContact(ctx context.Context, id, slot string, now time.Time) error {
	_, err := s.update(ctx, &dynamodb.UpdateItemInput{
		Key:                       key(contactPK(id), "CONTACT"),
		UpdateExpression:          aws.String("SET last_survey_at = :now, last_survey_id = :slot"),
		ConditionExpression:       aws.String("attribute_exists(pk) AND " + notErased),
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": str(ts(now)), ":slot": str(slot), ":erased": str(closeloop.SuppressedErased)},
	})
	if err != nil && !conditionFailed(err) {
		return fmt.Errorf("count contact %s: %w", id, err)
	}
	return nil
}
