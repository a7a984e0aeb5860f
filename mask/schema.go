package mask

import (
	"fmt"
	"sort"
	"strings"
)

// Schema describes the tables the rules apply to, as read from the source
// database's catalog or a dump's schema (no data needed).
type Schema struct {
	Tables []Table
}

// Table is one table of a Schema.
type Table struct {
	Schema  string
	Name    string
	Columns []Column
}

// FullName is "schema.table", the form rules use.
func (t *Table) FullName() string { return t.Schema + "." + t.Name }

// Column is one column of a Table.
type Column struct {
	Name string
	// Type as format_type(atttypid, atttypmod) writes it: "integer",
	// "character varying(50)", "timestamp with time zone", "text[]".
	// varchar(n) and char(n) limits are read from it.
	Type    string
	NotNull bool
	// Unique: the column alone is a primary key or has a unique constraint
	// or index. Columns in multi-column keys are not checked.
	Unique bool
	// References is "schema.table.column" when the column alone is a
	// foreign key; both ends must be masked alike.
	References string
}

// Problem is one finding of Validate or Unmasked.
type Problem struct {
	Kind    string `json:"kind"`  // one of the Problem* constants
	Table   string `json:"table"` // "schema.table"
	Column  string `json:"column,omitempty"`
	Line    int    `json:"line,omitempty"` // line in the rules file, if a rule is at fault
	Message string `json:"message"`        // what is wrong and what to do
}

// Problem kinds.
const (
	ProblemMissing    = "missing"     // a rule names a table or column that does not exist
	ProblemType       = "type"        // the transformer cannot produce the column's type
	ProblemNotNull    = "not-null"    // null on a NOT NULL column
	ProblemLength     = "length"      // output may not fit varchar(n)/char(n)
	ProblemUnique     = "unique"      // the transformer may map distinct values of a unique column together
	ProblemForeignKey = "foreign-key" // the two ends of a foreign key are masked differently
	ProblemUnmasked   = "unmasked"    // looks sensitive, has neither a rule nor a keep entry
)

func (p Problem) String() string {
	where := p.Table
	if p.Column != "" {
		where += "." + p.Column
	}
	if p.Line > 0 {
		where = fmt.Sprintf("line %d: %s", p.Line, where)
	}
	return fmt.Sprintf("%s: %s: %s", where, p.Kind, p.Message)
}

// Check is what `ditto mask check` and reseed run before loading data:
// Validate and Unmasked together. Any problem means: do not load.
func Check(r *Rules, s *Schema, samples Samples) []Problem {
	return sortProblems(append(Validate(r, s), Unmasked(r, s, samples)...))
}

// Validate reports every rule that does not fit the schema: missing tables
// and columns, transformers that cannot produce the column's type, null on
// NOT NULL, output that may overflow varchar(n), non-unique transformers on
// unique columns, and foreign keys whose two ends are masked differently.
func Validate(r *Rules, s *Schema) []Problem {
	r = orEmpty(r)
	tables := s.index()
	var out []Problem
	for _, tr := range r.Tables {
		t := tables[tr.Name]
		if t == nil {
			out = append(out, Problem{Kind: ProblemMissing, Table: tr.Name, Line: tr.Line,
				Message: "the rules name this table, but the database has no such table; fix the name (schema.table)" + s.hint(tr.Name)})
			continue
		}
		for _, cr := range tr.Columns {
			col := t.column(cr.Column)
			if col == nil {
				out = append(out, Problem{Kind: ProblemMissing, Table: tr.Name, Column: cr.Column, Line: cr.Line,
					Message: fmt.Sprintf("the table has no such column; it has: %s", t.columnNames())})
				continue
			}
			out = append(out, checkColumn(cr, col)...)
		}
	}
	for ref, line := range r.Keep {
		table, column := splitColumn(ref)
		if t := tables[table]; t == nil || t.column(column) == nil {
			out = append(out, Problem{Kind: ProblemMissing, Table: table, Column: column, Line: line,
				Message: "listed in keep, but the database has no such column"})
		}
	}
	out = append(out, checkForeignKeys(r, s, tables)...)
	return sortProblems(out)
}

// suggest names the transformers that fit a type family.
var suggest = map[class]string{
	classInt:     "int_noise, const, null or keep",
	classNumeric: "numeric_noise, int_noise, const, null or keep",
	classDate:    "date_shift, const, null or keep",
	classUUID:    "uuid, const, null or keep",
	classInet:    "ip, const, null or keep",
	classJSON:    "json, const, null or keep",
	classBool:    "const, null or keep",
	classOther:   "const, null or keep",
}

func checkColumn(cr *ColumnRule, col *Column) []Problem {
	var out []Problem
	add := func(kind, format string, args ...any) {
		out = append(out, Problem{Kind: kind, Table: cr.Table, Column: cr.Column, Line: cr.Line, Message: fmt.Sprintf(format, args...)})
	}
	o := cr.k.out()
	c, limit := typeClass(col.Type)
	if o.classes&c == 0 {
		add(ProblemType, "%s gives %s values, which column type %s does not take; for %s use %s", cr.Transform, o.classes&^classOther, col.Type, c, suggest[c])
	}
	if cr.Transform == "null" && col.NotNull {
		add(ProblemNotNull, "null on a NOT NULL column; use const or another transformer, or {rows: none} on the table")
	}
	switch {
	case limit == 0 || o.maxLen == asInput:
	case o.maxLen == unbounded:
		add(ProblemLength, "%s output has no length limit and may not fit %s; use a transformer with bounded output", cr.Transform, col.Type)
	case o.maxLen > limit:
		add(ProblemLength, "%s gives up to %d characters, more than %s holds; widen the column or use a shorter transformer or option", cr.Transform, o.maxLen, col.Type)
	}
	if col.Unique && !o.unique {
		add(ProblemUnique, "the column is unique, but %s can give equal outputs for different inputs; use email, username, hash or uuid (or keep)", cr.Transform)
	}
	return out
}

// checkForeignKeys: a foreign key still matches after masking only if both
// ends go through the same transformer with the same options (or are both
// kept); a NULL satisfies any foreign key, so null on the referencing side is
// fine.
func checkForeignKeys(r *Rules, s *Schema, tables map[string]*Table) []Problem {
	var out []Problem
	for ti := range s.Tables {
		t := &s.Tables[ti]
		from := r.Table(t.FullName())
		if from != nil && from.DropRows {
			continue
		}
		for _, col := range t.Columns {
			if col.References == "" {
				continue
			}
			toTable, toColumn := splitColumn(col.References)
			fromRule, toRule := r.column(t.FullName(), col.Name), r.column(toTable, toColumn)
			p := Problem{Kind: ProblemForeignKey, Table: t.FullName(), Column: col.Name}
			if fromRule != nil {
				p.Line = fromRule.Line
			}
			switch {
			case fromRule != nil && fromRule.Transform == "null":
				continue
			case r.Table(toTable) != nil && r.Table(toTable).DropRows:
				p.Message = fmt.Sprintf("references %s, whose rows are dropped (rows: none); drop this table's rows too or null this column", col.References)
			case specOf(fromRule) != specOf(toRule):
				p.Message = fmt.Sprintf("references %s but is masked as %q there and %q here; mask both ends alike so the foreign key still matches", col.References, specOf(toRule), specOf(fromRule))
			default:
				continue
			}
			out = append(out, p)
		}
	}
	return out
}

// orEmpty lets the checks run without rules: `mask check` on a new schema
// then lists every column that needs one.
func orEmpty(r *Rules) *Rules {
	if r == nil {
		return &Rules{}
	}
	return r
}

func specOf(c *ColumnRule) string {
	if c == nil {
		return "keep"
	}
	return c.spec
}

func (r *Rules) column(table, column string) *ColumnRule {
	if t := r.Table(table); t != nil {
		return t.Columns[column]
	}
	return nil
}

func (s *Schema) index() map[string]*Table {
	m := make(map[string]*Table, len(s.Tables))
	for i := range s.Tables {
		m[s.Tables[i].FullName()] = &s.Tables[i]
	}
	return m
}

// hint points at a table whose name differs only in case or schema.
func (s *Schema) hint(name string) string {
	_, want, _ := strings.Cut(name, ".")
	for i := range s.Tables {
		t := &s.Tables[i]
		if strings.EqualFold(t.FullName(), name) || t.Name == want {
			return "; did you mean " + t.FullName() + "?"
		}
	}
	return ""
}

func (t *Table) column(name string) *Column {
	for i := range t.Columns {
		if t.Columns[i].Name == name {
			return &t.Columns[i]
		}
	}
	return nil
}

func (t *Table) columnNames() string {
	names := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		names[i] = c.Name
	}
	return strings.Join(names, ", ")
}

func sortProblems(ps []Problem) []Problem {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if a.Table != b.Table {
			return a.Table < b.Table
		}
		if a.Column != b.Column {
			return a.Column < b.Column
		}
		return a.Kind < b.Kind
	})
	return ps
}
