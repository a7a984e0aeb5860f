// Package ditto is the domain of ditto: the golden generations, the copies
// cloned from them, and the Manager that runs reseed, copy create, destroy,
// reset and gc on top of a storage backend and PostgreSQL processes.
package ditto

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/dittodb/ditto/internal/state"
)

// DefaultHome is the state directory when neither --home nor DITTO_HOME is set.
const DefaultHome = "/var/lib/ditto"

// DefaultGroup may use the daemon's socket unless `ditto init --group`
// chose another group.
const DefaultGroup = "ditto"

// Config is what `ditto init` chose. It lives in <home>/config.json, indented
// so a person can read it; every other command reads it, so that after init
// no flags are needed.
type Config struct {
	Backend string `json:"backend"` // "btrfs" or "zfs"
	// PoolPath is the Btrfs folder that holds the volumes.
	PoolPath string `json:"pool_path,omitempty"`
	// Image is the embedded pool's image file; empty when the user gave a pool.
	Image     string `json:"image,omitempty"`
	ImageSize int64  `json:"image_size,omitempty"`
	// Dataset is the ZFS parent dataset (POOL/PATH).
	Dataset string `json:"dataset,omitempty"`

	PGUser  string `json:"pg_user"`          // OS user that runs postgres
	PGBin   string `json:"pg_bin,omitempty"` // fixed binaries folder; empty = newest found
	Role    string `json:"role"`             // login role copies hand out
	Listen  string `json:"listen"`           // copies' listen_addresses
	PortMin int    `json:"port_min"`
	PortMax int    `json:"port_max"`
	// MinFree is the pool free-space floor, in bytes, below which new copies
	// are refused rather than filling the disk.
	MinFree int64 `json:"min_free"`
	// Group is the group whose members may use `ditto serve`'s socket;
	// empty: DefaultGroup.
	Group string `json:"group,omitempty"`
	// Sandbox is "on" (also when empty: homes made before it existed) or
	// "off": whether copies' servers start confined (package sandbox).
	Sandbox string `json:"sandbox,omitempty"`
	// Limits are the caps of a copy that its create leaves out.
	Limits Limits `json:"limits,omitzero"`
}

// SandboxOn and SandboxOff are the values of Config.Sandbox.
const (
	SandboxOn  = "on"
	SandboxOff = "off"
)

// DefaultConfig returns the settings ditto uses unless told otherwise.
func DefaultConfig() Config {
	pgUser := "postgres"
	if os.Geteuid() != 0 {
		pgUser = currentUserName()
	}
	return Config{
		Backend: "btrfs",
		PGUser:  pgUser,
		Role:    "ditto",
		Listen:  "127.0.0.1",
		PortMin: 5433,
		PortMax: 6432,
		MinFree: 1 << 30,
		Sandbox: SandboxOn,
	}
}

// ServeGroup is the group whose members may use the daemon's socket.
func (c Config) ServeGroup() string { return firstNonEmpty(c.Group, DefaultGroup) }

func (c Config) validate() error {
	if err := checkPortRange(c.PortMin, c.PortMax); err != nil {
		return err
	}
	switch c.Backend {
	case "btrfs", "zfs":
	default:
		return fmt.Errorf("unknown backend %q: use --backend btrfs or --backend zfs", c.Backend)
	}
	switch c.Sandbox {
	case "", SandboxOn, SandboxOff:
	default:
		return fmt.Errorf("unknown sandbox setting %q: use --sandbox on or --sandbox off", c.Sandbox)
	}
	if err := c.Limits.Validate(); err != nil {
		return fmt.Errorf("default limits: %w", err)
	}
	if c.Backend == "btrfs" && c.Limits.MaxSize > 0 {
		return errors.New("--max-size is not supported on Btrfs (its quota groups slow down every copy create and destroy on the whole filesystem): use --backend zfs, or leave --max-size out")
	}
	if c.Role == "" || c.PGUser == "" {
		return errors.New("role and pg user must not be empty")
	}
	return nil
}

// ParsePortRange parses "MIN-MAX".
func ParsePortRange(s string) (int, int, error) {
	lo, hi, ok := strings.Cut(s, "-")
	a, err1 := strconv.Atoi(strings.TrimSpace(lo))
	b, err2 := strconv.Atoi(strings.TrimSpace(hi))
	if !ok || err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("invalid port range %q: give --port-range MIN-MAX within 1024-65535, e.g. 5433-6432", s)
	}
	return a, b, checkPortRange(a, b)
}

// checkPortRange accepts unprivileged ports only: copies' servers run as
// the Postgres OS user, which cannot bind a port below 1024.
func checkPortRange(min, max int) error {
	switch {
	case min < 1024 && min <= max:
		return fmt.Errorf("invalid port range %d-%d: ports below 1024 are privileged and postgres runs unprivileged: give --port-range MIN-MAX within 1024-65535, e.g. 5433-6432", min, max)
	case max > 65535 || min > max:
		return fmt.Errorf("invalid port range %d-%d: give --port-range MIN-MAX within 1024-65535, e.g. 5433-6432", min, max)
	}
	return nil
}

// ParseSize parses a byte size such as "20G", "512M", "1GiB" or "1073741824".
func ParseSize(s string) (int64, error) {
	t := strings.TrimSuffix(strings.TrimSuffix(strings.ToUpper(strings.TrimSpace(s)), "IB"), "B")
	mult := int64(1)
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'K':
			mult = 1 << 10
		case 'M':
			mult = 1 << 20
		case 'G':
			mult = 1 << 30
		case 'T':
			mult = 1 << 40
		}
		if mult > 1 {
			t = t[:n-1]
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("invalid size %q: want a number with an optional K, M, G or T suffix, e.g. 20G", s)
	}
	return int64(v * float64(mult)), nil
}

// Home is the state directory: its layout, the copies' records and the
// config kept in it.
type Home struct {
	*state.Store[Copy, *Copy]
}

// tx is the state seen under the lock of one Home.Update.
type tx = state.Tx[Copy, *Copy]

// NewHome returns the state directory dir; it reads and creates nothing.
func NewHome(dir string) Home { return Home{state.Open[Copy](dir)} }

// errNoPool marks a state directory that `ditto init` has not set up.
var errNoPool = errors.New("no ditto pool")

// LoadConfig reads <home>/config.json; without it the pool does not exist yet.
func (h Home) LoadConfig() (Config, error) {
	c, err := h.readConfig()
	if err != nil {
		return c, err
	}
	return c, c.validate()
}

// readConfig reads <home>/config.json without validating it, so that init
// can repair a setting that a newer ditto no longer accepts.
func (h Home) readConfig() (Config, error) {
	var c Config
	if _, err := os.Stat(h.Dir); errors.Is(err, fs.ErrPermission) {
		return c, permissionError(h.Dir, err)
	}
	err := state.ReadJSON(h.Config(), &c)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return c, fmt.Errorf("%w in %s: run `ditto init` first (or pass --home / DITTO_HOME of an existing one)", errNoPool, h.Dir)
	case errors.Is(err, fs.ErrPermission):
		return c, permissionError(h.Config(), err)
	}
	return c, err
}

func (h Home) saveConfig(c Config) error {
	return state.WriteJSON(h.Config(), c, true)
}

func permissionError(path string, err error) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("no permission to use %s (%v): run ditto as root (sudo), or pick a state directory you own with --home", path, errors.Unwrap(err))
	}
	return fmt.Errorf("no permission to use %s: %w", path, err)
}
