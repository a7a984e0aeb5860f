package postgres

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// tailLines is how much of a failed tool's stderr goes into the error.
const tailLines = 12

// toolCommand returns tool (psql, pg_restore) of bin with args, run as u,
// from /. Never as root: the tool reads a dump, which is data from outside,
// and psql runs the meta-commands of what it reads.
func toolCommand(ctx context.Context, bin Bin, u OSUser, tool string, args ...string) (*exec.Cmd, error) {
	attr, err := procAttr(u, false)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, bin.Path(tool), args...)
	cmd.SysProcAttr = attr
	cmd.Dir = "/"
	cmd.Env = childEnv()
	return cmd, nil
}

// ArchiveCommand returns pg_restore with args reading the archive d, run as
// u. A custom or tar archive comes on its stdin from a file ditto opens, so
// u needs no access of its own to the dump (which may be root's, in a
// private folder); a directory archive is read by its path. Call closeFn
// once the command has ended.
func ArchiveCommand(ctx context.Context, bin Bin, u OSUser, d DumpInfo, args ...string) (cmd *exec.Cmd, closeFn func(), err error) {
	if d.Format == FormatDirectory {
		cmd, err := toolCommand(ctx, bin, u, "pg_restore", append(args, d.Path)...)
		return cmd, func() {}, err
	}
	f, err := os.Open(d.Path)
	if err != nil {
		return nil, nil, fmt.Errorf("dump %s: %w", d.Path, err)
	}
	if cmd, err = toolCommand(ctx, bin, u, "pg_restore", args...); err != nil {
		f.Close()
		return nil, nil, err
	}
	cmd.Stdin = f
	return cmd, func() { f.Close() }, nil
}

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
