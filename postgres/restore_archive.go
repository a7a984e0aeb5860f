package postgres

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"

	"github.com/dittodb/ditto/internal/pgscript"
)

// restoreArchiveSections restores an archive in three steps: the schema
// (pg_restore --section=pre-data), every table's rows through psql
// sessions that load them frozen (and masked, with o.Data), then indexes
// and constraints (pg_restore --section=post-data). pg_restore alone
// cannot load rows frozen: its COPY statements come from the archive.
func restoreArchiveSections(ctx context.Context, o RestoreOptions) error {
	toc, err := archiveTOC(ctx, o)
	if err != nil {
		return err
	}
	p := newProgress(o.Log, o.Meter, "items", int64(len(toc)))
	defer p.stop()
	if err := restoreArchive(ctx, o, p, "pre-data"); err != nil {
		return err
	}
	if o.Data != nil {
		if err := o.Data.Check(ctx); err != nil {
			return err
		}
	}
	freeze, err := freezableTables(ctx, o)
	if err != nil {
		return err
	}
	if err := restoreArchiveData(ctx, o, p, toc, freeze); err != nil {
		return err
	}
	if err := restoreArchive(ctx, o, p, "post-data"); err != nil {
		return err
	}
	p.finish()
	return nil
}

// archiveTOC lists the entries of the archive's table of contents, as
// pg_restore -l prints them (the form pg_restore -L reads).
func archiveTOC(ctx context.Context, o RestoreOptions) ([]string, error) {
	cmd, closeFn, err := ArchiveCommand(ctx, o.Bin, o.User, o.Dump, "-l")
	if err != nil {
		return nil, err
	}
	defer closeFn()
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		return nil, toolError("pg_restore -l", o.Dump.Path, err, stderr, o.readHint())
	}
	var toc []string
	for _, l := range strings.Split(string(out), "\n") {
		if l != "" && l[0] != ';' {
			toc = append(toc, l)
		}
	}
	return toc, nil
}

// dataBatches splits the archive's data entries into batches for
// pg_restore -L, taken in turn by o.Jobs psql sessions: about eight per
// session, so that sessions finish close together without a pg_restore
// per table of a schema with thousands. The first batch also takes the
// data entries that are not table rows (sequence values, large objects).
func dataBatches(toc []string, jobs int) [][]string {
	var tables, other []string
	for _, l := range toc {
		if strings.Contains(l, " TABLE DATA ") {
			tables = append(tables, l)
		} else {
			other = append(other, l)
		}
	}
	size := max(1, (len(tables)+8*jobs-1)/(8*jobs))
	var batches [][]string
	for len(tables) > 0 || batches == nil {
		n := min(size, len(tables))
		batches = append(batches, tables[:n])
		tables = tables[n:]
	}
	batches[0] = append(other, batches[0]...)
	return batches
}

// restoreArchiveData loads the data section over min(o.Jobs, batches)
// psql sessions. The first session to fail stops the others; its error is
// the one returned.
func restoreArchiveData(ctx context.Context, o RestoreOptions, p *progress, toc []string, freeze tableSet) error {
	jobs := max(1, o.Jobs)
	batches := [][]string{toc} // a tar archive is read front to back: one pass
	if o.Dump.Format != FormatTar {
		batches = dataBatches(toc, jobs)
	}
	queue := make(chan []string, len(batches))
	for _, b := range batches {
		queue <- b
	}
	close(queue)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	feed := scriptFeed{freeze: freeze, onCopy: func(header []byte) {
		p.n.Add(1)
		p.at("processing data for table "+strings.TrimSpace(string(header)), true)
	}}
	for range min(jobs, len(batches)) {
		wg.Go(func() {
			if err := loadBatches(ctx, o, feed, queue); err != nil {
				once.Do(func() { first = err; cancel() })
			}
		})
	}
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		first = ctx.Err()
	}
	return first
}

// loadBatches runs one psql session and feeds it the batches it takes
// from the queue, one pg_restore --section=data -L each.
func loadBatches(ctx context.Context, o RestoreOptions, feed scriptFeed, queue <-chan []string) error {
	sc := pgscript.NewScanner() // psql's state runs on from one batch to the next
	tail, err, feedErr := runPsql(ctx, o, o.Database, func(w io.Writer) error {
		for batch := range queue {
			if err := loadBatch(ctx, o, feed, batch, w, sc); err != nil {
				return err
			}
		}
		return nil
	})
	var refused *pgscript.Refused
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.As(feedErr, &refused):
		return refusedError(o, "in what pg_restore prints of its data, ", refused)
	case feedErr != nil && !errors.Is(feedErr, errPsqlGone):
		return feedErr
	case err != nil:
		return toolError("psql", o.Dump.Path, err, tail, "")
	}
	return feedErr
}

// loadBatch pipes pg_restore --section=data of the batch's entries into w,
// through the masking filter when there is one.
func loadBatch(ctx context.Context, o RestoreOptions, feed scriptFeed, batch []string, w io.Writer, sc *pgscript.Scanner) error {
	list, err := os.CreateTemp("", "ditto-toc-*")
	if err != nil {
		return err
	}
	defer os.Remove(list.Name())
	_, err = list.WriteString(strings.Join(batch, "\n") + "\n")
	if cerr := list.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = chownMode(list.Name(), o.User, 0o600) // pg_restore, run as o.User, reads it
	}
	if err != nil {
		return err
	}
	cmd, closeFn, err := ArchiveCommand(ctx, o.Bin, o.User, o.Dump, "--section=data", "-L", list.Name(), "-f", "-")
	if err != nil {
		return err
	}
	defer closeFn()
	script, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	var feedErr error
	tail, err := runTool(cmd, nil, func() {
		var src io.Reader = script
		if o.Data != nil {
			var rows rowGuard
			src = &lineWatcher{r: script, see: rows.see}
		}
		feedErr = feedData(ctx, o, feed, src, w, sc)
		_, _ = io.Copy(io.Discard, script)
	})
	if err != nil && feedErr == nil {
		return toolError("pg_restore --section=data", o.Dump.Path, err, tail, o.readHint())
	}
	return feedErr
}

// restoreArchive runs pg_restore of one section (pre-data, post-data) into
// the database, reporting its steps to p.
func restoreArchive(ctx context.Context, o RestoreOptions, p *progress, section string) error {
	args := []string{"--exit-on-error", "--no-password", "--verbose", "--section=" + section,
		"-h", o.SocketDir, "-p", strconv.Itoa(o.Port), "-U", o.Superuser, "-d", o.Database}
	// pre-data is restored in one session anyway; a tar archive only so
	jobs := section == "post-data" && o.Jobs > 1 && o.Dump.Format != FormatTar
	// Each parallel worker opens the archive by its path.
	byPath := jobs && o.Dump.Format == FormatCustom && canRead(o.User, o.Dump.Path)
	if jobs && o.Dump.Format == FormatCustom && !byPath {
		o.Log.Info("restoring indexes and constraints in one session: parallel pg_restore opens the dump by its path, which the OS user running it cannot read",
			"dump", o.Dump.Path, "user", o.User.Name)
		jobs = false
	}
	if jobs {
		args = append(args, "--jobs", strconv.Itoa(o.Jobs))
	}
	var (
		cmd     *exec.Cmd
		closeFn = func() {}
		err     error
	)
	if byPath {
		cmd, err = toolCommand(ctx, o.Bin, o.User, "pg_restore", append(args, o.Dump.Path)...)
	} else {
		cmd, closeFn, err = ArchiveCommand(ctx, o.Bin, o.User, o.Dump, args...)
	}
	if err != nil {
		return err
	}
	defer closeFn()
	seen := map[string]bool{}
	tail, err := runTool(cmd, func(line string) {
		// Each entry of pg_restore -l shows as one such step; with --jobs
		// some are printed twice, so count each step once. Parallel
		// workers share stderr and a message may come in several writes,
		// so a step can sit anywhere in a line.
		step, table := restoreStep(line)
		if step != "" && !seen[step] {
			seen[step] = true
			p.n.Add(1)
			p.at(step, table)
		}
	}, nil)
	if err != nil {
		return toolError("pg_restore", o.Dump.Path, err, tail, o.readHint())
	}
	return nil
}

// restoreStep finds the step a pg_restore --verbose line reports, and
// whether it is a table's data.
func restoreStep(line string) (step string, table bool) {
	first := -1
	for _, prefix := range []string{"processing data for table ", "creating ", "executing "} {
		if i := strings.Index(line, prefix); i >= 0 && (first < 0 || i < first) {
			first = i
		}
	}
	if first < 0 {
		return "", false
	}
	step = line[first:]
	if j := strings.Index(step, "pg_restore: "); j > 0 {
		step = step[:j] // the next message, written into the same line
	}
	return step, strings.HasPrefix(step, "processing data for table ")
}
