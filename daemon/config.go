package daemon

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

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
