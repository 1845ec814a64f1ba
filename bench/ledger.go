package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// A ledger entry is one DynamoDB call of the capacity run: the step it
// belongs to, what items it touched (itemKind), and the units it used.
type ledgerEntry struct {
	step, op, kind string
	r, w, ix       float64 // read and table write units as the server reports them, index write units as counted
}

// itemKind names the kind of item pk and sk key, as docs/data-model.md
// lists them.
func itemKind(pk, sk string) string {
	prefix, rest, _ := strings.Cut(pk, "#")
	switch prefix {
	case "DAY":
		if dim, _, ok := strings.Cut(strings.TrimPrefix(sk, "COUNTERS#"), "#"); ok {
			return "breakdown counters (" + dim + ")"
		}
		return "day counters"
	case "IMPROVEMENT":
		switch {
		case strings.HasPrefix(sk, "TO#"):
			return "closing claim"
		case strings.HasPrefix(sk, "BATCH#"):
			return "fan-out batch progress"
		}
		return "improvement"
	case "THEME":
		return "theme link"
	case "CLAIM":
		job, _, _ := strings.Cut(rest, "/")
		return "one-time claim (" + job + ")"
	}
	if name, ok := kindNames[prefix]; ok {
		return name
	}
	return strings.ToLower(prefix)
}

// kindNames names the kinds whose key prefix reads poorly.
var kindNames = map[string]string{
	"CHECKIN": "check-in", "SENDRATE": "sending rate", "CASES": "follow-up case", "AUDIT": "audit entry",
	"IMPROVEMENTS": "improvement listing", "THEMES": "themes", "COHORT": "cohort counts",
}

// requestKind names the kind of item a DynamoDB request body names: its
// key or item, a query's partition (or index), a batch's keys.
func requestKind(op string, body []byte) string {
	var in struct {
		Key, Item                 map[string]map[string]any
		IndexName                 string
		ExpressionAttributeValues map[string]map[string]any
		KeyConditionExpression    string
		RequestItems              map[string]struct{ Keys []map[string]map[string]any }
	}
	if json.Unmarshal(body, &in) != nil {
		return "unknown"
	}
	s := func(m map[string]map[string]any, name string) string { v, _ := m[name]["S"].(string); return v }
	switch op {
	case "Query":
		if in.IndexName != "" {
			return "index " + in.IndexName
		}
		// The partition is the value compared with pk.
		if m := pkCondition.FindStringSubmatch(in.KeyConditionExpression); m != nil {
			pk, _ := in.ExpressionAttributeValues[m[1]]["S"].(string)
			return itemKind(pk, "")
		}
		return "query"
	case "BatchGetItem":
		var kinds []string
		for _, t := range in.RequestItems {
			for _, k := range t.Keys {
				if kind := itemKind(s(k, "pk"), s(k, "sk")); !slices.Contains(kinds, kind) {
					kinds = append(kinds, kind)
				}
			}
		}
		slices.Sort(kinds)
		return "batch read: " + strings.Join(kinds, ", ")
	}
	k := in.Key
	if k == nil {
		k = in.Item
	}
	return itemKind(s(k, "pk"), s(k, "sk"))
}

// pkCondition finds the value a key condition compares the table's pk
// with (not day_pk's or due_pk's).
var pkCondition = regexp.MustCompile(`(?:^|[\s(])pk = (:\w+)`)

// isRead tells the read operations from the writes.
func isRead(op string) bool {
	return op == "GetItem" || op == "Query" || op == "Scan" || op == "BatchGetItem"
}

// consumedUnits reads the capacity a DynamoDB answer reports (one
// ConsumedCapacity, or a list for batches): reads for read operations,
// writes for the others.
func consumedUnits(op string, body []byte) (r, w float64) {
	type cc struct{ CapacityUnits, ReadCapacityUnits, WriteCapacityUnits float64 }
	var one struct{ ConsumedCapacity json.RawMessage }
	if json.Unmarshal(body, &one) != nil || len(one.ConsumedCapacity) == 0 {
		return 0, 0
	}
	var list []cc
	if json.Unmarshal(one.ConsumedCapacity, &list) != nil {
		var c cc
		if json.Unmarshal(one.ConsumedCapacity, &c) != nil {
			return 0, 0
		}
		list = []cc{c}
	}
	read := isRead(op)
	for _, c := range list {
		switch {
		case c.ReadCapacityUnits != 0 || c.WriteCapacityUnits != 0:
			r += c.ReadCapacityUnits
			w += c.WriteCapacityUnits
		case read:
			r += c.CapacityUnits
		default:
			w += c.CapacityUnits
		}
	}
	return r, w
}

// whyItem says what each kind of item is for in one loop, and what
// writing it less would cost: the ledger's notes.
var whyItem = map[string]string{
	"ticket":                      "the ticket's schedule: stored at the solve (entering the due and by_contact indexes), claimed by the sweep and given its outcome (versioned, so a reopen or a second sweep instance never sends twice); the claim moves it in the due index to its lease's end, the outcome to its reminder's time (2 index writes each)",
	"contact":                     "the person: address and name at the solve, their repeat-contact solve, the fatigue slot the sweep takes (conditional, so nobody is surveyed twice in the window), their last answer (the score change after being told)",
	"check-in":                    "the check-in a week after the solve, scheduled with it (due and by_contact indexes)",
	"survey":                      "the survey (created conditionally, so one email per survey), its answer (enters by_day, projected whole for listing and export), the themes the operator sets on it, and the closing email's outcome on it (once per improvement)",
	"day counters":                "the day's totals behind every report: solves, surveys sent, answers, detractors, loops closed; one atomic ADD per event (and one per case opened: the case is opened after the answer is stored, and imported answers open none), so reports read one item per day; the closing batch adds its emails, loops closed and cases contacted in one write a day",
	"breakdown counters (source)": "the same counters per helpdesk, for ?source= and breakdown=source: one more ADD for the solve, the survey sent and the answer (the case's and the closing batch's counts have no breakdown)",
	"breakdown counters (kind)":   "the same counters per survey kind, for breakdown=kind",
	"breakdown counters (agent)":  "the same counters per agent, for breakdown=agent",
	"breakdown counters (theme)":  "the answer's scores per theme it raises, for breakdown=theme",
	"sending rate":                "the account-wide sending limiter, shared by every sender: each ADD takes a fortieth of a second's quota, which at the bench's 14 a second is one email",
	"cohort counts":               "retention by cohort: the person's first answer counted in their month's band",
	"theme link":                  "the response's membership of its theme (the fan-out's audience), written when the keyword matches and again when the operator sets the theme",
	"follow-up case":              "the follow-up case of the detractor answer (one per answer, conditional), marked contacted by the closing email",
	"audit entry":                 "the audit log of operators' actions (setting a theme, announcing an improvement)",
	"improvement":                 "the announcement itself",
	"improvement listing":         "the improvements listing entry (newest first, without a scan)",
	"closing claim":               "the claim that makes each \"you said, we did\" email go once per person (conditional put; by_contact for erasure)",
	"fan-out batch progress":      "the batch's tally, the improvement's progress in the console",
	"one-time claim (ack)":        "the claim that sends the comment's acknowledgement once",
	"index due":                   "the sweep's query for due tickets (four shards, one read each)",
	"batch read: closing claim, contact, improvement, survey": "the fan-out batch's one read of every response, person and claim it needs",
	"themes": "the themes: read (eventually consistent) to tag an answer by keyword, and by the operator's setting of a theme and announcement, which check the theme exists",
}

// ledgerFigures sums the entries of the loop's steps by kind of item,
// dearest first.
func ledgerFigures(entries []ledgerEntry, inLoop func(step string) bool) []Figure {
	type sum struct {
		reads, writes int
		r, w, ix      float64
		steps         []string
	}
	by := map[string]*sum{}
	var kinds []string
	for _, e := range entries {
		if !inLoop(e.step) {
			continue
		}
		s := by[e.kind]
		if s == nil {
			s = &sum{}
			by[e.kind] = s
			kinds = append(kinds, e.kind)
		}
		if isRead(e.op) {
			s.reads++
		} else {
			s.writes++
		}
		s.r, s.w, s.ix = s.r+e.r, s.w+e.w, s.ix+e.ix
		step, _, _ := strings.Cut(e.step, ":")
		if !slices.Contains(s.steps, step) {
			s.steps = append(s.steps, step)
		}
	}
	slices.SortStableFunc(kinds, func(a, b string) int {
		ua, ub := by[a].w+by[a].ix+by[a].r*priceRRU/priceWRU, by[b].w+by[b].ix+by[b].r*priceRRU/priceWRU // a read unit costs a fifth of a write's
		switch {
		case ua > ub:
			return -1
		case ua < ub:
			return 1
		}
		return strings.Compare(a, b)
	})
	var out []Figure
	for _, k := range kinds {
		s := by[k]
		var parts []string
		if s.writes > 0 {
			parts = append(parts, fmt.Sprintf("%d write(s): %.1f WCU + %.1f index WCU", s.writes, s.w, s.ix))
		}
		if s.reads > 0 {
			parts = append(parts, fmt.Sprintf("%d read(s): %.1f RCU", s.reads, s.r))
		}
		note := "in " + strings.Join(s.steps, ", ")
		if why := whyItem[k]; why != "" {
			note += "; " + why
		}
		out = append(out, Figure{Section: "ledger", Name: k, Value: strings.Join(parts, "; "), Note: note})
	}
	return out
}
