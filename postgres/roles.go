package postgres

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"strings"

	"github.com/hashicorp/go-hclog"
	"github.com/jackc/pgx/v5"
)

// scanRoles lists the roles a dump's SQL refers to (OWNER TO, GRANT ... TO,
// REVOKE ... FROM, SET ROLE, policies, default privileges), skipping COPY
// data, so they can exist before the restore needs them.
func scanRoles(r io.Reader) ([]string, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	seen := map[string]bool{}
	inCopy, continued := false, false
	for {
		b, isPrefix, err := br.ReadLine()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		skip := continued // the rest of an over-long line
		continued = isPrefix
		switch {
		case skip:
		case inCopy:
			inCopy = string(b) != `\.`
		case bytes.HasPrefix(b, []byte("COPY ")) && bytes.HasSuffix(b, []byte("FROM stdin;")):
			inCopy = true
		default:
			for _, name := range rolesIn(string(b)) {
				seen[name] = true
			}
		}
	}
	var roles []string
	for name := range seen {
		if !builtinRole(name) {
			roles = append(roles, name)
		}
	}
	slices.Sort(roles)
	return roles, nil
}

// rolesIn returns the role names one SQL line refers to.
func rolesIn(line string) []string {
	var names []string
	after := func(key string, last bool) (string, bool) {
		i := strings.Index(line, key)
		if last {
			i = strings.LastIndex(line, key)
		}
		if i < 0 {
			return "", false
		}
		return line[i+len(key):], true
	}
	if s, ok := after(" OWNER TO ", false); ok {
		names = append(names, identList(s)...)
	}
	if s, ok := after(" FOR ROLE ", false); ok && strings.HasPrefix(line, "ALTER DEFAULT PRIVILEGES ") {
		names = append(names, identList(s)...)
	}
	if s, ok := after(" GRANTED BY ", true); ok {
		names = append(names, identList(s)...)
	}
	switch {
	case strings.HasPrefix(line, "GRANT "), strings.Contains(line, " GRANT "), strings.HasPrefix(line, "CREATE POLICY "):
		if s, ok := after(" TO ", true); ok {
			names = append(names, identList(s)...)
		}
	case strings.HasPrefix(line, "REVOKE "), strings.Contains(line, " REVOKE "):
		if s, ok := after(" FROM ", true); ok {
			names = append(names, identList(s)...)
		}
	case strings.HasPrefix(line, "SET ROLE "):
		names = append(names, identList(line[len("SET ROLE "):])...)
	case strings.HasPrefix(line, "SET SESSION AUTHORIZATION '"):
		s := line[len("SET SESSION AUTHORIZATION '"):]
		if i := strings.Index(s, "';"); i >= 0 {
			names = append(names, strings.ReplaceAll(s[:i], "''", "'"))
		}
	}
	return names
}

// identList reads "a, "B c", d" from the start of s.
func identList(s string) []string {
	var names []string
	for {
		name, rest := readIdent(strings.TrimLeft(s, " "))
		if name == "" {
			return names
		}
		names = append(names, name)
		rest = strings.TrimLeft(rest, " ")
		if !strings.HasPrefix(rest, ",") {
			return names
		}
		s = rest[1:]
	}
}

// builtinRole reports names that are keywords or predefined roles, which a
// restore never needs to create.
func builtinRole(name string) bool {
	switch strings.ToLower(name) {
	case "public", "current_user", "session_user", "current_role", "":
		return true
	}
	return strings.HasPrefix(name, "pg_")
}

// createRoles creates each missing role as NOLOGIN, so owners and grants
// in the dump survive without giving anyone a way in.
func createRoles(ctx context.Context, conn *pgx.Conn, roles []string, log hclog.Logger) error {
	for _, name := range roles {
		var exists bool
		if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", name).Scan(&exists); err != nil {
			return err
		}
		if exists {
			continue
		}
		if _, err := conn.Exec(ctx, "CREATE ROLE "+pgx.Identifier{name}.Sanitize()+" NOLOGIN"); err != nil {
			return errors.Join(errors.New("creating role "+name+" for the dump"), err)
		}
		log.Info("created role referenced by the dump", "role", name, "login", false)
	}
	return nil
}
