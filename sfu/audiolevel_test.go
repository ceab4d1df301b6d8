package sfu

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// The mixer reads browser speech levels under AudioLevelID; the offers must
// really give the RFC 6464 extension that ID.
func TestOfferGivesAudioLevelItsID(t *testing.T) {
	m, err := NewManager(Config{ICEIPs: []string{"127.0.0.1"}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	sig := newFakeSignaller()
	p, err := m.Room("levels").Join("Ann", sig)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Leave()
	var offer string
	select {
	case offer = <-sig.offers:
	case <-time.After(10 * time.Second):
		t.Fatal("no offer")
	}
	want := fmt.Sprintf("a=extmap:%d %s", AudioLevelID, audioLevelURI)
	if !strings.Contains(offer, want) {
		t.Errorf("offer lacks %q:\n%s", want, offer)
	}
}
