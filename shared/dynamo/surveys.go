package dynamo

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/closeloop/closeloop/shared/closeloop"
)

// surveyItem is a sent survey and its one response.
type surveyItem struct {
	PK          string   `dynamodbav:"pk"`
	SK          string   `dynamodbav:"sk"`
	ID          string   `dynamodbav:"id"`
	Source      string   `dynamodbav:"source"`
	TicketID    string   `dynamodbav:"ticket_id"`
	ContactKey  string   `dynamodbav:"contact_key,omitempty"` // by_contact index
	Kind        string   `dynamodbav:"kind"`
	Locale      string   `dynamodbav:"locale,omitempty"`
	Subject     string   `dynamodbav:"subject,omitempty"`
	AgentName   string   `dynamodbav:"agent_name,omitempty"`
	AgentEmail  string   `dynamodbav:"agent_email,omitempty"`
	SentAt      string   `dynamodbav:"sent_at"`
	ExpiresAt   string   `dynamodbav:"expires_at"`
	Rating      *int     `dynamodbav:"rating,omitempty"`
	Comment     string   `dynamodbav:"comment,omitempty"`
	Themes      []string `dynamodbav:"themes,omitempty,stringset"`
	RespondedAt string   `dynamodbav:"responded_at,omitempty"`
	RevisedAt   string   `dynamodbav:"revised_at,omitempty"`
	DetractorAt string   `dynamodbav:"detractor_at,omitempty"` // the first detractor answer
	DayPK       string   `dynamodbav:"day_pk,omitempty"`       // by_day index, once answered
	DaySK       string   `dynamodbav:"day_sk,omitempty"`
	ExpiresTTL  int64    `dynamodbav:"expires_ttl,omitempty"`
}

func surveyPK(id string) string { return surveyPrefix + id }

func unmarshal(m map[string]types.AttributeValue, out any) error {
	return attributevalue.UnmarshalMap(m, out)
}

// surveyRetention is how long an unanswered survey is kept before the TTL
// may remove it (housekeeping only).
const surveyRetention = 400 * 24 * time.Hour

// CreateSurvey stores a survey about to be sent. Creating the same survey
// again is an error wrapping closeloop.ErrDuplicate.
func (s *Store) CreateSurvey(ctx context.Context, sv closeloop.Survey) error {
	it := surveyItem{
		PK: surveyPK(sv.ID), SK: "SURVEY", ID: sv.ID, Source: sv.Source, TicketID: sv.TicketID,
		ContactKey: sv.ContactID, Kind: string(sv.Kind), Locale: sv.Locale, Subject: sv.Subject,
		AgentName: sv.AgentName, AgentEmail: sv.AgentEmail, SentAt: ts(sv.SentAt), ExpiresAt: ts(sv.ExpiresAt),
		// Housekeeping only: an unanswered survey goes 30 days after its link
		// expired; an answer extends it (Answer).
		ExpiresTTL: sv.ExpiresAt.Add(30 * 24 * time.Hour).Unix(),
	}
	err := s.put(ctx, it, "attribute_not_exists(pk)", nil, nil)
	if conditionFailed(err) {
		return fmt.Errorf("create survey %s: %w", sv.ID, closeloop.ErrDuplicate)
	}
	if err != nil {
		return fmt.Errorf("create survey %s: %w", sv.ID, err)
	}
	return nil
}

// GetSurvey returns survey id with its response, or an error wrapping
// closeloop.ErrNotFound.
func (s *Store) GetSurvey(ctx context.Context, id string) (closeloop.Survey, error) {
	var it surveyItem
	if err := s.get(ctx, surveyPK(id), "SURVEY", &it); err != nil {
		return closeloop.Survey{}, fmt.Errorf("get survey %s: %w", id, err)
	}
	return it.survey(), nil
}

// GetSurveys returns the surveys of ids that exist, by id, read in batches
// of 100 (eventually consistent: for lists, not for decisions).
func (s *Store) GetSurveys(ctx context.Context, ids []string) (map[string]closeloop.Survey, error) {
	out := make(map[string]closeloop.Survey, len(ids))
	keys := make([]map[string]types.AttributeValue, 0, len(ids))
	seen := map[string]bool{}
	for _, id := range ids {
		if id != "" && !seen[id] {
			seen[id] = true
			keys = append(keys, key(surveyPK(id), "SURVEY"))
		}
	}
	err := s.batchGet(ctx, keys, false, func(m map[string]types.AttributeValue) error {
		var it surveyItem
		if err := unmarshal(m, &it); err != nil {
			return err
		}
		out[it.ID] = it.survey()
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("get surveys: %w", err)
	}
	return out, nil
}

func (it surveyItem) survey() closeloop.Survey {
	return closeloop.Survey{
		ID: it.ID, Source: it.Source, TicketID: it.TicketID, ContactID: it.ContactKey,
		Kind: closeloop.Kind(it.Kind), Locale: it.Locale, Subject: it.Subject, AgentName: it.AgentName, AgentEmail: it.AgentEmail,
		SentAt: parseTS(it.SentAt), ExpiresAt: parseTS(it.ExpiresAt),
		Rating: it.Rating, Comment: it.Comment, Themes: it.Themes,
		RespondedAt: parseTS(it.RespondedAt), RevisedAt: parseTS(it.RevisedAt), DetractorAt: parseTS(it.DetractorAt),
	}
}

// Answer records rating and comment as the response to survey sv at now,
// replacing an earlier answer, and adds the difference to the daily counters
// of the day the survey was first answered. It returns the survey as stored.
//
// Concurrent answers are each applied atomically, and each adds the
// difference from the answer it replaced, so the counters match the last
// answer whatever the interleaving. themes are added to the response's themes.
func (s *Store) Answer(ctx context.Context, sv closeloop.Survey, rating int, comment string, themes []string, now time.Time) (closeloop.Survey, error) {
	themes = closeloop.UniqueThemes(themes)
	expr := "SET rating = :r, revised_at = :now, responded_at = if_not_exists(responded_at, :now), " +
		"day_pk = if_not_exists(day_pk, :dpk), day_sk = if_not_exists(day_sk, :dsk), expires_ttl = :ttl"
	vals := map[string]types.AttributeValue{
		":r": num(int64(rating)), ":now": str(ts(now)),
		":dpk": str(respDayPrefix + s.day(now)), ":dsk": str(ts(now) + "#" + sv.ID),
		":ttl": num(max(now.Unix(), time.Now().Unix()) + int64(surveyRetention/time.Second)), // from today for an imported past answer
	}
	if sv.Kind.Detractor(rating) {
		expr += ", detractor_at = if_not_exists(detractor_at, :now)"
	}
	names := map[string]string{}
	if comment != "" {
		expr += ", #c = :c"
		names["#c"] = "comment"
		vals[":c"] = str(comment)
	} else {
		expr += " REMOVE #c"
		names["#c"] = "comment"
	}
	if len(themes) > 0 {
		expr += " ADD themes :th"
		vals[":th"] = &types.AttributeValueMemberSS{Value: themes}
	}
	res, err := s.update(ctx, &dynamodb.UpdateItemInput{
		Key: key(surveyPK(sv.ID), "SURVEY"), UpdateExpression: &expr,
		// An erased survey has no contact key: it takes no new answer, even
		// when erasure ran after the page read the survey.
		ConditionExpression:       aws.String("attribute_exists(contact_key)"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: vals,
		ReturnValues:              types.ReturnValueAllOld,
	})
	if conditionFailed(err) {
		return sv, closeloop.Errorf(closeloop.ErrExpired, "survey %s is no longer available", sv.ID)
	}
	if err != nil {
		return sv, fmt.Errorf("answer survey %s: %w", sv.ID, err)
	}
	var old surveyItem
	if err := unmarshal(res.Attributes, &old); err != nil {
		return sv, fmt.Errorf("answer survey %s: %w", sv.ID, err)
	}
	delta := closeloop.RatingCounters(sv.Kind, rating)
	first := now
	if old.Rating != nil {
		delta = delta.Sub(closeloop.RatingCounters(sv.Kind, *old.Rating))
		first = parseTS(old.RespondedAt)
	}
	if len(old.Themes) == 0 && len(themes) > 0 {
		delta.Loops.ThemeRaisers++ // the response raises a theme from now on
	}
	if old.Rating == nil && old.ContactKey != "" {
		if err := s.recordAnswer(ctx, old.ContactKey, sv.ID, sv.Kind, rating, now); err != nil {
			return sv, fmt.Errorf("answer survey %s: %w", sv.ID, err)
		}
	}
	// The day's counters, and its breakdowns: source, agent and kind take
	// the difference; a theme the response had takes the difference too,
	// a theme it gains takes the whole answer.
	dims := closeloop.SurveyDims(old.survey())
	dims.Themes = nil
	// The response rate counts answers on the day their survey went: the
	// same day's counters as the answer's, most often, in the same write.
	answered := old.Rating == nil && old.SentAt != ""
	dayDelta := delta
	if answered && s.day(parseTS(old.SentAt)) == s.day(first) {
		dayDelta.Answered, answered = 1, false
	}
	if err := s.AddCounters(ctx, first, dayDelta, dims); err != nil {
		return sv, fmt.Errorf("answer survey %s: %w", sv.ID, err)
	}
	for _, th := range old.Themes {
		if err := s.addThemeCounters(ctx, th, first, delta); err != nil {
			return sv, fmt.Errorf("answer survey %s: %w", sv.ID, err)
		}
	}
	for _, th := range themes {
		if !slices.Contains(old.Themes, th) {
			if err := s.addThemeCounters(ctx, th, first, closeloop.RatingCounters(sv.Kind, rating)); err != nil {
				return sv, fmt.Errorf("answer survey %s: %w", sv.ID, err)
			}
		}
	}
	if answered {
		if err := s.AddCounters(ctx, parseTS(old.SentAt), closeloop.Counters{Answered: 1}, dims); err != nil {
			return sv, fmt.Errorf("answer survey %s: %w", sv.ID, err)
		}
	}
	for _, th := range themes {
		if err := s.putThemeLink(ctx, th, sv.ID, sv.ContactID, first); err != nil {
			return sv, fmt.Errorf("answer survey %s: %w", sv.ID, err)
		}
	}
	out := old.survey()
	out.Rating, out.Comment, out.RevisedAt, out.RespondedAt = &rating, comment, now, first
	for _, th := range themes {
		if !slices.Contains(out.Themes, th) {
			out.Themes = append(out.Themes, th)
		}
	}
	return out, nil
}

// day is the date of t in the team's zone (UTC unless Zone is set): the
// day a count and a response belong to.
func (s *Store) day(t time.Time) string {
	if s.Zone != nil {
		t = t.In(s.Zone)
	} else {
		t = t.UTC()
	}
	return t.Format(time.DateOnly)
}

// addThemeCounters adds c to theme's breakdown counters of the day of t
// only (the day's totals already hold it).
func (s *Store) addThemeCounters(ctx context.Context, theme string, t time.Time, c closeloop.Counters) error {
	k := closeloop.Dims{Themes: []string{theme}}.Keys()
	if len(k) == 0 {
		return nil
	}
	return s.addCountersAt(ctx, t, countersPrefix+k[0], c.OnlyScores())
}

// ListResponses returns answered surveys first answered in [From, To]
// that match f, by day and then time (newest first when f.Newest), up to
// f.Limit, and the cursor of the next page ("" after the last). It reads
// one index partition per day, from the cursor's position on.
func (s *Store) ListResponses(ctx context.Context, f closeloop.ResponseFilter) ([]closeloop.Survey, string, error) {
	first, last := f.From.UTC().Truncate(24*time.Hour), f.To.UTC().Truncate(24*time.Hour)
	step := 24 * time.Hour
	if f.Newest {
		first, last, step = last, first, -step
	}
	afterDay, afterSK, err := parseCursor(f.Cursor)
	if err != nil {
		return nil, "", err
	}
	var out []closeloop.Survey
	// A page reads one match past its limit: the cursor is given only
	// when more follow (a full last page needs none).
	next, lastDay, lastSK := "", "", ""
	for d := first; f.Newest && !d.Before(last) || !f.Newest && !d.After(last); d = d.Add(step) {
		if afterDay != "" && (!f.Newest && d.Format(time.DateOnly) < afterDay || f.Newest && d.Format(time.DateOnly) > afterDay) {
			continue // before the cursor's day
		}
		in := &dynamodb.QueryInput{
			IndexName:                 aws.String("by_day"),
			KeyConditionExpression:    aws.String("day_pk = :d"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":d": str(respDayPrefix + d.Format(time.DateOnly))},
			ScanIndexForward:          aws.Bool(!f.Newest),
		}
		if afterDay == d.Format(time.DateOnly) && afterSK != "" {
			op := ">"
			if f.Newest {
				op = "<"
			}
			in.KeyConditionExpression = aws.String("day_pk = :d AND day_sk " + op + " :after")
			in.ExpressionAttributeValues[":after"] = str(afterSK)
		}
		err := s.query(ctx, in, 0, func(m map[string]types.AttributeValue) error {
			var it surveyItem
			if err := unmarshal(m, &it); err != nil {
				return err
			}
			if sv := it.survey(); f.Match(sv) {
				if f.Limit > 0 && len(out) == f.Limit {
					next = makeCursor(lastDay, lastSK)
					return errStop
				}
				out = append(out, sv)
				lastDay, lastSK = d.Format(time.DateOnly), it.DaySK
			}
			return nil
		})
		if errors.Is(err, errStop) {
			break
		}
		if err != nil {
			return nil, "", fmt.Errorf("list responses of %s: %w", d.Format(time.DateOnly), err)
		}
	}
	return out, next, nil
}

// A cursor is the day and index sort key of the last response of a page.
func makeCursor(day, sk string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(day + "|" + sk))
}

func parseCursor(c string) (day, sk string, err error) {
	if c == "" {
		return "", "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err == nil {
		var ok bool
		if day, sk, ok = strings.Cut(string(b), "|"); ok && len(day) == len("2006-01-02") {
			return day, sk, nil
		}
	}
	return "", "", closeloop.Errorf(closeloop.ErrInvalid, "cursor is not one this API gave")
}

var errStop = errors.New("stop")

// DeleteSurvey removes a survey whose email never went out. Deleting one that
// does not exist is not an error.
func (s *Store) DeleteSurvey(ctx context.Context, id string) error {
	if err := s.del(ctx, surveyPK(id), "SURVEY"); err != nil {
		return fmt.Errorf("delete survey %s: %w", id, err)
	}
	return nil
}

// SurveysOf returns up to limit surveys of contact id, newest sent first.
// It reads the by_contact index (keys only) and then each survey.
func (s *Store) SurveysOf(ctx context.Context, contactID string, limit int) ([]closeloop.Survey, error) {
	var ids []string
	err := s.query(ctx, &dynamodb.QueryInput{
		IndexName:              aws.String("by_contact"),
		KeyConditionExpression: aws.String("contact_key = :c AND begins_with(pk, :p)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":c": str(contactID), ":p": str(surveyPrefix),
		},
	}, 0, func(m map[string]types.AttributeValue) error {
		if v, ok := m["pk"].(*types.AttributeValueMemberS); ok {
			ids = append(ids, strings.TrimPrefix(v.Value, surveyPrefix))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("surveys of %s: %w", contactID, err)
	}
	keys := make([]map[string]types.AttributeValue, len(ids))
	for i, id := range ids {
		keys[i] = key(surveyPK(id), "SURVEY")
	}
	var out []closeloop.Survey
	err = s.batchGet(ctx, keys, false, func(m map[string]types.AttributeValue) error {
		var it surveyItem
		if err := attributevalue.UnmarshalMap(m, &it); err != nil {
			return err
		}
		out = append(out, it.survey())
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("surveys of %s: %w", contactID, err)
	}
	slices.SortFunc(out, func(a, b closeloop.Survey) int { return b.SentAt.Compare(a.SentAt) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// recordAnswer notes the contact's latest answer and, when it follows an
// answer of theirs to an earlier survey of the same kind, counts how their
// rating moved on the day of that earlier answer, told or not told about a
// change in between.
func (s *Store) recordAnswer(ctx context.Context, contactID, surveyID string, kind closeloop.Kind, rating int, now time.Time) error {
	// The first answer also puts the contact in its cohort: the month of
	// that answer, in the band of its rating (retention by cohort).
	month, band := s.month(now), kind.Band(rating)
	res, err := s.update(ctx, &dynamodb.UpdateItemInput{
		Key: key(contactPK(contactID), "CONTACT"),
		UpdateExpression: aws.String("SET last_answer_survey = :s, last_answer_at = :now, last_rating = :r, last_kind = :k, " +
			"cohort = if_not_exists(cohort, :m), cohort_band = if_not_exists(cohort_band, :b)"),
		// Only a newer answer is the latest: one dated before it (an import
		// of past answers after live ones) changes nothing here.
		// An erased person's kept suppression takes nothing (an answer
		// posted while the erasure ran).
		ConditionExpression: aws.String("attribute_exists(pk) AND " + notErased + " AND (attribute_not_exists(last_answer_at) OR last_answer_at < :now)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":s": str(surveyID), ":now": str(ts(now)), ":r": num(int64(rating)), ":k": str(string(kind)), ":m": str(month), ":b": str(string(band)),
			":erased": str(closeloop.SuppressedErased),
		},
		ReturnValues: types.ReturnValueAllOld,
	})
	if conditionFailed(err) {
		return nil // erased, or an answer older than the latest
	}
	if err != nil {
		return err
	}
	var old struct {
		Survey string `dynamodbav:"last_answer_survey"`
		At     string `dynamodbav:"last_answer_at"`
		Rating int    `dynamodbav:"last_rating"`
		Kind   string `dynamodbav:"last_kind"`
		ToldAt string `dynamodbav:"last_told_at"`
		Cohort string `dynamodbav:"cohort"`
	}
	if err := unmarshal(res.Attributes, &old); err != nil {
		return err
	}
	if old.Cohort == "" {
		if err := s.addCohort(ctx, month, band, closeloop.CohortCounts{Customers: 1}); err != nil {
			return err
		}
	}
	if old.Survey == "" || old.Survey == surveyID || closeloop.Kind(old.Kind) != kind {
		return nil
	}
	// Told: the answer before this one was quoted in a "you said, we did"
	// email (told_at on its survey), or, before that was recorded there,
	// the person was told anything after it (last_told_at on the contact).
	told := old.ToldAt != "" && old.ToldAt >= old.At
	if !told {
		var prev struct {
			ToldAt string `dynamodbav:"told_at"`
		}
		if err := s.get(ctx, surveyPK(old.Survey), "SURVEY", &prev); err != nil && !errors.Is(err, closeloop.ErrNotFound) {
			return err
		}
		told = prev.ToldAt != ""
	}
	return s.AddCounters(ctx, parseTS(old.At), closeloop.Counters{Loops: closeloop.ScoreChange(kind, old.Rating, rating, told)})
}
