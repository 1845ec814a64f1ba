package closeloop

import (
	"cmp"
	"math"
	"strings"
)

// Counters are the additive daily totals kept for one day. Every field is a
// count or a sum, so two days add field by field and a range is the sum of
// its days: a report costs one read per day, whatever the number of
// responses. The dynamo store keeps them with atomic ADD.
type Counters struct {
	SurveysSent   int64        `json:"surveys_sent"`
	Responses     int64        `json:"responses"`
	CSATCount     int64        `json:"csat_count"`
	CSATSatisfied int64        `json:"csat_satisfied"` // ratings 4 and 5
	CSATSum       int64        `json:"csat_sum"`
	NPSCount      int64        `json:"nps_count"`
	NPSPromoters  int64        `json:"nps_promoters"`  // 9 and 10
	NPSDetractors int64        `json:"nps_detractors"` // 0 to 6
	CESCount      int64        `json:"ces_count"`
	CESSum        int64        `json:"ces_sum"`
	Unhappy       int64        `json:"unhappy"`      // answers their kind counts as a detractor's (Kind.Detractor): CSAT 1-2, NPS 0-6, CES 1-3
	ClosingSent   int64        `json:"closing_sent"` // "you said, we did" emails
	CheckInsSent  int64        `json:"checkins_sent"`
	CheckInsYes   int64        `json:"checkins_yes"` // answered "still solved"
	CheckInsNo    int64        `json:"checkins_no"`
	Answered      int64        `json:"answered"`       // surveys sent this day that have been answered since: the response rate by send date
	Solved        int64        `json:"solved"`         // tickets first solved this day
	Reopened      int64        `json:"reopened"`       // of those, reopened since
	Repeat7       int64        `json:"repeat_7d"`      // of those, followed by another ticket of the same customer within 7 days
	Repeat30      int64        `json:"repeat_30d"`     // … within 30 days
	RepeatTag7    int64        `json:"repeat_tag_7d"`  // … within 7 days, about the same thing: the tickets share a helpdesk tag
	RepeatTag30   int64        `json:"repeat_tag_30d"` // … within 30 days, sharing a tag
	Loops         LoopCounters `json:"loops"`
}

// DayCounters is one day's counters.
type DayCounters struct {
	Day string // YYYY-MM-DD, in UTC
	Counters
}

// Add returns c plus d, field by field.
func (c Counters) Add(d Counters) Counters {
	return Counters{
		SurveysSent:   c.SurveysSent + d.SurveysSent,
		Responses:     c.Responses + d.Responses,
		CSATCount:     c.CSATCount + d.CSATCount,
		CSATSatisfied: c.CSATSatisfied + d.CSATSatisfied,
		CSATSum:       c.CSATSum + d.CSATSum,
		NPSCount:      c.NPSCount + d.NPSCount,
		NPSPromoters:  c.NPSPromoters + d.NPSPromoters,
		NPSDetractors: c.NPSDetractors + d.NPSDetractors,
		CESCount:      c.CESCount + d.CESCount,
		CESSum:        c.CESSum + d.CESSum,
		Unhappy:       c.Unhappy + d.Unhappy,
		ClosingSent:   c.ClosingSent + d.ClosingSent,
		CheckInsSent:  c.CheckInsSent + d.CheckInsSent,
		CheckInsYes:   c.CheckInsYes + d.CheckInsYes,
		CheckInsNo:    c.CheckInsNo + d.CheckInsNo,
		Answered:      c.Answered + d.Answered,
		Solved:        c.Solved + d.Solved,
		Reopened:      c.Reopened + d.Reopened,
		Repeat7:       c.Repeat7 + d.Repeat7,
		Repeat30:      c.Repeat30 + d.Repeat30,
		RepeatTag7:    c.RepeatTag7 + d.RepeatTag7,
		RepeatTag30:   c.RepeatTag30 + d.RepeatTag30,
		Loops:         c.Loops.add(d.Loops, 1),
	}
}

// Sub returns c minus d, field by field.
func (c Counters) Sub(d Counters) Counters {
	return c.Add(Counters{
		SurveysSent: -d.SurveysSent, Responses: -d.Responses,
		CSATCount: -d.CSATCount, CSATSatisfied: -d.CSATSatisfied, CSATSum: -d.CSATSum,
		NPSCount: -d.NPSCount, NPSPromoters: -d.NPSPromoters, NPSDetractors: -d.NPSDetractors,
		CESCount: -d.CESCount, CESSum: -d.CESSum, Unhappy: -d.Unhappy, ClosingSent: -d.ClosingSent,
		CheckInsSent: -d.CheckInsSent, CheckInsYes: -d.CheckInsYes, CheckInsNo: -d.CheckInsNo,
		Answered: -d.Answered, Solved: -d.Solved, Reopened: -d.Reopened, Repeat7: -d.Repeat7, Repeat30: -d.Repeat30,
		RepeatTag7: -d.RepeatTag7, RepeatTag30: -d.RepeatTag30,
		Loops: LoopCounters{}.add(d.Loops, -1),
	})
}

// OnlyScores keeps the response and rating fields of c: what a theme's
// breakdown counts (a theme is known only once a response has it).
func (c Counters) OnlyScores() Counters {
	return Counters{
		Responses: c.Responses, CSATCount: c.CSATCount, CSATSatisfied: c.CSATSatisfied, CSATSum: c.CSATSum,
		NPSCount: c.NPSCount, NPSPromoters: c.NPSPromoters, NPSDetractors: c.NPSDetractors, CESCount: c.CESCount, CESSum: c.CESSum,
		Unhappy: c.Unhappy,
	}
}

// RatingCounters returns what one response with rating r to a survey of kind
// k adds to a day. The difference of two of these revises a response.
func RatingCounters(k Kind, r int) Counters {
	c := Counters{Responses: 1}
	switch k {
	case CSAT:
		c.CSATCount, c.CSATSum = 1, int64(r)
		if r >= 4 {
			c.CSATSatisfied = 1
		}
	case NPS:
		c.NPSCount = 1
		if r >= 9 {
			c.NPSPromoters = 1
		} else if r <= 6 {
			c.NPSDetractors = 1
		}
	case CES:
		c.CESCount, c.CESSum = 1, int64(r)
	}
	if k.Detractor(r) {
		c.Unhappy = 1
	}
	return c
}

// Scores are the headline figures derived from Counters. A score with no
// answers behind it is nil, which JSON shows as null rather than a false 0.
type Scores struct {
	SurveysSent  int64    `json:"surveys_sent"`
	Responses    int64    `json:"responses"`
	ResponseRate *float64 `json:"response_rate"` // of the surveys sent in the range, the share answered (by send date, so 0 to 1)
	CSAT         *float64 `json:"csat"`          // percent of CSAT answers that are 4 or 5
	CSATAverage  *float64 `json:"csat_average"`  // mean CSAT rating, 1 to 5
	NPS          *float64 `json:"nps"`           // percent promoters minus percent detractors, -100 to 100
	CES          *float64 `json:"ces"`           // mean CES rating, 1 to 7
	ClosingSent  int64    `json:"closing_sent"`  // loops closed: "you said, we did" emails sent
}

// Score derives the headline figures from c.
func (c Counters) Score() Scores {
	s := Scores{SurveysSent: c.SurveysSent, Responses: c.Responses, ClosingSent: c.ClosingSent}
	if c.SurveysSent > 0 {
		s.ResponseRate = ratio(min(c.Answered, c.SurveysSent), c.SurveysSent, 1)
	}
	if c.CSATCount > 0 {
		s.CSAT = ratio(c.CSATSatisfied, c.CSATCount, 100)
		s.CSATAverage = ratio(c.CSATSum, c.CSATCount, 1)
	}
	if c.NPSCount > 0 {
		s.NPS = ratio(c.NPSPromoters-c.NPSDetractors, c.NPSCount, 100)
	}
	if c.CESCount > 0 {
		s.CES = ratio(c.CESSum, c.CESCount, 1)
	}
	return s
}

func ratio(n, d int64, scale float64) *float64 {
	v := math.Round(float64(n)/float64(d)*scale*1000) / 1000
	return &v
}

// Breakdowns are the dimensions a report can be broken down by, and
// filtered by: one at a time (GET /api/metrics?source=…, &breakdown=…).
var Breakdowns = []string{"source", "agent", "kind", "theme"}

// Dims names the breakdowns one count belongs to; empty fields name none.
type Dims struct {
	Source string
	Agent  string // the agent's address, or their name when the helpdesk gives no address
	Kind   Kind
	Themes []string
}

// SurveyDims are the breakdowns of survey sv's counts.
func SurveyDims(sv Survey) Dims {
	return Dims{Source: sv.Source, Agent: cmp.Or(sv.AgentEmail, sv.AgentName), Kind: sv.Kind, Themes: sv.Themes}
}

// Keys returns the dimension keys of d ("source#zendesk", "agent#…",
// "kind#csat", "theme#…"), each at most 300 bytes.
func (d Dims) Keys() []string {
	var out []string
	add := func(name, v string) {
		if v = DimValue(v); v != "" {
			out = append(out, name+"#"+v)
		}
	}
	add("source", d.Source)
	add("agent", d.Agent)
	add("kind", string(d.Kind))
	for _, t := range d.Themes {
		add("theme", t)
	}
	return out
}

// DimValue is how a dimension's value is kept and asked for: trimmed,
// lower-case, at most 256 bytes.
func DimValue(v string) string {
	v = strings.ToLower(strings.TrimSpace(v))
	if len(v) > 256 {
		v = strings.ToValidUTF8(v[:256], "")
	}
	return v
}
