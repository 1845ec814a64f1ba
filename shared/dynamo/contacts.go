package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/closeloop/closeloop/shared/closeloop"
)

type contactItem struct {
	PK           string `dynamodbav:"pk"`
	SK           string `dynamodbav:"sk"`
	Email        string `dynamodbav:"email"`
	Name         string `dynamodbav:"name,omitempty"`
	Locale       string `dynamodbav:"locale,omitempty"`
	Suppressed   string `dynamodbav:"suppressed,omitempty"`
	LastSurveyAt string `dynamodbav:"last_survey_at,omitempty"`
	LastSurveyID string `dynamodbav:"last_survey_id,omitempty"`
}

func contactPK(id string) string { return contactPrefix + id }

// UpsertContact records the address, name and locale of c, keeping its
// suppression and survey history. It is idempotent. The contact of an
// erased person keeps no address: storing one again is refused with an
// error wrapping closeloop.ErrErased.
func (s *Store) UpsertContact(ctx context.Context, c closeloop.Contact) error {
	names := map[string]string{"#n": "name"}
	vals := map[string]types.AttributeValue{":e": str(c.Email), ":n": str(c.Name), ":erased": str(closeloop.SuppressedErased)}
	expr := "SET email = :e, #n = :n"
	if c.Locale != "" {
		expr += ", locale = :l"
		vals[":l"] = str(c.Locale)
	}
	_, err := s.update(ctx, &dynamodb.UpdateItemInput{
		Key: key(contactPK(c.ID), "CONTACT"), UpdateExpression: &expr,
		ConditionExpression:      aws.String("attribute_not_exists(suppressed) OR suppressed <> :erased"),
		ExpressionAttributeNames: names, ExpressionAttributeValues: vals,
	})
	if conditionFailed(err) {
		return fmt.Errorf("upsert contact %s: erased: %w", c.ID, closeloop.ErrErased)
	}
	if err != nil {
		return fmt.Errorf("upsert contact %s: %w", c.ID, err)
	}
	return nil
}

// NoteSolve records the first solve of a ticket of contact id, and returns
// the one of theirs recorded before it (zero when none), so the caller can
// count a repeat contact. A solve older than the one recorded changes
// nothing and returns zero.
func (s *Store) NoteSolve(ctx context.Context, id string, solve closeloop.Solve) (closeloop.Solve, error) {
	tags, err := marshalList(solve.Tags)
	if err != nil {
		return closeloop.Solve{}, err
	}
	at := solve.At
	res, err := s.update(ctx, &dynamodb.UpdateItemInput{
		Key:              key(contactPK(id), "CONTACT"),
		UpdateExpression: aws.String("SET last_solved_at = :at, last_solved_ticket = :t, last_solved_agent = :a, last_solved_tags = :g"),
		ConditionExpression: aws.String("attribute_exists(pk) AND (attribute_not_exists(suppressed) OR suppressed <> :erased) AND " +
			"(attribute_not_exists(last_solved_at) OR last_solved_at < :at)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":at": str(ts(at)), ":t": str(solve.Ticket), ":a": str(solve.Agent), ":g": tags, ":erased": str(closeloop.SuppressedErased)},
		ReturnValues:              types.ReturnValueAllOld,
	})
	if conditionFailed(err) {
		return closeloop.Solve{}, nil
	}
	if err != nil {
		return closeloop.Solve{}, fmt.Errorf("note solve of %s: %w", id, err)
	}
	var old struct {
		At     string   `dynamodbav:"last_solved_at"`
		Ticket string   `dynamodbav:"last_solved_ticket"`
		Agent  string   `dynamodbav:"last_solved_agent"`
		Tags   []string `dynamodbav:"last_solved_tags"`
	}
	if err := unmarshal(res.Attributes, &old); err != nil {
		return closeloop.Solve{}, err
	}
	return closeloop.Solve{Ticket: old.Ticket, Agent: old.Agent, Tags: old.Tags, At: parseTS(old.At)}, nil
}

// GetContact returns contact id, or an error wrapping closeloop.ErrNotFound.
func (s *Store) GetContact(ctx context.Context, id string) (closeloop.Contact, error) {
	var it contactItem
	if err := s.get(ctx, contactPK(id), "CONTACT", &it); err != nil {
		return closeloop.Contact{}, fmt.Errorf("get contact %s: %w", id, err)
	}
	return it.contact(id), nil
}

func (it contactItem) contact(id string) closeloop.Contact {
	return closeloop.Contact{
		ID: id, Email: it.Email, Name: it.Name, Locale: it.Locale, Suppressed: it.Suppressed,
		LastSurveyAt: parseTS(it.LastSurveyAt), LastSurveyID: it.LastSurveyID,
	}
}

// TakeSurveySlot marks c as surveyed by surveyID at now, if c has not changed
// since it was read (the fatigue rule is decided on what was read). Two
// sweeps racing for one contact cannot both win: the loser gets an error
// wrapping closeloop.ErrConflict.
func (s *Store) TakeSurveySlot(ctx context.Context, c closeloop.Contact, surveyID string, now time.Time) error {
	cond := "attribute_exists(pk) AND attribute_not_exists(suppressed) AND "
	vals := map[string]types.AttributeValue{":now": str(ts(now)), ":sid": str(surveyID)}
	if c.LastSurveyAt.IsZero() {
		cond += "attribute_not_exists(last_survey_at)"
	} else {
		cond += "last_survey_at = :prev"
		vals[":prev"] = str(ts(c.LastSurveyAt))
	}
	_, err := s.update(ctx, &dynamodb.UpdateItemInput{
		Key:                       key(contactPK(c.ID), "CONTACT"),
		UpdateExpression:          aws.String("SET last_survey_at = :now, last_survey_id = :sid"),
		ConditionExpression:       &cond,
		ExpressionAttributeValues: vals,
	})
	if conditionFailed(err) {
		return fmt.Errorf("take survey slot of %s: %w", c.ID, closeloop.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("take survey slot of %s: %w", c.ID, err)
	}
	return nil
}

// Suppress stops all mail to the contact with address email, for reason
// ("unsubscribed", "bounce", "complaint"). It is idempotent, and works for an
// address Closeloop has not seen yet, so a bounce or complaint that arrives
// first still counts.
func (s *Store) Suppress(ctx context.Context, email, reason string) error {
	addr, err := closeloop.NormalizeEmail(email)
	if err != nil {
		return closeloop.Errorf(closeloop.ErrInvalid, "suppress: email: %v", err)
	}
	cid, err := s.ContactID(addr)
	if err != nil {
		return fmt.Errorf("suppress: %w", err)
	}
	return s.SuppressContact(ctx, cid, addr, reason)
}

// SuppressContact is Suppress for a contact already known by id. An erased
// contact stays erased: its suppression is already for good, and it must
// not hold the address again.
func (s *Store) SuppressContact(ctx context.Context, id, email, reason string) error {
	_, err := s.update(ctx, &dynamodb.UpdateItemInput{
		Key:                       key(contactPK(id), "CONTACT"),
		UpdateExpression:          aws.String("SET suppressed = :r, email = if_not_exists(email, :e)"),
		ConditionExpression:       aws.String("attribute_not_exists(suppressed) OR suppressed <> :erased"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":r": str(reason), ":e": str(email), ":erased": str(closeloop.SuppressedErased)},
	})
	if conditionFailed(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("suppress contact %s: %w", id, err)
	}
	return nil
}

// Erase removes everything Closeloop holds about the person with address
// email: the address and name, ticket subjects, response comments and theme
// links, follow-up cases and their notes, check-ins, links and "you said, we
// did" claims, under the keyed contact id and under the unkeyed id of
// releases before it (items the migration has not reached). Ratings stay,
// anonymous, in the daily counters and on their surveys so that past
// metrics do not change. Scheduled surveys are cancelled. What is kept is
// the contact item under the keyed id with only the suppression
// closeloop.SuppressedErased, so the person is never mailed again and a
// later solve for the address schedules nothing. It returns how many items
// it changed; erasing again changes only the suppression, and erasing an
// unknown address keeps a suppression for it too.
func (s *Store) Erase(ctx context.Context, email string) (int, error) {
	addr, err := closeloop.NormalizeEmail(email)
	if err != nil {
		return 0, closeloop.Errorf(closeloop.ErrInvalid, "erase: email: %v", err)
	}
	cid, err := s.ContactID(addr)
	if err != nil {
		return 0, fmt.Errorf("erase: %w", err)
	}
	// The suppression first, without the address and name: from here no
	// solve, look-up, import or event stores the person again.
	kept := struct {
		PK         string `dynamodbav:"pk"`
		SK         string `dynamodbav:"sk"`
		Suppressed string `dynamodbav:"suppressed"`
	}{contactPK(cid), "CONTACT", closeloop.SuppressedErased}
	if err := s.put(ctx, kept, "", nil, nil); err != nil {
		return 0, fmt.Errorf("erase contact %s: %w", cid, err)
	}
	if err := s.del(ctx, contactPK(closeloop.LegacyContactID(addr)), "CONTACT"); err != nil {
		return 1, fmt.Errorf("erase contact %s: %w", cid, err)
	}
	n := 1
	// Twice for the keyed id: a write that stored the contact before the
	// suppression may land after the first listing (a webhook's ticket).
	for _, id := range []string{cid, closeloop.LegacyContactID(addr), cid} {
		m, err := s.eraseContactItems(ctx, id)
		n += m
		if err != nil {
			return n, fmt.Errorf("erase %s: %w", cid, err)
		}
	}
	return n, nil
}

// eraseContactItems erases every item the by_contact index lists for id.
func (s *Store) eraseContactItems(ctx context.Context, id string) (int, error) {
	var pks, sks []string
	err := s.query(ctx, &dynamodb.QueryInput{
		IndexName:                 aws.String("by_contact"),
		KeyConditionExpression:    aws.String("contact_key = :c"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":c": str(id)},
	}, 0, func(it map[string]types.AttributeValue) error {
		pk, _ := it["pk"].(*types.AttributeValueMemberS)
		sk, _ := it["sk"].(*types.AttributeValueMemberS)
		if pk != nil && sk != nil {
			pks, sks = append(pks, pk.Value), append(sks, sk.Value)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for i, pk := range pks {
		switch {
		case pk == casesPK:
			err = s.del(ctx, pk, sks[i]) // the case and its notes go with the person
		case strings.HasPrefix(pk, checkInPrefix):
			err = s.del(ctx, pk, sks[i]) // with its answer and comment
		case strings.HasPrefix(pk, improvementPrefix):
			err = s.del(ctx, pk, sks[i]) // a "you said, we did" claim: its person is gone
		case strings.HasPrefix(pk, ticketPrefix):
			err = s.eraseTicket(ctx, pk)
		case strings.HasPrefix(pk, surveyPrefix):
			err = s.eraseSurvey(ctx, pk)
		case strings.HasPrefix(pk, linkPrefix):
			err = s.del(ctx, pk, sks[i])
		}
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// EraseTicket does to one ticket, and its survey, what erasure does to the
// tickets it finds: for a ticket erasure could not find (its contact id
// recorded after the erasure listed the person's items).
func (s *Store) EraseTicket(ctx context.Context, source, ticketID string) error {
	if err := s.eraseTicket(ctx, ticketPK(source, ticketID)); err != nil {
		return fmt.Errorf("erase ticket %s/%s: %w", source, ticketID, err)
	}
	return nil
}

func (s *Store) eraseTicket(ctx context.Context, pk string) error {
	// Forget who and what the ticket was about; bump the version so a sweep
	// holding an older read loses its conditional write.
	res, err := s.update(ctx, &dynamodb.UpdateItemInput{
		Key:                       key(pk, "TICKET"),
		UpdateExpression:          aws.String("REMOVE contact_key, subject, agent_name, agent_email, reason, lookup_id SET version = version + :one"),
		ConditionExpression:       aws.String("attribute_exists(pk)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": num(1)},
		ReturnValues:              types.ReturnValueAllOld,
	})
	if err != nil && !conditionFailed(err) {
		return err
	}
	// The ticket's survey, found by its id: the by_contact index may not
	// list a survey created a moment ago.
	if res != nil {
		var old ticketItem
		if err := unmarshal(res.Attributes, &old); err != nil {
			return err
		}
		if old.SurveyID != "" {
			if err := s.eraseSurvey(ctx, surveyPK(old.SurveyID)); err != nil {
				return err
			}
		}
	}
	// A scheduled survey must not go out to an erased person.
	_, err = s.update(ctx, &dynamodb.UpdateItemInput{
		Key:                       key(pk, "TICKET"),
		UpdateExpression:          aws.String("SET #s = :c, version = version + :one REMOVE due_pk, due_sk"),
		ConditionExpression:       aws.String("#s = :sch"),
		ExpressionAttributeNames:  map[string]string{"#s": "state"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":c": str(string(closeloop.SurveyCancelled)), ":sch": str(string(closeloop.SurveyScheduled)), ":one": num(1)},
	})
	if conditionFailed(err) {
		return nil
	}
	return err
}

// EraseSurvey removes survey id's personal data (contact, comment, subject,
// agent, themes and their links), keeping its anonymous rating. Erasing a
// survey that does not exist, or twice, is not an error.
func (s *Store) EraseSurvey(ctx context.Context, id string) error {
	if err := s.eraseSurvey(ctx, surveyPK(id)); err != nil {
		return fmt.Errorf("erase survey %s: %w", id, err)
	}
	return nil
}

func (s *Store) eraseSurvey(ctx context.Context, pk string) error {
	res, err := s.update(ctx, &dynamodb.UpdateItemInput{
		Key:                      key(pk, "SURVEY"),
		UpdateExpression:         aws.String("REMOVE contact_key, #c, subject, agent_name, agent_email, themes, properties"),
		ConditionExpression:      aws.String("attribute_exists(pk)"),
		ExpressionAttributeNames: map[string]string{"#c": "comment"},
		ReturnValues:             types.ReturnValueAllOld,
	})
	if conditionFailed(err) {
		return nil
	}
	if err != nil {
		return err
	}
	var old surveyItem
	if err := unmarshal(res.Attributes, &old); err != nil {
		return err
	}
	// Each "you said, we did" outcome keeps its state, not its SES message
	// id, which would tie the kept rating to SES's delivery records.
	var outcomes []string
	names, vals := map[string]string{}, map[string]types.AttributeValue{}
	for k, v := range res.Attributes {
		sv, ok := v.(*types.AttributeValueMemberS)
		if !strings.HasPrefix(k, closingAttrPrefix) || !ok || !strings.Contains(sv.Value, " ") {
			continue
		}
		i := strconv.Itoa(len(outcomes))
		names["#o"+i], vals[":o"+i] = k, str(strings.Fields(sv.Value)[0])
		outcomes = append(outcomes, "#o"+i+" = :o"+i)
	}
	if len(outcomes) > 0 {
		if _, err := s.update(ctx, &dynamodb.UpdateItemInput{
			Key: key(pk, "SURVEY"), UpdateExpression: aws.String("SET " + strings.Join(outcomes, ", ")),
			ExpressionAttributeNames: names, ExpressionAttributeValues: vals,
		}); err != nil {
			return err
		}
	}
	for _, th := range old.Themes {
		if err := s.del(ctx, themePrefix+th, pk); err != nil && !errors.Is(err, closeloop.ErrNotFound) {
			return err
		}
	}
	return nil
}

type linkItem struct {
	PK         string `dynamodbav:"pk"`
	SK         string `dynamodbav:"sk"`
	ContactKey string `dynamodbav:"contact_key"`
	SurveyID   string `dynamodbav:"survey_id,omitempty"`  // a survey link of a reminder
	CheckIn    string `dynamodbav:"checkin_id,omitempty"` // a check-in's answer link
	ExpiresTTL int64  `dynamodbav:"expires_ttl"`
}

// CreateSurveyLink stores link id (closeloop.SurveyIDOf of a fresh token)
// as a second link to survey surveyID, of contactID, until expires: a
// reminder's links, since a survey's own token is never stored.
func (s *Store) CreateSurveyLink(ctx context.Context, id, surveyID, contactID string, expires time.Time) error {
	it := linkItem{PK: linkPrefix + id, SK: "SURVEYLINK", ContactKey: contactID, SurveyID: surveyID, ExpiresTTL: expires.Add(400 * 24 * time.Hour).Unix()}
	if err := s.put(ctx, it, "", nil, nil); err != nil {
		return fmt.Errorf("create survey link: %w", err)
	}
	return nil
}

// SurveyLink returns the survey of link id, or an error wrapping
// closeloop.ErrNotFound.
func (s *Store) SurveyLink(ctx context.Context, id string) (string, error) {
	var it linkItem
	if err := s.get(ctx, linkPrefix+id, "SURVEYLINK", &it); err != nil {
		return "", fmt.Errorf("get survey link: %w", err)
	}
	return it.SurveyID, nil
}

// CreateUnsubscribeLink stores link id (closeloop.SurveyIDOf of a fresh
// token) as an unsubscribe link for contactID. Emails have signed links
// now (closeloop.ContactKey.UnsubscribeToken); stored links of emails sent
// before still work until they expire, and tests make them here. The link
// item is in the by_contact index, so erasure removes it.
func (s *Store) CreateUnsubscribeLink(ctx context.Context, id, contactID string, now time.Time) error {
	it := linkItem{PK: linkPrefix + id, SK: "LINK", ContactKey: contactID, ExpiresTTL: now.Add(closeloop.UnsubscribeLinkTTL).Unix()}
	if err := s.put(ctx, it, "", nil, nil); err != nil {
		return fmt.Errorf("create unsubscribe link: %w", err)
	}
	return nil
}

// UnsubscribeLink returns the contact of link id, or an error wrapping
// closeloop.ErrNotFound.
func (s *Store) UnsubscribeLink(ctx context.Context, id string) (string, error) {
	var it linkItem
	if err := s.get(ctx, linkPrefix+id, "LINK", &it); err != nil {
		return "", fmt.Errorf("get unsubscribe link: %w", err)
	}
	return it.ContactKey, nil
}

// notErased is the condition that a contact item is not an erased person's
// kept suppression (its value :erased is closeloop.SuppressedErased).
const notErased = "(attribute_not_exists(suppressed) OR suppressed <> :erased)"
