package dynamo

import (
	"context"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/closeloop/closeloop/shared/closeloop"
)

// The team's side: operators, sign-in links, sessions, API tokens and the
// audit log. docs/data-model.md describes each item.

const (
	operatorsPK  = "OPERATORS"
	operatorSK   = "OPERATOR#"
	loginPrefix  = "LOGIN#"
	ratePrefix   = "LOGINRATE#"
	sessionPK    = "SESSION#"
	tokensPK     = "TOKENS"
	tokenSK      = "TOKEN#"
	auditPrefix  = "AUDIT#"
	auditMonths  = 13 // how far back the audit listing looks
	rateBucketTS = "2006-01-02T15"
)

type operatorItem struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	Email     string `dynamodbav:"email"`
	Role      string `dynamodbav:"role"`
	CreatedAt string `dynamodbav:"created_at"`
	CreatedBy string `dynamodbav:"created_by,omitempty"`
}

func (it operatorItem) operator() closeloop.Operator {
	return closeloop.Operator{Email: it.Email, Role: closeloop.Role(it.Role), CreatedAt: parseTS(it.CreatedAt), CreatedBy: it.CreatedBy}
}

// PutOperator adds op, or changes the role of the operator with its
// address (keeping when and by whom it was added). It is idempotent.
func (s *Store) PutOperator(ctx context.Context, op closeloop.Operator) error {
	_, err := s.update(ctx, &dynamodb.UpdateItemInput{
		Key:                      key(operatorsPK, operatorSK+op.Email),
		UpdateExpression:         aws.String("SET email = :e, #r = :r, created_at = if_not_exists(created_at, :t), created_by = if_not_exists(created_by, :b)"),
		ExpressionAttributeNames: map[string]string{"#r": "role"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":e": str(op.Email), ":r": str(string(op.Role)), ":t": str(ts(op.CreatedAt)), ":b": str(op.CreatedBy),
		},
	})
	if err != nil {
		return fmt.Errorf("put operator: %w", err)
	}
	return nil
}

// GetOperator returns the operator with address email, or an error
// wrapping closeloop.ErrNotFound.
func (s *Store) GetOperator(ctx context.Context, email string) (closeloop.Operator, error) {
	var it operatorItem
	if err := s.get(ctx, operatorsPK, operatorSK+email, &it); err != nil {
		return closeloop.Operator{}, fmt.Errorf("get operator: %w", err)
	}
	return it.operator(), nil
}

// Operators returns every operator, by address.
func (s *Store) Operators(ctx context.Context) ([]closeloop.Operator, error) {
	var out []closeloop.Operator
	err := s.query(ctx, &dynamodb.QueryInput{
		KeyConditionExpression:    aws.String("pk = :p"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": str(operatorsPK)},
	}, 0, func(m map[string]types.AttributeValue) error {
		var it operatorItem
		if err := unmarshal(m, &it); err != nil {
			return err
		}
		out = append(out, it.operator())
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list operators: %w", err)
	}
	return out, nil
}

// DeleteOperator removes the operator with address email; removing one
// that does not exist is not an error. Their sessions and tokens stop
// working at their next use, since both are checked against the operator.
func (s *Store) DeleteOperator(ctx context.Context, email string) error {
	if err := s.del(ctx, operatorsPK, operatorSK+email); err != nil {
		return fmt.Errorf("delete operator: %w", err)
	}
	return nil
}

// CountLoginLink counts one more sign-in link for the address with id
// addrID in the hour of now and returns the count so far that hour, with
// one atomic ADD.
func (s *Store) CountLoginLink(ctx context.Context, addrID string, now time.Time) (int, error) {
	res, err := s.update(ctx, &dynamodb.UpdateItemInput{
		Key:                       key(ratePrefix+addrID, now.UTC().Format(rateBucketTS)),
		UpdateExpression:          aws.String("ADD n :one SET expires_ttl = :ttl"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": num(1), ":ttl": num(now.Add(2 * time.Hour).Unix())},
		ReturnValues:              types.ReturnValueUpdatedNew,
	})
	if err != nil {
		return 0, fmt.Errorf("count sign-in link: %w", err)
	}
	var out struct {
		N int `dynamodbav:"n"`
	}
	if err := unmarshal(res.Attributes, &out); err != nil {
		return 0, err
	}
	return out.N, nil
}

type loginItem struct {
	PK         string `dynamodbav:"pk"`
	SK         string `dynamodbav:"sk"`
	Email      string `dynamodbav:"email"`
	ExpiresAt  string `dynamodbav:"expires_at"`
	ExpiresTTL int64  `dynamodbav:"expires_ttl"`
}

// CreateLoginLink stores sign-in link id (closeloop.SecretID of the link's
// token) for operator email, valid until expires.
func (s *Store) CreateLoginLink(ctx context.Context, id, email string, expires time.Time) error {
	it := loginItem{PK: loginPrefix + id, SK: "LOGIN", Email: email, ExpiresAt: ts(expires), ExpiresTTL: expires.Add(24 * time.Hour).Unix()}
	if err := s.put(ctx, it, "attribute_not_exists(pk)", nil, nil); err != nil {
		return fmt.Errorf("create sign-in link: %w", err)
	}
	return nil
}

// ConsumeLoginLink uses sign-in link id once: it deletes the link and
// returns its operator's address. A link used already, or unknown, is an
// error wrapping closeloop.ErrNotFound; one past its expiry wraps
// closeloop.ErrExpired.
func (s *Store) ConsumeLoginLink(ctx context.Context, id string, now time.Time) (string, error) {
	res, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: &s.table, Key: key(loginPrefix+id, "LOGIN"),
		ConditionExpression: aws.String("attribute_exists(pk)"),
		ReturnValues:        types.ReturnValueAllOld, ReturnConsumedCapacity: s.rcc(),
	})
	if conditionFailed(err) {
		return "", closeloop.Errorf(closeloop.ErrNotFound, "this sign-in link was used already or is not valid")
	}
	if err != nil {
		return "", fmt.Errorf("use sign-in link: %w", err)
	}
	s.consumed("DeleteItem", res.ConsumedCapacity)
	var it loginItem
	if err := unmarshal(res.Attributes, &it); err != nil {
		return "", err
	}
	if now.After(parseTS(it.ExpiresAt)) {
		return "", closeloop.Errorf(closeloop.ErrExpired, "this sign-in link has expired")
	}
	return it.Email, nil
}

// PeekLoginLink reports whether sign-in link id exists and is unexpired,
// without using it (the page a mail scanner may open).
func (s *Store) PeekLoginLink(ctx context.Context, id string, now time.Time) error {
	var it loginItem
	if err := s.get(ctx, loginPrefix+id, "LOGIN", &it); err != nil {
		return fmt.Errorf("get sign-in link: %w", err)
	}
	if now.After(parseTS(it.ExpiresAt)) {
		return closeloop.Errorf(closeloop.ErrExpired, "this sign-in link has expired")
	}
	return nil
}

type sessionItem struct {
	PK         string `dynamodbav:"pk"`
	SK         string `dynamodbav:"sk"`
	Email      string `dynamodbav:"email"`
	CSRF       string `dynamodbav:"csrf"`
	CreatedAt  string `dynamodbav:"created_at"`
	LastSeenAt string `dynamodbav:"last_seen_at"`
	ExpiresTTL int64  `dynamodbav:"expires_ttl"`
}

// CreateSession stores session ss.
func (s *Store) CreateSession(ctx context.Context, ss closeloop.Session) error {
	it := sessionItem{PK: sessionPK + ss.ID, SK: "SESSION", Email: ss.Email, CSRF: ss.CSRF, CreatedAt: ts(ss.CreatedAt),
		LastSeenAt: ts(ss.LastSeenAt), ExpiresTTL: ss.CreatedAt.Add(closeloop.SessionAbsolute).Unix()}
	if err := s.put(ctx, it, "attribute_not_exists(pk)", nil, nil); err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// GetSession returns session id, or an error wrapping closeloop.ErrNotFound.
func (s *Store) GetSession(ctx context.Context, id string) (closeloop.Session, error) {
	var it sessionItem
	if err := s.get(ctx, sessionPK+id, "SESSION", &it); err != nil {
		return closeloop.Session{}, fmt.Errorf("get session: %w", err)
	}
	return closeloop.Session{ID: id, Email: it.Email, CSRF: it.CSRF, CreatedAt: parseTS(it.CreatedAt), LastSeenAt: parseTS(it.LastSeenAt)}, nil
}

// TouchSession records that session id was used at now.
func (s *Store) TouchSession(ctx context.Context, id string, now time.Time) error {
	_, err := s.update(ctx, &dynamodb.UpdateItemInput{
		Key:                       key(sessionPK+id, "SESSION"),
		UpdateExpression:          aws.String("SET last_seen_at = :t"),
		ConditionExpression:       aws.String("attribute_exists(pk)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": str(ts(now))},
	})
	if err != nil && !conditionFailed(err) {
		return fmt.Errorf("touch session: %w", err)
	}
	return nil
}

// DeleteSession ends session id; ending one that does not exist is not an
// error.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	if err := s.del(ctx, sessionPK+id, "SESSION"); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

type tokenItem struct {
	PK         string `dynamodbav:"pk"`
	SK         string `dynamodbav:"sk"`
	ID         string `dynamodbav:"id"`
	Name       string `dynamodbav:"name"`
	Email      string `dynamodbav:"email"`
	SecretHash string `dynamodbav:"secret_hash"`
	CreatedAt  string `dynamodbav:"created_at"`
	ExpiresAt  string `dynamodbav:"expires_at"`
	ExpiresTTL int64  `dynamodbav:"expires_ttl"`
}

func (it tokenItem) token() closeloop.APIToken {
	return closeloop.APIToken{ID: it.ID, Name: it.Name, Email: it.Email, SecretHash: it.SecretHash, CreatedAt: parseTS(it.CreatedAt), ExpiresAt: parseTS(it.ExpiresAt)}
}

// PutAPIToken stores t.
func (s *Store) PutAPIToken(ctx context.Context, t closeloop.APIToken) error {
	it := tokenItem{PK: tokensPK, SK: tokenSK + t.ID, ID: t.ID, Name: t.Name, Email: t.Email, SecretHash: t.SecretHash,
		CreatedAt: ts(t.CreatedAt), ExpiresAt: ts(t.ExpiresAt), ExpiresTTL: t.ExpiresAt.Add(24 * time.Hour).Unix()}
	if err := s.put(ctx, it, "attribute_not_exists(pk)", nil, nil); err != nil {
		return fmt.Errorf("create token %s: %w", t.ID, err)
	}
	return nil
}

// GetAPIToken returns token id, or an error wrapping closeloop.ErrNotFound.
func (s *Store) GetAPIToken(ctx context.Context, id string) (closeloop.APIToken, error) {
	var it tokenItem
	if err := s.get(ctx, tokensPK, tokenSK+id, &it); err != nil {
		return closeloop.APIToken{}, fmt.Errorf("get token %s: %w", id, err)
	}
	return it.token(), nil
}

// APITokens returns every API token (without secrets), by id.
func (s *Store) APITokens(ctx context.Context) ([]closeloop.APIToken, error) {
	var out []closeloop.APIToken
	err := s.query(ctx, &dynamodb.QueryInput{
		KeyConditionExpression:    aws.String("pk = :p"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": str(tokensPK)},
	}, 0, func(m map[string]types.AttributeValue) error {
		var it tokenItem
		if err := unmarshal(m, &it); err != nil {
			return err
		}
		out = append(out, it.token())
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return out, nil
}

// DeleteAPIToken revokes token id; revoking one that does not exist is not
// an error.
func (s *Store) DeleteAPIToken(ctx context.Context, id string) error {
	if err := s.del(ctx, tokensPK, tokenSK+id); err != nil {
		return fmt.Errorf("delete token %s: %w", id, err)
	}
	return nil
}

type auditItem struct {
	PK     string `dynamodbav:"pk"`
	SK     string `dynamodbav:"sk"`
	At     string `dynamodbav:"at"`
	Actor  string `dynamodbav:"actor"`
	Action string `dynamodbav:"action"`
	Target string `dynamodbav:"target,omitempty"`
	Detail string `dynamodbav:"detail,omitempty"`
}

// AddAudit appends e to the audit log.
func (s *Store) AddAudit(ctx context.Context, e closeloop.AuditEntry) error {
	it := auditItem{PK: auditPrefix + e.At.UTC().Format("2006-01"), SK: ts(e.At) + "#" + closeloop.NewID()[:8],
		At: ts(e.At), Actor: e.Actor, Action: e.Action, Target: e.Target, Detail: e.Detail}
	if err := s.put(ctx, it, "", nil, nil); err != nil {
		return fmt.Errorf("add audit entry: %w", err)
	}
	return nil
}

// Audit returns up to limit entries of the audit log, newest first, from
// the last 13 months (one partition a month), after cursor (a next cursor
// it gave; empty for the newest), and the cursor of the page after it,
// empty when no entry is left.
func (s *Store) Audit(ctx context.Context, now time.Time, cursor string, limit int) ([]closeloop.AuditEntry, string, error) {
	var after string // the sort key of the last entry of the page before
	if cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || len(b) < len("2006-01") {
			return nil, "", closeloop.Errorf(closeloop.ErrInvalid, "cursor is not one this API gave")
		}
		after = string(b)
	}
	var out []closeloop.AuditEntry
	var keys []string
	month := time.Date(now.UTC().Year(), now.UTC().Month(), 1, 0, 0, 0, 0, time.UTC)
	if after != "" {
		if at, err := time.Parse("2006-01", after[:7]); err == nil && at.Before(month) {
			month = at
		}
	}
	// One more than the page: the cursor is given only when entries follow.
	for i := 0; i < auditMonths && len(out) <= limit; i++ {
		m := month.AddDate(0, -i, 0)
		in := &dynamodb.QueryInput{
			KeyConditionExpression:    aws.String("pk = :p"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":p": str(auditPrefix + m.Format("2006-01"))},
			ScanIndexForward:          aws.Bool(false),
		}
		if after != "" {
			in.KeyConditionExpression = aws.String("pk = :p AND sk < :after")
			in.ExpressionAttributeValues[":after"] = str(after)
		}
		err := s.query(ctx, in, limit+1-len(out), func(item map[string]types.AttributeValue) error {
			var it auditItem
			if err := unmarshal(item, &it); err != nil {
				return err
			}
			out = append(out, closeloop.AuditEntry{At: parseTS(it.At), Actor: it.Actor, Action: it.Action, Target: it.Target, Detail: it.Detail})
			keys = append(keys, it.SK)
			return nil
		})
		if err != nil {
			return nil, "", fmt.Errorf("read audit log: %w", err)
		}
	}
	if len(out) <= limit {
		return out, "", nil
	}
	return out[:limit], base64.RawURLEncoding.EncodeToString([]byte(keys[limit-1])), nil
}
