// Command bench measures Closeloop's speed, size and cost, side by side in
// one run, and writes results.md and results.json to build/bench (or to
// the folder -out names; `make bench-record` records them in bench/). Every figure
// is a count or a ratio against a baseline measured in the same run; no test
// asserts a time. Run it with `make bench`.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/closeloop/closeloop/shared/local/lambdabuild"
	"github.com/closeloop/closeloop/shared/local/localaws"
)

// Figure is one measured value and, when the issue sets one, its target.
type Figure struct {
	Section string `json:"section"`
	Name    string `json:"name"`
	Value   string `json:"value"`
	Target  string `json:"target,omitempty"`
	Holds   *bool  `json:"holds,omitempty"`
	Note    string `json:"note,omitempty"`
}

// Report is the whole run.
type Report struct {
	Date      string   `json:"date"`
	Machine   string   `json:"machine"`
	GoVersion string   `json:"go_version"`
	Seconds   float64  `json:"seconds"`
	Prices    []string `json:"prices"`
	Figures   []Figure `json:"figures"`
}

func (r *Report) add(f Figure) {
	r.Figures = append(r.Figures, f)
	mark := ""
	if f.Holds != nil {
		mark = map[bool]string{true: "  [holds]", false: "  [does not hold]"}[*f.Holds]
	}
	fmt.Printf("%-12s %-55s %s%s\n", f.Section, f.Name, f.Value, mark)
}

func holds(b bool) *bool { return &b }

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run() error {
	out := flag.String("out", filepath.Join("build", "bench"), "folder for results.md and results.json (bench/ records them in the repository)")
	only := flag.String("only", "", "run only these sections, comma separated (size, cold, hot, capacity, scale, fanout, quota, page); all when empty")
	flag.Parse()
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	start := time.Now()
	root, err := localaws.FindRoot()
	if err != nil {
		return err
	}
	want := func(section string) bool { return *only == "" || slices.Contains(strings.Split(*only, ","), section) }
	rep := &Report{Date: time.Now().UTC().Format(time.DateOnly), Machine: machine(), GoVersion: runtime.Version(), Prices: priceNotes()}
	ctx := context.Background()

	bins, err := build(root)
	if err != nil {
		return err
	}
	defer os.RemoveAll(bins)
	if want("size") {
		sizes(rep, bins)
	}

	logs, _ := os.CreateTemp("", "closeloop-bench-servers-*.log")
	srv, err := localaws.Start(ctx, localaws.Options{Root: root, Log: logs})
	if err != nil {
		return err
	}
	defer srv.Stop()

	if err := when(want("cold"), func() error { return coldStarts(ctx, rep, root, bins, srv) }); err != nil {
		return fmt.Errorf("cold starts: %w", err)
	}
	if err := when(want("hot"), func() error { return hotPath(rep, root) }); err != nil {
		return fmt.Errorf("hot path: %w", err)
	}
	if err := when(want("capacity"), func() error { return capacity(ctx, rep, srv) }); err != nil {
		return fmt.Errorf("capacity: %w", err)
	}
	if err := when(want("scale"), func() error { return metricsScale(ctx, rep, srv) }); err != nil {
		return fmt.Errorf("metrics scale: %w", err)
	}
	if err := when(want("fanout"), func() error { return fanOut(ctx, rep, srv) }); err != nil {
		return fmt.Errorf("fan-out: %w", err)
	}
	if err := when(want("quota"), func() error { return quotaShare(ctx, rep, srv) }); err != nil {
		return fmt.Errorf("quota: %w", err)
	}
	if err := when(want("page"), func() error { return pageLatency(ctx, rep, srv) }); err != nil {
		return fmt.Errorf("page: %w", err)
	}
	rep.Seconds = time.Since(start).Round(time.Second).Seconds()
	dir := *out
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(root, dir)
	}
	return write(dir, rep)
}

// when runs f if on.
func when(on bool, f func() error) error {
	if !on {
		return nil
	}
	return f()
}

func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		if m := regexp.MustCompile(`(?m)^model name\s*:\s*(.+)$`).FindSubmatch(b); m != nil {
			model = string(m[1])
		}
	}
	return fmt.Sprintf("%d cores, %s, %s/%s", runtime.NumCPU(), model, runtime.GOOS, runtime.GOARCH)
}

// build compiles every function and the hello-world baseline as the
// deployment does (shared/local/lambdabuild), for this machine (to run)
// and for arm64 (to weigh); and twice more for arm64, to tell what a size
// is made of: with its symbol table, and with text/template's method lookup
// left in.
func build(root string) (string, error) {
	dir, err := os.MkdirTemp("", "closeloop-bench-bin-")
	if err != nil {
		return "", err
	}
	overlay, err := lambdabuild.Overlay(filepath.Join(dir, "overlay"))
	if err != nil {
		return dir, err
	}
	for _, b := range []lambdabuild.Build{
		{Arch: runtime.GOARCH, Out: runtime.GOARCH, Overlay: overlay},
		{Arch: "arm64", Out: "arm64", Overlay: overlay},
		{Arch: "arm64", Out: "arm64-symbols", Overlay: overlay, Symbols: true},
		{Arch: "arm64", Out: "arm64-methods"},
	} {
		b.Dir, b.Out, b.Packages = root, filepath.Join(dir, b.Out)+"/", []string{"./functions/...", "./bench/hello"}
		if err := b.Run(); err != nil {
			return dir, err
		}
	}
	return dir, nil
}

// functionNames lists the built functions, without the baseline.
func functionNames(bins string) []string {
	entries, _ := os.ReadDir(filepath.Join(bins, "arm64"))
	var out []string
	for _, e := range entries {
		if e.Name() != "hello" {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}

func sizes(rep *Report, bins string) {
	size := func(name string) int64 {
		fi, err := os.Stat(filepath.Join(bins, "arm64", name))
		if err != nil {
			return 0
		}
		return fi.Size()
	}
	hello := size("hello")
	rep.add(Figure{Section: "size", Name: "hello-world bootstrap (arm64)", Value: mb(hello)})
	for _, fn := range functionNames(bins) {
		s := size(fn)
		f := Figure{Section: "size", Name: fn + " bootstrap (arm64)", Value: fmt.Sprintf("%s, %.2f× hello", mb(s), float64(s)/float64(hello)),
			Target: "≤ 10 MB", Holds: holds(s <= 10<<20)}
		if share, clients, err := sdkShare(filepath.Join(bins, "arm64-symbols", fn)); err == nil && s > 10<<20 {
			f.Note = fmt.Sprintf("%.2f MB over; the AWS SDK's code and data are %.0f%% of the binary's (about %.1f MB of it), for the services %s",
				float64(s-10<<20)/(1<<20), 100*share, share*float64(s)/(1<<20), strings.Join(clients, ", "))
			if tz := tzdataSize(); tz > 0 {
				f.Note += fmt.Sprintf("; every function also carries the time zone database (%.2f MB), since the send windows and reports need exact zones and Lambda's image is not relied on to have them", float64(tz)/(1<<20))
			}
			if fn == "api" {
				f.Note += "; what would take the rest off each trades something away: the console in a function of its own (two functions to deploy and keep warm, and html/template stays in both), or the Secrets Manager client replaced by a hand-signed request that no local server can check"
			}
		}
		if m := size(filepath.Join("..", "arm64-methods", fn)); m > s {
			f.Note = strings.TrimPrefix(f.Note+"; ", "; ") + fmt.Sprintf("built with text/template's method lookup by name, which keeps every exported method, it would weigh %s, %.2f MB more", mb(m), float64(m-s)/(1<<20))
		}
		rep.add(f)
	}
}

// tzdataSize is the size of the zone database that time/tzdata embeds:
// the toolchain's lib/time/zoneinfo.zip, 0 if it cannot be read.
func tzdataSize() int64 {
	root, err := lambdabuild.GOROOT()
	if err != nil {
		return 0
	}
	fi, err := os.Stat(filepath.Join(root, "lib", "time", "zoneinfo.zip"))
	if err != nil {
		return 0
	}
	return fi.Size()
}

// sdkShare reads the symbol table of an unstripped binary: the share of
// its code and read-only data that is the AWS SDK (and its smithy-go
// runtime), and the SDK's service clients it links.
func sdkShare(bin string) (float64, []string, error) {
	out, err := exec.Command("go", "tool", "nm", "-size", bin).Output()
	if err != nil {
		return 0, nil, err
	}
	var sdk, all int64
	clients := map[string]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || !strings.Contains("TtRr", f[2]) {
			continue
		}
		n, _ := strconv.ParseInt(f[1], 10, 64)
		all += n
		name := f[3]
		if strings.Contains(name, "github.com/aws/aws-sdk-go-v2") || strings.Contains(name, "github.com/aws/smithy-go") {
			sdk += n
			if _, svc, ok := strings.Cut(name, "aws-sdk-go-v2/service/"); ok {
				svc, _, _ = strings.Cut(svc, "/")
				svc, _, _ = strings.Cut(svc, ".")
				if svc != "internal" {
					clients[svc] = true
				}
			}
		}
	}
	if all == 0 {
		return 0, nil, fmt.Errorf("%s: no symbols", bin)
	}
	names := make([]string, 0, len(clients))
	for c := range clients {
		names = append(names, c)
	}
	sort.Strings(names)
	return float64(sdk) / float64(all), names, nil
}

func mb(n int64) string { return fmt.Sprintf("%.2f MB (%d bytes)", float64(n)/(1<<20), n) }

func median(xs []time.Duration) time.Duration {
	s := append([]time.Duration(nil), xs...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

func write(dir string, rep *Report) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(rep, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "results.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	var md bytes.Buffer
	fmt.Fprintf(&md, "# Closeloop benchmark results\n\n")
	fmt.Fprintf(&md, "Measured %s on %s with %s; the run took %.0f s. `make bench-record` writes this file and `results.json` (`make bench` writes them to build/bench/).\n", rep.Date, rep.Machine, rep.GoVersion, rep.Seconds)
	fmt.Fprintf(&md, "Every figure is a count, or a ratio against a baseline measured in the same run: absolute times on a shared machine are noise.\n\n")
	section := ""
	for _, f := range rep.Figures {
		if f.Section != section {
			section = f.Section
			fmt.Fprintf(&md, "\n## %s\n\n| Figure | Value | Target | Holds |\n|---|---|---|---|\n", titles[section])
		}
		h := ""
		if f.Holds != nil {
			h = map[bool]string{true: "yes", false: "**no**"}[*f.Holds]
		}
		v := f.Value
		if f.Note != "" {
			v += " (" + f.Note + ")"
		}
		fmt.Fprintf(&md, "| %s | %s | %s | %s |\n", f.Name, strings.ReplaceAll(v, "|", "/"), f.Target, h)
	}
	fmt.Fprintf(&md, "\n## Prices used\n\n")
	for _, p := range rep.Prices {
		fmt.Fprintf(&md, "- %s\n", p)
	}
	if err := os.WriteFile(filepath.Join(dir, "results.md"), md.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Printf("results: %s\n", filepath.Join(dir, "results.md"))
	return nil
}

var titles = map[string]string{
	"size":     "Size of each bootstrap",
	"cold":     "Cold start, against a hello-world built the same way",
	"hot":      "Hot path (go test -bench, allocations per operation)",
	"capacity": "DynamoDB capacity per step of one full loop, and cost",
	"ledger":   "The full loop's capacity by item: what each write and read is for",
	"scale":    "Reports as data grows",
	"fanout":   "Fan-out of \"you said, we did\" to many recipients",
	"quota":    "Every sender at once against the account's SES quota",
	"page":     "The survey page against the same server's page for an unknown link",
}
