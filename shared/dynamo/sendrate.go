package dynamo

import (
	"context"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// sendRatePrefix keys one item per second of sending: how many emails every
// sender together has taken permission for in that second. Items expire
// after a day (TTL); they are never read back.
const sendRatePrefix = "SENDRATE#"

// TakeSendTokens asks for n emails in second (unix seconds) under a
// ceiling of limit emails a second shared by every sender of the stack,
// with one update, and returns how many it got (0 to n). Tokens counted
// beyond the ceiling are never handed out, so the senders' sum in any
// second stays at or under limit, however many run at once.
func (s *Store) TakeSendTokens(ctx context.Context, second int64, n, limit int) (int, error) {
	if n <= 0 || limit <= 0 {
		return 0, nil
	}
	res, err := s.update(ctx, &dynamodb.UpdateItemInput{
		Key:              key(sendRatePrefix+strconv.FormatInt(second, 10), "N"),
		UpdateExpression: aws.String("ADD n :n SET expires_ttl = :ttl"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":n":   &types.AttributeValueMemberN{Value: strconv.Itoa(n)},
			":ttl": &types.AttributeValueMemberN{Value: strconv.FormatInt(second+86400, 10)},
		},
		ReturnValues: types.ReturnValueUpdatedNew,
	})
	if err != nil {
		return 0, fmt.Errorf("take %d send tokens: %w", n, err)
	}
	v, ok := res.Attributes["n"].(*types.AttributeValueMemberN)
	if !ok {
		return 0, fmt.Errorf("take %d send tokens: no count returned", n)
	}
	total, err := strconv.Atoi(v.Value)
	if err != nil {
		return 0, fmt.Errorf("take %d send tokens: count %q: %w", n, v.Value, err)
	}
	// This call's tokens are total-n+1 … total; those at or under limit are ours.
	return max(0, min(n, limit-(total-n))), nil
}
