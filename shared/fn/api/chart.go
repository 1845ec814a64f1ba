package api

import (
	"fmt"
	"slices"
	"strings"

	"github.com/closeloop/closeloop/shared/closeloop"
)

// Charts are drawn on the server as SVG: no script, nothing loaded from
// elsewhere, readable by screen readers through their title and the table
// beside each.

// chart is one line chart of a daily series.
type chart struct {
	Title  string
	Unit   string
	Width  int
	Height int
	Path   string  // the line, in the chart's coordinates
	Dots   []point // one per day with a value
	Max    string  // label of the top of the scale
	Min    string
	First  string // first and last day
	Last   string
}

type point struct {
	X, Y  float64
	Label string
}

const chartW, chartH, chartPad = 600, 160, 24

// charts draws responses per day, CSAT and NPS per day.
func charts(days []closeloop.DayCounters) []chart {
	pick := func(f func(closeloop.Scores) *float64) []*float64 {
		out := make([]*float64, len(days))
		for i, d := range days {
			out[i] = f(d.Counters.Score())
		}
		return out
	}
	responses := pick(func(s closeloop.Scores) *float64 { v := float64(s.Responses); return &v })
	return []chart{
		line("Responses per day", "", days, responses, 0, 0),
		line("CSAT per day", "%", days, pick(func(s closeloop.Scores) *float64 { return s.CSAT }), 0, 100),
		line("NPS per day", "", days, pick(func(s closeloop.Scores) *float64 { return s.NPS }), -100, 100),
	}
}

// line scales vals (nil: no value that day) between lo and hi (hi == lo:
// from 0 to the largest value) into a chart.
func line(title, unit string, days []closeloop.DayCounters, vals []*float64, lo, hi float64) chart {
	c := chart{Title: title, Unit: unit, Width: chartW, Height: chartH}
	if len(days) > 0 {
		c.First, c.Last = days[0].Day, days[len(days)-1].Day
	}
	if hi == lo {
		hi = 1
		for _, v := range vals {
			if v != nil && *v > hi {
				hi = *v
			}
		}
	}
	c.Min, c.Max = fmt.Sprintf("%g%s", lo, unit), fmt.Sprintf("%g%s", hi, unit)
	var b strings.Builder
	for i, v := range vals {
		if v == nil {
			continue
		}
		x := float64(chartPad)
		if len(vals) > 1 {
			x += float64(i) * float64(chartW-2*chartPad) / float64(len(vals)-1)
		}
		y := float64(chartH-chartPad) - (*v-lo)/(hi-lo)*float64(chartH-2*chartPad)
		cmd := "L"
		if b.Len() == 0 {
			cmd = "M"
		}
		fmt.Fprintf(&b, "%s%.1f %.1f ", cmd, x, y)
		c.Dots = append(c.Dots, point{X: x, Y: y, Label: fmt.Sprintf("%s: %g%s", days[i].Day, *v, unit)})
	}
	c.Path = strings.TrimSpace(b.String())
	return c
}

// bar is one rating's share of a kind's answers.
type bar struct {
	Rating int
	Count  int
	Width  float64 // percent of the largest
}

// distribution counts answers per rating, per kind.
func distribution(svs []closeloop.Survey) map[closeloop.Kind][]bar {
	counts := map[closeloop.Kind]map[int]int{}
	for _, sv := range svs {
		if sv.Rating == nil {
			continue
		}
		if counts[sv.Kind] == nil {
			counts[sv.Kind] = map[int]int{}
		}
		counts[sv.Kind][*sv.Rating]++
	}
	out := map[closeloop.Kind][]bar{}
	for k, byRating := range counts {
		most := slices.Max(slices.Collect(func(yield func(int) bool) {
			for _, n := range byRating {
				if !yield(n) {
					return
				}
			}
		}))
		for _, r := range k.Ratings() {
			out[k] = append(out[k], bar{Rating: r, Count: byRating[r], Width: float64(byRating[r]) / float64(most) * 100})
		}
	}
	return out
}
