package dynamo

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/closeloop/closeloop/shared/closeloop"
)

// MigrateContactIDs moves contacts stored under the unkeyed ids of releases
// before keyed ids (closeloop.LegacyContactID) to their keyed ids, with
// every item that names them: one page of the table scan per call, from
// cursor (empty to start), reading about limit items. It is idempotent and
// can be stopped and resumed at any page, or run again from the start: each
// step is a conditional write that a repeat finds done. A contact is
// deleted under its old id only after everything of theirs has moved.
func (s *Store) MigrateContactIDs(ctx context.Context, cursor string, limit int) (closeloop.Migration, error) {
	var m closeloop.Migration
	if len(s.Key) == 0 {
		return m, closeloop.ErrNoContactKey
	}
	in := &dynamodb.ScanInput{
		TableName: &s.table,
		Limit:     aws.Int32(int32(max(1, limit))),
		FilterExpression: aws.String("(begins_with(pk, :c) AND sk = :sk AND attribute_exists(email)) OR " +
			"(begins_with(pk, :imp) AND begins_with(sk, :to) AND attribute_not_exists(contact_key))"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":c": str(contactPrefix), ":sk": str("CONTACT"), ":imp": str(improvementPrefix), ":to": str(toPrefix)},
		ConsistentRead:            aws.Bool(true),
		ReturnConsumedCapacity:    s.rcc(),
	}
	if cursor != "" {
		pk, sk, err := parseScanCursor(cursor)
		if err != nil {
			return m, err
		}
		in.ExclusiveStartKey = key(pk, sk)
	}
	res, err := s.db.Scan(ctx, in)
	if err != nil {
		return m, fmt.Errorf("migrate contact ids: %w", err)
	}
	s.consumed("Scan", res.ConsumedCapacity)
	m.Scanned = int(res.ScannedCount)
	for _, raw := range res.Items {
		var it map[string]any
		if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
			return m, err
		}
		pk, _ := it["pk"].(string)
		sk, _ := it["sk"].(string)
		if strings.HasPrefix(sk, toPrefix) {
			// A claim from before claims named their contact in
			// contact_key: index it, so the contact's move (on this
			// page or a later one) or an erasure finds it.
			_, err := s.update(ctx, &dynamodb.UpdateItemInput{
				Key:                       key(pk, sk),
				UpdateExpression:          aws.String("SET contact_key = :c"),
				ConditionExpression:       aws.String("attribute_exists(pk) AND attribute_not_exists(contact_key)"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":c": str(strings.TrimPrefix(sk, toPrefix))},
			})
			if err != nil && !conditionFailed(err) {
				return m, fmt.Errorf("migrate contact ids: %w", err)
			}
			m.Items++
			continue
		}
		email, _ := it["email"].(string)
		old := strings.TrimPrefix(pk, contactPrefix)
		nid, err := s.ContactID(email)
		if err != nil {
			return m, err
		}
		switch old {
		case nid:
			m.Keyed++
			continue
		case closeloop.LegacyContactID(email):
		default:
			continue // an id of neither form: not Closeloop's to move
		}
		n, err := s.moveContact(ctx, old, nid, it)
		m.Items += n
		if err != nil {
			return m, fmt.Errorf("migrate contact %s: %w", nid, err)
		}
		m.Contacts++
	}
	if lek := res.LastEvaluatedKey; len(lek) > 0 {
		var k struct {
			PK string `dynamodbav:"pk"`
			SK string `dynamodbav:"sk"`
		}
		if err := attributevalue.UnmarshalMap(lek, &k); err != nil {
			return m, err
		}
		m.NextCursor = makeScanCursor(k.PK, k.SK)
	}
	return m, nil
}

// moveContact merges contact item it from id old into id nid (what nid
// already holds wins: it is newer), re-keys every item of theirs, then
// deletes the old contact. An erased nid keeps nothing: the old items are
// erased instead.
func (s *Store) moveContact(ctx context.Context, old, nid string, it map[string]any) (int, error) {
	names := map[string]string{}
	vals := map[string]types.AttributeValue{":erased": str(closeloop.SuppressedErased)}
	var sets []string
	attrs := make([]string, 0, len(it))
	for a := range it {
		if a != "pk" && a != "sk" {
			attrs = append(attrs, a)
		}
	}
	slices.Sort(attrs)
	for i, a := range attrs {
		v, err := attributevalue.Marshal(it[a])
		if err != nil {
			return 0, err
		}
		n, p := fmt.Sprintf("#a%d", i), fmt.Sprintf(":v%d", i)
		names[n], vals[p] = a, v
		sets = append(sets, fmt.Sprintf("%s = if_not_exists(%s, %s)", n, n, p))
	}
	_, err := s.update(ctx, &dynamodb.UpdateItemInput{
		Key:                       key(contactPK(nid), "CONTACT"),
		UpdateExpression:          aws.String("SET " + strings.Join(sets, ", ")),
		ConditionExpression:       aws.String("attribute_not_exists(suppressed) OR suppressed <> :erased"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: vals,
	})
	if conditionFailed(err) {
		n, err := s.eraseContactItems(ctx, old)
		if err != nil {
			return n, err
		}
		return n, s.del(ctx, contactPK(old), "CONTACT")
	}
	if err != nil {
		return 0, err
	}
	var keys [][2]string
	err = s.query(ctx, &dynamodb.QueryInput{
		IndexName:                 aws.String("by_contact"),
		KeyConditionExpression:    aws.String("contact_key = :c"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":c": str(old)},
	}, 0, func(it map[string]types.AttributeValue) error {
		var k struct {
			PK string `dynamodbav:"pk"`
			SK string `dynamodbav:"sk"`
		}
		if err := attributevalue.UnmarshalMap(it, &k); err != nil {
			return err
		}
		keys = append(keys, [2]string{k.PK, k.SK})
		return nil
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, k := range keys {
		if strings.HasPrefix(k[0], improvementPrefix) && k[1] == toPrefix+old {
			err = s.moveClaim(ctx, k[0], old, nid)
		} else {
			err = s.rekey(ctx, k[0], k[1], old, nid)
		}
		if err != nil {
			return n, err
		}
		n++
	}
	return n, s.del(ctx, contactPK(old), "CONTACT")
}

// rekey names nid instead of old on one item; on a survey, also on its
// theme links (which the closing job reads the contact from).
func (s *Store) rekey(ctx context.Context, pk, sk, old, nid string) error {
	res, err := s.update(ctx, &dynamodb.UpdateItemInput{
		Key:                       key(pk, sk),
		UpdateExpression:          aws.String("SET contact_key = :n"),
		ConditionExpression:       aws.String("contact_key IN (:o, :n)"), // :n: a run stopped before the theme links
		ExpressionAttributeValues: map[string]types.AttributeValue{":n": str(nid), ":o": str(old)},
		ReturnValues:              types.ReturnValueAllNew,
	})
	if conditionFailed(err) {
		return nil // erased
	}
	if err != nil || !strings.HasPrefix(pk, surveyPrefix) {
		return err
	}
	var sv surveyItem
	if err := unmarshal(res.Attributes, &sv); err != nil {
		return err
	}
	for _, th := range sv.Themes {
		_, err := s.update(ctx, &dynamodb.UpdateItemInput{
			Key:                       key(themePrefix+th, pk),
			UpdateExpression:          aws.String("SET cid = :n"),
			ConditionExpression:       aws.String("cid = :o"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":n": str(nid), ":o": str(old)},
		})
		if err != nil && !conditionFailed(err) {
			return err
		}
	}
	return nil
}

// moveClaim moves a "you said, we did" claim, whose sort key names the
// contact, to the keyed id: the copy first (unless one exists: then the
// email was claimed under the new id too and the copy there stands), then
// the old claim goes.
func (s *Store) moveClaim(ctx context.Context, pk, old, nid string) error {
	var c closingItem
	if err := s.get(ctx, pk, toPrefix+old, &c); err != nil {
		if errors.Is(err, closeloop.ErrNotFound) {
			return nil
		}
		return err
	}
	c.SK, c.ContactKey = toPrefix+nid, nid
	if err := s.put(ctx, c, "attribute_not_exists(pk)", nil, nil); err != nil && !conditionFailed(err) {
		return err
	}
	return s.del(ctx, pk, toPrefix+old)
}

func makeScanCursor(pk, sk string) string {
	b, _ := json.Marshal([2]string{pk, sk})
	return base64.RawURLEncoding.EncodeToString(b)
}

func parseScanCursor(c string) (pk, sk string, err error) {
	var k [2]string
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err == nil {
		err = json.Unmarshal(b, &k)
	}
	if err != nil || k[0] == "" || k[1] == "" {
		return "", "", closeloop.Errorf(closeloop.ErrInvalid, "cursor %q is not one this migration gave", c)
	}
	return k[0], k[1], nil
}
