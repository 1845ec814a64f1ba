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
