package closeloop

import (
	"testing"
	"time"
)

// TestCaseFigures computes the loop figures of a hand-checked set: four
// cases in the range (two contacted after 2 and 6 hours: median 4), one
// before it, one after it; and an empty range.
func TestCaseFigures(t *testing.T) {
	day := time.Date(2026, 11, 10, 0, 0, 0, 0, time.UTC)
	at := func(d int, h float64) time.Time {
		return day.AddDate(0, 0, d).Add(time.Duration(h * float64(time.Hour)))
	}
	cases := []Case{
		{OpenedAt: at(0, 9), ContactedAt: at(0, 11)},
		{OpenedAt: at(1, 8), ContactedAt: at(1, 14)},
		{OpenedAt: at(1, 23.5)},
		{OpenedAt: at(2, 0)},
		{OpenedAt: at(-1, 23), ContactedAt: at(0, 1)}, // before the range
		{OpenedAt: at(3, 0), ContactedAt: at(3, 1)},   // after it
	}
	f := CaseFigures(cases, day, day.AddDate(0, 0, 2))
	if f.Detractors != 4 || f.DetractorsContacted != 2 || f.MedianHoursToContact == nil || *f.MedianHoursToContact != 4 || *f.DetractorsContactRate != 0.5 {
		t.Errorf("figures %+v", f)
	}
	one := CaseFigures(cases[:1], day, day)
	if *one.MedianHoursToContact != 2 {
		t.Errorf("median of one: %v", *one.MedianHoursToContact)
	}
	empty := CaseFigures(cases, day.AddDate(1, 0, 0), day.AddDate(1, 0, 5))
	if empty.Detractors != 0 || empty.MedianHoursToContact != nil || empty.DetractorsContactRate != nil || empty.CheckinsSent != nil {
		t.Errorf("empty range: %+v", empty)
	}
}

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

// TestTellFigures: three customers raised themes (one twice); two were
// told after raising (after 24 and 48 hours: median 36), one was told only
// before they raised it, so not about what they said.
func TestTellFigures(t *testing.T) {
	day := time.Date(2026, 11, 10, 0, 0, 0, 0, time.UTC)
	h := func(n float64) time.Time { return day.Add(time.Duration(n * float64(time.Hour))) }
	raised := []Raised{{"a", h(0)}, {"a", h(5)}, {"b", h(10)}, {"c", h(20)}}
	told := map[string][]time.Time{"a": {h(24), h(100)}, "b": {h(58)}, "c": {h(1)}}
	r, n, m := TellFigures(raised, told)
	if *r != 3 || *n != 2 || m == nil || *m != 36 {
		t.Errorf("raisers %d told %d median %v", *r, *n, m)
	}
	r, n, m = TellFigures(nil, told)
	if *r != 0 || *n != 0 || m != nil {
		t.Errorf("empty: %d %d %v", *r, *n, m)
	}
}

// TestScoreChanges: Ada (CSAT 2, told, then 5: +0.75) and Bo (NPS 3, told,
// then 9: +0.6) against Cy (CSAT 4, not told, then 3: -0.25); a pair whose
// first answer is outside the range does not count.
func TestScoreChanges(t *testing.T) {
	day := time.Date(2026, 11, 10, 0, 0, 0, 0, time.UTC)
	at := func(d int) time.Time { return day.AddDate(0, 0, d) }
	r := func(n int) *int { return &n }
	svs := []Survey{
		{ContactID: "ada", Kind: CSAT, Rating: r(2), RespondedAt: at(0)}, {ContactID: "ada", Kind: CSAT, Rating: r(5), RespondedAt: at(20)},
		{ContactID: "bo", Kind: NPS, Rating: r(3), RespondedAt: at(1)}, {ContactID: "bo", Kind: NPS, Rating: r(9), RespondedAt: at(30)},
		{ContactID: "cy", Kind: CSAT, Rating: r(4), RespondedAt: at(2)}, {ContactID: "cy", Kind: CSAT, Rating: r(3), RespondedAt: at(15)},
		{ContactID: "dee", Kind: CSAT, Rating: r(1), RespondedAt: at(-10)}, {ContactID: "dee", Kind: CSAT, Rating: r(5), RespondedAt: at(3)},
	}
	told := map[string][]time.Time{"ada": {at(5)}, "bo": {at(10)}, "cy": {at(40)}}
	tl, nt := ScoreChanges(svs, told, day, at(7))
	if tl == nil || *tl != 0.675 || nt == nil || *nt != -0.25 {
		t.Errorf("told %v, not told %v; want 0.675 and -0.25", deref(tl), deref(nt))
	}
	if tl, nt := ScoreChanges(svs, told, at(100), at(101)); tl != nil || nt != nil {
		t.Error("an empty range has figures")
	}
}

func deref(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}
