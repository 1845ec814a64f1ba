package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/closeloop/closeloop/shared/closeloop"
)

// ImportResponse stores a validated past answer r as an answered survey of
// its person (created with no address change if they exist), counted in the
// metrics of its day, with its tags as themes. It returns whether this call
// stored it; importing the same record again changes nothing, and finishes
// a record an interrupted import left unanswered. An erased person's record
// is refused with an error wrapping closeloop.ErrErased.
func (s *Store) ImportResponse(ctx context.Context, r closeloop.ImportedResponse) (bool, error) {
	cid, err := s.ContactID(r.Email)
	if err != nil {
		return false, err
	}
	_, err = s.update(ctx, &dynamodb.UpdateItemInput{
		Key:                       key(contactPK(cid), "CONTACT"),
		UpdateExpression:          aws.String("SET email = if_not_exists(email, :e), #n = if_not_exists(#n, :n)"),
		ConditionExpression:       aws.String("attribute_not_exists(suppressed) OR suppressed <> :erased"),
		ExpressionAttributeNames:  map[string]string{"#n": "name"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":e": str(r.Email), ":n": str(r.Name), ":erased": str(closeloop.SuppressedErased)},
	})
	if conditionFailed(err) {
		return false, fmt.Errorf("import %s: %w", r.ID, closeloop.ErrErased)
	}
	if err != nil {
		return false, fmt.Errorf("import %s: %w", r.ID, err)
	}
	sv := closeloop.Survey{ID: r.SurveyID(), Source: r.Origin, TicketID: r.ID, ContactID: cid, Kind: r.Kind, ExpiresAt: time.Now()}
	err = s.CreateSurvey(ctx, sv)
	if errors.Is(err, closeloop.ErrDuplicate) {
		old, gerr := s.GetSurvey(ctx, sv.ID)
		if gerr != nil {
			return false, gerr
		}
		if old.Rating != nil || old.Erased() {
			return false, nil // imported before
		}
	} else if err != nil {
		return false, err
	}
	vals := map[string]types.AttributeValue{":o": str(r.Origin)}
	expr := "SET imported = :o"
	if len(r.Properties) > 0 {
		m := map[string]types.AttributeValue{}
		for k, v := range r.Properties {
			m[k] = str(v)
		}
		expr += ", properties = :p"
		vals[":p"] = &types.AttributeValueMemberM{Value: m}
	}
	if _, err := s.update(ctx, &dynamodb.UpdateItemInput{Key: key(surveyPK(sv.ID), "SURVEY"), UpdateExpression: &expr, ExpressionAttributeValues: vals}); err != nil {
		return false, fmt.Errorf("import %s: %w", r.ID, err)
	}
	for _, th := range r.Themes {
		if err := s.EnsureTheme(ctx, th, r.At); err != nil {
			return false, err
		}
	}
	if _, err := s.Answer(ctx, sv, r.Score, r.Comment, r.Themes, r.At); err != nil {
		return false, fmt.Errorf("import %s: %w", r.ID, err)
	}
	return true, nil
}

// EnsureTheme creates theme name (a valid theme name) without keywords,
// unless it exists; an existing theme keeps its keywords.
func (s *Store) EnsureTheme(ctx context.Context, name string, now time.Time) error {
	_, err := s.update(ctx, &dynamodb.UpdateItemInput{
		Key:                       key(themesPK, themePrefix+name),
		UpdateExpression:          aws.String("SET #n = if_not_exists(#n, :n), keywords = if_not_exists(keywords, :k), created_at = if_not_exists(created_at, :c)"),
		ExpressionAttributeNames:  map[string]string{"#n": "name"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":n": str(name), ":k": &types.AttributeValueMemberL{Value: []types.AttributeValue{}}, ":c": str(ts(now))},
	})
	if err != nil {
		return fmt.Errorf("ensure theme %s: %w", name, err)
	}
	return nil
}
