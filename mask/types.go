package mask

import (
	"strconv"
	"strings"
)

// class is a set of PostgreSQL type families. A transformer declares the
// families its output is valid for; a column has exactly one.
type class uint16

const (
	classText    class = 1 << iota // text, varchar, char, citext, name
	classInt                       // smallint, integer, bigint
	classNumeric                   // numeric, real, double precision
	classDate                      // date, timestamp, timestamptz
	classUUID
	classInet
	classJSON // json, jsonb
	classBool
	classOther // arrays, enums, domains, bytea, ...: only keep, null, const
	classAny   = classText | classInt | classNumeric | classDate | classUUID | classInet | classJSON | classBool | classOther
)

var classNames = []string{"text", "integer", "numeric", "date/timestamp", "uuid", "inet", "json", "boolean", "other"}

// String lists the families in c, for error messages.
func (c class) String() string {
	var names []string
	for i, n := range classNames {
		if c&(1<<i) != 0 {
			names = append(names, n)
		}
	}
	return strings.Join(names, ", ")
}

var baseClasses = map[string]class{
	"text": classText, "character varying": classText, "varchar": classText, "character": classText,
	"char": classText, "bpchar": classText, "citext": classText, "name": classText,
	"smallint": classInt, "integer": classInt, "int": classInt, "bigint": classInt,
	"int2": classInt, "int4": classInt, "int8": classInt,
	"smallserial": classInt, "serial": classInt, "bigserial": classInt,
	"numeric": classNumeric, "decimal": classNumeric, "real": classNumeric, "double precision": classNumeric,
	"float4": classNumeric, "float8": classNumeric, "float": classNumeric,
	"date": classDate, "timestamp": classDate, "timestamptz": classDate,
	"timestamp without time zone": classDate, "timestamp with time zone": classDate,
	"uuid": classUUID, "inet": classInet, "json": classJSON, "jsonb": classJSON,
	"boolean": classBool, "bool": classBool,
}

// typeClass maps a type as format_type() writes it ("character varying(50)",
// "timestamp(3) with time zone", "text[]") to its family and, for character
// types, the length limit in characters (0 for none).
func typeClass(pgType string) (c class, maxLen int) {
	t := strings.ToLower(strings.TrimSpace(pgType))
	if strings.HasSuffix(t, "]") {
		return classOther, 0
	}
	// Type modifiers may sit in the middle: "timestamp(3) with time zone".
	mod := -1
	if open := strings.IndexByte(t, '('); open >= 0 {
		if end := strings.IndexByte(t[open:], ')'); end > 0 {
			if n, err := strconv.Atoi(strings.TrimSpace(t[open+1 : open+end])); err == nil {
				mod = n
			}
			t = strings.Join(strings.Fields(t[:open]+" "+t[open+end+1:]), " ")
		}
	}
	t = strings.TrimPrefix(t, "pg_catalog.")
	c, ok := baseClasses[t]
	if !ok {
		return classOther, 0
	}
	switch t {
	case "character varying", "varchar", "bpchar":
		maxLen = max(mod, 0)
	case "character", "char":
		maxLen = 1 // SQL's bare character means character(1)
		if mod > 0 {
			maxLen = mod
		}
	}
	return c, maxLen
}
