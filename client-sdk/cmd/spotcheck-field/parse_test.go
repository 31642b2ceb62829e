package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// Every command's flags and arguments are checked before it runs: a usage
// mistake exits 2 with the message and the command's usage, -h exits 0, and
// flags may come between the arguments.
func TestParseCommand(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		args  []string
		code  int
		wants []string
	}{
		{nil, 2, []string{"usage: spotcheck-field [--dir DIR] COMMAND"}},
		{[]string{"-h"}, 0, []string{"commands:"}},
		{[]string{"bogus"}, 2, []string{`unknown command "bogus"`}},
		{[]string{"show", "-h"}, 0, []string{"usage: spotcheck-field show PACKET"}},
		{[]string{"show"}, 2, []string{"spotcheck-field show: want PACKET, got 0 argument(s)", "usage: spotcheck-field show PACKET"}},
		{[]string{"status", "extra"}, 2, []string{"want no arguments, got 1 argument(s)"}},
		{[]string{"sync", "--bogus"}, 2, []string{"flag provided but not defined: -bogus", "usage: spotcheck-field sync [--watch] [--interval D]"}},
		{[]string{"answer", "P", "culture", "WH-01"}, 2, []string{"want PACKET DEPT ITEM compliant|non_compliant|not_applicable|not_checked|VALUE, got 3"}},
		{[]string{"login", "--server", "http://x"}, 2, []string{"--server and --username are required"}},
		{[]string{"sign", "P"}, 2, []string{"--png is required"}},
		{[]string{"absent", "P", "--png", "w.png"}, 2, []string{"--witness and --png are required"}},
		{[]string{"not-locatable", "P"}, 2, []string{"--note is required"}},
		{[]string{"correct", "P"}, 2, []string{"--note is required", "usage: spotcheck-field correct PACKET --note REASON"}},
		{[]string{"refuse", "P", "--note", "n", "--inspector-png", "1=a.png"}, 2, []string{"--note and at least two --inspector-png ID=FILE are required"}},
		// Parsed, then refused by the device: nothing is enrolled here.
		{[]string{"answer", "P", "--note", "n", "culture", "WH-01", "--photo", "x.jpg", "compliant"}, 1, nil},
		{[]string{"refuse", "P", "--note", "n", "--inspector-png", "1=a.png", "--inspector-png", "2=b.png"}, 1, nil},
		// The flags of the previous run are not carried over.
		{[]string{"refuse", "P", "--note", "n", "--inspector-png", "1=a.png"}, 2, []string{"at least two --inspector-png"}},
	}
	for _, c := range cases {
		var stdout, stderr bytes.Buffer
		args := append([]string{"--dir", dir}, c.args...)
		code := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
		if code != c.code {
			t.Errorf("%q: exit %d, want %d\n%s", c.args, code, c.code, stderr.String())
		}
		for _, w := range c.wants {
			if !strings.Contains(stderr.String(), w) {
				t.Errorf("%q: stderr lacks %q:\n%s", c.args, w, stderr.String())
			}
		}
	}
}
