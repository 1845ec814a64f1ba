package dynamo

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/closeloop/closeloop/shared/closeloop"
)

// cohortPrefix keys a monthly cohort's counts: COHORT#<YYYY-MM> / BAND#<band>.
const cohortPrefix = "COHORT#"

// month is the month of t in the team's zone, YYYY-MM.
func (s *Store) month(t time.Time) string { return s.day(t)[:7] }

// addCohort adds c to the counts of cohort month's band with one ADD.
func (s *Store) addCohort(ctx context.Context, month string, band closeloop.Band, c closeloop.CohortCounts) error {
	var parts []string
	vals := map[string]types.AttributeValue{}
	for name, v := range map[string]int64{"customers": c.Customers, "churned": c.Churned, "renewed": c.Renewed} {
		if v != 0 {
			parts = append(parts, name+" :"+name)
			vals[":"+name] = num(v)
		}
	}
	if len(parts) == 0 {
		return nil
	}
	_, err := s.update(ctx, &dynamodb.UpdateItemInput{
		Key: key(cohortPrefix+month, "BAND#"+string(band)), UpdateExpression: aws.String("ADD " + strings.Join(parts, ", ")), ExpressionAttributeValues: vals,
	}, atMostOnce)
	if err != nil {
		return fmt.Errorf("count cohort %s: %w", month, err)
	}
	return nil
}

// CustomerEvent records that the customer of a validated event churned or
// renewed, and moves their cohort's counts. Only the latest event of a
// customer counts; it returns "" when applied, or why it was not: the
// address has never answered a survey (no cohort), or a later event is
// recorded already.
func (s *Store) CustomerEvent(ctx context.Context, ev closeloop.CustomerEvent) (string, error) {
	cid, err := s.ContactID(ev.Email)
	if err != nil {
		return "", err
	}
	res, err := s.update(ctx, &dynamodb.UpdateItemInput{
		Key:                       key(contactPK(cid), "CONTACT"),
		UpdateExpression:          aws.String("SET customer_status = :t, customer_status_at = :at"),
		ConditionExpression:       aws.String("attribute_exists(cohort) AND (attribute_not_exists(customer_status_at) OR customer_status_at < :at)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": str(ev.Type), ":at": str(ts(ev.At))},
		ReturnValues:              types.ReturnValueAllOld,
	})
	if conditionFailed(err) {
		var it struct {
			Cohort string `dynamodbav:"cohort"`
		}
		if gerr := s.get(ctx, contactPK(cid), "CONTACT", &it); gerr != nil || it.Cohort == "" {
			return "no survey answered by this address, so no cohort", nil
		}
		return "a later event of this customer is recorded already", nil
	}
	if err != nil {
		return "", fmt.Errorf("customer event: %w", err)
	}
	var old struct {
		Cohort string `dynamodbav:"cohort"`
		Band   string `dynamodbav:"cohort_band"`
		Status string `dynamodbav:"customer_status"`
	}
	if err := unmarshal(res.Attributes, &old); err != nil {
		return "", err
	}
	return "", s.addCohort(ctx, old.Cohort, closeloop.Band(old.Band), closeloop.StatusChange(old.Status, ev.Type))
}

// Retention returns the cohorts of the months from from to to, each band
// that has customers: one query a month.
func (s *Store) Retention(ctx context.Context, from, to time.Time) ([]closeloop.CohortRow, error) {
	var out []closeloop.CohortRow
	for m := time.Date(from.Year(), from.Month(), 1, 0, 0, 0, 0, time.UTC); !m.After(to); m = m.AddDate(0, 1, 0) {
		month := m.Format("2006-01")
		err := s.query(ctx, &dynamodb.QueryInput{
			KeyConditionExpression:    aws.String("pk = :p"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":p": str(cohortPrefix + month)},
		}, 0, func(it map[string]types.AttributeValue) error {
			var c closeloop.CohortCounts
			for name, v := range map[string]*int64{"customers": &c.Customers, "churned": &c.Churned, "renewed": &c.Renewed} {
				if n, ok := it[name].(*types.AttributeValueMemberN); ok {
					*v, _ = strconv.ParseInt(n.Value, 10, 64)
				}
			}
			sk, _ := it["sk"].(*types.AttributeValueMemberS)
			if sk != nil && c.Customers > 0 {
				out = append(out, c.Row(month, closeloop.Band(strings.TrimPrefix(sk.Value, "BAND#"))))
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("retention of %s: %w", month, err)
		}
	}
	return out, nil
}
