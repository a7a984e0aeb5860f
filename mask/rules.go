package mask

import (
	"errors"
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

type parser struct {
	r         *Rules
	errs      []error
	keepOrder []string
}

func (p *parser) fail(line int, where, format string, args ...any) {
	p.errs = append(p.errs, &Error{File: p.r.File, Line: line, Where: where, Msg: fmt.Sprintf(format, args...)})
}

func (p *parser) err() error { return errors.Join(p.errs...) }

// resolve follows YAML aliases.
func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// pairs walks a mapping's key/value pairs, reporting duplicate keys and
// keys that are not plain scalars.
func (p *parser) pairs(m *yaml.Node, where string, each func(key, val *yaml.Node)) {
	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := resolve(m.Content[i]), resolve(m.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			p.fail(k.Line, where, "a key must be a plain name")
			continue
		}
		if first, dup := seen[k.Value]; dup {
			p.fail(k.Line, where, "%q is given twice (first at line %d); keep one", k.Value, first)
			continue
		}
		seen[k.Value] = k.Line
		each(k, v)
	}
}

func (p *parser) top(root *yaml.Node) {
	if root.Kind != yaml.MappingNode {
		p.fail(root.Line, "rules", "expected a mapping with version, key, tables and keep")
		return
	}
	var haveVersion, haveKey bool
	p.pairs(root, "rules", func(k, v *yaml.Node) {
		switch k.Value {
		case "version":
			haveVersion = true
			if v.Kind != yaml.ScalarNode || v.Value != "1" {
				p.fail(v.Line, "version", "%q is not supported; use version: 1", v.Value)
				return
			}
			p.r.Version = 1
		case "key":
			haveKey = true
			p.r.KeyLine = v.Line
			p.key(v)
		case "tables":
			p.tables(v)
		case "keep":
			p.keep(v)
		default:
			p.fail(k.Line, k.Value, "unknown setting; allowed: version, key, tables, keep")
		}
	})
	if !haveVersion {
		p.fail(root.Line, "version", "missing; add version: 1")
	}
	if !haveKey {
		p.fail(root.Line, "key", "missing; add key: env:DITTO_MASK_KEY (or file:PATH) naming the masking secret")
	}
}

func (p *parser) key(v *yaml.Node) {
	const allowed = "use env:NAME (an environment variable) or file:PATH (a file holding the secret)"
	if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
		p.fail(v.Line, "key", "must name where the secret is; %s", allowed)
		return
	}
	kind, ref, ok := strings.Cut(v.Value, ":")
	if !ok || (kind != "env" && kind != "file") || strings.TrimSpace(ref) == "" {
		p.fail(v.Line, "key", "%q is not a key source; %s, never the secret itself", v.Value, allowed)
		return
	}
	p.r.Key = v.Value
}

func (p *parser) tables(v *yaml.Node) {
	if v.Kind != yaml.MappingNode {
		p.fail(v.Line, "tables", "expected a mapping of schema.table to column rules")
		return
	}
	p.pairs(v, "tables", func(k, cols *yaml.Node) {
		name, ok := tableName(k.Value)
		if !ok {
			p.fail(k.Line, k.Value, "not a table name; write schema.table, e.g. public.customer")
			return
		}
		if prev, dup := p.r.Tables[name]; dup {
			p.fail(k.Line, name, "the table is given twice (first at line %d); keep one", prev.Line)
			return
		}
		t := &TableRule{Name: name, Line: k.Line, Columns: map[string]*ColumnRule{}}
		p.r.Tables[name] = t
		p.table(t, cols)
	})
}

func (p *parser) table(t *TableRule, cols *yaml.Node) {
	if cols.Kind != yaml.MappingNode || len(cols.Content) == 0 {
		p.fail(cols.Line, t.Name, "expected column rules (column: transformer) or {rows: none}")
		return
	}
	p.pairs(cols, t.Name, func(k, v *yaml.Node) {
		if k.Value == "rows" && v.Kind == yaml.ScalarNode && v.Value == "none" {
			t.DropRows = true
			return
		}
		c := &ColumnRule{Table: t.Name, Column: k.Value, Line: k.Line}
		p.column(c, v)
		t.Columns[c.Column] = c
	})
	if t.DropRows && len(t.Columns) > 0 {
		p.fail(t.Line, t.Name, "rows: none drops every row, so column rules mean nothing; remove them or the rows: none")
	}
}

// column parses `email`, `null`, or `{transform: date_shift, max_days: 30}`.
func (p *parser) column(c *ColumnRule, v *yaml.Node) {
	where := c.Table + "." + c.Column
	o := &options{p: p, where: where, line: v.Line, vals: map[string]*yaml.Node{}}
	switch {
	case v.Kind == yaml.ScalarNode && v.Tag == "!!null":
		c.Transform = "null"
	case v.Kind == yaml.ScalarNode:
		c.Transform = v.Value
	case v.Kind == yaml.MappingNode:
		p.pairs(v, where, func(k, val *yaml.Node) {
			if k.Value != "transform" {
				o.vals[k.Value] = val
				return
			}
			if val.Kind != yaml.ScalarNode || val.Value == "" {
				p.fail(val.Line, where, "transform must be a transformer name; use one of: %s", strings.Join(Names(), ", "))
				return
			}
			c.Transform = val.Value
		})
		if c.Transform == "" {
			p.fail(v.Line, where, "missing transform; write {transform: NAME, ...} with one of: %s", strings.Join(Names(), ", "))
			return
		}
	default:
		p.fail(v.Line, where, "expected a transformer name, null, or {transform: NAME, option: value}")
		return
	}
	d, ok := transformers[c.Transform]
	if !ok {
		p.fail(v.Line, where, "unknown transformer %q; use one of: %s", c.Transform, strings.Join(Names(), ", "))
		return
	}
	o.name = c.Transform
	o.checkNames(d.options)
	c.k = d.build(o)
	c.spec = o.spec()
}

func (p *parser) keep(v *yaml.Node) {
	if v.Kind != yaml.SequenceNode {
		p.fail(v.Line, "keep", "expected a list of schema.table.column")
		return
	}
	for _, e := range v.Content {
		e = resolve(e)
		ref, ok := columnName(e.Value)
		if e.Kind != yaml.ScalarNode || !ok {
			p.fail(e.Line, "keep", "%q is not a column; write schema.table.column, e.g. public.customer.active", e.Value)
			continue
		}
		if first, dup := p.r.Keep[ref]; dup {
			p.fail(e.Line, "keep", "%s is listed twice (first at line %d); keep one", ref, first)
			continue
		}
		p.r.Keep[ref] = e.Line
		p.keepOrder = append(p.keepOrder, ref)
	}
}

// conflicts reports columns both kept and masked; it runs after the whole
// file is read, since keep may come before tables.
func (p *parser) conflicts() {
	for _, ref := range p.keepOrder {
		table, col := splitColumn(ref)
		if t := p.r.Tables[table]; t != nil && t.Columns[col] != nil {
			p.fail(p.r.Keep[ref], ref, "listed in keep and given a rule at line %d; choose one", t.Columns[col].Line)
		}
	}
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
