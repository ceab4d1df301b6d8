package dialplan

import (
	"strings"
	"testing"
)

func TestHashPIN(t *testing.T) {
	h1, err := HashPIN("1234")
	if err != nil {
		t.Fatal(err)
	}
	h2, err := HashPIN("1234")
	if err != nil {
		t.Fatal(err)
	}
	if h1 == h2 {
		t.Errorf("two hashes of the same PIN are equal (%q); want a random salt", h1)
	}
	if strings.Contains(h1, "1234") && !strings.HasPrefix(h1, "$argon2id$") {
		t.Errorf("got hash %q, want an argon2id hash", h1)
	}
	tests := []struct {
		hash, pin string
		want      bool
	}{
		{h1, "1234", true},
		{h2, "1234", true},
		{h1, "1235", false},
		{h1, "", false},
		{h1, "12345", false},
		{"", "", false},
		{"1234", "1234", false},
		{"$argon2id$v=19$m=8192,t=1,p=1$$", "1234", false},
		{"$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$" + strings.Repeat("A", 43), "1234", false},
		{strings.Replace(h1, "argon2id", "argon2i", 1), "1234", false},
	}
	for _, tt := range tests {
		if got := CheckPIN(tt.hash, tt.pin); got != tt.want {
			t.Errorf("CheckPIN(%q, %q) = %v, want %v", tt.hash, tt.pin, got, tt.want)
		}
	}
}

func BenchmarkCheckPIN(b *testing.B) {
	h, err := HashPIN("123456")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		CheckPIN(h, "123456")
	}
}
