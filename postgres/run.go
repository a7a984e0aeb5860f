package postgres

import (
	"bufio"
	"io"
	"os/exec"
	"strings"
)

// tailLines is how much of a failed tool's stderr goes into the error.
const tailLines = 12

// runTool runs cmd, handing each line of its stderr to onLine (if set), and
// returns the last lines of stderr for error messages. work (if set) runs
// alongside, to feed stdin or drain stdout; it must end when the tool does.
func runTool(cmd *exec.Cmd, onLine func(string), work func()) (string, error) {
	pipe, err := cmd.StderrPipe()
	if err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", err
	}
	worked := make(chan struct{})
	go func() {
		defer close(worked)
		if work != nil {
			work()
		}
	}()
	var tail []string
	sc := bufio.NewScanner(pipe)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if tail = append(tail, line); len(tail) > tailLines {
			tail = tail[1:]
		}
		if onLine != nil {
			onLine(line)
		}
	}
	_, _ = io.Copy(io.Discard, pipe) // after an over-long line, let the tool finish
	<-worked
	err = cmd.Wait()
	return strings.Join(tail, "\n"), err
}

// corruptHint recognises pg_restore's words for a damaged archive.
func corruptHint(stderr string) string {
	for _, s := range []string{"end of file", "could not read", "did not find magic", "could not find block",
		"unsupported version", "expected format", "could not uncompress", "corrupt"} {
		if strings.Contains(strings.ToLower(stderr), s) {
			return "the dump looks truncated or corrupt; make it again with pg_dump"
		}
	}
	return ""
}
