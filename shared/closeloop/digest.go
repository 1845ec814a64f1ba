package closeloop

import (
	"cmp"
	"slices"
	"time"
)

// Digest is the team's weekly summary: last week's figures against the
// week before, what customers raised most, who still waits for a person,
// and how many loops were closed.
type Digest struct {
	WeekStart, WeekEnd string // Monday and Sunday, YYYY-MM-DD in the team's zone
	This, Prev         Scores
	ThisLoops          LoopFigures
	Themes             []ThemeCount // most raised first, at most 5
	Complaints         []ThemeCount // themes of unhappy answers, most first, at most 5
	AwaitingFollowUp   int          // open follow-up cases now
	Warning            string       // CSAT and NPS moving apart, in plain words; empty when they do not
}

// ThemeCount is one theme's responses in a week, and how many were unhappy.
type ThemeCount struct {
	Theme     string
	Responses int64
	Unhappy   int64 // CSAT 1-3 and NPS detractors
}

// DigestWeek returns the Monday and Sunday of the week before the one
// holding now, in zone, as dates (midnight UTC of each).
func DigestWeek(now time.Time, zone *time.Location) (monday, sunday time.Time) {
	t := now.In(zone)
	today := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	back := (int(today.Weekday()) + 6) % 7 // days since Monday
	monday = today.AddDate(0, 0, -back-7)
	return monday, monday.AddDate(0, 0, 6)
}

// NewDigest builds the digest of the week [monday, monday+6] from its
// counters, the week before's, the week's counters per theme, and the
// number of open cases.
func NewDigest(monday time.Time, this, prev Counters, themes map[string]Counters, open int) Digest {
	d := Digest{
		WeekStart: monday.Format(time.DateOnly), WeekEnd: monday.AddDate(0, 0, 6).Format(time.DateOnly),
		This: this.Score(), Prev: prev.Score(), ThisLoops: this.Figures(), AwaitingFollowUp: open,
	}
	for name, c := range themes {
		// (Never below 0: a day before the counter existed may hold a
		// revision that took back an answer it never counted.)
		tc := ThemeCount{Theme: name, Responses: c.Responses, Unhappy: max(0, c.Unhappy)}
		if tc.Responses > 0 {
			d.Themes = append(d.Themes, tc)
		}
		if tc.Unhappy > 0 {
			d.Complaints = append(d.Complaints, tc)
		}
	}
	slices.SortFunc(d.Themes, func(a, b ThemeCount) int {
		return cmp.Or(cmp.Compare(b.Responses, a.Responses), cmp.Compare(a.Theme, b.Theme))
	})
	slices.SortFunc(d.Complaints, func(a, b ThemeCount) int {
		return cmp.Or(cmp.Compare(b.Unhappy, a.Unhappy), cmp.Compare(a.Theme, b.Theme))
	})
	d.Themes, d.Complaints = d.Themes[:min(5, len(d.Themes))], d.Complaints[:min(5, len(d.Complaints))]
	if moves := func(a, b *float64) float64 {
		if a == nil || b == nil {
			return 0
		}
		return *a - *b
	}; moves(d.This.CSAT, d.Prev.CSAT)*moves(d.This.NPS, d.Prev.NPS) < 0 {
		if moves(d.This.CSAT, d.Prev.CSAT) > 0 {
			d.Warning = "CSAT rose while NPS fell: single tickets go well, but customers like the product or the relationship less. Look at the themes of the detractors."
		} else {
			d.Warning = "CSAT fell while NPS rose: customers still like you, but recent tickets went worse. Look at this week's unhappy answers and their agents."
		}
	}
	return d
}
