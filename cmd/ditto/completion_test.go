package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// completionPath returns a PATH whose first `ditto` is a wrapper around the
// test binary that logs every call into the returned file.
func completionPath(t *testing.T) (path, calls string) {
	dir := t.TempDir()
	calls = filepath.Join(dir, "calls")
	wrapper := "#!/bin/sh\nprintf '%s\\n' \"$*\" >>" + calls + "\nexec " + dittoBin + " \"$@\"\n"
	if err := os.WriteFile(filepath.Join(dir, "ditto"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir + ":" + os.Getenv("PATH"), calls
}

// completionCases are command lines whose last word is being completed, and
// the candidates the shell must offer (in order, by name); for commands, as
// newApp defines them.
var completionCases = []struct{ line, want string }{
	{"ditto |", commandNames("")},
	{"ditto co|", commandNames("co")},
	{"ditto copy |", commandNames("", "copy")},
	{"ditto --home /nowhere st|", commandNames("st")},
	{"ditto copy run --kee|", "--keep-on-failure"},
	{"ditto doctor --f|", "--format"},
}

// commandNames lists the names of the subcommands of the command at path
// that start with prefix, and urfave/cli's help, as completion offers them.
func commandNames(prefix string, path ...string) string {
	cmds := newApp().Commands
	for _, p := range path {
		for _, c := range cmds {
			if c.Name == p {
				cmds = c.Subcommands
			}
		}
	}
	var names []string
	for _, c := range append(cmds, &cli.Command{Name: "help", Aliases: []string{"h"}}) {
		for _, n := range c.Names() {
			if strings.HasPrefix(n, prefix) && !c.Hidden {
				names = append(names, n)
			}
		}
	}
	return strings.Join(names, " ")
}

func TestCompletionBash(t *testing.T) {
	lines, calls := runCompletion(t, "bash", `set -u
source <(ditto completion bash)
comp() { COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=(); _ditto_complete; echo "${COMPREPLY[*]}"; }
`, "comp ditto copy run -- ./migrate ''")
	expectCases(t, "bash", lines)
	if got := at(lines, len(completionCases)); got != "" {
		t.Errorf("bash completes after `copy run --` to %q: want the shell's own completion of the command", got)
	}
	assertNoRunAfterDashes(t, calls)
}

func TestCompletionZsh(t *testing.T) {
	if _, err := exec.LookPath("zsh"); err != nil {
		t.Skip("zsh is not installed (apt-get install zsh)")
	}
	// Outside a completion widget, words and CURRENT are plain variables and
	// the completion functions are stubs that print what they were given
	// (_describe keeps, as zsh does, the names that start with the word).
	lines, calls := runCompletion(t, "zsh", `compdef() { print -r -- "compdef $*" }
_describe() { shift; local -a names=(${${(P)1}%%:*}); print -r -- "${(M)names[@]:#${words[CURRENT]}*}" }
_files() { print -r -- "(files)" }
_normal() { print -r -- "(normal: ${words[*]} at $CURRENT)" }
source <(ditto completion zsh)
comp() { words=("$@"); CURRENT=$#; _ditto }
`, "comp ditto copy run -- ./migrate ''", "comp ditto copy list --format ''")
	if at(lines, 0) != "compdef _ditto ditto" {
		t.Errorf("sourcing the zsh script printed %q first, want it to register with compdef", at(lines, 0))
	}
	expectCases(t, "zsh", lines[1:])
	n := len(completionCases) + 1
	if got := at(lines, n); got != "(normal: ./migrate  at 2)" {
		t.Errorf("zsh after `copy run --`: %q, want the normal completion of the command", got)
	}
	if got := at(lines, n+1); got != "(files)" {
		t.Errorf("zsh with no candidates: %q, want file names", got)
	}
	assertNoRunAfterDashes(t, calls)
}

// runCompletion runs the shell on the prelude (which defines comp), then
// comp on every completion case and on the extra lines, and returns what
// it printed, one line per comp, and the file logging ditto's calls.
func runCompletion(t *testing.T, shell, prelude string, extra ...string) (lines []string, calls string) {
	t.Helper()
	path, calls := completionPath(t)
	script := prelude
	for _, c := range completionCases {
		script += "comp " + shellWords(c.line) + "\n"
	}
	script += strings.Join(extra, "\n") + "\n"
	args := []string{"-c", script}
	if shell == "zsh" {
		args = []string{"-f", "-c", script}
	}
	cmd := exec.Command(shell, args...)
	cmd.Env = append(os.Environ(), "PATH="+path)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", shell, err, out)
	}
	return strings.Split(strings.TrimSuffix(string(out), "\n"), "\n"), calls
}

func expectCases(t *testing.T, shell string, lines []string) {
	t.Helper()
	for i, c := range completionCases {
		if got := at(lines, i); got != c.want {
			t.Errorf("%s completes %q to %q, want %q\n%s", shell, c.line, got, c.want, strings.Join(lines, "\n"))
		}
	}
}

func TestCompletionCommand(t *testing.T) {
	for _, shell := range []string{"bash", "zsh"} {
		cmd := exec.Command(dittoBin, "completion", shell)
		out, err := cmd.Output()
		if err != nil || !strings.Contains(string(out), "ditto completion "+shell) {
			t.Fatalf("ditto completion %s: %v\n%s", shell, err, out)
		}
		if _, err := exec.LookPath(shell); err == nil {
			if b, err := exec.Command(shell, "-n", "-c", string(out)).CombinedOutput(); err != nil {
				t.Errorf("%s -n on the %s script: %v\n%s", shell, shell, err, b)
			}
		}
	}
	for _, args := range [][]string{{"completion"}, {"completion", "tcsh"}} {
		cmd := exec.Command(dittoBin, args...)
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), "give bash or zsh") {
			t.Errorf("ditto %v: %v %s, want exit 1 and which shells exist", args, err, out)
		}
	}
}

// assertNoRunAfterDashes checks that completing after `copy run --` never
// ran ditto: that would create a copy and run the half-typed command.
func assertNoRunAfterDashes(t *testing.T, calls string) {
	b, _ := os.ReadFile(calls)
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, " -- ") || strings.HasSuffix(line, " --") {
			t.Errorf("completion ran `ditto %s`", line)
		}
	}
	if len(b) == 0 {
		t.Error("completion never asked ditto for candidates")
	}
}

// shellWords turns "ditto co|" into quoted words with the cursor word last.
func shellWords(line string) string {
	var out []string
	for _, w := range strings.Split(strings.TrimSuffix(line, "|"), " ") {
		out = append(out, "'"+w+"'")
	}
	return strings.Join(out, " ")
}

func at(lines []string, i int) string {
	if i < len(lines) {
		return lines[i]
	}
	return "(nothing)"
}

// pendingExamples are commands whose --help still lacks an example; their
// files belong to other work in progress. Remove an entry once its example
// is in: the test fails for an entry that has one, so the list cannot rot.
var pendingExamples = map[string]bool{}

// TestHelpHasExamples checks that every command's --help explains itself:
// a usage line, an example, and a description for every flag.
func TestHelpHasExamples(t *testing.T) {
	app := newApp()
	if !strings.Contains(app.Description, "\n   ditto ") {
		t.Error("ditto --help shows no example command lines")
	}
	var walk func(prefix string, cmds []*cli.Command)
	walk = func(prefix string, cmds []*cli.Command) {
		for _, c := range cmds {
			name := prefix + " " + c.Name
			if c.Usage == "" {
				t.Errorf("%s has no usage line", name)
			}
			hasExample := strings.Contains(c.Description, "Example")
			switch {
			case pendingExamples[name] && hasExample:
				t.Errorf("%s has an example now: remove it from pendingExamples", name)
			case !pendingExamples[name] && !hasExample:
				t.Errorf("%s --help has no example", name)
			}
			for _, f := range c.Flags {
				if df, ok := f.(cli.DocGenerationFlag); ok && df.GetUsage() == "" {
					t.Errorf("%s: flag %v has no description", name, f.Names())
				}
			}
			walk(name, c.Subcommands)
		}
	}
	walk("ditto", app.Commands)
}
