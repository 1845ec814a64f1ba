package closeloop

import (
	"fmt"
	"strings"
	"time"
)

// SendWindow is when surveys may go out: a daily span of local time on some
// weekdays, or always.
type SendWindow struct {
	Always     bool
	Start, End time.Duration // since local midnight; Start < End
	Days       [7]bool       // by time.Weekday
	text       string        // as configured
}

// DefaultSendWindow is the window outside `closeloop dev` and the demo.
const DefaultSendWindow = "09:00-18:00 Mon-Fri"

var weekdays = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

// ParseSendWindow reads "HH:MM-HH:MM Day-Day" (days optional, every day
// when absent; "Mon-Fri", "Sat-Sun", "Mon,Wed,Fri") or "always".
func ParseSendWindow(s string) (SendWindow, error) {
	s = strings.TrimSpace(s)
	w := SendWindow{text: s}
	if strings.EqualFold(s, "always") {
		w.Always = true
		return w, nil
	}
	bad := func(why string) (SendWindow, error) {
		return SendWindow{}, Errorf(ErrInvalid, "send window %q: %s (want like %q, or \"always\")", s, why, DefaultSendWindow)
	}
	span, days, _ := strings.Cut(s, " ")
	from, to, ok := strings.Cut(span, "-")
	if !ok {
		return bad("no HH:MM-HH:MM span")
	}
	var err error
	if w.Start, err = clock(from); err == nil {
		w.End, err = clock(to)
	}
	if err != nil || w.Start >= w.End {
		return bad("the span is not two times of day, the first before the second")
	}
	days = strings.TrimSpace(days)
	if days == "" {
		w.Days = [7]bool{true, true, true, true, true, true, true}
		return w, nil
	}
	for _, part := range strings.Split(days, ",") {
		a, b, rng := strings.Cut(strings.ToLower(strings.TrimSpace(part)), "-")
		da, ok1 := weekdays[a]
		db, ok2 := weekdays[b]
		if !rng {
			db, ok2 = da, ok1
		}
		if !ok1 || !ok2 {
			return bad(fmt.Sprintf("%q is not a day or a range of days", part))
		}
		for d := da; ; d = (d + 1) % 7 {
			w.Days[d] = true
			if d == db {
				break
			}
		}
	}
	return w, nil
}

func clock(s string) (time.Duration, error) {
	t, err := time.Parse("15:04", strings.TrimSpace(s))
	if err != nil {
		if strings.TrimSpace(s) == "24:00" {
			return 24 * time.Hour, nil
		}
		return 0, err
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}

// String returns the window as configured.
func (w SendWindow) String() string { return w.text }

// Next returns t when t is inside the window in loc, else the start of the
// next window in loc.
func (w SendWindow) Next(t time.Time, loc *time.Location) time.Time {
	if w.Always {
		return t
	}
	local := t.In(loc)
	for i := 0; i < 8; i++ {
		day := time.Date(local.Year(), local.Month(), local.Day()+i, 0, 0, 0, 0, loc)
		if !w.Days[day.Weekday()] {
			continue
		}
		// The edges are wall-clock times, also on the days the clocks
		// change (24:00 is the next midnight).
		edge := func(d time.Duration) time.Time {
			return time.Date(day.Year(), day.Month(), day.Day(), int(d/time.Hour), int(d%time.Hour/time.Minute), 0, 0, loc)
		}
		start, end := edge(w.Start), edge(w.End)
		switch {
		case t.Before(start):
			return start
		case t.Before(end):
			return t
		}
	}
	return t // no day in the window: never hold mail back forever
}

// Location returns the zone named tz, or fallback when tz is empty or
// unknown.
func Location(tz string, fallback *time.Location) *time.Location {
	if tz == "" {
		return fallback
	}
	if loc, err := time.LoadLocation(tz); err == nil {
		return loc
	}
	return fallback
}
