package sfu

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// The mixer reads browser speech levels under AudioLevelID; the offers must
// really give the RFC 6464 extension that ID.
func TestOfferGivesAudioLevelItsID(t *testing.T) {
	m := testManager(t, Config{ICEIPs: []string{"127.0.0.1"}})
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

// A caller's own mute (keypad *6) reaches the browsers through the roster.
func TestPhoneSetMutedInRoster(t *testing.T) {
	m := testManager(t, Config{ICEIPs: []string{"127.0.0.1"}})
	room := m.Room("mute")
	sig := newFakeSignaller()
	p, err := room.Join("Ann", sig)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Leave()
	phone, err := room.AddPhone(PhoneInfo{ID: "phone-1", Label: "+49 30 ••• 456"})
	if err != nil {
		t.Fatal(err)
	}
	phone.SetMuted(true)
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ro := <-sig.rosters:
			for _, pt := range ro.Participants {
				if pt.ID == "phone-1" && pt.Muted {
					return
				}
			}
		case <-deadline:
			t.Fatal("no roster showed the phone muted")
		}
	}
}
