package closeloop

import (
	"strings"
	"time"
	"unicode/utf8"
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

// MaxNote is the longest note or personal reply accepted, in characters
// (as a customer's comment, MaxComment), whatever the language.
const MaxNote = 5000

// ValidOperatorText checks what an operator writes on a case or to a
// customer (a note, a reply): at most MaxNote characters. what names the
// text in the error.
func ValidOperatorText(what, text string) error {
	if utf8.RuneCountInString(text) > MaxNote {
		return Errorf(ErrInvalid, "%s is longer than %d characters", what, MaxNote)
	}
	return nil
}

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
	if err := ValidOperatorText("note", c.Note); err != nil {
		return err
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
	RepeatSameTagRate7d   *float64 `json:"repeat_contact_rate_same_tag_7d"` // the repeat ticket shares a helpdesk tag with the first
	RepeatSameTagRate30d  *float64 `json:"repeat_contact_rate_same_tag_30d"`
	DetractorsContactRate *float64 `json:"detractors_contacted_rate"`
	ScoreChangeTold       *float64 `json:"score_change_told"`     // next answer minus this one, as a share of the scale, for customers told about a change in between
	ScoreChangeNotTold    *float64 `json:"score_change_not_told"` // the same for customers not told
}
