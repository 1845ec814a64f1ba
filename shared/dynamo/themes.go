package dynamo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/closeloop/closeloop/shared/closeloop"
)

type themeItem struct {
	PK        string   `dynamodbav:"pk"`
	SK        string   `dynamodbav:"sk"`
	Name      string   `dynamodbav:"name"`
	Keywords  []string `dynamodbav:"keywords"`
	CreatedAt string   `dynamodbav:"created_at"`
}

// themeLink says that a survey's response carries a theme: the list the
// closing fan-out reads. It holds ids only.
type themeLink struct {
	PK       string `dynamodbav:"pk"` // THEME#<name>
	SK       string `dynamodbav:"sk"` // SURVEY#<id>
	SurveyID string `dynamodbav:"survey_id"`
	Contact  string `dynamodbav:"cid"`
	At       string `dynamodbav:"at,omitempty"` // when the response was first given: the fan-out sends day by day
}

// PutTheme creates theme t, or replaces the keywords of an existing theme of
// the same name (keeping its creation time). It returns the stored theme.
func (s *Store) PutTheme(ctx context.Context, t closeloop.Theme) (closeloop.Theme, error) {
	kw := t.Keywords
	if kw == nil {
		kw = []string{}
	}
	kwv, err := marshalList(kw)
	if err != nil {
		return t, err
	}
	res, err := s.update(ctx, &dynamodb.UpdateItemInput{
		Key:                       key(themesPK, themePrefix+t.Name),
		UpdateExpression:          aws.String("SET #n = :n, keywords = :k, created_at = if_not_exists(created_at, :c)"),
		ExpressionAttributeNames:  map[string]string{"#n": "name"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":n": str(t.Name), ":k": kwv, ":c": str(ts(t.CreatedAt))},
		ReturnValues:              types.ReturnValueAllNew,
	})
	if err != nil {
		return t, fmt.Errorf("put theme %s: %w", t.Name, err)
	}
	var it themeItem
	if err := unmarshal(res.Attributes, &it); err != nil {
		return t, err
	}
	return it.theme(), nil
}

func (it themeItem) theme() closeloop.Theme {
	return closeloop.Theme{Name: it.Name, Keywords: it.Keywords, CreatedAt: parseTS(it.CreatedAt)}
}

// Themes returns every theme, by name.
func (s *Store) Themes(ctx context.Context) ([]closeloop.Theme, error) {
	return s.themes(ctx, true)
}

// ThemesToTag is Themes read eventually consistent, at half the read
// units, for tagging each new comment: a theme saved within the last
// second may not tag it, as it may not when the comment comes in while
// the theme is being saved (the console's back-fill tags what was stored
// when it ran).
func (s *Store) ThemesToTag(ctx context.Context) ([]closeloop.Theme, error) {
	return s.themes(ctx, false)
}

func (s *Store) themes(ctx context.Context, consistent bool) ([]closeloop.Theme, error) {
	var out []closeloop.Theme
	err := s.query(ctx, &dynamodb.QueryInput{
		KeyConditionExpression:    aws.String("pk = :p"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": str(themesPK)},
		ConsistentRead:            aws.Bool(consistent),
	}, 0, func(m map[string]types.AttributeValue) error {
		var it themeItem
		if err := unmarshal(m, &it); err != nil {
			return err
		}
		out = append(out, it.theme())
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list themes: %w", err)
	}
	return out, nil
}

func (s *Store) putThemeLink(ctx context.Context, theme, surveyID, contactID string, respondedAt time.Time) error {
	err := s.put(ctx, themeLink{PK: themePrefix + theme, SK: surveyPK(surveyID), SurveyID: surveyID, Contact: contactID, At: ts(respondedAt)}, "", nil, nil)
	if err != nil {
		return fmt.Errorf("link theme %s to %s: %w", theme, surveyID, err)
	}
	return nil
}

// SetThemes replaces the themes of response id with themes, which must
// exist (the caller checks). It returns the survey as stored, or an error
// wrapping closeloop.ErrNotFound if the survey has no response.
func (s *Store) SetThemes(ctx context.Context, id string, themes []string) (closeloop.Survey, error) {
	themes = closeloop.UniqueThemes(themes)
	in := &dynamodb.UpdateItemInput{
		Key: key(surveyPK(id), "SURVEY"),
		// An erased response keeps its rating, anonymous, and takes no
		// theme again: that would count it a second time.
		ConditionExpression: aws.String("attribute_exists(rating) AND attribute_exists(contact_key)"),
		ReturnValues:        types.ReturnValueAllOld,
	}
	if len(themes) == 0 {
		in.UpdateExpression = aws.String("REMOVE themes")
	} else {
		in.UpdateExpression = aws.String("SET themes = :t")
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":t": &types.AttributeValueMemberSS{Value: themes}}
	}
	res, err := s.update(ctx, in)
	if conditionFailed(err) {
		return closeloop.Survey{}, fmt.Errorf("set themes of %s: %w", id, closeloop.ErrNotFound)
	}
	if err != nil {
		return closeloop.Survey{}, fmt.Errorf("set themes of %s: %w", id, err)
	}
	var old surveyItem
	if err := unmarshal(res.Attributes, &old); err != nil {
		return closeloop.Survey{}, err
	}
	// Links follow the item: add the new ones first, so a crash in between
	// leaves an extra link (harmless: the fan-out re-checks the survey) and
	// never a missing one.
	for _, th := range themes {
		if err := s.putThemeLink(ctx, th, id, old.ContactKey, parseTS(old.RespondedAt)); err != nil {
			return closeloop.Survey{}, err
		}
	}
	for _, th := range old.Themes {
		if !slices.Contains(themes, th) {
			if err := s.del(ctx, themePrefix+th, surveyPK(id)); err != nil {
				return closeloop.Survey{}, fmt.Errorf("unlink theme %s from %s: %w", th, id, err)
			}
		}
	}
	if old.Rating != nil {
		// The themes' breakdowns follow: a theme gained counts the answer
		// on the day it was given, a theme lost takes it back.
		answer := closeloop.RatingCounters(closeloop.Kind(old.Kind), *old.Rating)
		for _, th := range themes {
			if !slices.Contains(old.Themes, th) {
				if err := s.addThemeCounters(ctx, th, parseTS(old.RespondedAt), answer); err != nil {
					return closeloop.Survey{}, err
				}
			}
		}
		for _, th := range old.Themes {
			if !slices.Contains(themes, th) {
				if err := s.addThemeCounters(ctx, th, parseTS(old.RespondedAt), closeloop.Counters{}.Sub(answer)); err != nil {
					return closeloop.Survey{}, err
				}
			}
		}
	}
	if (len(old.Themes) == 0) != (len(themes) == 0) && old.Rating != nil {
		d := int64(1)
		if len(themes) == 0 {
			d = -1
		}
		if err := s.AddCounters(ctx, parseTS(old.RespondedAt), closeloop.Counters{Loops: closeloop.LoopCounters{ThemeRaisers: d}}); err != nil {
			return closeloop.Survey{}, fmt.Errorf("count theme raiser %s: %w", id, err)
		}
	}
	sv := old.survey()
	sv.Themes = themes
	return sv, nil
}

// ThemeMembers calls each for every response linked to theme, page by page,
// starting after the survey id after ("" for the start). Returning an error
// from each stops the walk with that error.
func (s *Store) ThemeMembers(ctx context.Context, theme, after string, each func(closeloop.ThemeMember) error) error {
	in := &dynamodb.QueryInput{
		KeyConditionExpression:    aws.String("pk = :p"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": str(themePrefix + theme)},
	}
	if after != "" {
		in.ExclusiveStartKey = key(themePrefix+theme, surveyPK(after))
	}
	return s.query(ctx, in, 0, func(m map[string]types.AttributeValue) error {
		var l themeLink
		if err := unmarshal(m, &l); err != nil {
			return err
		}
		return each(closeloop.ThemeMember{SurveyID: l.SurveyID, ContactID: l.Contact, RespondedAt: parseTS(l.At)})
	})
}

func marshalList(xs []string) (types.AttributeValue, error) {
	l := make([]types.AttributeValue, len(xs))
	for i, x := range xs {
		l[i] = str(x)
	}
	return &types.AttributeValueMemberL{Value: l}, nil
}

// ThemeCount returns how many responses carry theme, counting its links.
func (s *Store) ThemeCount(ctx context.Context, theme string) (int, error) {
	in := &dynamodb.QueryInput{
		TableName:                 &s.table,
		KeyConditionExpression:    aws.String("pk = :p"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": str(themePrefix + theme)},
		Select:                    types.SelectCount, // the items stay on the server: query's callback would fetch them
		ReturnConsumedCapacity:    s.rcc(),
	}
	n := 0
	for {
		res, err := s.db.Query(ctx, in)
		if err != nil {
			return 0, fmt.Errorf("count theme %s: %w", theme, err)
		}
		s.consumed("Query", res.ConsumedCapacity)
		n += int(res.Count)
		if len(res.LastEvaluatedKey) == 0 {
			return n, nil
		}
		in.ExclusiveStartKey = res.LastEvaluatedKey
	}
}

// DeleteTheme removes theme and takes it off every response that carries
// it. Deleting a theme that does not exist is not an error.
func (s *Store) DeleteTheme(ctx context.Context, theme string) error {
	var ids []string
	err := s.ThemeMembers(ctx, theme, "", func(m closeloop.ThemeMember) error {
		ids = append(ids, m.SurveyID)
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete theme %s: %w", theme, err)
	}
	for _, id := range ids {
		_, err := s.update(ctx, &dynamodb.UpdateItemInput{
			Key:                       key(surveyPK(id), "SURVEY"),
			UpdateExpression:          aws.String("DELETE themes :t"),
			ConditionExpression:       aws.String("attribute_exists(pk)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":t": &types.AttributeValueMemberSS{Value: []string{theme}}},
		})
		if err != nil && !conditionFailed(err) {
			return fmt.Errorf("delete theme %s from %s: %w", theme, id, err)
		}
		if err := s.del(ctx, themePrefix+theme, surveyPK(id)); err != nil {
			return fmt.Errorf("delete theme %s: %w", theme, err)
		}
	}
	if err := s.del(ctx, themesPK, themePrefix+theme); err != nil {
		return fmt.Errorf("delete theme %s: %w", theme, err)
	}
	return nil
}

// RenameTheme gives theme from the name to, keeping its keywords and
// moving it onto every response that carries it. Renaming onto an existing
// theme is an error wrapping closeloop.ErrConflict; renaming a theme that
// does not exist wraps closeloop.ErrNotFound. A crash halfway leaves both
// names on some responses, which a second rename finishes.
func (s *Store) RenameTheme(ctx context.Context, from, to string, now time.Time) error {
	if from == to {
		return closeloop.Errorf(closeloop.ErrConflict, "the theme is named %s already", to)
	}
	all, err := s.Themes(ctx)
	if err != nil {
		return err
	}
	var old *closeloop.Theme
	for i := range all {
		switch all[i].Name {
		case from:
			old = &all[i]
		case to:
			return closeloop.Errorf(closeloop.ErrConflict, "a theme named %s exists already", to)
		}
	}
	if old == nil {
		return closeloop.Errorf(closeloop.ErrNotFound, "no theme %s", from)
	}
	if _, err := s.PutTheme(ctx, closeloop.Theme{Name: to, Keywords: old.Keywords, CreatedAt: now}); err != nil {
		return err
	}
	var ids []string
	if err := s.ThemeMembers(ctx, from, "", func(m closeloop.ThemeMember) error { ids = append(ids, m.SurveyID); return nil }); err != nil {
		return fmt.Errorf("rename theme %s: %w", from, err)
	}
	for _, id := range ids {
		sv, err := s.GetSurvey(ctx, id)
		if errors.Is(err, closeloop.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		themes := []string{to}
		for _, th := range sv.Themes {
			if th != from && th != to {
				themes = append(themes, th)
			}
		}
		slices.Sort(themes)
		if _, err := s.SetThemes(ctx, id, themes); err != nil && !errors.Is(err, closeloop.ErrNotFound) {
			return err
		}
	}
	return s.DeleteTheme(ctx, from)
}
