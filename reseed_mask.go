package ditto

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/hashicorp/go-hclog"

	"github.com/dittodb/ditto/mask"
	"github.com/dittodb/ditto/postgres"
)

// MaskRules returns <home>/ditto-mask.yaml, the rules reseed and mask check
// use when none are given, or "" when there is no such file.
func (h Home) MaskRules() (string, error) {
	p := filepath.Join(h.Dir, "ditto-mask.yaml")
	if _, err := os.Stat(p); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			err = nil
		}
		return "", err
	}
	return p, nil
}

// masking is the rules and key of one reseed.
type masking struct {
	rules         *mask.Rules
	key           []byte
	allowUnmasked bool
}

// loadMasking reads the rules (--rules, DITTO_RULES, or <home>/ditto-mask.yaml)
// and resolves their key, before anything is built: no key, no reseed.
func (m *Manager) loadMasking(o ReseedOptions) (*masking, error) {
	path := o.Rules
	if path == "" {
		var err error
		if path, err = m.Home.MaskRules(); err != nil {
			return nil, err
		}
	}
	if path == "" {
		return nil, nil
	}
	rules, err := mask.Load(path)
	if err != nil {
		return nil, err
	}
	key, err := rules.ResolveKey()
	if err != nil {
		return nil, err
	}
	m.Log.Info("masking with rules", "rules", path, "tables", len(rules.Tables))
	return &masking{rules: rules, key: key, allowUnmasked: o.AllowUnmasked}, nil
}

// filter checks the restored schema against the rules before any row is
// loaded, then masks every table's rows as they stream in.
func (mk *masking) filter(srv *postgres.Server, g *Golden, log hclog.Logger) *postgres.DataFilter {
	return &postgres.DataFilter{
		Check: func(ctx context.Context) error {
			conn, err := srv.WaitReady(ctx, g.Role, g.Database)
			if err != nil {
				return err
			}
			defer conn.Close(context.Background())
			schema, err := postgres.ReadSchema(ctx, conn)
			if err != nil {
				return err
			}
			problems := mask.Check(mk.rules, schema, nil)
			if len(problems) == 0 {
				return nil
			}
			lines := make([]string, len(problems))
			for i, p := range problems {
				lines[i] = p.String()
			}
			if mk.allowUnmasked {
				log.Warn("LOADING DATA DESPITE MASKING PROBLEMS (--allow-unmasked): sensitive data may reach the golden and every copy",
					"problems", strings.Join(lines, "; "))
				return nil
			}
			return fmt.Errorf("the masking rules %s do not cover the dump's schema; no data was loaded:\n  %s\nfix the rules (see `ditto mask check`), or pass --allow-unmasked to load anyway",
				mk.rules.File, strings.Join(lines, "\n  "))
		},
		Filter: func(dst io.Writer, src io.Reader) error {
			return mk.rules.Script(dst, src, mk.key)
		},
	}
}

// writeMaskedDump pg_dumps the masked golden to p.maskedDumpOut, so that
// a machine without access to the source can `ditto reseed --dump` it
// without ever seeing raw data.
func (m *Manager) writeMaskedDump(ctx context.Context, p *plan, sock string) error {
	q := url.Values{"host": {sock}, "port": {strconv.Itoa(postgres.PrivatePort)}, "user": {p.golden.Role}}
	u := url.URL{Scheme: "postgres", Path: "/" + p.golden.Database, RawQuery: q.Encode()}
	tmp := p.maskedDumpOut + ".partial"
	if err := os.MkdirAll(filepath.Dir(tmp), 0o700); err != nil {
		return fmt.Errorf("writing the masked dump to %s (DITTO_DUMP_PATH): %w", p.maskedDumpOut, err)
	}
	if err := postgres.DumpSource(ctx, p.bin, u.String(), tmp, m.Log); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing the masked dump to %s (DITTO_DUMP_PATH): %w", p.maskedDumpOut, err)
	}
	if err := os.Rename(tmp, p.maskedDumpOut); err != nil {
		return err
	}
	m.Log.Info("masked dump kept for `ditto reseed --dump`", "path", p.maskedDumpOut)
	return nil
}
