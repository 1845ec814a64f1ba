package dynamo

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/closeloop/closeloop/shared/closeloop"
)

// Follow-up cases live in one partition (detractors are few), keyed by
// their survey's id, so one answer can open one case; alert and reply
// claims sit beside each case.
const (
	casesPK   = "CASES"
	caseSK    = "CASE#"
	claimPK   = "CLAIM#"
	caseLimit = 10000 // cases read for the figures of one range
)

type noteItem struct {
	At   string `dynamodbav:"at"`
	By   string `dynamodbav:"by"`
	Text string `dynamodbav:"text"`
}

type caseItem struct {
	PK          string     `dynamodbav:"pk"`
	SK          string     `dynamodbav:"sk"`
	ID          string     `dynamodbav:"id"`
	ContactKey  string     `dynamodbav:"contact_key,omitempty"` // by_contact index, for erasure
	Source      string     `dynamodbav:"source"`
	TicketID    string     `dynamodbav:"ticket_id"`
	Kind        string     `dynamodbav:"kind"`
	Rating      int        `dynamodbav:"rating"`
	Reason      string     `dynamodbav:"reason,omitempty"`
	Status      string     `dynamodbav:"case_status"`
	Owner       string     `dynamodbav:"owner,omitempty"`
	Notes       []noteItem `dynamodbav:"notes,omitempty"`
	OpenedAt    string     `dynamodbav:"opened_at"`
	DueAt       string     `dynamodbav:"due_at_case"`
	ContactedAt string     `dynamodbav:"contacted_at,omitempty"`
	ResolvedAt  string     `dynamodbav:"resolved_at,omitempty"`
	Nonce       string     `dynamodbav:"nonce,omitempty"`              // the opener's: a case whose answer was lost is known as its own (putClaim)
	NoteIDs     []string   `dynamodbav:"note_ids,stringset,omitempty"` // one a note, so that a retried append adds it once
}

func (it caseItem) toCase() closeloop.Case {
	c := closeloop.Case{
		ID: it.ID, SurveyID: surveyOfCase(it.ID), ContactID: it.ContactKey, Source: it.Source, TicketID: it.TicketID, Kind: closeloop.Kind(it.Kind),
		Rating: it.Rating, Reason: it.Reason, Status: closeloop.CaseStatus(it.Status), Owner: it.Owner, OpenedAt: parseTS(it.OpenedAt),
		DueAt: parseTS(it.DueAt), ContactedAt: parseTS(it.ContactedAt), ResolvedAt: parseTS(it.ResolvedAt), Notes: []closeloop.Note{},
	}
	for _, n := range it.Notes {
		c.Notes = append(c.Notes, closeloop.Note{At: parseTS(n.At), By: n.By, Text: n.Text})
	}
	return c
}

// OpenCase stores case c if its survey has none yet; a second opening (a
// revised or repeated answer) is an error wrapping closeloop.ErrDuplicate.
func (s *Store) OpenCase(ctx context.Context, c closeloop.Case) error {
	it := caseItem{PK: casesPK, SK: caseSK + c.ID, ID: c.ID, ContactKey: c.ContactID, Source: c.Source, TicketID: c.TicketID,
		Kind: string(c.Kind), Rating: c.Rating, Reason: c.Reason, Status: string(c.Status), Owner: c.Owner, OpenedAt: ts(c.OpenedAt), DueAt: ts(c.DueAt), Nonce: closeloop.NewID()}
	// With its opener's nonce: one whose answer was lost is known as this
	// answer's (putClaim), so its alert is still queued.
	err := s.putClaim(ctx, it, "attribute_not_exists(pk)", nil, nil)
	if conditionFailed(err) {
		return fmt.Errorf("open case %s: %w", c.ID, closeloop.ErrDuplicate)
	}
	if err != nil {
		return fmt.Errorf("open case %s: %w", c.ID, err)
	}
	return nil
}

// countContact counts the first contact of case it (its contacted time was
// set to now by the write that returned it) on the day it opened.
func (s *Store) countContact(ctx context.Context, it caseItem, now time.Time) error {
	c, opened := contactCounts(it, now)
	return s.AddCounters(ctx, opened, c)
}

// contactCounts is what the first contact of case it adds to the
// counters, and a time on the day it counts on (the case's opening); zero
// counters when the write that returned it was not the first contact, or
// the case is no detractor's.
func contactCounts(it caseItem, now time.Time) (closeloop.Counters, time.Time) {
	if it.ContactedAt != ts(now) || it.Reason != "" {
		return closeloop.Counters{}, time.Time{}
	}
	opened := parseTS(it.OpenedAt)
	return closeloop.Counters{Loops: closeloop.LoopCounters{DetractorsContacted: 1, ContactHours: closeloop.HistOf(now.Sub(opened))}}, opened
}

// GetCase returns case id, or an error wrapping closeloop.ErrNotFound.
func (s *Store) GetCase(ctx context.Context, id string) (closeloop.Case, error) {
	var it caseItem
	if err := s.get(ctx, casesPK, caseSK+id, &it); err != nil {
		return closeloop.Case{}, fmt.Errorf("get case %s: %w", id, err)
	}
	return it.toCase(), nil
}

// Cases returns the cases with status (every case when empty), newest
// first. It reads the whole CASES partition, in key order (by survey id,
// not by time), until caseLimit cases match: past that many, the list is
// the first caseLimit by survey id, sorted, not the newest ones.
func (s *Store) Cases(ctx context.Context, status closeloop.CaseStatus) ([]closeloop.Case, error) {
	in := &dynamodb.QueryInput{
		KeyConditionExpression:    aws.String("pk = :p AND begins_with(sk, :c)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": str(casesPK), ":c": str(caseSK)},
	}
	if status != "" {
		in.FilterExpression = aws.String("case_status = :s")
		in.ExpressionAttributeValues[":s"] = str(string(status))
	}
	var out []closeloop.Case
	err := s.query(ctx, in, caseLimit, func(m map[string]types.AttributeValue) error {
		var it caseItem
		if err := unmarshal(m, &it); err != nil {
			return err
		}
		out = append(out, it.toCase())
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list cases: %w", err)
	}
	sortCases(out)
	return out, nil
}

func sortCases(cs []closeloop.Case) {
	slices.SortStableFunc(cs, func(a, b closeloop.Case) int { return b.OpenedAt.Compare(a.OpenedAt) })
}

// UpdateCase applies change to case id as operator by at now: a status
// (contacted and resolved set their time once), an owner, a note appended
// to the log. It returns the case as stored.
func (s *Store) UpdateCase(ctx context.Context, id string, change closeloop.CaseChange, by string, now time.Time) (closeloop.Case, error) {
	expr := "SET updated_at = :now"
	vals := map[string]types.AttributeValue{":now": str(ts(now))}
	names := map[string]string{}
	if change.Status != "" {
		expr += ", case_status = :s"
		vals[":s"] = str(string(change.Status))
		switch change.Status {
		case closeloop.CaseContacted:
			expr += ", contacted_at = if_not_exists(contacted_at, :now)"
		case closeloop.CaseResolved:
			expr += ", resolved_at = if_not_exists(resolved_at, :now), contacted_at = if_not_exists(contacted_at, :now)"
		}
	}
	if change.Owner != nil {
		expr += ", #o = :o"
		names["#o"] = "owner"
		vals[":o"] = str(*change.Owner)
	}
	if change.Note != "" {
		note, err := marshalNote(noteItem{At: ts(now), By: by, Text: change.Note})
		if err != nil {
			return closeloop.Case{}, err
		}
		expr += ", notes = list_append(if_not_exists(notes, :empty), :n)"
		vals[":n"] = note
		vals[":empty"] = &types.AttributeValueMemberL{Value: []types.AttributeValue{}}
	}
	cond := "attribute_exists(pk)"
	noteID := ""
	if change.Note != "" {
		// Appending is not idempotent: each note carries an id, and an
		// update whose note is there already (the SDK sending it again
		// after its answer was lost) changes nothing.
		noteID = closeloop.NewID()
		expr += " ADD note_ids :nid"
		cond += " AND NOT contains(note_ids, :nids)"
		vals[":nid"] = &types.AttributeValueMemberSS{Value: []string{noteID}}
		vals[":nids"] = str(noteID)
	}
	in := &dynamodb.UpdateItemInput{
		Key: key(casesPK, caseSK+id), UpdateExpression: &expr, ExpressionAttributeValues: vals,
		ConditionExpression: &cond, ReturnValues: types.ReturnValueAllNew,
	}
	if len(names) > 0 {
		in.ExpressionAttributeNames = names
	}
	res, err := s.update(ctx, in)
	if conditionFailed(err) {
		var it caseItem
		if noteID != "" && s.get(ctx, casesPK, caseSK+id, &it) == nil && slices.Contains(it.NoteIDs, noteID) {
			if err := s.countContact(ctx, it, now); err != nil {
				return closeloop.Case{}, err
			}
			return it.toCase(), nil
		}
		return closeloop.Case{}, closeloop.Errorf(closeloop.ErrNotFound, "no case %s", id)
	}
	if tooLarge(err) {
		return closeloop.Case{}, closeloop.Errorf(closeloop.ErrInvalid, "case %s holds as many notes and replies as it can (400 KB): nothing was added; write a shorter one, or keep the conversation in the helpdesk ticket", id)
	}
	if err != nil {
		return closeloop.Case{}, fmt.Errorf("update case %s: %w", id, err)
	}
	var it caseItem
	if err := unmarshal(res.Attributes, &it); err != nil {
		return closeloop.Case{}, err
	}
	if err := s.countContact(ctx, it, now); err != nil {
		return closeloop.Case{}, err
	}
	return it.toCase(), nil
}

func marshalNote(n noteItem) (types.AttributeValue, error) {
	return &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
		"at": str(n.At), "by": str(n.By), "text": str(n.Text),
	}}}}, nil
}

// MarkContacted records that the customer of case id was reached at now
// (a "you said, we did" email), if the case exists and was still open. It
// writes no counters: it returns what the first contact adds to them, and
// a time on the day they count on, for the caller to add with its own in
// one write (zero when the case was not open, or not a detractor's).
func (s *Store) MarkContacted(ctx context.Context, id string, now time.Time) (closeloop.Counters, time.Time, error) {
	res, err := s.update(ctx, &dynamodb.UpdateItemInput{
		Key:                       key(casesPK, caseSK+id),
		UpdateExpression:          aws.String("SET case_status = :c, contacted_at = if_not_exists(contacted_at, :now)"),
		ConditionExpression:       aws.String("case_status = :o"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":c": str(string(closeloop.CaseContacted)), ":o": str(string(closeloop.CaseOpen)), ":now": str(ts(now))},
		ReturnValues:              types.ReturnValueAllNew,
	})
	if conditionFailed(err) {
		return closeloop.Counters{}, time.Time{}, nil
	}
	if err != nil {
		return closeloop.Counters{}, time.Time{}, fmt.Errorf("mark case %s contacted: %w", id, err)
	}
	var it caseItem
	if err := unmarshal(res.Attributes, &it); err != nil {
		return closeloop.Counters{}, time.Time{}, err
	}
	c, day := contactCounts(it, now)
	return c, day, nil
}

// CaseStatuses returns the follow-up status of the cases of the given
// survey ids that have one, read in batches (listings and exports).
func (s *Store) CaseStatuses(ctx context.Context, ids []string) (map[string]closeloop.CaseStatus, error) {
	out := map[string]closeloop.CaseStatus{}
	keys := make([]map[string]types.AttributeValue, 0, len(ids))
	seen := map[string]bool{}
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			keys = append(keys, key(casesPK, caseSK+id))
		}
	}
	err := s.batchGet(ctx, keys, false, func(m map[string]types.AttributeValue) error {
		var it caseItem
		if err := unmarshal(m, &it); err != nil {
			return err
		}
		out[it.ID] = closeloop.CaseStatus(it.Status)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("case statuses: %w", err)
	}
	return out, nil
}

// Claim takes the one-time job name (such as "alert/slack/<case>") with a
// conditional put; a job claimed already is an error wrapping
// closeloop.ErrDuplicate.
func (s *Store) Claim(ctx context.Context, name string, now time.Time) error {
	it := struct {
		PK    string `dynamodbav:"pk"`
		SK    string `dynamodbav:"sk"`
		At    string `dynamodbav:"at"`
		TTL   int64  `dynamodbav:"expires_ttl"`
		Nonce string `dynamodbav:"nonce"` // the claimer's: a claim whose answer was lost is known as its own (put)
	}{claimPK + name, "CLAIM", ts(now), now.Add(400 * 24 * time.Hour).Unix(), closeloop.NewID()}
	err := s.putClaim(ctx, it, "attribute_not_exists(pk)", nil, nil)
	if conditionFailed(err) {
		return fmt.Errorf("claim %s: %w", name, closeloop.ErrDuplicate)
	}
	if err != nil {
		return fmt.Errorf("claim %s: %w", name, err)
	}
	return nil
}

// Release gives job name back after a failure that did nothing, so a retry
// can claim it.
func (s *Store) Release(ctx context.Context, name string) error {
	if err := s.del(ctx, claimPK+name, "CLAIM"); err != nil {
		return fmt.Errorf("release %s: %w", name, err)
	}
	return nil
}

// surveyOfCase is the survey a case answers: its own id, except for a
// check-in's case, which has none.
func surveyOfCase(id string) string {
	if strings.HasPrefix(id, "checkin-") {
		return ""
	}
	return id
}
