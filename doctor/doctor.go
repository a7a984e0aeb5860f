// Package doctor is `ditto doctor`: it examines the machine and a state
// directory and says what ditto needs and what is wrong, each with its fix.
package doctor

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"

	"github.com/dittodb/ditto"
	"github.com/dittodb/ditto/postgres"
	"github.com/dittodb/ditto/sandbox"
)

// CheckStatus is the outcome of one doctor check.
type CheckStatus string

const (
	CheckOK   CheckStatus = "ok"
	CheckWarn CheckStatus = "warn" // ditto works, but something deserves a look
	CheckFail CheckStatus = "fail" // ditto cannot work here until this is fixed
	CheckSkip CheckStatus = "skip" // does not apply to this machine or pool
)

// Check is one line of `ditto doctor`.
type Check struct {
	Name   string      `json:"name"`
	Status CheckStatus `json:"status"`
	Detail string      `json:"detail"`
	Fix    string      `json:"fix,omitempty"`
}

// Report is what `ditto doctor` found.
type Report struct {
	Home    string  `json:"home"`
	Backend string  `json:"backend"` // configured, or the default before init
	OK      bool    `json:"ok"`      // no check failed
	Checks  []Check `json:"checks"`
}

// Count returns how many checks have status s.
func (r *Report) Count(s CheckStatus) int {
	n := 0
	for _, c := range r.Checks {
		if c.Status == s {
			n++
		}
	}
	return n
}

// goldenOldAfter is the golden age from which doctor suggests a reseed.
const goldenOldAfter = 7 * 24 * time.Hour

// Run examines the machine, the state directory homeDir and the daemon at
// server (unix:///PATH; "" for the default socket) and reports what ditto
// needs and what is wrong, each with its fix. It changes nothing
// that matters: it does not create a missing state directory or mount the
// embedded pool (every other command does that on demand), and it only
// opens a pool that is already mounted, as every command does.
func Run(ctx context.Context, homeDir, server string, log hclog.Logger) *Report {
	d := &doctor{ctx: ctx, home: ditto.NewHome(homeDir), log: log}
	d.r.Home = homeDir
	d.loadConfig()
	d.r.Backend = d.cfg.Backend

	d.kernel()
	d.tools()
	d.permissions()
	d.confinement()
	d.limits()
	d.poolConfig()
	if d.haveCfg {
		d.pool()
	}
	d.golden()
	d.copies()
	d.daemonCheck(server)
	d.gcTimer()
	d.r.OK = d.r.Count(CheckFail) == 0
	return &d.r
}

type doctor struct {
	ctx     context.Context
	home    ditto.Home
	log     hclog.Logger
	r       Report
	cfg     ditto.Config
	cfgErr  error
	haveCfg bool
	m       *ditto.Manager // set once the pool is reachable without changing anything
	why     string         // why m is nil, for the checks that need the pool
	// daemonServes: a daemon of this version answers, and sweeps expired
	// copies itself
	daemonServes bool
}

func (d *doctor) add(name string, s CheckStatus, detail, fix string) {
	d.r.Checks = append(d.r.Checks, Check{Name: name, Status: s, Detail: detail, Fix: fix})
}

func (d *doctor) loadConfig() {
	d.cfg = ditto.DefaultConfig()
	if _, err := os.Stat(d.home.Config()); errors.Is(err, fs.ErrNotExist) {
		d.why = "no pool yet"
		return
	}
	cfg, err := d.home.LoadConfig()
	if err != nil {
		d.cfgErr, d.why = err, "the pool's settings are unreadable"
		return
	}
	d.cfg, d.haveCfg = cfg, true
}

// needs returns the status of a missing piece: a failure when the backend in
// use needs it, else a skip.
func (d *doctor) needs(backend string) CheckStatus {
	if d.cfg.Backend == backend {
		return CheckFail
	}
	return CheckSkip
}

func (d *doctor) kernel() {
	switch {
	case kernelFilesystem("btrfs"):
		d.add("kernel.btrfs", CheckOK, "Btrfs is in /proc/filesystems", "")
	case kernelModuleFile("btrfs"):
		d.add("kernel.btrfs", CheckOK, "the btrfs module is installed and loads on the first mount", "")
	default:
		d.add("kernel.btrfs", d.needs("btrfs"), "this kernel has no Btrfs (not in /proc/filesystems, no btrfs module)",
			"use a kernel with Btrfs (Debian's has it: modprobe btrfs), or ditto init --backend zfs")
	}

	var detail string
	switch _, errDev := os.Stat("/dev/zfs"); {
	case errDev == nil || exists("/sys/module/zfs"):
		v, _ := os.ReadFile("/sys/module/zfs/version")
		d.add("kernel.zfs", CheckOK, strings.TrimSpace("ZFS module loaded "+strings.TrimSpace(string(v))), "")
		return
	case kernelModuleFile("zfs"):
		detail = "the zfs module is installed but not loaded (no /dev/zfs)"
	default:
		detail = "no ZFS module (no /dev/zfs, no /sys/module/zfs)"
	}
	if d.cfg.Backend != "zfs" {
		d.add("kernel.zfs", CheckSkip, detail+"; only --backend zfs needs it", "")
		return
	}
	d.add("kernel.zfs", CheckFail, detail, "modprobe zfs; install it with apt-get install zfs-dkms zfsutils-linux (Debian contrib)")
}

// kernelFilesystem reports whether the running kernel lists fsType in
// /proc/filesystems.
func kernelFilesystem(fsType string) bool {
	b, err := os.ReadFile("/proc/filesystems")
	if err != nil {
		return false
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) > 0 && f[len(f)-1] == fsType {
			return true
		}
	}
	return false
}

// kernelModuleFile reports whether the running kernel has module name
// installed (loadable) or built in.
func kernelModuleFile(name string) bool {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return false
	}
	dir := filepath.Join("/lib/modules", unix.ByteSliceToString(u.Release[:]))
	if b, err := os.ReadFile(filepath.Join(dir, "modules.builtin")); err == nil &&
		bytes.Contains(b, []byte("/"+name+".ko\n")) {
		return true
	}
	for _, pattern := range []string{
		filepath.Join("kernel/fs", name, name+".ko*"), // Debian's btrfs
		filepath.Join("updates/dkms", name+".ko*"),    // zfs-dkms
		filepath.Join("extra", name+".ko*"),
		filepath.Join("extra/*", name+".ko*"),
	} {
		if m, _ := filepath.Glob(filepath.Join(dir, pattern)); len(m) > 0 {
			return true
		}
	}
	return false
}

func (d *doctor) tools() {
	mkfs, err1 := findTool("mkfs.btrfs")
	btrfsCmd, err2 := findTool("btrfs")
	if err := errors.Join(err1, err2); err != nil {
		d.add("tools.btrfs-progs", d.needs("btrfs"), "btrfs-progs missing: "+err.Error(), "apt-get install btrfs-progs")
	} else {
		d.add("tools.btrfs-progs", CheckOK, firstLine(toolOutput(d.ctx, btrfsCmd, "--version"))+" ("+filepath.Dir(mkfs)+")", "")
	}

	zfsCmd, err1 := findTool("zfs")
	_, err2 = findTool("zpool")
	if err := errors.Join(err1, err2); err != nil {
		if d.cfg.Backend == "zfs" {
			d.add("tools.zfs", CheckFail, "zfsutils missing: "+err.Error(), "apt-get install zfsutils-linux (Debian contrib)")
		} else {
			d.add("tools.zfs", CheckSkip, "zfs and zpool not installed; only --backend zfs needs them", "")
		}
	} else {
		d.add("tools.zfs", CheckOK, zfsVersion(d.ctx, zfsCmd)+" ("+filepath.Dir(zfsCmd)+")", "")
	}

	bins, err := postgres.FindBins(d.cfg.PGBin)
	if err != nil {
		d.add("tools.postgresql", CheckFail, err.Error(), "apt-get install postgresql-15 postgresql-client-15, or ditto init --pg-bin DIR")
		return
	}
	var found, missing []string
	for _, b := range bins {
		found = append(found, fmt.Sprintf("%s (%s)", b.Version, b.Dir))
		for _, tool := range []string{"postgres", "initdb", "pg_controldata", "pg_restore", "pg_dump", "psql"} {
			if !exists(b.Path(tool)) {
				missing = append(missing, b.Path(tool))
			}
		}
	}
	detail := "PostgreSQL " + strings.Join(found, ", ")
	if len(missing) > 0 {
		d.add("tools.postgresql", CheckWarn, detail+"; missing "+strings.Join(missing, ", "),
			fmt.Sprintf("apt-get install postgresql-%d postgresql-client-%d", bins[0].Major, bins[0].Major))
		return
	}
	d.add("tools.postgresql", CheckOK, detail, "")
}

// findTool looks a program up on PATH and in the sbin folders a non-root
// PATH often lacks.
func findTool(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found", name)
}

// zfsVersion reads the userland version from `zfs --version`, which also
// prints the kernel module's version, or complains that there is none.
func zfsVersion(ctx context.Context, zfsCmd string) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, zfsCmd, "--version").Output()
	for _, line := range strings.Fields(string(out)) {
		if strings.HasPrefix(line, "zfs-") && !strings.HasPrefix(line, "zfs-kmod-") {
			return line
		}
	}
	return "zfs and zpool installed"
}

// toolOutput runs a program briefly and returns its output, also when it
// exits non-zero (zfs version does without the module).
func toolOutput(ctx context.Context, name string, args ...string) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, name, args...).CombinedOutput()
	return strings.TrimSpace(string(out))
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func (d *doctor) permissions() {
	switch {
	case os.Geteuid() == 0:
		d.add("permissions", CheckOK, "running as root", "")
	case writable(d.home.Dir):
		d.add("permissions", CheckOK, fmt.Sprintf("not root, but %s is writable: enough for a pool on a Btrfs folder you own (the embedded image needs root to mount)", d.home.Dir), "")
	default:
		d.add("permissions", CheckFail, fmt.Sprintf("not root, and %s is not writable", d.home.Dir),
			"run ditto as root (sudo ditto ...), or use a state directory you own with --home DIR")
	}
	if u, err := postgres.LookupOSUser(d.cfg.PGUser); err != nil {
		d.add("permissions.pg-user", CheckFail, fmt.Sprintf("no OS user %q to run postgres", d.cfg.PGUser),
			"installing PostgreSQL creates the postgres user; or ditto init --pg-user USER")
	} else {
		d.add("permissions.pg-user", CheckOK, fmt.Sprintf("postgres runs as %s (uid %d)", u.Name, u.UID), "")
	}
}

// confinement reports whether copies' servers start sandboxed, and if
// not, why and how to get it.
func (d *doctor) confinement() {
	if d.cfg.Sandbox == ditto.SandboxOff {
		d.add("sandbox", CheckWarn, "off (ditto init --sandbox off): "+unconfined,
			"ditto init --sandbox on (applies to copy servers started from then on)")
		return
	}
	if err := sandbox.Probe(); err != nil {
		d.add("sandbox", CheckWarn, fmt.Sprintf("copies' servers start unconfined (sandbox: none): %v; %s", err, unconfined),
			"run ditto as root on a Linux kernel with mount, PID and IPC namespaces; inside a container, give it CAP_SYS_ADMIN (e.g. docker run --privileged)")
		return
	}
	if missing := sandbox.Missing(); missing != "" {
		d.add("sandbox", CheckWarn, "copies' servers start in their own mount, PID and IPC namespaces, but with "+missing+" (sandbox: partial)",
			"run ditto on a kernel with Landlock ABI 6 or later (Linux 6.12+, CONFIG_SECURITY_LANDLOCK=y, landlock listed in the lsm= boot parameter)")
		return
	}
	d.add("sandbox", CheckOK, fmt.Sprintf("copies' servers start in their own mount, PID and IPC namespaces, under Landlock ABI %d with its IPC scopes (sandbox: full)", sandbox.LandlockABI()), "")
}

const unconfined = "every copy's superuser can list and kill the other copies' servers, read and write their data and connect to them without their password"

// writable reports whether this process may create files in dir, or, while
// dir does not exist yet, in the nearest existing folder above it.
func writable(dir string) bool {
	for p := dir; ; p = filepath.Dir(p) {
		if err := unix.Access(p, unix.W_OK|unix.X_OK); err == nil {
			return true
		} else if !errors.Is(err, fs.ErrNotExist) || p == filepath.Dir(p) {
			return false
		}
	}
}

func (d *doctor) poolConfig() {
	c := d.cfg
	switch {
	case d.cfgErr != nil:
		fix := "fix or remove " + d.home.Config() + ", then ditto init"
		if errors.Is(d.cfgErr, fs.ErrPermission) || strings.Contains(d.cfgErr.Error(), "no permission") {
			fix = "run ditto doctor as root (sudo), like the other commands"
		}
		d.add("pool.config", CheckFail, d.cfgErr.Error(), fix)
	case !d.haveCfg:
		d.add("pool.config", CheckFail, "no ditto pool in "+d.home.Dir,
			"sudo ditto init (an embedded Btrfs pool), or pass --home / DITTO_HOME of an existing one")
	default:
		where := c.PoolPath + c.Dataset
		if c.Image != "" {
			where = fmt.Sprintf("embedded image %s (%s) at %s", c.Image, ditto.HumanBytes(uint64(c.ImageSize)), c.PoolPath)
		}
		d.add("pool.config", CheckOK, fmt.Sprintf("%s backend, %s, ports %d-%d, free-space floor %s",
			c.Backend, where, c.PortMin, c.PortMax, ditto.HumanBytes(uint64(c.MinFree))), "")
	}
}

// pool runs the backend's own check of the pool (mounted or imported,
// healthy, room for the embedded image), which changes nothing, then opens
// it for the golden check when opening changes nothing either.
func (d *doctor) pool() {
	m, err := ditto.Inspect(d.home, d.cfg, d.log)
	if err != nil {
		d.why = "no postgres user"
		return
	}
	h, err := m.CheckPool(d.ctx)
	if err != nil {
		d.add("pool.health", CheckFail, err.Error(), "use --backend btrfs or --backend zfs with ditto init")
		d.why = "unknown backend"
		return
	}
	for _, f := range h.Findings {
		d.add(f.Name, CheckStatus(f.Status), f.Detail, f.Fix)
	}
	if h.Unready != "" {
		d.why = h.Unready
		return
	}
	if err := m.OpenPool(d.ctx); err != nil {
		d.add("pool.open", CheckFail, err.Error(), "see the pool checks above")
		d.why = "the pool cannot be opened"
		return
	}
	d.m = m
	d.space()
}

func (d *doctor) space() {
	u, err := d.m.Usage(d.ctx)
	if err != nil {
		d.add("pool.space", CheckFail, err.Error(), "see the pool checks above")
		return
	}
	floor := uint64(d.cfg.MinFree)
	detail := fmt.Sprintf("%s free of %s (floor %s)", ditto.HumanBytes(u.Free), ditto.HumanBytes(u.Size), ditto.HumanBytes(floor))
	switch {
	case u.Free < floor:
		d.add("pool.space", CheckFail, detail+": new copies are refused",
			"destroy copies (ditto copy list, ditto copy destroy ID), run ditto gc, or lower the floor (ditto init --min-free SIZE)")
	case ditto.LowOnSpace(u.Free, d.cfg.MinFree):
		d.add("pool.space", CheckWarn, detail+": close to the floor; once the pool is full, the servers of running copies stop for want of WAL space",
			"destroy copies you no longer need and run ditto gc")
	default:
		d.add("pool.space", CheckOK, detail, "")
	}
}

func (d *doctor) golden() {
	if !d.haveCfg {
		d.add("golden", CheckSkip, "no golden: "+d.why, "")
		return
	}
	gen, err := d.home.CurrentGeneration()
	if errors.Is(err, ditto.ErrNoGolden) {
		d.add("golden", CheckFail, "no golden yet", "sudo ditto reseed --dump FILE (or --source-url URL)")
		return
	}
	if err != nil {
		d.add("golden", CheckFail, err.Error(), "run ditto doctor as root (sudo)")
		return
	}
	if d.m == nil {
		d.add("golden", CheckSkip, fmt.Sprintf("current golden %s; details unknown: %s", gen, d.why), "")
		return
	}
	g, err := d.m.CurrentGolden(d.ctx)
	if err != nil {
		d.add("golden", CheckFail, err.Error(), "sudo ditto reseed")
		return
	}
	age := time.Since(g.CreatedAt)
	detail := fmt.Sprintf("%s, %s old, from %s (%s)", g, humanAge(age), g.Source, g.Format)
	if _, err := g.Bin(); err != nil {
		d.add("golden", CheckFail, detail+": "+err.Error(), fmt.Sprintf("apt-get install postgresql-%d, or reseed", g.PGMajor))
		return
	}
	if age > goldenOldAfter {
		d.add("golden", CheckWarn, detail, "reseed regularly (a nightly ditto reseed) so copies look like today's data")
		return
	}
	d.add("golden", CheckOK, detail, "")
}

func humanAge(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%d days", int(d.Hours()/24))
	case d >= time.Hour:
		return d.Round(time.Minute).String()
	default:
		return d.Round(time.Second).String()
	}
}

// copies looks for copies that nothing serves or that gc would remove: a
// server that died, a TTL that passed, a `copy run` that is gone.
func (d *doctor) copies() {
	if !d.haveCfg {
		d.add("copies", CheckSkip, "no copies: "+d.why, "")
		return
	}
	copies, damaged, err := d.home.ListCopies()
	if errors.Is(err, fs.ErrNotExist) {
		d.add("copies", CheckOK, "no copies", "")
		return
	}
	if err != nil {
		d.add("copies", CheckFail, err.Error(), "run ditto doctor as root (sudo)")
		return
	}
	now := time.Now()
	var running int
	var collectable, down []string
	for _, p := range damaged {
		collectable = append(collectable, filepath.Base(p)+" (damaged record)")
	}
	for _, c := range copies {
		alive := c.Running()
		if alive {
			running++
		}
		switch why := c.StaleReason(now); {
		case c.Expired(now):
			collectable = append(collectable, fmt.Sprintf("%s (TTL passed %s ago)", c.ID, humanAge(now.Sub(c.ExpiresAt))))
		case why != "": // its owner, or the ditto process working on it, is gone
			collectable = append(collectable, fmt.Sprintf("%s (%s)", c.ID, why))
		case c.State == ditto.StateReady && !alive:
			down = append(down, c.ID+" (server down)")
		case c.State != ditto.StateReady && (c.Busy == nil || !c.Busy.Alive()):
			down = append(down, fmt.Sprintf("%s (stuck %s)", c.ID, c.State))
		}
	}
	detail := fmt.Sprintf("%d %s, %d running", len(copies), plural(len(copies), "copy", "copies"), running)
	if len(collectable)+len(down) == 0 {
		d.add("copies", CheckOK, detail+", none stale", "")
		return
	}
	var fixes []string
	if len(collectable) > 0 {
		fixes = append(fixes, "ditto gc removes "+plural(len(collectable), "the expired or abandoned one", "the expired or abandoned ones")+
			" (ditto-gc.timer does it every few minutes)")
	}
	if len(down) > 0 {
		fixes = append(fixes, "ditto copy start ID brings a copy whose server died back with its data (ditto gc does that by itself once the pool is above its floor), "+
			"ditto copy reset ID starts it afresh from the golden, ditto copy destroy ID removes it (its log: "+d.home.Logs()+"/ID.log)")
	}
	d.add("copies", CheckWarn, detail+"; stale: "+strings.Join(append(collectable, down...), ", "), strings.Join(fixes, "; "))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// gcTimer reports whether systemd runs `ditto gc` regularly.
func (d *doctor) gcTimer() {
	if d.daemonServes {
		d.add("gc-timer", CheckSkip, "not needed: the daemon removes expired and abandoned copies itself", "")
		return
	}
	if !exists("/run/systemd/system") {
		d.add("gc-timer", CheckSkip, "systemd is not running here; run ditto gc from cron or your CI to enforce TTLs", "")
		return
	}
	systemctl, err := findTool("systemctl")
	if err != nil {
		d.add("gc-timer", CheckSkip, "systemctl not found", "")
		return
	}
	ctx, cancel := context.WithTimeout(d.ctx, 10*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, systemctl, "is-active", "ditto-gc.timer").Output()
	if state := strings.TrimSpace(string(out)); state != "active" {
		d.add("gc-timer", CheckWarn, "ditto-gc.timer is "+state+": nothing enforces TTLs while nobody runs ditto",
			"scripts/install-systemd.sh installs and starts it")
		return
	}
	d.add("gc-timer", CheckOK, "ditto-gc.timer is active", "")
}
