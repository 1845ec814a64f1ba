package main

import (
	"fmt"
	"os/exec"
	"regexp"
	"strings"
)

var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op\s+(\d+) B/op\s+(\d+) allocs/op`)

// hotPath runs the packages' Go benchmarks and reports allocations (the
// figure to compare) with bytes and time per operation for information.
func hotPath(rep *Report, root string) error {
	cmd := exec.Command("go", "test", "-run", "^$", "-bench", ".", "-benchmem", "-benchtime", "2000x",
		"./shared/helpdesk", "./shared/closeloop", "./shared/mail", "./shared/fn/response")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%v\n%s", err, out)
	}
	n := 0
	for _, line := range strings.Split(string(out), "\n") {
		m := benchLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		n++
		rep.add(Figure{Section: "hot", Name: strings.TrimPrefix(m[1], "Benchmark"), Value: fmt.Sprintf("%s allocs/op, %s B/op, %s ns/op", m[4], m[3], m[2])})
	}
	if n == 0 {
		return fmt.Errorf("no benchmark lines in:\n%s", out)
	}
	return nil
}
