package sfu

import (
	"errors"
	"slices"
	"sync"
	"testing"
)

// lockingOwner is a fakeOwner that also implements MuteLocker.
type lockingOwner struct {
	fakeOwner
	lmu   sync.Mutex
	locks []bool
}

func (o *lockingOwner) SetMuteLocked(l bool) {
	o.lmu.Lock()
	o.locks = append(o.locks, l)
	o.lmu.Unlock()
}

func TestMuteLock(t *testing.T) {
	room := newTestRoom(t)
	mod, _ := joinFake(t, room, "Mod", RoleModerator)
	usr, sig := joinFake(t, room, "User", "")
	if err := room.MuteLock(usr.ID(), mod.ID(), true); !errors.Is(err, ErrNotModerator) {
		t.Errorf("participant locks: got %v, want %v", err, ErrNotModerator)
	}
	if err := room.MuteLock(mod.ID(), "nobody", true); !errors.Is(err, ErrNoParticipant) {
		t.Errorf("unknown target: got %v, want %v", err, ErrNoParticipant)
	}
	owner := &lockingOwner{}
	ph, err := room.AddPhone(PhoneInfo{ID: "phone-1", Owner: owner})
	if err != nil {
		t.Fatal(err)
	}
	owner.phone = ph
	plain := &fakeOwner{} // no MuteLocker: the lock is only in the roster
	ph2, err := room.AddPhone(PhoneInfo{ID: "phone-2", Owner: plain})
	if err != nil {
		t.Fatal(err)
	}
	plain.phone = ph2

	for _, id := range []string{usr.ID(), "phone-1", "phone-2"} {
		if err := room.MuteLock(mod.ID(), id, true); err != nil {
			t.Fatalf("lock %s: %v", id, err)
		}
		if p := participant(t, room, id); !p.Muted || !p.MuteLocked || !room.MuteLocked(id) {
			t.Errorf("%s locked: got muted %v locked %v, want both true", id, p.Muted, p.MuteLocked)
		}
	}
	select {
	case c := <-sig.controls:
		if c.Type != ControlMute {
			t.Errorf("browser control: got %q, want %q", c.Type, ControlMute)
		}
	default:
		t.Error("browser control: got none, want a mute")
	}
	if err := room.MuteLock(AdminActor, "phone-1", false); err != nil {
		t.Fatal(err)
	}
	if p := participant(t, room, "phone-1"); !p.Muted || p.MuteLocked {
		t.Errorf("after unlock: got muted %v locked %v, want muted and unlocked", p.Muted, p.MuteLocked)
	}
	owner.lmu.Lock()
	if want := []bool{true, false}; !slices.Equal(owner.locks, want) {
		t.Errorf("owner locks: got %v, want %v", owner.locks, want)
	}
	owner.lmu.Unlock()
	owner.mu.Lock()
	if want := []bool{true}; !slices.Equal(owner.muted, want) {
		t.Errorf("owner mutes: got %v, want %v", owner.muted, want)
	}
	owner.mu.Unlock()
}
