package sfu

import (
	"sync"
	"testing"
)

// Every moderator action is reported to OnModeration with the moderator's
// and the target's display names; the admin console's actions are not.
func TestModerationHook(t *testing.T) {
	var mu sync.Mutex
	var got []ModerationEvent
	m, err := NewManager(Config{ICEIPs: []string{"127.0.0.1"}, OnModeration: func(e ModerationEvent) {
		mu.Lock()
		got = append(got, e)
		mu.Unlock()
	}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	room := m.Room("r")
	mod, _ := joinFake(t, room, "Mia", RoleModerator)
	guest, _ := joinFake(t, room, "Gus", RoleParticipant)
	owner := &fakeOwner{}
	ph, err := room.AddPhone(PhoneInfo{ID: "phone-1", Label: "+49 30 ••• 456", Role: RoleParticipant, Owner: owner})
	if err != nil {
		t.Fatal(err)
	}
	owner.phone = ph

	steps := []func() error{
		func() error { return room.Mute(mod.ID(), guest.ID()) },
		func() error { return room.SetRole(mod.ID(), guest.ID(), RoleModerator) },
		func() error { return room.Rename(mod.ID(), guest.ID(), "Gustav") },
		func() error { return room.Rename(guest.ID(), guest.ID(), "Gus") }, // own name: not moderation
		func() error { return room.Lock(mod.ID(), true) },
		func() error { return room.Mute(AdminActor, "phone-1") }, // the admin API audits this itself
		func() error { return room.Remove(mod.ID(), "phone-1") },
	}
	for i, f := range steps {
		if err := f(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	if err := room.Mute(guest.ID()+"-nobody", mod.ID()); err == nil {
		t.Fatalf("a stranger muted the moderator")
	}
	want := []ModerationEvent{
		{Room: "r", By: "Mia", Action: "mute", Target: "Gus"},
		{Room: "r", By: "Mia", Action: "set_role", Target: "Gus", Detail: RoleModerator},
		{Room: "r", By: "Mia", Action: "rename", Target: "Gus"},
		{Room: "r", By: "Mia", Action: "lock"},
		{Room: "r", By: "Mia", Action: "remove", Target: "+49 30 ••• 456"},
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != len(want) {
		t.Fatalf("got %d events %+v, want %d", len(got), got, len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("event %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}
