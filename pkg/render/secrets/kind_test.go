package secrets

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"io"
	"strings"
	"testing"
)

// counter yields 0, 1, 2, ... 255, 0, ...: a deterministic source that
// shows the structure of values, never one to keep.
type counter struct{ next byte }

func (c *counter) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = c.next
		c.next++
	}
	return len(p), nil
}

func TestGenerateStructure(t *testing.T) {
	for _, tc := range []struct {
		kind Kind
		want string
	}{
		{Password{Length: 5}, "ABCDE"},
		{Hex{Bytes: 3}, "000102"},
		{Base64{Bytes: 3}, "AAEC"},
		{Literal("cvat"), "cvat"},
	} {
		got, err := generate(tc.kind, &counter{})
		if err != nil || got != tc.want {
			t.Errorf("%v: %q, %v; want %q", tc.kind, got, err, tc.want)
		}
	}
	// Bytes from 248 up are rejected, so that each of the 62 characters is
	// as likely: 0..247 map to 4 full rounds of the alphabet.
	got, err := generate(Password{Length: 62*4 + 3}, &counter{})
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Repeat(passwordAlphabet, 4) + "ABC"
	if got != want {
		t.Errorf("password over 256 bytes:\n%s\nwant\n%s", got, want)
	}
	for _, k := range []Kind{Password{}, Hex{}, Base64{}} {
		v, err := generate(k, &counter{})
		if err != nil {
			t.Fatal(err)
		}
		checkValue(t, k.String(), k, v)
	}
}

func TestGenerateRefusesABrokenSource(t *testing.T) {
	if _, err := generate(Password{}, bytes.NewReader(bytes.Repeat([]byte{255}, 1<<20))); err == nil {
		t.Error("a source of 0xff only: no error")
	}
	if _, err := generate(Hex{}, strings.NewReader("short")); err == nil {
		t.Error("a short source: no error")
	}
	if _, err := generate(Supplied{}, io.MultiReader()); err == nil {
		t.Error("Supplied generated")
	}
}

func TestKindStrings(t *testing.T) {
	for k, want := range map[Kind]string{
		Password{}:          "password of 32 letters and digits",
		Hex{Bytes: 16}:      "hex of 16 random bytes",
		Base64{}:            "base64 of 32 random bytes",
		Literal("cvat"):     `literal "cvat"`,
		Supplied{}:          "supplied by the owner",
		Supplied{Hint: "x"}: "supplied by the owner: x",
	} {
		if got := k.String(); got != want {
			t.Errorf("%#v: %q, want %q", k, got, want)
		}
	}
}

// checkValue checks a value's length and alphabet against its kind.
func checkValue(t *testing.T, what string, k Kind, v string) {
	t.Helper()
	switch k := k.(type) {
	case Password:
		if len(v) != orDefault(k.Length) || strings.Trim(v, passwordAlphabet) != "" {
			t.Errorf("%s: a password of %d characters, not all letters and digits, want %d", what, len(v), orDefault(k.Length))
		}
	case Hex:
		b, err := hex.DecodeString(v)
		if err != nil || len(b) != orDefault(k.Bytes) || strings.ToLower(v) != v {
			t.Errorf("%s: hex of %d bytes (%v), want %d, lower case", what, len(b), err, orDefault(k.Bytes))
		}
	case Base64:
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(b) != orDefault(k.Bytes) {
			t.Errorf("%s: base64 of %d bytes (%v), want %d", what, len(b), err, orDefault(k.Bytes))
		}
	case Literal:
		if v != string(k) {
			t.Errorf("%s: literal %q, want %q", what, v, k)
		}
	case Supplied:
		if v == "" {
			t.Errorf("%s: empty supplied value", what)
		}
	}
}
