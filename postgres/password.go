package postgres

import (
	"context"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// RandomPassword returns 32 URL-safe characters (192 random bits), safe to
// put in a connection URL unescaped.
func RandomPassword() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// scramIterations is 1, not PostgreSQL's 4096. Key stretching only slows
// the guessing of a weak password, and ditto's passwords are 192 random bits
// (RandomPassword), out of reach of any guessing. The 4096 rounds would be
// paid on the server at ALTER ROLE (it checks the verifier against the empty
// password, on every copy create) and again on the client
// at every connection to the copy. libpq, pgx and node-postgres accept any
// count from 1.
const scramIterations = 1

// ScramVerifier computes the SCRAM-SHA-256 secret PostgreSQL stores for
// password (RFC 5802/7677), so that only the verifier ever reaches the
// server and its logs. It is for RandomPassword's passwords only (see
// scramIterations).
func ScramVerifier(password string) (string, error) {
	for i := 0; i < len(password); i++ {
		if password[i] >= 0x80 {
			// PostgreSQL would SASLprep (NFKC-normalise) it first; ditto does not.
			return "", errors.New("password contains non-ASCII characters; use an ASCII password (RandomPassword makes one)")
		}
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	salted, err := pbkdf2.Key(sha256.New, password, salt, scramIterations, sha256.Size)
	if err != nil {
		return "", err
	}
	clientKey := hmacSHA256(salted, "Client Key")
	storedKey := sha256.Sum256(clientKey)
	serverKey := hmacSHA256(salted, "Server Key")
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("SCRAM-SHA-256$%d:%s$%s:%s", scramIterations, b64(salt), b64(storedKey[:]), b64(serverKey)), nil
}

func hmacSHA256(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}

// SetPassword gives role the password, sending only its SCRAM verifier.
func SetPassword(ctx context.Context, conn *pgx.Conn, role, password string) error {
	v, err := ScramVerifier(password)
	if err != nil {
		return err
	}
	sql := "ALTER ROLE " + pgx.Identifier{role}.Sanitize() + " PASSWORD " + quoteLiteral(v)
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("setting the password of role %q: %w", role, err)
	}
	return nil
}

// quoteLiteral quotes s as a standard SQL string literal.
func quoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
