package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// daemonResult is copy create through the daemon against copy create in
// direct mode, alternated in one run on one golden: each until SELECT 1
// has answered on the URL the ditto process printed.
type daemonResult struct {
	Direct *stats `json:"direct_create"`
	Daemon *stats `json:"daemon_create"`
}

// daemonCreates starts `ditto serve` on the size's state directory and
// times --runs copy creates each way, after one warm-up of each, taking
// turns at going first. Each copy is destroyed the way it was created.
func (b *bench) daemonCreates(ctx context.Context, s *sizeResult) error {
	logf("%s: %d copy creates through the daemon and %d in direct mode, alternated", s.Label, b.o.runs, b.o.runs)
	sock := filepath.Join(b.work, "ditto.sock")
	stop, err := b.startDaemon(ctx, s.h, sock)
	if err != nil {
		return err
	}
	defer stop()
	if s.LoadBefore == "" { // the create runs were skipped
		s.LoadBefore = loadAvg()
		defer func() { s.LoadAfter = loadAvg() }()
	}
	ways := []string{"", "unix://" + sock} // direct, daemon
	times := make([][]float64, len(ways))
	for i := -1; i < b.o.runs; i++ { // i == -1: warm-up, not counted
		for j := range ways {
			k := (max(i, 0) + j) % len(ways)
			t, err := b.createVia(ctx, s.h, ways[k])
			if err != nil {
				return err
			}
			if i >= 0 {
				times[k] = append(times[k], t)
			}
			pause(ctx, b.o.settle)
		}
	}
	s.Daemon = &daemonResult{Direct: summarize(times[0]), Daemon: summarize(times[1])}
	logf("%s: copy create p50 %s through the daemon, %s direct", s.Label, fmtMS(s.Daemon.Daemon.P50), fmtMS(s.Daemon.Direct.P50))
	return nil
}

// startDaemon runs `ditto serve` on h until the returned stop is called.
// Root alone uses its socket (group root), as the benchmark runs as root.
func (b *bench) startDaemon(ctx context.Context, h *home, sock string) (stop func(), err error) {
	log, err := os.Create(filepath.Join(b.work, "serve.log"))
	if err != nil {
		return nil, err
	}
	defer log.Close()
	cmd := b.dittoCmd(context.WithoutCancel(ctx), b.o.ditto, h, false, "serve", "--socket", sock, "--group", "root")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	stop = func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			return stop, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			stop()
			return nil, fmt.Errorf("ditto serve did not listen on %s within 30s: %s", sock, tail(readText(log.Name()), 8))
		}
	}
}

// createVia times one `ditto copy create`, through the daemon at server
// or ("") in direct mode, until SELECT 1 has answered on its URL, then
// destroys the copy the same way.
func (b *bench) createVia(ctx context.Context, h *home, server string) (float64, error) {
	var via []string
	if server != "" {
		via = []string{"--server", server}
	}
	t0 := time.Now()
	out, _, err := b.ditto(ctx, h, false, append(via, "copy", "create", "--format", "json", "--ttl", "2h")...)
	if err != nil {
		return 0, err
	}
	var c struct {
		ID  string `json:"id"`
		URL string `json:"database_url"`
	}
	if err := json.Unmarshal(out, &c); err != nil {
		return 0, fmt.Errorf("ditto copy create --format json: %w: %s", err, out)
	}
	if err := firstQuery(ctx, c.URL); err != nil {
		return 0, fmt.Errorf("first query on copy %s: %w", c.ID, err)
	}
	took := ms(time.Since(t0))
	_, _, err = b.ditto(ctx, h, false, append(via, "copy", "destroy", c.ID)...)
	return took, err
}
