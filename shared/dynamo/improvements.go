package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/closeloop/closeloop/shared/closeloop"
)

type improvementItem struct {
	PK         string `dynamodbav:"pk"`
	SK         string `dynamodbav:"sk"`
	ID         string `dynamodbav:"id"`
	Theme      string `dynamodbav:"theme"`
	Summary    string `dynamodbav:"summary"`
	Message    string `dynamodbav:"message"`
	CreatedAt  string `dynamodbav:"created_at"`
	Recipients int64  `dynamodbav:"recipients"`
	Sent       int64  `dynamodbav:"sent"`
	Failed     int64  `dynamodbav:"failed"`
	Suppressed int64  `dynamodbav:"suppressed"`

	Locale         string              `dynamodbav:"locale,omitempty"`
	Translations   map[string]textItem `dynamodbav:"translations,omitempty"`
	OnlyDetractors bool                `dynamodbav:"only_detractors,omitempty"`
	SinceDays      int                 `dynamodbav:"since_days,omitempty"`
	Link           string              `dynamodbav:"link,omitempty"`
}

type textItem struct {
	Summary string `dynamodbav:"summary"`
	Message string `dynamodbav:"message"`
}

func improvementPK(id string) string { return improvementPrefix + id }

// CreateImprovement stores a new improvement with zero progress.
func (s *Store) CreateImprovement(ctx context.Context, im closeloop.Improvement) error {
	it := improvementItem{
		PK: improvementPK(im.ID), SK: "IMPROVEMENT", ID: im.ID, Theme: im.Theme,
		Summary: im.Summary, Message: im.Message, CreatedAt: ts(im.CreatedAt),
		Locale: im.Locale, OnlyDetractors: im.OnlyDetractors, SinceDays: im.SinceDays, Link: im.Link,
	}
	if len(im.Translations) > 0 {
		it.Translations = map[string]textItem{}
		for lang, t := range im.Translations {
			it.Translations[lang] = textItem{Summary: t.Summary, Message: t.Message}
		}
	}
	err := s.put(ctx, it, "attribute_not_exists(pk)", nil, nil)
	if conditionFailed(err) {
		return fmt.Errorf("create improvement %s: %w", im.ID, closeloop.ErrDuplicate)
	}
	if err != nil {
		return fmt.Errorf("create improvement %s: %w", im.ID, err)
	}
	// The listing entry: the console lists improvements newest first.
	entry := struct {
		PK string `dynamodbav:"pk"`
		SK string `dynamodbav:"sk"`
		ID string `dynamodbav:"id"`
	}{improvementsPK, ts(im.CreatedAt) + "#" + im.ID, im.ID}
	if err := s.put(ctx, entry, "", nil, nil); err != nil {
		return fmt.Errorf("list improvement %s: %w", im.ID, err)
	}
	return nil
}

const improvementsPK = "IMPROVEMENTS"

// Improvements returns up to limit improvements with their progress,
// newest first.
func (s *Store) Improvements(ctx context.Context, limit int) ([]closeloop.Improvement, error) {
	var ids []string
	err := s.query(ctx, &dynamodb.QueryInput{
		KeyConditionExpression:    aws.String("pk = :p"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": str(improvementsPK)},
		ScanIndexForward:          aws.Bool(false),
	}, limit, func(m map[string]types.AttributeValue) error {
		if v, ok := m["id"].(*types.AttributeValueMemberS); ok {
			ids = append(ids, v.Value)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list improvements: %w", err)
	}
	keys := make([]map[string]types.AttributeValue, len(ids))
	for i, id := range ids {
		keys[i] = key(improvementPK(id), "IMPROVEMENT")
	}
	byID := make(map[string]closeloop.Improvement, len(ids))
	err = s.batchGet(ctx, keys, func(m map[string]types.AttributeValue) error {
		var it improvementItem
		if err := attributevalue.UnmarshalMap(m, &it); err != nil {
			return err
		}
		byID[it.ID] = it.improvement()
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list improvements: %w", err)
	}
	out := make([]closeloop.Improvement, 0, len(ids))
	for _, id := range ids { // in the listing's order
		if im, ok := byID[id]; ok {
			out = append(out, im)
		}
	}
	return out, nil
}

// GetImprovement returns improvement id with its progress, or an error
// wrapping closeloop.ErrNotFound.
func (s *Store) GetImprovement(ctx context.Context, id string) (closeloop.Improvement, error) {
	var it improvementItem
	if err := s.get(ctx, improvementPK(id), "IMPROVEMENT", &it); err != nil {
		return closeloop.Improvement{}, fmt.Errorf("get improvement %s: %w", id, err)
	}
	return it.improvement(), nil
}

func (it improvementItem) improvement() closeloop.Improvement {
	im := closeloop.Improvement{
		ID: it.ID, Theme: it.Theme, Summary: it.Summary, Message: it.Message, CreatedAt: parseTS(it.CreatedAt),
		Locale: it.Locale, Link: it.Link, Audience: closeloop.Audience{OnlyDetractors: it.OnlyDetractors, SinceDays: it.SinceDays},
		Progress: closeloop.Progress{Recipients: it.Recipients, Sent: it.Sent, Failed: it.Failed, Suppressed: it.Suppressed},
	}
	for lang, t := range it.Translations {
		if im.Translations == nil {
			im.Translations = map[string]closeloop.Text{}
		}
		im.Translations[lang] = closeloop.Text{Summary: t.Summary, Message: t.Message}
	}
	return im
}

// AddProgress adds d to improvement id's progress atomically.
func (s *Store) AddProgress(ctx context.Context, id string, d closeloop.Progress) error {
	_, err := s.update(ctx, &dynamodb.UpdateItemInput{
		Key:              key(improvementPK(id), "IMPROVEMENT"),
		UpdateExpression: aws.String("ADD recipients :r, sent :s, failed :f, suppressed :x"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":r": num(d.Recipients), ":s": num(d.Sent), ":f": num(d.Failed), ":x": num(d.Suppressed),
		},
		ConditionExpression: aws.String("attribute_exists(pk)"),
	})
	if err != nil {
		return fmt.Errorf("add progress to %s: %w", id, err)
	}
	return nil
}

type closingItem struct {
	PK         string `dynamodbav:"pk"` // IMPROVEMENT#<id>
	SK         string `dynamodbav:"sk"` // TO#<contact id>
	SurveyID   string `dynamodbav:"survey_id"`
	ContactKey string `dynamodbav:"contact_key"` // by_contact index: erasure removes the claim
	State      string `dynamodbav:"state"`
	ClaimedAt  string `dynamodbav:"claimed_at"`
	MessageID  string `dynamodbav:"message_id,omitempty"`
}

// ClaimClosing claims the one "you said, we did" email of improvement
// impID to contact contactID, quoting survey surveyID. A second claim, by a
// duplicate message or a second job, is an error wrapping
// closeloop.ErrDuplicate: the email is someone else's to send.
func (s *Store) ClaimClosing(ctx context.Context, impID, contactID, surveyID string, now time.Time) error {
	it := closingItem{PK: improvementPK(impID), SK: toPrefix + contactID, SurveyID: surveyID, ContactKey: contactID, State: string(closeloop.ClosingClaimed), ClaimedAt: ts(now)}
	err := s.put(ctx, it, "attribute_not_exists(pk)", nil, nil)
	if conditionFailed(err) {
		return fmt.Errorf("claim closing %s/%s: %w", impID, contactID, closeloop.ErrDuplicate)
	}
	if err != nil {
		return fmt.Errorf("claim closing %s/%s: %w", impID, contactID, err)
	}
	return nil
}

// ClosingClaim returns the state of the claim of improvement impID's email
// to contactID and when it was claimed, or an error wrapping
// closeloop.ErrNotFound.
func (s *Store) ClosingClaim(ctx context.Context, impID, contactID string) (closeloop.ClosingState, time.Time, error) {
	var c closingItem
	if err := s.get(ctx, improvementPK(impID), toPrefix+contactID, &c); err != nil {
		return "", time.Time{}, fmt.Errorf("closing claim %s/%s: %w", impID, contactID, err)
	}
	return closeloop.ClosingState(c.State), parseTS(c.ClaimedAt), nil
}

// FinishClosing records the outcome of a claimed closing email.
func (s *Store) FinishClosing(ctx context.Context, impID, contactID string, state closeloop.ClosingState, messageID string) error {
	expr := "SET #s = :s"
	vals := map[string]types.AttributeValue{":s": str(string(state)), ":c": str(string(closeloop.ClosingClaimed))}
	if messageID != "" {
		expr += ", message_id = :m"
		vals[":m"] = str(messageID)
	}
	_, err := s.update(ctx, &dynamodb.UpdateItemInput{
		Key:                       key(improvementPK(impID), toPrefix+contactID),
		UpdateExpression:          &expr,
		ConditionExpression:       aws.String("#s = :c"),
		ExpressionAttributeNames:  map[string]string{"#s": "state"},
		ExpressionAttributeValues: vals,
	})
	if conditionFailed(err) {
		return fmt.Errorf("finish closing %s/%s: %w", impID, contactID, closeloop.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("finish closing %s/%s: %w", impID, contactID, err)
	}
	return nil
}

// ReleaseClosing removes a claim whose email SES refused with a temporary
// error, so that a retry can claim it again. It only removes a claim still
// in the claimed state.
func (s *Store) ReleaseClosing(ctx context.Context, impID, contactID string) error {
	res, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 &s.table,
		Key:                       key(improvementPK(impID), toPrefix+contactID),
		ConditionExpression:       aws.String("#s = :c"),
		ExpressionAttributeNames:  map[string]string{"#s": "state"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":c": str(string(closeloop.ClosingClaimed))},
		ReturnConsumedCapacity:    s.rcc(),
	})
	if conditionFailed(err) {
		return fmt.Errorf("release closing %s/%s: %w", impID, contactID, closeloop.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("release closing %s/%s: %w", impID, contactID, err)
	}
	s.consumed("DeleteItem", res.ConsumedCapacity)
	return nil
}

// MarkTold counts, once per response, that the customer of answered survey
// sv was told what changed at now: on the day they answered, with how long
// it took; and notes it on their contact for the change of their next
// answer.
func (s *Store) MarkTold(ctx context.Context, sv closeloop.Survey, now time.Time) error {
	err := s.Claim(ctx, "told/"+sv.ID, now)
	if errors.Is(err, closeloop.ErrDuplicate) {
		return nil
	}
	if err != nil {
		return err
	}
	d := closeloop.Counters{Loops: closeloop.LoopCounters{ThemeRaisersTold: 1, ToldHours: closeloop.HistOf(now.Sub(sv.RespondedAt))}}
	if err := s.AddCounters(ctx, sv.RespondedAt, d); err != nil {
		if rerr := s.Release(ctx, "told/"+sv.ID); rerr != nil {
			return errors.Join(err, rerr)
		}
		return err // uncounted and unclaimed: the next closing email counts it
	}
	_, err = s.update(ctx, &dynamodb.UpdateItemInput{
		Key:                       key(contactPK(sv.ContactID), "CONTACT"),
		UpdateExpression:          aws.String("SET last_told_at = :now"),
		ConditionExpression:       aws.String("attribute_exists(pk)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": str(ts(now))},
	})
	if err != nil && !conditionFailed(err) {
		return fmt.Errorf("mark %s told: %w", sv.ContactID, err)
	}
	return nil
}
