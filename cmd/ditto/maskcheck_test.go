package main

import (
	"bytes"
	"encoding/json"
	"math/bits"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dittodb/ditto/mask"
	"github.com/dittodb/ditto/maskcheck"
)

// maskCheckSQL is a schema ditto's tests have not used elsewhere, with
// columns sensitive by name (email, phone, first_name) and two that only
// their values give away: notes holding email addresses in free text, and
// cc_x holding Luhn-valid card numbers. login is varchar(12), too short for
// the email transformer.
const maskCheckSQL = `
CREATE SCHEMA crm;
CREATE TABLE crm.patron (
    id         bigint PRIMARY KEY,
    email      text NOT NULL,
    phone      text,
    first_name text NOT NULL,
    notes      text,
    cc_x       text,
    login      varchar(12),
    status     text NOT NULL
);
CREATE TABLE crm.ledger (
    id        bigint PRIMARY KEY,
    patron_id bigint NOT NULL REFERENCES crm.patron (id),
    memo      text
);
INSERT INTO crm.patron VALUES
 (1, 'zelda.quist@hidden-mail.test', '+44 20 7946 0101', 'Zelda', 'wrote from yorick.vane@hidden-mail.test, call back', '4111 1111 1111 1111', 'zq1', 'active'),
 (2, 'abel.moor@hidden-mail.test', '+44 20 7946 0102', 'Abelard', NULL, '5555555555554444', 'am2', 'active'),
 (3, 'cyra.lund@hidden-mail.test', '+44 20 7946 0103', 'Cyrabel', E'second line\tafter a tab: mailto xanthe.roe@hidden-mail.test', '4012-8888-8888-1881', 'cl3', 'paused'),
 (4, 'dov.pell@hidden-mail.test', NULL, 'Dovrin', 'met at the fair', '378282246310005', NULL, 'active'),
 (5, 'eir.tamm@hidden-mail.test', '+44 20 7946 0105', 'Eirlys', NULL, '6011111111111117', 'et5', 'closed');
INSERT INTO crm.ledger VALUES (1, 1, 'invoice 1001'), (2, 3, 'invoice 1002'), (3, 3, NULL);
`

// maskCheckSecrets are the sampled values that must never be printed.
var maskCheckSecrets = []string{
	"hidden-mail", "zelda", "Zelda", "Abelard", "Cyrabel", "Dovrin", "Eirlys", "yorick", "xanthe", "20 7946 01",
	"4111 1111", "5555555555554444", "4012-8888", "378282246310005", "6011111111111117", "met at the fair", "call back",
}

// maskCheckRules names a missing table and a missing column, puts null on
// a NOT NULL column and the email transformer on varchar(12).
const maskCheckRules = `version: 1
key: env:DITTO_MASK_KEY
tables:
  crm.patron:
    first_name: null
    login: email
    shoe_size: {transform: digits}
  crm.vanished: {rows: none}
`

// maskCheckCleanRules covers every sensitive column.
const maskCheckCleanRules = `version: 1
key: env:DITTO_MASK_KEY
tables:
  crm.patron:
    email: email
    phone: phone
    first_name: first_name
    notes: null
    cc_x: {transform: digits}
`

var (
	// found by the rules and by column names alone
	maskCheckByName = []string{
		"length crm.patron.login", "missing crm.patron.shoe_size", "missing crm.vanished",
		"not-null crm.patron.first_name", "unmasked crm.patron.email", "unmasked crm.patron.phone",
	}
	// found only by --sample
	maskCheckBySample = []string{"unmasked crm.patron.cc_x", "unmasked crm.patron.notes"}
)

type maskCheckJSON struct {
	OK       bool           `json:"ok"`
	Source   string         `json:"source"`
	Rules    string         `json:"rules"`
	Tables   int            `json:"tables"`
	Columns  int            `json:"columns"`
	Sample   int            `json:"sample"`
	Sampled  int            `json:"sampled_columns"`
	Problems []mask.Problem `json:"problems"`
}

// problemKeys turns problems into sorted "kind schema.table[.column]".
func problemKeys(ps []mask.Problem) []string {
	keys := make([]string, len(ps))
	for i, p := range ps {
		keys[i] = p.Kind + " " + p.Table
		if p.Column != "" {
			keys[i] += "." + p.Column
		}
	}
	slices.Sort(keys)
	return keys
}

func sortedUnion(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	slices.Sort(out)
	return out
}

func TestMaskCheck(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	f.must("reseed", "--dump", write("crm.sql", maskCheckSQL))
	src := f.create()
	u, err := url.Parse(src.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	password, _ := u.User.Password()
	rules, clean := write("rules.yaml", maskCheckRules), write("clean.yaml", maskCheckCleanRules)
	dumps := map[string]string{"custom": filepath.Join(dir, "crm.dump"), "plain": filepath.Join(dir, "crm.pg.sql")}
	pgDump(t, src.DatabaseURL, "c", dumps["custom"])
	pgDump(t, src.DatabaseURL, "p", dumps["plain"])
	dumps["plain-gzip"] = dumps["plain"] + ".gz"
	gzipFile(t, dumps["plain"], dumps["plain-gzip"])

	// tmp is the TMPDIR of every check: its throw-away servers live there
	tmp := shortTempDir(t)
	if err := os.Mkdir(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	check := func(t *testing.T, args ...string) result {
		t.Helper()
		r := f.with(t).run(append([]string{"TMPDIR=" + tmp, "mask", "check"}, args...)...)
		out := r.stdout + r.stderr
		for _, secret := range append(maskCheckSecrets, password) {
			if strings.Contains(out, secret) {
				t.Fatalf("mask check %v printed a sampled value or the password (%q): %s", args, secret, r)
			}
		}
		if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
			t.Fatalf("mask check %v left %d entries in its temporary folder, e.g. %s", args, len(entries), entries[0].Name())
		}
		if pids := postgresUnder(tmp); len(pids) != 0 {
			t.Fatalf("mask check %v left postgres %v running", args, pids)
		}
		return r
	}
	checkJSON := func(t *testing.T, wantCode int, args ...string) maskCheckJSON {
		t.Helper()
		r := check(t, append(args, "--format", "json")...)
		if r.code != wantCode {
			t.Fatalf("exit %d, want %d: %s", r.code, wantCode, r)
		}
		var rep maskCheckJSON
		dec := json.NewDecoder(strings.NewReader(r.stdout))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&rep); err != nil {
			t.Fatalf("--format json printed %q: %v", r.stdout, err)
		}
		if rep.Problems == nil || rep.OK != (len(rep.Problems) == 0) || rep.Tables != 2 || rep.Columns != 11 {
			t.Fatalf("JSON report: %+v", rep)
		}
		for _, p := range rep.Problems {
			if p.Message == "" || (p.Kind != mask.ProblemUnmasked && p.Line == 0) {
				t.Errorf("problem without message or rules line: %+v", p)
			}
		}
		return rep
	}

	// names: rules problems and sensitive names, as JSON
	checkNames := func(t *testing.T, flag, value string) {
		rep := checkJSON(t, 1, flag, value, "--rules", rules)
		if got, want := problemKeys(rep.Problems), sortedUnion(maskCheckByName); !slices.Equal(got, want) {
			t.Errorf("with rules, names only:\n got %q\nwant %q", got, want)
		}
		if rep.Rules != rules || rep.Sample != 0 || rep.Sampled != 0 {
			t.Errorf("report header: %+v", rep)
		}
		if flag == "--source-url" && (rep.Source == src.DatabaseURL || !strings.Contains(rep.Source, "xxxxx")) {
			t.Errorf("source %q, want the URL with its password hidden", rep.Source)
		}
	}
	// sampled: every problem, with the two only values give away, as a table
	checkSampled := func(t *testing.T, flag, value string) {
		r := check(t, flag, value, "--rules", rules, "--sample", "5")
		if r.code != 1 {
			t.Fatalf("with problems: exit %d, want 1: %s", r.code, r)
		}
		for _, p := range sortedUnion(maskCheckByName, maskCheckBySample) {
			kind, ref, _ := strings.Cut(p, " ")
			table, column := ref, ""
			if i := strings.LastIndex(ref, "."); strings.Count(ref, ".") == 2 {
				table, column = ref[:i], ref[i+1:]
			}
			if !lineWith(r.stdout, kind, table, column) {
				t.Errorf("the table lacks %s: %s", p, r.stdout)
			}
		}
		if !strings.Contains(r.stdout, "8 problems") {
			t.Errorf("no summary line with the count: %s", r.stdout)
		}
	}
	// noRules: every sensitive-looking column, to start a rules file
	checkNoRules := func(t *testing.T, flag, value string) {
		rep := checkJSON(t, 1, flag, value, "--sample", "5")
		want := []string{"unmasked crm.patron.cc_x", "unmasked crm.patron.email", "unmasked crm.patron.first_name",
			"unmasked crm.patron.notes", "unmasked crm.patron.phone"}
		if got := problemKeys(rep.Problems); !slices.Equal(got, want) {
			t.Errorf("without rules:\n got %q\nwant %q", got, want)
		}
		if rep.Rules != "" || rep.Sample != 5 || rep.Sampled != 8 {
			t.Errorf("report header without rules: %+v (want its 8 text columns sampled)", rep)
		}
	}
	// clean: rules that cover everything pass
	checkClean := func(t *testing.T, flag, value string) {
		r := check(t, flag, value, "--rules", clean, "--sample", "5")
		if r.code != 0 || !strings.HasPrefix(r.stdout, "no problems") || strings.Count(r.stdout, "\n") != 1 {
			t.Fatalf("clean rules: want exit 0 and one \"no problems\" line: %s", r)
		}
	}

	// Every step on the live source and a custom dump; plain dumps take
	// other paths to their schema and data, gzip only another reader.
	const names, sampled, noRules, cleanRules = 1, 2, 4, 8
	sources := []struct {
		name, flag, value string
		steps             int
	}{
		{"source-url", "--source-url", src.DatabaseURL, names | sampled | noRules | cleanRules},
		{"custom", "--dump", dumps["custom"], names | sampled | noRules | cleanRules},
		{"plain", "--dump", dumps["plain"], names | sampled},
		{"plain-gzip", "--dump", dumps["plain-gzip"], sampled},
	}
	for _, s := range sources {
		t.Run(s.name, func(t *testing.T) {
			record(t, "masking", "mask check of an unseen schema: rules and names, --sample, no rules, clean rules", bits.OnesCount(uint(s.steps)))
			if s.steps&names != 0 {
				checkNames(t, s.flag, s.value)
			}
			if s.steps&sampled != 0 {
				checkSampled(t, s.flag, s.value)
			}
			if s.steps&noRules != 0 {
				checkNoRules(t, s.flag, s.value)
			}
			if s.steps&cleanRules != 0 {
				checkClean(t, s.flag, s.value)
			}
		})
	}
	t.Run("home rules and privileges", func(t *testing.T) {
		record(t, "masking", "mask check: rules from <home>/ditto-mask.yaml; a role that may not read a table", 2)
		// without --rules, the rules reseed would use
		homeRules := filepath.Join(f.home, "ditto-mask.yaml")
		if err := os.WriteFile(homeRules, []byte(maskCheckCleanRules), 0o600); err != nil {
			t.Fatal(err)
		}
		rep := checkJSON(t, 0, "--source-url", src.DatabaseURL)
		os.Remove(homeRules)
		if rep.Rules != homeRules {
			t.Errorf("rules %q, want %s", rep.Rules, homeRules)
		}
		// a role that may read the catalog but not crm.patron: its columns
		// are checked by name only, with a warning
		mustPsql(t, src.DatabaseURL, "CREATE ROLE peek LOGIN PASSWORD 'peek-pw'; GRANT USAGE ON SCHEMA crm TO peek; GRANT SELECT ON crm.ledger TO peek")
		peek := *u
		peek.User = url.UserPassword("peek", "peek-pw")
		r := check(t, "--source-url", peek.String(), "--rules", rules, "--sample", "5")
		if r.code != 1 || !strings.Contains(r.stderr, "could not sample a column") || strings.Contains(r.stderr, "peek-pw") {
			t.Fatalf("unreadable table: want exit 1 and a warning: %s", r)
		}
		for _, p := range maskCheckByName {
			kind, ref, _ := strings.Cut(p, " ")
			if i := strings.LastIndex(ref, "."); strings.Count(ref, ".") == 2 && !lineWith(r.stdout, kind, ref[:i], ref[i+1:]) {
				t.Errorf("the table lacks %s: %s", p, r.stdout)
			}
		}
		if lineWith(r.stdout, "unmasked", "crm.patron", "notes") {
			t.Errorf("notes reported although its table could not be sampled: %s", r.stdout)
		}
	})

	t.Run("errors", func(t *testing.T) {
		record(t, "bad input", "mask check: wrong password, broken dump, no pool, neither source", 4)
		bad := strings.Replace(src.DatabaseURL, ":"+password+"@", ":wrong"+password+"@", 1)
		r := check(t, "--source-url", bad)
		if r.code != 1 || !strings.Contains(r.stderr, "authentication failed") || strings.Contains(r.stderr, "wrong") {
			t.Errorf("wrong password: want exit 1, a clear error and no password: %s", r)
		}
		broken := write("broken.sql", "CREATE TABLE ok (id int);\nCREATE TABLE broken (id int,;\n")
		if r := check(t, "--dump", broken); r.code != 1 || !strings.Contains(r.stderr, "psql") {
			t.Errorf("broken dump: want exit 1 and psql's error: %s", r)
		}
		half := write("half.dump", "")
		b, _ := os.ReadFile(dumps["custom"])
		os.WriteFile(half, b[:len(b)/2], 0o644)
		if r := check(t, "--dump", half, "--sample", "5"); r.code != 1 {
			t.Errorf("truncated custom dump: want exit 1: %s", r)
		}
		if r := check(t); r.code != 1 || !strings.Contains(r.stderr, "--source-url URL") {
			t.Errorf("no source: want exit 1 and what to give: %s", r)
		}
		// no pool at all: mask check needs none
		bare := &fixture{t: t, home: filepath.Join(dir, "no-home")}
		r = bare.run("TMPDIR="+tmp, "mask", "check", "--dump", dumps["custom"], "--rules", clean)
		if r.code != 0 || !strings.HasPrefix(r.stdout, "no problems") {
			t.Errorf("without a state directory: %s", r)
		}
		if _, err := os.Stat(bare.home); err == nil {
			t.Errorf("mask check created the state directory %s", bare.home)
		}
	})
}

// lineWith reports whether one line of out holds every one of words as
// whole fields.
func lineWith(out string, words ...string) bool {
	for _, line := range strings.Split(out, "\n") {
		fields := strings.Fields(line)
		ok := true
		for _, w := range words {
			ok = ok && (w == "" || slices.Contains(fields, w))
		}
		if ok {
			return true
		}
	}
	return false
}

func TestMaskCheckTable(t *testing.T) {
	var b bytes.Buffer
	printMaskReport(&b, &maskcheck.Report{Rules: "r.yaml", Tables: 2, Columns: 9, Sample: 5, Sampled: 4, Problems: []mask.Problem{
		{Kind: "missing", Table: "crm.vanished", Line: 8, Message: "no such table"},
		{Kind: "unmasked", Table: "crm.patron", Column: "email", Message: "looks sensitive\nadd a rule"},
		{Kind: "unmasked", Table: "crm.patron", Column: "phone", Message: "looks sensitive"},
	}})
	want := `KIND      TABLE         COLUMN  LINE  PROBLEM
missing   crm.vanished          8     no such table
unmasked  crm.patron    email         looks sensitive add a rule
unmasked  crm.patron    phone         looks sensitive
3 problems (1 missing, 2 unmasked); checked 2 tables, 9 columns (4 sampled) against r.yaml
`
	if b.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	printMaskReport(&b, &maskcheck.Report{Tables: 1, Columns: 3})
	if got := b.String(); got != "no problems; checked 1 table, 3 columns without rules\n" {
		t.Errorf("no problems: %q", got)
	}
}
