package secrets

import (
	"cmp"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
)

// Kind says how the value of a key is made. It is one of Password, Hex,
// Base64, Literal and Supplied.
type Kind interface {
	// String describes the kind for messages; it never holds a generated
	// or supplied value.
	String() string
	// check reports a kind that cannot make a value (a negative length).
	check() error
}

// DefaultLength is the length of a Password, and the number of random bytes
// of a Hex or Base64 value, when the kind leaves it zero: 32 letters and
// digits carry 190 bits, 32 bytes 256.
const DefaultLength = 32

// passwordAlphabet is what a Password is made of: letters and digits only,
// so a value survives any shell, URL, connection string or config file
// without quoting.
const passwordAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// Password is a random string of Length letters and digits (DefaultLength
// when zero), drawn uniformly from crypto/rand.
type Password struct{ Length int }

// Hex is Bytes random bytes (DefaultLength when zero) in lower-case hex:
// twice as many characters.
type Hex struct{ Bytes int }

// Base64 is Bytes random bytes (DefaultLength when zero) in standard, padded
// base64.
type Base64 struct{ Bytes int }

// Literal is a fixed value that is no secret, such as a database or user
// name; it is encrypted with the rest, and may be printed in messages.
type Literal string

// Supplied is a value only the owner has, such as an external credential:
// Create asks for it through Options.Ask. Hint, if set, tells the owner
// where to find it; it is shown when asking and when the Secret is skipped.
type Supplied struct{ Hint string }

// String describes the password, e.g. "password of 32 letters and digits".
func (k Password) String() string {
	return "password of " + strconv.Itoa(orDefault(k.Length)) + " letters and digits"
}

// String describes the value, e.g. "hex of 32 random bytes".
func (k Hex) String() string {
	return "hex of " + strconv.Itoa(orDefault(k.Bytes)) + " random bytes"
}

// String describes the value, e.g. "base64 of 32 random bytes".
func (k Base64) String() string {
	return "base64 of " + strconv.Itoa(orDefault(k.Bytes)) + " random bytes"
}

// String shows the literal, quoted: it is no secret.
func (k Literal) String() string { return "literal " + strconv.Quote(string(k)) }

// String says the owner supplies the value, with the hint if any.
func (k Supplied) String() string {
	if k.Hint == "" {
		return "supplied by the owner"
	}
	return "supplied by the owner: " + k.Hint
}

func (k Password) check() error { return checkLength("Password length", k.Length) }
func (k Hex) check() error      { return checkLength("Hex bytes", k.Bytes) }
func (k Base64) check() error   { return checkLength("Base64 bytes", k.Bytes) }
func (k Literal) check() error {
	if k == "" {
		return fmt.Errorf("an empty Literal; a key must hold a value")
	}
	return nil
}
func (k Supplied) check() error { return nil }

// maxLength bounds a generated value: far beyond any need, far below a
// size that would hurt a Secret (1 MiB in all).
const maxLength = 4096

func checkLength(what string, n int) error {
	if n < 0 || n > maxLength {
		return fmt.Errorf("%s %d is out of range 0..%d (0 means %d)", what, n, maxLength, DefaultLength)
	}
	return nil
}

func orDefault(n int) int { return cmp.Or(n, DefaultLength) }

// generate makes the value of a generated kind from r. Literal returns its
// value; Supplied is no business of generate.
func generate(k Kind, r io.Reader) (string, error) {
	switch k := k.(type) {
	case Password:
		return password(orDefault(k.Length), r)
	case Hex:
		b, err := randomBytes(orDefault(k.Bytes), r)
		return hex.EncodeToString(b), err
	case Base64:
		b, err := randomBytes(orDefault(k.Bytes), r)
		return base64.StdEncoding.EncodeToString(b), err
	case Literal:
		return string(k), nil
	}
	return "", fmt.Errorf("%v cannot be generated", k)
}

func randomBytes(n int, r io.Reader) ([]byte, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("reading randomness: %w", err)
	}
	return b, nil
}

// password draws n characters uniformly from passwordAlphabet: a byte is
// kept only below the largest multiple of the alphabet's size (248 for 62),
// so no character is likelier than another.
func password(n int, r io.Reader) (string, error) {
	const size = len(passwordAlphabet)
	const limit = 256 - 256%size
	out := make([]byte, 0, n)
	buf := make([]byte, n+n/4+8)
	// A uniform source rejects 1 byte in 32; one that keeps rejecting is
	// broken, and must not spin for ever.
	for try := 0; len(out) < n; try++ {
		if try == 64 {
			return "", fmt.Errorf("the random source gives almost only bytes above %d", limit-1)
		}
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", fmt.Errorf("reading randomness: %w", err)
		}
		for _, b := range buf {
			if int(b) < limit && len(out) < n {
				out = append(out, passwordAlphabet[int(b)%size])
			}
		}
	}
	return string(out), nil
}
