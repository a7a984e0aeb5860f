package postgres

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
)

// DumpSource runs pg_dump -Fc of the source database into outPath (created
// 0600). The password reaches pg_dump through PGPASSWORD, never its argv,
// which anyone could read in ps. The partial file is removed on failure.
func DumpSource(ctx context.Context, bin Bin, sourceURL, outPath string, log hclog.Logger) error {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	conn, pw := splitPassword(sourceURL)
	f, err := os.OpenFile(outPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("dump output: %w", err)
	}
	f.Close()
	env := childEnv("PGCONNECT_TIMEOUT=10")
	if pw != "" {
		env = append(env, "PGPASSWORD="+pw)
	}
	cmd := exec.CommandContext(ctx, bin.Path("pg_dump"), "-Fc", "--verbose", "--no-password", "-f", outPath, "-d", conn)
	cmd.Env = env
	start := time.Now()
	log.Info("dumping source", "source", RedactURL(sourceURL), "pg_dump", bin.Version)
	tail, err := runTool(cmd, func(line string) {
		line = scrub(line, pw)
		switch {
		case strings.Contains(line, "dumping contents of table"):
			log.Info("dump", "step", strings.TrimPrefix(line, "pg_dump: "), "elapsed", time.Since(start).Round(time.Second))
		case strings.Contains(line, "error:"):
			log.Error("pg_dump", "msg", line)
		case strings.Contains(line, "warning:"):
			log.Warn("pg_dump", "msg", line)
		default:
			log.Debug("pg_dump", "msg", line)
		}
	}, nil)
	if err != nil {
		os.Remove(outPath)
		return fmt.Errorf("pg_dump of %s failed (%v):\n%s\n%s", RedactURL(sourceURL), err, scrub(tail, pw), dumpHint(tail, bin))
	}
	if fi, err := os.Stat(outPath); err == nil {
		log.Info("dump done", "bytes", fi.Size(), "elapsed", time.Since(start).Round(time.Millisecond))
	}
	return nil
}

func dumpHint(stderr string, bin Bin) string {
	switch {
	case strings.Contains(stderr, "password authentication failed"), strings.Contains(stderr, "no password supplied"):
		return "check the user and password in --source-url"
	case strings.Contains(stderr, "server version mismatch"), strings.Contains(stderr, "aborting because of server version mismatch"):
		return fmt.Sprintf("pg_dump %s is older than the source server; install a newer PostgreSQL or pass --pg-bin DIR", bin.Version)
	case strings.Contains(stderr, "could not connect"), strings.Contains(stderr, "timeout expired"):
		return "check the host and port in --source-url and that the server accepts connections from this machine"
	}
	return "fix the cause above and run it again"
}
