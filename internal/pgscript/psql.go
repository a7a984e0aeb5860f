package pgscript

import (
	"bytes"
	"fmt"
	"strings"
)

// Refused says why a script must not reach psql, and at which line.
type Refused struct {
	Line   int
	Reason string
}

func (e *Refused) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Reason) }

// Scanner follows a SQL script the way psql reads it (its lexer is
// src/fe_utils/psqlscan.l) and refuses what pg_dump never writes but psql
// would act on in the client: a meta-command, which any backslash outside
// quotes and comments starts, other than pg_dump's own \connect, \restrict
// and \unrestrict lines; and a psql variable, whose value psql reads as
// more script. It knows where COPY data starts and ends, and keeps no line
// in memory.
//
// Where psql could read the text in more than one way, the Scanner refuses
// it rather than guess: a backslash before the quote that ends a string
// (standard_conforming_strings decides), a carriage return inside a line
// (it can end a comment or join two strings), a number run into a word
// (psql versions split it differently), a COPY that psql would send along
// with other statements. It assumes a client encoding whose characters
// never hold ASCII bytes, as every server encoding: a dump that switches
// psql to SJIS or the like could hide a meta-command from it.
type Scanner struct {
	line, col int // position of the next byte: line from 1, bytes into it
	st        state
	err       error

	pending    bool // psql's query buffer holds part of a statement
	paren      int  // psql's paren_depth
	begin      int  // psql's begin_depth (CREATE FUNCTION ... BEGIN ATOMIC ... END)
	merged     bool // psql did not split at a ';' of this statement
	idents     [4]byte
	identCount int
	copy       copyState // of the text since the last ';' outside parentheses

	word    [16]byte // the word being read, lower-cased, cut at 16 bytes
	wordLen int
	expo    int    // exponent of the number being read: 0 none, 1 "e", 2 "e-", 3 "e-1"
	buf     []byte // dollar-quote tag, variable name or meta-command line
	metaMid bool   // the meta-command is not at the start of a line between statements
	depth   int    // nesting of block comments
	dqMatch int    // bytes of the closing $tag$ matched, -1 for none
	bsRun   int    // backslashes just read in a standard string
}

type state int

const (
	stInitial state = iota
	stWord          // an unquoted word (identifier or keyword)
	stUAmp          // "u&": a Unicode-escaped literal follows, or not
	stNumber
	stDash  // '-': a comment follows, or not
	stSlash // '/'
	stColon
	stVariable  // ":name"
	stDollar    // '$' starting a token
	stDollarTag // "$tag": a dollar quote follows, or not
	stParam     // "$1"
	stCR        // '\r' outside quotes, which must end the line
	stLineComment
	stBlockComment
	stBlockStar  // '*' in a block comment
	stBlockSlash // '/' in a block comment
	stQuote      // '...' (also B'', X'', N'', U&'')
	stQuoteEnd   // after a quote that may end a standard string, or double
	stEString    // E'...'
	stEEscape    // after a backslash in E'...'
	stEStringEnd
	stIdent // "..."
	stIdentEnd
	stDollarQuote
	stMeta      // a meta-command line, from its start
	stAfterCopy // the rest of the line of COPY ... FROM stdin;
	stCopyLine  // COPY data, at a line's start (from here on: in COPY data)
	stCopyBS
	stCopyBSDot
	stCopyBSDotCR
	stCopyRest
)

// copyState is how far the text since the last ';' matches
// COPY [BINARY] name[.name...] [(column, ...)] FROM STDIN, which makes
// the server, and psql after it, read COPY data.
type copyState int

const (
	cpStart copyState = iota
	cpCopy
	cpBinary
	cpName
	cpDot
	cpColumns
	cpColumn
	cpFrom
	cpFromKeyword
	cpYes
	cpNo
)

type token int

const (
	tkWord token = iota
	tkQuotedIdent
	tkDot
	tkComma
	tkOpen
	tkClose
	tkOther
)

// maxBuf caps a dollar-quote tag, a variable name and a meta-command line.
const maxBuf = 4096

// NewScanner returns a Scanner at the start of a script.
func NewScanner() *Scanner { return &Scanner{line: 1, dqMatch: -1} }

// InCopyData reports whether the next byte is COPY data, which psql hands
// to the server as it is.
func (s *Scanner) InCopyData() bool { return s.st >= stCopyLine }

// AtStatementStart reports whether the next byte starts a statement: psql
// holds nothing of one, and is outside any quote, comment or COPY data.
func (s *Scanner) AtStatementStart() bool { return s.st == stInitial && !s.pending && s.err == nil }

// Line is the line of the next byte, from 1.
func (s *Scanner) Line() int { return s.line }

// Scan reads the next bytes of the script. Once it has refused the script
// it returns that *Refused for good. psql runs a line once it has read all
// of it, so what Scan accepted of a line that it then refuses must never
// reach psql's end of input: kill psql rather than close its input.
func (s *Scanner) Scan(p []byte) error {
	if s.err != nil {
		return s.err
	}
	nul := bytes.IndexByte(p, 0)
	if nul >= 0 {
		p = p[:nul]
	}
	for i := 0; i < len(p) && s.err == nil; {
		if n := s.skip(p[i:]); n > 0 {
			i += n
			continue
		}
		if c := p[i]; s.step(c) {
			i++
			if c == '\n' {
				s.line, s.col = s.line+1, 0
			} else {
				s.col++
			}
		}
	}
	if s.err == nil && nul >= 0 {
		// psql reads lines as C strings: a NUL would hide the rest of one
		s.refuse("a NUL byte")
	}
	return s.err
}

// Write is Scan for an io.Writer.
func (s *Scanner) Write(p []byte) (int, error) {
	if err := s.Scan(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Finish checks what the script's last line, if it lacks its newline,
// leaves pending: psql runs that line at the end of its input.
func (s *Scanner) Finish() error {
	if s.col == 0 {
		return s.err
	}
	return s.Scan([]byte{'\n'})
}

// skip passes at once over bytes that change nothing (inside quotes,
// comments and COPY rows) and returns how many.
func (s *Scanner) skip(p []byte) int {
	var n int
	switch s.st {
	case stCopyRest:
		n = bytes.IndexByte(p, '\n')
	case stQuote:
		n = bytes.IndexByte(p, '\'')
	case stEString:
		n = bytes.IndexAny(p, `\'`)
	case stIdent:
		n = bytes.IndexByte(p, '"')
	case stLineComment:
		n = bytes.IndexAny(p, "\r\n")
	case stBlockComment:
		n = bytes.IndexAny(p, "*/")
	case stDollarQuote:
		if s.dqMatch >= 0 {
			return 0
		}
		n = bytes.IndexByte(p, '$')
	default:
		return 0
	}
	if n < 0 {
		n = len(p)
	}
	seg := p[:n]
	if s.st == stQuote {
		run := len(seg) - len(bytes.TrimRight(seg, `\`))
		if run == len(seg) {
			s.bsRun += run
		} else {
			s.bsRun = run
		}
	}
	if nl := bytes.LastIndexByte(seg, '\n'); nl >= 0 {
		s.line += bytes.Count(seg, []byte{'\n'})
		s.col = n - nl - 1
	} else {
		s.col += n
	}
	return n
}

// step reads c. It returns false when c is to be read again, in the state
// it moved to, or when it refused the script.
func (s *Scanner) step(c byte) bool {
	switch s.st {
	case stInitial:
		return s.initial(c)
	case stWord:
		return s.inWord(c)
	case stUAmp, stDash, stSlash, stColon:
		return s.afterFirst(c)
	case stNumber:
		return s.inNumber(c)
	case stVariable:
		return s.inVariable(c)
	case stDollar:
		return s.inDollar(c)
	case stDollarTag:
		return s.inDollarTag(c)
	case stParam:
		switch {
		case isDigit(c):
			return true
		case isWordStart(c):
			return s.refuse("a parameter run into a word, which psql versions read differently")
		}
		s.st = stInitial
		return false
	case stCR, stLineComment, stAfterCopy:
		return s.atLineEnd(c)
	case stBlockComment, stBlockStar, stBlockSlash:
		return s.inBlockComment(c)
	case stQuote, stQuoteEnd, stEString, stEEscape, stEStringEnd, stIdent, stIdentEnd:
		return s.inQuotes(c)
	case stDollarQuote:
		return s.inDollarQuote(c)
	case stMeta:
		return s.inMeta(c)
	}
	s.inCopy(c)
	return true
}

// afterFirst reads the byte after one that may start a longer token: "u&"
// a Unicode-escaped literal, "-" or "/" a comment, ":" a cast or a psql
// variable.
func (s *Scanner) afterFirst(c byte) bool {
	switch {
	case s.st == stUAmp && c == '\'':
		s.st, s.bsRun = stQuote, 0
		s.token(tkOther)
		return true
	case s.st == stUAmp && c == '"':
		s.st = stIdent
		s.token(tkQuotedIdent)
		return true
	case s.st == stDash && c == '-':
		s.st = stLineComment
		return true
	case s.st == stSlash && c == '*':
		s.st, s.depth = stBlockComment, 0
		return true
	case s.st == stColon && c == ':': // a cast
		s.st = stInitial
		s.token(tkOther)
		return true
	case s.st == stColon && isVariableByte(c):
		s.st, s.buf = stVariable, s.buf[:0]
		return false
	}
	// an operator (after "u&", psql's {xufailed}: the u is no word)
	s.st = stInitial
	s.token(tkOther)
	return false
}

func (s *Scanner) inVariable(c byte) bool {
	if isVariableByte(c) {
		if len(s.buf) < maxBuf {
			s.buf = append(s.buf, c)
		}
		return true
	}
	if psqlVariables[string(s.buf)] {
		return s.refuse(fmt.Sprintf("the psql variable :%s, whose value psql would read as more of the script", s.buf))
	}
	s.st = stInitial
	s.token(tkOther)
	return false
}

// atLineEnd reads what must end a line: after a carriage return, a line
// comment (c ends it), or the COPY ... FROM stdin; before its rows.
func (s *Scanner) atLineEnd(c byte) bool {
	switch {
	case s.st == stCR && c != '\n':
		return s.refuse("a carriage return inside a line, where psql can read it as a line break")
	case s.st == stLineComment && c == '\r':
		s.st = stCR
		return true
	case s.st == stAfterCopy && c == '\n':
		s.st = stCopyLine
		return true
	case s.st == stAfterCopy && (c == ' ' || c == '\t' || c == '\r'):
		return true
	case s.st == stAfterCopy:
		return s.refuse("more text on the line of a COPY ... FROM stdin;, which psql would run after the rows")
	}
	s.st = stInitial
	return false
}

// inQuotes reads c inside a string or quoted identifier, or just after a
// quote that ends it unless another follows; skip has passed over the
// bytes that cannot end one.
func (s *Scanner) inQuotes(c byte) bool {
	switch s.st {
	case stQuote: // c is the quote
		if s.bsRun%2 == 1 {
			// with standard_conforming_strings off the backslash escapes
			// the quote, and the dump can turn it off
			return s.refuse(`a backslash before the quote that ends a string, which psql reads differently as standard_conforming_strings is on or off`)
		}
		s.st, s.bsRun = stQuoteEnd, 0
	case stEString: // c is a backslash or the quote
		s.st = stEStringEnd
		if c == '\\' {
			s.st = stEEscape
		}
	case stEEscape:
		s.st = stEString
		// psql reads a line without its newline: a backslash ending it
		// escapes nothing
		return c != '\n'
	case stIdent: // c is the quote
		s.st = stIdentEnd
	default:
		quote, inside := byte('\''), stQuote
		switch s.st {
		case stEStringEnd:
			inside = stEString
		case stIdentEnd:
			quote, inside = '"', stIdent
		}
		if c != quote {
			s.st = stInitial
			return false
		}
		s.st = inside // a doubled quote
	}
	return true
}

func (s *Scanner) initial(c byte) bool {
	switch {
	case c == ' ' || c == '\t' || c == '\f' || c == '\n':
	case c == '\r':
		s.st = stCR
	case c == '-':
		s.st = stDash
	case c == '/':
		s.st = stSlash
	case c == '\'':
		s.st, s.bsRun = stQuote, 0
		s.token(tkOther)
	case c == '"':
		s.st = stIdent
		s.token(tkQuotedIdent)
	case c == '$':
		s.st = stDollar
	case c == ':':
		s.st = stColon
	case c == '(':
		s.paren++
		s.token(tkOpen)
	case c == ')':
		if s.paren > 0 {
			s.paren--
		}
		s.token(tkClose)
	case c == ';':
		return s.semicolon()
	case c == '\\':
		return s.backslash()
	case c == '.':
		s.token(tkDot)
	case c == ',':
		s.token(tkComma)
	case isDigit(c):
		s.st, s.expo = stNumber, 0
		s.token(tkOther)
	case isWordStart(c):
		s.st, s.wordLen = stWord, 0
		s.addWordByte(c)
	default:
		s.token(tkOther)
	}
	return true
}

func (s *Scanner) inWord(c byte) bool {
	if s.wordLen == 1 {
		switch {
		case c == '\'' && strings.IndexByte("bxn", s.word[0]) >= 0: // B'', X'', N''
			s.st, s.bsRun = stQuote, 0
			s.token(tkOther)
			return true
		case c == '\'' && s.word[0] == 'e':
			s.st = stEString
			s.token(tkOther)
			return true
		case c == '&' && s.word[0] == 'u':
			s.st = stUAmp
			return true
		}
	}
	if isWordStart(c) || isDigit(c) || c == '$' {
		s.addWordByte(c)
		return true
	}
	s.st = stInitial
	s.endWord()
	return false
}

func (s *Scanner) addWordByte(c byte) {
	if s.wordLen < len(s.word) {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		s.word[s.wordLen] = c
	}
	s.wordLen++
}

// endWord follows psql's guess at whether a statement is CREATE FUNCTION
// or PROCEDURE with a BEGIN ... END body, whose semicolons do not end it.
func (s *Scanner) endWord() {
	w := ""
	if s.wordLen <= len(s.word) {
		w = string(s.word[:s.wordLen])
	}
	if s.identCount == 0 {
		s.idents = [4]byte{}
	}
	switch w {
	case "create", "function", "procedure", "or", "replace":
		if s.identCount < len(s.idents) {
			s.idents[s.identCount] = w[0]
		}
	}
	s.identCount++
	id := s.idents
	if id[0] == 'c' && (id[1] == 'f' || id[1] == 'p' || id[1] == 'o' && id[2] == 'r' && (id[3] == 'f' || id[3] == 'p')) && s.paren == 0 {
		switch {
		case w == "begin":
			s.begin++
		case w == "case" && s.begin >= 1:
			s.begin++
		case w == "end" && s.begin > 0:
			s.begin--
		}
	}
	s.pending = true
	s.copy = s.copy.next(tkWord, w)
}

func (s *Scanner) token(t token) {
	s.pending = true
	s.copy = s.copy.next(t, "")
}

func (s *Scanner) inNumber(c byte) bool {
	switch {
	case isDigit(c):
		if s.expo == 1 || s.expo == 2 {
			s.expo = 3
		}
		return true
	case c == '.' && s.expo == 0:
		return true
	case (c == 'e' || c == 'E') && s.expo == 0:
		s.expo = 1
		return true
	case (c == '+' || c == '-') && s.expo == 1:
		s.expo = 2
		return true
	case isWordStart(c), s.expo == 1 || s.expo == 2:
		return s.refuse("a number run into a word, which psql versions read differently")
	}
	s.st = stInitial
	return false
}

func (s *Scanner) inDollar(c byte) bool {
	switch {
	case isDigit(c):
		s.st = stParam
		s.token(tkOther)
		return true
	case c == '$':
		s.st, s.buf, s.dqMatch = stDollarQuote, s.buf[:0], -1
		s.token(tkOther)
		return true
	case isWordStart(c):
		s.st, s.buf = stDollarTag, append(s.buf[:0], c)
		return true
	}
	s.st = stInitial
	s.token(tkOther)
	return false
}

func (s *Scanner) inDollarTag(c byte) bool {
	switch {
	case c == '$':
		s.st, s.dqMatch = stDollarQuote, -1
		s.token(tkOther)
		return true
	case isWordStart(c) || isDigit(c):
		if len(s.buf) >= maxBuf {
			return s.refuse("a dollar-quote tag of more than 4 KiB")
		}
		s.buf = append(s.buf, c)
		return true
	}
	// psql's {dolqfailed}: a lone '$', then the tag is read as a word
	s.token(tkOther)
	s.st, s.wordLen = stWord, 0
	for _, b := range s.buf {
		s.addWordByte(b)
	}
	return false
}

// inDollarQuote looks for the closing $tag$. The tag holds no '$', so a '$'
// that breaks a match may start the next one.
func (s *Scanner) inDollarQuote(c byte) bool {
	want := func(i int) byte {
		if i == 0 || i == len(s.buf)+1 {
			return '$'
		}
		return s.buf[i-1]
	}
	switch {
	case s.dqMatch >= 0 && c == want(s.dqMatch):
		if s.dqMatch++; s.dqMatch == len(s.buf)+2 {
			s.st, s.dqMatch = stInitial, -1
		}
	case c == '$':
		s.dqMatch = 1
	default:
		s.dqMatch = -1
	}
	return true
}

func (s *Scanner) inBlockComment(c byte) bool {
	switch s.st {
	case stBlockStar:
		switch c {
		case '/':
			if s.depth == 0 {
				s.st = stInitial
			} else {
				s.st, s.depth = stBlockComment, s.depth-1
			}
			return true
		case '*':
			return true
		}
	case stBlockSlash:
		if c == '*' {
			s.st, s.depth = stBlockComment, s.depth+1
			return true
		}
	default: // c is '*' or '/'
		s.st = stBlockStar
		if c == '/' {
			s.st = stBlockSlash
		}
		return true
	}
	s.st = stBlockComment
	return false
}

// semicolon ends a statement where psql does: outside parentheses and
// outside a CREATE FUNCTION's BEGIN ... END.
func (s *Scanner) semicolon() bool {
	if s.paren > 0 {
		s.token(tkOther)
		return true
	}
	isCopy := s.copy == cpYes
	s.copy = cpStart
	if s.begin > 0 {
		if isCopy {
			return s.refuse("a COPY ... FROM stdin that psql would send along with the statements before it")
		}
		s.pending, s.merged = true, true
		return true
	}
	if isCopy && s.merged {
		return s.refuse("a COPY ... FROM stdin that psql would send along with the statements before it")
	}
	s.pending, s.merged, s.identCount = false, false, 0
	if isCopy {
		s.st = stAfterCopy
	}
	return true
}

// backslash starts a meta-command: allowed, as pg_dump writes them, only
// at the start of a line between statements.
func (s *Scanner) backslash() bool {
	s.st, s.buf, s.metaMid = stMeta, s.buf[:0], s.col > 0 || s.pending
	return true
}

func (s *Scanner) inMeta(c byte) bool {
	name := s.buf
	if i := bytes.IndexByte(name, ' '); i >= 0 {
		name = name[:i]
	} else if !isLetter(c) {
		// the name is complete: refuse at once what is not pg_dump's
		if s.metaMid || !metaCommands[string(name)] {
			return s.refuse(fmt.Sprintf(`the psql meta-command \%s%s`, name, printable(c)))
		}
	}
	if c != '\n' {
		if len(s.buf) >= maxBuf {
			return s.refuse(fmt.Sprintf(`a \%s line of more than 4 KiB`, name))
		}
		s.buf = append(s.buf, c)
		return true
	}
	_, args, found := strings.Cut(strings.TrimRight(string(s.buf), " \t\r"), " ")
	ok := false
	switch string(name) {
	case "connect", "c":
		ok = found && isConnectTarget(args)
	case "restrict", "unrestrict":
		ok = found && args != "" && strings.Trim(args, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") == ""
	}
	if !ok {
		return s.refuse(fmt.Sprintf(`\%s with arguments other than pg_dump writes`, name))
	}
	s.st = stInitial
	return false
}

// isConnectTarget accepts the database argument of the \connect pg_dump
// writes: a name, plain or double-quoted, or for other names
// -reuse-previous=on "dbname='...'", and nothing else (no other connection
// option, no backquoted command).
func isConnectTarget(args string) bool {
	if s, ok := strings.CutPrefix(args, "-reuse-previous=on "); ok {
		if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
			return false
		}
		inner := s[1 : len(s)-1]
		if strings.Count(inner, `"`)%2 != 0 || strings.Contains(strings.ReplaceAll(inner, `""`, ""), `"`) {
			return false
		}
		return isConnStrDBName(strings.ReplaceAll(inner, `""`, `"`))
	}
	return isSimpleName(strings.TrimSuffix(strings.TrimPrefix(args, `"`), `"`)) &&
		strings.HasPrefix(args, `"`) == strings.HasSuffix(args, `"`)
}

// isConnStrDBName accepts dbname=value, the value bare or single-quoted
// with backslash escapes, as appendConnStrVal writes it.
func isConnStrDBName(s string) bool {
	v, ok := strings.CutPrefix(s, "dbname=")
	if !ok {
		return false
	}
	if !strings.HasPrefix(v, "'") {
		return isSimpleName(v)
	}
	for i := 1; i < len(v); i++ {
		switch v[i] {
		case '\\':
			i++
		case '\'':
			return i == len(v)-1
		}
	}
	return false
}

func isSimpleName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isLetter(c) && !isDigit(c) && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

// inCopy follows COPY data to the line \. that ends it, as psql does.
func (s *Scanner) inCopy(c byte) {
	next := stCopyRest
	switch {
	case c == '\n' && (s.st == stCopyBSDot || s.st == stCopyBSDotCR):
		next = stInitial
	case c == '\n':
		next = stCopyLine
	case c == '\\' && s.st == stCopyLine:
		next = stCopyBS
	case c == '.' && s.st == stCopyBS:
		next = stCopyBSDot
	case c == '\r' && s.st == stCopyBSDot:
		next = stCopyBSDotCR
	}
	s.st = next
}

func (s *Scanner) refuse(reason string) bool {
	s.err = &Refused{Line: s.line, Reason: reason}
	return false
}

func (cp copyState) next(t token, word string) copyState {
	isName := t == tkQuotedIdent || t == tkWord
	switch {
	case cp == cpStart && word == "copy":
		return cpCopy
	case cp == cpCopy && word == "binary":
		return cpBinary
	case (cp == cpCopy || cp == cpBinary || cp == cpDot) && isName:
		return cpName
	case cp == cpName && t == tkDot:
		return cpDot
	case cp == cpName && t == tkOpen, cp == cpColumn && t == tkComma:
		return cpColumns
	case cp == cpColumns && isName:
		return cpColumn
	case cp == cpColumn && t == tkClose:
		return cpFrom
	case (cp == cpName || cp == cpFrom) && word == "from":
		return cpFromKeyword
	case cp == cpFromKeyword && word == "stdin":
		return cpYes
	case cp == cpYes:
		return cpYes
	}
	return cpNo
}

// metaCommands are the meta-commands pg_dump writes (and \c, \connect's
// short name).
var metaCommands = map[string]bool{"connect": true, "c": true, "restrict": true, "unrestrict": true}

// psqlVariables are the variables psql sets itself (versions 13 to 18),
// some from what the dump chooses, such as DBNAME.
var psqlVariables = map[string]bool{}

func init() {
	for _, name := range strings.Fields(`AUTOCOMMIT COMP_KEYWORD_CASE DBNAME ECHO ECHO_HIDDEN ENCODING ERROR
		FETCH_COUNT HIDE_TABLEAM HIDE_TOAST_COMPRESSION HISTCONTROL HISTFILE HISTSIZE HOST IGNOREEOF
		LAST_ERROR_MESSAGE LAST_ERROR_SQLSTATE ON_ERROR_ROLLBACK ON_ERROR_STOP PORT PROMPT1 PROMPT2 PROMPT3
		QUIET ROW_COUNT SERVER_VERSION_NAME SERVER_VERSION_NUM SERVICE SHELL_ERROR SHELL_EXIT_CODE
		SHOW_ALL_RESULTS SHOW_CONTEXT SINGLELINE SINGLESTEP SQLSTATE USER VERBOSITY VERSION VERSION_NAME
		VERSION_NUM WATCH_INTERVAL`) {
		psqlVariables[name] = true
	}
}

func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// isWordStart is psql's ident_start.
func isWordStart(c byte) bool { return isLetter(c) || c == '_' || c >= 0x80 }

// isVariableByte is psql's variable_char.
func isVariableByte(c byte) bool { return isWordStart(c) || isDigit(c) }

func printable(c byte) string {
	if c > ' ' && c < 0x7f {
		return string(c)
	}
	return ""
}
