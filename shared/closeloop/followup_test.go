package closeloop

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestCaseChangeValidate(t *testing.T) {
	bad := "not an address"
	for _, c := range []CaseChange{{}, {Status: "done"}, {Owner: &bad}, {Note: string(make([]byte, MaxNote+1))}} {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	none := ""
	for _, c := range []CaseChange{{Status: CaseResolved}, {Owner: &none}, {Note: "called them"}} {
		if err := c.Validate(); err != nil {
			t.Errorf("%+v: %v", c, err)
		}
	}
}

// TestLoopFigures sums a hand-checked set of daily loop counters: four
// detractors, two reached after 2 and 6 hours (the first of the two, the
// median, is in the bucket up to 2 h), three theme raisers, two told after
// 20 and 30 hours (median in the bucket up to 24 h), check-ins 3 sent, 2
// yes of 3 answers, score changes told +0.75 and +0.6, not told -0.25;
// and an empty set.
func TestLoopFigures(t *testing.T) {
	days := []Counters{
		{Loops: LoopCounters{Detractors: 2, DetractorsContacted: 1, ContactHours: HistOf(2 * time.Hour), ThemeRaisers: 2, ThemeRaisersTold: 1, ToldHours: HistOf(20 * time.Hour)}, CheckInsSent: 2, CheckInsYes: 1},
		{Loops: LoopCounters{Detractors: 2, DetractorsContacted: 1, ContactHours: HistOf(6 * time.Hour), ThemeRaisers: 1, ThemeRaisersTold: 1, ToldHours: HistOf(30 * time.Hour)}, CheckInsSent: 1, CheckInsYes: 1, CheckInsNo: 1},
		{Loops: ScoreChange(CSAT, 2, 5, true)}, {Loops: ScoreChange(NPS, 3, 9, true)}, {Loops: ScoreChange(CSAT, 4, 3, false)},
	}
	var total Counters
	for _, d := range days {
		total = total.Add(d)
	}
	f := total.Figures()
	check := func(name string, got *float64, want float64) {
		t.Helper()
		if got == nil || *got != want {
			t.Errorf("%s = %v, want %v", name, deref(got), want)
		}
	}
	if f.Detractors != 4 || f.DetractorsContacted != 2 || *f.ThemeRaisers != 3 || *f.ThemeRaisersTold != 2 || *f.CheckinsSent != 3 {
		t.Errorf("counts %+v", f)
	}
	check("detractors_contacted_rate", f.DetractorsContactRate, 0.5)
	check("median_hours_to_contact", f.MedianHoursToContact, 2)
	check("median_hours_to_told", f.MedianHoursToTold, 24)
	check("checkins_still_solved", f.CheckinsStillSolved, 0.667)
	check("score_change_told", f.ScoreChangeTold, 0.675)
	check("score_change_not_told", f.ScoreChangeNotTold, -0.25)
	// Sub undoes Add, histograms included.
	if back := total.Sub(days[0]).Sub(days[1]).Sub(days[2]).Sub(days[3]).Sub(days[4]); back != (Counters{}) {
		t.Errorf("sum minus its days: %+v", back)
	}
	empty := Counters{}.Figures()
	if empty.Detractors != 0 || empty.MedianHoursToContact != nil || empty.DetractorsContactRate != nil || *empty.ThemeRaisers != 0 ||
		empty.MedianHoursToTold != nil || *empty.CheckinsSent != 0 || empty.CheckinsStillSolved != nil || empty.ScoreChangeTold != nil || empty.ScoreChangeNotTold != nil {
		t.Errorf("empty: %+v", empty)
	}
}

func TestHist(t *testing.T) {
	for d, want := range map[time.Duration]int{30 * time.Minute: 0, time.Hour: 0, 90 * time.Minute: 1, 25 * time.Hour: 5, 1000 * time.Hour: len(HourBuckets)} {
		if h := HistOf(d); h[want] != 1 {
			t.Errorf("HistOf(%s) = %v, want bucket %d", d, h, want)
		}
	}
}

func deref(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}

// TestOperatorTextsCountCharacters: what operators write to customers is
// limited in characters, as the customers' own comments are, not in bytes:
// a Japanese team's summary of 150 characters (450 bytes) and a note or
// message of 3,000 characters (9,000 bytes) are accepted; one character
// more than the limit is refused, naming characters.
func TestOperatorTextsCountCharacters(t *testing.T) {
	ja := func(n int) string { return strings.Repeat("改", n) }
	if _, err := NewImprovement("exports", ja(150), ja(3000), time.Now()); err != nil {
		t.Errorf("a 150-character summary and a 3,000-character message: %v", err)
	}
	if err := (CaseChange{Note: ja(3000)}).Validate(); err != nil {
		t.Errorf("a 3,000-character note: %v", err)
	}
	if err := ValidOperatorText("message", ja(MaxNote)); err != nil {
		t.Errorf("a %d-character message: %v", MaxNote, err)
	}
	for what, err := range map[string]error{
		"summary": func() error { _, err := NewImprovement("exports", ja(201), "m", time.Now()); return err }(),
		"message": func() error { _, err := NewImprovement("exports", "s", ja(5001), time.Now()); return err }(),
		"note":    CaseChange{Note: ja(MaxNote + 1)}.Validate(),
		"reply":   ValidOperatorText("message", ja(MaxNote+1)),
	} {
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "characters") {
			t.Errorf("%s one character too long: %v, want ErrInvalid naming characters", what, err)
		}
	}
}

// TestImprovementTextsFitOneItem: an improvement and its translations are
// one DynamoDB item (400 KB at most), so their texts together are limited
// in bytes too: twenty translations at the longest in 4-byte characters
// (about 437 KB) are refused, naming the limit; three in Japanese are not.
func TestImprovementTextsFitOneItem(t *testing.T) {
	im, err := NewImprovement("exports", "s", "m", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	long := func(ch string, n int) map[string]Text {
		out := map[string]Text{}
		for i := range n {
			out[fmt.Sprintf("x%c", 'a'+i)] = Text{Summary: strings.Repeat(ch, MaxSummary), Message: strings.Repeat(ch, MaxNote)}
		}
		return out
	}
	if _, err := im.WithTexts("en", long("改", 3), Audience{}); err != nil {
		t.Errorf("three Japanese translations at the longest: %v", err)
	}
	if _, err := im.WithTexts("en", long("😀", 20), Audience{}); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "KB") {
		t.Errorf("twenty translations of 4-byte characters at the longest: %v, want ErrInvalid naming the size", err)
	}
}
