package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/closeloop/closeloop/shared/closeloop"
	"github.com/closeloop/closeloop/shared/platform/workers"
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
	// One query each, for their batches' progress, eight at a time.
	ims := make([]closeloop.Improvement, len(ids))
	errs := make([]error, len(ids))
	workers.Each(ids, 8, func(i int, id string) { ims[i], errs[i] = s.improvement(ctx, id) })
	out := make([]closeloop.Improvement, 0, len(ids))
	for i := range ids { // in the listing's order
		if errors.Is(errs[i], closeloop.ErrNotFound) {
			continue
		}
		if errs[i] != nil {
			return nil, fmt.Errorf("list improvements: %w", errs[i])
		}
		out = append(out, ims[i])
	}
	return out, nil
}

// GetImprovement returns improvement id with its progress, or an error
// wrapping closeloop.ErrNotFound.
func (s *Store) GetImprovement(ctx context.Context, id string) (closeloop.Improvement, error) {
	return s.improvement(ctx, id)
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

type closingItem struct {
	PK         string `dynamodbav:"pk"` // IMPROVEMENT#<id>
	SK         string `dynamodbav:"sk"` // TO#<contact id>
	SurveyID   string `dynamodbav:"survey_id"`
	ContactKey string `dynamodbav:"contact_key"` // by_contact index: erasure removes the claim
	State      string `dynamodbav:"state"`
	Batch      string `dynamodbav:"batch,omitempty"`
	Adopted    bool   `dynamodbav:"adopted,omitempty"` // an older release's claim, taken over by batch
	ClaimedAt  string `dynamodbav:"claimed_at"`
	MessageID  string `dynamodbav:"message_id,omitempty"` // claims recorded before outcomes moved to the survey
	Nonce      string `dynamodbav:"nonce,omitempty"`      // the claimer's: a claim whose answer was lost is known as its own (put)
}

// batchItem is one fan-out batch's progress, written whole by each attempt
// at the batch: what every recipient it claimed came to.
type batchItem struct {
	PK         string `dynamodbav:"pk"` // IMPROVEMENT#<id>
	SK         string `dynamodbav:"sk"` // BATCH#<batch id>, sorting before IMPROVEMENT
	Settled    int64  `dynamodbav:"settled"`
	Recipients int64  `dynamodbav:"recipients"`
	Sent       int64  `dynamodbav:"sent"`
	Failed     int64  `dynamodbav:"failed"`
	Suppressed int64  `dynamodbav:"suppressed"`
}

const batchPrefix = "BATCH#"

// improvement reads improvement id with its progress in one query: the
// improvement item and its batches' progress items, which sort just
// before it (claims, TO#..., sort after it and are not read).
func (s *Store) improvement(ctx context.Context, id string) (closeloop.Improvement, error) {
	var im closeloop.Improvement
	found := false
	var p closeloop.Progress
	err := s.query(ctx, &dynamodb.QueryInput{
		KeyConditionExpression:    aws.String("pk = :p AND sk BETWEEN :b AND :i"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": str(improvementPK(id)), ":b": str(batchPrefix), ":i": str("IMPROVEMENT")},
		ConsistentRead:            aws.Bool(true),
	}, 0, func(m map[string]types.AttributeValue) error {
		if sk, _ := m["sk"].(*types.AttributeValueMemberS); sk != nil && sk.Value == "IMPROVEMENT" {
			var it improvementItem
			if err := unmarshal(m, &it); err != nil {
				return err
			}
			im, found = it.improvement(), true
			return nil
		}
		var b batchItem
		if err := unmarshal(m, &b); err != nil {
			return err
		}
		p = p.Add(closeloop.Progress{Recipients: b.Recipients, Sent: b.Sent, Failed: b.Failed, Suppressed: b.Suppressed})
		return nil
	})
	if err != nil {
		return im, fmt.Errorf("get improvement %s: %w", id, err)
	}
	if !found {
		return im, fmt.Errorf("get improvement %s: %w", id, closeloop.ErrNotFound)
	}
	im.Progress = im.Progress.Add(p) // improvements sent before batches counted themselves kept theirs on the item
	return im, nil
}

// ClosingBatch reads, in one request, what a batch of improvement impID's
// fan-out to recipients needs: the improvement, each response and its
// person, the claims already made on them and the outcomes recorded. The
// reads are strongly consistent: an unsubscribe a moment ago is seen. It
// returns an error wrapping closeloop.ErrNotFound if the improvement is gone.
func (s *Store) ClosingBatch(ctx context.Context, impID string, recipients []closeloop.ThemeMember) (closeloop.ClosingBatch, error) {
	b := closeloop.ClosingBatch{
		Surveys: map[string]closeloop.Survey{}, Outcomes: map[string]closeloop.ClosingState{},
		Contacts: map[string]closeloop.Contact{}, Claims: map[string]closeloop.ClosingClaim{},
	}
	if 1+3*len(recipients) > 100 {
		return b, fmt.Errorf("closing batch of %d recipients: at most 33 are read at once", len(recipients))
	}
	keys := []map[string]types.AttributeValue{key(improvementPK(impID), "IMPROVEMENT")}
	seen := map[string]bool{}
	for _, r := range recipients {
		for _, k := range [][2]string{{surveyPK(r.SurveyID), "SURVEY"}, {contactPK(r.ContactID), "CONTACT"}, {improvementPK(impID), toPrefix + r.ContactID}} {
			if !seen[k[0]+"|"+k[1]] {
				seen[k[0]+"|"+k[1]] = true
				keys = append(keys, key(k[0], k[1]))
			}
		}
	}
	outcome := outcomeAttr(impID)
	found := false
	err := s.batchGet(ctx, keys, true, func(m map[string]types.AttributeValue) error {
		pk, _ := m["pk"].(*types.AttributeValueMemberS)
		sk, _ := m["sk"].(*types.AttributeValueMemberS)
		if pk == nil || sk == nil {
			return nil
		}
		switch {
		case sk.Value == "IMPROVEMENT":
			var it improvementItem
			if err := unmarshal(m, &it); err != nil {
				return err
			}
			b.Improvement, found = it.improvement(), true
		case sk.Value == "SURVEY":
			var it surveyItem
			if err := unmarshal(m, &it); err != nil {
				return err
			}
			b.Surveys[it.ID] = it.survey()
			if o, ok := m[outcome].(*types.AttributeValueMemberS); ok {
				st, _, _ := strings.Cut(o.Value, " ")
				b.Outcomes[it.ID] = closeloop.ClosingState(st)
			}
		case sk.Value == "CONTACT":
			var it contactItem
			if err := unmarshal(m, &it); err != nil {
				return err
			}
			id := strings.TrimPrefix(pk.Value, contactPrefix)
			b.Contacts[id] = it.contact(id)
		case strings.HasPrefix(sk.Value, toPrefix):
			var it closingItem
			if err := unmarshal(m, &it); err != nil {
				return err
			}
			b.Claims[strings.TrimPrefix(sk.Value, toPrefix)] = closeloop.ClosingClaim{
				SurveyID: it.SurveyID, Batch: it.Batch, Adopted: it.Adopted, State: closeloop.ClosingState(it.State), ClaimedAt: parseTS(it.ClaimedAt),
			}
		}
		return nil
	})
	if err != nil {
		return b, fmt.Errorf("read closing batch of %s: %w", impID, err)
	}
	if !found {
		return b, fmt.Errorf("read closing batch of %s: %w", impID, closeloop.ErrNotFound)
	}
	return b, nil
}

// outcomeAttr names the survey attribute recording improvement impID's
// "you said, we did" email quoting it: "<state> <SES message id>".
func outcomeAttr(impID string) string { return closingAttrPrefix + impID }

// closingAttrPrefix begins every outcome attribute on a survey.
const closingAttrPrefix = "closing_"

// ClaimClosing claims the one "you said, we did" email of improvement
// impID to contact contactID, quoting survey surveyID, for fan-out batch
// batch, in state (closeloop.ClosingClaimed before sending, or
// closeloop.ClosingSuppressed, final, for a person who may not be mailed).
// A second claim, by a duplicate message or a second job, is an error
// wrapping closeloop.ErrDuplicate: the email is someone else's to send.
func (s *Store) ClaimClosing(ctx context.Context, impID, contactID, surveyID, batch string, state closeloop.ClosingState, now time.Time) error {
	it := closingItem{PK: improvementPK(impID), SK: toPrefix + contactID, SurveyID: surveyID, ContactKey: contactID, State: string(state), Batch: batch, ClaimedAt: ts(now), Nonce: closeloop.NewID()}
	err := s.putClaim(ctx, it, "attribute_not_exists(pk)", nil, nil)
	if conditionFailed(err) {
		return fmt.Errorf("claim closing %s/%s: %w", impID, contactID, closeloop.ErrDuplicate)
	}
	if err != nil {
		return fmt.Errorf("claim closing %s/%s: %w", impID, contactID, err)
	}
	return nil
}

// AdoptClosing makes batch the owner of an open claim an older release
// made (one without a batch), so that exactly one batch settles and counts
// it: a claim that has a batch already, or is not open, is an error
// wrapping closeloop.ErrConflict.
func (s *Store) AdoptClosing(ctx context.Context, impID, contactID, batch string) error {
	_, err := s.update(ctx, &dynamodb.UpdateItemInput{
		Key:                       key(improvementPK(impID), toPrefix+contactID),
		UpdateExpression:          aws.String("SET #b = :b, adopted = :t"),
		ConditionExpression:       aws.String("attribute_not_exists(#b) AND #s = :c"),
		ExpressionAttributeNames:  map[string]string{"#s": "state", "#b": "batch"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":b": str(batch), ":t": &types.AttributeValueMemberBOOL{Value: true}, ":c": str(string(closeloop.ClosingClaimed))},
	})
	if conditionFailed(err) {
		return fmt.Errorf("adopt closing claim %s/%s: %w", impID, contactID, closeloop.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("adopt closing claim %s/%s: %w", impID, contactID, err)
	}
	return nil
}

// RecordClosing records on survey sv the outcome of improvement impID's
// claimed email quoting it, once: a second record is an error wrapping
// closeloop.ErrConflict. A sent email also marks the response told (the
// first time only): firstTold reports whether this was that first time,
// for the loop counters. An erased survey records nothing (ErrConflict).
func (s *Store) RecordClosing(ctx context.Context, impID, surveyID string, state closeloop.ClosingState, messageID string, now time.Time) (firstTold bool, err error) {
	expr := "SET #o = :o"
	vals := map[string]types.AttributeValue{":o": str(strings.TrimSpace(string(state) + " " + messageID))}
	if state == closeloop.ClosingSent {
		expr += ", told_at = if_not_exists(told_at, :now)"
		vals[":now"] = str(ts(now))
	}
	res, err := s.update(ctx, &dynamodb.UpdateItemInput{
		Key:                       key(surveyPK(surveyID), "SURVEY"),
		UpdateExpression:          &expr,
		ConditionExpression:       aws.String("attribute_exists(contact_key) AND attribute_not_exists(#o)"),
		ExpressionAttributeNames:  map[string]string{"#o": outcomeAttr(impID)},
		ExpressionAttributeValues: vals,
		ReturnValues:              types.ReturnValueUpdatedOld,
	})
	if conditionFailed(err) {
		return false, fmt.Errorf("record closing %s/%s: %w", impID, surveyID, closeloop.ErrConflict)
	}
	if err != nil {
		return false, fmt.Errorf("record closing %s/%s: %w", impID, surveyID, err)
	}
	_, told := res.Attributes["told_at"]
	return state == closeloop.ClosingSent && !told, nil
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

// PutBatchProgress stores p as the progress of batch of improvement
// impID's fan-out: what every recipient the batch claimed came to so far.
// Each attempt at a batch writes its whole tally; a tally settling fewer
// recipients than the one stored (a slower duplicate) changes nothing, so
// retried and duplicated batches count each person once.
func (s *Store) PutBatchProgress(ctx context.Context, impID, batch string, p closeloop.Progress) error {
	settled := p.Sent + p.Failed + p.Suppressed
	it := batchItem{PK: improvementPK(impID), SK: batchPrefix + batch, Settled: settled, Recipients: p.Recipients, Sent: p.Sent, Failed: p.Failed, Suppressed: p.Suppressed}
	err := s.put(ctx, it, "attribute_not_exists(pk) OR settled < :n", nil, map[string]types.AttributeValue{":n": num(settled)})
	if err != nil && !conditionFailed(err) {
		return fmt.Errorf("progress of %s batch %s: %w", impID, batch, err)
	}
	return nil
}

const previewPrefix = "PREVIEW#"

type previewItem struct {
	PK         string `dynamodbav:"pk"`
	SK         string `dynamodbav:"sk"`
	Summary    string `dynamodbav:"summary"`
	Message    string `dynamodbav:"message"`
	Locale     string `dynamodbav:"locale,omitempty"`
	Link       string `dynamodbav:"link,omitempty"`
	ExpiresAt  string `dynamodbav:"expires_at"`
	ExpiresTTL int64  `dynamodbav:"expires_ttl"`
}

// PutPreview keeps the preview p of a draft improvement under id (random,
// closeloop.NewID) until expires.
func (s *Store) PutPreview(ctx context.Context, id string, p closeloop.Preview, expires time.Time) error {
	it := previewItem{PK: previewPrefix + id, SK: "PREVIEW", Summary: p.Summary, Message: p.Message, Locale: p.Locale, Link: p.Link,
		ExpiresAt: ts(expires), ExpiresTTL: expires.Add(24 * time.Hour).Unix()}
	if err := s.put(ctx, it, "", nil, nil); err != nil {
		return fmt.Errorf("put preview: %w", err)
	}
	return nil
}

// GetPreview returns preview id, or an error wrapping closeloop.ErrNotFound
// (unknown, or past its expiry).
func (s *Store) GetPreview(ctx context.Context, id string, now time.Time) (closeloop.Preview, error) {
	var it previewItem
	if err := s.get(ctx, previewPrefix+id, "PREVIEW", &it); err != nil {
		return closeloop.Preview{}, fmt.Errorf("get preview: %w", err)
	}
	if now.After(parseTS(it.ExpiresAt)) {
		return closeloop.Preview{}, closeloop.Errorf(closeloop.ErrNotFound, "this preview has expired: preview the draft again")
	}
	return closeloop.Preview{Text: closeloop.Text{Summary: it.Summary, Message: it.Message}, Locale: it.Locale, Link: it.Link}, nil
}
