package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
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

// initdbFlags are the options every cluster is made with; a template made
// with other ones is not used (they are part of its name).
var initdbFlags = []string{"--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-instructions", "--no-sync"}

func initdb(ctx context.Context, bin Bin, u OSUser, dataDir, superuser, locale string) (string, error) {
	attr, err := procAttr(u, false)
	if err != nil {
		return "", err
	}
	args := append([]string{"-D", dataDir, "-U", superuser, "--locale=" + locale}, initdbFlags...)
	cmd := exec.CommandContext(ctx, bin.Path("initdb"), args...)
	cmd.SysProcAttr = attr
	cmd.Dir = "/" // ditto's working directory may be closed to u
	cmd.Env = childEnv()
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// InitDBFromTemplate makes the cluster in dataDir as a copy of a template
// cluster that InitDB made once, for the same binaries, superuser and
// initdb options, and keeps in the folder templates. initdb spends about
// half a second in its bootstrap backends on every run; copying its files
// takes tens of milliseconds. Clusters copied from one template share its system
// identifier, which only replication and backup tools look at. It
// reports whether it made the template first.
func InitDBFromTemplate(ctx context.Context, bin Bin, u OSUser, dataDir, superuser, templates string) (made bool, err error) {
	sum := sha256.Sum256([]byte(strings.Join(append([]string{bin.Dir, superuser}, initdbFlags...), "\x00")))
	suffix := "-" + hex.EncodeToString(sum[:6])
	tmpl := filepath.Join(templates, bin.Version+suffix)
	if _, err := os.Stat(tmpl); errors.Is(err, fs.ErrNotExist) {
		if err := makeTemplate(ctx, bin, u, tmpl, superuser); err != nil {
			return false, err
		}
		made = true
		// a minor upgrade of these binaries leaves the old template unused
		old, _ := filepath.Glob(filepath.Join(templates, "*"+suffix))
		for _, o := range old {
			if o != tmpl {
				os.RemoveAll(o)
			}
		}
	} else if err != nil {
		return false, fmt.Errorf("initdb template %s: %w", tmpl, err)
	}
	if err := mkdirOwned(dataDir, u, 0o700); err != nil {
		return made, fmt.Errorf("initdb: creating data directory: %w", err)
	}
	if err := copyTree(ctx, tmpl, dataDir); err != nil {
		return made, fmt.Errorf("copying the initdb template %s to %s: %w; remove the template to have it made again", tmpl, dataDir, err)
	}
	return made, nil
}

// makeTemplate runs InitDB into tmpl by way of a temporary name, and syncs
// it: every cluster copied from it later relies on its files.
func makeTemplate(ctx context.Context, bin Bin, u OSUser, tmpl, superuser string) error {
	partial := tmpl + ".partial"
	if err := os.RemoveAll(partial); err != nil {
		return err
	}
	if err := InitDB(ctx, bin, u, partial, superuser); err != nil {
		return err
	}
	d, err := os.Open(partial)
	if err != nil {
		return err
	}
	err = unix.Syncfs(int(d.Fd()))
	d.Close()
	if err != nil {
		return fmt.Errorf("syncing the initdb template %s: %w", partial, err)
	}
	if err := os.Rename(partial, tmpl); err != nil {
		return err
	}
	parent, err := os.Open(filepath.Dir(tmpl))
	if err != nil {
		return err
	}
	defer parent.Close()
	return parent.Sync()
}

// copyTree copies the folders and files under src into the existing folder
// dst, with their modes and owners. Files are copied with copy_file_range,
// which shares their blocks on Btrfs.
func copyTree(ctx context.Context, src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil || ctx.Err() != nil {
			return errors.Join(err, ctx.Err())
		}
		rel, err := filepath.Rel(src, path)
		if err != nil || rel == "." {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			err = os.Mkdir(target, info.Mode().Perm())
		case info.Mode().IsRegular():
			err = copyFile(path, target, info.Mode().Perm())
		default:
			return fmt.Errorf("%s: not a file or folder", path)
		}
		if err == nil && os.Geteuid() == 0 {
			st := info.Sys().(*syscall.Stat_t)
			err = os.Lchown(target, int(st.Uid), int(st.Gid))
		}
		return err
	})
}

func copyFile(src, dst string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	return errors.Join(err, out.Close())
}
