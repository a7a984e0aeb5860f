package daemon

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"

	"go.yaml.in/yaml/v3"
)

// DefaultConfigFile is read by `ditto serve` when it exists and no
// --config is given.
const DefaultConfigFile = "/etc/ditto/serve.yaml"

// FileConfig is the daemon's config file (YAML). Flags of `ditto serve`
// override what it says. Secrets never appear in it inline.
type FileConfig struct {
	Socket     string `yaml:"socket"`
	Group      string `yaml:"group"`
	AdminGroup string `yaml:"admin_group"`
	// The TCP listener for other machines (see Options).
	APIListen string   `yaml:"api_listen"`
	TLSCert   string   `yaml:"tls_cert"`
	TLSKey    string   `yaml:"tls_key"`
	APIHosts  []string `yaml:"api_hosts"`
	MaxStarts int      `yaml:"max_starts"`
	MaxQueue  int      `yaml:"max_queue"`

	Reseed *ReseedConfig `yaml:"reseed"` // nil: no reseeds by the daemon
	// Warm is the number of warm copies kept ready; nil: warm.DefaultSize.
	Warm *int `yaml:"warm"`
}

// LoadConfig reads the config file at path. A missing file is an empty
// config when optional (the default path), an error otherwise; unknown
// keys are errors, so a typo never silently changes nothing.
func LoadConfig(path string, optional bool) (FileConfig, error) {
	var c FileConfig
	f, err := os.Open(path)
	if optional && errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("reading the daemon's config: %w", err)
	}
	defer f.Close()
	if err := checkConfigOwner(f); err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	dec := yaml.NewDecoder(f)
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return c, fmt.Errorf("%s: %w (see `ditto serve --help` for the keys)", path, err)
	}
	if c.Warm != nil && *c.Warm < 0 {
		return c, fmt.Errorf("%s: warm: %d: give a number of warm copies, 0 or more", path, *c.Warm)
	}
	return c, nil
}

// checkConfigOwner refuses a config that someone other than root (and
// the daemon's user) could change: it names the commands and files the
// daemon uses as root.
func checkConfigOwner(f *os.File) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("writable by others than its owner (mode %v): it says what the daemon runs as root; chmod go-w it", fi.Mode().Perm())
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() && st.Uid != 0 {
		return fmt.Errorf("owned by uid %d: it says what the daemon runs as root; chown root it", st.Uid)
	}
	return nil
}
