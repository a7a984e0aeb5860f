// Package mask scrubs sensitive data while reseed streams a dump into the
// golden: the rules file, the deterministic keyed transformers, the
// PostgreSQL COPY text codec, the streaming filter, and the checks that run
// before any data is loaded. It knows nothing of servers or filesystems.
//
// Reseed with rules:
//
//	rules, err := mask.Load(path)          // parse and validate the file itself
//	key, err := rules.ResolveKey()         // env:NAME or file:PATH; no key, no reseed
//	problems := mask.Check(rules, schema, samples)
//	// any problem: refuse to load (unless --allow-unmasked), print them
//	// then, per table (one Filter per goroutine):
//	f, err := rules.Filter("public.customer", header.Columns, key)
//	pgconn.CopyFrom(ctx, f.Reader(src), copySQL)
//
// or, for a plain SQL stream such as `pg_restore --section=data -f -`:
//
//	err := rules.Script(dst, src, key)
//
// Every transformer's output is a function of (key, transformer name,
// value): HMAC-SHA256 under a subkey derived from the key and the name. The
// same value masks the same way in every table and every reseed with the
// same key, so joins on masked columns still match. NULL stays NULL and the
// empty string stays empty (const and null excepted).
package mask
