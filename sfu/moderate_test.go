package sfu

import (
	"errors"
	"fmt"
	"sync"
	"testing"
)

// newTestRoom returns a room of a fresh manager closed at the end of the test.
func newTestRoom(t *testing.T) *Room {
	t.Helper()
	m, err := NewManager(Config{ICEIPs: []string{"127.0.0.1"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m.Room("r")
}

// joinFake joins room with a fake signaller that never answers.
func joinFake(t *testing.T, room *Room, name, role string) (*Peer, *fakeSignaller) {
	t.Helper()
	sig := newFakeSignaller()
	p, err := room.JoinAs(JoinOptions{Name: name, Role: role}, sig)
	if err != nil {
		t.Fatalf("join %s: %v", name, err)
	}
	return p, sig
}

// fakeOwner records what moderators asked of a phone.
type fakeOwner struct {
	mu      sync.Mutex
	muted   []bool
	removed int
	ended   int
	phone   *Phone
}

func (o *fakeOwner) End() {
	o.mu.Lock()
	o.ended++
	o.mu.Unlock()
	o.phone.Leave()
}

func (o *fakeOwner) SetMuted(m bool) { o.mu.Lock(); o.muted = append(o.muted, m); o.mu.Unlock() }
func (o *fakeOwner) Remove() {
	o.mu.Lock()
	o.removed++
	o.mu.Unlock()
	o.phone.Leave()
}

func participant(t *testing.T, r *Room, id string) Participant {
	t.Helper()
	for _, p := range r.Participants() {
		if p.ID == id {
			return p
		}
	}
	t.Fatalf("participant %s: not in roster", id)
	return Participant{}
}

func TestModeratorOnly(t *testing.T) {
	room := newTestRoom(t)
	mod, _ := joinFake(t, room, "Mod", RoleModerator)
	usr, _ := joinFake(t, room, "User", "")
	other, _ := joinFake(t, room, "Other", "")
	if got := participant(t, room, usr.ID()).Role; got != RoleParticipant {
		t.Errorf("default role = %q, want %q", got, RoleParticipant)
	}
	actions := []struct {
		name string
		do   func(actor string) error
	}{
		{"mute", func(a string) error { return room.Mute(a, other.ID()) }},
		{"mute all", func(a string) error { return room.MuteAll(a) }},
		{"rename", func(a string) error { return room.Rename(a, other.ID(), "X") }},
		{"remove", func(a string) error { return room.Remove(a, other.ID()) }},
		{"make moderator", func(a string) error { return room.SetRole(a, other.ID(), RoleModerator) }},
		{"lower hand", func(a string) error { return room.LowerHand(a, other.ID()) }},
		{"lock", func(a string) error { return room.Lock(a, true) }},
		{"end", func(a string) error { return room.End(a) }},
	}
	for _, a := range actions {
		if err := a.do(usr.ID()); !errors.Is(err, ErrNotModerator) {
			t.Errorf("%s by participant: got %v, want ErrNotModerator", a.name, err)
		}
		if err := a.do("nobody"); !errors.Is(err, ErrNoParticipant) {
			t.Errorf("%s by stranger: got %v, want ErrNoParticipant", a.name, err)
		}
	}
	if got := len(room.Participants()); got != 3 {
		t.Errorf("participants after refused actions = %d, want 3", got)
	}
	_ = mod
}

func TestModeratorActionsOnBrowser(t *testing.T) {
	room := newTestRoom(t)
	mod, _ := joinFake(t, room, "Mod", RoleModerator)
	usr, usig := joinFake(t, room, "User", "")

	if err := room.Mute(mod.ID(), usr.ID()); err != nil {
		t.Fatal(err)
	}
	if c := <-usig.controls; c.Type != ControlMute || c.By != "Mod" {
		t.Errorf("control = %+v, want mute by Mod", c)
	}
	if !participant(t, room, usr.ID()).Muted {
		t.Error("muted = false after Mute, want true")
	}
	if err := room.Rename(mod.ID(), usr.ID(), " Renamed "); err != nil {
		t.Fatal(err)
	}
	if got := participant(t, room, usr.ID()).Name; got != "Renamed" {
		t.Errorf("name = %q, want %q", got, "Renamed")
	}
	usr.SetHand(true)
	if !participant(t, room, usr.ID()).Hand {
		t.Error("hand = false after SetHand(true)")
	}
	if err := room.LowerHand(mod.ID(), usr.ID()); err != nil || participant(t, room, usr.ID()).Hand {
		t.Errorf("lower hand: err %v, hand still raised", err)
	}
	if err := room.SetRole(mod.ID(), usr.ID(), RoleModerator); err != nil {
		t.Fatal(err)
	}
	if got := participant(t, room, usr.ID()).Role; got != RoleModerator {
		t.Errorf("role = %q, want moderator", got)
	}
	if err := room.Remove(mod.ID(), usr.ID()); err != nil {
		t.Fatal(err)
	}
	if c := <-usig.controls; c.Type != ControlRemoved {
		t.Errorf("control = %+v, want removed", c)
	}
	if got := len(room.Participants()); got != 1 {
		t.Errorf("participants after remove = %d, want 1", got)
	}
}

func TestLockAndEnd(t *testing.T) {
	room := newTestRoom(t)
	mod, _ := joinFake(t, room, "Mod", RoleModerator)
	if err := room.Lock(mod.ID(), true); err != nil {
		t.Fatal(err)
	}
	if !room.Roster().Locked {
		t.Error("roster locked = false after Lock")
	}
	if _, err := room.Join("Late", newFakeSignaller()); !errors.Is(err, ErrLocked) {
		t.Errorf("join locked room: got %v, want ErrLocked", err)
	}
	if _, err := room.AddPhone(PhoneInfo{ID: "phone-x"}); !errors.Is(err, ErrLocked) {
		t.Errorf("phone into locked room: got %v, want ErrLocked", err)
	}
	modPhone, err := room.AddPhone(PhoneInfo{ID: "phone-mod", Role: RoleModerator})
	if err != nil {
		t.Fatalf("moderator phone into locked room: %v", err)
	}
	if got := participant(t, room, "phone-mod").Role; got != RoleModerator {
		t.Errorf("phone role = %q, want moderator", got)
	}
	modPhone.Leave()
	_, lsig := joinFake(t, room, "Mod2", RoleModerator)
	owner := &fakeOwner{}
	if err := room.Lock(mod.ID(), false); err != nil {
		t.Fatal(err)
	}
	ph, err := room.AddPhone(PhoneInfo{ID: "phone-1", Owner: owner})
	if err != nil {
		t.Fatal(err)
	}
	owner.phone = ph
	if _, err := room.Chat(mod.ID(), "", "hello"); err != nil {
		t.Fatal(err)
	}
	if err := room.End(mod.ID()); err != nil {
		t.Fatal(err)
	}
	if c := <-lsig.controls; c.Type != ControlEnded || c.By != "Mod" {
		t.Errorf("control = %+v, want ended by Mod", c)
	}
	if n := len(room.Participants()); n != 0 {
		t.Errorf("participants after end = %d, want 0", n)
	}
	if owner.ended != 1 || owner.removed != 0 {
		t.Errorf("phone owner End/Remove calls = %d/%d, want 1/0", owner.ended, owner.removed)
	}
	if h := room.ChatHistory(); len(h) != 0 {
		t.Errorf("history after end = %d messages, want 0", len(h))
	}
}

func TestPhoneModeration(t *testing.T) {
	room := newTestRoom(t)
	mod, _ := joinFake(t, room, "Mod", RoleModerator)
	owner := &fakeOwner{}
	ph, err := room.AddPhone(PhoneInfo{ID: "phone-1", Label: "+49 *** 12"})
	if err != nil {
		t.Fatal(err)
	}
	owner.phone = ph
	// Without an owner, mute changes only the roster.
	if err := room.Mute(mod.ID(), "phone-1"); err != nil {
		t.Fatal(err)
	}
	ph.SetOwner(owner)
	if err := room.MuteAll(mod.ID()); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(owner.muted) != "[true]" {
		t.Errorf("owner mutes = %v, want [true]", owner.muted)
	}
	if participant(t, room, mod.ID()).Muted {
		t.Error("mute all muted the moderator who asked")
	}
	if err := room.Remove(AdminActor, "phone-1"); err != nil {
		t.Fatal(err)
	}
	if owner.removed != 1 || len(room.Participants()) != 1 {
		t.Errorf("after remove: owner.removed = %d, participants = %d; want 1, 1", owner.removed, len(room.Participants()))
	}
}

func TestChat(t *testing.T) {
	room := newTestRoom(t)
	a, asig := joinFake(t, room, "A", "")
	b, bsig := joinFake(t, room, "B", "")
	c, csig := joinFake(t, room, "C", "")
	tests := []struct {
		name     string
		from, to string
		text     string
		wantErr  error
		got      []*fakeSignaller
		notGot   []*fakeSignaller
	}{
		{"room", a.ID(), "", "hi all", nil, []*fakeSignaller{asig, bsig, csig}, nil},
		{"private", a.ID(), b.ID(), "psst", nil, []*fakeSignaller{asig, bsig}, []*fakeSignaller{csig}},
		{"empty", a.ID(), "", "   ", ErrBadChat, nil, []*fakeSignaller{asig, bsig, csig}},
		{"unknown target", a.ID(), "web-x", "hi", ErrNoParticipant, nil, []*fakeSignaller{asig, bsig, csig}},
		{"unknown sender", "web-x", "", "hi", ErrNoParticipant, nil, []*fakeSignaller{asig, bsig, csig}},
	}
	for _, tt := range tests {
		_, err := room.Chat(tt.from, tt.to, tt.text)
		if !errors.Is(err, tt.wantErr) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.wantErr)
		}
		for _, s := range tt.got {
			if m := <-s.chats; m.Text != tt.text || m.To != tt.to || m.FromName != "A" {
				t.Errorf("%s: got %+v", tt.name, m)
			}
		}
		for _, s := range tt.notGot {
			select {
			case m := <-s.chats:
				t.Errorf("%s: unexpected delivery %+v", tt.name, m)
			default:
			}
		}
	}
	for i := range ChatHistory + 5 {
		if _, err := room.Chat(c.ID(), "", fmt.Sprint("m", i)); err != nil {
			t.Fatal(err)
		}
	}
	h := room.ChatHistory()
	if len(h) != ChatHistory {
		t.Fatalf("history length = %d, want %d", len(h), ChatHistory)
	}
	if h[len(h)-1].Text != fmt.Sprint("m", ChatHistory+4) || h[0].Text != "m5" {
		t.Errorf("history spans %q..%q, want m5..m%d", h[0].Text, h[len(h)-1].Text, ChatHistory+4)
	}
	for _, m := range h {
		if m.To != "" {
			t.Errorf("private message %q kept in history", m.Text)
		}
	}
}
