package postgres

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// inspectPlain reads the comments pg_dump puts at the top of SQL output,
// and the database name when the dump creates its database (pg_dump -C).
func inspectPlain(r io.Reader, path string, f Format) (DumpInfo, error) {
	info := DumpInfo{Path: path, Format: f}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for i := 0; i < 500; i++ {
		if !sc.Scan() {
			if err := sc.Err(); err != nil && err != bufio.ErrTooLong {
				return DumpInfo{}, fmt.Errorf("dump %s: %v; it may be truncated or corrupt: make it again with pg_dump", path, err)
			}
			break
		}
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "-- Dumped from database version "); ok {
			info.ServerVersion, info.ServerMajor = shortVersion(v)
		} else if v, ok := strings.CutPrefix(line, "-- Dumped by pg_dump version "); ok {
			info.DumperVersion, info.DumperMajor = shortVersion(v)
		} else if v, ok := strings.CutPrefix(line, "CREATE DATABASE "); ok {
			info.Database, _ = readIdent(v)
		} else if strings.HasPrefix(line, `\connect `) || strings.HasPrefix(line, "COPY ") || strings.HasPrefix(line, "CREATE TABLE ") {
			break // past the preamble
		}
	}
	return info, nil
}

// readIdent reads one SQL identifier at the start of s, double-quoted or
// plain (folded to lower case, as PostgreSQL does), and returns it with the
// rest of s.
func readIdent(s string) (string, string) {
	if strings.HasPrefix(s, `"`) {
		var b strings.Builder
		for i := 1; i < len(s); i++ {
			if s[i] != '"' {
				b.WriteByte(s[i])
			} else if i+1 < len(s) && s[i+1] == '"' {
				b.WriteByte('"')
				i++
			} else {
				return b.String(), s[i+1:]
			}
		}
		return "", s // unterminated
	}
	i := 0
	for i < len(s) && isIdentByte(s[i]) {
		i++
	}
	return strings.ToLower(s[:i]), s[i:]
}

func isIdentByte(c byte) bool {
	return c == '_' || c == '$' || c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}
