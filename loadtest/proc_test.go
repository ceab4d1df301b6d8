package loadtest

import (
	"os"
	"testing"
)

func TestReadProcSelf(t *testing.T) {
	a, err := readProc(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	x := 0
	for i := range 50_000_000 { // burn some CPU so the counter moves
		x += i
	}
	_ = x
	b, err := readProc(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if a.rssBytes <= 0 || a.threads <= 0 {
		t.Errorf("rss %d, threads %d: want both > 0", a.rssBytes, a.threads)
	}
	if b.cpu < a.cpu {
		t.Errorf("cpu went backwards: %v then %v", a.cpu, b.cpu)
	}
	if _, err := readProc(-1); err == nil {
		t.Error("readProc(-1): got no error, want one")
	}
}
