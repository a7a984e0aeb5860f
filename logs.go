package ditto

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"time"
)

// logPoll is how often a followed log is looked at for more.
const logPoll = 200 * time.Millisecond

// OpenLog opens copy id's server log. With follow, a read at its end waits
// for more until the copy is destroyed or ctx ends, then ends the log.
func (m *Manager) OpenLog(ctx context.Context, id string, follow bool) (io.ReadCloser, error) {
	c, err := m.GetCopy(id)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(c.LogFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errorf(CodeNotFound, "its server writes it once it starts: try again in a moment", "copy %s has no server log yet", id)
	}
	if err != nil {
		return nil, err
	}
	if !follow {
		return f, nil
	}
	gone := func() bool {
		_, err := m.GetCopy(id)
		return errors.Is(err, ErrNoCopy)
	}
	return &followedLog{ctx: ctx, f: f, gone: gone}, nil
}

// followedLog reads a log file and, at its end, waits for more.
type followedLog struct {
	ctx  context.Context
	f    *os.File
	gone func() bool
}

func (l *followedLog) Read(p []byte) (int, error) {
	for {
		n, err := l.f.Read(p)
		if n > 0 || !errors.Is(err, io.EOF) {
			return n, err
		}
		if l.gone() {
			// the last lines a dying server wrote are in the file still
			if n, err = l.f.Read(p); n > 0 {
				return n, nil
			}
			return 0, io.EOF
		}
		select {
		case <-l.ctx.Done():
			return 0, io.EOF
		case <-time.After(logPoll):
		}
	}
}

func (l *followedLog) Close() error { return l.f.Close() }
