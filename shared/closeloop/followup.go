package closeloop

import (
	"math"
	"slices"
	"strings"
	"time"
)

// CaseStatus is where a detractor's follow-up is.
type CaseStatus string

// The statuses of a follow-up case, in the order they usually come.
const (
	CaseOpen      CaseStatus = "open"      // nobody has reached the customer yet
	CaseContacted CaseStatus = "contacted" // a person replied, or a "you said, we did" email went
	CaseResolved  CaseStatus = "resolved"  // the team is done with it
)

// ParseCaseStatus returns the status named s, or an error wrapping
// ErrInvalid.
func ParseCaseStatus(s string) (CaseStatus, error) {
	switch c := CaseStatus(s); c {
	case CaseOpen, CaseContacted, CaseResolved:
		return c, nil
	}
	return "", Errorf(ErrInvalid, "status %q is not open, contacted or resolved", s)
}

// FollowUpDue is how soon after a detractor's answer the team should have
// reached them.
const FollowUpDue = 24 * time.Hour

// MaxNote is the longest note or personal reply accepted, in bytes.
const MaxNote = 5000

// Case is the follow-up of one unhappy answer. Its id is the survey's: one
// answer, however often revised or posted, opens one case. It holds ids, a
// note log and times; the customer's words stay on the survey.
type Case struct {
	ID          string     `json:"id"`
	SurveyID    string     `json:"survey_id"`
	ContactID   string     `json:"-"`
	Source      string     `json:"source"`
	TicketID    string     `json:"ticket_id"`
	Kind        Kind       `json:"kind"`
	Rating      int        `json:"rating"`
	Reason      string     `json:"reason,omitempty"` // why a case that is not a survey answer was opened (a check-in's "no")
	Status      CaseStatus `json:"status"`
	Owner       string     `json:"owner"` // an operator's address; empty while unassigned
	Notes       []Note     `json:"notes"`
	OpenedAt    time.Time  `json:"opened_at"`
	DueAt       time.Time  `json:"due_at"`
	ContactedAt time.Time  `json:"contacted_at,omitzero"`
	ResolvedAt  time.Time  `json:"resolved_at,omitzero"`
}

// Note is one line of a case's log.
type Note struct {
	At   time.Time `json:"at"`
	By   string    `json:"by"`
	Text string    `json:"text"`
}

// NewCase opens the case of detractor answer sv at now, owned by owner
// (the ticket's agent when that agent is an operator, else empty).
func NewCase(sv Survey, owner string, now time.Time) Case {
	return Case{
		ID: sv.ID, SurveyID: sv.ID, ContactID: sv.ContactID, Source: sv.Source, TicketID: sv.TicketID, Kind: sv.Kind,
		Rating: *sv.Rating, Status: CaseOpen, Owner: owner, OpenedAt: now, DueAt: now.Add(FollowUpDue),
	}
}

// NewCheckInCase opens the case of a check-in answered "no" at now.
func NewCheckInCase(ci CheckIn, owner string, now time.Time) Case {
	return Case{
		ID: CheckInCaseID(ci.ID), ContactID: ci.ContactID, Source: ci.Source, TicketID: ci.TicketID,
		Reason: "check-in: not solved", Status: CaseOpen, Owner: owner, OpenedAt: now, DueAt: now.Add(FollowUpDue),
	}
}

// CheckInCaseID is the case id of check-in id's "no": one case however
// often it is answered.
func CheckInCaseID(id string) string { return "checkin-" + SurveyIDOf("checkin#"+id) }

// CaseChange is what an operator changes on a case; empty fields stay.
type CaseChange struct {
	Status CaseStatus
	Owner  *string // "" unassigns
	Note   string
}

// Validate checks a change, with a reason.
func (c CaseChange) Validate() error {
	if c.Status != "" {
		if _, err := ParseCaseStatus(string(c.Status)); err != nil {
			return err
		}
	}
	if c.Owner != nil && *c.Owner != "" {
		if _, err := NormalizeEmail(*c.Owner); err != nil {
			return Errorf(ErrInvalid, "owner: %v", err)
		}
	}
	if len(c.Note) > MaxNote {
		return Errorf(ErrInvalid, "note is longer than %d bytes", MaxNote)
	}
	if c.Status == "" && c.Owner == nil && strings.TrimSpace(c.Note) == "" {
		return Errorf(ErrInvalid, "nothing to change: give status, owner or note")
	}
	return nil
}

// LoopFigures are the loop-closure figures of a range: who was unhappy and
// whether and how fast a person reached them.
type LoopFigures struct {
	Detractors            int64    `json:"detractors"`
	DetractorsContacted   int64    `json:"detractors_contacted"`
	MedianHoursToContact  *float64 `json:"median_hours_to_contact"`
	ThemeRaisers          *int64   `json:"theme_raisers"`
	ThemeRaisersTold      *int64   `json:"theme_raisers_told"`
	MedianHoursToTold     *float64 `json:"median_hours_to_told"`
	CheckinsSent          *int64   `json:"checkins_sent"`
	CheckinsStillSolved   *float64 `json:"checkins_still_solved"`
	ReopenRate            *float64 `json:"reopen_rate"`
	RepeatContactRate7d   *float64 `json:"repeat_contact_rate_7d"`
	RepeatContactRate30d  *float64 `json:"repeat_contact_rate_30d"`
	DetractorsContactRate *float64 `json:"detractors_contacted_rate"`
	ScoreChangeTold       *float64 `json:"score_change_told"`     // next answer minus this one, as a share of the scale, for customers told about a change in between
	ScoreChangeNotTold    *float64 `json:"score_change_not_told"` // the same for customers not told
}

// CaseFigures computes the case figures of cases opened in [from, to]
// (days, inclusive, UTC): how many, how many were reached, the share, and
// the median hours from the answer to the first contact. Figures with
// nothing behind them are nil.
func CaseFigures(cases []Case, from, to time.Time) LoopFigures {
	var f LoopFigures
	var hours []float64
	end := to.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
	for _, c := range cases {
		if c.OpenedAt.Before(from.UTC().Truncate(24*time.Hour)) || !c.OpenedAt.Before(end) {
			continue
		}
		f.Detractors++
		if !c.ContactedAt.IsZero() {
			f.DetractorsContacted++
			hours = append(hours, c.ContactedAt.Sub(c.OpenedAt).Hours())
		}
	}
	if f.Detractors > 0 {
		r := float64(f.DetractorsContacted) / float64(f.Detractors)
		f.DetractorsContactRate = &r
	}
	if len(hours) > 0 {
		f.MedianHoursToContact = median(hours)
	}
	return f
}

// Raised is one customer raising a theme: a themed response, at the time
// they answered.
type Raised struct {
	ContactID string
	At        time.Time
}

// TellFigures computes how many distinct customers raised a theme, how
// many of them were told about a change after they raised it (told holds
// each customer's "you said, we did" times), and the median hours from the
// raising to the first telling after it. Figures with nothing behind them
// are nil.
func TellFigures(raised []Raised, told map[string][]time.Time) (raisers, toldN *int64, medianHours *float64) {
	first := map[string]time.Time{}
	for _, r := range raised {
		if r.ContactID == "" {
			continue
		}
		if t, ok := first[r.ContactID]; !ok || r.At.Before(t) {
			first[r.ContactID] = r.At
		}
	}
	var n, toldCount int64
	var hours []float64
	for cid, at := range first {
		n++
		var best time.Time
		for _, t := range told[cid] {
			if !t.Before(at) && (best.IsZero() || t.Before(best)) {
				best = t
			}
		}
		if !best.IsZero() {
			toldCount++
			hours = append(hours, best.Sub(at).Hours())
		}
	}
	raisers, toldN = &n, &toldCount
	if len(hours) > 0 {
		medianHours = median(hours)
	}
	return raisers, toldN, medianHours
}

// median returns the median of xs (not empty), rounded to 2 decimals.
func median(xs []float64) *float64 {
	slices.Sort(xs)
	m := xs[len(xs)/2]
	if len(xs)%2 == 0 {
		m = (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
	}
	m = float64(int64(m*100+0.5)) / 100
	return &m
}

// ScoreChanges compares how customers' next answers moved: for each
// customer's pair of consecutive answers of one kind whose first was given
// in [from, to] (days, UTC), the change of rating as a share of the scale
// (next minus this, over the scale's width: -1 to 1), averaged separately
// for customers who were told about a change between the two answers and
// those who were not. An average with no pair behind it is nil.
func ScoreChanges(svs []Survey, told map[string][]time.Time, from, to time.Time) (toldAvg, notToldAvg *float64) {
	type answer struct {
		at     time.Time
		rating int
	}
	byContact := map[string][]answer{} // contact and kind
	for _, sv := range svs {
		if sv.Rating == nil || sv.ContactID == "" {
			continue
		}
		k := sv.ContactID + "|" + string(sv.Kind)
		byContact[k] = append(byContact[k], answer{sv.RespondedAt, *sv.Rating})
	}
	start, end := from.UTC().Truncate(24*time.Hour), to.UTC().Truncate(24*time.Hour).Add(24*time.Hour)
	var sums [2]float64
	var ns [2]int
	for k, as := range byContact {
		cid, kind, _ := strings.Cut(k, "|")
		lo, hi := Kind(kind).Scale()
		slices.SortFunc(as, func(a, b answer) int { return a.at.Compare(b.at) })
		for i := 0; i+1 < len(as); i++ {
			this, next := as[i], as[i+1]
			if this.at.Before(start) || !this.at.Before(end) {
				continue
			}
			g := 1
			for _, t := range told[cid] {
				if !t.Before(this.at) && t.Before(next.at) {
					g = 0
				}
			}
			sums[g] += float64(next.rating-this.rating) / float64(hi-lo)
			ns[g]++
		}
	}
	avg := func(g int) *float64 {
		if ns[g] == 0 {
			return nil
		}
		v := math.Round(sums[g]/float64(ns[g])*1000) / 1000
		return &v
	}
	return avg(0), avg(1)
}
