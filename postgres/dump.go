package postgres

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
	"unicode/utf8"
)

// Format is the kind of a pg_dump output.
type Format string

const (
	FormatCustom    Format = "custom"     // pg_dump -Fc
	FormatDirectory Format = "directory"  // pg_dump -Fd
	FormatTar       Format = "tar"        // pg_dump -Ft
	FormatPlain     Format = "plain"      // SQL text
	FormatPlainGzip Format = "plain-gzip" // SQL text, gzip-compressed
)

// IsArchive reports whether f is restored with pg_restore (not psql).
func (f Format) IsArchive() bool {
	return f == FormatCustom || f == FormatDirectory || f == FormatTar
}

// DumpInfo is what a dump says about itself.
type DumpInfo struct {
	Path          string
	Format        Format
	Database      string // from the archive header or a plain dump's CREATE DATABASE; "" if unknown
	DumperVersion string // pg_dump that made it, like "15.18"; "" if unknown
	DumperMajor   int
	ServerVersion string // server it was dumped from
	ServerMajor   int
	Created       time.Time // archives only
}

// InspectDump detects the format of the dump at path from its content, not
// its name, and reads its header.
func InspectDump(path string) (DumpInfo, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return DumpInfo{}, fmt.Errorf("dump %s: %w; pass the path of a pg_dump output", path, err)
	}
	if fi.IsDir() {
		f, err := os.Open(filepath.Join(path, "toc.dat"))
		if err != nil {
			return DumpInfo{}, fmt.Errorf("%s is a directory but not a directory-format dump (no readable toc.dat inside: %v); pass a pg_dump -Fd directory or a dump file", path, err)
		}
		defer f.Close()
		return inspectArchive(f, path, FormatDirectory)
	}
	f, err := os.Open(path)
	if err != nil {
		return DumpInfo{}, fmt.Errorf("dump %s: %w", path, err)
	}
	defer f.Close()
	head := make([]byte, 512)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return DumpInfo{}, fmt.Errorf("dump %s: %w", path, err)
	}
	head = head[:n]
	whole := io.MultiReader(bytes.NewReader(head), f)
	switch {
	case n == 0:
		return DumpInfo{}, fmt.Errorf("dump %s is empty (0 bytes); make it again with pg_dump", path)
	case bytes.HasPrefix(head, []byte(archiveMagic)):
		return inspectArchive(whole, path, FormatCustom)
	case n >= 262 && string(head[257:262]) == "ustar":
		return inspectTar(whole, path)
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		z, err := gzip.NewReader(whole)
		if err != nil {
			return DumpInfo{}, fmt.Errorf("dump %s looks gzip-compressed but is not readable: %v; make it again with pg_dump", path, err)
		}
		return inspectPlain(z, path, FormatPlainGzip)
	case looksLikeText(head):
		return inspectPlain(whole, path, FormatPlain)
	}
	return DumpInfo{}, fmt.Errorf("%s is not a PostgreSQL dump: expected a pg_dump archive (custom, directory or tar format, starting with %q) or plain SQL text; pass a file made by pg_dump", path, archiveMagic)
}

func inspectArchive(r io.Reader, path string, f Format) (DumpInfo, error) {
	info, err := readArchiveHeader(bufio.NewReader(r), f)
	if err != nil {
		return DumpInfo{}, fmt.Errorf("dump %s: %w", path, err)
	}
	info.Path = path
	return info, nil
}

// inspectTar finds toc.dat, which pg_dump writes first into a tar archive.
func inspectTar(r io.Reader, path string) (DumpInfo, error) {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return DumpInfo{}, fmt.Errorf("%s is a tar archive but not a pg_dump tar-format dump (no toc.dat inside); pass a pg_dump -Ft file", path)
		}
		if err != nil {
			return DumpInfo{}, fmt.Errorf("dump %s: reading the tar archive: %v; it may be truncated or corrupt: make it again with pg_dump", path, err)
		}
		if h.Name == "toc.dat" {
			return inspectArchive(tr, path, FormatTar)
		}
	}
}

// looksLikeText accepts UTF-8 without NUL or other unusual control bytes.
func looksLikeText(b []byte) bool {
	for _, c := range b {
		if c < 0x20 && c != '\n' && c != '\r' && c != '\t' && c != '\f' {
			return false
		}
	}
	for i := 0; i < 3 && len(b) > 0 && !utf8.Valid(b); i++ {
		b = b[:len(b)-1] // a rune cut by the 512-byte window
	}
	return utf8.Valid(b)
}
