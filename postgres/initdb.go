package postgres

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
)

// InitDB makes a new cluster in dataDir, which it creates owned by u with
// mode 0700 (its parent must exist). Local (Unix socket) connections are
// trusted; TCP ones need a SCRAM password. It does not fsync the new files
// (initdb's own sync takes seconds on a loop device): the caller syncs the
// filesystem once it is done with the cluster, or throws it away.
func InitDB(ctx context.Context, bin Bin, u OSUser, dataDir, superuser string) error {
	if err := mkdirOwned(dataDir, u, 0o700); err != nil {
		return fmt.Errorf("initdb: creating data directory: %w", err)
	}
	out, err := initdb(ctx, bin, u, dataDir, superuser, "C.UTF-8")
	if err != nil && strings.Contains(out, "invalid locale") {
		out, err = initdb(ctx, bin, u, dataDir, superuser, "C")
	}
	if err != nil {
		return fmt.Errorf("initdb -D %s failed: %w\n%s", dataDir, err, strings.TrimSpace(out))
	}
	return nil
}

func initdb(ctx context.Context, bin Bin, u OSUser, dataDir, superuser, locale string) (string, error) {
	attr, err := procAttr(u, false)
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, bin.Path("initdb"), "-D", dataDir, "-U", superuser,
		"--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8",
		"--locale="+locale, "--no-instructions", "--no-sync")
	cmd.SysProcAttr = attr
	cmd.Dir = "/" // ditto's working directory may be closed to u
	cmd.Env = childEnv()
	out, err := cmd.CombinedOutput()
	return string(out), err
}
