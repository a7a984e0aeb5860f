package maskcheck

import (
	"bufio"
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dittodb/ditto"
	"github.com/dittodb/ditto/internal/pgscript"
	"github.com/dittodb/ditto/mask"
	"github.com/dittodb/ditto/postgres"
)

// errSchemaRead stops mask check's restore once the schema is read, before
// any row is loaded.
var errSchemaRead = errors.New("schema read; no data loaded")

// dumpSchema reads a dump's schema by restoring its pre-data section into a
// throw-away server, and with o.Sample samples the dump's COPY data as it
// streams past, without loading it anywhere.
func dumpSchema(ctx context.Context, o Options, cfg ditto.Config) (*mask.Schema, mask.Samples, error) {
	info, err := postgres.InspectDump(o.DumpPath)
	if err != nil {
		return nil, nil, err
	}
	bins, err := postgres.FindBins(cmp.Or(o.PGBin, cfg.PGBin))
	if err != nil {
		return nil, nil, err
	}
	bin, err := postgres.PickBin(bins, max(info.DumperMajor, info.ServerMajor))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", o.DumpPath, err)
	}
	u, err := postgres.LookupOSUser(cfg.PGUser)
	if err != nil {
		return nil, nil, err
	}
	schema, err := restoreSchema(ctx, bin, u, info, cfg.Role, o.Log)
	if err != nil {
		return nil, nil, err
	}
	if o.Sample == 0 {
		return schema, nil, nil
	}
	samples, err := sampleDump(ctx, bin, u, info, schema, o.Sample, o.Log)
	return schema, samples, err
}

// restoreSchema restores the dump's schema into a new cluster in a private
// temporary folder and reads it from the catalog. The DataFilter's check
// stops the restore before any data; server and folder are removed on every
// path out.
func restoreSchema(ctx context.Context, bin postgres.Bin, u postgres.OSUser, info postgres.DumpInfo, role string, log hclog.Logger) (_ *mask.Schema, err error) {
	tmp, err := os.MkdirTemp("", "ditto-mask-")
	if err != nil {
		return nil, fmt.Errorf("mask check: temporary folder: %w; set TMPDIR to a writable folder", err)
	}
	defer func() {
		if rerr := os.RemoveAll(tmp); rerr != nil && err == nil {
			err = rerr
		}
	}()
	if os.Geteuid() == 0 { // postgres runs as u, which must reach its folders
		if err := os.Chown(tmp, u.UID, u.GID); err != nil {
			return nil, err
		}
	}
	sock := filepath.Join(tmp, "run")
	if p := filepath.Join(sock, fmt.Sprintf(".s.PGSQL.%d", postgres.PrivatePort)); len(p) > 107 {
		return nil, fmt.Errorf("mask check: the socket path %s is too long for PostgreSQL (%d bytes, max 107); set TMPDIR to a shorter folder", p, len(p))
	}
	logFile := filepath.Join(tmp, "postgres.log")
	t := time.Now()
	log.Info("restoring the dump's schema into a throw-away server", "dump", info.Path, "format", info.Format, "postgres", bin.Version)
	if err := postgres.InitDB(ctx, bin, u, filepath.Join(tmp, "data"), role); err != nil {
		return nil, err
	}
	srv, err := postgres.Start(ctx, postgres.ServerOptions{
		Bin: bin, User: u, DataDir: filepath.Join(tmp, "data"), Port: postgres.PrivatePort, SocketDir: sock, LogFile: logFile,
		Settings: postgres.ThrowAwaySettings(),
	})
	if err != nil {
		return nil, err
	}
	defer stopThrowAway(srv, log)
	conn, err := srv.WaitReady(ctx, role, "postgres")
	if err != nil {
		return nil, err
	}
	conn.Close(ctx)
	database := cmp.Or(info.Database, "maskcheck")
	var schema *mask.Schema
	err = postgres.Restore(ctx, postgres.RestoreOptions{
		Bin: bin, User: u, Dump: info, SocketDir: sock, Port: postgres.PrivatePort, Superuser: role, Database: database, Jobs: 1, Log: log,
		Data: &postgres.DataFilter{
			Check: func(ctx context.Context) error {
				conn, err := srv.WaitReady(ctx, role, database)
				if err != nil {
					return err
				}
				defer conn.Close(context.Background())
				if schema, err = postgres.ReadSchema(ctx, conn); err != nil {
					return err
				}
				return errSchemaRead
			},
			Filter: func(io.Writer, io.Reader) error { return errors.New("mask check loads no data") },
		},
	})
	switch {
	case errors.Is(err, errSchemaRead):
		log.Info("schema read; no data loaded", "tables", len(schema.Tables), "took", time.Since(t).Round(time.Millisecond))
		return schema, nil
	case err != nil:
		return nil, err
	}
	return nil, fmt.Errorf("restoring %s ended without showing its schema", info.Path)
}

// stopThrowAway stops the throw-away server: fast shutdown, or SIGKILL if
// that hangs (its data is about to be deleted anyway).
func stopThrowAway(srv *postgres.Server, log hclog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := postgres.Stop(ctx, srv.Proc); err != nil {
		log.Warn("the throw-away server did not stop; killing it", "pid", srv.Proc.PID, "error", err)
		kctx, kcancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer kcancel()
		if err := postgres.Kill(kctx, srv.Proc); err != nil {
			log.Error("could not kill the throw-away server", "pid", srv.Proc.PID, "error", err)
		}
	}
}

// sampleDump samples the dump's COPY data: a plain dump's own text, or
// what `pg_restore --section=data -f -` prints for an archive. Nothing is
// written anywhere, and reading stops once every table is sampled.
func sampleDump(ctx context.Context, bin postgres.Bin, u postgres.OSUser, info postgres.DumpInfo, schema *mask.Schema, n int, log hclog.Logger) (mask.Samples, error) {
	want := samplableColumns(schema)
	if len(want) == 0 {
		return nil, nil
	}
	t := time.Now()
	var samples mask.Samples
	var err error
	if info.Format.IsArchive() {
		samples, err = sampleArchive(ctx, bin, u, info, want, n)
	} else {
		samples, err = samplePlain(info, want, n)
	}
	if err != nil {
		return nil, err
	}
	if len(samples) == 0 {
		log.Warn("the dump holds no COPY data to sample (made with --inserts or --schema-only?); columns are checked by their names only")
	}
	log.Info("sampled the dump", "columns", len(samples), "values per column", n, "took", time.Since(t).Round(time.Millisecond))
	return samples, nil
}

func samplePlain(info postgres.DumpInfo, want map[string]map[string]bool, n int) (mask.Samples, error) {
	f, err := os.Open(info.Path)
	if err != nil {
		return nil, fmt.Errorf("dump %s: %w", info.Path, err)
	}
	defer f.Close()
	var r io.Reader = f
	if info.Format == postgres.FormatPlainGzip {
		z, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("dump %s: %w; the dump looks truncated or corrupt; make it again with pg_dump", info.Path, err)
		}
		defer z.Close()
		r = z
	}
	samples, _, err := sampleCopyData(r, want, n)
	if err != nil {
		return nil, fmt.Errorf("reading the data of %s: %w; the dump looks truncated or corrupt; make it again with pg_dump", info.Path, err)
	}
	return samples, nil
}

// sampleArchive reads what pg_restore, run as u, prints of the archive's
// data.
func sampleArchive(ctx context.Context, bin postgres.Bin, u postgres.OSUser, info postgres.DumpInfo, want map[string]map[string]bool, n int) (mask.Samples, error) {
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd, closeFn, err := postgres.ArchiveCommand(cctx, bin, u, info, "--section=data", "-f", "-")
	if err != nil {
		return nil, err
	}
	defer closeFn()
	var stderr stderrTail
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("pg_restore: %w", err)
	}
	samples, complete, err := sampleCopyData(out, want, n)
	if complete || err != nil {
		cancel() // every table sampled, or no use reading on
	}
	_, _ = io.Copy(io.Discard, out)
	werr := cmd.Wait()
	switch {
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case err != nil:
		return nil, fmt.Errorf("reading the data of %s: %w", info.Path, err)
	case werr != nil && !complete:
		return nil, fmt.Errorf("pg_restore --section=data of %s failed (%v):\n%s\nthe dump looks truncated or corrupt; make it again with pg_dump",
			info.Path, werr, strings.TrimSpace(stderr.String()))
	}
	return samples, nil
}

// stderrTail keeps the last 4 KiB written to it: a tool's stderr, for messages.
type stderrTail struct{ b []byte }

func (t *stderrTail) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if over := len(t.b) - 4096; over > 0 {
		t.b = t.b[over:]
	}
	return len(p), nil
}

func (t *stderrTail) String() string { return string(t.b) }

// samplableColumns lists, by "schema.table", the columns worth sampling.
func samplableColumns(schema *mask.Schema) map[string]map[string]bool {
	want := map[string]map[string]bool{}
	for _, t := range schema.Tables {
		for _, c := range t.Columns {
			if !samplable(c.Type) {
				continue
			}
			if want[t.FullName()] == nil {
				want[t.FullName()] = map[string]bool{}
			}
			want[t.FullName()][c.Name] = true
		}
	}
	return want
}

// maxDataLine caps one COPY data line read for sampling; the rest of a
// longer line is skipped, so only its later fields go unsampled.
const maxDataLine = 1 << 20

// sampleCopyData keeps up to n non-NULL values of each wanted column from
// SQL holding `COPY ... FROM stdin;` blocks (a plain dump, or pg_restore's
// rendering of an archive's data). Values are decoded from the COPY text
// format. complete reports that it stopped early because every wanted table
// was sampled; otherwise it read r to the end.
func sampleCopyData(r io.Reader, want map[string]map[string]bool, n int) (samples mask.Samples, complete bool, err error) {
	samples = mask.Samples{}
	br := bufio.NewReaderSize(r, 64<<10)
	pending := len(want)      // wanted tables neither fully sampled nor ended
	done := map[string]bool{} // tables counted off pending
	var line []byte
	var cur *copyTable // the COPY block being read, while it still needs values
	inCopy := false
	finish := func(name string) {
		done[name], cur = true, nil
		pending--
	}
	for {
		var rerr error
		line, rerr = readCopyLine(br, line, maxDataLine)
		if len(line) > 0 || rerr == nil {
			switch {
			case inCopy && string(line) == `\.`:
				inCopy = false
				if cur != nil {
					finish(cur.name)
				}
			case inCopy:
				if cur != nil && cur.row(line, samples, n) {
					finish(cur.name)
				}
			case bytes.HasPrefix(line, []byte("COPY ")):
				var header string
				header, rerr = joinQuotedLines(br, line, rerr)
				h, perr := pgscript.ParseCopyHeader(header)
				if perr != nil {
					break // not a COPY ... FROM stdin
				}
				inCopy = true
				if name := h.Name(); want[name] != nil && !done[name] {
					// nil when the wanted columns are not in the COPY
					// (generated columns are not dumped)
					if cur = newCopyTable(h, want[name]); cur == nil {
						finish(name)
					}
				}
			}
			if pending == 0 {
				return samples, true, nil
			}
		}
		if rerr == io.EOF {
			return samples, false, nil
		}
		if rerr != nil {
			return nil, false, rerr
		}
	}
}

// joinQuotedLines returns a COPY statement that starts with line (read
// with err), joined with the lines after it while a quoted name holding a
// newline is open.
func joinQuotedLines(br *bufio.Reader, line []byte, err error) (string, error) {
	s, open := append([]byte(nil), line...), pgscript.OpenQuote(line)
	for err == nil && open && len(s) < maxDataLine {
		line, err = readCopyLine(br, line, maxDataLine)
		s, open = append(append(s, '\n'), line...), open != pgscript.OpenQuote(line)
	}
	return string(s), err
}

// copyTable is a COPY block being sampled.
type copyTable struct {
	name string
	keys []string // by COPY column position: "schema.table.column", or "" if not wanted
	need int      // wanted columns still short of n values
}

// newCopyTable returns nil when the block holds no wanted column.
func newCopyTable(h pgscript.CopyHeader, want map[string]bool) *copyTable {
	t := &copyTable{name: h.Name(), keys: make([]string, len(h.Columns))}
	for i, c := range h.Columns {
		if want[c] {
			t.keys[i] = h.Name() + "." + c
			t.need++
		}
	}
	if t.need == 0 {
		return nil
	}
	return t
}

// row samples one data line and reports whether the table needs no more.
func (t *copyTable) row(line []byte, samples mask.Samples, n int) bool {
	start := 0
	for i := 0; i < len(t.keys) && start <= len(line); i++ {
		end := len(line)
		if j := bytes.IndexByte(line[start:], '\t'); j >= 0 {
			end = start + j
		}
		if key := t.keys[i]; key != "" && len(samples[key]) < n {
			if field := line[start:end]; !mask.IsNull(field) {
				v := mask.DecodeField(nil, field)
				samples[key] = append(samples[key], string(v[:min(len(v), maxSampleLen)]))
				if len(samples[key]) == n {
					t.need--
				}
			}
		}
		start = end + 1
	}
	return t.need == 0
}

// readCopyLine reads one line, without its newline, into buf. A line longer
// than limit comes back cut at limit; the rest of it is read and dropped.
func readCopyLine(br *bufio.Reader, buf []byte, limit int) ([]byte, error) {
	buf = buf[:0]
	for {
		chunk, err := br.ReadSlice('\n')
		if err == nil {
			chunk = chunk[:len(chunk)-1]
		}
		if room := limit - len(buf); room > 0 {
			buf = append(buf, chunk[:min(len(chunk), room)]...)
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return buf, err
		}
	}
}
