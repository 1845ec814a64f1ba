package closeloop

import (
	"math"
	"time"
)

// HourBuckets are the upper bounds, in hours, of the buckets that time to
// first contact and time to "you said, we did" are counted in; the last
// bucket holds everything longer. A median read from buckets is the upper
// bound of the bucket that holds it.
var HourBuckets = [...]float64{1, 2, 4, 8, 24, 48, 72, 168, 336, 720}

// Hist counts durations by HourBuckets (one more bucket for longer ones).
type Hist [len(HourBuckets) + 1]int64

// HistOf returns the histogram of one duration d.
func HistOf(d time.Duration) Hist {
	var h Hist
	h[len(HourBuckets)] = 1
	for i, b := range HourBuckets {
		if d.Hours() <= b {
			h[len(HourBuckets)] = 0
			h[i] = 1
			break
		}
	}
	return h
}

// Median returns the upper bound of the bucket holding the median, in
// hours (the last bound for the open bucket), or nil for an empty histogram.
func (h Hist) Median() *float64 {
	var n int64
	for _, c := range h {
		n += c
	}
	if n == 0 {
		return nil
	}
	var seen int64
	for i, c := range h {
		seen += c
		if 2*seen >= n {
			v := HourBuckets[min(i, len(HourBuckets)-1)]
			return &v
		}
	}
	return nil
}

// LoopCounters are the daily counters of the loop-closure figures, kept with
// atomic ADDs like the rest, so reports cost one read per day. Each is
// counted on the day of what started it: the answer, or the case's opening.
type LoopCounters struct {
	Detractors          int64 `json:"detractors"`           // cases opened for unhappy answers
	DetractorsContacted int64 `json:"detractors_contacted"` // of those, reached by a person or a "you said, we did" email
	ContactHours        Hist  `json:"contact_hours"`        // from opening to first contact
	ThemeRaisers        int64 `json:"theme_raisers"`        // responses that carry a theme
	ThemeRaisersTold    int64 `json:"theme_raisers_told"`   // of those, told what changed
	ToldHours           Hist  `json:"told_hours"`           // from the answer to the first "you said, we did"
	ScoreToldSum        int64 `json:"score_told_sum"`       // next answer minus this one, in thousandths of the scale, told in between
	ScoreToldN          int64 `json:"score_told_n"`
	ScoreNotToldSum     int64 `json:"score_not_told_sum"`
	ScoreNotToldN       int64 `json:"score_not_told_n"`
}

func (c LoopCounters) add(d LoopCounters, sign int64) LoopCounters {
	out := LoopCounters{
		Detractors: c.Detractors + sign*d.Detractors, DetractorsContacted: c.DetractorsContacted + sign*d.DetractorsContacted,
		ThemeRaisers: c.ThemeRaisers + sign*d.ThemeRaisers, ThemeRaisersTold: c.ThemeRaisersTold + sign*d.ThemeRaisersTold,
		ScoreToldSum: c.ScoreToldSum + sign*d.ScoreToldSum, ScoreToldN: c.ScoreToldN + sign*d.ScoreToldN,
		ScoreNotToldSum: c.ScoreNotToldSum + sign*d.ScoreNotToldSum, ScoreNotToldN: c.ScoreNotToldN + sign*d.ScoreNotToldN,
	}
	for i := range out.ContactHours {
		out.ContactHours[i] = c.ContactHours[i] + sign*d.ContactHours[i]
		out.ToldHours[i] = c.ToldHours[i] + sign*d.ToldHours[i]
	}
	return out
}

// ScoreChange returns the counters of one customer's next answer of a kind:
// the change from this rating to next as a share of the scale, in the told
// or not-told group.
func ScoreChange(k Kind, this, next int, told bool) LoopCounters {
	lo, hi := k.Scale()
	milli := int64(math.Round(float64(next-this) / float64(hi-lo) * 1000))
	if told {
		return LoopCounters{ScoreToldSum: milli, ScoreToldN: 1}
	}
	return LoopCounters{ScoreNotToldSum: milli, ScoreNotToldN: 1}
}

// Figures turns summed counters into the loop-closure figures; figures with
// nothing behind them are nil, counts are never nil.
func (c Counters) Figures() LoopFigures {
	l := c.Loops
	f := LoopFigures{Detractors: l.Detractors, DetractorsContacted: l.DetractorsContacted}
	if l.Detractors > 0 {
		r := round3(float64(l.DetractorsContacted) / float64(l.Detractors))
		f.DetractorsContactRate = &r
	}
	f.MedianHoursToContact = l.ContactHours.Median()
	raisers, told := l.ThemeRaisers, l.ThemeRaisersTold
	f.ThemeRaisers, f.ThemeRaisersTold = &raisers, &told
	f.MedianHoursToTold = l.ToldHours.Median()
	sent := c.CheckInsSent
	f.CheckinsSent = &sent
	if n := c.CheckInsYes + c.CheckInsNo; n > 0 {
		r := round3(float64(c.CheckInsYes) / float64(n))
		f.CheckinsStillSolved = &r
	}
	if c.Solved > 0 {
		reopen, r7, r30 := round3(float64(c.Reopened)/float64(c.Solved)), round3(float64(c.Repeat7)/float64(c.Solved)), round3(float64(c.Repeat30)/float64(c.Solved))
		f.ReopenRate, f.RepeatContactRate7d, f.RepeatContactRate30d = &reopen, &r7, &r30
		t7, t30 := round3(float64(c.RepeatTag7)/float64(c.Solved)), round3(float64(c.RepeatTag30)/float64(c.Solved))
		f.RepeatSameTagRate7d, f.RepeatSameTagRate30d = &t7, &t30
	}
	if l.ScoreToldN > 0 {
		v := round3(float64(l.ScoreToldSum) / 1000 / float64(l.ScoreToldN))
		f.ScoreChangeTold = &v
	}
	if l.ScoreNotToldN > 0 {
		v := round3(float64(l.ScoreNotToldSum) / 1000 / float64(l.ScoreNotToldN))
		f.ScoreChangeNotTold = &v
	}
	return f
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }
