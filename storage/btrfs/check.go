package btrfs

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/dittodb/ditto/storage"
)

// check implements storage.Backend's Check: the pool folder is on a
// mounted, writable Btrfs without device errors, and the embedded image,
// if any, is mounted and has room to grow. It mounts nothing.
func check(ctx context.Context, cfg storage.Config) storage.Health {
	var h storage.Health
	if cfg.Image != "" {
		if ok, err := IsMounted(cfg.Path); err != nil || !ok {
			if _, err := os.Stat(cfg.Image); err != nil {
				h.Add("pool.mounted", storage.StatusFail, "the embedded pool image "+cfg.Image+" is missing",
					"restore it from a backup; or remove the home's config.json and run ditto init and ditto reseed again")
			} else {
				h.Add("pool.mounted", storage.StatusWarn, fmt.Sprintf("the embedded pool image %s is not mounted at %s (after a reboot)", cfg.Image, cfg.Path),
					"any ditto command mounts it on demand (ditto status); ditto-pool.service does it at boot")
			}
			h.Unready = "the pool is not mounted"
			return h
		}
	}
	var st unix.Statfs_t
	if err := unix.Statfs(cfg.Path, &st); err != nil || st.Type != unix.BTRFS_SUPER_MAGIC {
		detail := fmt.Sprintf("%s is not on a mounted Btrfs filesystem", cfg.Path)
		if err != nil {
			detail = fmt.Sprintf("%s: %v", cfg.Path, err)
		}
		h.Add("pool.mounted", storage.StatusFail, detail, "mount the Btrfs filesystem that holds it (see /etc/fstab and dmesg)")
		h.Unready = "the pool is not mounted"
		return h
	}
	h.Add("pool.mounted", storage.StatusOK, "Btrfs mounted at "+cfg.Path, "")
	if st.Flags&unix.ST_RDONLY != 0 {
		h.Add("pool.health", storage.StatusFail, cfg.Path+" is mounted read-only (Btrfs turns read-only after an error)",
			"look at dmesg; unmount it and run btrfs check on its device")
	} else {
		h.Findings = append(h.Findings, deviceStats(ctx, cfg.Path))
	}
	if cfg.Image != "" {
		if f, ok := imageRoom(cfg.Image); ok {
			h.Findings = append(h.Findings, f)
		}
	}
	return h
}

// deviceStats reads the error counters of the pool's devices.
func deviceStats(ctx context.Context, mnt string) storage.Finding {
	f := storage.Finding{Name: "pool.health", Status: storage.StatusOK}
	bin, err := tool("btrfs", "btrfs-progs")
	if err != nil {
		f.Detail = "mounted read-write (device error counters not read: btrfs-progs missing)"
		return f
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "device", "stats", "--check", mnt).CombinedOutput()
	if err == nil {
		f.Detail = "mounted read-write, no device errors (btrfs device stats)"
		return f
	}
	bad := deviceErrors(string(out))
	if len(bad) == 0 {
		f.Status, f.Detail, f.Fix = storage.StatusWarn, "btrfs device stats failed: "+strings.TrimSpace(string(out)), "run btrfs device stats "+mnt
		return f
	}
	f.Status, f.Detail = storage.StatusFail, "device errors: "+strings.Join(bad, ", ")
	f.Fix = "look at dmesg and the disk; after fixing, btrfs device stats -z " + mnt + " resets the counters"
	return f
}

// deviceErrors returns the counters that are not 0 in the output of
// `btrfs device stats`, such as "[/dev/loop0].write_io_errs 3".
func deviceErrors(out string) []string {
	var bad []string
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[1] != "0" {
			bad = append(bad, f[0]+" "+f[1])
		}
	}
	return bad
}

// imageRoom warns when the sparse image may grow beyond the free space of
// the filesystem that holds it: writes in copies would then fail with I/O
// errors instead of a clean "no space". It reports nothing when it cannot
// tell.
func imageRoom(img string) (storage.Finding, bool) {
	fi, err := os.Stat(img)
	if err != nil {
		return storage.Finding{}, false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	var host unix.Statfs_t
	if !ok || unix.Statfs(filepath.Dir(img), &host) != nil {
		return storage.Finding{}, false
	}
	allocated := uint64(st.Blocks) * 512
	growth := uint64(0)
	if uint64(fi.Size()) > allocated {
		growth = uint64(fi.Size()) - allocated
	}
	free := host.Bavail * uint64(host.Bsize)
	if free < growth {
		return storage.Finding{Name: "pool.image", Status: storage.StatusWarn,
			Detail: fmt.Sprintf("the sparse image %s may still grow by %s, but its filesystem has %s free",
				img, storage.HumanBytes(growth), storage.HumanBytes(free)),
			Fix: "free space on " + filepath.Dir(img) + ", or keep fewer or smaller copies"}, true
	}
	return storage.Finding{Name: "pool.image", Status: storage.StatusOK,
		Detail: fmt.Sprintf("image uses %s of %s; its filesystem has %s free",
			storage.HumanBytes(allocated), storage.HumanBytes(uint64(fi.Size())), storage.HumanBytes(free))}, true
}
