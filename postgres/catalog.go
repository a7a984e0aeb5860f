package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dittodb/ditto/mask"
)

// schemaQuery lists the columns of every user table, with the type as
// format_type writes it (mask reads varchar(n) limits from it), and whether
// the column alone is unique or a foreign key.
const schemaQuery = `
SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       EXISTS (SELECT 1 FROM pg_index i
               WHERE i.indrelid = c.oid AND i.indisunique AND i.indnatts = 1 AND i.indkey[0] = a.attnum),
       COALESCE((SELECT fn.nspname || '.' || fc.relname || '.' || fa.attname
                 FROM pg_constraint k
                 JOIN pg_class fc ON fc.oid = k.confrelid
                 JOIN pg_namespace fn ON fn.oid = fc.relnamespace
                 JOIN pg_attribute fa ON fa.attrelid = k.confrelid AND fa.attnum = k.confkey[1]
                 WHERE k.conrelid = c.oid AND k.contype = 'f' AND cardinality(k.conkey) = 1 AND k.conkey[1] = a.attnum
                 LIMIT 1), '')
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
ORDER BY 1, 2, a.attnum`

// ReadSchema describes the tables of the database conn is connected to, as
// the masking rules are checked against it.
func ReadSchema(ctx context.Context, conn *pgx.Conn) (*mask.Schema, error) {
	rows, err := conn.Query(ctx, schemaQuery)
	if err != nil {
		return nil, fmt.Errorf("reading the schema: %w", err)
	}
	defer rows.Close()
	s := &mask.Schema{}
	for rows.Next() {
		var schema, table string
		var col mask.Column
		if err := rows.Scan(&schema, &table, &col.Name, &col.Type, &col.NotNull, &col.Unique, &col.References); err != nil {
			return nil, err
		}
		if n := len(s.Tables); n == 0 || s.Tables[n-1].Schema != schema || s.Tables[n-1].Name != table {
			s.Tables = append(s.Tables, mask.Table{Schema: schema, Name: table})
		}
		t := &s.Tables[len(s.Tables)-1]
		t.Columns = append(t.Columns, col)
	}
	return s, rows.Err()
}

// WaitSessionsGone waits until no client session but conn's own is left,
// or 30 s have passed. A session reports its row counts as it exits, so
// counts that arrive after a VACUUM make autovacuum vacuum the table again.
func WaitSessionsGone(ctx context.Context, conn *pgx.Conn) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n int
		err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()").Scan(&n)
		if err != nil {
			return fmt.Errorf("waiting for the restore's sessions to end: %w", err)
		}
		if n == 0 || time.Now().After(deadline) {
			return nil // after the deadline, a copy may vacuum a table again: slower, not wrong
		}
		time.Sleep(10 * time.Millisecond)
	}
}
