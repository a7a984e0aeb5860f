package postgres

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// The archive header is pg_dump's own binary format; see ReadHead in
// PostgreSQL's src/bin/pg_dump/pg_backup_archiver.c.
const archiveMagic = "PGDMP"

// archiveVersion is MAKE_ARCHIVE_VERSION(major, minor, rev).
func archiveVersion(maj, min, rev byte) int { return (int(maj)*256+int(min))*256 + int(rev) }

var (
	vers1_2  = archiveVersion(1, 2, 0)
	vers1_4  = archiveVersion(1, 4, 0)
	vers1_7  = archiveVersion(1, 7, 0)
	vers1_10 = archiveVersion(1, 10, 0)
	vers1_15 = archiveVersion(1, 15, 0)
	// newest archive version understood (pg_dump 17 writes 1.16)
	versMax = archiveVersion(1, 16, 255)
)

// archFormat is the format byte of the header (archCustom, archTar). The
// toc.dat of a directory dump says tar too: pg_dump writes it that way.
var archFormat = map[Format]byte{FormatCustom: 1, FormatTar: 3, FormatDirectory: 3}

var errShortHeader = errors.New("the file ends inside the archive header: the dump is truncated; make it again with pg_dump")

type headReader struct {
	r       io.ByteReader
	version int
	intSize int
	err     error
}

func (h *headReader) byte() byte {
	if h.err != nil {
		return 0
	}
	b, err := h.r.ReadByte()
	if err != nil {
		h.err = errShortHeader
	}
	return b
}

// int reads a sign byte (after 1.0) and intSize little-endian bytes.
func (h *headReader) int() int {
	neg := h.version > archiveVersion(1, 0, 0) && h.byte() != 0
	n := 0
	for i := 0; i < h.intSize; i++ {
		n |= int(h.byte()) << (8 * i)
	}
	if neg {
		return -n
	}
	return n
}

func (h *headReader) str() string {
	n := h.int()
	if n <= 0 || h.err != nil {
		return "" // -1 is NULL
	}
	if n > 1<<16 {
		h.err = fmt.Errorf("implausible string length %d in the archive header: the dump is corrupt; make it again with pg_dump", n)
		return ""
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = h.byte()
	}
	return string(b)
}

// readArchiveHeader parses the header at the start of a custom file or of
// toc.dat (directory and tar formats).
func readArchiveHeader(r io.ByteReader, f Format) (DumpInfo, error) {
	h := &headReader{r: r}
	magic := make([]byte, len(archiveMagic))
	for i := range magic {
		magic[i] = h.byte()
	}
	if h.err == nil && string(magic) != archiveMagic {
		return DumpInfo{}, fmt.Errorf("no %q magic at the start of the archive header: not a pg_dump archive, or corrupt", archiveMagic)
	}
	maj, min := h.byte(), h.byte()
	var rev byte
	if maj > 1 || (maj == 1 && min > 0) {
		rev = h.byte()
	}
	if h.err != nil {
		return DumpInfo{}, h.err
	}
	h.version = archiveVersion(maj, min, rev)
	if h.version > versMax {
		return DumpInfo{}, fmt.Errorf("archive version %d.%d is newer than this ditto understands (up to 1.16): it was made by a newer pg_dump; upgrade ditto, or dump in plain format (pg_dump -Fp)", maj, min)
	}
	if maj < 1 {
		return DumpInfo{}, fmt.Errorf("unsupported archive version %d.%d: not a pg_dump archive, or corrupt", maj, min)
	}
	h.intSize = int(h.byte())
	if h.err == nil && (h.intSize < 1 || h.intSize > 8) {
		return DumpInfo{}, fmt.Errorf("implausible integer size %d in the archive header: the dump is corrupt; make it again with pg_dump", h.intSize)
	}
	if h.version >= vers1_7 {
		h.byte() // offset size
	}
	if got := h.byte(); h.err == nil && got != archFormat[f] {
		return DumpInfo{}, fmt.Errorf("the archive header says format %d but the file is laid out as %s format (%d): the dump is corrupt", got, f, archFormat[f])
	}
	switch {
	case h.version >= vers1_15:
		h.byte() // compression algorithm
	case h.version >= vers1_4:
		h.int() // compression level
	case h.version >= vers1_2:
		h.byte()
	}
	info := DumpInfo{Format: f}
	if h.version >= vers1_4 {
		var t [7]int // sec, min, hour, mday, mon, year, isdst
		for i := range t {
			t[i] = h.int()
		}
		info.Created = time.Date(t[5]+1900, time.Month(t[4]+1), t[3], t[2], t[1], t[0], 0, time.Local)
		info.Database = h.str()
	}
	if h.version >= vers1_10 {
		info.ServerVersion, info.ServerMajor = shortVersion(h.str())
		info.DumperVersion, info.DumperMajor = shortVersion(h.str())
	}
	if h.err != nil {
		return DumpInfo{}, h.err
	}
	return info, nil
}

// shortVersion turns "15.18 (Debian 15.18-0+deb12u1)" into "15.18", 15.
func shortVersion(s string) (string, int) {
	f := strings.Fields(s)
	if len(f) == 0 {
		return "", 0
	}
	major, _ := majorOf(f[0])
	return f[0], major
}
