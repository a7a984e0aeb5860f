package ditto

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/dittodb/ditto/sandbox/cgroup"
	"github.com/dittodb/ditto/storage"
)

// limitsHint says where to learn what this machine can enforce.
const limitsHint = "`ditto doctor` says which limits this machine can enforce; leave the limit out, or give the copy none with the defaults of `ditto init` lifted"

// checkLimits refuses, before anything is made, limits this ditto cannot
// enforce: never a copy that runs with less confinement than asked for.
func (m *Manager) checkLimits(l Limits) error {
	if err := l.Validate(); err != nil {
		return err
	}
	if l.MaxSize > 0 {
		if _, ok := m.store.(storage.Quota); !ok {
			return errorf(CodeInvalid, "use a ZFS pool (`ditto init --backend zfs`), or leave --max-size out: the pool's free-space floor still keeps a full copy from stopping the others",
				"--max-size is not supported on %s: its quota groups would slow down every copy create and destroy on the whole filesystem", m.store.Backend())
		}
	}
	if !l.cgroup().IsZero() && m.Config.Sandbox == SandboxOff {
		return errorf(CodeInvalid, "`ditto init --sandbox on`, or leave --memory, --cpus and --max-processes out",
			"cannot enforce the limits %s: the copy's server joins its cgroup in its sandbox, and the sandbox is off", l)
	}
	return nil
}

// cgroupName is the copy's cgroup: one folder per ditto home, so that
// homes do not take each other's groups for orphans.
func (m *Manager) cgroupName(id string) string { return m.cgroupParent() + "/" + id }

func (m *Manager) cgroupParent() string {
	sum := sha256.Sum256([]byte(m.Home.Dir))
	return "ditto/" + hex.EncodeToString(sum[:6])
}

// copyCgroup makes (or updates) the cgroup that caps c's server, and
// returns its folders for the sandbox's init to join; none without limits.
func (m *Manager) copyCgroup(c *Copy) ([]string, error) {
	if c.Limits.cgroup().IsZero() {
		return nil, nil
	}
	g, err := cgroup.Create(m.cgroupName(c.ID), c.Limits.cgroup())
	if errors.Is(err, cgroup.ErrUnavailable) {
		return nil, errorf(CodeInvalid, limitsHint, "cannot enforce the limits of copy %s (%s): %v", c.ID, c.Limits, err)
	}
	return g.Dirs, err
}

// removeCgroup removes the cgroup of c's stopped server.
func (m *Manager) removeCgroup(c *Copy) error {
	if c.Limits.cgroup().IsZero() {
		return nil
	}
	return cgroup.Remove(m.cgroupName(c.ID))
}

// setQuota caps what c may write: the golden's data it shares, of
// goldenBytes, does not count.
func (m *Manager) setQuota(ctx context.Context, c *Copy, goldenBytes uint64) error {
	if c.Limits.MaxSize == 0 {
		return nil
	}
	q, ok := m.store.(storage.Quota)
	if !ok {
		return m.checkLimits(c.Limits)
	}
	if err := q.SetCopyQuota(ctx, c.ID, int64(goldenBytes)+c.Limits.MaxSize); err != nil {
		return fmt.Errorf("capping copy %s at --max-size %s: %w", c.ID, HumanBytes(uint64(c.Limits.MaxSize)), err)
	}
	return nil
}

// removeStrayCgroups removes the cgroups of this home that no copy
// record explains (a crash between destroying a copy and its group).
func (m *Manager) removeStrayCgroups(known map[string]bool, r *GCReport) {
	names, err := cgroup.List(m.cgroupParent())
	if err != nil {
		r.Errors = append(r.Errors, err.Error())
		return
	}
	for _, n := range names {
		id := n[len(m.cgroupParent())+1:]
		if known[id] {
			continue
		}
		if err := cgroup.Remove(n); err != nil {
			r.Errors = append(r.Errors, err.Error())
			continue
		}
		m.Log.Info("removed a cgroup no copy explains", "cgroup", n)
		r.Files = append(r.Files, "cgroup "+n)
	}
}
