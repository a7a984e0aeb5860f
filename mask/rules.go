package mask

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Rules is a parsed rules file. It is read-only after Parse, so one Rules
// serves every table streamed in parallel.
type Rules struct {
	File    string // path given to Load or Parse, for messages
	Version int
	Key     string // where the secret is: "env:NAME" or "file:PATH"
	KeyLine int
	Tables  map[string]*TableRule // by "schema.table"
	Keep    map[string]int        // "schema.table.column" -> line
}

// TableRule is what the rules say about one table.
type TableRule struct {
	Name     string // "schema.table"
	Line     int
	DropRows bool                   // {rows: none}: keep the table, load no rows
	Columns  map[string]*ColumnRule // by column name
}

// ColumnRule is the transformer for one column.
type ColumnRule struct {
	Table     string // "schema.table"
	Column    string
	Line      int
	Transform string // transformer name
	spec      string // name and options, to compare rules (foreign keys)
	k         kernel
}

// Transformer builds the column's transformer under key. Call it once per
// goroutine: a Transformer is not safe for concurrent use.
func (c *ColumnRule) Transformer(key []byte) *Transformer {
	return newTransformer(c.Transform, c.k, key)
}

// sorted returns the column rules in file order.
func (t *TableRule) sorted() []*ColumnRule {
	cols := make([]*ColumnRule, 0, len(t.Columns))
	for _, c := range t.Columns {
		cols = append(cols, c)
	}
	sort.Slice(cols, func(i, j int) bool { return cols[i].Line < cols[j].Line })
	return cols
}

// Table returns the rule for "schema.table", or nil.
func (r *Rules) Table(name string) *TableRule {
	if r == nil {
		return nil
	}
	return r.Tables[name]
}

// Error is one problem in a rules file.
type Error struct {
	File  string
	Line  int
	Where string // "key", "public.customer.email", ...
	Msg   string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Where, e.Msg)
}

// Load reads and parses a rules file.
func Load(path string) (*Rules, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read masking rules: %w (pass the file with --rules or DITTO_RULES)", err)
	}
	return Parse(path, data)
}

// Parse parses the rules in data; file names it in messages. The error, if
// any, joins one *Error per problem found, so a user fixes them all at once.
func Parse(file string, data []byte) (*Rules, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: not valid YAML: %w", file, err)
	}
	p := &parser{r: &Rules{File: file, Tables: map[string]*TableRule{}, Keep: map[string]int{}}}
	if len(doc.Content) == 0 {
		p.fail(1, "rules", "the file is empty; expected version: 1, key: env:NAME and tables:")
		return nil, p.err()
	}
	p.top(resolve(doc.Content[0]))
	p.conflicts()
	if err := p.err(); err != nil {
		return nil, err
	}
	return p.r, nil
}

// tableName normalises "schema.table" or "table" (meaning public.table).
func tableName(s string) (string, bool) {
	parts := strings.Split(s, ".")
	for _, part := range parts {
		if part == "" {
			return "", false
		}
	}
	switch len(parts) {
	case 1:
		return "public." + s, true
	case 2:
		return s, true
	}
	return "", false
}

// columnName normalises "schema.table.column" or "table.column".
func columnName(s string) (string, bool) {
	i := strings.LastIndexByte(s, '.')
	if i < 0 || i == len(s)-1 {
		return "", false
	}
	t, ok := tableName(s[:i])
	return t + s[i:], ok
}

// splitColumn splits "schema.table.column" into "schema.table" and "column".
func splitColumn(ref string) (table, column string) {
	i := strings.LastIndexByte(ref, '.')
	return ref[:i], ref[i+1:]
}
