package btrfs

/*
#include <linux/btrfs.h>
#include <linux/btrfs_tree.h>
*/
import "C"

import (
	"fmt"
	"os"
	"path/filepath"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Btrfs calls that containerd/btrfs lacks or makes slow. GET_SUBVOL_INFO
// (Linux 4.18+) is used instead of btrfs.SubvolInfo because that one runs a
// tree search, which needs root, and guesses the mount point by string
// prefix.

// subvol is what ditto needs to know about one subvolume.
type subvol struct {
	UUID, ParentUUID [16]byte
	ReadOnly         bool
}

func subvolInfo(path string) (subvol, error) {
	var a C.struct_btrfs_ioctl_get_subvol_info_args
	if err := ioctl(path, "GET_SUBVOL_INFO", C.BTRFS_IOC_GET_SUBVOL_INFO, unsafe.Pointer(&a)); err != nil {
		return subvol{}, err
	}
	var v subvol
	copy(v.UUID[:], C.GoBytes(unsafe.Pointer(&a.uuid[0]), 16))
	copy(v.ParentUUID[:], C.GoBytes(unsafe.Pointer(&a.parent_uuid[0]), 16))
	// These are root item flags, not the SUBVOL_GETFLAGS ones.
	v.ReadOnly = a.flags&C.BTRFS_ROOT_SUBVOL_RDONLY != 0
	return v, nil
}

// hasParent reports whether v was snapshotted from p.
func (v subvol) hasParent(p subvol) bool {
	return v.ParentUUID != [16]byte{} && v.ParentUUID == p.UUID
}

// snapDestroy deletes the subvolume at path with one ioctl. btrfs.SubvolDelete
// first walks the whole tree looking for nested subvolumes, a cost that
// grows with the number of files; ditto never nests
// subvolumes, and if someone did the kernel answers ENOTEMPTY.
func snapDestroy(path string) error {
	dir, name := filepath.Split(path)
	var a C.struct_btrfs_ioctl_vol_args
	if len(name) >= len(a.name) {
		return fmt.Errorf("subvolume name %q is too long", name)
	}
	for i := 0; i < len(name); i++ {
		a.name[i] = C.char(name[i])
	}
	err := ioctl(dir, "SNAP_DESTROY", C.BTRFS_IOC_SNAP_DESTROY, unsafe.Pointer(&a))
	if pe, ok := err.(*os.PathError); ok {
		pe.Path = path // name the volume, not its folder
	}
	return err
}

// clearReadOnly makes a read-only subvolume writable, which some kernels
// and mount options require before it may be deleted.
func clearReadOnly(path string) error {
	var flags C.__u64
	if err := ioctl(path, "SUBVOL_GETFLAGS", C.BTRFS_IOC_SUBVOL_GETFLAGS, unsafe.Pointer(&flags)); err != nil {
		return err
	}
	flags &^= C.BTRFS_SUBVOL_RDONLY
	return ioctl(path, "SUBVOL_SETFLAGS", C.BTRFS_IOC_SUBVOL_SETFLAGS, unsafe.Pointer(&flags))
}

func ioctl(path, name string, req uintptr, arg unsafe.Pointer) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, f.Fd(), req, uintptr(arg)); errno != 0 {
		return &os.PathError{Op: "ioctl BTRFS_IOC_" + name, Path: path, Err: errno}
	}
	return nil
}
