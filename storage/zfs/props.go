package zfs

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/dittodb/ditto/storage"
)

// ZFS user properties that carry ditto's metadata, so that `zfs get -r
// all POOL/PATH` alone explains every dataset and gc can reconcile after a
// crash. Only a value set on the dataset itself (source "local") counts:
// user properties are inherited by child datasets.
const (
	propRole   = "ditto:role"   // building, golden or copy
	propName   = "ditto:name"   // generation ID or copy ID
	propOrigin = "ditto:origin" // for a copy: the golden generation it was cloned from
)

// snapshotName is the snapshot of a golden dataset that copies clone.
const snapshotName = "golden"

// containers are the child datasets of the parent that hold the volumes of
// each kind; the same names are the folders under the mount base.
var containers = map[storage.Kind]string{
	storage.KindBuilding: "building",
	storage.KindGolden:   "golden",
	storage.KindCopy:     "copies",
}

// nameChars are the names ditto may use as a component of a dataset: a
// subset of what ZFS allows, with no '@', '/', '%' or spaces. The length is
// checked apart (validName): a {0,127} in the pattern compiles into a
// program of 128 states, paid at every start of ditto, daemon clients too.
var nameChars = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]*$`)

func validName(name string) bool { return len(name) <= 128 && nameChars.MatchString(name) }

func checkName(what, name string) error {
	if !validName(name) {
		return fmt.Errorf("invalid %s name %q: use letters, digits, '_', '.', ':' or '-' (at most 128, starting with a letter or digit)", what, name)
	}
	return nil
}

// checkParent validates POOL/PATH.
func checkParent(parent string) error {
	if parent == "" {
		return fmt.Errorf("no ZFS dataset given: pass POOL/PATH (for example tank/ditto) with --dataset")
	}
	for _, c := range strings.Split(parent, "/") {
		if !validName(c) {
			return fmt.Errorf("invalid ZFS dataset %q: expected POOL/PATH made of letters, digits, '_', '.', ':' or '-'", parent)
		}
	}
	return nil
}

// prop is one property value and where it comes from (local, inherited
// from ..., default, received, -).
type prop struct {
	value, source string
}

// dsProps maps property names to values of one dataset.
type dsProps map[string]prop

// local returns the value of property p if it is set on the dataset itself.
func (d dsProps) local(p string) (string, bool) {
	v, ok := d[p]
	if !ok || (v.source != "local" && v.source != "received") {
		return "", false
	}
	return v.value, true
}

// kind returns the ditto kind of the dataset, and false when it is not one
// of ditto's volumes. The role must match exactly.
func (d dsProps) kind() (storage.Kind, bool) {
	role, ok := d.local(propRole)
	if !ok {
		return "", false
	}
	switch k := storage.Kind(role); k {
	case storage.KindBuilding, storage.KindGolden, storage.KindCopy:
		return k, true
	}
	return "", false
}

// volume converts the properties of dataset ds into a Volume.
func (d dsProps) volume(ds string) (storage.Volume, bool) {
	k, ok := d.kind()
	if !ok {
		return storage.Volume{}, false
	}
	name, ok := d.local(propName)
	if !ok || name == "" {
		name = path.Base(ds)
	}
	v := storage.Volume{Kind: k, Name: name}
	if mp := d["mountpoint"].value; strings.HasPrefix(mp, "/") {
		v.Path = mp
	}
	if k == storage.KindCopy {
		v.Origin, _ = d.local(propOrigin)
	}
	return v, true
}

// parseGet parses the output of `zfs get -H -p -o name,property,value,source`
// (tab-separated, one property per line) into properties per dataset, in the
// order the datasets first appear.
func parseGet(out []byte) ([]string, map[string]dsProps, error) {
	var order []string
	all := map[string]dsProps{}
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		if line == "" {
			continue
		}
		f := strings.SplitN(line, "\t", 4)
		if len(f) != 4 {
			return nil, nil, fmt.Errorf("unexpected line from zfs get: %q", line)
		}
		p, ok := all[f[0]]
		if !ok {
			p = dsProps{}
			all[f[0]] = p
			order = append(order, f[0])
		}
		p[f[1]] = prop{value: f[2], source: f[3]}
	}
	return order, all, nil
}

// volumesOf returns the ditto volumes among the datasets, sorted by kind
// then name.
func volumesOf(order []string, all map[string]dsProps) []storage.Volume {
	var vols []storage.Volume
	for _, ds := range order {
		if v, ok := all[ds].volume(ds); ok {
			vols = append(vols, v)
		}
	}
	rank := map[storage.Kind]int{storage.KindGolden: 0, storage.KindBuilding: 1, storage.KindCopy: 2}
	sort.SliceStable(vols, func(i, j int) bool {
		if vols[i].Kind != vols[j].Kind {
			return rank[vols[i].Kind] < rank[vols[j].Kind]
		}
		return vols[i].Name < vols[j].Name
	})
	return vols
}

// getProps runs `zfs get` for ditto's properties (plus mountpoint and type)
// on dataset ds, recursively when recursive is set, and returns them per
// dataset. go-zfs has no call for user properties with their source, so
// this one command is run directly (argument list, no shell).
func getProps(ctx context.Context, ds string, recursive bool) ([]string, map[string]dsProps, error) {
	args := []string{"get", "-H", "-p", "-t", "filesystem", "-o", "name,property,value,source"}
	if recursive {
		args = append(args, "-r")
	}
	args = append(args, strings.Join([]string{propRole, propName, propOrigin, "mountpoint", "type"}, ","), ds)
	out, err := run(ctx, "zfs", args...)
	if err != nil {
		return nil, nil, err
	}
	return parseGet(out)
}

// run runs a zfs or zpool command and returns its standard output.
func run(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, &cmdError{args: append([]string{name}, args...), stderr: stderr.String(), err: err}
	}
	return stdout.Bytes(), nil
}
