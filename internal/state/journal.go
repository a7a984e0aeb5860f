package state

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Events is the folder of the copies' event journals.
func (l Layout) Events() string { return l.path("events") }

// EventsFile is copy id's event journal.
func (l Layout) EventsFile(id string) string { return filepath.Join(l.Events(), id+".jsonl") }

// AppendJSONLine appends v as one JSON line to the journal at path (mode
// 0600, created when missing), under an flock on the journal, so lines of
// concurrent writers never interleave. A journal that would grow past max
// bytes keeps its first line (what the journal is about) and the newest
// lines that fit in half of max: its size stays bounded whatever happens
// to the copy.
func AppendJSONLine(path string, v any, max int64) error {
	line, err := json.Marshal(v)
	if err != nil {
		return err
	}
	line = append(line, '\n')
	l, err := LockFile(path)
	if err != nil {
		return err
	}
	defer l.Unlock()
	f := l.File()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if last := make([]byte, 1); fi.Size() > 0 {
		// a line cut by a crash of the machine ends here, not in this one
		if _, err := f.ReadAt(last, fi.Size()-1); err == nil && last[0] != '\n' {
			line = append([]byte{'\n'}, line...)
		}
	}
	if fi.Size()+int64(len(line)) > max {
		return compact(f, line, max)
	}
	_, err = f.WriteAt(line, fi.Size())
	return err
}

// compact rewrites the journal f as its first line, the newest lines that
// fit in half of max, and line.
func compact(f *os.File, line []byte, max int64) error {
	b, err := io.ReadAll(io.NewSectionReader(f, 0, 1<<62))
	if err != nil {
		return err
	}
	first, rest, _ := bytes.Cut(b, []byte("\n"))
	keep := append(append([]byte{}, first...), '\n')
	if int64(len(keep)) > max/2 {
		keep = nil
	}
	budget := max/2 - int64(len(keep)) - int64(len(line))
	tail := rest
	for int64(len(tail)) > budget && len(tail) > 0 {
		_, after, found := bytes.Cut(tail, []byte("\n"))
		if !found {
			after = nil
		}
		tail = after
	}
	out := append(append(keep, tail...), line...)
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err = f.WriteAt(out, 0)
	return err
}

// ReadJSONLines reads the journal at path into a slice, skipping lines
// that do not parse (a write cut by a crash of the machine). A missing
// journal is fs.ErrNotExist.
func ReadJSONLines[T any](path string) ([]T, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	l, err := LockFile(path)
	if err != nil {
		return nil, err
	}
	defer l.Unlock()
	var out []T
	sc := bufio.NewScanner(io.NewSectionReader(l.File(), 0, 1<<62))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var v T
		if json.Unmarshal(sc.Bytes(), &v) == nil {
			out = append(out, v)
		}
	}
	if err := sc.Err(); err != nil && !errors.Is(err, fs.ErrClosed) {
		return out, err
	}
	return out, nil
}
