// Command mutate is the mutation check: it breaks the save protocol on
// purpose, one named mutation at a time, in a scratch copy of the source,
// and requires the test suite to notice. Each mutation must make at least
// two different tests fail, or make the crash explorer find at least 100
// violating crash states. It prints a table of mutation -> the tests that
// caught it, and exits non-zero if any mutation is not caught enough, if a
// mutation no longer applies (its old text does not occur exactly once:
// the code moved and the mutation must be re-anchored), or if the
// unmutated tree fails.
//
// Run from the repository root:
//
//	go run .ci/mutate/main.go [-list FILE] [-only REGEXP] [-explore MODE]
//
// The mutations are in .ci/mutations.txt; its header describes the format.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Catch thresholds, from the issue that asked for the check.
const (
	minTests  = 2
	minStates = 100
)

type edit struct {
	file     string
	old, new string
}

type mutation struct {
	name  string
	why   string
	pkgs  []string
	run   string
	edits []edit
	line  int // where it starts in the list, for messages
}

// parse reads the mutation list. See .ci/mutations.txt for the format.
func parse(path string) ([]mutation, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var (
		out  []mutation
		cur  *mutation
		ed   *edit
		mode string // "", "old", "new"
		buf  []string
	)
	fail := func(n int, format string, args ...any) error {
		return fmt.Errorf("%s:%d: %s", path, n, fmt.Sprintf(format, args...))
	}
	lines := strings.Split(string(b), "\n")
	for i, line := range lines {
		n := i + 1
		if mode != "" {
			switch line {
			case "===":
				if mode != "old" {
					return nil, fail(n, "=== outside an old text")
				}
				ed.old, buf, mode = strings.Join(buf, "\n"), nil, "new"
			case ">>>":
				if mode != "new" {
					return nil, fail(n, ">>> before ===")
				}
				ed.new, buf, mode = strings.Join(buf, "\n"), nil, ""
				cur.edits = append(cur.edits, *ed)
				ed = nil
			default:
				buf = append(buf, line)
			}
			continue
		}
		switch {
		case strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "== "):
			out = append(out, mutation{name: strings.TrimSpace(line[3:]), line: n})
			cur = &out[len(out)-1]
		case cur == nil:
			return nil, fail(n, "%q before the first '== name' line", line)
		case strings.HasPrefix(line, "why: "):
			cur.why = strings.TrimSpace(line[5:])
		case strings.HasPrefix(line, "pkgs: "):
			cur.pkgs = strings.Fields(line[6:])
		case strings.HasPrefix(line, "run: "):
			cur.run = strings.TrimSpace(line[5:])
		case strings.HasPrefix(line, "--- "):
			ed = &edit{file: strings.TrimSpace(line[4:])}
		case line == "<<<":
			if ed == nil {
				return nil, fail(n, "<<< without a '--- file' line")
			}
			mode = "old"
		default:
			return nil, fail(n, "unexpected line %q", line)
		}
	}
	if mode != "" {
		return nil, fmt.Errorf("%s: unterminated edit at the end", path)
	}
	seen := map[string]bool{}
	for _, m := range out {
		switch {
		case seen[m.name]:
			return nil, fmt.Errorf("%s:%d: mutation %q twice", path, m.line, m.name)
		case len(m.edits) == 0:
			return nil, fmt.Errorf("%s:%d: mutation %q has no edit", path, m.line, m.name)
		case len(m.pkgs) == 0:
			return nil, fmt.Errorf("%s:%d: mutation %q has no pkgs line", path, m.line, m.name)
		case m.why == "":
			return nil, fmt.Errorf("%s:%d: mutation %q has no why line", path, m.line, m.name)
		}
		seen[m.name] = true
	}
	return out, nil
}

// copyTree copies the repository's files at root into dst: those git
// tracks and those it would add (new, not ignored), as they are in the
// work tree, without .git.
func copyTree(root, dst string) error {
	cmd := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("git ls-files: %w", err)
	}
	for _, f := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		if f == "" {
			continue
		}
		src := filepath.Join(root, f)
		fi, err := os.Lstat(src)
		if errors.Is(err, os.ErrNotExist) {
			continue // deleted in the work tree, not yet committed
		}
		if err != nil {
			return err
		}
		if !fi.Mode().IsRegular() {
			continue
		}
		b, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		p := filepath.Join(dst, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, b, fi.Mode().Perm()); err != nil {
			return err
		}
	}
	return nil
}

// apply makes m's edits in tree, returning the original contents to
// restore. Each old text must occur exactly once.
func apply(tree string, m mutation) (map[string][]byte, error) {
	orig := map[string][]byte{}
	for _, e := range m.edits {
		p := filepath.Join(tree, e.file)
		b, err := os.ReadFile(p)
		if err != nil {
			return orig, fmt.Errorf("mutation %q: %w", m.name, err)
		}
		if _, ok := orig[p]; !ok {
			orig[p] = b
		}
		if n := bytes.Count(b, []byte(e.old)); n != 1 {
			return orig, fmt.Errorf("mutation %q: its old text occurs %d times in %s, want exactly once (re-anchor it in the mutation list):\n%s", m.name, n, e.file, e.old)
		}
		b = bytes.Replace(b, []byte(e.old), []byte(e.new), 1)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return orig, err
		}
	}
	return orig, nil
}

func restore(orig map[string][]byte) {
	for p, b := range orig {
		_ = os.WriteFile(p, b, 0o644)
	}
}

// result is what one go test run showed.
type result struct {
	failed     []string // top-level tests that failed, sorted
	pkgFailed  []string // packages that failed with no test failing (build errors, panics at init)
	states     int      // crash states the explorer checked
	violations int      // of which violated the promise
	explored   bool     // the explorer's summary line was seen
	output     []string // the failing tests' output, for a baseline failure
	took       time.Duration
}

type event struct {
	Action  string
	Package string
	Test    string
	Output  string
}

var exploreLine = regexp.MustCompile(`crash-explore: mode=\S+ states=(\d+) violations=(\d+)`)

// goTest runs the tests of pkgs in tree and collects which failed.
func goTest(tree string, pkgs []string, run, explore string) (result, error) {
	args := []string{"test", "-count=1", "-json", "-timeout=8m"}
	if run != "" {
		args = append(args, "-run", run)
	}
	args = append(args, pkgs...)
	cmd := exec.Command("go", args...)
	cmd.Dir = tree
	cmd.Env = append(os.Environ(), "SAVEKIT_EXPLORE="+explore, "GOFLAGS=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return result{}, err
	}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return result{}, err
	}
	var res result
	failedTests := map[string]bool{}
	testFailedIn := map[string]bool{}
	pkgFail := map[string]bool{}
	outputs := map[string][]string{}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var ev event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			// A build failure prints plain text on stdout too.
			res.output = append(res.output, sc.Text())
			continue
		}
		top, _, _ := strings.Cut(ev.Test, "/")
		switch ev.Action {
		case "output":
			if m := exploreLine.FindStringSubmatch(ev.Output); m != nil && top == "TestCrashExploration" {
				res.states, _ = strconv.Atoi(m[1])
				res.violations, _ = strconv.Atoi(m[2])
				res.explored = true
			}
			key := ev.Package + " " + top
			if len(outputs[key]) < 200 {
				outputs[key] = append(outputs[key], ev.Output)
			}
		case "fail":
			if ev.Test != "" {
				failedTests[top] = true
				testFailedIn[ev.Package] = true
				res.output = append(res.output, outputs[ev.Package+" "+top]...)
			} else {
				pkgFail[ev.Package] = true
				res.output = append(res.output, outputs[ev.Package+" "]...)
			}
		}
	}
	werr := cmd.Wait()
	res.took = time.Since(t0)
	for t := range failedTests {
		res.failed = append(res.failed, t)
	}
	sort.Strings(res.failed)
	for p := range pkgFail {
		if !testFailedIn[p] {
			res.pkgFailed = append(res.pkgFailed, p)
		}
	}
	sort.Strings(res.pkgFailed)
	if stderr.Len() > 0 {
		res.output = append(res.output, stderr.String())
	}
	var ee *exec.ExitError
	if werr != nil && !errors.As(werr, &ee) {
		return res, werr
	}
	if werr != nil && len(res.failed) == 0 && len(res.pkgFailed) == 0 {
		res.pkgFailed = append(res.pkgFailed, "go test: "+werr.Error())
	}
	return res, nil
}

func main() {
	list := flag.String("list", ".ci/mutations.txt", "the mutation list")
	only := flag.String("only", "", "run only the mutations whose name matches this regular expression")
	explore := flag.String("explore", "default", "the crash explorer's budget (SAVEKIT_EXPLORE): default, or full (every state: slow once a mutation makes states violate)")
	keep := flag.Bool("keep", false, "keep the scratch copy and say where it is")
	verbose := flag.Bool("v", false, "print the failing tests' output for each mutation")
	tests := flag.String("run", "", "run only the tests matching this -run regexp in every package (while working on a mutation; the check itself runs them all)")
	flag.Parse()
	if err := run(*list, *only, *explore, *tests, *keep, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "mutate:", err)
		os.Exit(1)
	}
}

func run(list, only, explore, tests string, keep, verbose bool) error {
	muts, err := parse(list)
	if err != nil {
		return err
	}
	if only != "" {
		re, err := regexp.Compile(only)
		if err != nil {
			return err
		}
		var sel []mutation
		for _, m := range muts {
			if re.MatchString(m.name) {
				sel = append(sel, m)
			}
		}
		muts = sel
	}
	if len(muts) == 0 {
		return errors.New("no mutation selected")
	}
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	tree, err := os.MkdirTemp("", "savekit-mutate-")
	if err != nil {
		return err
	}
	if keep {
		fmt.Println("scratch copy:", tree)
	} else {
		defer os.RemoveAll(tree)
		// An interrupted check leaves no scratch copy behind either.
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		go func() {
			<-sig
			os.RemoveAll(tree)
			os.Exit(1)
		}()
	}
	if err := copyTree(root, tree); err != nil {
		return err
	}
	// Every old text must apply before anything runs: drift is reported
	// at once, not after minutes of tests.
	for _, m := range muts {
		orig, err := apply(tree, m)
		restore(orig)
		if err != nil {
			return err
		}
	}

	// The unmutated tree must pass, or a failure proves nothing.
	pkgSet := map[string]bool{}
	for _, m := range muts {
		for _, p := range m.pkgs {
			pkgSet[p] = true
		}
	}
	var pkgs []string
	for p := range pkgSet {
		pkgs = append(pkgs, p)
	}
	sort.Strings(pkgs)
	fmt.Printf("unmutated tree: go test %s (SAVEKIT_EXPLORE=%s)\n", strings.Join(pkgs, " "), explore)
	base, err := goTest(tree, pkgs, tests, explore)
	if err != nil {
		return err
	}
	if len(base.failed) > 0 || len(base.pkgFailed) > 0 || base.violations > 0 {
		os.Stdout.WriteString(strings.Join(base.output, ""))
		return fmt.Errorf("the unmutated tree fails: tests %v, packages %v, %d violating crash states", base.failed, base.pkgFailed, base.violations)
	}
	if !base.explored {
		return errors.New("the unmutated tree's run printed no crash-explore line: is ./slots in a pkgs line?")
	}
	fmt.Printf("  passes (%v): the explorer checked %d crash states, none violating\n\n", base.took.Round(time.Second), base.states)

	type row struct {
		m   mutation
		res result
		ok  bool
		err string
	}
	var rows []row
	for i, m := range muts {
		fmt.Printf("[%d/%d] %s: %s\n", i+1, len(muts), m.name, m.why)
		orig, err := apply(tree, m)
		if err != nil {
			restore(orig)
			return err
		}
		filter := m.run
		if tests != "" {
			filter = tests
		}
		res, err := goTest(tree, m.pkgs, filter, explore)
		restore(orig)
		if err != nil {
			return err
		}
		r := row{m: m, res: res}
		switch {
		case len(res.pkgFailed) > 0:
			r.err = "failed without a test failing (does the mutation build?): " + strings.Join(res.pkgFailed, ", ")
			os.Stdout.WriteString(strings.Join(res.output, ""))
		default:
			r.ok = len(res.failed) >= minTests || res.violations >= minStates
		}
		if verbose {
			os.Stdout.WriteString(strings.Join(res.output, ""))
		}
		fmt.Printf("      %d tests failed, explorer %d/%d states violated (%v)\n", len(res.failed), res.violations, res.states, res.took.Round(time.Second))
		rows = append(rows, r)
	}

	fmt.Printf("\n| mutation | caught | tests that failed | explorer: violating / explored states |\n|---|---|---|---|\n")
	bad := 0
	for _, r := range rows {
		verdict := "yes"
		if !r.ok {
			verdict = "**NO**"
			bad++
		}
		tests := strings.Join(r.res.failed, ", ")
		if tests == "" {
			tests = "none"
		}
		if r.err != "" {
			tests = r.err
		}
		states := "not run"
		if r.res.explored {
			states = fmt.Sprintf("%d / %d", r.res.violations, r.res.states)
		}
		fmt.Printf("| %s | %s | %s | %s |\n", r.m.name, verdict, tests, states)
	}
	fmt.Printf("\n%d mutations, %d caught by >= %d tests or >= %d violating crash states", len(rows), len(rows)-bad, minTests, minStates)
	if bad > 0 {
		fmt.Println()
		return fmt.Errorf("%d mutations not caught enough", bad)
	}
	fmt.Println(": all")
	return nil
}
