package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Tally compares the accepted message IDs with what the sink received.
type Tally struct {
	Accepted   int      // IDs in the accepted list
	Delivered  int      // sink files that carry an X-Load-ID
	Once       int      // accepted IDs found in exactly one sink file
	Duplicated []string // accepted IDs found in more than one sink file
	Missing    []string // accepted IDs found in no sink file
	Unexpected []string // IDs in the sink that were never accepted
	Foreign    int      // sink files without an X-Load-ID (not ours)
}

// OK reports the crash invariant: every accepted message delivered exactly once and
// nothing delivered that was not accepted.
func (t Tally) OK() bool {
	return len(t.Duplicated) == 0 && len(t.Missing) == 0 && len(t.Unexpected) == 0
}

// String is the one-line summary crash.sh prints.
func (t Tally) String() string {
	return fmt.Sprintf("accepted=%d delivered=%d once=%d duplicated=%d missing=%d unexpected=%d foreign=%d",
		t.Accepted, t.Delivered, t.Once, len(t.Duplicated), len(t.Missing), len(t.Unexpected), t.Foreign)
}

// loadID returns the X-Load-ID of a stored message: the first such header in the header
// section (smtp-sink puts its own X-* lines in front of the message's headers).
func loadID(r io.Reader) (string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" {
			return "", nil // end of header section
		}
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, "X-Load-ID") {
			return strings.TrimSpace(v), nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("smtpload: read message: %w", err)
	}
	return "", nil
}

// Verify tallies the accepted IDs against the message files in sinkDir.
func Verify(accepted []string, sinkDir string) (Tally, error) {
	t := Tally{Accepted: len(accepted)}
	seen := map[string]int{}
	entries, err := os.ReadDir(sinkDir)
	if err != nil {
		return t, fmt.Errorf("smtpload: %w", err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		f, err := os.Open(filepath.Join(sinkDir, e.Name()))
		if err != nil {
			return t, fmt.Errorf("smtpload: %w", err)
		}
		id, err := loadID(f)
		f.Close()
		if err != nil {
			return t, fmt.Errorf("smtpload: %s: %w", e.Name(), err)
		}
		if id == "" {
			t.Foreign++
			continue
		}
		t.Delivered++
		seen[id]++
	}
	want := map[string]bool{}
	for _, id := range accepted {
		want[id] = true
		switch n := seen[id]; {
		case n == 1:
			t.Once++
		case n == 0:
			t.Missing = append(t.Missing, id)
		default:
			t.Duplicated = append(t.Duplicated, id)
		}
	}
	for id := range seen {
		if !want[id] {
			t.Unexpected = append(t.Unexpected, id)
		}
	}
	sort.Strings(t.Unexpected)
	return t, nil
}

// readIDs reads one ID per line, skipping blank lines.
func readIDs(r io.Reader) ([]string, error) {
	var ids []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if s := strings.TrimSpace(sc.Text()); s != "" {
			ids = append(ids, s)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("smtpload: read ids: %w", err)
	}
	return ids, nil
}

func runVerify(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	idsFile := fs.String("ids", "", "`file` with the accepted message IDs (from send -ids)")
	sink := fs.String("sink", "", "`directory` with one file per delivered message")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *idsFile == "" || *sink == "" {
		fmt.Fprintln(stderr, "smtpload: verify needs -ids and -sink")
		return 2
	}
	f, err := os.Open(*idsFile)
	if err != nil {
		fmt.Fprintf(stderr, "smtpload: %v\n", err)
		return 2
	}
	ids, err := readIDs(f)
	f.Close()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	t, err := Verify(ids, *sink)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	fmt.Fprintln(stdout, t)
	for _, l := range []struct {
		what string
		ids  []string
	}{{"duplicated", t.Duplicated}, {"missing", t.Missing}, {"unexpected", t.Unexpected}} {
		for i, id := range l.ids {
			if i == 10 {
				fmt.Fprintf(stderr, "smtpload: ... %d more %s\n", len(l.ids)-10, l.what)
				break
			}
			fmt.Fprintf(stderr, "smtpload: %s: %s\n", l.what, id)
		}
	}
	if !t.OK() {
		return 1
	}
	return 0
}
